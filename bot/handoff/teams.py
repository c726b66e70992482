"""Teams of counsellors and interpreters: where they serve, what languages they cover, their hours.

Read from a small YAML file (PUTOKAZ_TEAMS_FILE; bundled default: one team for everyone, so one
machine with no settings works as before). A new handoff goes to one team (`Teams.route`): the
team with the needs it has (e.g. child protection), then the team of its place, then one that speaks
its language, then the fallback team. Every problem in the file names its file, line, team and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.handoff.hours import DEFAULT_HOURS, parse_hours
from service_directory import CATEGORY_CODES, LANGUAGES, PLACE_SLUGS, Problem
from service_directory.curation import read_with_lines
from service_directory.records import Schedule, ScheduleException
from service_directory.schedule import is_open, next_opening

DEFAULT_TEAMS_FILE = Path(__file__).parent / "teams.yml"
TEAM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
EVERYWHERE = "all"
FIELDS = ("id", "name", "places", "languages", "needs", "hours", "closed", "fallback")


class TeamsError(ValueError):
    """The teams file has problems; the message lists each with file, line, team and field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    places: frozenset[str]  # city slugs; empty when the team serves everywhere
    everywhere: bool
    languages: tuple[str, ...]
    hours: str  # parse_hours syntax, Europe/Belgrade
    schedule: Schedule  # the hours, closed on Serbian public holidays and on `closed` dates
    needs: frozenset[str] = frozenset()  # category codes the team takes first, e.g. child_protection
    closed: tuple[dt.date, ...] = ()
    fallback: bool = False

    def serves(self, city: str | None) -> bool:
        return self.everywhere or (city is not None and city in self.places)

    def in_hours(self, at: dt.datetime | None = None) -> bool:
        return is_open(self.schedule, at)

    def next_answer(self, at: dt.datetime | None = None) -> dt.datetime | None:
        """When the team next works (the moment itself when it works now), within two weeks."""
        return next_opening(self.schedule, at)

    def as_json(self, at: dt.datetime | None = None) -> dict[str, Any]:
        following = self.next_answer(at)
        return {
            "id": self.id, "name": self.name, "places": EVERYWHERE if self.everywhere else sorted(self.places),
            "languages": list(self.languages), "needs": sorted(self.needs), "hours": self.hours,
            "closed": [d.isoformat() for d in self.closed], "fallback": self.fallback,
            "in_hours": self.in_hours(at), "next_answer": following.isoformat() if following else None,
        }


@dataclass(frozen=True)
class Teams:
    teams: tuple[Team, ...]
    source: str  # the file they were read from

    @property
    def default(self) -> Team:
        return next(t for t in self.teams if t.fallback)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.teams)

    def get(self, team_id: str | None) -> Team | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def member_of(self, account_team: str | None) -> Team:
        """The team an account works in: its own, or the fallback team for an account without one."""
        return self.get(account_team) or self.default

    def route(self, city: str | None, language: str | None, needs: Iterable[str] = ()) -> Team:
        """The team for a new handoff. Teams that serve its place (or everywhere) and the fallback
        team compete; the first in the file wins among equals."""
        wanted = frozenset(needs)
        candidates = [t for t in self.teams if t.serves(city) or t.fallback]

        def fit(team: Team) -> tuple[int, bool, bool, bool]:
            return (len(wanted & team.needs), city is not None and city in team.places,
                    language in team.languages, team.fallback)

        return max(candidates, key=fit)  # max keeps the first of equal candidates


def needs_of(reason: str | None, category: str | None) -> frozenset[str]:
    """What a handoff needs beside a language: its category, and child protection for a child alone."""
    needs = {category} if category else set()
    if reason == "child_alone":
        needs.add("child_protection")
    return frozenset(needs)


