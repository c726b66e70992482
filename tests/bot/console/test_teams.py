"""Teams in the console API: the queue shows each handoff's team, a counsellor's team first (or only,
or all alike); a supervisor moves a handoff to another team and sees queues per team and language."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.gateway import tables as t
from tests.live_gateway import ConsoleClient, LiveGateway

TEAMS = """\
teams:
  - id: sid
    name: Šid team
    places: [sid]
    languages: [en, ar, fa, sr]
    hours: "mo-su 00:00-24:00"
  - id: belgrade
    name: Belgrade team
    places: [belgrade]
    languages: [en, ar, fa, ps, sr]
    hours: "mo 00:00-00:01"
  - id: online
    name: National online team
    places: all
    languages: [en, ar, fa, ps, sr]
    fallback: true
"""


@pytest.fixture
def teams_gateway(live_gateway: Callable[..., LiveGateway], tmp_path: Path) -> LiveGateway:
    (tmp_path / "teams.yml").write_text(TEAMS, encoding="utf-8")
    return live_gateway(PUTOKAZ_TEAMS_FILE=str(tmp_path / "teams.yml"))


@pytest.fixture
def staff(teams_gateway: LiveGateway) -> Iterator[Callable[..., ConsoleClient]]:
    made: list[ConsoleClient] = []

    def make(username: str, role: str = "counsellor", languages: tuple[str, ...] = (),
             team: str | None = None) -> ConsoleClient:
        teams_gateway.add_user(username, role, languages=languages, team=team)
        client = ConsoleClient(teams_gateway, username)
        assert client.login().status_code == 200
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def handoff(gateway: LiveGateway, address: str, city: str | None, language: str = "fa", **kwargs: str) -> int:
    conversation = gateway.conversation(address, language)
    return int(gateway.open_handoff(conversation, city=city, **kwargs).id)


def test_the_queue_shows_each_team_and_puts_the_counsellors_own_team_first(
        teams_gateway: LiveGateway, staff: Callable[..., ConsoleClient]) -> None:
    in_sid = handoff(teams_gateway, "web-session-team-0000000001", "sid")
    in_belgrade = handoff(teams_gateway, "web-session-team-0000000002", "belgrade")
    urgent_nowhere = handoff(teams_gateway, "web-session-team-0000000003", None, reason="distress",
                             priority="urgent")
    amira = staff("amira", languages=("fa",), team="belgrade")
    items = amira.get("/queue").json()
    assert [(i["id"], i["team"]) for i in items] == [
        (in_belgrade, "belgrade"), (urgent_nowhere, "online"), (in_sid, "sid")]
    assert [i["id"] for i in amira.get("/queue", params={"team": "mine"}).json()] == [in_belgrade]
    assert [i["id"] for i in amira.get("/queue", params={"team": "sid"}).json()] == [in_sid]
    assert [i["id"] for i in amira.get("/queue", params={"team": "all"}).json()] == [
        urgent_nowhere, in_sid, in_belgrade]
    refused = amira.get("/queue", params={"team": "atlantis"})
    assert refused.status_code == 400 and "sid, belgrade, online" in refused.json()["error"]
    # an account without a team works in the fallback team
    nikola = staff("nikola", languages=("sr",))
    assert [i["id"] for i in nikola.get("/queue", params={"team": "mine"}).json()] == [urgent_nowhere]

    teams = amira.get("/teams").json()
    assert teams["mine"] == "belgrade"
    by_id = {team["id"]: team for team in teams["teams"]}
    assert (by_id["sid"]["name"], by_id["sid"]["in_hours"], by_id["belgrade"]["in_hours"]) == (
        "Šid team", True, False)
    assert by_id["online"]["fallback"] and by_id["online"]["places"] == "all"


def test_the_interpreter_flag_looks_at_counsellors_online_in_the_handoffs_team(
        teams_gateway: LiveGateway, staff: Callable[..., ConsoleClient]) -> None:
    staff("amira", languages=("fa",), team="belgrade")  # logged in: online, speaks Farsi, in Belgrade
    in_sid = handoff(teams_gateway, "web-session-team-0000000004", "sid")
    in_belgrade = handoff(teams_gateway, "web-session-team-0000000005", "belgrade")
    flags = {i["id"]: i["interpreter_needed"] for i in staff("sara", "supervisor").get("/queue").json()}
    assert flags == {in_sid: True, in_belgrade: False}


def test_a_supervisor_moves_a_handoff_to_another_team(
        teams_gateway: LiveGateway, staff: Callable[..., ConsoleClient]) -> None:
    ticket = handoff(teams_gateway, "web-session-team-0000000006", "sid", "ar")
    bojan = staff("bojan", languages=("ar",), team="sid")
    sara = staff("sara", "supervisor", team="belgrade")
    assert bojan.post(f"/handoffs/{ticket}/claim").status_code == 200
    assert bojan.post(f"/handoffs/{ticket}/team", {"team": "belgrade"}).status_code == 403
    assert sara.post(f"/handoffs/{ticket}/team", {"team": "atlantis"}).status_code == 400
    assert sara.post(f"/handoffs/{ticket}/team", {}).status_code == 400
    moved = sara.post(f"/handoffs/{ticket}/team", {"team": "belgrade"})
    assert moved.status_code == 200
    assert (moved.json()["handoff"]["team"], moved.json()["handoff"]["status"]) == ("belgrade", "waiting")
    again = sara.post(f"/handoffs/{ticket}/team", {"team": "belgrade"})
    assert again.status_code == 409 and "already with team belgrade" in again.json()["error"]
    detail = sara.get(f"/handoffs/{ticket}").json()
    assert detail["handoff"]["team"] == "belgrade"
    event = detail["events"][-1]
    assert (event["event"], event["actor"], event["detail"]) == ("reassign_team", "sara", {"from": "sid",
                                                                                          "to": "belgrade"})
    with teams_gateway.ctx.engine.connect() as conn:
        audit = conn.execute(select(t.audit).where(t.audit.c.action == "reassign_team")).one()
    assert (audit.actor, audit.target, audit.detail) == ("sara", str(ticket), {"to": "belgrade"})
    assert [i["id"] for i in bojan.get("/queue", params={"team": "mine"}).json()] == []


def test_the_supervisor_sees_queues_and_waits_per_team_and_language(
        teams_gateway: LiveGateway, staff: Callable[..., ConsoleClient]) -> None:
    handoff(teams_gateway, "web-session-team-0000000007", "sid", "fa")
    handoff(teams_gateway, "web-session-team-0000000008", "sid", "ar")
    handoff(teams_gateway, "web-session-team-0000000009", "sid", "ar", reason="distress", priority="urgent")
    staff("bojan", languages=("ar",), team="sid")
    overview = staff("sara", "supervisor").get("/overview").json()
    teams = {row["name"]: row for row in overview["by_team"]}
    assert set(teams) == {"sid", "belgrade", "online"}  # every team, even with nobody waiting
    assert (teams["sid"]["label"], teams["sid"]["waiting"], teams["sid"]["urgent"], teams["sid"]["online"]) == (
        "Šid team", 3, 1, 1)
    assert (teams["belgrade"]["waiting"], teams["belgrade"]["in_hours"], teams["sid"]["in_hours"]) == (0, False, True)
    assert teams["online"]["online"] == 1  # sara has no team: she works in the fallback team
    pairs = {row["name"]: row for row in overview["by_team_language"]}
    assert set(pairs) == {"Šid team · ar", "Šid team · fa"}
    assert (pairs["Šid team · ar"]["waiting"], pairs["Šid team · ar"]["urgent"]) == (2, 1)
    assert pairs["Šid team · ar"]["longest_wait_seconds"] >= pairs["Šid team · ar"]["median_wait_seconds"] >= 0
