"""A fake Telegram Bot API server (aiohttp, own thread) that real clients can talk to in tests."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import LocalServer

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijk"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Putokaz",
            "username": "putokaz_test_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}

# Parameters the Bot API takes as JSON-serialised values when sent as form fields.
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities",
               "link_preview_options", "reply_parameters", "media"}

ERRORS: dict[int, dict[str, Any]] = {
    400: {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    403: {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    409: {"ok": False, "error_code": 409,
          "description": "Conflict: can't use getUpdates method while webhook is active; "
                         "use deleteWebhook to delete the webhook first"},
    429: {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
          "parameters": {"retry_after": 1}},
    500: {"ok": False, "error_code": 500, "description": "Internal Server Error"},
    502: {"ok": False, "error_code": 502, "description": "Bad Gateway"},
}


@dataclass
class Call:
    """One request the fake received. `params` has JSON-valued form fields decoded; scalars stay
    the strings they were sent as (`raw`)."""

    method: str
    params: dict[str, Any]
    raw: dict[str, str]
    content_type: str
    status: int = 200
    at: float = field(default_factory=time.time)
    monotonic: float = field(default_factory=time.monotonic)  # when received, for latencies


class FakeTelegramAPI(LocalServer):
    """Serves `POST /bot<token>/<method>` with Telegram's `{"ok": ..., "result": ...}` envelope."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        #: called with each Call as it arrives, on the fake's thread (bench/gateway times replies)
        self.on_call: Callable[[Call], None] | None = None
        self.webhook: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                        "pending_update_count": 0}
        self._failures: list[tuple[int, str | None]] = []
        self._updates: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_updates: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # ------------------------------------------------------------------ test-facing API

    @property
    def base_url(self) -> str:
        """For TELEGRAM_API_BASE_URL / Bot(base_url=...): the token is appended by the client."""
        return f"http://127.0.0.1:{self.port}/bot"

    def fail_next(self, status: int, n: int = 1, method: str | None = None,
                  after: int = 0) -> None:
        """Answer the next `n` calls (of `method`, or of any method) with an error `status`,
        once `after` such calls have gone through normally."""
        with self._lock:
            self._failures.extend([(0, method)] * after + [(status, method)] * n)

    def queue_updates(self, updates: list[dict[str, Any]]) -> None:
        """Updates for getUpdates; they stay until a call with a higher offset confirms them."""
        with self._lock:
            self._updates.extend(updates)
            self.webhook["pending_update_count"] = len(self._updates)
        if self._loop is not None and self._new_updates is not None:
            self._loop.call_soon_threadsafe(self._new_updates.set)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._updates)

    # ------------------------------------------------------------------ lifecycle

    server_name = "fake Telegram API"

    def _on_loop(self) -> None:
        self._new_updates = asyncio.Event()

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw, params, content_type = await _read_params(request)
        call = Call(method=method, params=params, raw=raw, content_type=content_type)
        if self.on_call is not None:
            self.on_call(call)
        with self._lock:
            self.calls.append(call)
            failure = next((i for i, (_, m) in enumerate(self._failures)
                            if m is None or m.lower() == method.lower()), None)
            status = self._failures.pop(failure)[0] if failure is not None else None
        if request.match_info["token"] != self.token:
            return self._error(call, 401, {"ok": False, "error_code": 401,
                                           "description": "Unauthorized"})
        if status:  # 0: a call let through by fail_next(after=...)
            body = ERRORS.get(status, {"ok": False, "error_code": status, "description": "Error"})
            return self._error(call, status, body)
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return self._error(call, 404, {"ok": False, "error_code": 404,
                                           "description": "Not Found: method not found"})
        try:
            result = await handler(params)
        except _ApiError as exc:
            return self._error(call, exc.status, {"ok": False, "error_code": exc.status,
                                                  "description": exc.description})
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(call: Call, status: int, body: dict[str, Any]) -> web.Response:
        call.status = status
        return web.json_response(body, status=status)

    # ------------------------------------------------------------------ methods

    async def _m_getme(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = _require(params, "chat_id")
        chat: dict[str, Any] = ({"id": int(chat_id), "type": "private", "first_name": "Test"}
                                if str(chat_id).lstrip("-").isdigit()
                                else {"id": -1001, "type": "channel", "username": str(chat_id)})
        message = {"message_id": next(self._message_ids), "from": BOT_USER, "chat": chat,
                   "date": int(time.time()), **content}
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _m_sendmessage(self, params: dict[str, Any]) -> Any:
        text = str(_require(params, "text"))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        _check_keyboard(params.get("reply_markup"))
        return self._message(params, text=text)

    async def _m_sendlocation(self, params: dict[str, Any]) -> Any:
        location = {"latitude": float(_require(params, "latitude")),
                    "longitude": float(_require(params, "longitude"))}
        return self._message(params, location=location)

    async def _m_sendvenue(self, params: dict[str, Any]) -> Any:
        location = {"latitude": float(_require(params, "latitude")),
                    "longitude": float(_require(params, "longitude"))}
        venue = {"location": location, "title": str(_require(params, "title")),
                 "address": str(_require(params, "address"))}
        return self._message(params, location=location, venue=venue)

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> Any:
        _require(params, "callback_query_id")
        return True

    async def _m_setwebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        with self._lock:
            self.webhook["url"] = url
            if "allowed_updates" in params:
                self.webhook["allowed_updates"] = params["allowed_updates"]
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
                self.webhook["pending_update_count"] = 0
        return True

    async def _m_deletewebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook["url"] = ""
            if str(params.get("drop_pending_updates", "")).lower() == "true":
                self._updates.clear()
                self.webhook["pending_update_count"] = 0
        return True

    async def _m_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            return dict(self.webhook)

    async def _m_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook["url"]:
            raise _ApiError(409, ERRORS[409]["description"])
        offset = int(params.get("offset", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        timeout = float(params.get("timeout", 0) or 0)
        deadline = time.monotonic() + timeout
        assert self._new_updates is not None
        while True:
            with self._lock:
                if offset:  # confirms every update below the offset
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                    self.webhook["pending_update_count"] = len(self._updates)
                ready = self._updates[:limit]
                self._new_updates.clear()
            left = deadline - time.monotonic()
            if ready or left <= 0:
                return ready
            try:
                await asyncio.wait_for(self._new_updates.wait(), left)
            except asyncio.TimeoutError:
                return []


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _require(params: dict[str, Any], name: str) -> Any:
    if name not in params or params[name] in ("", None):
        raise _ApiError(400, f"Bad Request: {name} is empty")
    return params[name]


def _check_keyboard(markup: Any) -> None:
    if markup is None:
        return
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if rows is None:
        return
    for row in rows:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


async def _read_params(request: web.Request) -> tuple[dict[str, str], dict[str, Any], str]:
    content_type = request.content_type
    raw: dict[str, str] = {}
    params: dict[str, Any] = {}
    if content_type == "application/json":
        body = await request.read()
        params = json.loads(body) if body else {}
        raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        return raw, params, content_type
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
    raw.update({k: v for k, v in request.query.items() if k not in raw})
    for key, value in raw.items():
        params[key] = json.loads(value) if key in JSON_FIELDS else value
    return raw, params, content_type