# --- reading the file ------------------------------------------------------------------------------
class _Reader:
    def __init__(self, file: str, default_hours: str) -> None:
        self.file = file
        self.default_hours = default_hours
        self.problems: list[Problem] = []

    def problem(self, node: dict[str, Any], entry: str, field: str, message: str) -> None:
        line = node.get("__lines__", {}).get(field, node.get("__line__", 0))
        self.problems.append(Problem(self.file, line, entry, field, message))

    def codes(self, node: dict[str, Any], entry: str, field: str, known: Iterable[str]) -> list[str]:
        value = node.get(field)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(node, entry, field, "must be a list of codes")
            return []
        allowed = frozenset(known)
        unknown = [v for v in value if v not in allowed]
        if unknown:
            self.problem(node, entry, field, f"unknown code {unknown[0]!r}; known: {', '.join(sorted(allowed))}")
        return [v for v in value if v in allowed]

    def team(self, node: Any, index: int, parent: dict[str, Any]) -> Team | None:
        if not isinstance(node, dict):
            self.problem(parent, f"teams[{index}]", "teams", f"entry {index + 1} must be a mapping (id, name, ...)")
            return None
        before = len(self.problems)
        team_id = node.get("id")
        entry = team_id if isinstance(team_id, str) and team_id else f"teams[{index}]"
        for key in node.get("__lines__", {}):
            if key not in FIELDS:
                self.problem(node, entry, key, f"unknown field; known: {', '.join(FIELDS)}")
        if not isinstance(team_id, str) or not TEAM_ID.match(team_id):
            self.problem(node, entry, "id", "is required: 1-32 lowercase letters, digits, _ or -")
        name = node.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(node, entry, "name", "is required (the team's name as counsellors know it)")
        places_value = node.get("places")
        everywhere = places_value == EVERYWHERE
        places: list[str] = []
        if not everywhere:
            if places_value is None:
                self.problem(node, entry, "places", f"is required: a list of place slugs, or {EVERYWHERE!r}")
            places = self.codes(node, entry, "places", PLACE_SLUGS)
        languages = self.codes(node, entry, "languages", LANGUAGES)
        if not languages and "languages" not in [p.field for p in self.problems[before:]]:
            self.problem(node, entry, "languages", f"list at least one of {', '.join(LANGUAGES)}")
        needs = self.codes(node, entry, "needs", CATEGORY_CODES)
        hours = node.get("hours", self.default_hours)
        schedule = Schedule()
        if not isinstance(hours, str) or not hours.strip():
            self.problem(node, entry, "hours", "must be text such as 'mo-fr 08:00-20:00; sa 10:00-16:00'")
        else:
            try:
                schedule = parse_hours(hours, "hours")
            except ValueError as exc:
                self.problem(node, entry, "hours", str(exc).removeprefix("hours: "))
            else:
                backwards = next((s for s in schedule.weekly if s.opens >= s.closes), None)
                if backwards is not None:
                    self.problem(node, entry, "hours", f"{backwards.opens:%H:%M}-{backwards.closes:%H:%M} ends "
                                 "before it starts; a night shift is two parts, e.g. 'mo 20:00-24:00; tu 00:00-08:00'")
        closed = self.dates(node, entry)
        fallback = node.get("fallback", False)
        if not isinstance(fallback, bool):
            self.problem(node, entry, "fallback", "must be true or false")
        if len(self.problems) > before:
            return None
        schedule = replace(schedule, exceptions=tuple(ScheduleException(day, closed=True) for day in closed))
        return Team(id=str(team_id), name=str(name).strip(), places=frozenset(places), everywhere=everywhere,
                    languages=tuple(languages), hours=str(hours).strip(), schedule=schedule, needs=frozenset(needs),
                    closed=tuple(closed), fallback=bool(fallback))

    def dates(self, node: dict[str, Any], entry: str) -> list[dt.date]:
        value = node.get("closed") or []
        if not isinstance(value, list):
            self.problem(node, entry, "closed", "must be a list of dates (YYYY-MM-DD)")
            return []
        days = []
        for item in value:
            try:
                days.append(dt.date.fromisoformat(str(item)))
            except ValueError:
                self.problem(node, entry, "closed", f"{item!r} is not a date (YYYY-MM-DD)")
        return days


def load_teams(path: Path | None = None, default_hours: str = DEFAULT_HOURS) -> Teams:
    """The teams of a file (the bundled default when None); raises TeamsError listing every problem.
    A team without `hours` works `default_hours` (PUTOKAZ_TEAM_HOURS)."""
    file = path or DEFAULT_TEAMS_FILE
    name = str(file)
    data, unreadable = read_with_lines(file, name)
    if unreadable is not None:
        raise TeamsError([unreadable])
    if not isinstance(data, dict) or not isinstance(data.get("teams"), list) or not data["teams"]:
        line = data.get("__line__", 1) if isinstance(data, dict) else 1
        raise TeamsError([Problem(name, line, "-", "teams", "the file must be a mapping with a list of teams")])
    reader = _Reader(name, default_hours)
    teams = [team for i, node in enumerate(data["teams"]) if (team := reader.team(node, i, data))]
    seen: set[str] = set()
    for node in data["teams"]:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            if node["id"] in seen:
                reader.problem(node, node["id"], "id", "another team above has this id")
            seen.add(node["id"])
    if not reader.problems:
        fallbacks = [t for t in teams if t.fallback]
        if len(teams) == 1 and not fallbacks:
            teams = [replace(teams[0], fallback=True)]  # one team is everyone's
        elif len(fallbacks) != 1:
            line = data["__lines__"].get("teams", 1)
            named = ", ".join(t.id for t in fallbacks) or "none"
            reader.problems.append(Problem(name, line, "-", "fallback", f"exactly one team must have `fallback: true` "
                                           f"(the team for places no team serves); now: {named}"))
    if reader.problems:
        raise TeamsError(reader.problems)
    return Teams(tuple(teams), name)
