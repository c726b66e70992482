"""Serbian public holidays on which offices close (Law on State and Other Holidays)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


def orthodox_easter(year: int) -> dt.date:
    """Orthodox Easter Sunday in the Gregorian calendar (Meeus' Julian algorithm)."""
    a, b, c = year % 4, year % 7, year % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month, day = divmod(d + e + 114, 31)
    julian = dt.date(year, month, day + 1)
    return julian + dt.timedelta(days=13)  # valid 1900-2099


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[dt.date]:
    """Non-working public holidays of one year, with the Monday after one falling on a Sunday."""
    fixed = [
        dt.date(year, 1, 1), dt.date(year, 1, 2),  # New Year
        dt.date(year, 2, 15), dt.date(year, 2, 16),  # Statehood Day
        dt.date(year, 5, 1), dt.date(year, 5, 2),  # Labour Day
        dt.date(year, 11, 11),  # Armistice Day
    ]
    days = set(fixed)
    for day in fixed:
        if day.weekday() == 6:  # a Sunday holiday moves the day off to Monday
            day_off = day + dt.timedelta(days=1)
            while day_off in days:
                day_off += dt.timedelta(days=1)
            days.add(day_off)
    days.add(dt.date(year, 1, 7))  # Orthodox Christmas (not moved)
    easter = orthodox_easter(year)
    days.update(easter + dt.timedelta(days=k) for k in (-2, -1, 0, 1))  # Good Friday .. Easter Monday
    return frozenset(days)


def is_public_holiday(day: dt.date) -> bool:
    return day in public_holidays(day.year)
