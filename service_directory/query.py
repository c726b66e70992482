"""The typed query API: find services by category, place, distance, opening hours, language, audience."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from typing import Any

from sqlalchemy import String, and_, bindparam, literal_column, select, union_all
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from . import models as m
from .categories import CATEGORY_CODES
from .curation import AUDIENCES
from .holidays import is_public_holiday
from .places import NATIONAL, PLACE_SLUGS, PLACES
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
from .schedule import is_open, local, to_time

VISIBLE = ("active", "temporarily_closed")
_RADII_DEG = (0.5, 1.5, 4.0)  # bounding boxes tried in turn around the point (about 55, 165, 440 km)
_CHUNK = 900  # ids per IN (...) list: below SQLite's oldest limit of 999 bound parameters
_FIRST_BATCH = 32  # candidates whose opening hours are looked up first when ranking a group

# The query path reads plain rows with Core statements built once (below, with bound parameters):
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


@dataclass
class _Candidate:
    id: str
    status: str
    last_verified: dt.date
    tier: int  # 0 location in the place, 1 serves the place, 2 national, 3 elsewhere
    distance_km: float | None = None
    open_now: bool | None = None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def search(engine: Engine, query: Query) -> list[SearchHit]:
    """Services matching the query, best first (place, then distance, open now, recently verified)."""
    query.check()
    moment = local(query.open_at)
    with engine.connect() as conn:
        candidates = _candidates(conn, query)
        page = _page(conn, candidates, query, moment)
        services = {s.id: s for s in _load(conn, [c.id for c in page])}
    return [
        SearchHit(service=services[c.id], distance_km=None if c.distance_km is None else round(c.distance_km, 1),
                  open_now=c.open_now, matched_place=c.tier < 3, temporarily_closed=c.status == "temporarily_closed")
        for c in page
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


_OPEN_RANK = {True: 0, None: 1, False: 2}


def _rank(c: _Candidate) -> tuple[int, int, int, int, float]:
    open_rank = _OPEN_RANK[c.open_now]
    bucket = int((c.distance_km or 0.0) // 5)  # differences within a town do not outrank opening hours
    return (c.tier, c.status == "temporarily_closed", bucket, open_rank, -c.last_verified.toordinal())


def _prefix(c: _Candidate) -> tuple[int, int, int]:
    """The part of _rank that does not need opening hours: tier, temporarily closed, distance bucket."""
    return _rank(c)[:3]


def _page(conn: Connection, candidates: list[_Candidate], query: Query, moment: dt.datetime) -> list[_Candidate]:
    """The page of candidates in _rank order, looking up opening hours only where they decide the page.

    The same as filtering on open_now (with only_open) and sorting all candidates by _rank: groups of
    equal _prefix are taken in order, and within a group the open ones, most recently verified first,
    lead; once a group has shown enough open ones, the rest of it (and every later group) cannot
    reach the page. Python's sort is stable, so ties keep the order the candidates were found in.
    """
    wanted = query.offset + query.limit
    ranked: list[_Candidate] = []
    for _, group in groupby(sorted(candidates, key=_prefix), key=_prefix):
        members = sorted(group, key=lambda c: -c.last_verified.toordinal())
        ranked.extend(_rank_group(conn, members, wanted - len(ranked), query.only_open, moment))
        if len(ranked) >= wanted:
            break
    return ranked[query.offset: wanted]


def _rank_group(conn: Connection, members: list[_Candidate], wanted: int, only_open: bool,
                moment: dt.datetime) -> list[_Candidate]:
    """Up to `wanted` of one group, in _rank order (members come most recently verified first)."""
    opened: list[_Candidate] = []
    done, batch = 0, max(_FIRST_BATCH, 2 * wanted)
    while done < len(members):
        chunk = members[done: done + batch]
        _fill_open_now(conn, chunk, moment)
        opened.extend(c for c in chunk if c.open_now)
        done += len(chunk)
        if len(opened) >= wanted:
            return opened[:wanted]  # open ones come first in a group, and these are the newest of them
        batch *= 4
    if only_open:
        return opened
    return sorted(members, key=lambda c: _OPEN_RANK[c.open_now])


def _ids() -> Any:
    return bindparam("ids", expanding=True)


@cache
def _base_statement(category: bool, language: bool, audience: bool) -> Select:
    """Visible services matching the code filters; parameters statuses, category, language, audience."""
    s = _service.c
    stmt = select(s.id, s.status, s.last_verified).where(s.status.in_(bindparam("statuses", expanding=True)))
    if category:
        stmt = stmt.where(s.id.in_(select(_category.c.service_id).where(_category.c.code == bindparam("category"))))
    if language:
        stmt = stmt.where(s.id.in_(select(_language.c.service_id).where(_language.c.code == bindparam("language"))))
    if audience:
        stmt = stmt.where(s.id.in_(select(_audience.c.service_id).where(_audience.c.code == bindparam("audience"))))
    return stmt


@cache
def _candidate_statements(category: bool, language: bool, audience: bool) -> dict[str, Select]:
    base = _base_statement(category, language, audience)
    sid, loc = _service.c.id, _location.c
    in_place = (select(_at.c.service_id).select_from(_at.join(_location, loc.id == _at.c.location_id))
                .where(loc.city == bindparam("place")))
    located = (select(_at.c.service_id, loc.latitude, loc.longitude)
               .select_from(_at.join(_location, loc.id == _at.c.location_id))
               .where(loc.latitude.isnot(None)))
    in_box = located.where(and_(loc.latitude.between(bindparam("lat_min"), bindparam("lat_max")),
                                loc.longitude.between(bindparam("lon_min"), bindparam("lon_max")))).subquery()
    anywhere = located.subquery()
    return {
        "all": base,
        "in_place": base.where(sid.in_(in_place)),
        # services that serve the place (or the whole country) without a location in it
        "listed": base.where(sid.in_(_ids())),
        "national": base.where(sid.in_(select(_area.c.service_id).where(_area.c.place == bindparam("national")))),
        "in_box": base.add_columns(in_box.c.latitude, in_box.c.longitude).join(in_box, in_box.c.service_id == sid),
        "anywhere": (base.add_columns(anywhere.c.latitude, anywhere.c.longitude)
                     .join(anywhere, anywhere.c.service_id == sid)),
    }


def _statements(query: Query) -> tuple[dict[str, Select], dict[str, Any]]:
    """The candidate statements for the query's filters, and their parameters."""
    params: dict[str, Any] = {"statuses": list(VISIBLE if query.include_temporarily_closed else ("active",)),
                              "national": NATIONAL}
    for name in ("category", "language", "audience", "place"):
        value = getattr(query, name)
        if value is not None:
            params[name] = value
    return _candidate_statements(bool(query.category), bool(query.language), bool(query.audience)), params


