"""Opening hours in Belgrade time, public holidays and exceptions."""

from __future__ import annotations

import datetime as dt

from service_directory.holidays import is_public_holiday, orthodox_easter, public_holidays
from service_directory.records import Schedule, ScheduleException, TimeSlot
from service_directory.schedule import BELGRADE, describe, is_open, next_opening

WEEKDAYS_10_20 = Schedule(
    weekly=tuple(TimeSlot(d, dt.time(10), dt.time(20)) for d in range(5)),
    closed_on_public_holidays=True,
    exceptions=(ScheduleException(dt.date(2026, 12, 1), True),
                ScheduleException(dt.date(2026, 12, 2), False, dt.time(12), dt.time(13))),
)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BELGRADE)


def test_open_in_working_hours_only() -> None:
    assert is_open(WEEKDAYS_10_20, at(2026, 11, 27, 10, 0))  # Friday
    assert not is_open(WEEKDAYS_10_20, at(2026, 11, 27, 20, 0))
    assert not is_open(WEEKDAYS_10_20, at(2026, 11, 28, 12, 0))  # Saturday


def test_utc_moments_are_judged_in_belgrade_time() -> None:
    # 09:30 UTC in winter is 10:30 in Belgrade
    assert is_open(WEEKDAYS_10_20, dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.timezone.utc))


def test_public_holidays_and_exceptions() -> None:
    assert not is_open(WEEKDAYS_10_20, at(2026, 11, 11, 12))  # Armistice Day
    assert not is_open(WEEKDAYS_10_20, at(2026, 12, 1, 12))  # dated closure
    assert is_open(WEEKDAYS_10_20, at(2026, 12, 2, 12, 30))
    assert not is_open(WEEKDAYS_10_20, at(2026, 12, 2, 15))


def test_next_opening_skips_weekend() -> None:
    assert next_opening(WEEKDAYS_10_20, at(2026, 11, 27, 21)) == at(2026, 11, 30, 10)
    assert next_opening(WEEKDAYS_10_20, at(2026, 11, 27, 11)) == at(2026, 11, 27, 11)


def test_always_open() -> None:
    assert is_open(Schedule(always_open=True), at(2026, 1, 1, 3))
    assert describe(Schedule(always_open=True)) == "24/7"
    assert describe(WEEKDAYS_10_20) == "mo-fr 10:00-20:00"


def test_orthodox_easter_and_holidays() -> None:
    assert orthodox_easter(2025) == dt.date(2025, 4, 20)
    assert orthodox_easter(2026) == dt.date(2026, 4, 12)
    assert is_public_holiday(dt.date(2026, 4, 10))  # Good Friday
    assert is_public_holiday(dt.date(2026, 4, 13))  # Easter Monday
    assert is_public_holiday(dt.date(2026, 1, 7))
    # 15 February 2026 is a Sunday: the 17th is the day off
    assert dt.date(2026, 2, 17) in public_holidays(2026)
    assert not is_public_holiday(dt.date(2026, 3, 3))
