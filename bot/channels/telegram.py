"""Telegram adapter: Bot API updates in, python-telegram-bot messages out, plus long polling."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import hashlib
import hmac
import json
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.base import (
    Button,
    Inbound,
    InboundKind,
    Outbound,
    ParsedWebhook,
    SendFailed,
    WebhookRejected,
)

__all__ = ["TelegramChannel", "poll_updates", "split_text", "language_hint", "MAX_TEXT"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
SHORT_TITLE = 20  # buttons whose titles are all at most this long go two to a row
# The only update types the adapter reads; told to Telegram on setWebhook and getUpdates so
# that edits, channel posts, chat-member changes and polls are not even delivered.
ALLOWED_UPDATES = ("message", "callback_query")

_KEY_PREFIX = "~p:"  # callback_data that stands for a payload too long for Telegram's 64 bytes
_MAX_KEYS = 4096
_MAX_PENDING_CALLBACKS = 1024
_OUR_LANGUAGES = {"ar", "fa", "ps", "sr", "en"}
_LANGUAGE_ALIASES = {"prs": "fa", "pes": "fa", "pbt": "ps", "pbu": "ps", "pst": "ps", "srp": "sr"}
_UNSUPPORTED_CONTENT = ("contact", "dice", "poll", "game", "story", "invoice", "paid_media",
                        "checklist", "passport_data")


def language_hint(code: str | None) -> str | None:
    """Telegram's IETF `language_code` as one of our codes where it is one ("sr-Latn" -> "sr")."""
    if not code or not code.strip():
        return None
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    primary = _LANGUAGE_ALIASES.get(primary, primary)
    return primary if primary in _OUR_LANGUAGES else code.strip()


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into parts of at most `limit` UTF-16 units: at paragraph, else line, else word
    boundaries. Only a single word longer than `limit` is ever cut inside."""
    text = text.strip()
    parts: list[str] = []
    while text:
        if _utf16_len(text) <= limit:
            parts.append(text)
            break
        fits = 0  # characters of `text` that fit in `limit` units
        units = 0
        for ch in text:
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                break
            fits += 1
        window = text[: fits + 1]  # one character more: a break right after the window counts
        cut = _best_cut(window, fits)
        if cut <= 0:
            cut = fits  # one word longer than a whole message: nothing else to do
        part = text[:cut].rstrip()
        if part:
            parts.append(part)
        text = text[cut:].lstrip()
    return parts


def _best_cut(window: str, fits: int) -> int:
    """Where to end a part inside `window`: the last paragraph break, else line break, else space,
    preferring the coarsest kind that still fills at least half of a message."""
    found: list[int] = []
    for pattern in (r"\n[ \t]*\n", r"\n", r"\s"):
        positions = [m.start() for m in re.finditer(pattern, window) if 0 < m.start() <= fits]
        if positions:
            if positions[-1] >= fits // 2:
                return positions[-1]
            found.append(positions[-1])
    return max(found, default=0)


def _digest(value: str) -> str:
    """A short, stable stand-in for a chat id in logs (never log the id itself)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:10]


