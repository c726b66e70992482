"""WhatsApp Cloud API adapter: Meta's webhook payloads in, Graph API messages out."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import httpx

from bot.channels.base import (
    Button,
    Inbound,
    InboundKind,
    Outbound,
    ParsedWebhook,
    SendFailed,
    WebhookRejected,
    retry_after_header,
    scrub_numbers,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://graph.facebook.com/v20.0"

# Meta's limits for Cloud API messages (characters).
TEXT_LIMIT = 4096  # text.body
BODY_LIMIT = 1024  # interactive.body.text
BUTTON_TITLE_LIMIT = 20  # reply button title
BUTTON_ID_LIMIT = 256  # reply button id
ROW_TITLE_LIMIT = 24  # list row title
ROW_DESCRIPTION_LIMIT = 72  # list row description
ROW_ID_LIMIT = 200  # list row id
LIST_LABEL_LIMIT = 20  # the button that opens a list
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10

DEFAULT_LIST_LABEL = "☰"  # no words: it has to make sense in all five languages
EMPTY_BODY = "👇"  # interactive messages need a body; this one points at the buttons
DEFAULT_TEMPLATE_LANGUAGE = "en"
# Our language codes -> WhatsApp template language codes. Pashto has no template language:
# it gets the default (templates["reengage_language"], else English).
TEMPLATE_LANGUAGES = {"en": "en", "ar": "ar", "fa": "fa", "sr": "sr"}

# Graph API error codes that mean "slow down / try later" even when the HTTP status is 400.
_THROTTLED = frozenset({1, 2, 4, 80007, 130429, 131048, 131056})
# Meta's documented errors that another try cannot fix, whatever the HTTP status: message undeliverable,
# re-engagement (window closed), recipient is the sender, not in the allowed list, account locked, unsupported
# type, number not registered, blocked for policy violations.
_PERMANENT = frozenset({131026, 131047, 131021, 131030, 131031, 131051, 133010, 368})
_TEMPLATE_LANGUAGE_MISSING = 132001  # "Template name does not exist in the translation"

_RLM = "\u200f"
_ISOLATE_OPEN = frozenset("\u2066\u2067\u2068")  # LRI, RLI, FSI
_PDI = "\u2069"

# Calling code -> language hint. Only a hint: many people in Serbia use a Serbian SIM.
# Afghanistan (93: Pashto or Dari) and Pakistan (92) say nothing reliable, hence None.
_CALLING_CODE_LANGUAGE: dict[str, str | None] = {
    "20": "ar", "212": "ar", "213": "ar", "216": "ar", "218": "ar", "249": "ar",
    "961": "ar", "962": "ar", "963": "ar", "964": "ar", "965": "ar", "966": "ar",
    "967": "ar", "968": "ar", "970": "ar", "971": "ar", "973": "ar", "974": "ar",
    "98": "fa",
    "381": "sr",
    "1": "en", "44": "en", "61": "en", "64": "en", "353": "en",
    "93": None, "92": None,
}

_MEDIA_KINDS: dict[str, InboundKind] = {
    "audio": "voice", "voice": "voice",
    "image": "photo", "video": "photo", "document": "photo",
    "sticker": "sticker",
}


class WhatsAppSendFailed(SendFailed):
    """A SendFailed that also carries the HTTP status and Meta's error code, when there is one."""

    def __init__(self, reason: str, retryable: bool, retry_after: float | None = None, *,
                 status: int | None = None, code: int | None = None, delivered: int = 0) -> None:
        super().__init__(reason, retryable, retry_after, delivered=delivered)
        self.status = status
        self.code = code


