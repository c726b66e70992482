"""The console's JSON API (SPEC.md) and its page, under /console.

Every answer is JSON (errors as {"error": "..."}); every POST but the login needs the session's
CSRF token in X-CSRF-Token. A channel address (phone number, chat id) is in no answer except
the audited POST .../reveal-phone. Routes for one handoff are in handoffs.py, supervisors'
in supervision.py, the event stream in events.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.console import accounts, admin, handoffs, sessions, supervision
from bot.console.events import stopping_event, stream_events
from bot.console.web import (
    SECURITY_HEADERS,
    ApiError,
    audit,
    body_of,
    ctx_of,
    error,
    guarded,
    in_thread,
    policy_of,
    queue_item,
    reply_json,
    session_of,
    set_cookie,
)
from bot.i18n.responses import Responses
from service_directory import Query, UnknownCode, pick, search

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
LANGUAGES = ("en", "ar", "fa", "ps", "sr")
QUICK_REPLY_PREFIX = "utter_qr_"
LOGIN_ATTEMPTS = 10  # per user name ...
LOGIN_WINDOW = 300  # ... in this many seconds


def console_blueprint() -> Blueprint:
    bp = Blueprint("console", url_prefix="/console")

    @bp.middleware("response")
    async def security_headers(request: Request, resp: HTTPResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)

    @bp.listener("before_server_stop")
    async def end_streams(app: Any, _loop: Any) -> None:
        stopping_event(app).set()

    # the page ---------------------------------------------------------------------------------
    @bp.get("/")
    async def page(request: Request) -> HTTPResponse:
        return await response.file(STATIC / "console.html", mime_type=STATIC_TYPES[".html"],
                                   headers=dict(SECURITY_HEADERS))

    @bp.get("/static/<name:str>")
    async def static(request: Request, name: str) -> HTTPResponse:
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file() or path.suffix not in STATIC_TYPES:
            return error(404, "not found")
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return await response.file(path, mime_type=STATIC_TYPES[path.suffix], headers=headers)

    # sessions ---------------------------------------------------------------------------------
    @bp.post("/api/login")
    async def login(request: Request) -> HTTPResponse:
        try:
            data = body_of(request)
        except ApiError as exc:
            return error(exc.status, exc.message)
        username, password = data.get("username"), data.get("password")
        if not (isinstance(username, str) and isinstance(password, str)) or not username \
                or len(username) > 64:
            return error(400, "send username and password as strings")
        ctx = ctx_of(request)
        if not ctx.settings.secret_key:
            return error(503, "the gateway has no secret key (PUTOKAZ_SECRET_KEY); logins are off")
        seen = {"ip": request.ip}
        attempts = await ctx.kv.hit(f"console-login:{username.strip().lower()}", LOGIN_WINDOW)
        if attempts > LOGIN_ATTEMPTS:
            await audit(request, "login_limited", username, seen, actor=username)
            return error(429, "too many login attempts for this user; wait a few minutes")
        password_hash = await in_thread(accounts.password_hash_of, ctx.engine, username)
        ok = await in_thread(accounts.check_password, password, password_hash)
        user = await in_thread(accounts.get_user, ctx.engine, username) if ok else None
        if user is None or not user.active:
            await audit(request, "login_failed", username, seen, actor=username)
            return error(401, "wrong user name or password")
        policy = policy_of(request)
        token, session = await in_thread(sessions.start_session, ctx.engine, user, policy)
        await audit(request, "login", username, seen, actor=username)
        resp = reply_json(session_json(session, policy))
        set_cookie(request, resp, sessions.sign(ctx.settings.secret_key.value, token),
                   int(policy.lifetime.total_seconds()))
        return resp

    @bp.post("/api/logout")
    @guarded()
    async def logout(request: Request) -> HTTPResponse:
        session = session_of(request)
        await in_thread(sessions.end_session, ctx_of(request).engine, session.id)
        await audit(request, "logout", session.user.username)
        resp = reply_json({"ok": True})
        set_cookie(request, resp, "", 0)
        return resp

    @bp.get("/api/me")
    @guarded()
    async def me(request: Request) -> HTTPResponse:
        return reply_json(session_json(session_of(request), policy_of(request)))

    # the queue --------------------------------------------------------------------------------
    @bp.get("/api/queue")
    @guarded()
    async def queue(request: Request) -> HTTPResponse:
        """Open handoffs: the user's team first, then urgent first, then the longest waiting.
        ?team=all: every team alike; ?team=mine or ?team=ID: that team's only."""
        ctx, user = ctx_of(request), session_of(request).user
        mine = ctx.handoffs.teams.member_of(user.team).id
        wanted = request.args.get("team") or ""
        if wanted not in ("", "all", "mine") and ctx.handoffs.teams.get(wanted) is None:
            return error(400, f"team must be all, mine or one of {', '.join(ctx.handoffs.teams.ids)}")
        only = mine if wanted == "mine" else (wanted if wanted not in ("", "all") else None)
        views = await in_thread(ctx.handoffs.queue, None if wanted == "all" else mine, only)
        return reply_json([queue_item(v) for v in views])

    @bp.get("/api/events")
    @guarded(activity=False)
    async def events(request: Request) -> HTTPResponse:
        return await stream_events(request)

    # what the page needs beside ----------------------------------------------------------------
    @bp.get("/api/services")
    @guarded()
    async def services(request: Request) -> HTTPResponse:
        """?category=&city=&language=: a directory search for the card picker."""
        language = request.args.get("language") or "en"
        if language not in LANGUAGES:
            return error(400, f"language must be one of {', '.join(LANGUAGES)}")
        query = Query(category=request.args.get("category") or None,
                      place=request.args.get("city") or None, limit=25)
        try:
            hits = await in_thread(search, ctx_of(request).engine, query)
        except UnknownCode as exc:
            return error(400, str(exc))
        return reply_json([{
            "id": h.service.id, "name": pick(h.service.name, language),
            "name_en": pick(h.service.name, "en"),
            "organisation": pick(h.service.organisation_name, language),
            "categories": list(h.service.categories), "city": h.service.city,
            "open_now": h.open_now, "temporarily_closed": h.temporarily_closed,
            "in_place": h.matched_place,
        } for h in hits])

    @bp.get("/api/quick-replies")
    @guarded()
    async def quick_replies(request: Request) -> HTTPResponse:
        """?language=xx[&script=cyrl]: the utter_qr_* responses, with their English as a label."""
        language = request.args.get("language") or "en"
        script = request.args.get("script") or None
        if language not in LANGUAGES:
            return error(400, f"language must be one of {', '.join(LANGUAGES)}")
        responses: Responses = ctx_of(request).gateway.responses
        return reply_json([{"name": name, "label": responses.text(name, "en"),
                            "text": responses.text(name, language, script)}
                           for name in responses.names() if name.startswith(QUICK_REPLY_PREFIX)])

    handoffs.register(bp)
    supervision.register(bp)
    admin.register(bp)

    @bp.route("/api/<rest:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request, rest: str) -> HTTPResponse:
        return error(404, "no such console API")

    return bp


def session_json(session: sessions.Session, policy: sessions.SessionPolicy) -> dict[str, Any]:
    return {"user": session.user.as_json(), "csrf_token": session.csrf_token,
            "expires_at": session.expires_at.isoformat(),
            "idle_minutes": int(policy.idle.total_seconds() // 60)}
