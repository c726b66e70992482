"""The gateway's records: conversations, the transcript, the inbox that makes processing exactly-once."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.base import Inbound
from bot.gateway import tables as t

ERASE_GRACE = dt.timedelta(minutes=15)  # how long an erased conversation's last replies may take to go out


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.timezone.utc)  # SQLite forgets the zone


@dataclass(frozen=True)
class Conversation:
    id: str
    channel: str
    address: str
    language: str | None
    script: str | None
    city: str | None
    mode: str
    created_at: dt.datetime
    last_inbound_at: dt.datetime | None
    apology_sent_at: dt.datetime | None
    notice_sent_at: dt.datetime | None
    reengaged_at: dt.datetime | None = None  # when a re-engagement template last went out (WhatsApp)
    erased_at: dt.datetime | None = None  # erased on request; only its last replies wait here (Store.erase)

    def __repr__(self) -> str:  # the address is personal data: keep it out of logs and tracebacks
        return f"Conversation(id={self.id!r}, channel={self.channel!r}, mode={self.mode!r})"


@dataclass(frozen=True)
class PendingMessage:
    id: int
    kind: str
    text: str
    latitude: float | None
    longitude: float | None
    language_hint: str | None
    attempts: int


# The statements of every message, built once: building one and its cache key costs more CPU than
# SQLite takes to run it (about 0.1 ms of the 0.17 ms of a read by id; bench/gateway).
_BY_ADDRESS = select(t.conversations).where(and_(
    t.conversations.c.channel == bindparam("channel"), t.conversations.c.address == bindparam("address")))
_BY_ID = select(t.conversations).where(t.conversations.c.id == bindparam("conversation_id"))
_TOUCH = update(t.conversations).where(t.conversations.c.id == bindparam("conversation_id")).values(
    last_inbound_at=bindparam("at"), erased_at=None)  # writing again after an erasure starts afresh
_KEEP = insert(t.inbox)
# The person wrote: what waited for them (WhatsApp's closed window) or for a retry goes now.
_RELEASE = update(t.outbox).where(and_(
    t.outbox.c.conversation_id == bindparam("released_conversation"), t.outbox.c.status == "pending",
    t.outbox.c.next_attempt_at.is_not(None))).values(next_attempt_at=None)
_PENDING = select(t.inbox).where(and_(
    t.inbox.c.conversation_id == bindparam("conversation_id"), t.inbox.c.status == "pending",
    or_(t.inbox.c.next_attempt_at.is_(None), t.inbox.c.next_attempt_at <= bindparam("now")))).order_by(t.inbox.c.id)
_FINISH = update(t.inbox).where(t.inbox.c.id == bindparam("inbox_id")).values(status=bindparam("new_status"))
_ADD_MESSAGE = insert(t.messages)


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite lets one writer in at a time and makes the others sleep and retry (1, 2, 5, 10... ms):
        # this process's writers queue here instead and go in as soon as the one before commits. Same
        # transactions; at 8 busy conversations p95 went from about 150 to 90 ms (bench/gateway
        # --fake-rasa). PostgreSQL takes concurrent writers itself.
        self._writes: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext())

    # conversations ---------------------------------------------------------------------------
    def conversation_for(self, channel: str, address: str) -> tuple[Conversation, bool]:
        """The conversation of a channel address, created on first contact. (conversation, created)"""
        with self.engine.begin() as conn:
            row = conn.execute(_BY_ADDRESS, {"channel": channel, "address": address}).first()
            if row is not None:
                return _conversation(row), False
            with contextlib.suppress(IntegrityError):  # created meanwhile by a concurrent webhook
                conn.execute(insert(t.conversations).values(id=str(uuid.uuid4()), channel=channel, address=address,
                                                            mode="bot", created_at=now()))
        with self.engine.connect() as conn:
            row = conn.execute(_BY_ADDRESS, {"channel": channel, "address": address}).one()
        return _conversation(row), True

    def find_conversation(self, channel: str, address: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(_BY_ADDRESS, {"channel": channel, "address": address}).first()
        return _conversation(row) if row else None

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.engine.connect() as conn:
            row = conn.execute(_BY_ID, {"conversation_id": conversation_id}).first()
        return _conversation(row) if row else None

    def update_conversation(self, conversation_id: str, **values: Any) -> None:
        with self._writes, self.engine.begin() as conn:
            conn.execute(update(t.conversations).where(t.conversations.c.id == conversation_id).values(**values))

    def update_and_get(self, conversation_id: str, **values: Any) -> Conversation | None:
        """`update_conversation` then `conversation`, in one call."""
        self.update_conversation(conversation_id, **values)
        return self.conversation(conversation_id)

    # inbox -------------------------------------------------------------------------------------
    def accept(self, inbound: Inbound, conversation_id: str) -> bool:
        """Keep an inbound message for processing; False when the channel already delivered it."""
        return self._accept(inbound, conversation_id)[0]

    def _accept(self, inbound: Inbound, conversation_id: str) -> tuple[bool, bool]:
        """(kept, outgoing messages released: they waited for the person or for a retry)."""
        try:
            with self._writes, self.engine.begin() as conn:
                conn.execute(_KEEP, {
                    "channel": inbound.channel, "message_key": inbound.message_key, "conversation_id": conversation_id,
                    "kind": inbound.kind, "text": inbound.text[:4096], "latitude": inbound.latitude,
                    "longitude": inbound.longitude, "language_hint": inbound.language_hint, "status": "pending",
                    "attempts": 0, "received_at": now()})
                conn.execute(_TOUCH, {"conversation_id": conversation_id, "at": now()})
                released = conn.execute(_RELEASE, {"released_conversation": conversation_id}).rowcount
        except IntegrityError:
            return False, False
        return True, bool(released)

    def receive(self, inbound: Inbound) -> tuple[Conversation, bool, bool]:
        """`conversation_for` then `accept`, in one call (one thread hop for the gateway's webhook).
        (the conversation, False for a duplicate delivery, whether outgoing messages were released)"""
        conversation, _ = self.conversation_for(inbound.channel, inbound.address)
        return (conversation, *self._accept(inbound, conversation.id))

    def pending(self, conversation_id: str) -> list[PendingMessage]:
        """Messages not yet handled whose retry time has come, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(_PENDING, {"conversation_id": conversation_id, "now": now()}).all()
        return [PendingMessage(r.id, r.kind, r.text, r.latitude, r.longitude, r.language_hint, r.attempts)
                for r in rows]

    def conversations_with_pending(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.inbox.c.conversation_id).where(and_(
                t.inbox.c.status == "pending",
                or_(t.inbox.c.next_attempt_at.is_(None), t.inbox.c.next_attempt_at <= now()))).distinct()).all()
        return [r[0] for r in rows]

    def finish(self, inbox_id: int, status: str = "done") -> None:
        with self._writes, self.engine.begin() as conn:
            conn.execute(_FINISH, {"inbox_id": inbox_id, "new_status": status})

    def retry_later(self, inbox_id: int, attempts: int, delay_seconds: float) -> None:
        with self._writes, self.engine.begin() as conn:
            conn.execute(update(t.inbox).where(t.inbox.c.id == inbox_id).values(
                attempts=attempts, next_attempt_at=now() + dt.timedelta(seconds=delay_seconds)))

    # transcript ------------------------------------------------------------------------------
    def add_message(self, conversation_id: str, author: str, text: str, kind: str = "text",
                    data: dict[str, Any] | None = None, author_name: str | None = None) -> int:
        with self._writes, self.engine.begin() as conn:
            return int(conn.execute(_ADD_MESSAGE, {
                "conversation_id": conversation_id, "author": author, "author_name": author_name, "kind": kind,
                "text": text, "data": data, "created_at": now()}).inserted_primary_key[0])

    def add_messages(self, conversation_id: str,
                     messages: list[tuple[str, str, str, dict[str, Any] | None, str | None]]) -> None:
        """Several `add_message`s, in order, in one transaction: (author, text, kind, data, author_name)."""
        with self._writes, self.engine.begin() as conn:
            for author, text, kind, data, author_name in messages:
                conn.execute(_ADD_MESSAGE, {
                    "conversation_id": conversation_id, "author": author, "author_name": author_name, "kind": kind,
                    "text": text, "data": data, "created_at": now()})

    def transcript(self, conversation_id: str, after_id: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.messages).where(and_(
                t.messages.c.conversation_id == conversation_id, t.messages.c.id > after_id))
                .order_by(t.messages.c.id).limit(limit)).all()
        return [{"id": r.id, "author": r.author, "author_name": r.author_name, "kind": r.kind, "text": r.text,
                 "data": r.data, "at": aware(r.created_at).isoformat()} for r in rows]  # type: ignore[union-attr]

    def offered_buttons(self, conversation_id: str) -> list[dict[str, str]]:
        """The buttons of the latest outgoing message that had some, unless the person has written since
        (besides the message being handled): what a reply "2" chooses from on a channel without buttons."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.messages.c.author, t.messages.c.data).where(
                t.messages.c.conversation_id == conversation_id).order_by(t.messages.c.id.desc()).limit(30)).all()
        person_messages = 0
        for row in rows:
            if row.author == "person":
                person_messages += 1
                if person_messages > 1:
                    return []
            elif isinstance(row.data, dict) and row.data.get("buttons"):
                return [b for b in row.data["buttons"] if isinstance(b, dict) and b.get("payload")]
        return []

    # privacy -----------------------------------------------------------------------------------
    def erase(self, conversation_id: str, keep_unsent: bool = False) -> bool:
        """Delete everything about one conversation (the directory's unmet needs hold nothing personal).

        `keep_unsent` (an erasure the person asked for): replies not yet sent, such as "your data is deleted",
        stay in the outbox without their transcript rows, and the conversation keeps only what sending them
        needs (channel, address, language) until they are sent or ERASE_GRACE runs out (`finish_erasure`).
        The web chat has no outbox: its page reads the replies after the person's last message from the
        transcript, so those stay until it has (the poll then calls `finish_erasure`). True when something
        was kept."""
        with self._writes, self.engine.begin() as conn:
            unsent = [r.id for r in conn.execute(select(t.outbox.c.id).where(and_(
                t.outbox.c.conversation_id == conversation_id, t.outbox.c.status == "pending"))).all()]
            last_words = _last_web_replies(conn, conversation_id) if keep_unsent else []
            if keep_unsent and (unsent or last_words):
                _forget(conn, conversation_id, keep=unsent, keep_messages=last_words)
                conn.execute(update(t.conversations).where(t.conversations.c.id == conversation_id).values(
                    city=None, mode="bot", apology_sent_at=None, notice_sent_at=None, reengaged_at=None,
                    erased_at=now()))
                return True
            _forget(conn, conversation_id)
            conn.execute(delete(t.conversations).where(t.conversations.c.id == conversation_id))
            return False

    def finish_erasure(self, conversation_id: str, force: bool = False) -> bool:
        """Delete an erased conversation whose last replies are all sent (or, with `force`, given up on)."""
        with self._writes, self.engine.begin() as conn:
            row = conn.execute(select(t.conversations.c.erased_at).where(
                t.conversations.c.id == conversation_id)).first()
            if row is None or row.erased_at is None:
                return False
            pending = conn.execute(select(t.outbox.c.id).where(and_(
                t.outbox.c.conversation_id == conversation_id, t.outbox.c.status == "pending"))).first()
            if pending is not None and not force:  # (the web chat's kept replies: its page finishes it)
                return False
            _forget(conn, conversation_id)
            conn.execute(delete(t.conversations).where(t.conversations.c.id == conversation_id))
            return True

    def erasures_due(self) -> list[str]:
        """Erased conversations whose last replies had ERASE_GRACE to go out."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.conversations.c.id).where(
                t.conversations.c.erased_at < now() - ERASE_GRACE)).all()
        return [r[0] for r in rows]

    def expired(self, retention_days: int) -> list[str]:
        """Conversations silent for longer than the retention period, with no open handoff."""
        limit = now() - dt.timedelta(days=retention_days)
        open_ids = select(t.handoffs.c.conversation_id).where(t.handoffs.c.status.in_(("waiting", "assigned")))
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.conversations.c.id).where(and_(
                or_(t.conversations.c.last_inbound_at < limit,
                    and_(t.conversations.c.last_inbound_at.is_(None), t.conversations.c.created_at < limit)),
                t.conversations.c.id.notin_(open_ids)))).all()
        return [r[0] for r in rows]


