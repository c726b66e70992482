"""Sending the outbox: per conversation in order, transient failures retried with backoff, permanent ones recorded.

Delivery is at-least-once. A row is marked sent only after its channel accepted the message, so a process that
stops between the two leaves it pending under its lease, and whoever takes it over once the lease has run out
(this process after a restart, or another replica) sends it again. No channel's send API takes an idempotency key:
that window of a few milliseconds is the one way a message can arrive twice. At-most-once (marking before
sending) would instead lose a reply silently, emergency numbers included, whenever a process dies mid-send.
Within running gateways nothing is sent twice: one task at a time sends a conversation's rows, re-reading them
under its lock; a row is claimed before it is sent; marking only changes pending rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bot.channels.base import Channel, Outbound, SendFailed, WindowedChannel
from bot.gateway.outbox import HELD, Outbox, OutgoingRow, Settled, Status
from bot.gateway.store import ERASE_GRACE, Conversation, now

log = logging.getLogger("putokaz.gateway")
GIVE_UP = dt.timedelta(hours=24)  # WhatsApp's window is closed by then, and the person has long moved on
MAX_BACKOFF = 300.0
WINDOW = 86400.0  # WhatsApp's customer-service window, seconds
HOLD = dt.timedelta(days=7)  # messages held for a closed window wait this long for the person to write again
NOT_BACK = f"not delivered: the person did not write again within {HOLD.days} days of the re-engagement template"


@dataclass
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Courier:
    """Sends a gateway's outbox. `send` records and sends at once; `kick` sends what a conversation has pending."""

    def __init__(self, outbox: Outbox, channels: dict[str, Channel], retry_seconds: float = 5.0) -> None:
        self.outbox = outbox
        self.channels = channels
        self.retry_seconds = retry_seconds
        self._turns: dict[str, _Turn] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    async def send(self, conversation: Conversation,
                   messages: list[tuple[str, Outbound, dict[str, Any] | None, str | None]]) -> list[Status]:
        """Record (author, outbound, transcript data, author name)s in the transcript and the outbox in one
        transaction, then send what the conversation has pending, oldest first. Each one's status after that:
        sent, pending (it waits for a retry, or for an earlier message) or failed (the channel refused it)."""
        async with self._turn(conversation.id):
            ids, current, rows = await asyncio.to_thread(self.outbox.record, conversation.id, messages)
            settled = await self._send_batch(conversation.id, current, rows)
        return [settled[i].status if i in settled else "pending" for i in ids]

    def kick(self, conversation_id: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self.flush(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def flush(self, conversation_id: str) -> None:
        async with self._turn(conversation_id):
            await self._flush_locked(conversation_id)

    async def deliver_due(self) -> None:
        """Background job (and at start): send what waited for a retry, or was left by a stopped process."""
        for conversation_id in await asyncio.to_thread(self.outbox.due):
            if conversation_id not in self._turns:  # else a task of this process is on it
                self.kick(conversation_id)

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # --- inside a conversation's lock ------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def _turn(self, conversation_id: str) -> AsyncIterator[None]:
        """One task at a time per conversation; the lock is forgotten when nobody holds or awaits it."""
        turn = self._turns.setdefault(conversation_id, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if not turn.users:
                del self._turns[conversation_id]

    async def _flush_locked(self, conversation_id: str) -> dict[int, Settled]:
        conversation, rows = await asyncio.to_thread(self.outbox.batch, conversation_id)
        return await self._send_batch(conversation_id, conversation, rows)

    async def _send_batch(self, conversation_id: str, conversation: Conversation | None,
                          rows: list[OutgoingRow]) -> dict[int, Settled]:
        results: list[Settled] = []
        if conversation is not None and rows:
            channel = self.channels.get(conversation.channel)
            last_in = conversation.last_inbound_at
            window_open = last_in is not None and (now() - last_in).total_seconds() < WINDOW
            if not window_open and hasattr(channel, "reengage") and conversation.erased_at is None:
                results = await self._hold(channel, conversation, rows)  # type: ignore[arg-type]
            else:
                for row in rows:
                    result = await self._send_one(channel, conversation, row)
                    results.append(result)
                    if result.status == "pending":  # later messages wait: they must not overtake this one
                        self._wake(conversation_id, result.retry_at)
                        break
            await asyncio.to_thread(self.outbox.settle, results)
            if conversation.erased_at is not None and all(r.status != "pending" for r in results):
                await asyncio.to_thread(self.outbox.store.finish_erasure, conversation_id)
        return {r.id: r for r in results}

    async def _hold(self, channel: WindowedChannel, conversation: Conversation,
                    rows: list[OutgoingRow]) -> list[Settled]:
        """WhatsApp's 24-hour window is closed: send the re-engagement template (once since the person last
        wrote) and keep the messages until they write again (`Store.accept` releases them) or HOLD runs out."""
        expired = {r.id for r in rows if now() - r.created_at > HOLD}
        results = [Settled(r.id, "failed", error=NOT_BACK) for r in rows if r.id in expired]
        waiting = [r for r in rows if r.id not in expired]
        if not waiting:
            return results
        sent_since = conversation.reengaged_at is not None and (
            conversation.last_inbound_at is None or conversation.reengaged_at > conversation.last_inbound_at)
        if not sent_since:
            try:
                await channel.reengage(conversation.address, conversation.language)
            except SendFailed as exc:
                reason = str(exc) or type(exc).__name__
                if not exc.retryable:
                    log.warning("gateway: %s re-engagement template for conversation %s refused: %s",
                                conversation.channel, conversation.id, reason)
                    return results + [Settled(r.id, "failed", error=reason) for r in waiting]
                later = self._later(conversation, waiting[0], reason, exc.retry_after, waiting[0].parts_sent)
                if later.status == "pending":
                    self._wake(conversation.id, later.retry_at)
                return [*results, later]
            await asyncio.to_thread(self.outbox.store.update_conversation, conversation.id, reengaged_at=now())
            log.info("gateway: %s window closed for conversation %s: re-engagement template sent, %d message(s) "
                     "held", conversation.channel, conversation.id, len(waiting))
        return results + [Settled(r.id, "pending", error=HELD, retry_at=r.created_at + HOLD, parts_sent=r.parts_sent)
                          for r in waiting]

    async def _send_one(self, channel: Channel | None, conversation: Conversation, row: OutgoingRow) -> Settled:
        if channel is None:
            return Settled(row.id, "failed", error=f"the {conversation.channel} channel is not configured")
        try:
            channel_id = await channel.send(conversation.address, row.outbound, resume_from=row.parts_sent)
        except SendFailed as exc:
            reason = str(exc) or type(exc).__name__
            if not exc.retryable:
                log.warning("gateway: %s refused message %s of conversation %s for good: %s", conversation.channel,
                            row.id, conversation.id, reason)
                return Settled(row.id, "failed", error=reason)
            return self._later(conversation, row, reason, exc.retry_after, max(row.parts_sent, exc.delivered))
        except Exception as exc:  # a bug in an adapter must not lose the message: try again later
            log.exception("gateway: sending message %s of conversation %s failed", row.id, conversation.id)
            return self._later(conversation, row, f"{type(exc).__name__}: {exc}", None, row.parts_sent)
        return Settled(row.id, "sent", channel_message_id=str(channel_id)[:128] if channel_id else None)

    def _later(self, conversation: Conversation, row: OutgoingRow, reason: str, retry_after: float | None,
               parts_sent: int) -> Settled:
        erased = conversation.erased_at is not None and now() - conversation.erased_at > ERASE_GRACE
        if erased or now() - row.created_at > GIVE_UP:
            log.warning("gateway: message %s of conversation %s given up after %d attempts: %s", row.id,
                        conversation.id, row.attempts + 1, reason)
            return Settled(row.id, "failed", error=f"given up after {row.attempts + 1} attempts: {reason}")
        delay = retry_after if retry_after is not None else min(self.retry_seconds * 2 ** row.attempts, MAX_BACKOFF)
        log.info("gateway: %s message %s of conversation %s retried in %.1f s: %s", conversation.channel, row.id,
                 conversation.id, delay, reason)
        return Settled(row.id, "pending", error=reason, retry_at=now() + dt.timedelta(seconds=delay),
                       parts_sent=parts_sent)

    def _wake(self, conversation_id: str, at: dt.datetime | None) -> None:
        """Try again in this process when the retry time comes (the background job is the safety net)."""
        delay = max(0.0, (at - now()).total_seconds()) if at else self.retry_seconds
        old = self._timers.pop(conversation_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[conversation_id] = loop.call_later(delay + 0.01, self._timer_fired, conversation_id)

    def _timer_fired(self, conversation_id: str) -> None:
        self._timers.pop(conversation_id, None)
        self.kick(conversation_id)
