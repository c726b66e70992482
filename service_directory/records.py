"""Frozen records that the query API returns: never ORM objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

Texts = dict[str, str]  # language code -> text


def pick(texts: Texts, language: str) -> str:
    """The text in `language`, falling back to English, then to any language there is."""
    if language in texts and texts[language]:
        return texts[language]
    if texts.get("en"):
        return texts["en"]
    return next((t for t in texts.values() if t), "")


@dataclass(frozen=True)
class Phone:
    number: str
    kind: str = "voice"
    note: Texts = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    url: str
    date: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class TimeSlot:
    weekday: int  # 0 = Monday
    opens: dt.time
    closes: dt.time  # 24:00 is stored as time.max


@dataclass(frozen=True)
class ScheduleException:
    date: dt.date
    closed: bool
    opens: dt.time | None = None
    closes: dt.time | None = None


@dataclass(frozen=True)
class Schedule:
    always_open: bool = False
    weekly: tuple[TimeSlot, ...] = ()
    closed_on_public_holidays: bool = False
    exceptions: tuple[ScheduleException, ...] = ()
    note: Texts = field(default_factory=dict)


@dataclass(frozen=True)
class Location:
    id: str
    city: str
    latitude: float | None
    longitude: float | None
    precision: str = "town"
    address: Texts = field(default_factory=dict)
    directions: Texts = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    id: str
    organisation_id: str
    organisation_name: Texts
    name: Texts
    description: Texts
    categories: tuple[str, ...]
    status: str
    status_note: Texts
    audience: tuple[str, ...]
    languages: tuple[str, ...]
    phones: tuple[Phone, ...]
    locations: tuple[Location, ...]
    service_area: tuple[str, ...]
    schedule: Schedule | None
    sources: tuple[Source, ...]
    last_verified: dt.date
    email: str = ""
    url: str = ""
    age_min: int | None = None
    age_max: int | None = None

    @property
    def city(self) -> str:
        """The place slug people associate with the service: its first location, else its area."""
        if self.locations:
            return self.locations[0].city
        return self.service_area[0] if self.service_area else "national"


@dataclass(frozen=True)
class SearchHit:
    """One search result with what the ranking found out about it."""

    service: Service
    distance_km: float | None  # from the point asked about, to the nearest location
    open_now: bool | None  # None when the directory has no opening hours
    matched_place: bool  # the service is in (or serves) the place asked about
    temporarily_closed: bool


@dataclass(frozen=True)
class Organisation:
    id: str
    kind: str
    name: Texts
    website: str = ""
    email: str = ""
    services: tuple[Service, ...] = ()
    source_file: str = ""
