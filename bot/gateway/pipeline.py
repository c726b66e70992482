"""Every inbound message, exactly once and in order: bot mode goes to Rasa, human mode to counsellors."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.channels.base import Button, Channel, Inbound, Outbound
from bot.components.langid import LanguageDetector, decide, shared_detector
from bot.gateway.delivery import Courier
from bot.gateway.kv import KV
from bot.gateway.outbox import Outbox
from bot.gateway.rasa_client import RasaClient, RasaUnavailable
from bot.gateway.store import Conversation, PendingMessage, Store, now
from bot.handoff.service import HandoffService
from bot.i18n.bidi import RTL_LANGUAGES
from bot.i18n.plural import days
from bot.i18n.responses import Responses
from bot.settings import Settings

log = logging.getLogger("putokaz.gateway")
CHOICE = re.compile(r'^/choose_language\{"language":\s*"(en|ar|fa|ps|sr)"\}$')
SAFETY_INTENTS = {"express_distress": "distress", "child_alone": "child_alone"}
BACK_TO_BOT = "/ask_capabilities"
APOLOGY_EVERY = 600.0  # seconds: one apology per outage, not one per message


@dataclass
class Gateway:
    settings: Settings
    store: Store
    handoffs: HandoffService
    kv: KV
    rasa: RasaClient
    channels: dict[str, Channel]
    responses: Responses = field(default_factory=Responses.from_domain_dir)
    detector: LanguageDetector = field(default_factory=shared_detector)
    _locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)  # the lock, tasks using it
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    courier: Courier = field(init=False)  # the outbox: every message to a person, kept until its channel takes it

    def __post_init__(self) -> None:
        self.courier = Courier(Outbox(self.store), self.channels, self.settings.retry_seconds)

    # --- intake ----------------------------------------------------------------------------------
    async def receive(self, inbound: Inbound) -> bool:
        """Keep the message and schedule it; False for a duplicate delivery (already kept)."""
        conversation, accepted, released = await asyncio.to_thread(self.store.receive, inbound)
        if not accepted:
            return False
        if released:  # replies held for WhatsApp's closed window (or waiting for a retry) go now, in order
            self.courier.kick(conversation.id)
        self.kick(conversation.id)
        return True

    def kick(self, conversation_id: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._drain(conversation_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def idle(self) -> None:
        """Wait until every scheduled message is handled (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.courier.idle()

    async def _drain(self, conversation_id: str) -> None:
        # The lock stays in the map while any task holds or awaits it: dropped when the holder releases
        # it while another waits, a third task would make a fresh lock and run beside the waiter.
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                await self._drain_locked(conversation_id)
        finally:
            lock, users = self._locks[conversation_id]
            if users == 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)

    async def _drain_locked(self, conversation_id: str) -> None:
        while True:
            pending = await asyncio.to_thread(self.store.pending, conversation_id)
            if not pending:
                return
            for message in pending:
                try:
                    handled = await self._handle(conversation_id, message)
                except Exception:  # one bad message must not stop the conversation
                    log.exception("gateway: message %s failed; it is kept for a retry", message.id)
                    await asyncio.to_thread(self.store.retry_later, message.id, message.attempts + 1,
                                            self._backoff(message))
                    handled = False
                if not handled:
                    return  # later messages wait: a conversation's messages are answered in order

    def _backoff(self, message: PendingMessage) -> float:
        return float(min(self.settings.retry_seconds * 2 ** message.attempts, 300.0))

    # --- one message -------------------------------------------------------------------------------
    def _begin(self, conversation_id: str, message: PendingMessage) -> tuple[Conversation | None, Any]:
        """The conversation, the person's message in its transcript (first attempt only), and its open
        handoff: the SQL that starts every message, in one thread hop. (None, None): erased meanwhile."""
        conversation = self.store.conversation(conversation_id)
        if conversation is None:
            self.store.finish(message.id, "erased")
            return None, None
        if message.attempts == 0:
            data = ({"latitude": message.latitude, "longitude": message.longitude} if message.kind == "location"
                    else None)
            self.store.add_message(conversation.id, "person", message.text, message.kind, data)
        # Read before the rate limit, the language and the privacy notice rather than after them: none of
        # those opens or closes a handoff, and this conversation's messages are handled one at a time.
        return conversation, self.handoffs.open_ticket(conversation.id)

    async def _handle(self, conversation_id: str, message: PendingMessage) -> bool:
        conversation, ticket = await asyncio.to_thread(self._begin, conversation_id, message)
        if conversation is None:  # erased meanwhile
            return True
        message = await self._numbered_choice(conversation, message)
        if message.attempts == 0 and await self._flooding(conversation):
            await asyncio.to_thread(self.store.finish, message.id, "limited")
            return True
        conversation = await self._update_language(conversation, message)
        if conversation.notice_sent_at is None:
            await self.say(conversation, "utter_privacy_notice",
                           period=days(self.settings.retention_days, conversation.language))
            await asyncio.to_thread(self.store.update_conversation, conversation.id, notice_sent_at=now())

        if ticket is not None:
            if not (ticket.status == "waiting" and message.kind == "button" and message.text == BACK_TO_BOT):
                await self._human_mode(conversation, ticket, message)
                await asyncio.to_thread(self.store.finish, message.id)
                return True
            await asyncio.to_thread(self.handoffs.person_left, conversation.id)

        text = self._text_for_rasa(message)
        if text is None:
            name = "utter_gw_voice_or_photo" if message.kind in ("voice", "photo") else "utter_gw_sticker"
            await self.say(conversation, name)
            await asyncio.to_thread(self.store.finish, message.id)
            return True
        try:
            replies = await self.rasa.send(conversation.id, text, {"channel": conversation.channel,
                                                                   "language_hint": message.language_hint})
        except RasaUnavailable as exc:
            log.warning("gateway: %s; message %s kept for a retry", exc, message.id)
            await self._apologise(conversation)
            await asyncio.to_thread(self.store.retry_later, message.id, message.attempts + 1, self._backoff(message))
            return False
        await self._bot_replies(conversation, replies)
        await asyncio.to_thread(self.store.finish, message.id)
        return True

    async def _numbered_choice(self, conversation: Conversation, message: PendingMessage) -> PendingMessage:
        """On a channel without buttons (Twilio), a reply "2" is the second button the bot last offered."""
        choice = getattr(self.channels.get(conversation.channel), "choice", None)
        number = choice(message.text) if message.kind == "text" and choice is not None else None
        if number is None:
            return message
        buttons = await asyncio.to_thread(self.store.offered_buttons, conversation.id)
        if not 1 <= number <= len(buttons):
            return message  # a number that is not a choice ("2" children): Rasa reads it as text
        return replace(message, kind="button", text=buttons[number - 1]["payload"])

    async def _flooding(self, conversation: Conversation) -> bool:
        count = await self.kv.hit(f"person:{conversation.id}", 60)
        limit = self.settings.rate_limit_per_minute
        if count == limit + 1:
            await self.say(conversation, "utter_gw_rate_limited")
        return count > limit

    def _text_for_rasa(self, message: PendingMessage) -> str | None:
        if message.kind in ("text", "button"):
            return message.text or None
        if message.kind == "location" and message.latitude is not None:
            return "/ask_service" + json.dumps({"latitude": message.latitude, "longitude": message.longitude})
        return None

    async def _update_language(self, conversation: Conversation, message: PendingMessage) -> Conversation:
        """Follow the person's language as Rasa does (same decision), for the gateway's own texts."""
        language, script = conversation.language, conversation.script
        choice = CHOICE.match(message.text) if message.kind == "button" else None
        if choice:
            language = choice.group(1)
        elif message.kind == "text" and message.text:
            detection = self.detector.detect(message.text[:1000])
            language = decide(detection.code, detection.confidence, detection.words, language, None) or language
            if detection.code == "sr" and detection.script and (language == "sr"):
                script = detection.script
        if language is None and message.language_hint in ("en", "ar", "fa", "ps", "sr"):
            language = message.language_hint
        if (language, script) != (conversation.language, conversation.script):
            updated = await asyncio.to_thread(self.store.update_and_get, conversation.id,
                                              language=language, script=script)
            return updated or conversation
        return conversation

    # --- bot mode ------------------------------------------------------------------------------------
    async def _bot_replies(self, conversation: Conversation, replies: list[dict[str, Any]]) -> None:
        texts: list[Outbound] = []  # consecutive texts: recorded together (one transaction), then sent in order
        for reply in replies:
            custom = reply.get("custom")
            if isinstance(custom, dict) and "handoff" in custom:
                await self._deliver_bot(conversation, texts)
                texts = []
                await self.open_handoff(conversation, custom["handoff"])
            elif isinstance(custom, dict) and custom.get("erase"):
                await self._deliver_bot(conversation, texts)
                await self.erase(conversation, keep_unsent=True)  # "your data is deleted" still goes out
                return
            elif reply.get("text") or reply.get("buttons"):
                buttons = tuple(Button(b.get("title", ""), b.get("payload", "")) for b in reply.get("buttons") or [])
                texts.append(Outbound(reply.get("text", ""), buttons, rtl=self._rtl(conversation)))
        await self._deliver_bot(conversation, texts)

    async def _deliver_bot(self, conversation: Conversation, texts: list[Outbound]) -> None:
        """`deliver` for several of the bot's texts: one transcript and outbox write for all, then each sent."""
        if not texts:
            return
        if conversation.channel not in self.channels:  # the web chat reads the transcript
            await asyncio.to_thread(self.store.add_messages, conversation.id,
                                    [("bot", o.text, "text", _payload(o, None), None) for o in texts])
            return
        if getattr(self.channels[conversation.channel], "numbered_buttons", False):
            # a typed number picks from the buttons offered last (`_numbered_choice`): earlier ones in the same
            # turn (a «Details» under each place) could not be chosen, so they are not shown
            texts = [replace(o, buttons=()) for o in texts[:-1]] + texts[-1:]
        await self.courier.send(conversation, [("bot", o, _payload(o, None), None) for o in texts])

    async def open_handoff(self, conversation: Conversation, request: dict[str, Any],
                           at: dt.datetime | None = None) -> None:
        """Open a ticket in the team routed to (place, needs, language) and tell the person when that
        team answers: their place in its line, or when its working hours begin (`at`: now)."""
        priority = "urgent" if request.get("priority") == "urgent" else "normal"
        ticket, created = await asyncio.to_thread(
            self.handoffs.open, conversation.id, conversation.channel, str(request.get("reason") or "asked")[:24],
            priority, request.get("language") or conversation.language, request.get("city") or conversation.city,
            request.get("category"))
        if not created:
            return
        team = self.handoffs.team_of(ticket)
        if team.in_hours(at):
            position = await asyncio.to_thread(self.handoffs.position, ticket.id)
            await self.say(conversation, "utter_gw_waiting", position=position)
        else:
            when = team.next_answer(at)
            await self.say(conversation, "utter_gw_waiting_outside_hours",
                           when=when.strftime("%d.%m. %H:%M") if when else "-")
            if priority == "urgent":
                await self.say(conversation, "utter_emergency_numbers")

    # --- human mode ----------------------------------------------------------------------------------
    async def _human_mode(self, conversation: Conversation, ticket: Any, message: PendingMessage) -> None:
        """The bot stays silent; the message waits for the counsellor. Danger still gets numbers at once."""
        await self.kv.publish("console", {"type": "message", "handoff_id": ticket.id,
                                          "conversation_id": conversation.id})
        if message.kind != "text" or ticket.priority == "urgent":
            return
        try:
            parsed = await self.rasa.parse(conversation.id, message.text)
        except RasaUnavailable:
            return
        intent = parsed.get("intent") or {}
        reason = SAFETY_INTENTS.get(intent.get("name", ""))
        if reason and intent.get("confidence", 0.0) >= 0.5:
            await asyncio.to_thread(self.handoffs.escalate, ticket.id, _system(), reason)
            await self.say(conversation, "utter_emergency_numbers")

    # --- sending -------------------------------------------------------------------------------------
    def _rtl(self, conversation: Conversation) -> bool:
        return (conversation.language or "en") in RTL_LANGUAGES

    async def say(self, conversation: Conversation, name: str, **values: Any) -> None:
        """One of the gateway's own texts (domain/*.yml), in the conversation's language and script."""
        rendered = self.responses.render(name, conversation.language, conversation.script, **values)
        buttons = tuple(Button(t, p) for t, p in rendered.buttons)
        await self.deliver(conversation, Outbound(rendered.text, buttons, rtl=self._rtl(conversation)), "system")

    async def deliver(self, conversation: Conversation, outbound: Outbound, author: str,
                      author_name: str | None = None, data: dict[str, Any] | None = None) -> bool:
        """Record in the transcript and the outbox, then send (bot/gateway/delivery.py): 429/5xx and network
        errors are retried with backoff, also after a restart. False when the channel refused it for good."""
        if conversation.channel not in self.channels:  # the web chat reads the transcript
            await asyncio.to_thread(self.store.add_message, conversation.id, author, outbound.text, "text",
                                    _payload(outbound, data), author_name)
            return True
        [status] = await self.courier.send(conversation, [(author, outbound, _payload(outbound, data), author_name)])
        return status != "failed"

    async def _apologise(self, conversation: Conversation) -> None:
        last = conversation.apology_sent_at
        if last is None or (now() - last).total_seconds() > APOLOGY_EVERY:
            await self.say(conversation, "utter_technical_problem")
            await asyncio.to_thread(self.store.update_conversation, conversation.id, apology_sent_at=now())

    # --- privacy -------------------------------------------------------------------------------------
    async def erase(self, conversation: Conversation, keep_unsent: bool = False) -> None:
        """Erase the person's data everywhere: our tables and Rasa's tracker. `keep_unsent`: replies still on
        their way (a failed first attempt) keep the address for up to ERASE_GRACE, then it goes too."""
        try:
            await self.rasa.erase(conversation.id)
        except RasaUnavailable:
            log.warning("gateway: Rasa's tracker for %s could not be erased now", conversation.id)
        await asyncio.to_thread(self.store.erase, conversation.id, keep_unsent)
        await self.kv.publish("console", {"type": "conversation.erased", "conversation_id": conversation.id})

    async def finish_erasures(self) -> int:
        """Background job: erased conversations whose last replies could not go out within ERASE_GRACE."""
        due = await asyncio.to_thread(self.store.erasures_due)
        for conversation_id in due:
            await asyncio.to_thread(self.store.finish_erasure, conversation_id, True)
        return len(due)

    async def purge_expired(self) -> int:
        expired = await asyncio.to_thread(self.store.expired, self.settings.retention_days)
        for conversation_id in expired:
            conversation = await asyncio.to_thread(self.store.conversation, conversation_id)
            if conversation is not None:
                await self.erase(conversation)
        return len(expired)

    # --- background ----------------------------------------------------------------------------------
    async def deliver_due(self) -> None:
        """Send outgoing messages whose retry time has come, or that a stopped process left (also at start)."""
        await self.courier.deliver_due()

    async def retry_due(self) -> None:
        for conversation_id in await asyncio.to_thread(self.store.conversations_with_pending):
            if conversation_id not in self._locks:  # else its drain is running and will reach it
                self.kick(conversation_id)

    async def notify_unclaimed(self) -> None:
        for ticket in await asyncio.to_thread(self.handoffs.unclaimed_since, self.settings.handoff_unclaimed_minutes):
            if await asyncio.to_thread(self.handoffs.mark_unclaimed_notice, ticket.id):
                conversation = await asyncio.to_thread(self.store.conversation, ticket.conversation_id)
                if conversation is not None:
                    await self.say(conversation, "utter_gw_nobody_free")


def _payload(outbound: Outbound, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """The transcript's `data` of a message: what the caller gives, plus the buttons."""
    payload = dict(data or {})
    if outbound.buttons:
        payload["buttons"] = [{"title": b.title, "payload": b.payload} for b in outbound.buttons]
    return payload or None


def _system() -> Any:
    from bot.handoff.machine import SYSTEM

    return SYSTEM
