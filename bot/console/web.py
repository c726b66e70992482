"""What every console route shares: JSON answers, the session guard (401/403), headers, helpers."""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from sanic import Request
from sanic.response import HTTPResponse

from bot.console import accounts, sessions
from bot.console.sessions import Session, SessionEnded, SessionPolicy
from bot.gateway.store import Conversation
from bot.handoff.machine import TransitionError
from bot.handoff.service import HandoffView
from bot.i18n.bidi import RTL_LANGUAGES

log = logging.getLogger("putokaz.console")
COOKIE = "putokaz_console"
CSRF_HEADER = "X-CSRF-Token"
BACKGROUND_HEADER = "X-Console-Background"  # "1": the page refreshing itself, not the person acting
MAX_TEXT = 4096
QUEUE_FIELDS = ("id", "conversation_id", "channel", "language", "city", "priority", "status",
                "waiting_since", "assignee", "reason", "interpreter_needed", "minor", "category", "team")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[..., Coroutine[Any, Any, HTTPResponse]]
T = TypeVar("T")


class ApiError(Exception):
    """Answer with {"error": message} and this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def reply_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")


def error(status: int, message: str) -> HTTPResponse:
    return reply_json({"error": message}, status)


async def in_thread(func: Callable[..., T], *args: Any) -> T:
    """Blocking work (SQL, bcrypt) off the event loop."""
    return await asyncio.to_thread(func, *args)


# --- reading requests ----------------------------------------------------------------------------
def body_of(request: Request) -> dict[str, Any]:
    """The JSON object of a POST; forms are refused (a cross-site form cannot send JSON)."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(400, "send a JSON body (Content-Type: application/json)")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "send a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ApiError(400, f"{name} must have at most {limit} characters")
    return value


def ctx_of(request: Request) -> Any:
    return request.app.ctx


def session_of(request: Request) -> Session:
    return request.ctx.console_session  # type: ignore[no-any-return]


# --- the guard -----------------------------------------------------------------------------------
def guarded(*, csrf: bool = True, supervisor: bool = False, admin: bool = False,
            activity: bool = True) -> Callable[[Handler], Handler]:
    """A live session (else 401 saying why), the CSRF token on every POST (else 403), the role (else 403).
    activity=False: the route is not the person acting (it does not keep the session from idling)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guard(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                try:
                    session = await resume_session(request, activity and not background(request))
                except SessionEnded as exc:
                    return error(401, str(exc))
                if csrf and request.method not in ("GET", "HEAD"):
                    sent = request.headers.get(CSRF_HEADER, "")
                    expected = session.csrf_token.encode()
                    if not sent or not hmac.compare_digest(sent.encode(), expected):
                        return error(403, "missing or wrong X-CSRF-Token header")
                if supervisor and not session.user.supervises:
                    return error(403, "only a supervisor or an admin can do this")
                if admin and session.user.role != "admin":
                    return error(403, f"only an admin can do this (you are a {session.user.role})")
                request.ctx.console_session = session
                return await handler(request, *args, **kwargs)
            except ApiError as exc:
                return error(exc.status, exc.message)
            except TransitionError as exc:
                return error(exc.status, str(exc))

        return guard

    return wrap


def token_of(request: Request) -> str | None:
    cookie = request.cookies.get(COOKIE)
    return sessions.unsign(ctx_of(request).settings.secret_key.value, cookie) if cookie else None


def policy_of(request: Request) -> SessionPolicy:
    """The session limits (PUTOKAZ_CONSOLE_IDLE_MINUTES, PUTOKAZ_CONSOLE_SESSION_HOURS); a test may
    set app.ctx.console_sessions to a policy with its own clock."""
    ctx = ctx_of(request)
    if getattr(ctx, "console_sessions", None) is None:
        ctx.console_sessions = SessionPolicy.from_settings(ctx.settings)
    return ctx.console_sessions  # type: ignore[no-any-return]


def background(request: Request) -> bool:
    return bool(request.headers.get(BACKGROUND_HEADER, "") == "1")


async def resume_session(request: Request, active: bool) -> Session:
    """The request's live session, or SessionEnded saying why (no cookie: "log in first")."""
    token = token_of(request)
    if token is None:
        raise SessionEnded(sessions.LOG_IN)
    return await in_thread(sessions.resume_session, ctx_of(request).engine, token, policy_of(request), active)


def set_cookie(request: Request, resp: HTTPResponse, value: str, max_age: int) -> None:
    resp.cookies[COOKIE] = value
    cookie = resp.cookies[COOKIE]
    cookie["path"] = "/console"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    # Behind a TLS proxy requests arrive as http; a forged header only makes the cookie stricter.
    if request.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https":
        cookie["secure"] = True


# --- handoffs and conversations ------------------------------------------------------------------
def queue_item(view: HandoffView) -> dict[str, Any]:
    data = view.as_json()
    return {name: data[name] for name in QUEUE_FIELDS}


async def ticket(request: Request, handoff_id: int) -> HandoffView:
    view: HandoffView = await in_thread(ctx_of(request).handoffs.get, handoff_id)
    return view


async def conversation_of(request: Request, view: HandoffView) -> Conversation:
    store = ctx_of(request).gateway.store
    conversation: Conversation | None = await in_thread(store.conversation, view.conversation_id)
    if conversation is None:
        raise ApiError(404, "the conversation was erased")
    return conversation


def rtl(conversation: Conversation) -> bool:
    return (conversation.language or "en") in RTL_LANGUAGES


def may_act(view: HandoffView, session: Session) -> bool:
    """The assignee, the interpreter who joined, or a supervisor."""
    return session.user.supervises or session.user.username in (view.assignee, view.interpreter)


async def audit(request: Request, action: str, target: Any = None,
                detail: dict[str, Any] | None = None, actor: str | None = None) -> None:
    name = actor if actor is not None else session_of(request).user.username
    await in_thread(accounts.audit, ctx_of(request).engine, name, action, target, detail)


async def publish(request: Request, event: dict[str, Any]) -> None:
    try:
        await ctx_of(request).kv.publish("console", event)
    except Exception:  # a live update is a courtesy; the pages fall back to polling
        log.warning("console: could not publish %s", event.get("type"))