def _candidates(conn: Connection, query: Query) -> list[_Candidate]:
    statements, params = _statements(query)
    point = query.near or ((PLACES[query.place].latitude, PLACES[query.place].longitude) if query.place else None)
    if query.place is None and point is None:
        return [_Candidate(i, s, v, 0) for i, s, v in conn.execute(statements["all"], params)]

    found: dict[str, _Candidate] = {}
    if query.place:
        for i, s, v in conn.execute(statements["in_place"], params):
            found[i] = _Candidate(i, s, v, 0)
        # services that serve the place (or the whole country) without a location in it
        area_of: defaultdict[str, set[str]] = defaultdict(set)
        for sid, place in conn.execute(_S.areas, {"place": query.place, "national": NATIONAL}):
            area_of[sid].add(place)
        for i, s, v in conn.execute(statements["listed"], {**params, "ids": list(area_of)}) if area_of else ():
            if i not in found:
                found[i] = _Candidate(i, s, v, 1 if query.place in area_of[i] else 2)
    else:
        for i, s, v in conn.execute(statements["national"], params):
            found[i] = _Candidate(i, s, v, 2)

    assert point is not None
    wanted = query.offset + query.limit
    for radius in _RADII_DEG + (None,):
        nearby = _nearby(conn, statements, params, point, radius)
        for sid, (status, verified, km) in nearby.items():
            candidate = found.get(sid)
            if candidate is None:
                found[sid] = _Candidate(sid, status, verified, 0 if query.near and not query.place else 3, km)
            elif candidate.distance_km is None or km < candidate.distance_km:
                candidate.distance_km = km
        if sum(1 for c in found.values() if c.distance_km is not None or c.tier < 3) >= wanted and radius is not None:
            break
    if query.near and not query.place:
        for c in found.values():  # with a point only, "in the place" means within walking reach
            if c.tier == 0 and (c.distance_km is None or c.distance_km > 30):
                c.tier = 3
    return list(found.values())