class WhatsAppChannel:
    """The WhatsApp Cloud API channel: checks and parses Meta's webhooks, sends via Graph API."""

    name = "whatsapp"

    def __init__(self, token: str, phone_number_id: str, app_secret: str | None = None,
                 verify_token: str | None = None, base_url: str | None = None,
                 templates: dict[str, str] | None = None) -> None:
        self.token = token
        self.phone_number_id = phone_number_id
        self.app_secret = app_secret or None
        self.verify_token = verify_token or None
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.templates = dict(templates or {})
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WhatsAppChannel:
        """Build from WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_APP_SECRET,
        WHATSAPP_VERIFY_TOKEN, WHATSAPP_API_BASE_URL, WHATSAPP_TEMPLATE_REENGAGE and
        WHATSAPP_TEMPLATE_REENGAGE_LANGUAGE.

        Raises ValueError when the token or the phone number id is missing."""
        env = os.environ if environ is None else environ
        token, number = env.get("WHATSAPP_TOKEN"), env.get("WHATSAPP_PHONE_NUMBER_ID")
        if not token or not number:
            raise ValueError("WHATSAPP_TOKEN and WHATSAPP_PHONE_NUMBER_ID must both be set")
        templates: dict[str, str] = {}
        if env.get("WHATSAPP_TEMPLATE_REENGAGE"):
            templates["reengage"] = env["WHATSAPP_TEMPLATE_REENGAGE"]
        if env.get("WHATSAPP_TEMPLATE_REENGAGE_LANGUAGE"):
            templates["reengage_language"] = env["WHATSAPP_TEMPLATE_REENGAGE_LANGUAGE"]
        return cls(token=token, phone_number_id=number, app_secret=env.get("WHATSAPP_APP_SECRET"),
                   verify_token=env.get("WHATSAPP_VERIFY_TOKEN"),
                   base_url=env.get("WHATSAPP_API_BASE_URL"), templates=templates)

    # -- inbound ---------------------------------------------------------------------------

    def verify(self, params: Mapping[str, str]) -> str:
        """Meta's subscription handshake (GET): the hub.challenge to echo; raise WebhookRejected."""
        # .get, not [...]: multidicts (Sanic's request.args) give the first value with .get
        mode, token, challenge = (params.get(k) for k in ("hub.mode", "hub.verify_token",
                                                          "hub.challenge"))
        if mode is None or token is None or challenge is None:
            missing = [k for k in ("hub.mode", "hub.verify_token", "hub.challenge")
                       if params.get(k) is None]
            raise WebhookRejected(400, f"missing {', '.join(missing)}")
        if mode != "subscribe":
            raise WebhookRejected(403, "hub.mode is not 'subscribe'")
        if not self.verify_token:
            raise WebhookRejected(403, "no verify token is configured (WHATSAPP_VERIFY_TOKEN)")
        if not hmac.compare_digest(token.encode(), self.verify_token.encode()):
            raise WebhookRejected(403, "hub.verify_token does not match")
        return challenge

    def parse(self, headers: Mapping[str, str], body: bytes) -> ParsedWebhook:
        """Check the signature (when an app secret is set) and translate a webhook POST.

        Reactions, unsupported and unknown message types are dropped. Statuses keep only
        `id`, `status` and `timestamp` (and the error code of a failed one): not the recipient.
        """
        if self.app_secret:
            self._check_signature(headers, body)
        try:
            data = json.loads(body)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise WebhookRejected(400, f"body is not valid JSON ({type(exc).__name__})") from None
        if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
            raise WebhookRejected(
                400, 'not a WhatsApp webhook: "object" is not "whatsapp_business_account"')
        entries = data.get("entry")
        if not isinstance(entries, list):
            raise WebhookRejected(400, '"entry" is missing or not a list')
        messages: list[Inbound] = []
        statuses: list[dict[str, str]] = []
        for value in _change_values(entries):
            names = _contact_names(value.get("contacts"))
            for raw in _dicts(value.get("messages")):
                inbound = _inbound(raw, names)
                if inbound is not None:
                    messages.append(inbound)
            statuses.extend(_status(raw) for raw in _dicts(value.get("statuses")))
        return ParsedWebhook(messages=tuple(messages), statuses=tuple(statuses))

    def _check_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        assert self.app_secret is not None
        header = _header(headers, "X-Hub-Signature-256")
        if not header:
            raise WebhookRejected(403, "missing X-Hub-Signature-256")
        scheme, _, given = header.strip().partition("=")
        expected = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        if scheme.strip().lower() != "sha256" or not hmac.compare_digest(
                given.strip().lower().encode(), expected.encode()):
            raise WebhookRejected(403, "X-Hub-Signature-256 does not match the body")

    # -- outbound --------------------------------------------------------------------------

    async def send(self, address: str, message: Outbound, *, window_open: bool = True, resume_from: int = 0,
                   language: str | None = None, list_label: str | None = None) -> str | None:
        """Deliver one message; raise SendFailed (a WhatsAppSendFailed). The last request's message id (wamid).

        Inside the 24-hour customer-service window the message goes out as text, reply
        buttons (1-3), a list (4-10 buttons; beyond 10 only the first 10 are offered) and a
        location pin, split to fit WhatsApp's limits. `resume_from` skips the requests an earlier
        attempt got accepted (its WhatsAppSendFailed.delivered).

        Outside the window (`window_open=False`) WhatsApp delivers only approved templates:
        the message itself is NOT sent. The re-engagement template named in
        `templates["reengage"]` (env WHATSAPP_TEMPLATE_REENGAGE) goes instead (`reengage`), in
        `language` if the template exists in it, else in `templates["reengage_language"]`
        (default "en"). Without a configured template this raises a non-retryable SendFailed.
        The gateway never asks for that: it holds the message and calls `reengage` itself.
        """
        if not window_open:
            return await self.reengage(address, language)
        answer: dict[str, Any] = {}
        payloads = self.payloads(address, message, list_label=list_label)
        for delivered in range(min(resume_from, len(payloads)), len(payloads)):
            payload = payloads[delivered]
            try:
                answer = await self._post(payload, address)
            except WhatsAppSendFailed as exc:
                exc.delivered = delivered
                raise
        return _message_id(answer)

    async def reengage(self, address: str, language: str | None) -> str | None:
        """The re-engagement template (WindowedChannel): `templates["reengage"]` in `language` when WhatsApp has
        it in that language, else in the default one. The request's message id (wamid)."""
        return _message_id(await self._send_template(address, language))

    async def mark_read(self, message_key: str) -> None:
        """Send the read receipt (blue ticks) for an inbound message id (wamid)."""
        await self._post(
            {"messaging_product": "whatsapp", "status": "read", "message_id": message_key})

    async def close(self) -> None:
        """Release connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def payloads(self, address: str, message: Outbound, *,
                 list_label: str | None = None) -> list[dict[str, Any]]:
        """The Graph API request bodies for one Outbound inside the window, in sending order.

        Plain text parts first, then the location pin, then the interactive message whose body
        is the last part of the text (buttons always come last, where the thumb is).
        """
        text = _mark_rtl(message.text) if message.rtl else message.text
        buttons = _unique_buttons(message.buttons)
        if len(buttons) > MAX_LIST_ROWS:
            log.info("WhatsApp lists hold %d rows: %d buttons dropped",
                     MAX_LIST_ROWS, len(buttons) - MAX_LIST_ROWS)
            buttons = buttons[:MAX_LIST_ROWS]
        if buttons:
            parts, body = _split_for_body(text, BODY_LIMIT, TEXT_LIMIT)
        else:
            parts, body = split_text(text, TEXT_LIMIT), ""
        out = [_envelope(address, "text", {"body": part, "preview_url": False}) for part in parts]
        if message.location is not None:
            latitude, longitude, name = message.location
            location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
            if name:
                location["name"] = name
            out.append(_envelope(address, "location", location))
        if buttons:
            out.append(_envelope(address, "interactive",
                                 _interactive(body or EMPTY_BODY, buttons, list_label)))
        return out

    def template_payload(self, address: str, language: str | None) -> dict[str, Any]:
        """The re-engagement template request; SendFailed when no template is configured."""
        name = self.templates.get("reengage")
        if not name:
            raise WhatsAppSendFailed(
                "the 24-hour window is closed and no re-engagement template is configured "
                "(WHATSAPP_TEMPLATE_REENGAGE)", retryable=False)
        return _envelope(address, "template",
                         {"name": name, "language": {"code": self._template_language(language)}})

    def _template_language(self, language: str | None) -> str:
        default = self.templates.get("reengage_language") or DEFAULT_TEMPLATE_LANGUAGE
        if not language:
            return default
        if "_" in language:  # already a WhatsApp locale such as en_US
            return language
        return TEMPLATE_LANGUAGES.get(language.lower(), default)

    async def _send_template(self, address: str, language: str | None) -> dict[str, Any]:
        payload = self.template_payload(address, language)
        try:
            return await self._post(payload, address)
        except WhatsAppSendFailed as exc:
            tried, default = payload["template"]["language"]["code"], self._template_language(None)
            if exc.code != _TEMPLATE_LANGUAGE_MISSING or tried == default:
                raise
            log.warning("re-engagement template missing in %s; sending it in %s", tried, default)
            return await self._post(self.template_payload(address, None), address)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=httpx.Timeout(15.0, connect=5.0))
        return self._client

    async def _post(self, payload: dict[str, Any], address: str | None = None) -> dict[str, Any]:
        url = f"{self.base_url}/{self.phone_number_id}/messages"
        try:
            response = await self._http().post(url, json=payload)
        except httpx.TransportError as exc:
            log.warning("WhatsApp API unreachable: %s", type(exc).__name__)
            raise WhatsAppSendFailed(f"WhatsApp API unreachable ({type(exc).__name__})",
                                     retryable=True) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.is_success:
            return data if isinstance(data, dict) else {}
        raise _failure(response, data, address)


# -- inbound helpers -------------------------------------------------------------------------

def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _change_values(entries: list[Any]) -> list[dict[str, Any]]:
    """Every `entry[].changes[].value` of a "messages" change."""
    values = []
    for entry in _dicts(entries):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if change.get("field", "messages") == "messages" and isinstance(value, dict):
                values.append(value)
    return values


def _contact_names(contacts: object) -> dict[str, str]:
    names = {}
    for contact in _dicts(contacts):
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if isinstance(name, str) and name:
            names[str(contact.get("wa_id", ""))] = name
    return names


def _inbound(raw: dict[str, Any], names: dict[str, str]) -> Inbound | None:
    sender, key, kind_name = raw.get("from"), raw.get("id"), raw.get("type")
    if not isinstance(sender, str) or not sender or not isinstance(key, str) or not key:
        return None
    content = raw.get(kind_name) if isinstance(kind_name, str) else None
    content = content if isinstance(content, dict) else {}
    kind: InboundKind
    text, latitude, longitude = "", None, None
    if kind_name == "text":
        kind, text = "text", _str(content.get("body"))
    elif kind_name == "interactive":
        reply_type = content.get("type")
        reply = content.get(reply_type) if reply_type in ("button_reply", "list_reply") else None
        if not isinstance(reply, dict):
            return None
        kind, text = "button", _str(reply.get("id")) or _str(reply.get("title"))
    elif kind_name == "button":  # a template's quick-reply button
        kind, text = "button", _str(content.get("payload")) or _str(content.get("text"))
    elif kind_name == "location":
        try:
            latitude, longitude = float(content["latitude"]), float(content["longitude"])
        except (KeyError, TypeError, ValueError):
            return None
        kind = "location"
    elif kind_name in _MEDIA_KINDS:
        kind, text = _MEDIA_KINDS[kind_name], _str(content.get("caption"))
    else:  # reaction, unsupported, system, order, contacts, unknown
        return None
    try:
        sent_at: float | None = int(raw["timestamp"])
    except (KeyError, TypeError, ValueError):
        sent_at = None
    display_name = names.get(sender)
    if display_name is None and len(names) == 1:  # Meta may normalise wa_id and from differently
        display_name = next(iter(names.values()))
    return Inbound(channel="whatsapp", address=sender, message_key=key, kind=kind, text=text,
                   latitude=latitude, longitude=longitude, language_hint=language_hint(sender),
                   sent_at=sent_at, display_name=display_name)


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _message_id(answer: dict[str, Any]) -> str | None:
    """The wamid of a Graph API /messages answer."""
    messages = _dicts(answer.get("messages"))
    return _str(messages[0].get("id")) or None if messages else None


def _status(raw: dict[str, Any]) -> dict[str, str]:
    status: dict[str, str] = {k: str(raw[k]) for k in ("id", "status", "timestamp") if k in raw}
    errors = _dicts(raw.get("errors"))
    if errors and "code" in errors[0]:
        status["error_code"] = str(errors[0]["code"])
    return status


def language_hint(wa_id: str) -> str | None:
    """A language guess from the phone number's country calling code (a hint only)."""
    digits = re.sub(r"\D", "", wa_id)
    if wa_id.strip().startswith("00"):
        digits = digits[2:]
    for size in (3, 2, 1):
        if digits[:size] in _CALLING_CODE_LANGUAGE:
            return _CALLING_CODE_LANGUAGE[digits[:size]]
    return None


