"""Twilio's WhatsApp adapter: form-encoded webhooks in (checked with twilio's RequestValidator), Messages API out.

Free-form WhatsApp messages through Twilio have no buttons: they go out as a short numbered list under the
text, and `choice` reads a reply "1", "2"... (also in Arabic-Indic or Persian digits) back as the button's
number; the gateway maps it to the payload of the buttons it last offered.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
from twilio.request_validator import RequestValidator

from bot.channels.base import (
    Inbound,
    InboundKind,
    Outbound,
    ParsedWebhook,
    SendFailed,
    WebhookRejected,
    retry_after_header,
    scrub_numbers,
)
from bot.channels.whatsapp import _mark_rtl, language_hint, split_text
from bot.i18n.bidi import LRI, PDI

__all__ = ["TwilioChannel", "render", "choice", "BODY_LIMIT", "DEFAULT_BASE_URL"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "x-twilio-signature"
BODY_LIMIT = 1600  # Twilio's limit for one message's Body
MAX_CHOICES = 10
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")  # Arabic-Indic, Persian
_CHOICE = re.compile(r"^\s*\(?(\d{1,2})[.)]?\s*$")
_MEDIA_KINDS: tuple[tuple[str, InboundKind], ...] = (
    ("audio/", "voice"), ("image/webp", "sticker"), ("image/", "photo"), ("video/", "photo"), ("application/", "photo"))


def choice(text: str) -> int | None:
    """The number of a reply that is only a number ("2", " ٢ ", "۲.", "(2)"), else None."""
    match = _CHOICE.match(text.translate(_DIGITS))
    return int(match.group(1)) if match else None


def render(message: Outbound) -> list[str]:
    """The Body of each message for one Outbound: the text split to fit, the buttons as a numbered list
    under its last part (or in a message of their own when they do not fit)."""
    text = _mark_rtl(message.text) if message.rtl else message.text
    parts = split_text(text, BODY_LIMIT)
    buttons = [b for b in message.buttons if b.payload or b.title][:MAX_CHOICES]
    if buttons:
        lines = [f"{LRI}{n}{PDI}. {b.title or b.payload}" if message.rtl else f"{n}. {b.title or b.payload}"
                 for n, b in enumerate(buttons, 1)]
        menu = "\n".join(_mark_rtl(line) if message.rtl else line for line in lines)[:BODY_LIMIT]
        if parts and len(parts[-1]) + 2 + len(menu) <= BODY_LIMIT:
            parts[-1] = f"{parts[-1]}\n\n{menu}"
        else:
            parts.append(menu)
    return parts


class TwilioSendFailed(SendFailed):
    """A SendFailed with the HTTP status and Twilio's error code, when there is one."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None, *,
                 status: int | None = None, code: int | None = None) -> None:
        super().__init__(reason, retryable, retry_after)  # `delivered` is set by send
        self.status = status
        self.code = code


