"""The handoff state machine: every named transition, and every guard that refuses."""

from __future__ import annotations

import pytest

from bot.handoff import machine
from bot.handoff.machine import Actor, Status, Ticket, TransitionError

AMIRA = Actor("amira", "counsellor")
BORIS = Actor("boris", "counsellor")
SUPERVISOR = Actor("sanja", "supervisor")
WAITING = Ticket(Status.WAITING)
ASSIGNED = Ticket(Status.ASSIGNED, assignee="amira")


@pytest.mark.parametrize(("transition", "ticket", "actor", "to"), [
    (machine.open_, Ticket(Status.BOT), machine.BOT, Status.WAITING),
    (machine.open_, Ticket(Status.CLOSED), machine.PERSON, Status.WAITING),
    (machine.claim, WAITING, AMIRA, Status.ASSIGNED),
    (machine.reassign, ASSIGNED, SUPERVISOR, Status.ASSIGNED),
    (machine.release, ASSIGNED, AMIRA, Status.WAITING),
    (machine.release, ASSIGNED, SUPERVISOR, Status.WAITING),
    (machine.escalate, WAITING, machine.SYSTEM, Status.WAITING),
    (machine.reply, ASSIGNED, AMIRA, Status.ASSIGNED),
    (machine.close, ASSIGNED, AMIRA, Status.CLOSED),
    (machine.close, WAITING, SUPERVISOR, Status.CLOSED),
    (machine.person_left, WAITING, machine.PERSON, Status.CLOSED),
])
def test_allowed_transitions(transition, ticket: Ticket, actor: Actor, to: Status) -> None:  # type: ignore[no-untyped-def]
    assert transition(ticket, actor).to == to


@pytest.mark.parametrize(("transition", "ticket", "actor", "status", "words"), [
    (machine.open_, WAITING, machine.BOT, 409, "already has an open handoff"),
    (machine.claim, ASSIGNED, BORIS, 409, "already claimed by amira"),
    (machine.claim, WAITING, machine.PERSON, 403, "only counsellors"),
    (machine.reassign, ASSIGNED, AMIRA, 403, "only a supervisor"),
    (machine.release, ASSIGNED, BORIS, 403, "only the assignee"),
    (machine.release, WAITING, AMIRA, 409, "not assigned"),
    (machine.reply, WAITING, AMIRA, 409, "claim the handoff"),
    (machine.reply, ASSIGNED, BORIS, 403, "only the assignee"),
    (machine.close, ASSIGNED, BORIS, 403, "only the assignee or a supervisor"),
    (machine.close, Ticket(Status.CLOSED), AMIRA, 409, "already closed"),
    (machine.person_left, ASSIGNED, machine.PERSON, 409, "already talking"),
    (machine.escalate, Ticket(Status.CLOSED), machine.SYSTEM, 409, "closed"),
])
def test_guards_refuse_with_a_reason_and_status(transition, ticket: Ticket, actor: Actor, status: int,  # type: ignore[no-untyped-def]
                                                words: str) -> None:
    with pytest.raises(TransitionError) as refused:
        transition(ticket, actor)
    assert refused.value.status == status and words in str(refused.value)


def test_every_transition_is_named() -> None:
    assert set(machine.TRANSITIONS) == {"open", "claim", "reassign", "reassign_team", "release", "escalate", "reply",
                                        "close", "person_left"}


@pytest.mark.parametrize("ticket", [Ticket(Status.WAITING, team="sid"), Ticket(Status.ASSIGNED, "amira", team="sid")])
def test_a_supervisor_moves_an_open_handoff_to_another_teams_queue(ticket: Ticket) -> None:
    assert machine.reassign_team(ticket, SUPERVISOR, "belgrade") == machine.Transition("reassign_team", Status.WAITING)


@pytest.mark.parametrize(("ticket", "actor", "status", "words"), [
    (Ticket(Status.WAITING, team="sid"), AMIRA, 403, "only a supervisor"),
    (Ticket(Status.CLOSED, team="sid"), SUPERVISOR, 409, "closed"),
    (Ticket(Status.WAITING, team="belgrade"), SUPERVISOR, 409, "already with team belgrade"),
])
def test_moving_to_a_team_is_guarded(ticket: Ticket, actor: Actor, status: int, words: str) -> None:
    with pytest.raises(TransitionError) as refused:
        machine.reassign_team(ticket, actor, "belgrade")
    assert refused.value.status == status and words in str(refused.value)