def _last_web_replies(conn: Connection, conversation_id: str) -> list[int]:
    """A web conversation's messages after the person's last one (the replies its page has yet to read)."""
    channel = conn.execute(select(t.conversations.c.channel).where(t.conversations.c.id == conversation_id)).scalar()
    if channel != "web":
        return []
    last = conn.execute(select(t.messages.c.id).where(and_(
        t.messages.c.conversation_id == conversation_id, t.messages.c.author == "person"))
        .order_by(t.messages.c.id.desc()).limit(1)).scalar() or 0
    return [r.id for r in conn.execute(select(t.messages.c.id).where(and_(
        t.messages.c.conversation_id == conversation_id, t.messages.c.id > last))).all()]


def _forget(conn: Connection, conversation_id: str, keep: list[int] | None = None,
            keep_messages: list[int] | None = None) -> None:
    """Delete a conversation's transcript, inbox, handoffs (their notes and events; referrals stay, anonymous)
    and outbox rows, except the outbox rows `keep`, which lose their link to the transcript, and the
    transcript rows `keep_messages` (the web chat's last replies)."""
    keep, keep_messages = keep or [], keep_messages or []
    handoff_ids = select(t.handoffs.c.id).where(t.handoffs.c.conversation_id == conversation_id)
    conn.execute(update(t.referrals).where(t.referrals.c.handoff_id.in_(handoff_ids)).values(handoff_id=None))
    conn.execute(delete(t.notes).where(t.notes.c.handoff_id.in_(handoff_ids)))
    conn.execute(delete(t.handoff_events).where(t.handoff_events.c.handoff_id.in_(handoff_ids)))
    conn.execute(delete(t.handoffs).where(t.handoffs.c.conversation_id == conversation_id))
    if keep:
        conn.execute(update(t.outbox).where(t.outbox.c.id.in_(keep)).values(message_id=None))
    conn.execute(delete(t.outbox).where(and_(t.outbox.c.conversation_id == conversation_id,
                                             t.outbox.c.id.notin_(keep))))
    conn.execute(delete(t.messages).where(and_(t.messages.c.conversation_id == conversation_id,
                                               t.messages.c.id.notin_(keep_messages))))
    conn.execute(delete(t.inbox).where(t.inbox.c.conversation_id == conversation_id))


def _conversation(row: Any) -> Conversation:
    return Conversation(id=row.id, channel=row.channel, address=row.address, language=row.language, script=row.script,
                        city=row.city, mode=row.mode, created_at=aware(row.created_at),  # type: ignore[arg-type]
                        last_inbound_at=aware(row.last_inbound_at), apology_sent_at=aware(row.apology_sent_at),
                        notice_sent_at=aware(row.notice_sent_at), reengaged_at=aware(row.reengaged_at),
                        erased_at=aware(row.erased_at))
