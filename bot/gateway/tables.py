"""The gateway's SQL tables: conversations, transcript, inbox/outbox, handoffs, users, audit."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

conversations = Table(
    "gw_conversation", metadata,
    Column("id", String(36), primary_key=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),  # needed to reply; never logged, hidden in the console
    Column("language", String(8), nullable=True),
    Column("script", String(8), nullable=True),
    Column("city", String(32), nullable=True),
    Column("mode", String(8), nullable=False, default="bot"),  # bot | human
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_inbound_at", DateTime(timezone=True), nullable=True),
    Column("apology_sent_at", DateTime(timezone=True), nullable=True),
    Column("notice_sent_at", DateTime(timezone=True), nullable=True),
    Column("reengaged_at", DateTime(timezone=True), nullable=True),  # last WhatsApp re-engagement template
    # erased on request, kept only (address, language) until its last replies are sent (Store.erase)
    Column("erased_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("channel", "address", name="uq_gw_conversation_address"),
)

messages = Table(
    "gw_message", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("gw_conversation.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(12), nullable=False),  # person | bot | counsellor | system
    Column("author_name", String(64), nullable=True),  # counsellor's username
    Column("kind", String(12), nullable=False, default="text"),
    Column("text", Text, nullable=False, default=""),
    Column("data", JSON, nullable=True),  # buttons, location, service card
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_gw_message_conversation", "conversation_id", "id"),
)

inbox = Table(
    "gw_inbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("message_key", String(128), nullable=False),
    Column("conversation_id", String(36), ForeignKey("gw_conversation.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("latitude", Float, nullable=True),
    Column("longitude", Float, nullable=True),
    Column("language_hint", String(8), nullable=True),
    Column("status", String(12), nullable=False, default="pending"),  # pending | done | limited
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "message_key", name="uq_gw_inbox_key"),
    Index("ix_gw_inbox_pending", "status", "conversation_id", "id"),
)

handoffs = Table(
    "gw_handoff", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("gw_conversation.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(12), nullable=False),  # waiting | assigned | closed
    Column("priority", String(8), nullable=False, default="normal"),  # urgent | normal
    Column("reason", String(24), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("language", String(8), nullable=True),
    Column("city", String(32), nullable=True),
    Column("category", String(32), nullable=True),
    Column("minor", Boolean, nullable=False, default=False),
    Column("interpreter_needed", Boolean, nullable=False, default=False),
    Column("assignee", String(64), nullable=True),
    Column("interpreter", String(64), nullable=True),
    Column("waiting_since", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("first_reply_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=True),
    Column("unclaimed_notice_at", DateTime(timezone=True), nullable=True),
    Column("phone_revealed", Boolean, nullable=False, default=False),
    Column("team", String(32), nullable=True),  # bot/handoff/teams.py: the team whose queue it is in
    Index("ix_gw_handoff_open", "status", "priority", "waiting_since"),
    Index("ix_gw_handoff_team", "team", "status"),
    Index("ix_gw_handoff_conversation", "conversation_id", "status"),
)

handoff_events = Table(
    "gw_handoff_event", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", Integer, ForeignKey("gw_handoff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event", String(24), nullable=False),
    Column("from_status", String(12), nullable=True),
    Column("to_status", String(12), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("detail", JSON, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

referrals = Table(
    "gw_referral", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", Integer, ForeignKey("gw_handoff.id", ondelete="SET NULL"), nullable=True),
    Column("service_id", String(64), nullable=False),
    Column("category", String(32), nullable=True),
    Column("city", String(32), nullable=True),
    Column("language", String(8), nullable=True),
    Column("counsellor", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

notes = Table(
    "gw_note", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handoff_id", Integer, ForeignKey("gw_handoff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("author", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "gw_user", metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # counsellor | supervisor | admin
    Column("languages", String(64), nullable=False, default=""),  # comma-separated codes
    Column("team", String(32), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
)

audit = Table(
    "gw_audit", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(48), nullable=False),
    Column("target", String(64), nullable=True),
    Column("detail", JSON, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_gw_audit_action", "action", "id"),  # the console's audit view filters by action ...
    Index("ix_gw_audit_actor", "actor", "id"),  # ... and by user
    Index("ix_gw_audit_target", "target", "action"),  # was this transcript read just now?
)

sessions = Table(
    "gw_session", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's token: a stolen table logs nobody in
    Column("username", String(64), ForeignKey("gw_user.username", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=True),
    Column("ended", String(16), nullable=True),  # why it ended (idle, lifetime, deactivated, password): the 401 says so
)

outbox = Table(
    "gw_outbox", metadata,  # every message to a person, kept until the channel takes it (bot/gateway/outbox.py)
    Column("id", Integer, primary_key=True, autoincrement=True),  # per conversation, sent in id order
    Column("conversation_id", String(36), ForeignKey("gw_conversation.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", Integer, ForeignKey("gw_message.id", ondelete="CASCADE"), nullable=True),  # transcript row
    Column("payload", JSON, nullable=False),  # the Outbound: text, buttons, location, rtl
    Column("status", String(8), nullable=False, default="pending"),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("parts_sent", Integer, nullable=False, default=0, server_default="0"),  # of a split message, so far
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),  # backoff after a transient failure
    Column("owner", String(36), nullable=True),  # the gateway process sending it now...
    Column("lease_until", DateTime(timezone=True), nullable=True),  # ...until then (a crashed one's rows go on)
    Column("error", String(300), nullable=True),  # why it failed (last transient reason while pending)
    Column("channel_message_id", String(128), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_gw_outbox_pending", "status", "conversation_id", "id"),
    Index("ix_gw_outbox_message", "message_id"),
)
