"""Supervisors and admins: the live overview, the programme report, the audit log, accounts."""

from __future__ import annotations

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.console import accounts, reports
from bot.console.web import (
    ApiError,
    body_of,
    ctx_of,
    error,
    guarded,
    in_thread,
    reply_json,
    session_of,
    text_field,
)


def register(bp: Blueprint) -> None:
    @bp.get("/api/overview")
    @guarded(supervisor=True)
    async def overview(request: Request) -> HTTPResponse:
        """Queue length and waiting times per language and team; who is online."""
        ctx = ctx_of(request)
        views = await in_thread(ctx.handoffs.queue)
        online = await in_thread(ctx.handoffs.counsellors_online)
        return reply_json(await in_thread(reports.overview, ctx.engine, views, online))

    @bp.get("/api/report")
    @guarded(supervisor=True)
    async def report(request: Request) -> HTTPResponse:
        """?from=YYYY-MM-DD&to=YYYY-MM-DD[&format=csv]: the programme report (Belgrade days)."""
        try:
            first, last = reports.period(request.args.get("from"), request.args.get("to"))
        except reports.ReportError as exc:
            return error(400, str(exc))
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "csv"):
            return error(400, "format must be json or csv")
        data = await in_thread(reports.report, ctx_of(request).engine, first, last)
        if fmt == "json":
            return reply_json(data)
        name = f"putokaz-report-{first.isoformat()}-{last.isoformat()}.csv"
        return response.text(reports.report_csv(data), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @bp.get("/api/audit")
    @guarded(supervisor=True)
    async def audit_log(request: Request) -> HTTPResponse:
        action = request.args.get("action") or None
        return reply_json(await in_thread(accounts.audit_log, ctx_of(request).engine, 200, action))

    @bp.get("/api/staff")
    @guarded()
    async def staff(request: Request) -> HTTPResponse:
        """Active accounts, e.g. for the reassign picker (no password hashes)."""
        people = await in_thread(accounts.staff, ctx_of(request).engine)
        return reply_json([p for p in people if p["active"]])

    @bp.post("/api/users")
    @guarded(supervisor=True)
    async def add_user(request: Request) -> HTTPResponse:
        """An admin creates an account (as `putokaz console add-user` does)."""
        session = session_of(request)
        if session.user.role != "admin":
            raise ApiError(403, "only an admin can create accounts")
        data = body_of(request)
        username, role = text_field(data, "username", 64), text_field(data, "role", 16)
        password, team = data.get("password"), data.get("team")
        languages = data.get("languages") or []
        if not isinstance(password, str):
            raise ApiError(400, "password must be a string")
        if not isinstance(languages, list) or not all(isinstance(c, str) for c in languages):
            raise ApiError(400, "languages must be a list of language codes")
        if team is not None and not isinstance(team, str):
            raise ApiError(400, "team must be a string")
        try:
            user = await in_thread(accounts.create_user, ctx_of(request).engine, username, password,
                                   role, tuple(languages), team or None, session.user.username)
        except accounts.AccountError as exc:
            raise ApiError(409 if "already exists" in str(exc) else 400, str(exc)) from None
        return reply_json({"user": user.as_json()}, 201)
