"""Accounts managed by admins, session limits and the audit log, through the real gateway's console API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.console import auditlog
from bot.console.sessions import SessionPolicy
from bot.gateway import tables as t
from tests.live_gateway import PASSWORD, LiveGateway
from tests.live_gateway import ConsoleClient as Staff

NEW_PASSWORD = "a brand new passphrase"
BACKGROUND = {"X-Console-Background": "1"}


def audit_rows(gateway: LiveGateway, action: str | None = None) -> list[Any]:
    query = select(t.audit).order_by(t.audit.c.id)
    if action:
        query = query.where(t.audit.c.action == action)
    with gateway.ctx.engine.connect() as conn:
        return conn.execute(query).all()


def new_account(username: str = "nina", **fields: Any) -> dict[str, Any]:
    return {"username": username, "password": PASSWORD, "password_again": PASSWORD, "role": "counsellor",
            "languages": ["fa", "ps"], "team": None, **fields}


class Clock:
    """The sessions' time source, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.moment = dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)


# --- who may manage accounts ---------------------------------------------------------------------
def test_counsellors_and_supervisors_get_403_with_a_reason(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    console_staff("root", "admin")
    for member, role in ((console_staff("amina"), "counsellor"), (console_staff("sara", "supervisor"), "supervisor")):
        calls = [member.get("/admin/accounts"), member.post("/admin/accounts", new_account()),
                 member.post("/admin/accounts/root", {"role": "counsellor"}),
                 member.post("/admin/accounts/root/deactivate"),
                 member.post("/admin/accounts/root/password",
                             {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})]
        for response in calls:
            assert response.status_code == 403, response.text
            assert response.json()["error"] == f"only an admin can do this (you are a {role})"
    with console_gateway.ctx.engine.connect() as conn:
        users = conn.execute(select(t.users.c.username, t.users.c.role, t.users.c.active)).all()
    assert sorted(users) == [("amina", "counsellor", True), ("root", "admin", True), ("sara", "supervisor", True)]
    assert audit_rows(console_gateway, "user_created")[-1].actor == "cli"  # only the fixtures made accounts


def test_every_admin_post_needs_the_csrf_token(console_staff: Callable[..., Staff]) -> None:
    root = console_staff("root", "admin")
    console_staff("amina")
    for path, body in (("/admin/accounts", new_account()), ("/admin/accounts/amina", {"role": "supervisor"}),
                       ("/admin/accounts/amina/deactivate", None), ("/admin/accounts/amina/reactivate", None),
                       ("/admin/accounts/amina/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})):
        response = root.http.post(f"/console/api{path}", json=body)
        assert response.status_code == 403 and "CSRF" in response.json()["error"], path
    assert [a["role"] for a in root.get("/admin/accounts").json() if a["username"] == "amina"] == ["counsellor"]


# --- creating ------------------------------------------------------------------------------------
def test_an_admin_creates_an_account_typed_twice_with_a_strong_password(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root = console_staff("root", "admin")
    refused = {
        "differ": new_account(password_again=PASSWORD + "!"),
        "at least 12 characters": new_account(password="short one", password_again="short one"),
        "5 different characters": new_account(password="abababababab", password_again="abababababab"),
        "must not contain the user name": new_account(password="nina-nina-2024", password_again="nina-nina-2024"),
        "the role must be one of": new_account(role="boss"),
        "unknown language 'de'": new_account(languages=["de"]),
        "no team 'nowhere'": new_account(team="nowhere"),
        "send the new password twice": {k: v for k, v in new_account().items() if k != "password_again"},
    }
    for reason, body in refused.items():
        response = root.post("/admin/accounts", body)
        assert response.status_code == 400 and reason in response.json()["error"], (reason, response.text)
    created = root.post("/admin/accounts", new_account())
    assert created.status_code == 201
    assert created.json()["user"] == {"username": "nina", "role": "counsellor", "languages": ["fa", "ps"], "team": None}
    assert root.post("/admin/accounts", new_account()).status_code == 409
    listed = {a["username"]: a for a in root.get("/admin/accounts").json()}
    assert set(listed) == {"root", "nina"}
    assert (listed["nina"]["active"], listed["nina"]["last_login_at"]) == (True, None)
    assert not any("password" in key for key in listed["nina"])
    assert Staff(console_gateway, "nina").login().status_code == 200
    assert root.get("/admin/accounts").json()[0]["last_login_at"] is not None  # nina, sorted first
    row = audit_rows(console_gateway, "user_created")[-1]
    assert (row.actor, row.target, row.detail) == ("root", "nina", {"role": "counsellor", "languages": ["fa", "ps"],
                                                                   "team": None})
    everything = json.dumps([tuple(r) for r in audit_rows(console_gateway)], default=str)
    assert PASSWORD not in everything and "short one" not in everything


def test_role_languages_and_team_changes_are_audited_with_what_changed(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root = console_staff("root", "admin")
    console_staff("amina", languages=("ar",))
    changed = root.post("/admin/accounts/amina", {"role": "supervisor", "languages": ["ar", "en"]})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"user": {"username": "amina", "role": "supervisor", "languages": ["ar", "en"],
                                       "team": None}, "changed": ["languages", "role"]}
    row = audit_rows(console_gateway, "user_changed")[-1]
    assert (row.actor, row.target) == ("root", "amina")
    assert row.detail == {"role": {"from": "counsellor", "to": "supervisor"},
                          "languages": {"from": ["ar"], "to": ["ar", "en"]}}
    same = root.post("/admin/accounts/amina", {"role": "supervisor"})
    assert same.status_code == 200 and same.json()["changed"] == []
    assert len(audit_rows(console_gateway, "user_changed")) == 1  # nothing changed, nothing recorded
    assert root.post("/admin/accounts/nobody", {"role": "admin"}).status_code == 404
    assert root.post("/admin/accounts/amina", {"password_hash": "x"}).status_code == 400
    assert root.post("/admin/accounts/amina", {"languages": "ar"}).status_code == 400
    assert root.post("/admin/accounts/amina", {"team": "nowhere"}).status_code == 400


# --- ending sessions -----------------------------------------------------------------------------
def test_a_deactivated_users_sessions_end_at_once_and_they_cannot_log_in(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root, amina = console_staff("root", "admin"), console_staff("amina")
    assert amina.get("/queue").status_code == 200
    done = root.post("/admin/accounts/amina/deactivate")
    assert done.status_code == 200 and done.json()["sessions_ended"] == 1
    assert done.json()["user"]["active"] is False
    after = amina.get("/queue")
    assert after.status_code == 401 and after.json() == {"error": "an admin deactivated this account"}
    assert Staff(console_gateway, "amina").login().status_code == 401
    assert "amina" not in [p["username"] for p in root.get("/staff").json()]
    assert root.post("/admin/accounts/amina/reactivate").status_code == 200
    assert Staff(console_gateway, "amina").login().status_code == 200
    assert audit_rows(console_gateway, "user_deactivated")[-1].detail == {"sessions_ended": 1}
    assert [(r.actor, r.target) for r in audit_rows(console_gateway, "user_reactivated")] == [("root", "amina")]


def test_a_password_reset_ends_every_session_of_that_user(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root, amina = console_staff("root", "admin"), console_staff("amina")
    laptop = Staff(console_gateway, "amina")
    assert laptop.login().status_code == 200
    differ = root.post("/admin/accounts/amina/password", {"password": NEW_PASSWORD, "password_again": "other"})
    assert differ.status_code == 400 and amina.get("/me").status_code == 200
    weak = root.post("/admin/accounts/amina/password", {"password": "short", "password_again": "short"})
    assert weak.status_code == 400 and "at least 12" in weak.json()["error"]
    reset = root.post("/admin/accounts/amina/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert reset.status_code == 200 and reset.json()["sessions_ended"] == 2
    for member in (amina, laptop):
        assert member.get("/me").json() == {"error": "an admin set a new password for this account; log in with it"}
    assert root.get("/me").status_code == 200  # the admin's own session goes on
    assert Staff(console_gateway, "amina").login(PASSWORD).status_code == 401
    assert Staff(console_gateway, "amina").login(NEW_PASSWORD).status_code == 200
    row = audit_rows(console_gateway, "password_reset")[-1]
    assert (row.actor, row.target, row.detail) == ("root", "amina", {"sessions_ended": 2})
    assert NEW_PASSWORD not in json.dumps([tuple(r) for r in audit_rows(console_gateway)], default=str)


def test_the_last_admin_cannot_deactivate_or_demote_themself(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root = console_staff("root", "admin")
    demote = root.post("/admin/accounts/root", {"role": "supervisor"})
    assert demote.status_code == 409 and "last active admin" in demote.json()["error"]
    leave = root.post("/admin/accounts/root/deactivate")
    assert leave.status_code == 409 and "last active admin" in leave.json()["error"]
    assert root.get("/admin/accounts").status_code == 200  # still an admin, still logged in
    ada = console_staff("ada", "admin")
    assert root.post("/admin/accounts/root", {"role": "supervisor"}).status_code == 200
    assert root.get("/admin/accounts").status_code == 403  # no longer an admin
    assert ada.post("/admin/accounts/ada/deactivate").status_code == 409
    assert ada.post("/admin/accounts/root", {"role": "admin"}).status_code == 200
    assert ada.post("/admin/accounts/ada/deactivate").status_code == 200  # root is an admin again
    assert [r.target for r in audit_rows(console_gateway, "user_deactivated")] == ["ada"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_admins_stepping_down_at_once_leave_one_admin(
    backend: str, request: pytest.FixtureRequest, live_gateway: Callable[..., LiveGateway]
) -> None:
    gateway = live_gateway(request.getfixturevalue("postgres_url") if backend == "postgresql" else None)
    admins = []
    for name in ("ada", "root"):
        gateway.add_user(name, "admin")
        admins.append(Staff(gateway, name))
        assert admins[-1].login().status_code == 200
    start = threading.Barrier(2)

    def step_down(admin: Staff) -> httpx.Response:
        start.wait()
        if admin.username == "ada":
            return admin.post("/admin/accounts/ada", {"role": "supervisor"})
        return admin.post("/admin/accounts/root/deactivate")

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(step_down, admins))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    with gateway.ctx.engine.connect() as conn:
        left = conn.execute(select(t.users.c.username).where(t.users.c.role == "admin", t.users.c.active)).all()
    assert len(left) == 1


# --- session limits ------------------------------------------------------------------------------
def test_a_session_ends_after_the_idle_time_and_background_refreshes_do_not_keep_it(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    clock = Clock()
    console_gateway.ctx.console_sessions = SessionPolicy(dt.timedelta(minutes=30), dt.timedelta(hours=12), clock)
    amina = console_staff("amina")
    for _ in range(3):  # acting every 29 minutes keeps the session
        clock.advance(minutes=29)
        assert amina.get("/me").status_code == 200
    clock.advance(minutes=31)
    ended = amina.get("/queue")
    assert ended.status_code == 401
    assert ended.json() == {"error": "your session ended after 30 minutes without activity; log in again"}
    assert amina.get("/me").json() == ended.json()  # it stays ended, and every request says why

    assert amina.login().status_code == 200
    for _ in range(3):  # the page refreshing itself is not activity
        clock.advance(minutes=9)
        assert amina.get("/queue", headers=BACKGROUND).status_code == 200
    clock.advance(minutes=4)
    assert "30 minutes without activity" in amina.get("/me").json()["error"]
    assert [r.detail["why"] for r in audit_rows(console_gateway, "session_expired")] == ["idle", "idle"]


def test_a_session_ends_after_its_lifetime_however_active(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    clock = Clock()
    console_gateway.ctx.console_sessions = SessionPolicy(dt.timedelta(minutes=30), dt.timedelta(hours=12), clock)
    amina = console_staff("amina")
    expires = dt.datetime.fromisoformat(amina.get("/me").json()["expires_at"])
    assert expires - clock() == dt.timedelta(hours=12)
    for _ in range(47):
        clock.advance(minutes=15)
        assert amina.get("/me").status_code == 200
    clock.advance(minutes=15)
    ended = amina.get("/me")
    assert ended.status_code == 401 and ended.json()["error"] == "your session reached its 12-hour limit; log in again"
    assert audit_rows(console_gateway, "session_expired")[-1].detail == {"why": "lifetime"}


def test_the_limits_come_from_the_environment(live_gateway: Callable[..., LiveGateway]) -> None:
    gateway = live_gateway(PUTOKAZ_CONSOLE_IDLE_MINUTES="5", PUTOKAZ_CONSOLE_SESSION_HOURS="2")
    gateway.add_user("amina")
    amina = Staff(gateway, "amina")
    login = amina.login()
    assert "Max-Age=7200" in login.headers["set-cookie"]
    assert login.json()["idle_minutes"] == 5
    six_minutes_on = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=6)
    gateway.ctx.console_sessions = SessionPolicy(dt.timedelta(minutes=5), dt.timedelta(hours=2), lambda: six_minutes_on)
    assert amina.get("/me").json() == {"error": "your session ended after 5 minutes without activity; log in again"}


# --- the audit log -------------------------------------------------------------------------------
def test_every_transcript_read_is_audited(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation = console_gateway.conversation("web-session-audit-0001", "en")
    console_gateway.person_says(conversation, "I need help")
    ticket = console_gateway.open_handoff(conversation)
    amina, sara = console_staff("amina"), console_staff("sara", "supervisor")
    assert amina.get(f"/handoffs/{ticket.id}").status_code == 200
    assert amina.get(f"/handoffs/{ticket.id}").status_code == 200  # opened again: recorded again
    assert sara.get(f"/handoffs/{ticket.id}", headers=BACKGROUND).status_code == 200  # sara's first read
    assert amina.get(f"/handoffs/{ticket.id}", headers=BACKGROUND).status_code == 200  # a refresh, covered
    reads = audit_rows(console_gateway, "transcript_read")
    assert [(r.actor, r.target, r.detail["background"]) for r in reads] == [
        ("amina", str(ticket.id), False), ("amina", str(ticket.id), False), ("sara", str(ticket.id), True)]
    assert reads[0].detail["messages"] == 1  # how much was read: the person's one message
    later = dt.datetime.now(dt.timezone.utc) + auditlog.READ_WINDOW + dt.timedelta(seconds=1)
    monkeypatch.setattr(auditlog, "now", lambda: later)
    assert amina.get(f"/handoffs/{ticket.id}", headers=BACKGROUND).status_code == 200
    assert len(audit_rows(console_gateway, "transcript_read")) == 4
    assert amina.get("/handoffs/999999").status_code == 404
    assert len(audit_rows(console_gateway, "transcript_read")) == 4  # nothing was read


def test_supervisors_see_the_audit_log_filtered_and_as_csv_and_each_view_is_audited(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    root, sara, amina = console_staff("root", "admin"), console_staff("sara", "supervisor"), console_staff("amina")
    formula = "=HYPERLINK(\"http://evil\")"
    assert Staff(console_gateway, formula).login("wrong password 123").status_code == 401
    assert root.post("/admin/accounts/amina", {"role": "supervisor"}).status_code == 200
    assert amina.get("/audit").status_code == 200  # the new role applies at once
    assert console_staff("bojan").get("/audit").json()["error"] == "only a supervisor or an admin can do this"

    logins = sara.get("/audit", params={"action": "login"}).json()
    assert logins and {r["action"] for r in logins} == {"login"}
    assert [r["id"] for r in logins] == sorted((r["id"] for r in logins), reverse=True)  # newest first
    about_amina = sara.get("/audit", params={"user": "amina"}).json()
    assert {r["action"] for r in about_amina} >= {"login", "user_changed"}
    assert all("amina" in (r["actor"], r["target"]) for r in about_amina)
    assert sara.get("/audit", params={"limit": "0"}).status_code == 400
    assert sara.get("/audit", params={"format": "xml"}).status_code == 400
    assert set(sara.get("/audit/actions").json()) >= {"login", "login_failed", "user_changed", "audit_viewed"}

    download = sara.get("/audit", params={"format": "csv", "action": "login_failed"})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0] == ["id", "at", "actor", "action", "target", "detail"]
    assert [row[2] for row in table[1:]] == ["'" + formula]  # a spreadsheet shows it, never runs it
    views = [(r.actor, r.detail["action"], r.detail["user"], r.detail["format"], r.detail["rows"])
             for r in audit_rows(console_gateway, "audit_viewed")]
    assert views == [("amina", None, None, "json", views[0][4]), ("sara", "login", None, "json", len(logins)),
                     ("sara", None, "amina", "json", len(about_amina)), ("sara", "login_failed", None, "csv", 1)]
    assert httpx.get(f"{console_gateway.url}/console/api/audit").status_code == 401
