"""What every channel adapter speaks: inbound messages, outbound messages and their errors."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

InboundKind = Literal["text", "button", "location", "voice", "photo", "sticker", "unsupported"]


@dataclass(frozen=True)
class Inbound:
    """One thing a person sent, whatever the channel."""

    channel: str  # "telegram", "whatsapp", "web"
    address: str  # where replies go: Telegram chat id, WhatsApp phone (wa_id), web session id
    message_key: str  # unique per channel: Telegram update_id, WhatsApp message id; duplicates are dropped
    kind: InboundKind
    text: str = ""  # the text, or the button payload ("/request_human") when kind == "button"
    latitude: float | None = None
    longitude: float | None = None
    language_hint: str | None = None  # Telegram's language_code, WhatsApp's country code mapped: a hint only
    sent_at: float | None = None  # unix seconds, when the channel says
    display_name: str | None = None  # never logged; shown to counsellors only on request


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Outbound:
    """One message to a person. Adapters split or reshape it to fit the channel's limits."""

    text: str
    buttons: tuple[Button, ...] = ()
    location: tuple[float, float, str] | None = None  # latitude, longitude, name (venue message)
    rtl: bool = False


@dataclass(frozen=True)
class ParsedWebhook:
    messages: tuple[Inbound, ...] = ()
    statuses: tuple[dict[str, str], ...] = field(default_factory=tuple)  # delivery/read receipts, ignored


class WebhookRejected(Exception):
    """The request is not from the channel (403) or not a valid payload (400)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SendFailed(Exception):
    """The channel did not take the message. `retryable` for 429 and 5xx and network errors.

    `delivered`: how many parts of the message (a long text goes out as several messages) the channel had
    accepted in all, counting those skipped with `resume_from`; a retry resumes from there, so no part
    reaches the person twice.
    """

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None, *,
                 delivered: int = 0) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after
        self.delivered = delivered


class Channel(Protocol):
    name: str

    def parse(self, headers: dict[str, str], body: bytes) -> ParsedWebhook:
        """Verify and translate a webhook request; raise WebhookRejected."""

    async def send(self, address: str, message: Outbound, *, resume_from: int = 0) -> str | None:
        """Deliver one message; raise SendFailed. `resume_from` skips the parts an earlier attempt delivered
        (SendFailed.delivered). The channel's id of the (last part of the) message, when it gives one."""

    async def close(self) -> None:
        """Release connections."""


class WindowedChannel(Channel, Protocol):
    """A channel that takes free-form messages only within 24 hours of the person's last message (WhatsApp,
    directly or through Twilio). Outside that window the gateway holds the messages, sends the approved
    re-engagement template once, and delivers what it held when the person writes again."""

    async def reengage(self, address: str, language: str | None) -> str | None:
        """Send the re-engagement template, in `language` where it exists; raise SendFailed (not retryable
        when no template is configured). The channel's message id."""


_PHONE_LIKE = re.compile(r"\+?\d[\d \-]{6,18}\d")


def scrub_numbers(text: str, address: str | None) -> str:
    """No phone number in an error text (it goes to logs): the recipient's, or anything like one."""
    if address:
        text = text.replace(address, "<recipient>")
    return _PHONE_LIKE.sub("<number>", text)


def retry_after_header(value: str | None) -> float | None:
    """Seconds to wait from an HTTP Retry-After header (seconds or a date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
