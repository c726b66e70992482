"""Tickets in real SQL (SQLite and PostgreSQL): events recorded, claims atomic under a real race."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.gateway.db import migrate
from bot.gateway.store import Store
from bot.handoff.machine import Actor, TransitionError
from bot.handoff.service import HandoffService
from service_directory import make_engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


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
