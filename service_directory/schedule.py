"""Opening hours: is a service open at a moment, and when does it open next (Europe/Belgrade)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .holidays import is_public_holiday
from .records import Schedule, TimeSlot

BELGRADE = ZoneInfo("Europe/Belgrade")
END_OF_DAY = 24 * 60
WEEKDAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")


def minutes(t: dt.time) -> int:
    """Minutes since midnight; time.max stands for 24:00."""
    return END_OF_DAY if t == dt.time.max else t.hour * 60 + t.minute


def to_time(minute: int) -> dt.time:
    return dt.time.max if minute >= END_OF_DAY else dt.time(minute // 60, minute % 60)


def local(at: dt.datetime | None) -> dt.datetime:
    """A moment in Belgrade time; naive datetimes are taken as Belgrade time already."""
    if at is None:
        return dt.datetime.now(BELGRADE)
    if at.tzinfo is None:
        return at.replace(tzinfo=BELGRADE)
    return at.astimezone(BELGRADE)


def intervals_on(schedule: Schedule, day: dt.date) -> list[tuple[int, int]]:
    """Opening intervals of one day, in minutes since midnight."""
    if schedule.always_open:
        return [(0, END_OF_DAY)]
    for exception in schedule.exceptions:
        if exception.date == day:
            if exception.closed or exception.opens is None or exception.closes is None:
                return []
            return [(minutes(exception.opens), minutes(exception.closes))]
    if schedule.closed_on_public_holidays and is_public_holiday(day):
        return []
    return sorted(
        (minutes(slot.opens), minutes(slot.closes))
        for slot in schedule.weekly
        if slot.weekday == day.weekday()
    )


def is_open(schedule: Schedule, at: dt.datetime | None = None) -> bool:
    moment = local(at)
    minute = moment.hour * 60 + moment.minute
    return any(start <= minute < end for start, end in intervals_on(schedule, moment.date()))


def next_opening(schedule: Schedule, at: dt.datetime | None = None, horizon_days: int = 14) -> dt.datetime | None:
    """The next moment the service opens (now if it is open), or None within the horizon."""
    moment = local(at)
    for offset in range(horizon_days + 1):
        day = moment.date() + dt.timedelta(days=offset)
        for start, end in intervals_on(schedule, day):
            begin = dt.datetime.combine(day, dt.time()).replace(tzinfo=BELGRADE) + dt.timedelta(minutes=start)
            finish = dt.datetime.combine(day, dt.time()).replace(tzinfo=BELGRADE) + dt.timedelta(minutes=end)
            if finish > moment:
                return max(begin, moment)
    return None


def overlapping(slots: tuple[TimeSlot, ...]) -> list[tuple[TimeSlot, TimeSlot]]:
    """Pairs of weekly slots on the same day that overlap (an impossible schedule)."""
    pairs = []
    for i, a in enumerate(slots):
        for b in slots[i + 1:]:
            if a.weekday == b.weekday and minutes(a.opens) < minutes(b.closes) and minutes(b.opens) < minutes(a.closes):
                pairs.append((a, b))
    return pairs


def describe(schedule: Schedule) -> str:
    """Compact hours, e.g. 'mo-fr 07:00-14:30' or '24/7' (language-neutral, for tables)."""
    if schedule.always_open:
        return "24/7"
    by_hours: dict[tuple[int, int], list[int]] = {}
    for slot in schedule.weekly:
        by_hours.setdefault((minutes(slot.opens), minutes(slot.closes)), []).append(slot.weekday)
    parts = []
    for (start, end), days in sorted(by_hours.items(), key=lambda item: min(item[1])):
        parts.append(f"{day_ranges(sorted(set(days)))} {clock(start)}-{clock(end)}")
    return "; ".join(parts)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def day_ranges(days: list[int]) -> str:
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs)