def _retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def _send_failed(exc: TelegramError) -> SendFailed:
    """PTB's exception as ours. BadRequest and TimedOut subclass NetworkError: order matters."""
    name, text = type(exc).__name__, str(exc)
    reason = text if text.startswith(name) else f"{name}: {text}"  # PTB's text often starts with the class name
    if isinstance(exc, RetryAfter):
        return SendFailed(reason, retryable=True, retry_after=_retry_after_seconds(exc))
    if isinstance(exc, (BadRequest, Forbidden, InvalidToken, ChatMigrated, Conflict)):
        return SendFailed(reason, retryable=False)
    # NetworkError covers TimedOut, connection failures and every 5xx; a bare TelegramError is an
    # unreadable answer (a proxy's error page, say): both are worth another try.
    return SendFailed(reason, retryable=True)


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's HTTP transport on aiohttp: the same requests as its HTTPXRequest (form
    fields, multipart for files, the same timeouts and errors) for about a quarter of the CPU time per
    call (httpx costs about 1.2 ms of CPU per request here, aiohttp 0.3 ms; bench/gateway measures the
    gateway's sends). The session is made on first use in the running event loop."""

    def __init__(self, connection_pool_size: int = 64, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        # aiohttp has no write timeout: the read timeout starts once the request is written
        self._write_timeout, self._media_write_timeout = write_timeout, media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        self._open_session()

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _open_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.closed or self._loop is not loop:
            # a session belongs to one event loop; a stale one (its loop closed) is dropped, not closed
            session = self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self._pool_size))
            self._loop = loop
        return session

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        session = self._open_session()
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        timeout = aiohttp.ClientTimeout(
            total=None, sock_read=read, sock_connect=connect,
            connect=None if connect is None or pool is None else connect + pool)
        data: Any = None
        if request_data is not None:
            fields = request_data.json_parameters
            if request_data.contains_files:
                form = aiohttp.FormData()
                for name, value in fields.items():
                    form.add_field(name, value)
                for name, part in request_data.multipart_data.items():
                    filename, content, *mime = part
                    form.add_field(name, content, filename=filename,
                                   content_type=mime[0] if mime else None)
                data = form
            elif fields:
                data = fields  # form-encoded, as HTTPXRequest sends them
        try:
            async with session.request(method, url, data=data, timeout=timeout,
                                       headers={"User-Agent": self.USER_AGENT}) as response:
                return response.status, await response.read()
        except asyncio.TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err


