"""Tickets in real SQL (SQLite and PostgreSQL): events recorded, claims atomic under a real race."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from sqlalchemy.engine import Engine

from bot.gateway import tables as t
from bot.gateway.store import Store, now
from bot.handoff.machine import Actor, TransitionError
from bot.handoff.service import HandoffService, HandoffView
from bot.handoff.teams import Teams, load_teams


def open_ticket(engine: Engine, address: str = "chat-1", priority: str = "normal") -> tuple[HandoffService, int, str]:
    store, events = Store(engine), []
    service = HandoffService(engine, events.append)
    conversation, _ = store.conversation_for("telegram", address)
    view, created = service.open(conversation.id, "telegram", "asked", priority, "fa", "sid", "legal_aid")
    assert created and events[-1]["type"] == "handoff.opened"
    return service, view.id, conversation.id


def test_lifecycle_records_every_event_and_returns_to_bot(engine: Engine) -> None:
    service, ticket, conversation_id = open_ticket(engine)
    assert Store(engine).conversation(conversation_id).mode == "human"  # type: ignore[union-attr]
    amira = Actor("amira", "counsellor")
    service.claim(ticket, amira)
    service.check_reply(ticket, amira)
    service.close(ticket, amira, "referred")
    assert [e["event"] for e in service.events(ticket)] == ["open", "claim", "close"]
    assert all(e["actor"] and e["at"] for e in service.events(ticket))
    assert Store(engine).conversation(conversation_id).mode == "bot"  # type: ignore[union-attr]
    assert service.open_ticket(conversation_id) is None


def test_urgent_request_escalates_the_open_ticket(engine: Engine) -> None:
    service, ticket, conversation_id = open_ticket(engine)
    view, created = service.open(conversation_id, "telegram", "distress", "urgent", "fa", None, None)
    assert not created and view.id == ticket and view.priority == "urgent"
    assert service.queue()[0].id == ticket


def test_queue_puts_urgent_first_then_longest_waiting(engine: Engine) -> None:
    first = open_ticket(engine, "a")[1]
    second = open_ticket(engine, "b")[1]
    urgent = open_ticket(engine, "c", "urgent")[1]
    assert [v.id for v in HandoffService(engine).queue()] == [urgent, first, second]


def test_only_one_of_eight_simultaneous_claims_wins(engine: Engine) -> None:
    service, ticket, _ = open_ticket(engine)
    barrier, results = threading.Barrier(8), []

    def claim(name: str) -> None:
        barrier.wait()
        try:
            service.claim(ticket, Actor(name, "counsellor"))
            results.append(("won", name))
        except TransitionError as exc:
            results.append(("lost", str(exc.status)))

    threads = [threading.Thread(target=claim, args=(f"c{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r[0] == "won"]
    assert len(winners) == 1 and sorted(r[1] for r in results if r[0] == "lost") == ["409"] * 7
    assert service.get(ticket).assignee == winners[0][1]
    assert [e["event"] for e in service.events(ticket)].count("claim") == 1


def test_person_can_leave_the_queue_only_while_waiting(engine: Engine) -> None:
    service, ticket, conversation_id = open_ticket(engine)
    assert service.person_left(conversation_id) is not None
    service2, ticket2, conversation2 = open_ticket(engine, "other")
    service2.claim(ticket2, Actor("amira", "counsellor"))
    assert service2.person_left(conversation2) is None


# --- teams ---------------------------------------------------------------------------------------
TEAMS = """\
teams:
  - id: sid
    name: Šid team
    places: [sid]
    languages: [en, ar, fa, sr]
  - id: belgrade
    name: Belgrade team
    places: [belgrade]
    languages: [en, ar, fa, ps, sr]
  - id: online
    name: National online team
    places: all
    languages: [en, ar, fa, ps, sr]
    fallback: true
