"""What the console keeps beside the handoff tickets (private notes, referrals) and what it reports.

The programme report counts; it never names a person, a channel address or a message."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Engine

from bot.gateway import tables as t
from bot.handoff.teams import Teams
from service_directory import models as directory_models
from service_directory.schedule import BELGRADE

MAX_NOTE = 4000
MAX_REPORT_DAYS = 731


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.timezone.utc)  # SQLite forgets the zone; we only write UTC


def _iso(moment: dt.datetime | None) -> str | None:
    moment = _aware(moment)
    return moment.isoformat() if moment else None


# --- notes and referrals -----------------------------------------------------------------------
def add_note(engine: Engine, handoff_id: int, author: str, text: str) -> dict[str, Any]:
    moment = now()
    with engine.begin() as conn:
        note_id = conn.execute(
            insert(t.notes).values(
                handoff_id=handoff_id, author=author, text=text, created_at=moment
            )
        ).inserted_primary_key[0]
    return {"id": note_id, "author": author, "text": text, "at": moment.isoformat()}


def notes(engine: Engine, handoff_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.notes).where(t.notes.c.handoff_id == handoff_id).order_by(t.notes.c.id)
        ).all()
    return [
        {"id": r.id, "author": r.author, "text": r.text, "at": _iso(r.created_at)} for r in rows
    ]


def add_referral(
    engine: Engine,
    handoff_id: int,
    service_id: str,
    category: str | None,
    city: str | None,
    language: str | None,
    counsellor: str,
) -> dict[str, Any]:
    moment = now()
    with engine.begin() as conn:
        referral_id = conn.execute(
            insert(t.referrals).values(
                handoff_id=handoff_id,
                service_id=service_id,
                category=category,
                city=city,
                language=language,
                counsellor=counsellor,
                created_at=moment,
            )
        ).inserted_primary_key[0]
    return {
        "id": referral_id,
        "service_id": service_id,
        "category": category,
        "city": city,
        "language": language,
        "counsellor": counsellor,
        "at": moment.isoformat(),
    }


def referrals(engine: Engine, handoff_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.referrals)
            .where(t.referrals.c.handoff_id == handoff_id)
            .order_by(t.referrals.c.id)
        ).all()
    return [
        {
            "id": r.id,
            "service_id": r.service_id,
            "category": r.category,
            "city": r.city,
            "language": r.language,
            "counsellor": r.counsellor,
            "at": _iso(r.created_at),
        }
        for r in rows
    ]


def handoff_times(engine: Engine, handoff_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                t.handoffs.c.claimed_at,
                t.handoffs.c.first_reply_at,
                t.handoffs.c.closed_at,
                t.handoffs.c.phone_revealed,
            ).where(t.handoffs.c.id == handoff_id)
        ).first()
    if row is None:
        return {}
    return {
        "claimed_at": _iso(row.claimed_at),
        "first_reply_at": _iso(row.first_reply_at),
        "closed_at": _iso(row.closed_at),
        "phone_revealed": bool(row.phone_revealed),
    }


# --- the supervisor's live overview ------------------------------------------------------------
def overview(engine: Engine, queue: list[Any], online: list[str], teams: Teams | None = None) -> dict[str, Any]:
    """Queue length and waiting times per language, per team and per team and language (each ticket
    counts in the team it was routed to), each team's hours now, and who is online."""
    moment = now()
    with engine.connect() as conn:
        users = conn.execute(select(t.users).where(t.users.c.active.is_(True))).all()
    known = {team.id: team for team in teams.teams} if teams else {}

    def member_of(account_team: str | None) -> str | None:
        return teams.member_of(account_team).id if teams else account_team

    def bucket(**facts: Any) -> dict[str, Any]:
        return {**facts, "waiting": 0, "assigned": 0, "urgent": 0, "waits": []}

    def team_bucket(team_id: str) -> dict[str, Any]:
        team = known.get(team_id)
        present = sum(1 for u in users if u.username in online and member_of(u.team) == team_id)
        return bucket(team=team_id, label=team.name if team else team_id, in_hours=team.in_hours() if team else None,
                      online=present)

    by_language: dict[str, dict[str, Any]] = {}
    by_team: dict[str, dict[str, Any]] = {team_id: team_bucket(team_id) for team_id in known}
    by_team_language: dict[str, dict[str, Any]] = {}
    for view in queue:
        wait = max(0.0, (moment - _aware(view.waiting_since)).total_seconds())  # type: ignore[operator]
        team_id = view.team or "unrouted"
        language = view.language or "unknown"
        team = by_team.setdefault(team_id, team_bucket(team_id))
        pair = by_team_language.setdefault(f"{team['label']} · {language}", bucket(team=team_id, language=language))
        for target in (by_language.setdefault(language, bucket()), team, pair):
            target[view.status] += 1
            target["urgent"] += view.priority == "urgent"
            if view.status == "waiting":
                target["waits"].append(wait)

    def finish(groups: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for name, group in sorted(groups.items()):
            waits = group.pop("waits")
            out.append(
                {
                    "name": name,
                    **group,
                    "longest_wait_seconds": round(max(waits), 1) if waits else 0,
                    "median_wait_seconds": round(statistics.median(waits), 1) if waits else 0,
                }
            )
        return out

    people = []
    for u in sorted(users, key=lambda r: r.username):
        if u.username in online:
            assigned = sum(1 for v in queue if v.assignee == u.username)
            people.append(
                {
                    "username": u.username,
                    "role": u.role,
                    "team": member_of(u.team),
                    "languages": [c for c in (u.languages or "").split(",") if c],
                    "last_seen_at": _iso(u.last_seen_at),
                    "assigned": assigned,
                }
            )
    return {
        "queue_length": sum(1 for v in queue if v.status == "waiting"),
        "open": len(queue),
        "by_language": finish(by_language),
        "by_team": finish(by_team),
        "by_team_language": finish(by_team_language),
        "online": people,
        "at": moment.isoformat(),
    }


# --- the programme report ----------------------------------------------------------------------
class ReportError(ValueError):
    """A bad period; the message says why."""


def period(
    start: str | None, end: str | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """Dates (Belgrade days, both included); by default the last 30 days."""
    today = today or dt.datetime.now(BELGRADE).date()
    try:
        last = dt.date.fromisoformat(end) if end else today
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=29)
    except ValueError:
        raise ReportError("from and to must be dates written YYYY-MM-DD") from None
    if first > last:
        raise ReportError("from must not be after to")
    if (last - first).days >= MAX_REPORT_DAYS:
        raise ReportError(f"a report covers at most {MAX_REPORT_DAYS} days")
    return first, last


def _bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), BELGRADE).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), BELGRADE).astimezone(
        dt.timezone.utc
    )
    return start, end


