"""Handoff tickets in SQL: open, claim (atomic), reply, reassign, release, close; each step recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from bot.gateway import tables as t
from bot.handoff import machine
from bot.handoff.machine import Actor, Status, Ticket, TransitionError
from bot.handoff.teams import Team, Teams, load_teams, needs_of

ONLINE_WINDOW = dt.timedelta(minutes=10)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class HandoffView:
    """A ticket as the console shows it (no phone number or chat id)."""

    id: int
    conversation_id: str
    channel: str
    language: str | None
    city: str | None
    category: str | None
    priority: str
    status: str
    reason: str
    minor: bool
    interpreter_needed: bool
    waiting_since: dt.datetime
    assignee: str | None
    interpreter: str | None
    outcome: str | None = None
    team: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["waiting_since"] = self.waiting_since.isoformat()
        return data


@dataclass
class HandoffService:
    engine: Engine
    publish: Callable[[dict[str, Any]], None] = field(default=lambda event: None)
    teams: Teams = field(default_factory=load_teams)

    # --- reading -------------------------------------------------------------------------
    def open_ticket(self, conversation_id: str) -> HandoffView | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.handoffs).where(and_(
                t.handoffs.c.conversation_id == conversation_id,
                t.handoffs.c.status.in_([s.value for s in machine.OPEN_STATUSES])))).first()
        return self._view(row) if row else None

    def get(self, handoff_id: int) -> HandoffView:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.handoffs).where(t.handoffs.c.id == handoff_id)).first()
        if row is None:
            raise TransitionError(f"no handoff {handoff_id}", 404)
        return self._view(row)

    def queue(self, first: str | None = None, only: str | None = None) -> list[HandoffView]:
        """Open tickets: team `first` before the others (a counsellor's own team), then urgent first,
        then the longest waiting; `only` keeps one team's."""
        query = select(t.handoffs).where(t.handoffs.c.status.in_([s.value for s in machine.OPEN_STATUSES]))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        views = [v for v in map(self._view, rows) if only is None or v.team == only]
        return sorted(views, key=lambda v: (first is not None and v.team != first, v.priority != "urgent",
                                            v.status != "waiting", v.waiting_since))

    def position(self, handoff_id: int) -> int:
        """Place in its team's line of waiting tickets (urgent ones go first)."""
        team = self.get(handoff_id).team
        waiting = [v for v in self.queue(only=team) if v.status == "waiting"]
        return next((i for i, v in enumerate(waiting, 1) if v.id == handoff_id), len(waiting) or 1)

    def team_of(self, view: HandoffView) -> Team:
        return self.teams.get(view.team) or self.teams.default

    def events(self, handoff_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.handoff_events).where(t.handoff_events.c.handoff_id == handoff_id)
                                .order_by(t.handoff_events.c.id)).all()
        return [{"event": r.event, "from": r.from_status, "to": r.to_status, "actor": r.actor,
                 "at": r.at.isoformat() if r.at else None, "detail": r.detail} for r in rows]

    def counsellors_online(self, language: str | None = None, team: str | None = None) -> list[str]:
        """Staff seen in the last minutes; those who speak `language`, in `team` (an account without a
        team works in the fallback team)."""
        since = now() - ONLINE_WINDOW
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.users.c.username, t.users.c.languages, t.users.c.team).where(and_(
                t.users.c.active.is_(True), t.users.c.last_seen_at >= since))).all()
        return [r.username for r in rows if (language is None or language in (r.languages or "").split(","))
                and (team is None or self.teams.member_of(r.team).id == team)]

    # --- transitions -----------------------------------------------------------------------
    def open(self, conversation_id: str, channel: str, reason: str, priority: str, language: str | None,
             city: str | None, category: str | None, actor: Actor = machine.BOT,
             team: str | None = None) -> tuple[HandoffView, bool]:
        """Open a ticket in `team`'s queue (routed by place, needs and language when None), or escalate
        the open one when this request is more urgent. (view, created)"""
        existing = self.open_ticket(conversation_id)
        if existing is not None:
            if priority == "urgent" and existing.priority != "urgent":
                return self.escalate(existing.id, actor, reason), False
            return existing, False
        machine.open_(Ticket(Status.BOT), actor)
        chosen = self.teams.get(team) if team else self.teams.route(city, language, needs_of(reason, category))
        if chosen is None:
            raise TransitionError(f"no team {team!r}; teams: {', '.join(self.teams.ids)}", 400)
        interpreter_needed = bool(language) and not self.counsellors_online(language, chosen.id)
        with self.engine.begin() as conn:
            handoff_id = conn.execute(insert(t.handoffs).values(
                conversation_id=conversation_id, status=Status.WAITING.value, priority=priority, reason=reason,
                channel=channel, language=language, city=city, category=category, minor=reason == "child_alone",
                interpreter_needed=interpreter_needed, waiting_since=now(), team=chosen.id,
            )).inserted_primary_key[0]
            conn.execute(update(t.conversations).where(t.conversations.c.id == conversation_id).values(mode="human"))
            _record(conn, handoff_id, "open", None, Status.WAITING, actor,
                    {"reason": reason, "priority": priority, "team": chosen.id})
        view = self.get(handoff_id)
        self.publish({"type": "handoff.opened", "handoff": view.as_json()})
        return view, True

    def claim(self, handoff_id: int, actor: Actor) -> HandoffView:
        """Exactly one counsellor wins: a conditional UPDATE, atomic on SQLite and PostgreSQL."""
        current = self.get(handoff_id)
        machine.claim(_ticket(current), actor)
        with self.engine.begin() as conn:
            won = conn.execute(update(t.handoffs).where(and_(
                t.handoffs.c.id == handoff_id, t.handoffs.c.status == Status.WAITING.value)).values(
                status=Status.ASSIGNED.value, assignee=actor.name, claimed_at=now())).rowcount == 1
            if won:
                _record(conn, handoff_id, "claim", Status.WAITING, Status.ASSIGNED, actor)
        if not won:
            winner = self.get(handoff_id)
            raise TransitionError(f"already claimed by {winner.assignee}" if winner.assignee
                                  else "the handoff is not waiting")
        view = self.get(handoff_id)
        self.publish({"type": "handoff.claimed", "handoff": view.as_json()})
        return view

    def reassign(self, handoff_id: int, actor: Actor, to: str) -> HandoffView:
        current = self.get(handoff_id)
        machine.reassign(_ticket(current), actor)
        return self._move(handoff_id, current, "reassign", Status.ASSIGNED, actor,
                          {"assignee": to, "claimed_at": now()}, {"to": to})

    def reassign_team(self, handoff_id: int, actor: Actor, team: str) -> HandoffView:
        """A supervisor moves the handoff to another team's queue (waiting, nobody assigned)."""
        target = self.teams.get(team)
        if target is None:
            raise TransitionError(f"no team {team!r}; teams: {', '.join(self.teams.ids)}", 400)
        current = self.get(handoff_id)
        machine.reassign_team(_ticket(current), actor, target.id)
        interpreter_needed = bool(current.language) and not self.counsellors_online(current.language, target.id)
        return self._move(handoff_id, current, "reassign_team", Status.WAITING, actor,
                          {"team": target.id, "assignee": None, "interpreter_needed": interpreter_needed},
                          {"from": current.team, "to": target.id})

    def release(self, handoff_id: int, actor: Actor) -> HandoffView:
        current = self.get(handoff_id)
        machine.release(_ticket(current), actor)
        return self._move(handoff_id, current, "release", Status.WAITING, actor, {"assignee": None})

    def escalate(self, handoff_id: int, actor: Actor, reason: str) -> HandoffView:
        current = self.get(handoff_id)
        machine.escalate(_ticket(current), actor)
        return self._move(handoff_id, current, "escalate", Status(current.status), actor,
                          {"priority": "urgent", "reason": reason}, {"reason": reason})

    def join_as_interpreter(self, handoff_id: int, actor: Actor) -> HandoffView:
        current = self.get(handoff_id)
        machine.escalate(_ticket(current), actor)  # same guard: the ticket must be open
        if not actor.is_staff:
            raise TransitionError("only staff can join", 403)
        return self._move(handoff_id, current, "interpreter_joined", Status(current.status), actor,
                          {"interpreter": actor.name})

    def check_reply(self, handoff_id: int, actor: Actor) -> HandoffView:
        current = self.get(handoff_id)
        if actor.name != current.interpreter:
            machine.reply(_ticket(current), actor)
        elif current.status not in (Status.WAITING.value, Status.ASSIGNED.value):
            raise TransitionError("the handoff is closed")
        with self.engine.begin() as conn:
            conn.execute(update(t.handoffs).where(and_(t.handoffs.c.id == handoff_id,
                                                       t.handoffs.c.first_reply_at.is_(None))).values(first_reply_at=now()))
        return current

    def close(self, handoff_id: int, actor: Actor, outcome: str) -> HandoffView:
        if not outcome or len(outcome) > 32:
            raise TransitionError("give an outcome (at most 32 characters)", 400)
        current = self.get(handoff_id)
        machine.close(_ticket(current), actor)
        view = self._move(handoff_id, current, "close", Status.CLOSED, actor, {"outcome": outcome, "closed_at": now()},
                          {"outcome": outcome})
        self._back_to_bot(current.conversation_id)
        return view

    def person_left(self, conversation_id: str) -> HandoffView | None:
        current = self.open_ticket(conversation_id)
        if current is None or current.status != Status.WAITING.value:
            return None
        machine.person_left(_ticket(current), machine.PERSON)
        view = self._move(current.id, current, "person_left", Status.CLOSED, machine.PERSON,
                          {"outcome": "returned_to_bot", "closed_at": now()})
        self._back_to_bot(conversation_id)
        return view

    def mark_unclaimed_notice(self, handoff_id: int) -> bool:
        """True once per ticket: the person is told nobody claimed it in time."""
        with self.engine.begin() as conn:
            return conn.execute(update(t.handoffs).where(and_(
                t.handoffs.c.id == handoff_id, t.handoffs.c.unclaimed_notice_at.is_(None))).values(
                unclaimed_notice_at=now())).rowcount == 1

    def unclaimed_since(self, minutes: int) -> list[HandoffView]:
        limit = now() - dt.timedelta(minutes=minutes)
        return [v for v in self.queue() if v.status == "waiting" and _aware(v.waiting_since) <= limit]

    def _move(self, handoff_id: int, current: HandoffView, event: str, to: Status, actor: Actor,
              values: dict[str, Any], detail: dict[str, Any] | None = None) -> HandoffView:
        with self.engine.begin() as conn:
            changed = conn.execute(update(t.handoffs).where(and_(
                t.handoffs.c.id == handoff_id, t.handoffs.c.status == current.status)).values(
                status=to.value, **values)).rowcount
            if changed != 1:
                raise TransitionError("the handoff changed meanwhile; reload and try again")
            _record(conn, handoff_id, event, Status(current.status), to, actor, detail)
        view = self.get(handoff_id)
        self.publish({"type": f"handoff.{event}", "handoff": view.as_json()})
        return view

    def _view(self, row: Any) -> HandoffView:
        # A ticket from before teams (NULL), or of a team since taken out of the file, is the fallback team's.
        view = _view(row)
        return view if self.teams.get(view.team) else replace(view, team=self.teams.default.id)

    def _back_to_bot(self, conversation_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.conversations).where(t.conversations.c.id == conversation_id).values(mode="bot"))

    # --- reports -----------------------------------------------------------------------------
    def count_open(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.handoffs).where(
                t.handoffs.c.status.in_([s.value for s in machine.OPEN_STATUSES]))).scalar_one())


def _record(conn: Connection, handoff_id: int, event: str, source: Status | None, target: Status, actor: Actor,
            detail: dict[str, Any] | None = None) -> None:
    conn.execute(insert(t.handoff_events).values(
        handoff_id=handoff_id, event=event, from_status=source.value if source else None, to_status=target.value,
        actor=actor.name, detail=detail, at=now()))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _ticket(view: HandoffView) -> Ticket:
    return Ticket(Status(view.status), view.assignee, view.priority, view.team)


def _view(row: Any) -> HandoffView:
    return HandoffView(
        id=row.id, conversation_id=row.conversation_id, channel=row.channel, language=row.language, city=row.city,
        category=row.category, priority=row.priority, status=row.status, reason=row.reason, minor=row.minor,
        interpreter_needed=row.interpreter_needed, waiting_since=_aware(row.waiting_since), assignee=row.assignee,
        interpreter=row.interpreter, outcome=row.outcome, team=row.team,
    )
