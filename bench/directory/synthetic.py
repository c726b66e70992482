"""Synthetic service directories of any size, shaped like the curated one, for benchmarks.

Everything here is made up and says so: names start with "Synthetic", phone numbers use the
unassigned +381 00 prefix, URLs point at example.org. Nothing of it may ever reach a user.
The same seed and size always give the same directory.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import itertools
import random
from collections.abc import Sequence
from typing import Generic, TypeVar

from service_directory.categories import CATEGORY_CODES
from service_directory.curation import AUDIENCES, KINDS, PHONE_KINDS
from service_directory.places import NATIONAL, PLACES
from service_directory.records import (
    Location,
    Organisation,
    Phone,
    Schedule,
    ScheduleException,
    Service,
    Source,
    TimeSlot,
)

T = TypeVar("T")

#: How services spread over the places: Belgrade has most, the border towns and Niš/Novi Sad follow.
PLACE_WEIGHTS: dict[str, float] = {
    "belgrade": 30,
    "novi_sad": 8,
    "nis": 7,
    "subotica": 6,
    "sid": 5,
    "obrenovac": 4,
    "presevo": 4,
    "loznica": 3,
    "kikinda": 3,
    "sombor": 3,
    "vranje": 3,
    "pirot": 3,
    "sjenica": 2,
    "tutin": 2,
    "bujanovac": 2,
    "kanjiza": 2,
    "lajkovac": 2,
    "dimitrovgrad": 2,
    "bosilegrad": 1,
    "bela_palanka": 1,
}
#: Some categories are far more common than others (legal aid, information, health, psychosocial).
CATEGORY_WEIGHTS: dict[str, float] = {
    "legal_aid": 10,
    "information": 10,
    "health": 9,
    "psychosocial": 8,
    "shelter": 6,
    "food": 6,
    "clothing": 5,
    "education": 5,
    "child_protection": 4,
    "women_protection": 4,
    "documents": 4,
    "interpretation": 4,
    "work": 3,
    "family_tracing": 2,
    "anti_trafficking": 2,
    "emergency": 2,
}
#: Languages staff speak (ISO 639-1), with how often a service lists each.
LANGUAGE_WEIGHTS: dict[str, float] = {
    "sr": 10,
    "en": 9,
    "ar": 5,
    "fa": 5,
    "ps": 3,
    "ur": 2,
    "fr": 2,
    "ku": 1,
    "tr": 1,
    "ru": 1,
    "uk": 1,
}
STATUS_WEIGHTS: dict[str, float] = {
    "active": 94,
    "temporarily_closed": 3,
    "closed": 2,
    "inactive": 1,
}
TEXT_LANGUAGES = ("en", "sr", "ar", "fa", "ps")
JITTER_DEG = 0.03  # standard deviation of a street address around the town centre (about 3 km)

assert set(PLACE_WEIGHTS) == set(PLACES), "every place needs a weight"
assert set(CATEGORY_WEIGHTS) == set(CATEGORY_CODES), "every category needs a weight"


def generate(
    n_services: int, seed: int = 20261127, today: dt.date = dt.date(2026, 11, 1)
) -> list[Organisation]:
    """Organisations with exactly `n_services` services in total (1-5 each)."""
    was_enabled = gc.isenabled()
    gc.disable()  # a million small frozen records: the collector would rescan them again and again
    try:
        return _generate(n_services, random.Random(seed), today)
    finally:
        if was_enabled:
            gc.enable()


def _generate(n_services: int, rng: random.Random, today: dt.date) -> list[Organisation]:
    organisations: list[Organisation] = []
    made = 0
    org_number = 0
    while made < n_services:
        org_number += 1
        count = min(_services_per_org(rng), n_services - made)
        org_id = f"synth-org-{org_number:06d}"
        org_name = _texts(f"Synthetic Organisation {org_number}")
        home = _place(rng)
        services = tuple(
            _service(rng, f"synth-{made + i + 1:07d}", org_id, org_name, home, today)
            for i in range(count)
        )
        made += count
        organisations.append(
            Organisation(
                id=org_id,
                kind=_kind(rng),
                name=org_name,
                website=f"https://example.org/synthetic/{org_id}",
                email="",
                services=services,
                source_file=f"synthetic/{org_id}.yaml",
            )
        )
    return organisations


def _service(
    rng: random.Random, sid: str, org_id: str, org_name: dict[str, str], home: str, today: dt.date
) -> Service:
    hotline = rng.random() < 0.04  # phone-only, nationwide
    place = home if rng.random() < 0.7 else _place(rng)
    if hotline:
        locations: tuple[Location, ...] = ()
        area: tuple[str, ...] = (NATIONAL,)
    else:
        locations = tuple(
            _location(rng, f"{sid}-l{i}", place if i == 0 else _place(rng))
            for i in range(rng.choice((1, 1, 1, 2)))
        )
        # a tenth also serve a neighbouring place (mobile teams): found there through service_area
        area = tuple(sorted({place, _place(rng)})) if rng.random() < 0.1 else ()
    status = _status(rng)
    verified = today - dt.timedelta(days=rng.randrange(0, 3 * 365))
    return Service(
        id=sid,
        organisation_id=org_id,
        organisation_name=org_name,
        name=_texts(f"Synthetic service {sid}"),
        description={"en": "Synthetic entry for benchmarks; not a real service."},
        categories=tuple(_category.distinct(rng, _category_count(rng))),
        status=status,
        status_note={"en": "Synthetic status note."} if status != "active" else {},
        audience=tuple(rng.sample(AUDIENCES, _audience_count(rng))),
        languages=tuple(_language.distinct(rng, _language_count(rng))),
        phones=tuple(_phone(rng, hotline) for _ in range(1 if hotline else _phone_count(rng))),
        locations=locations,
        service_area=area,
        schedule=_schedule(rng, hotline),
        sources=tuple(
            Source(
                f"https://example.org/synthetic/{sid}/{i}",
                verified - dt.timedelta(days=30 * i),
                "synthetic",
            )
            for i in range(rng.choice((1, 1, 2)))
        ),
        last_verified=verified,
        age_min=0 if rng.random() < 0.05 else None,
        age_max=17 if rng.random() < 0.05 else None,
    )


def _location(rng: random.Random, loc_id: str, city: str) -> Location:
    centre = PLACES[city]
    if rng.random() < 0.2:  # address unknown: the town centre, flagged as such
        return Location(loc_id, city, centre.latitude, centre.longitude, "town")
    return Location(
        loc_id,
        city,
        round(centre.latitude + rng.gauss(0, JITTER_DEG), 5),
        round(centre.longitude + rng.gauss(0, JITTER_DEG * 1.4), 5),
        "street",
        address={"sr": f"Sintetička ulica {rng.randrange(1, 200)}"},
    )


def _phone(rng: random.Random, hotline: bool) -> Phone:
    # +381 00 is no area code: the numbers are fake on their face
    number = f"+381 00 {rng.randrange(100, 1000)} {rng.randrange(1000, 10000)}"
    kind = "hotline" if hotline else _phone_kind(rng)
    return Phone(number, kind)


_WEEKDAY_HOURS = ((8, 0, 16, 0), (9, 0, 17, 0), (7, 30, 15, 30), (10, 0, 18, 0), (9, 0, 13, 0))


def _schedule(rng: random.Random, hotline: bool) -> Schedule | None:
    if rng.random() >= (0.9 if hotline else 0.7):
        return None  # no source gives hours
    if rng.random() < (0.5 if hotline else 0.08):
        return Schedule(always_open=True)
    oh, om, ch, cm = rng.choice(_WEEKDAY_HOURS)
    days = range(5) if rng.random() < 0.8 else range(6)
    slots: list[TimeSlot] = []
    split = rng.random() < 0.1  # a lunch break
    for day in days:
        if split:
            slots.append(TimeSlot(day, dt.time(oh, om), dt.time(12, 0)))
            slots.append(TimeSlot(day, dt.time(13, 0), dt.time(ch, cm)))
        else:
            slots.append(TimeSlot(day, dt.time(oh, om), dt.time(ch, cm)))
    if rng.random() < 0.1:  # an evening drop-in
        slots.append(TimeSlot(rng.randrange(5), dt.time(18, 0), dt.time(21, 0)))
    exceptions: tuple[ScheduleException, ...] = ()
    if rng.random() < 0.15:
        exceptions = (
            ScheduleException(dt.date(2026, 12, 31), True),
            ScheduleException(dt.date(2026, 12, 24), False, dt.time(9, 0), dt.time(12, 0)),
        )
    return Schedule(
        always_open=False,
        weekly=tuple(slots),
        closed_on_public_holidays=rng.random() < 0.5,
        exceptions=exceptions,
    )


def _texts(english: str) -> dict[str, str]:
    return {lang: english if lang == "en" else f"{english} [{lang}]" for lang in TEXT_LANGUAGES}


class _Picker(Generic[T]):
    """Draws values with given weights (like random.choices, without re-summing them each time)."""

    def __init__(self, values: Sequence[T], weights: Sequence[float]) -> None:
        self.values = tuple(values)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def __call__(self, rng: random.Random) -> T:
        return self.values[bisect.bisect(self.cumulative, rng.random() * self.total)]

    def distinct(self, rng: random.Random, k: int) -> list[T]:
        """k distinct values, more common ones more likely."""
        chosen: list[T] = []
        while len(chosen) < k:
            value = self(rng)
            if value not in chosen:
                chosen.append(value)
        return chosen


_place = _Picker(list(PLACE_WEIGHTS), list(PLACE_WEIGHTS.values()))
_category = _Picker(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))
_language = _Picker(list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values()))
_status = _Picker(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))
_kind = _Picker(KINDS, (25, 60, 15))
_phone_kind = _Picker(PHONE_KINDS, (70, 5, 3, 10, 10, 2))
_services_per_org = _Picker((1, 2, 3, 4, 5), (35, 25, 18, 12, 10))
_category_count = _Picker((1, 2, 3), (50, 35, 15))
_audience_count = _Picker((0, 1, 2), (50, 35, 15))
_language_count = _Picker((0, 1, 2, 3, 4), (15, 20, 30, 20, 15))
_phone_count = _Picker((0, 1, 2, 3), (15, 50, 25, 10))