"""


@pytest.fixture
def teams(tmp_path: Path) -> Teams:
    (tmp_path / "teams.yml").write_text(TEAMS, encoding="utf-8")
    return load_teams(tmp_path / "teams.yml")


def online(engine: Engine, username: str, languages: str, team: str | None) -> None:
    with engine.begin() as conn:
        conn.execute(insert(t.users).values(username=username, password_hash="-", role="counsellor",
                                            languages=languages, team=team, active=True, created_at=now(),
                                            last_seen_at=now()))


def open_in(service: HandoffService, address: str, city: str | None, language: str = "fa",
            priority: str = "normal") -> HandoffView:
    conversation, _ = Store(service.engine).conversation_for("telegram", address)
    view, created = service.open(conversation.id, "telegram", "asked", priority, language, city, None)
    assert created
    return view


def test_a_new_handoff_is_routed_to_a_team_and_the_interpreter_flag_looks_only_there(
        engine: Engine, teams: Teams) -> None:
    online(engine, "amira", "fa,en", "belgrade")  # speaks Farsi, but in Belgrade
    online(engine, "nikola", "sr,en", None)  # no team: works in the fallback team
    service = HandoffService(engine, teams=teams)
    in_sid = open_in(service, "a", "sid", "fa")
    assert (in_sid.team, in_sid.interpreter_needed) == ("sid", True)
    in_belgrade = open_in(service, "b", "belgrade", "fa")
    assert (in_belgrade.team, in_belgrade.interpreter_needed) == ("belgrade", False)
    nowhere = open_in(service, "c", None, "sr")
    assert (nowhere.team, nowhere.interpreter_needed) == ("online", False)
    assert service.events(in_sid.id)[0]["detail"]["team"] == "sid"
    assert service.counsellors_online("fa") == ["amira"] and service.counsellors_online(team="online") == ["nikola"]


def test_a_counsellor_sees_their_teams_handoffs_first_and_positions_count_per_team(
        engine: Engine, teams: Teams) -> None:
    service = HandoffService(engine, teams=teams)
    sid_1 = open_in(service, "a", "sid")
    belgrade_1 = open_in(service, "b", "belgrade")
    sid_2 = open_in(service, "c", "sid")
    urgent_online = open_in(service, "d", "nis", priority="urgent")
    assert [v.id for v in service.queue()] == [urgent_online.id, sid_1.id, belgrade_1.id, sid_2.id]
    assert [v.id for v in service.queue(first="belgrade")] == [belgrade_1.id, urgent_online.id, sid_1.id, sid_2.id]
    assert [v.id for v in service.queue(only="sid")] == [sid_1.id, sid_2.id]
    assert [service.position(v.id) for v in (sid_1, belgrade_1, sid_2, urgent_online)] == [1, 1, 2, 1]


def test_a_supervisor_moves_a_handoff_to_another_team_and_it_waits_there(engine: Engine, teams: Teams) -> None:
    events: list[dict[str, object]] = []
    service = HandoffService(engine, events.append, teams)
    online(engine, "amira", "fa", "belgrade")
    ticket = open_in(service, "a", "sid", "fa")
    service.claim(ticket.id, Actor("sanja", "counsellor"))
    with pytest.raises(TransitionError) as refused:
        service.reassign_team(ticket.id, Actor("sanja", "counsellor"), "belgrade")
    assert refused.value.status == 403
    with pytest.raises(TransitionError) as unknown:
        service.reassign_team(ticket.id, Actor("boss", "supervisor"), "atlantis")
    assert unknown.value.status == 400 and "sid, belgrade, online" in str(unknown.value)
    moved = service.reassign_team(ticket.id, Actor("boss", "supervisor"), "belgrade")
    assert (moved.team, moved.status, moved.assignee, moved.interpreter_needed) == ("belgrade", "waiting", None, False)
    last = service.events(ticket.id)[-1]
    assert (last["event"], last["from"], last["to"], last["actor"]) == ("reassign_team", "assigned", "waiting", "boss")
    assert last["detail"] == {"from": "sid", "to": "belgrade"}
    assert events[-1]["type"] == "handoff.reassign_team"
    assert [v.id for v in service.queue(only="belgrade")] == [ticket.id]


def test_a_ticket_from_before_teams_or_of_a_removed_team_belongs_to_the_fallback_team(
        engine: Engine, teams: Teams) -> None:
    service = HandoffService(engine, teams=teams)
    before, removed = open_in(service, "a", "sid"), open_in(service, "b", "belgrade")
    with engine.begin() as conn:
        conn.execute(update(t.handoffs).where(t.handoffs.c.id == before.id).values(team=None))
        conn.execute(update(t.handoffs).where(t.handoffs.c.id == removed.id).values(team="novi_sad"))
    assert [v.id for v in service.queue(only="online")] == [before.id, removed.id]
