"""The console's JSON API (SPEC.md): login, queue, claim, transcript, replies, close; and its page.

Every answer is JSON (errors as {"error": "..."}); state-changing requests need the session's
CSRF token in X-CSRF-Token. A channel address (phone number, chat id) is in no answer except
the audited POST .../reveal-phone.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse
from sqlalchemy import update

from bot.channels.base import Outbound
from bot.console import accounts, reports
from bot.console.accounts import Session
from bot.gateway import tables as t
from bot.gateway.store import Conversation, now
from bot.handoff.machine import TransitionError
from bot.handoff.service import HandoffView
from bot.i18n.bidi import RTL_LANGUAGES
from bot.i18n.cards import card
from bot.i18n.localiser import Localiser
from bot.i18n.responses import Responses
from service_directory import (
    PLACE_SLUGS,
    Query,
    SearchHit,
    UnknownCode,
    get_service,
    is_open,
    pick,
    search,
)

log = logging.getLogger("putokaz.console")
STATIC = Path(__file__).parent / "static"
COOKIE = "putokaz_console"
CSRF_HEADER = "X-CSRF-Token"
LANGUAGES = ("en", "ar", "fa", "ps", "sr")
OUTCOMES = ("referred", "resolved", "no_response", "emergency", "other")
QUEUE_FIELDS = (
    "id",
    "conversation_id",
    "channel",
    "language",
    "city",
    "priority",
    "status",
    "waiting_since",
    "assignee",
    "reason",
    "interpreter_needed",
    "minor",
    "category",
)
QUICK_REPLY_PREFIX = "utter_qr_"
LOGIN_ATTEMPTS = 10  # per user name ...
LOGIN_WINDOW = 300  # ... in this many seconds
MAX_TEXT = 4096
KEEPALIVE = 15.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

Handler = Callable[..., Awaitable[HTTPResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    body = json.dumps(data, ensure_ascii=False, default=str, separators=(",", ":"))
    return HTTPResponse(body, status=status, headers=headers, content_type="application/json")


def _error(status: int, message: str) -> HTTPResponse:
    return _json({"error": message}, status)


def _to_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    return asyncio.to_thread(func, *args, **kwargs)


# --- request helpers ---------------------------------------------------------------------------
def _body(request: Request) -> dict[str, Any]:
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


def _text(data: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name} must be a non-empty string")
    if len(value) > limit:
        raise ApiError(400, f"{name} must have at most {limit} characters")
    return value


def _ctx(request: Request) -> Any:
    return request.app.ctx


def _session(request: Request) -> Session:
    return request.ctx.console_session  # type: ignore[no-any-return]


def api(*, csrf: bool = True, supervisor: bool = False) -> Callable[[Handler], Handler]:
    """Guard a handler: a live session (401), the CSRF token on POST (403), the role (403)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                session = await _load_session(request)
                if session is None:
                    return _error(401, "log in first")
                if csrf and request.method not in ("GET", "HEAD"):
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not sent or not hmac.compare_digest(
                        sent.encode(), session.csrf_token.encode()
                    ):
                        return _error(403, "missing or wrong X-CSRF-Token header")
                if supervisor and not session.user.supervises:
                    return _error(403, "only a supervisor or an admin can do this")
                request.ctx.console_session = session
                return await handler(request, *args, **kwargs)
            except ApiError as exc:
                return _error(exc.status, exc.message)
            except TransitionError as exc:
                return _error(exc.status, str(exc))

        return guarded

    return wrap


async def _load_session(request: Request) -> Session | None:
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    token = accounts.unsign(_ctx(request).settings.secret_key.value, cookie)
    if token is None:
        return None
    return await _to_thread(accounts.load_session, _ctx(request).engine, token)  # type: ignore[no-any-return]


def _set_cookie(request: Request, resp: HTTPResponse, value: str, max_age: int) -> None:
    resp.cookies[COOKIE] = value
    cookie = resp.cookies[COOKIE]
    cookie["path"] = "/console"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if request.scheme == "https":
        cookie["secure"] = True


def _queue_item(view: HandoffView) -> dict[str, Any]:
    data = view.as_json()
    return {name: data[name] for name in QUEUE_FIELDS}


async def _ticket(request: Request, handoff_id: int) -> HandoffView:
    return await _to_thread(_ctx(request).handoffs.get, handoff_id)  # type: ignore[no-any-return]


async def _conversation(request: Request, view: HandoffView) -> Conversation:
    conversation = await _to_thread(_ctx(request).gateway.store.conversation, view.conversation_id)
    if conversation is None:
        raise ApiError(404, "the conversation was erased")
    return conversation  # type: ignore[no-any-return]


