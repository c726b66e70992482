"""Supervisors and admins: the live overview, the programme report, staff (accounts and the audit
log are in admin.py)."""

from __future__ import annotations

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.console import accounts, reports
from bot.console.web import (
    audit,
    body_of,
    ctx_of,
    error,
    guarded,
    in_thread,
    queue_item,
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
        return reply_json(await in_thread(reports.overview, ctx.engine, views, online, ctx.handoffs.teams))

    @bp.get("/api/teams")
    @guarded()
    async def teams(request: Request) -> HTTPResponse:
        """The configured teams (PUTOKAZ_TEAMS_FILE): places, languages, hours, open now; and the user's."""
        ctx = ctx_of(request)
        mine = ctx.handoffs.teams.member_of(session_of(request).user.team).id
        return reply_json({"mine": mine, "teams": [team.as_json() for team in ctx.handoffs.teams.teams]})

    @bp.post("/api/handoffs/<handoff_id:int>/team")
    @guarded(supervisor=True)
    async def reassign_team(request: Request, handoff_id: int) -> HTTPResponse:
        """{"team": ID}: the handoff waits in that team's queue (whoever had it lets it go)."""
        ctx = ctx_of(request)
        team = text_field(body_of(request), "team", 32)
        view = await in_thread(ctx.handoffs.reassign_team, handoff_id, session_of(request).user.actor, team)
        await audit(request, "reassign_team", handoff_id, {"to": view.team})
        return reply_json({"handoff": queue_item(view)})

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

    @bp.get("/api/staff")
    @guarded()
    async def staff(request: Request) -> HTTPResponse:
        """Active accounts, e.g. for the reassign picker (no password hashes)."""
        people = await in_thread(accounts.staff, ctx_of(request).engine)
        return reply_json([p for p in people if p["active"]])
