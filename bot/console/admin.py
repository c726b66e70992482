"""/console/api/admin/accounts/... (admins only) and /console/api/audit (supervisors and admins).

Every change is audited with who, what and whom, never a password; every view of the audit log
is audited too."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.console import accounts, auditlog
from bot.console.web import ApiError, audit, body_of, ctx_of, error, guarded, in_thread, reply_json, session_of

ACCOUNT = "/api/admin/accounts/<username:str>"


def _languages(data: dict[str, Any]) -> tuple[str, ...]:
    value = data.get("languages")
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ApiError(400, "languages must be a list of language codes, e.g. [\"ar\", \"en\"]")
    return tuple(dict.fromkeys(c.strip().lower() for c in value if c.strip()))


def _team(request: Request, data: dict[str, Any]) -> str | None:
    """A team id from PUTOKAZ_TEAMS_FILE, or None (empty or null: the fallback team)."""
    value = data.get("team")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError(400, "team must be a team id (a string) or null")
    teams = ctx_of(request).handoffs.teams
    if teams.get(value) is None:
        raise ApiError(400, f"no team {value!r}; teams: {', '.join(teams.ids)}")
    return value


def _new_password(data: dict[str, Any]) -> str:
    password, again = data.get("password"), data.get("password_again")
    if not isinstance(password, str) or not isinstance(again, str):
        raise ApiError(400, "send the new password twice, as password and password_again")
    if password != again:
        raise ApiError(400, "the two passwords differ")
    return password


def _failed(exc: accounts.AccountError) -> ApiError:
    return ApiError(exc.status, str(exc))


def register(bp: Blueprint) -> None:
    @bp.get("/api/admin/accounts")
    @guarded(admin=True)
    async def list_accounts(request: Request) -> HTTPResponse:
        return reply_json(await in_thread(accounts.accounts, ctx_of(request).engine))

    @bp.post("/api/admin/accounts")
    @guarded(admin=True)
    async def create(request: Request) -> HTTPResponse:
        """{"username", "password", "password_again", "role", "languages": [...], "team"}"""
        data = body_of(request)
        username, role = data.get("username"), data.get("role")
        if not isinstance(username, str) or not isinstance(role, str):
            raise ApiError(400, "username and role must be strings")
        password = _new_password(data)
        languages = _languages({"languages": data.get("languages", [])})
        team = _team(request, data)
        try:
            user = await in_thread(accounts.create_user, ctx_of(request).engine, username, password, role,
                                   languages, team, session_of(request).user.username)
        except accounts.AccountError as exc:
            raise _failed(exc) from None
        return reply_json({"user": user.as_json()}, 201)

    @bp.post(ACCOUNT)
    @guarded(admin=True)
    async def change(request: Request, username: str) -> HTTPResponse:
        """Any of {"role", "languages", "team"}; the others stay as they are."""
        data = body_of(request)
        wanted: dict[str, Any] = {}
        if "role" in data:
            if not isinstance(data["role"], str):
                raise ApiError(400, "role must be a string")
            wanted["role"] = data["role"]
        if "languages" in data:
            wanted["languages"] = _languages(data)
        if "team" in data:
            wanted["team"] = _team(request, data)
        extra = sorted(set(data) - {"role", "languages", "team"})
        if extra or not wanted:
            raise ApiError(400, f"send role, languages or team{f', not {extra[0]}' if extra else ''}")
        try:
            user, changes = await in_thread(accounts.change_account, ctx_of(request).engine,
                                            session_of(request).user.username, username, wanted)
        except accounts.AccountError as exc:
            raise _failed(exc) from None
        return reply_json({"user": user.as_json(), "changed": sorted(changes)})

    async def set_active(request: Request, username: str, active: bool) -> HTTPResponse:
        try:
            user, ended = await in_thread(accounts.set_active, ctx_of(request).engine,
                                          session_of(request).user.username, username, active)
        except accounts.AccountError as exc:
            raise _failed(exc) from None
        return reply_json({"user": {**user.as_json(), "active": user.active}, "sessions_ended": ended})

    @bp.post(f"{ACCOUNT}/deactivate")
    @guarded(admin=True)
    async def deactivate(request: Request, username: str) -> HTTPResponse:
        """The account can no longer log in, and its sessions end at once."""
        return await set_active(request, username, False)

    @bp.post(f"{ACCOUNT}/reactivate")
    @guarded(admin=True)
    async def reactivate(request: Request, username: str) -> HTTPResponse:
        return await set_active(request, username, True)

    @bp.post(f"{ACCOUNT}/password")
    @guarded(admin=True)
    async def reset_password(request: Request, username: str) -> HTTPResponse:
        """{"password", "password_again"}: a new password; the account's sessions end."""
        password = _new_password(body_of(request))
        try:
            ended = await in_thread(accounts.reset_password, ctx_of(request).engine,
                                    session_of(request).user.username, username, password)
        except accounts.AccountError as exc:
            raise _failed(exc) from None
        return reply_json({"ok": True, "sessions_ended": ended})

    # --- the audit log ---------------------------------------------------------------------------
    @bp.get("/api/audit")
    @guarded(supervisor=True)
    async def audit_log(request: Request) -> HTTPResponse:
        """?action=&user=&before=ID&limit=N[&format=csv]: newest first; this view is audited too."""
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "csv"):
            return error(400, "format must be json or csv")
        numbers: dict[str, int | None] = {}
        for name, default in (("limit", 200 if fmt == "json" else auditlog.MAX_ENTRIES), ("before", None)):
            raw = request.args.get(name)
            if raw is not None and not (raw.isdigit() and int(raw) >= 1):
                return error(400, f"{name} must be a positive whole number")
            numbers[name] = int(raw) if raw is not None else default
        action = (request.args.get("action") or "").strip() or None
        user = (request.args.get("user") or "").strip() or None
        limit = min(numbers["limit"] or auditlog.MAX_ENTRIES, auditlog.MAX_ENTRIES)
        rows = await in_thread(auditlog.entries, ctx_of(request).engine, action, user, limit, numbers["before"])
        await audit(request, "audit_viewed", None, {"action": action, "user": user, "format": fmt, "rows": len(rows)})
        if fmt == "json":
            return reply_json(rows)
        return response.text(auditlog.as_csv(rows), content_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="putokaz-audit.csv"'})

    @bp.get("/api/audit/actions")
    @guarded(supervisor=True)
    async def audit_actions(request: Request) -> HTTPResponse:
        """The actions in the log, for the page's filter."""
        return reply_json(await in_thread(auditlog.actions, ctx_of(request).engine))
