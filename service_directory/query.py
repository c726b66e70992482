"""The typed query API: find services by category, place, distance, opening hours, language, audience."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, literal_column, select, union_all
from sqlalchemy.engine import Connection, Engine

from . import index
from . import models as m
from .categories import CATEGORY_CODES
from .curation import AUDIENCES
from .index import distance_km as distance_km  # public here, as before
from .places import PLACE_SLUGS
from .records import (
    Location,
    Phone,
    Schedule,
    ScheduleException,
    SearchHit,
    Service,
    Source,
    TimeSlot,
)
from .schedule import local, to_time

_CHUNK = 900  # ids per IN (...) list: below SQLite's oldest limit of 999 bound parameters

# Records are read as plain rows with Core statements built once (below, with bound parameters):
# handling ORM rows, and building and hashing a new statement per call, cost more than the SQL itself.
_service = m.ServiceRow.__table__
_org = m.Organisation.__table__
_category = m.ServiceCategory.__table__
_audience = m.ServiceAudience.__table__
_language = m.ServiceLanguage.__table__
_area = m.ServiceArea.__table__
_phone = m.PhoneRow.__table__
_source = m.SourceRow.__table__
_location = m.LocationRow.__table__
_at = m.ServiceAtLocation.__table__
_schedule = m.ScheduleRow.__table__
_slot = m.ScheduleSlot.__table__
_exception = m.ScheduleExceptionRow.__table__


class UnknownCode(ValueError):
    """A category, place or audience code that the directory does not know."""


@dataclass(frozen=True)
class Query:
    category: str | None = None
    place: str | None = None
    near: tuple[float, float] | None = None  # latitude, longitude
    language: str | None = None  # a language the staff speak
    audience: str | None = None
    open_at: dt.datetime | None = None  # when to judge "open now"; None means now
    only_open: bool = False
    include_temporarily_closed: bool = True
    limit: int = 5
    offset: int = 0

    def check(self) -> None:
        if self.category is not None and self.category not in CATEGORY_CODES:
            raise UnknownCode(f"unknown category {self.category!r}; known: {', '.join(sorted(CATEGORY_CODES))}")
        if self.place is not None and self.place not in PLACE_SLUGS:
            raise UnknownCode(f"unknown place {self.place!r}; known: {', '.join(sorted(PLACE_SLUGS))}")
        if self.audience is not None and self.audience not in AUDIENCES:
            raise UnknownCode(f"unknown audience {self.audience!r}; known: {', '.join(AUDIENCES)}")
        if self.near is not None:
            lat, lon = self.near
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise UnknownCode(f"({lat}, {lon}) is not a point on Earth")
        if self.limit < 1 or self.offset < 0:
            raise ValueError("limit must be at least 1 and offset not negative")


def search(engine: Engine, query: Query) -> list[SearchHit]:
    """Services matching the query, best first: place, then distance, open now, recently verified, id.

    Candidates are the visible services (active, and temporarily closed unless left out) that match
    every code filter. With a place: those with a location in it (tier 0), those whose service area
    lists it (tier 1) and national ones (tier 2); with a point only, national ones (tier 2) and those
    with a location within 30 km (tier 0). Services with a location in a box around the point (the
    place's centre when no point is given) come next (tier 3): the smallest box of 0.5, 1.5 and 4
    degrees that holds enough candidates for the page, else everywhere. A candidate's distance is to
    its nearest location in that box. They are ranked by the key (tier, temporarily closed, distance
    in 5 km steps, open now / unknown / closed, last verified descending, id); with only_open only
    those open at the moment are kept. The service id as the last key makes the order the same on
    every backend (before, equal keys came in whatever order the database returned the rows).

    The ranking runs on an in-process index of the visible services (service_directory.index);
    full records are read from the database for the page only.
    """
    query.check()
    moment = local(query.open_at)
    for attempt in range(2):
        with engine.connect() as conn:
            page = index.current(engine, conn).rank(query, moment)
            services = {s.id: s for s in _load(conn, [r.id for r in page])}
        if len(services) == len(page) or attempt:
            break
        index.forget(engine)  # some were removed since the index was checked: check again
    return [
        SearchHit(service=services[r.id], distance_km=None if r.distance_km is None else round(r.distance_km, 1),
                  open_now=r.open_now, matched_place=r.tier < 3, temporarily_closed=r.temporarily_closed)
        for r in page if r.id in services
    ]


def get_service(engine: Engine, service_id: str) -> Service | None:
    with engine.connect() as conn:
        found = _load(conn, [service_id])
    return found[0] if found else None


def all_services(engine: Engine) -> list[Service]:
    """Every service, closed ones too (for export)."""
    with engine.connect() as conn:
        ids = list(conn.execute(select(_service.c.id).order_by(_service.c.id)).scalars())
        return _load(conn, ids)


def record_unmet_need(engine: Engine, category: str | None, place: str | None, language: str | None,
                      at: dt.datetime | None = None) -> None:
    """Remember that a search found nothing, without anything about the person."""
    with engine.begin() as conn:
        conn.execute(m.UnmetNeed.__table__.insert(), [{
            "category": category, "place": place, "language": language,
            "created_at": (at or dt.datetime.now(dt.timezone.utc)),
        }])


def _ids() -> Any:
    return bindparam("ids", expanding=True)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start: start + _CHUNK]


def _schedules(conn: Connection, service_ids: list[str]) -> dict[str, Schedule]:
    result: dict[str, Schedule] = {}
    for chunk in _chunks(service_ids):
        rows = conn.execute(_S.schedules, {"ids": chunk}).all()
        if not rows:
            continue
        ids = [r[0] for r in rows]
        slots = defaultdict(list)
        for sched_id, weekday, opens, closes in conn.execute(_S.slots, {"ids": ids}):
            slots[sched_id].append(TimeSlot(weekday, to_time(opens), to_time(closes)))
        exceptions = defaultdict(list)
        for sched_id, day, closed, opens, closes in conn.execute(_S.exceptions, {"ids": ids}):
            exceptions[sched_id].append(ScheduleException(
                day, closed, None if opens is None else to_time(opens), None if closes is None else to_time(closes)))
        for sched_id, service_id, always, holidays, note in rows:
            result[service_id] = Schedule(always_open=always, weekly=tuple(sorted(slots[sched_id], key=lambda t: (t.weekday, t.opens))),
                                          closed_on_public_holidays=holidays, exceptions=tuple(exceptions[sched_id]),
                                          note=note or {})
    return result


def _load(conn: Connection, ids: list[str]) -> list[Service]:
    by_id: dict[str, Service] = {}
    for chunk in _chunks(ids):
        by_id.update(_load_chunk(conn, chunk))
    return [by_id[i] for i in ids if i in by_id]


def _load_chunk(conn: Connection, ids: list[str]) -> dict[str, Service]:
    params = {"ids": ids}
    rows = conn.execute(_S.services, params).all()
    if not rows:
        return {}
    codes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for sid, kind, code in conn.execute(_S.codes, params):
        codes[sid][kind].append(code)
    phones = defaultdict(list)
    for sid, number, kind, note in conn.execute(_S.phones, params):
        phones[sid].append(Phone(number, kind, note or {}))
    sources = defaultdict(list)
    for sid, url, day, note in conn.execute(_S.sources, params):
        sources[sid].append(Source(url, day, note))
    locations = defaultdict(list)
    for sid, loc_id, city, lat, lon, precision, address, directions in conn.execute(_S.locations, params):
        locations[sid].append(Location(loc_id, city, lat, lon, precision, address or {}, directions or {}))
    schedules = _schedules(conn, ids)
    result = {}
    for (sid, org_id, org_name, name, description, status, status_note, last_verified, email, url,
         age_min, age_max) in rows:
        found = codes[sid]
        result[sid] = Service(
            id=sid, organisation_id=org_id, organisation_name=org_name,
            name=name, description=description,
            categories=tuple(sorted(found["category"])),
            status=status, status_note=status_note,
            audience=tuple(sorted(found["audience"])),
            languages=tuple(sorted(found["language"])),
            phones=tuple(phones[sid]),
            locations=tuple(sorted(locations[sid], key=lambda location: location.id)),
            service_area=tuple(sorted(found["area"])),
            schedule=schedules.get(sid),
            sources=tuple(sources[sid]),
            last_verified=last_verified, email=email, url=url,
            age_min=age_min, age_max=age_max,
        )
    return result


class _S:
    """Statements with bound parameters (ids is an expanding list), built once."""

    s, loc = _service.c, _location.c
    schedules = (select(_schedule.c.id, _schedule.c.service_id, _schedule.c.always_open,
                        _schedule.c.closed_on_public_holidays, _schedule.c.note)
                 .where(_schedule.c.service_id.in_(_ids())))
    slots = (select(_slot.c.schedule_id, _slot.c.weekday, _slot.c.opens_minute, _slot.c.closes_minute)
             .where(_slot.c.schedule_id.in_(_ids())))
    exceptions = (select(_exception.c.schedule_id, _exception.c.date, _exception.c.closed,
                         _exception.c.opens_minute, _exception.c.closes_minute)
                  .where(_exception.c.schedule_id.in_(_ids())))
    services = (select(s.id, s.organization_id, _org.c.name, s.name, s.description, s.status, s.status_note,
                       s.last_verified, s.email, s.url, s.age_min, s.age_max)
                .select_from(_service.join(_org, _org.c.id == s.organization_id)).where(s.id.in_(_ids())))
    codes = union_all(*(
        select(table.c.service_id, literal_column(f"'{kind}'", String).label("kind"), column.label("code"))
            .where(table.c.service_id.in_(_ids()))
        for kind, table, column in (
            ("category", _category, _category.c.code), ("audience", _audience, _audience.c.code),
            ("language", _language, _language.c.code), ("area", _area, _area.c.place),
        )
    ))
    phones = (select(_phone.c.service_id, _phone.c.number, _phone.c.kind, _phone.c.note)
              .where(_phone.c.service_id.in_(_ids())).order_by(_phone.c.service_id, _phone.c.position, _phone.c.id))
    sources = (select(_source.c.service_id, _source.c.url, _source.c.date, _source.c.note)
               .where(_source.c.service_id.in_(_ids()))
               .order_by(_source.c.service_id, _source.c.position, _source.c.id))
    locations = (select(_at.c.service_id, loc.id, loc.city, loc.latitude, loc.longitude, loc.precision, loc.address,
                        loc.directions)
                 .select_from(_at.join(_location, loc.id == _at.c.location_id)).where(_at.c.service_id.in_(_ids())))
