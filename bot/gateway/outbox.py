"""The outbox's records: every message to a person is kept, with its transcript row, until its channel takes it.

Rows of one conversation go out in id order. A gateway process claims the rows it is about to send
(`owner`, `lease_until`): another process (a replica, or this one after a restart) takes them over only
once the lease has run out. See bot/gateway/delivery.py for the sending and the delivery guarantee.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection

from bot.channels.base import Button, Outbound
from bot.gateway import tables as t
from bot.gateway.store import Conversation, Store, _conversation, aware, now

Status = Literal["pending", "sent", "failed"]
LEASE_SECONDS = 60.0  # longer than one send with its timeouts (Telegram 5 s, Meta 15 s per request)
MAX_ERROR = 300
HELD = "held: WhatsApp's 24-hour window is closed; the re-engagement template asked the person to write again"


@dataclass(frozen=True)
class OutgoingRow:
    id: int
    message_id: int | None
    outbound: Outbound
    attempts: int
    created_at: dt.datetime
    parts_sent: int = 0  # parts of a split message an earlier attempt delivered


@dataclass(frozen=True)
class Settled:
    """What became of one row: sent (with the channel's id), failed for good, or to be tried again at `retry_at`."""

    id: int
    status: Status
    channel_message_id: str | None = None
    error: str | None = None
    retry_at: dt.datetime | None = None
    parts_sent: int = 0  # while pending: the parts delivered so far, skipped on the retry


def to_json(outbound: Outbound) -> dict[str, Any]:
    return {"text": outbound.text, "buttons": [[b.title, b.payload] for b in outbound.buttons],
            "location": list(outbound.location) if outbound.location else None, "rtl": outbound.rtl}


def from_json(payload: dict[str, Any]) -> Outbound:
    location = payload.get("location")
    buttons = tuple(Button(str(b[0]), str(b[1])) for b in payload.get("buttons") or [])
    return Outbound(str(payload.get("text", "")), buttons,
                    (float(location[0]), float(location[1]), str(location[2])) if location else None,
                    bool(payload.get("rtl")))


_CONVERSATION = select(t.conversations).where(t.conversations.c.id == bindparam("conversation_id"))
_ADD_MESSAGE = insert(t.messages)
_ADD_OUTGOING = insert(t.outbox)
_PENDING = select(t.outbox).where(and_(t.outbox.c.conversation_id == bindparam("conversation_id"),
                                       t.outbox.c.status == "pending")).order_by(t.outbox.c.id)
_SENT = update(t.outbox).where(and_(t.outbox.c.id == bindparam("row_id"), t.outbox.c.status == "pending")).values(
    status="sent", channel_message_id=bindparam("channel_id"), sent_at=bindparam("at"), owner=None, lease_until=None,
    error=None)
_FAILED = update(t.outbox).where(and_(t.outbox.c.id == bindparam("row_id"), t.outbox.c.status == "pending")).values(
    status="failed", error=bindparam("reason"), attempts=t.outbox.c.attempts + 1, owner=None, lease_until=None)
_RETRY = update(t.outbox).where(and_(t.outbox.c.id == bindparam("row_id"), t.outbox.c.status == "pending")).values(
    error=bindparam("reason"), attempts=t.outbox.c.attempts + 1, next_attempt_at=bindparam("retry_at"), owner=None,
    lease_until=None, parts_sent=bindparam("parts_sent"))


class Outbox:
    """gw_outbox over the gateway's Store (same engine, same SQLite writer queue). `owner` names this process."""

    def __init__(self, store: Store, owner: str | None = None, lease_seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.owner = owner or str(uuid.uuid4())
        self.lease = dt.timedelta(seconds=lease_seconds)

    def record(self, conversation_id: str, messages: list[tuple[str, Outbound, dict[str, Any] | None, str | None]],
               ) -> tuple[list[int], Conversation | None, list[OutgoingRow]]:
        """Transcript rows and their outbox rows, in one transaction, claimed by this process to send now:
        (author, outbound, transcript data, author_name)s -> their outbox row ids, and `batch` (same transaction)."""
        at = now()
        ids = []
        with self.store._writes, self.store.engine.begin() as conn:
            for author, outbound, data, author_name in messages:
                message_id = conn.execute(_ADD_MESSAGE, {
                    "conversation_id": conversation_id, "author": author, "author_name": author_name, "kind": "text",
                    "text": outbound.text, "data": data, "created_at": at}).inserted_primary_key[0]
                ids.append(int(conn.execute(_ADD_OUTGOING, {
                    "conversation_id": conversation_id, "message_id": message_id, "payload": to_json(outbound),
                    "status": "pending", "attempts": 0, "owner": self.owner, "lease_until": at + self.lease,
                    "created_at": at}).inserted_primary_key[0]))
            return (ids, *self._batch(conn, conversation_id, at))

    def batch(self, conversation_id: str) -> tuple[Conversation | None, list[OutgoingRow]]:
        """The conversation and the rows this process may send now, oldest first, claimed. The batch ends
        before the first row that waits for its retry time or that another live process is sending: a later
        message never overtakes an earlier one."""
        with self.store._writes, self.store.engine.begin() as conn:
            return self._batch(conn, conversation_id, now())

    def _batch(self, conn: Connection, conversation_id: str, at: dt.datetime,
               ) -> tuple[Conversation | None, list[OutgoingRow]]:
        row = conn.execute(_CONVERSATION, {"conversation_id": conversation_id}).first()
        if row is None:
            return None, []
        rows = []
        for r in conn.execute(_PENDING, {"conversation_id": conversation_id}).all():
            next_at, lease = aware(r.next_attempt_at), aware(r.lease_until)
            if next_at is not None and next_at > at:
                break
            if r.owner not in (None, self.owner) and lease is not None and lease > at:
                break
            rows.append(r)
        claim = [r.id for r in rows if r.owner != self.owner or (aware(r.lease_until) or at) <= at]
        if claim:
            taken = conn.execute(update(t.outbox).where(and_(
                t.outbox.c.id.in_(claim), t.outbox.c.status == "pending",
                or_(t.outbox.c.owner.is_(None), t.outbox.c.owner == self.owner, t.outbox.c.lease_until <= at)))
                .values(owner=self.owner, lease_until=at + self.lease)).rowcount
            if taken != len(claim):  # another process took some meanwhile: it sends them; let go of the rest
                conn.execute(update(t.outbox).where(and_(t.outbox.c.id.in_(claim), t.outbox.c.owner == self.owner))
                             .values(owner=None, lease_until=None))
                return _conversation(row), []
        return _conversation(row), [
            OutgoingRow(r.id, r.message_id, from_json(r.payload), r.attempts, aware(r.created_at),  # type: ignore[arg-type]
                        r.parts_sent or 0)
            for r in rows]

    def settle(self, results: list[Settled]) -> None:
        """Record what became of sent rows, in one transaction. Only pending rows change: marking twice is harmless."""
        if not results:
            return
        at = now()
        with self.store._writes, self.store.engine.begin() as conn:
            sent = [{"row_id": r.id, "channel_id": r.channel_message_id, "at": at}
                    for r in results if r.status == "sent"]
            failed = [{"row_id": r.id, "reason": (r.error or "")[:MAX_ERROR]} for r in results if r.status == "failed"]
            retry = [{"row_id": r.id, "reason": (r.error or "")[:MAX_ERROR], "retry_at": r.retry_at,
                      "parts_sent": r.parts_sent} for r in results if r.status == "pending"]
            for statement, params in ((_SENT, sent), (_FAILED, failed), (_RETRY, retry)):
                if params:
                    conn.execute(statement, params)

    def due(self) -> list[str]:
        """Conversations with a row that some process should send now (retry time come, no live lease)."""
        at = now()
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.outbox.c.conversation_id).where(and_(
                t.outbox.c.status == "pending",
                or_(t.outbox.c.next_attempt_at.is_(None), t.outbox.c.next_attempt_at <= at),
                or_(t.outbox.c.lease_until.is_(None), t.outbox.c.lease_until <= at))).distinct()).all()
        return [r[0] for r in rows]

    def statuses(self, ids: list[int]) -> dict[int, Status]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.outbox.c.id, t.outbox.c.status).where(t.outbox.c.id.in_(ids))).all()
        return {r.id: r.status for r in rows}

    def deliveries(self, conversation_id: str) -> dict[int, tuple[Status, str | None]]:
        """Transcript message id -> (status, error) for a conversation's outgoing messages."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.outbox.c.message_id, t.outbox.c.status, t.outbox.c.error).where(and_(
                t.outbox.c.conversation_id == conversation_id, t.outbox.c.message_id.is_not(None)))).all()
        return {r.message_id: (r.status, r.error) for r in rows}

    def annotate(self, conversation_id: str, transcript: list[dict[str, Any]]) -> None:
        """Add `delivery` to each transcript message: "sent", "pending" (being retried), "held" (WhatsApp's window
        is closed: it goes when the person writes again), "not delivered" (the channel refused it;
        `delivery_error` says why) or None (not sent through a channel: the person's own)."""
        deliveries = self.deliveries(conversation_id)
        first_held = min((i for i, (status, error) in deliveries.items() if status == "pending" and error == HELD),
                         default=None)
        for message in transcript:
            status, error = deliveries.get(message["id"], (None, None))
            held = status == "pending" and first_held is not None and message["id"] >= first_held  # or behind one
            message["delivery"] = "not delivered" if status == "failed" else "held" if held else status
            message["delivery_error"] = error if status == "failed" else None