def _counts(values: list[Any]) -> dict[str, int]:
    counted = Counter("unknown" if v is None or v == "" else str(v) for v in values)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def report(engine: Engine, first: dt.date, last: dt.date) -> dict[str, Any]:
    start, end = _bounds(first, last)
    unmet = directory_models.UnmetNeed.__table__
    with engine.connect() as conn:
        handoffs = conn.execute(
            select(t.handoffs).where(
                and_(t.handoffs.c.waiting_since >= start, t.handoffs.c.waiting_since < end)
            )
        ).all()
        referred = conn.execute(
            select(t.referrals).where(
                and_(t.referrals.c.created_at >= start, t.referrals.c.created_at < end)
            )
        ).all()
        needs = conn.execute(
            select(unmet).where(and_(unmet.c.created_at >= start, unmet.c.created_at < end))
        ).all()
    waits = sorted(
        (_aware(h.first_reply_at) - _aware(h.waiting_since)).total_seconds()  # type: ignore[operator]
        for h in handoffs
        if h.first_reply_at is not None
    )
    minors = [h for h in handoffs if h.minor]
    combos = Counter(
        (n.category or "unknown", n.place or "unknown", n.language or "unknown") for n in needs
    )
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": "Europe/Belgrade",
        "handoffs": {
            "count": len(handoffs),
            "by_reason": _counts([h.reason for h in handoffs]),
            "by_priority": _counts([h.priority for h in handoffs]),
            "by_language": _counts([h.language for h in handoffs]),
            "by_place": _counts([h.city for h in handoffs]),
            "by_channel": _counts([h.channel for h in handoffs]),
            "by_category": _counts([h.category for h in handoffs]),
            "by_outcome": _counts([h.outcome or h.status for h in handoffs]),
        },
        "referrals": {
            "count": len(referred),
            "by_category": _counts([r.category for r in referred]),
            "by_place": _counts([r.city for r in referred]),
            "by_language": _counts([r.language for r in referred]),
        },
        "first_reply": {
            "answered": len(waits),
            "median_seconds": round(statistics.median(waits), 1) if waits else None,
        },
        "unmet_needs": {
            "count": len(needs),
            "by_category": _counts([n.category for n in needs]),
            "by_place": _counts([n.place for n in needs]),
            "by_language": _counts([n.language for n in needs]),
            "combinations": [
                {"category": c, "place": p, "language": lang, "count": n}
                for (c, p, lang), n in sorted(combos.items(), key=lambda i: (-i[1], i[0]))
            ],
        },
        "minors": {
            "count": len(minors),
            "by_place": _counts([h.city for h in minors]),
            "by_language": _counts([h.language for h in minors]),
        },
    }


def _cell(value: Any) -> Any:
    # Spreadsheets run cells that start with = + - @ as formulas: keep every text cell inert.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(data: dict[str, Any]) -> str:
    """The report as one long table: section, dimension, key, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "dimension", "key", "value"])
    writer.writerow(["period", "from", "", data["from"]])
    writer.writerow(["period", "to", "", data["to"]])
    for section in ("handoffs", "referrals", "unmet_needs", "minors"):
        block = data[section]
        writer.writerow([section, "count", "", block["count"]])
        for dimension, counts in block.items():
            if dimension.startswith("by_"):
                for key, value in counts.items():
                    writer.writerow([section, dimension[3:], _cell(key), value])
    for combo in data["unmet_needs"]["combinations"]:
        key = f"{combo['category']}/{combo['place']}/{combo['language']}"
        writer.writerow(["unmet_needs", "category/place/language", _cell(key), combo["count"]])
    first = data["first_reply"]
    writer.writerow(["first_reply", "answered", "", first["answered"]])
    median = first["median_seconds"]
    writer.writerow(["first_reply", "median_seconds", "", "" if median is None else median])
    return out.getvalue()