class TwilioChannel:
    """WhatsApp through Twilio as a `Channel`. Addresses are Twilio's, e.g. "whatsapp:+381601234567"."""

    name = "twilio"
    numbered_buttons = True  # buttons go out as a numbered list; the gateway maps "2" back (see `choice`)

    def __init__(self, account_sid: str, auth_token: str, whatsapp_from: str, base_url: str | None = None,
                 webhook_url: str | None = None, reengage_content: dict[str, str] | None = None) -> None:
        """`reengage_content`: the approved re-engagement content template's SID per language ("" for any
        language; else the first one is the default)."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.whatsapp_from = whatsapp_from if whatsapp_from.startswith("whatsapp:") else f"whatsapp:{whatsapp_from}"
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.webhook_url = webhook_url or None  # the public URL Twilio signs, when a proxy changes ours
        self.reengage_content = dict(reengage_content or {})
        self._validator = RequestValidator(auth_token) if auth_token else None
        self._client: httpx.AsyncClient | None = None

    # -- inbound ---------------------------------------------------------------------------
    def parse(self, headers: Mapping[str, str], body: bytes, url: str | None = None) -> ParsedWebhook:
        """Check X-Twilio-Signature against `url` (the URL Twilio posted to) and translate the form."""
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise WebhookRejected(400, "Twilio posts application/x-www-form-urlencoded forms")
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
        except (UnicodeDecodeError, ValueError):
            raise WebhookRejected(400, "the body is not a URL-encoded form") from None
        if self._validator is not None:
            signature = next((v for k, v in headers.items() if k.lower() == SIGNATURE_HEADER), None)
            where = self.webhook_url or url or ""
            if not signature or not self._validator.validate(where, form, signature):
                raise WebhookRejected(403, "missing or wrong X-Twilio-Signature")
        key, sender = form.get("MessageSid") or form.get("SmsSid"), form.get("From")
        if not key or not sender:
            missing = [name for name, value in (("MessageSid", key), ("From", sender)) if not value]
            raise WebhookRejected(400, f"not a Twilio message webhook: no {' or '.join(missing)}")
        return ParsedWebhook(messages=(self._inbound(key, sender, form),))

    def _inbound(self, key: str, sender: str, form: dict[str, str]) -> Inbound:
        kind: InboundKind = "text"
        text, latitude, longitude = form.get("Body", ""), None, None
        media = form.get("MediaContentType0", "").lower() if _int(form.get("NumMedia")) else ""
        if form.get("Latitude") and form.get("Longitude"):
            try:
                latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
                kind, text = "location", ""
            except ValueError:
                raise WebhookRejected(400, "Latitude and Longitude must be numbers") from None
        elif form.get("ButtonPayload"):  # a template's quick-reply button
            kind, text = "button", form["ButtonPayload"]
        elif media:
            kind = next((k for prefix, k in _MEDIA_KINDS if media.startswith(prefix)), "unsupported")
        elif not text.strip():
            kind = "unsupported"
        return Inbound(channel=self.name, address=sender, message_key=key, kind=kind, text=text,
                       latitude=latitude, longitude=longitude,
                       language_hint=language_hint(form.get("WaId") or sender.removeprefix("whatsapp:")),
                       display_name=form.get("ProfileName") or None)

    def choice(self, text: str) -> int | None:
        return choice(text)

    # -- outbound --------------------------------------------------------------------------
    async def send(self, address: str, message: Outbound, *, window_open: bool = True,
                   resume_from: int = 0) -> str | None:
        """Each part through the Messages API, from part `resume_from` on; a place as a WhatsApp location
        (PersistentAction). Twilio's message sid of the last part. Outside WhatsApp's 24-hour window only
        approved templates go out: the message is refused for good rather than accepted by Twilio and dropped
        later (its error 63016)."""
        if not window_open:
            raise TwilioSendFailed("the 24-hour WhatsApp window is closed: only an approved template can go out",
                                   retryable=False)
        forms: list[dict[str, str]] = [{"Body": part} for part in render(message)]
        if message.location is not None:
            latitude, longitude, name = message.location
            forms.append({"Body": name or f"{latitude:.6f}, {longitude:.6f}",
                          "PersistentAction": f"geo:{latitude:.6f},{longitude:.6f}|{name}"})
        sid = None
        for delivered in range(min(resume_from, len(forms)), len(forms)):
            try:
                sid = await self._post({"To": address, "From": self.whatsapp_from, **forms[delivered]}, address)
            except TwilioSendFailed as exc:
                exc.delivered = delivered
                raise
        return sid

    async def reengage(self, address: str, language: str | None) -> str | None:
        """The re-engagement content template (WindowedChannel), in `language` when one is configured for it,
        else the default: sent with ContentSid and no Body, as Twilio requires outside the 24-hour window."""
        content = self.reengage_content
        sid = content.get(language or "") or content.get("") or next(iter(content.values()), None)
        if not sid:
            raise TwilioSendFailed("the 24-hour WhatsApp window is closed and no re-engagement content template "
                                   "is configured (TWILIO_REENGAGE_CONTENT)", retryable=False)
        return await self._post({"To": address, "From": self.whatsapp_from, "ContentSid": sid}, address)

    async def _post(self, form: dict[str, str], address: str) -> str | None:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = await self._http().post(url, data=form)
        except httpx.TransportError as exc:
            raise TwilioSendFailed(f"Twilio API unreachable ({type(exc).__name__})", retryable=True) from None
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        if response.is_success:
            return str(data["sid"]) if data.get("sid") else None
        code = data.get("code") if isinstance(data.get("code"), int) else None
        status = response.status_code
        reason = scrub_numbers(f"Twilio API HTTP {status}: {data.get('message') or response.reason_phrase}"
                        + (f" (error {code})" if code else ""), address)
        retryable = status == 429 or status >= 500
        log.warning("Twilio API refused a message: HTTP %s, error code %s", status, code)
        retry_after = retry_after_header(response.headers.get("Retry-After")) if retryable else None
        raise TwilioSendFailed(reason, retryable, retry_after, status=status, code=code)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(auth=(self.account_sid, self.auth_token),
                                             timeout=httpx.Timeout(15.0, connect=5.0))
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0