def _rtl(conversation: Conversation) -> bool:
    return (conversation.language or "en") in RTL_LANGUAGES


async def _audit(
    request: Request,
    action: str,
    target: Any = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    name = actor if actor is not None else _session(request).user.username
    await _to_thread(accounts.audit, _ctx(request).engine, name, action, target, detail)


async def _publish(request: Request, event: dict[str, Any]) -> None:
    try:
        await _ctx(request).kv.publish("console", event)
    except Exception:  # a live update is a courtesy; the consoles poll too
        log.warning("console: could not publish %s", event.get("type"))


def _may_act(view: HandoffView, session: Session) -> bool:
    """The assignee, the interpreter who joined, or a supervisor."""
    name = session.user.username
    return session.user.supervises or name in (view.assignee, view.interpreter)


async def _transcript(request: Request, conversation_id: str) -> list[dict[str, Any]]:
    store = _ctx(request).gateway.store
    messages: list[dict[str, Any]] = []
    while True:
        page = await _to_thread(
            store.transcript, conversation_id, messages[-1]["id"] if messages else 0
        )
        messages.extend(page)
        if len(page) < 500:
            return messages


# --- the blueprint -----------------------------------------------------------------------------
def console_blueprint() -> Blueprint:
    bp = Blueprint("console", url_prefix="/console")

    @bp.middleware("response")
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)

    @bp.before_server_stop
    async def stop_streams(app: Any, _loop: Any) -> None:
        stopping = getattr(app.ctx, "console_stopping", None)
        if stopping is not None:
            stopping.set()

    # the page ---------------------------------------------------------------------------------
    @bp.get("/")
    async def page(request: Request) -> HTTPResponse:
        return await response.file(
            STATIC / "console.html", mime_type=STATIC_TYPES[".html"], headers=dict(SECURITY_HEADERS)
        )

    @bp.get("/static/<name:str>")
    async def static(request: Request, name: str) -> HTTPResponse:
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in STATIC_TYPES:
            return _error(404, "not found")
        headers = dict(SECURITY_HEADERS)
        headers["Cache-Control"] = "no-cache"
        return await response.file(path, mime_type=STATIC_TYPES[path.suffix], headers=headers)

    # sessions ---------------------------------------------------------------------------------
    @bp.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        try:
            data = _body(request)
        except ApiError as exc:
            return _error(exc.status, exc.message)
        username, password = data.get("username"), data.get("password")
        if (
            not isinstance(username, str)
            or not isinstance(password, str)
            or not username
            or len(username) > 64
        ):
            return _error(400, "send username and password as strings")
        ctx = _ctx(request)
        attempts = await ctx.kv.hit(f"console-login:{username.strip().lower()}", LOGIN_WINDOW)
        if attempts > LOGIN_ATTEMPTS:
            await _audit(request, "login_limited", username, {"ip": request.ip}, actor=username)
            return _error(429, "too many login attempts for this user; wait a few minutes")
        password_hash = await _to_thread(accounts.password_hash_of, ctx.engine, username)
        ok = await _to_thread(accounts.check_password, password, password_hash)
        user = await _to_thread(accounts.get_user, ctx.engine, username) if ok else None
        if user is None or not user.active:
            await _audit(request, "login_failed", username, {"ip": request.ip}, actor=username)
            return _error(401, "wrong user name or password")
        token, session = await _to_thread(accounts.start_session, ctx.engine, user)
        await _audit(request, "login", username, {"ip": request.ip}, actor=username)
        resp = _json(
            {
                "user": user.as_json(),
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at.isoformat(),
            }
        )
        _set_cookie(
            request,
            resp,
            accounts.sign(ctx.settings.secret_key.value, token),
            accounts.SESSION_HOURS * 3600,
        )
        return resp

    @bp.post("/api/logout")
    @api()
    async def logout(request: Request) -> HTTPResponse:
        session = _session(request)
        await _to_thread(accounts.end_session, _ctx(request).engine, session.id)
        await _audit(request, "logout", session.user.username)
        resp = _json({"ok": True})
        _set_cookie(request, resp, "", 0)
        return resp

    @bp.get("/api/me")
    @api()
    async def me(request: Request) -> HTTPResponse:
        session = _session(request)
        return _json(
            {
                "user": session.user.as_json(),
                "csrf_token": session.csrf_token,
                "expires_at": session.expires_at.isoformat(),
            }
        )

    # the queue --------------------------------------------------------------------------------
    @bp.get("/api/queue")
    @api()
    async def queue(request: Request) -> HTTPResponse:
        views = await _to_thread(_ctx(request).handoffs.queue)
        return _json([_queue_item(v) for v in views])

    @bp.get("/api/events")
    @api()
    async def events(request: Request) -> HTTPResponse:
        return await _stream_events(request)

    # one handoff ------------------------------------------------------------------------------
    @bp.get("/api/handoffs/<handoff_id:int>")
    @api()
    async def handoff(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = _ctx(request)
        view = await _ticket(request, handoff_id)
        conversation = await _conversation(request, view)
        transcript = await _transcript(request, conversation.id)
        events_ = await _to_thread(ctx.handoffs.events, handoff_id)
        notes = await _to_thread(reports.notes, ctx.engine, handoff_id)
        referred = await _to_thread(reports.referrals, ctx.engine, handoff_id)
        times = await _to_thread(reports.handoff_times, ctx.engine, handoff_id)
        last_in = conversation.last_inbound_at
        return _json(
            {
                "handoff": {**view.as_json(), **times},
                "conversation": {
                    "id": conversation.id,
                    "channel": conversation.channel,
                    "language": conversation.language,
                    "script": conversation.script,
                    "city": conversation.city,
                    "mode": conversation.mode,
                    "created_at": conversation.created_at.isoformat(),
                    "last_inbound_at": last_in.isoformat() if last_in else None,
                    "window_open": last_in is not None
                    and (now() - last_in).total_seconds() < 86400,
                    "rtl": _rtl(conversation),
                },
                "understood": {
                    "category": view.category,
                    "city": view.city or conversation.city,
                    "language": view.language or conversation.language,
                    "reason": view.reason,
                    "minor": view.minor,
                    "priority": view.priority,
                },
                "transcript": transcript,
                "events": events_,
                "notes": notes,
                "referrals": referred,
                "can_act": _may_act(view, _session(request)),
            }
        )

    @bp.post("/api/handoffs/<handoff_id:int>/claim")
    @api()
    async def claim(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = _ctx(request), _session(request)
        view = await _to_thread(ctx.handoffs.claim, handoff_id, session.user.actor)
        await _audit(request, "claim", handoff_id)
        conversation = await _to_thread(ctx.gateway.store.conversation, view.conversation_id)
        if conversation is not None:
            await ctx.gateway.say(conversation, "utter_gw_counsellor_joined")
        return _json({"handoff": _queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/messages")
    @api()
    async def reply(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = _ctx(request), _session(request)
        text = _text(_body(request), "text")
        view = await _to_thread(ctx.handoffs.check_reply, handoff_id, session.user.actor)
        conversation = await _conversation(request, view)
        delivered = await ctx.gateway.deliver(
            conversation,
            Outbound(text, rtl=_rtl(conversation)),
            "counsellor",
            author_name=session.user.username,
        )
        await _audit(request, "reply", handoff_id, {"delivered": delivered})
        await _publish(
            request,
            {
                "type": "message",
                "handoff_id": handoff_id,
                "conversation_id": conversation.id,
                "author": "counsellor",
            },
        )
        if not delivered:
            return _json(
                {
                    "error": f"the {conversation.channel} channel did not take the message; "
                    "it is in the transcript",
                    "delivered": False,
                },
                502,
            )
        return _json({"ok": True, "delivered": True})

    @bp.post("/api/handoffs/<handoff_id:int>/close")
    @api()
    async def close(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = _ctx(request), _session(request)
        outcome = _text(_body(request), "outcome", 32)
        if outcome not in OUTCOMES:
            raise ApiError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
        view = await _to_thread(ctx.handoffs.close, handoff_id, session.user.actor, outcome)
        await _audit(request, "close", handoff_id, {"outcome": outcome})
        conversation = await _to_thread(ctx.gateway.store.conversation, view.conversation_id)
        if conversation is not None:
            await ctx.gateway.say(conversation, "utter_gw_handoff_closed")
        return _json({"handoff": _queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/release")
    @api()
    async def release(request: Request, handoff_id: int) -> HTTPResponse:
        view = await _to_thread(
            _ctx(request).handoffs.release, handoff_id, _session(request).user.actor
        )
        await _audit(request, "release", handoff_id)
        return _json({"handoff": _queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/reassign")
    @api(supervisor=True)
    async def reassign(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = _ctx(request)
        to = _text(_body(request), "to", 64)
        target = await _to_thread(accounts.get_user, ctx.engine, to)
        if target is None or not target.active:
            raise ApiError(404, f"no active console user named {to!r}")
        before = await _ticket(request, handoff_id)
        view = await _to_thread(ctx.handoffs.reassign, handoff_id, _session(request).user.actor, to)
        await _audit(request, "reassign", handoff_id, {"from": before.assignee, "to": to})
        return _json({"handoff": _queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/join")
    @api()
    async def join(request: Request, handoff_id: int) -> HTTPResponse:
        view = await _to_thread(
            _ctx(request).handoffs.join_as_interpreter, handoff_id, _session(request).user.actor
        )
        await _audit(request, "join", handoff_id)
        return _json({"handoff": {**_queue_item(view), "interpreter": view.interpreter}})

    @bp.post("/api/handoffs/<handoff_id:int>/notes")
    @api()
    async def note(request: Request, handoff_id: int) -> HTTPResponse:
        text = _text(_body(request), "text", reports.MAX_NOTE)
        await _ticket(request, handoff_id)  # 404 for an unknown handoff
        saved = await _to_thread(
            reports.add_note,
            _ctx(request).engine,
            handoff_id,
            _session(request).user.username,
            text,
        )
        await _audit(request, "note", handoff_id, {"note_id": saved["id"]})
        await _publish(request, {"type": "note", "handoff_id": handoff_id})
        return _json({"note": saved})

    @bp.post("/api/handoffs/<handoff_id:int>/service")
    @api()
    async def send_service(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = _ctx(request), _session(request)
        service_id = _text(_body(request), "service_id", 64)
        current = await _ticket(request, handoff_id)
        service = await _to_thread(get_service, ctx.engine, service_id)
        if service is None:
            raise ApiError(404, f"no service {service_id!r} in the directory")
        view = await _to_thread(ctx.handoffs.check_reply, handoff_id, session.user.actor)
        conversation = await _conversation(request, view)
        language = conversation.language or view.language or "en"
        say = Localiser(ctx.gateway.responses, language, conversation.script or "latn")
        hit = SearchHit(
            service=service,
            distance_km=None,
            open_now=is_open(service.schedule) if service.schedule else None,
            matched_place=True,
            temporarily_closed=service.status == "temporarily_closed",
        )
        text = card(say, hit, 1)
        delivered = await ctx.gateway.deliver(
            conversation,
            Outbound(text, rtl=_rtl(conversation)),
            "counsellor",
            author_name=session.user.username,
            data={"service_id": service.id},
        )
        category = (
            current.category
            if current.category in service.categories
            else (service.categories[0] if service.categories else None)
        )
        city = service.city if service.city in PLACE_SLUGS else (current.city or conversation.city)
        referral = await _to_thread(
            reports.add_referral,
            ctx.engine,
            handoff_id,
            service.id,
            category,
            city,
            language,
            session.user.username,
        )
        await _audit(
            request, "referral", handoff_id, {"service_id": service.id, "delivered": delivered}
        )
        await _publish(
            request,
            {
                "type": "message",
                "handoff_id": handoff_id,
                "conversation_id": conversation.id,
                "author": "counsellor",
            },
        )
        return _json(
            {"referral": referral, "text": text, "delivered": delivered}, 200 if delivered else 502
        )

    @bp.post("/api/handoffs/<handoff_id:int>/reveal-phone")
    @api()
    async def reveal_phone(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = _ctx(request), _session(request)
        view = await _ticket(request, handoff_id)
        if not _may_act(view, session):
            raise ApiError(
                403, "only the assignee, the interpreter or a supervisor can see the address"
            )
        conversation = await _conversation(request, view)

        def mark() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(
                    update(t.handoffs)
                    .where(t.handoffs.c.id == handoff_id)
                    .values(phone_revealed=True)
                )
                accounts.audit_in(
                    conn,
                    session.user.username,
                    "reveal_phone",
                    str(handoff_id),
                    {"channel": conversation.channel},
                )

        await _to_thread(mark)  # recorded before it is shown
        return _json({"channel": conversation.channel, "address": conversation.address})

    # helpers for the page ----------------------------------------------------------------------
    @bp.get("/api/services")
    @api()
    async def services(request: Request) -> HTTPResponse:
        category = request.args.get("category") or None
        city = request.args.get("city") or None
        language = request.args.get("language") or "en"
        if language not in LANGUAGES:
            return _error(400, f"language must be one of {', '.join(LANGUAGES)}")
        try:
            hits = await _to_thread(
                search, _ctx(request).engine, Query(category=category, place=city, limit=25)
            )
        except UnknownCode as exc:
            return _error(400, str(exc))
        return _json(
            [
                {
                    "id": h.service.id,
                    "name": pick(h.service.name, language),
                    "name_en": pick(h.service.name, "en"),
                    "organisation": pick(h.service.organisation_name, language),
                    "categories": list(h.service.categories),
                    "city": h.service.city,
                    "open_now": h.open_now,
                    "temporarily_closed": h.temporarily_closed,
                    "in_place": h.matched_place,
                }
                for h in hits
            ]
        )

    @bp.get("/api/quick-replies")
    @api()
    async def quick_replies(request: Request) -> HTTPResponse:
        language = request.args.get("language") or "en"
        script = request.args.get("script") or None
        if language not in LANGUAGES:
            return _error(400, f"language must be one of {', '.join(LANGUAGES)}")
        responses: Responses = _ctx(request).gateway.responses
        return _json(
            [
                {
                    "name": name,
                    "label": responses.text(name, "en"),
                    "text": responses.text(name, language, script),
                }
                for name in responses.names()
                if name.startswith(QUICK_REPLY_PREFIX)
            ]
        )

    @bp.get("/api/staff")
    @api()
    async def staff(request: Request) -> HTTPResponse:
        people = await _to_thread(accounts.staff, _ctx(request).engine)
        return _json([p for p in people if p["active"]])

    # supervisors --------------------------------------------------------------------------------
    @bp.get("/api/overview")
    @api(supervisor=True)
    async def overview(request: Request) -> HTTPResponse:
        ctx = _ctx(request)
        views = await _to_thread(ctx.handoffs.queue)
        online = await _to_thread(ctx.handoffs.counsellors_online)
        return _json(await _to_thread(reports.overview, ctx.engine, views, online))

    @bp.get("/api/report")
    @api(supervisor=True)
    async def report(request: Request) -> HTTPResponse:
        try:
            first, last = reports.period(request.args.get("from"), request.args.get("to"))
        except reports.ReportError as exc:
            return _error(400, str(exc))
        data = await _to_thread(reports.report, _ctx(request).engine, first, last)
        fmt = request.args.get("format", "json")
        if fmt == "csv":
            name = f"putokaz-report-{first.isoformat()}-{last.isoformat()}.csv"
            return response.text(
                reports.report_csv(data),
                content_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        if fmt != "json":
            return _error(400, "format must be json or csv")
        return _json(data)

    @bp.get("/api/audit")
    @api(supervisor=True)
    async def audit_log(request: Request) -> HTTPResponse:
        action = request.args.get("action") or None
        return _json(await _to_thread(accounts.audit_log, _ctx(request).engine, 200, action))

    @bp.route("/api/<rest:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> HTTPResponse:
        return _error(404, "no such console API")

    return bp


async def _stream_events(request: Request) -> HTTPResponse:
    """Server-sent events from the console channel; a comment line every 15 s keeps it open."""
    ctx = _ctx(request)
    if getattr(ctx, "console_stopping", None) is None:
        ctx.console_stopping = asyncio.Event()
    stopping: asyncio.Event = ctx.console_stopping
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)

    async def pump() -> None:
        async for event in ctx.kv.subscribe("console"):
            if inbox.full():
                inbox.get_nowait()  # a stalled page loses the oldest, not the newest
            inbox.put_nowait(event)

    task = asyncio.ensure_future(pump())
    for _ in range(3):  # let the subscription register before the page hears "listening"
        await asyncio.sleep(0)
    headers = dict(SECURITY_HEADERS)
    headers["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    resp = await request.respond(content_type="text/event-stream; charset=utf-8", headers=headers)
    try:
        await resp.send("retry: 3000\n: listening\n\n")
        session = _session(request)
        while not stopping.is_set():
            getter = asyncio.ensure_future(inbox.get())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                done, _ = await asyncio.wait(
                    {getter, stop}, timeout=KEEPALIVE, return_when=asyncio.FIRST_COMPLETED
                )
            finally:  # nothing is left waiting when the page goes away
                stop.cancel()
                getter.cancel()
            if getter in done and not getter.cancelled():
                event = getter.result()
                await resp.send(f"data: {json.dumps(event, ensure_ascii=False, default=str)}\n\n")
                continue
            if stop in done:
                break
            await resp.send(": keep-alive\n\n")
            still = await _to_thread(accounts.load_session, ctx.engine, _token_of(request) or "")
            if still is None or still.id != session.id:
                await resp.send('data: {"type":"session.ended"}\n\n')
                break
    finally:
        task.cancel()
    await resp.eof()
    return resp


def _token_of(request: Request) -> str | None:
    cookie = request.cookies.get(COOKIE)
    return accounts.unsign(_ctx(request).settings.secret_key.value, cookie) if cookie else None