# -- outbound helpers ------------------------------------------------------------------------

def _envelope(address: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": address,
            "type": kind, kind: content}


def _unique_buttons(buttons: tuple[Button, ...]) -> list[Button]:
    """Buttons with a non-empty, unique id (WhatsApp rejects duplicates)."""
    seen: set[str] = set()
    out = []
    for button in buttons:
        key = button.payload or button.title
        if key and key not in seen:
            seen.add(key)
            out.append(button)
    return out


def _button_id(button: Button, limit: int) -> str:
    key = button.payload or button.title
    if len(key) > limit:
        log.warning("button payload cut to %d characters (it will not parse as sent)", limit)
        key = key[:limit]
    return key


def _interactive(body: str, buttons: list[Button], list_label: str | None) -> dict[str, Any]:
    if len(buttons) <= MAX_REPLY_BUTTONS:
        return {"type": "button", "body": {"text": body}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": _button_id(b, BUTTON_ID_LIMIT),
                                        "title": shorten(b.title, BUTTON_TITLE_LIMIT)}}
            for b in buttons]}}
    rows = []
    for button in buttons:
        row = {"id": _button_id(button, ROW_ID_LIMIT),
               "title": shorten(button.title, ROW_TITLE_LIMIT)}
        if row["title"] != " ".join(button.title.split()):  # shortened: the whole title goes below
            row["description"] = shorten(button.title, ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    label = shorten(list_label, LIST_LABEL_LIMIT) if list_label else DEFAULT_LIST_LABEL
    return {"type": "list", "body": {"text": body},
            "action": {"button": label, "sections": [{"rows": rows}]}}


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters: cut at a word boundary when one is near, add "…"."""
    text = " ".join(text.split()) or "…"
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    cut = cut.rstrip(" ,.;:-–—/(\u200d")
    while cut and len(cut) + 1 + _open_isolates(cut) > limit:
        cut = cut[:-1]
    return cut + _PDI * _open_isolates(cut) + "…"


def _open_isolates(text: str) -> int:
    depth = 0
    for char in text:
        if char in _ISOLATE_OPEN:
            depth += 1
        elif char == _PDI and depth:
            depth -= 1
    return depth


def _mark_rtl(text: str) -> str:
    """Start every line that does not begin with right-to-left script with a RIGHT-TO-LEFT MARK,
    so WhatsApp lays it out right to left like the rest."""
    lines = text.split("\n")
    return "\n".join(_RLM + line if line.strip() and _first_strong(line) != "R" else line
                     for line in lines)


def _first_strong(line: str) -> str | None:
    for char in line:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "L"
        if kind in ("R", "AL"):
            return "R"
    return None


def _isolate_depths(text: str) -> list[int]:
    depths, depth = [], 0
    for char in text:
        if char == _PDI and depth:
            depth -= 1
        depths.append(depth)
        if char in _ISOLATE_OPEN:
            depth += 1
    return depths


def _attaches_to_previous(char: str) -> bool:
    return bool(unicodedata.combining(char)) or char in "\u200d\ufe0e\ufe0f" or (
        unicodedata.category(char) == "Mn")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at paragraph, line or word boundaries.

    A paragraph or line break is used when it keeps at least half the limit in the part;
    otherwise the last space (outside bidi isolates when possible). Only a single "word"
    longer than the limit (a giant URL) is ever cut inside.
    """
    text = text.strip()
    parts = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        head, text = text[:cut].rstrip(), text[cut:].lstrip()
        if head:
            parts.append(head)
    if text:
        parts.append(text)
    return parts


def _cut_point(text: str, limit: int) -> int:
    window = text[: limit + 1]
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, 0, limit)
        if at >= limit // 2:
            return at
    depths = _isolate_depths(window)
    fallback = 0
    for at in range(len(window) - 1, 0, -1):
        if window[at].isspace():
            if depths[at] == 0:
                return at
            fallback = fallback or at
    if fallback:
        return fallback
    cut = limit
    while cut > 1 and _attaches_to_previous(text[cut]):
        cut -= 1
    return cut


