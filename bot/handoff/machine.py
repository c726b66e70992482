"""The handoff state machine: named, guarded transitions; every transition is recorded as an event.

    bot --open--> waiting --claim--> assigned --close--> closed (the bot has the conversation again)
                  waiting --person_left/close--> closed
                  assigned --release--> waiting       assigned --reassign--> assigned
                  waiting|assigned --reassign_team--> waiting (in the other team's queue)
                  waiting|assigned --escalate--> same state, urgent priority

A conversation with a ticket in `waiting` or `assigned` is in human mode: the gateway sends
nothing of the person's to Rasa, and the bot says nothing until the ticket is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Status(str, Enum):
    BOT = "bot"  # no open ticket
    WAITING = "waiting"
    ASSIGNED = "assigned"
    CLOSED = "closed"


OPEN_STATUSES = (Status.WAITING, Status.ASSIGNED)
ROLES = ("counsellor", "supervisor", "admin")


class TransitionError(Exception):
    """The transition is not allowed from this state or for this actor; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Actor:
    name: str  # a username, or "person", "bot", "system"
    role: str  # counsellor | supervisor | admin | person | bot | system

    @property
    def is_staff(self) -> bool:
        return self.role in ROLES

    @property
    def supervises(self) -> bool:
        return self.role in ("supervisor", "admin")


PERSON = Actor("person", "person")
BOT = Actor("bot", "bot")
SYSTEM = Actor("system", "system")


@dataclass(frozen=True)
class Ticket:
    status: Status
    assignee: str | None = None
    priority: str = "normal"
    team: str | None = None


@dataclass(frozen=True)
class Transition:
    name: str
    to: Status


def _require(condition: bool, message: str, status: int = 409) -> None:
    if not condition:
        raise TransitionError(message, status)


def open_(ticket: Ticket, actor: Actor) -> Transition:
    _require(ticket.status in (Status.BOT, Status.CLOSED), "the conversation already has an open handoff")
    _require(actor.role in ("bot", "person", "system") or actor.is_staff, "not allowed to open a handoff", 403)
    return Transition("open", Status.WAITING)


def claim(ticket: Ticket, actor: Actor) -> Transition:
    _require(actor.is_staff, "only counsellors can claim", 403)
    _require(ticket.status == Status.WAITING,
             f"already claimed by {ticket.assignee}" if ticket.status == Status.ASSIGNED
             else "the handoff is not waiting")
    return Transition("claim", Status.ASSIGNED)


def reassign(ticket: Ticket, actor: Actor) -> Transition:
    _require(actor.supervises, "only a supervisor can reassign", 403)
    _require(ticket.status in OPEN_STATUSES, "the handoff is closed")
    return Transition("reassign", Status.ASSIGNED)


def reassign_team(ticket: Ticket, actor: Actor, team: str) -> Transition:
    """A supervisor moves a handoff to another team's queue; whoever had it lets it go."""
    _require(actor.supervises, "only a supervisor can move a handoff to another team", 403)
    _require(ticket.status in OPEN_STATUSES, "the handoff is closed")
    _require(team != ticket.team, f"the handoff is already with team {team}")
    return Transition("reassign_team", Status.WAITING)


def release(ticket: Ticket, actor: Actor) -> Transition:
    _require(ticket.status == Status.ASSIGNED, "the handoff is not assigned")
    _require(actor.name == ticket.assignee or actor.supervises, "only the assignee or a supervisor can release", 403)
    return Transition("release", Status.WAITING)


def escalate(ticket: Ticket, actor: Actor) -> Transition:
    _require(ticket.status in OPEN_STATUSES, "the handoff is closed")
    return Transition("escalate", ticket.status)


def reply(ticket: Ticket, actor: Actor) -> Transition:
    """Not a change of state, but guarded the same way: only the assignee (or a supervisor) speaks."""
    _require(ticket.status == Status.ASSIGNED, "claim the handoff before replying")
    _require(actor.name == ticket.assignee or actor.supervises, "only the assignee can reply", 403)
    return Transition("reply", Status.ASSIGNED)


def close(ticket: Ticket, actor: Actor) -> Transition:
    _require(ticket.status in OPEN_STATUSES, "the handoff is already closed")
    if actor.is_staff:
        _require(actor.name == ticket.assignee or actor.supervises, "only the assignee or a supervisor can close", 403)
    else:
        _require(actor.role in ("person", "system"), "not allowed to close", 403)
    return Transition("close", Status.CLOSED)


def person_left(ticket: Ticket, actor: Actor) -> Transition:
    _require(ticket.status == Status.WAITING, "a counsellor is already talking with the person")
    _require(actor.role == "person", "only the person can leave the queue", 403)
    return Transition("person_left", Status.CLOSED)


TRANSITIONS = {f.__name__.rstrip("_"): f for f in (open_, claim, reassign, reassign_team, release, escalate, reply,
                                                    close, person_left)}
