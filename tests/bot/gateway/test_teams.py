"""The real gateway opens a handoff in the team of the person's place and tells them that team's hours
(a fixed clock): their place in line in hours, when the team answers outside them, numbers when urgent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

from bot.gateway import tables as t
from bot.gateway.db import MIGRATIONS, migrate
from bot.gateway.store import now
from bot.handoff.service import HandoffService
from bot.handoff.teams import load_teams
from bot.i18n.responses import Responses
from service_directory import make_engine
from service_directory.schedule import BELGRADE
from tests.live_gateway import LiveGateway

RESPONSES = Responses.from_domain_dir()
TEAMS = """\
teams:
  - id: sid
    name: Šid team
    places: [sid]
    languages: [en, ar, fa]
    hours: "mo-fr 08:00-16:00"
  - id: online
    name: National online team
    places: all
    languages: [en, ar, fa, ps, sr]
    hours: "mo-su 08:00-22:00"
    fallback: true
"""
MONDAY_EVENING = dt.datetime(2026, 11, 30, 18, 0, tzinfo=BELGRADE)  # Šid has gone home; online works


def start(live_gateway: Callable[..., LiveGateway], tmp_path: Path) -> LiveGateway:
    (tmp_path / "teams.yml").write_text(TEAMS, encoding="utf-8")
    return live_gateway(PUTOKAZ_TEAMS_FILE=str(tmp_path / "teams.yml"))


def told(gateway: LiveGateway, conversation: Any) -> list[str]:
    return [m["text"] for m in gateway.ctx.gateway.store.transcript(conversation.id) if m["author"] == "system"]


def test_outside_its_teams_hours_the_person_is_told_when_that_team_answers(
        live_gateway: Callable[..., LiveGateway], tmp_path: Path) -> None:
    gateway = start(live_gateway, tmp_path)
    pipeline = gateway.ctx.gateway
    in_sid = gateway.conversation("web-session-team-sid-0001", "ar", city="sid")
    gateway.run(pipeline.open_handoff(in_sid, {"reason": "asked", "priority": "normal"}, at=MONDAY_EVENING))
    ticket = pipeline.handoffs.open_ticket(in_sid.id)
    assert ticket.team == "sid" and ticket.city == "sid"  # the conversation's place routed it
    assert told(gateway, in_sid) == [RESPONSES.text("utter_gw_waiting_outside_hours", "ar", when="01.12. 08:00")]

    urgent = gateway.conversation("web-session-team-sid-0002", "en", city="sid")
    gateway.run(pipeline.open_handoff(urgent, {"reason": "distress", "priority": "urgent"}, at=MONDAY_EVENING))
    assert told(gateway, urgent) == [RESPONSES.text("utter_gw_waiting_outside_hours", "en", when="01.12. 08:00"),
                                     RESPONSES.text("utter_emergency_numbers", "en")]


def test_in_its_teams_hours_the_person_gets_their_place_in_that_teams_line(
        live_gateway: Callable[..., LiveGateway], tmp_path: Path) -> None:
    gateway = start(live_gateway, tmp_path)
    pipeline = gateway.ctx.gateway
    in_sid = gateway.open_handoff(gateway.conversation("web-session-team-sid-0003", "fa"), city="sid")
    assert in_sid.team == "sid"  # waits in Šid's line, not in the online team's
    in_nis = gateway.conversation("web-session-team-nis-0001", "fa")
    gateway.run(pipeline.open_handoff(in_nis, {"reason": "asked", "city": "nis"}, at=MONDAY_EVENING))
    assert pipeline.handoffs.open_ticket(in_nis.id).team == "online"
    assert told(gateway, in_nis) == [RESPONSES.text("utter_gw_waiting", "fa", position=1)]


def test_the_teams_migration_keeps_open_handoffs_and_they_wait_in_the_fallback_team(db_url: str) -> None:
    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "gw0002")  # the schema before teams, with a waiting handoff in it
    with engine.begin() as conn:  # no value for `team`: the insert leaves out the column that is not there yet
        conn.execute(insert(t.conversations).values(id="c-1", channel="web", address="a", mode="human",
                                                    created_at=now()))
        conn.execute(insert(t.handoffs).values(
            conversation_id="c-1", status="waiting", priority="normal", reason="asked", channel="web",
            minor=False, interpreter_needed=False, phone_revealed=False, waiting_since=now()))
    migrate(engine)  # to every head
    try:
        with engine.connect() as conn:
            assert conn.execute(select(t.handoffs.c.team)).scalar_one() is None
        assert [v.team for v in HandoffService(engine, teams=load_teams()).queue()] == ["putokaz"]
    finally:
        engine.dispose()