def _nearby(conn: Connection, statements: dict[str, Select], params: dict[str, Any], point: tuple[float, float],
            radius: float | None) -> dict[str, tuple[str, dt.date, float]]:
    lat, lon = point
    if radius is None:
        rows = conn.execute(statements["anywhere"], params)
    else:
        rows = conn.execute(statements["in_box"], {**params, "lat_min": lat - radius, "lat_max": lat + radius,
                                                   "lon_min": lon - radius * 1.4, "lon_max": lon + radius * 1.4})
    result: dict[str, tuple[str, dt.date, float]] = {}
    for sid, status, verified, la, lo in rows:
        km = distance_km(point, (la, lo))
        if sid not in result or km < result[sid][2]:
            result[sid] = (status, verified, km)
    return result


def _fill_open_now(conn: Connection, candidates: Sequence[_Candidate], moment: dt.datetime) -> None:
    """Set open_now (None when the directory has no opening hours), exactly as schedule.is_open says."""
    if not candidates:
        return
    found = _open_now(conn, [c.id for c in candidates], moment)
    for c in candidates:
        c.open_now = found.get(c.id)


def _open_now(conn: Connection, service_ids: list[str], moment: dt.datetime) -> dict[str, bool]:
    """Whether each service with opening hours is open at `moment` (local time), asked of the database.

    Mirrors schedule.intervals_on: 24/7 first, then an exception on that day, then a public holiday,
    then the weekly slots. A schedule with an exception on that day is rare and is judged in Python
    on the whole schedule, so that the first matching exception decides, as there.
    """
    day = moment.date()
    params = {"day": day, "weekday": day.weekday(), "minute": moment.hour * 60 + moment.minute}
    holiday = is_public_holiday(day)
    result: dict[str, bool] = {}
    judge_in_python: list[str] = []
    for chunk in _chunks(service_ids):
        for sid, always, closed_on_holidays, open_by_slot, has_exception in conn.execute(
                _S.open_now, {**params, "ids": chunk}):
            if always:
                result[sid] = True
            elif has_exception:
                judge_in_python.append(sid)
            elif closed_on_holidays and holiday:
                result[sid] = False
            else:
                result[sid] = bool(open_by_slot)
    if judge_in_python:
        for sid, schedule in _schedules(conn, judge_in_python).items():
            result[sid] = is_open(schedule, moment)
    return result


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
    areas = (select(_area.c.service_id, _area.c.place)
             .where(_area.c.place.in_((bindparam("place"), bindparam("national")))))
    open_now = select(
        _schedule.c.service_id, _schedule.c.always_open, _schedule.c.closed_on_public_holidays,
        select(_slot.c.id).where(_slot.c.schedule_id == _schedule.c.id, _slot.c.weekday == bindparam("weekday"),
                                 _slot.c.opens_minute <= bindparam("minute"),
                                 _slot.c.closes_minute > bindparam("minute")).exists().label("slot_open"),
        select(_exception.c.id).where(_exception.c.schedule_id == _schedule.c.id,
                                      _exception.c.date == bindparam("day")).exists().label("exception_today"),
    ).where(_schedule.c.service_id.in_(_ids()))
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