class TelegramChannel:
    """The Telegram Bot API, through python-telegram-bot, as a `Channel`.

    A pressed inline button arrives as kind "button" whose `text` is the button's payload. Its
    spinner keeps turning until the callback query is answered: call `await acknowledge(inbound)`
    once the update is accepted (`poll_updates` does it for you). The callback query id is kept in
    memory by `message_key`, so acknowledge on the instance that parsed the update.
    """

    name = "telegram"

    def __init__(self, token: str, webhook_secret: str | None = None,
                 base_url: str | None = None) -> None:
        self._webhook_secret = webhook_secret or None
        self._request = AiohttpRequest(connection_pool_size=64)  # sends: the gateway's hot path
        self._updates_request = HTTPXRequest(connection_pool_size=1)  # long polling: PTB's own
        # Used without initialize(): no getMe round trip at start-up; every method works.
        self._bot = Bot(token, base_url=base_url or DEFAULT_BASE_URL, request=self._request,
                        get_updates_request=self._updates_request)
        self._used = False
        self._closed = False
        self._long_payloads: OrderedDict[str, str] = OrderedDict()  # short key -> payload
        self._pending_callbacks: OrderedDict[str, str] = OrderedDict()  # message_key -> query id

    @property
    def bot(self) -> Bot:
        return self._bot

    # ----------------------------------------------------------------------------- inbound

    def parse(self, headers: Mapping[str, str], body: bytes) -> ParsedWebhook:
        if self._webhook_secret is not None:
            given = next((v for k, v in headers.items() if k.lower() == SECRET_HEADER), None)
            if given is None or not hmac.compare_digest(given.encode("utf-8"),
                                                        self._webhook_secret.encode("utf-8")):
                raise WebhookRejected(403, "missing or wrong X-Telegram-Bot-Api-Secret-Token")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected(400, "body is not JSON") from None
        if not isinstance(data, dict):
            raise WebhookRejected(400, "body is not a JSON object")
        return self.parse_update(data)

    def parse_update(self, data: dict[str, Any]) -> ParsedWebhook:
        """Translate one Update (as Telegram sends it, webhook or getUpdates) into our messages.
        Update types the assistant does not read give an empty result, not an error."""
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise WebhookRejected(400, "not a Telegram Update: no integer update_id")
        if not any(isinstance(data.get(kind), dict) for kind in ALLOWED_UPDATES):
            # Not read by the assistant: not even deserialised, so that a change in a type we
            # ignore (polls, chat members...) cannot turn into an error.
            return ParsedWebhook()
        try:
            update = Update.de_json(data, self._bot)
        except Exception as exc:  # whatever PTB trips over in untrusted input is a bad request
            raise WebhookRejected(400, f"not a Telegram Update: {type(exc).__name__}") from None
        key = str(update_id)
        if update.message is not None:
            inbound = self._from_message(key, update.message)
        elif update.callback_query is not None:
            inbound = self._from_callback(key, update)
        else:
            inbound = None
        return ParsedWebhook(messages=(inbound,) if inbound else ())

    def _from_message(self, key: str, msg: Message) -> Inbound | None:
        if msg.chat is None:  # PTB lets a message without its required chat through
            raise WebhookRejected(400, "not a Telegram Update: message without chat")
        kind: InboundKind
        text = msg.caption or ""
        lat = lon = None
        if msg.text is not None:
            kind, text = "text", msg.text
        elif msg.venue is not None or msg.location is not None:
            where = msg.venue.location if msg.venue is not None else msg.location
            assert where is not None
            kind, lat, lon = "location", where.latitude, where.longitude
        elif msg.voice or msg.audio or msg.video_note:
            kind = "voice"
        elif msg.sticker or msg.animation:  # an animation also carries `document`: test it first
            kind = "sticker"
        elif msg.photo or msg.document or msg.video:
            kind = "photo"
        elif any(getattr(msg, attr, None) for attr in _UNSUPPORTED_CONTENT):
            kind = "unsupported"
        else:
            return None  # a service message: someone joined, a pin, a chat photo change...
        user = msg.from_user
        return Inbound(
            channel=self.name, address=str(msg.chat.id), message_key=key, kind=kind, text=text,
            latitude=lat, longitude=lon,
            language_hint=language_hint(user.language_code) if user else None,
            sent_at=msg.date.timestamp() if msg.date else None,
            display_name=user.first_name if user else None,
        )

    def _from_callback(self, key: str, update: Update) -> Inbound | None:
        query = update.callback_query
        assert query is not None
        if query.from_user is None:
            raise WebhookRejected(400, "not a Telegram Update: callback_query without from")
        if query.data is None:  # a game button: nothing of ours
            return None
        # No message when the button was on an inline-mode message: the private chat with the
        # user has the user's id.
        message_chat = getattr(query.message, "chat", None)
        chat = message_chat.id if message_chat is not None else query.from_user.id
        kind: InboundKind = "button"
        payload = query.data
        if payload.startswith(_KEY_PREFIX):
            if payload in self._long_payloads:
                payload = self._long_payloads[payload]
                self._long_payloads.move_to_end(query.data)
            else:  # pressed after a restart: the long payload behind the key is gone
                log.warning("telegram: button key %s is unknown (sent before a restart?)", payload)
                kind, payload = "unsupported", ""
        self._pending_callbacks[key] = query.id
        while len(self._pending_callbacks) > _MAX_PENDING_CALLBACKS:
            self._pending_callbacks.popitem(last=False)
        return Inbound(
            channel=self.name, address=str(chat), message_key=key, kind=kind, text=payload,
            language_hint=language_hint(query.from_user.language_code),
            display_name=query.from_user.first_name,
        )

    async def acknowledge(self, inbound: Inbound) -> bool:
        """Answer the callback query behind a button press so the button stops spinning.
        Best effort and idempotent: False when there was nothing (left) to answer or it failed."""
        callback_id = self._pending_callbacks.pop(inbound.message_key, None)
        if inbound.channel != self.name or callback_id is None:
            return False
        try:
            await self.answer_callback(callback_id)
        except SendFailed as exc:
            log.info("telegram: could not answer a callback query: %s", exc)
            return False
        return True

    async def answer_callback(self, callback_id: str) -> None:
        await self._ready()
        try:
            await self._bot.answer_callback_query(callback_id)
        except TelegramError as exc:
            raise _send_failed(exc) from exc

    # ---------------------------------------------------------------------------- outbound

    def _callback_data(self, payload: str) -> str:
        size = len(payload.encode("utf-8"))
        if 1 <= size <= MAX_CALLBACK_DATA and not payload.startswith(_KEY_PREFIX):
            return payload
        key = _KEY_PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        self._long_payloads[key] = payload
        self._long_payloads.move_to_end(key)
        while len(self._long_payloads) > _MAX_KEYS:
            self._long_payloads.popitem(last=False)
        return key

    def keyboard(self, buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
        """Buttons as an inline keyboard: two to a row when every title is short, else one."""
        if not buttons:
            return None
        keys = [InlineKeyboardButton(b.title or b.payload,
                                     callback_data=self._callback_data(b.payload))
                for b in buttons]
        per_row = 2 if all(len(b.title) <= SHORT_TITLE for b in buttons) else 1
        return InlineKeyboardMarkup([keys[i:i + per_row] for i in range(0, len(keys), per_row)])

    async def send(self, address: str, message: Outbound, *, resume_from: int = 0) -> str | None:
        """Text (split to fit, buttons on the last part), then the venue, from part `resume_from` on
        (a retry skips what the failed attempt delivered: SendFailed.delivered). The last part's message_id."""
        chat_id: int | str = int(address) if re.fullmatch(r"-?\d+", address) else address
        markup = self.keyboard(message.buttons)
        steps: list[Callable[[], Awaitable[Message]]] = []
        parts = split_text(message.text)
        if not parts and markup is not None and message.location is None:
            parts = ["…"]  # Telegram will not show buttons without text
        for n, part in enumerate(parts):
            last_text = n == len(parts) - 1
            steps.append(self._text_step(chat_id, part, markup if last_text else None))
        if message.location is not None:
            lat, lon, title = message.location
            steps.append(self._place_step(chat_id, lat, lon, title, None if parts else markup))

        await self._ready()
        sent: Message | None = None
        for n in range(min(resume_from, len(steps)), len(steps)):
            try:
                sent = await steps[n]()
            except TelegramError as exc:
                failed = _send_failed(exc)
                failed.delivered = n
                log.info("telegram: send to chat %s failed at part %d/%d: %s",
                         _digest(address), n + 1, len(steps), failed)
                raise failed from exc
        return str(sent.message_id) if sent is not None else None

    def _text_step(self, chat_id: int | str, text: str,
                   markup: InlineKeyboardMarkup | None) -> Callable[[], Awaitable[Message]]:
        return lambda: self._bot.send_message(chat_id, text, reply_markup=markup)

    def _place_step(self, chat_id: int | str, lat: float, lon: float, title: str,
                    markup: InlineKeyboardMarkup | None) -> Callable[[], Awaitable[Message]]:
        if title.strip():
            where = f"{lat:.6f}, {lon:.6f}"  # sendVenue wants an address; we only have the point
            return lambda: self._bot.send_venue(chat_id, lat, lon, title=title, address=where,
                                                reply_markup=markup)
        return lambda: self._bot.send_location(chat_id, lat, lon, reply_markup=markup)

    # ------------------------------------------------------------------------ housekeeping

    async def set_webhook(self, url: str, secret: str | None,
                          drop_pending_updates: bool = False) -> bool:
        """Point Telegram at `url`; with `secret`, every delivery carries it in the header."""
        await self._ready()
        try:
            return await self._bot.set_webhook(url=url, secret_token=secret,
                                               allowed_updates=list(ALLOWED_UPDATES),
                                               drop_pending_updates=drop_pending_updates)
        except TelegramError as exc:
            raise _send_failed(exc) from exc

    async def delete_webhook(self, drop_pending_updates: bool = False) -> bool:
        await self._ready()
        try:
            return await self._bot.delete_webhook(drop_pending_updates=drop_pending_updates)
        except TelegramError as exc:
            raise _send_failed(exc) from exc

    async def webhook_info(self) -> dict[str, Any]:
        await self._ready()
        try:
            return (await self._bot.get_webhook_info()).to_dict()
        except TelegramError as exc:
            raise _send_failed(exc) from exc

    async def get_updates(self, offset: int | None, timeout: int,
                          limit: int = 100) -> list[dict[str, Any]]:
        """One getUpdates call; the updates as Bot API dicts. Raises PTB's TelegramError."""
        await self._ready()
        updates = await self._bot.get_updates(offset=offset, timeout=timeout, limit=limit,
                                              allowed_updates=list(ALLOWED_UPDATES))
        return [u.to_dict() for u in updates]

    async def _ready(self) -> None:
        """Reopen the connection pools after close(); mark them as used."""
        if self._closed:
            await asyncio.gather(self._request.initialize(), self._updates_request.initialize())
            self._closed = False
        self._used = True

    async def close(self) -> None:
        """Close the HTTP connection pools (Bot.shutdown() is a no-op without initialize())."""
        if not self._used or self._closed:
            return
        await asyncio.gather(self._request.shutdown(), self._updates_request.shutdown())
        self._closed = True


async def poll_updates(channel: TelegramChannel, handle: Callable[[Inbound], Awaitable[object]],
                       stop_event: asyncio.Event, *, timeout: int = 25,
                       min_backoff: float = 1.0, max_backoff: float = 30.0) -> None:
    """Long polling for a machine without a public URL: getUpdates until `stop_event` is set.

    Every update goes through `parse_update`, like a webhook's. The offset moves past an update
    only once `handle` has returned for all its messages, so nothing is lost; Telegram is told
    about the last offset before returning, so a restart does not see handled updates again. When
    `handle` raises, the same update is fetched again after a pause (errors back off from
    `min_backoff` doubling up to `max_backoff`; Telegram's 429 waits as long as it asks).
    """
    offset: int | None = None
    backoff = min_backoff
    stop_wait = asyncio.create_task(stop_event.wait())
    try:
        while not stop_event.is_set():
            fetch = asyncio.create_task(channel.get_updates(offset, timeout))
            await asyncio.wait({fetch, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)
                break
            try:
                updates = fetch.result()
            except RetryAfter as exc:
                await _pause(stop_event, _retry_after_seconds(exc))
                continue
            except Conflict as exc:
                log.error("telegram: getUpdates refused (%s); `putokaz telegram delete-webhook` "
                          "first to poll locally", exc)
                await _pause(stop_event, backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            except TelegramError as exc:
                log.warning("telegram: getUpdates failed: %s; retrying in %.0f s", exc, backoff)
                await _pause(stop_event, backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            failed = False
            for raw in updates:
                if stop_event.is_set():
                    break
                try:
                    parsed = channel.parse_update(raw)
                except WebhookRejected as exc:
                    log.warning("telegram: skipping an unreadable update: %s", exc.reason)
                    parsed = ParsedWebhook()
                try:
                    for inbound in parsed.messages:
                        if inbound.kind in ("button", "unsupported"):
                            await channel.acknowledge(inbound)
                        await handle(inbound)
                except Exception:
                    log.exception("telegram: handling update %s failed; retrying in %.0f s",
                                  raw.get("update_id"), backoff)
                    failed = True
                    break
                offset = int(raw["update_id"]) + 1
            if failed:
                await _pause(stop_event, backoff)
                backoff = min(backoff * 2, max_backoff)
            else:
                backoff = min_backoff
    finally:
        stop_wait.cancel()
        await asyncio.gather(stop_wait, return_exceptions=True)
        if offset is not None:  # confirm what was handled; returned updates stay unconfirmed
            try:
                await asyncio.wait_for(channel.get_updates(offset, 0, limit=1), 10)
            except (TelegramError, asyncio.TimeoutError) as exc:
                log.info("telegram: could not confirm the last updates: %s", exc)


async def _pause(stop_event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop_event.wait(), seconds)
