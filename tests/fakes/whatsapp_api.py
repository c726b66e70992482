"""A fake of Meta's WhatsApp Cloud API (Graph API /messages) on a real local HTTP server."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import LocalServer

FAKE_TOKEN = "EAAtest-token"
FAKE_PHONE_NUMBER_ID = "106540352242922"
FAKE_VERSION = "v20.0"

# Meta's documented errors, as the Graph API returns them.
_ERRORS: dict[int, tuple[int, str, str]] = {  # HTTP status -> (code, message, details)
    400: (131009, "(#131009) Parameter value is not valid", "Parameter value is not valid"),
    401: (190, "Invalid OAuth access token - Cannot parse access token", ""),
    429: (130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    500: (131000, "(#131000) Something went wrong", "Something went wrong"),
    503: (2, "(#2) Service temporarily unavailable", "Service temporarily unavailable"),
}


def meta_error(code: int, message: str, details: str = "") -> dict[str, Any]:
    """A Graph API error body."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": error}


@dataclass
class Call:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any
    status: int  # what the fake answered


@dataclass
class _Failure:
    status: int
    code: int | None
    message: str | None
    details: str | None
    retry_after: str | None


@dataclass
class FakeWhatsAppApi(LocalServer):
    """Serves `POST /<version>/<phone_number_id>/messages` like the Cloud API, from a thread.

    Checks `Authorization: Bearer <token>` (401 otherwise), the phone number id, and Meta's
    size limits for each message type (400, code 131009). Records every request in `calls`.
    """

    token: str = FAKE_TOKEN
    phone_number_id: str = FAKE_PHONE_NUMBER_ID
    version: str = FAKE_VERSION
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _failures: list[_Failure | None] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """What WHATSAPP_API_BASE_URL would be: the Graph API root with its version."""
        return f"http://127.0.0.1:{self.port}/{self.version}"

    @property
    def sent(self) -> list[Any]:
        """The JSON bodies of the requests the fake accepted, in order."""
        return [call.json for call in self.calls if call.status == 200]

    def fail_next(self, status: int, n: int = 1, *, code: int | None = None,
                  message: str | None = None, details: str | None = None,
                  retry_after: str | None = None, after: int = 0) -> None:
        """Answer the next `n` requests (after letting `after` through) with `status` and
        Meta's error body for it; `code`, `message` and `details` override Meta's defaults.

        `details` may contain "{to}", replaced by the request's recipient."""
        failure = _Failure(status, code, message, details, retry_after)
        with self._lock:
            self._failures.extend([None] * after + [failure] * n)

    # -- lifecycle ---------------------------------------------------------------------------

    server_name = "fake WhatsApp API"

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/{version}/{phone_number_id}/messages", self._handle)

    # -- the API -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        status, answer, headers = self._answer(request, body)
        with self._lock:
            headers_seen = {k.lower(): v for k, v in request.headers.items()}
            self.calls.append(Call(request.method, request.path, headers_seen, body, status))
        return web.json_response(answer, status=status, headers=headers)

    def _answer(self, request: web.Request,
                body: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, meta_error(*_ERRORS[401]), {"WWW-Authenticate": 'OAuth "Facebook Platform" '
                                                    '"invalid_token" "Invalid OAuth access token"'}
        number = request.match_info["phone_number_id"]
        if number != self.phone_number_id:
            return 400, meta_error(100, (
                f"Unsupported post request. Object with ID '{number}' "
                "does not exist, cannot be loaded due to missing permissions, or does not support "
                "this operation.")), {}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            code, message, details = _ERRORS.get(failure.status, _ERRORS[400])
            to = body.get("to", "") if isinstance(body, dict) else ""
            details = (failure.details or details).replace("{to}", str(to))
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return failure.status, meta_error(failure.code or code, failure.message or message,
                                              details), headers
        problem = _invalid(body)
        if problem:
            return 400, meta_error(131009, "(#131009) Parameter value is not valid", problem), {}
        if body.get("status") == "read":
            return 200, {"success": True}, {}
        to = str(body["to"])
        wamid = f"wamid.HBgLMzgxNjAwMDAwMDAVAgARGBI{next(self._ids):08d}AA=="
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
                     "messages": [{"id": wamid}]}, {}


def _invalid(body: Any) -> str | None:
    """Why Meta would refuse this /messages body, or None."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON"
    if body.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required."
    if body.get("status") == "read":
        return None if isinstance(body.get("message_id"), str) else "message_id is required"
    if not isinstance(body.get("to"), str) or not body["to"]:
        return "The parameter to is required."
    kind = body.get("type", "text")
    content = body.get(kind)
    if not isinstance(content, dict):
        return f"The parameter {kind} is required."
    if kind == "text":
        text = content.get("body")
        ok = isinstance(text, str) and 0 < len(text) <= 4096
        return None if ok else "text.body: 1-4096 characters"
    if kind == "location":
        ok = all(isinstance(content.get(k), (int, float)) for k in ("latitude", "longitude"))
        return None if ok else "location needs latitude and longitude"
    if kind == "template":
        ok = isinstance(content.get("name"), str) and isinstance(content.get("language"), dict) \
            and isinstance(content["language"].get("code"), str)
        return None if ok else "template needs a name and language.code"
    if kind == "interactive":
        return _invalid_interactive(content)
    return f"Unsupported message type {kind}"


def _repeats(values: list[Any]) -> bool:
    return len(set(values)) != len(values)


def _invalid_interactive(content: dict[str, Any]) -> str | None:
    body = content["body"].get("text") if isinstance(content.get("body"), dict) else None
    action: dict[str, Any] = content["action"] if isinstance(content.get("action"), dict) else {}
    if content.get("type") == "button":
        if not isinstance(body, str) or not 0 < len(body) <= 1024:
            return "interactive.body.text: 1-1024 characters"
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return "action.buttons: 1-3 buttons"
        ids = [b.get("reply", {}).get("id") for b in buttons]
        titles = [b.get("reply", {}).get("title") for b in buttons]
        if any(b.get("type") != "reply" for b in buttons):
            return "button type must be reply"
        if not all(isinstance(i, str) and 0 < len(i) <= 256 for i in ids) or _repeats(ids):
            return "button ids: unique, 1-256 characters"
        if not all(isinstance(t, str) and 0 < len(t) <= 20 for t in titles):
            return "button titles: 1-20 characters"
        return None
    if content.get("type") == "list":
        if not isinstance(body, str) or not 0 < len(body) <= 4096:
            return "interactive.body.text: 1-4096 characters"
        label = action.get("button")
        if not isinstance(label, str) or not 0 < len(label) <= 20:
            return "action.button: 1-20 characters"
        sections = action.get("sections")
        if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
            return "action.sections: 1-10 sections"
        if len(sections) > 1 and not all(s.get("title") for s in sections):
            return "section titles are required with more than one section"
        rows = [row for s in sections for row in s.get("rows", [])]
        if not 1 <= len(rows) <= 10:
            return "1-10 rows in all sections"
        ids = [r.get("id") for r in rows]
        if not all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids) or _repeats(ids):
            return "row ids: unique, 1-200 characters"
        if not all(isinstance(r.get("title"), str) and 0 < len(r["title"]) <= 24 for r in rows):
            return "row titles: 1-24 characters"
        if not all(len(r.get("description", "")) <= 72 for r in rows):
            return "row descriptions: at most 72 characters"
        return None
    return "Unsupported interactive type"
