"""What every channel adapter speaks: inbound messages, outbound messages and their errors."""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """The channel did not take the message. `retryable` for 429 and 5xx and network errors."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    name: str

    def parse(self, headers: dict[str, str], body: bytes) -> ParsedWebhook:
        """Verify and translate a webhook request; raise WebhookRejected."""

    async def send(self, address: str, message: Outbound, *, window_open: bool = True) -> str | None:
        """Deliver one message; raise SendFailed. `window_open` is WhatsApp's 24-hour window. The channel's
        id of the (last part of the) message, when it gives one."""

    async def close(self) -> None:
        """Release connections."""
