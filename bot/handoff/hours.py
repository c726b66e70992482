"""Counsellors' working hours (Europe/Belgrade, closed on public holidays) and when they answer next."""

from __future__ import annotations

import datetime as dt

from service_directory.records import Schedule, TimeSlot
from service_directory.schedule import is_open, next_opening

DEFAULT_HOURS = "mo-fr 08:00-20:00; sa 10:00-16:00"
_DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")


def parse_hours(text: str, source: str = "PUTOKAZ_TEAM_HOURS") -> Schedule:
    """'mo-fr 08:00-20:00; sa 10:00-16:00' -> a Schedule closed on Serbian public holidays.

    A ValueError names `source` (the setting or file field the text came from)."""
    slots = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days, hours = part.split()
            opens, closes = (dt.time.max if h == "24:00" else dt.time.fromisoformat(h) for h in hours.split("-"))
            first, _, last = days.partition("-")
            start, end = _DAYS.index(first), _DAYS.index(last or first)
        except ValueError:
            raise ValueError(f"{source}: cannot read {part!r}; write e.g. 'mo-fr 08:00-20:00'") from None
        slots.extend(TimeSlot(d, opens, closes) for d in range(start, end + 1))
    return Schedule(weekly=tuple(slots), closed_on_public_holidays=True)


def in_hours(schedule: Schedule, at: dt.datetime | None = None) -> bool:
    return is_open(schedule, at)


def next_answer(schedule: Schedule, at: dt.datetime | None = None) -> dt.datetime | None:
    return next_opening(schedule, at)