def _split_for_body(text: str, body_limit: int, limit: int) -> tuple[list[str], str]:
    """(plain text parts, interactive body): the body is the longest tail that fits body_limit,
    cut at a paragraph, line or word boundary; what comes before goes as plain text."""
    text = text.strip()
    if len(text) <= body_limit:
        return [], text
    low = len(text) - body_limit - 1
    for separator in ("\n\n", "\n"):
        at = text.find(separator, low)
        if at != -1 and len(text) - at >= body_limit // 2:
            return split_text(text[:at], limit), text[at:].strip()
    depths = _isolate_depths(text)
    spaces = [at for at in range(low, len(text)) if text[at].isspace()]
    outside = [at for at in spaces if depths[at] == 0]
    if outside or spaces:
        at = (outside or spaces)[0]
    else:
        at = len(text) - body_limit
        while at < len(text) and _attaches_to_previous(text[at]):
            at += 1
    return split_text(text[:at], limit), text[at:].strip()


def _failure(response: httpx.Response, data: object, address: str | None) -> WhatsAppSendFailed:
    """Meta's error, as SendFailed: 429, 5xx and throttling codes are retryable."""
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = _str(error.get("message")) or response.reason_phrase or "error"
    error_data = error.get("error_data")
    details = _str(error_data.get("details")) if isinstance(error_data, dict) else ""
    reason = f"WhatsApp API HTTP {response.status_code}: {message}"
    if details and details not in message:
        reason += f" ({details})"
    reason = scrub_numbers(reason, address)
    status = response.status_code
    retryable = (status == 429 or status >= 500 or code in _THROTTLED) and code not in _PERMANENT
    retry_after = retry_after_header(response.headers.get("Retry-After")) if retryable else None
    log.warning("WhatsApp API refused a request: HTTP %s, error code %s", status, code)
    return WhatsAppSendFailed(reason, retryable, retry_after, status=status, code=code)
