"""The typed query API: find services by category, place, distance, opening hours, language, audience."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean, Date, String, bindparam, cast, literal_column, null, select, union_all
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

# ids per IN (...) list; a statement repeats the list up to six times (the codes, phones and sources
# statement), which stays within the bound parameters SQLite allows since 3.32 (32766)
_CHUNK = 900

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
    """Services matching the query, best first: active, place, distance, main category, open now, recently
    verified, id.

    Candidates are the visible services (active, and temporarily closed unless left out) that match
    every code filter. With a place: those with a location in it (tier 0), those whose service area
    lists it (tier 1) and national ones (tier 2); with a point only, national ones (tier 2) and those
    with a location within 30 km (tier 0). Services with a location in a box around the point (the
    place's centre when no point is given) come next (tier 3): the smallest box of 0.5, 1.5 and 4
    degrees that holds enough candidates for the page, else everywhere. A candidate's distance is to
    its nearest location in that box. Every active service comes before every temporarily closed one
    (each of the two groups settles its own box); within a group they are ranked by the key (tier, distance
    in 5 km steps, whether the category asked for is the service's main one (the first its curators list:
    a legal-aid centre before an anti-trafficking line that also gives legal help), open now / unknown /
    closed, last verified descending, id); with only_open only
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


def _load(conn: Connection, ids: list[str]) -> list[Service]:
    by_id: dict[str, Service] = {}
    for chunk in _chunks(ids):
        by_id.update(_load_chunk(conn, chunk))
    return [by_id[i] for i in ids if i in by_id]


def _load_chunk(conn: Connection, ids: list[str]) -> dict[str, Service]:
    """Full records, in four statements: services with their schedules, codes with phones and
    sources, locations, and opening hours (each a round trip, which is most of the cost)."""
    params = {"ids": ids}
    rows = conn.execute(_S.services, params).all()
    if not rows:
        return {}
    codes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    phones = defaultdict(list)
    sources = defaultdict(list)
    for sid, kind, text, text2, _, _, day, note in conn.execute(_S.details, params):
        if kind == "phone":
            phones[sid].append(Phone(text, text2, note or {}))
        elif kind == "source":
            sources[sid].append(Source(text, day, text2))
        else:
            codes[sid][kind].append(text)
    locations = defaultdict(list)
    for sid, loc_id, city, lat, lon, precision, address, directions in conn.execute(_S.locations, params):
        locations[sid].append(Location(loc_id, city, lat, lon, precision, address or {}, directions or {}))
    slots: defaultdict[int, list[TimeSlot]] = defaultdict(list)
    exceptions: defaultdict[int, list[ScheduleException]] = defaultdict(list)
    schedule_ids = [row[12] for row in rows if row[12] is not None]
    if schedule_ids:
        for sched_id, kind, weekday, day, closed, opens, closes, _ in conn.execute(_S.hours, {"ids": schedule_ids}):
            if kind == "slot":
                slots[sched_id].append(TimeSlot(weekday, to_time(opens), to_time(closes)))
            else:
                exceptions[sched_id].append(ScheduleException(day, closed, None if opens is None else to_time(opens),
                                                              None if closes is None else to_time(closes)))
    result = {}
    for (sid, org_id, org_name, name, description, status, status_note, last_verified, email, url,
         age_min, age_max, sched_id, always, holidays, schedule_note) in rows:
        found = codes[sid]
        schedule = None if sched_id is None else Schedule(
            always_open=always, weekly=tuple(sorted(slots[sched_id], key=lambda t: (t.weekday, t.opens))),
            closed_on_public_holidays=holidays, exceptions=tuple(exceptions[sched_id]), note=schedule_note or {})
        result[sid] = Service(
            id=sid, organisation_id=org_id, organisation_name=org_name,
            name=name, description=description,
            categories=tuple(found["category"]),  # by position: the main category first
            status=status, status_note=status_note,
            audience=tuple(sorted(found["audience"])),
            languages=tuple(sorted(found["language"])),
            phones=tuple(phones[sid]),
            locations=tuple(sorted(locations[sid], key=lambda location: location.id)),
            service_area=tuple(sorted(found["area"])),
            schedule=schedule,
            sources=tuple(sources[sid]),
            last_verified=last_verified, email=email, url=url,
            age_min=age_min, age_max=age_max,
        )
    return result


def _details() -> Any:
    """Codes, phones and sources of the services `ids`, as rows (service_id, kind, text, text2,
    position, row_id, day, note); phones and sources in their order."""
    p, src = _phone.c, _source.c
    no_date, no_json = cast(null(), Date), cast(null(), JSON)
    parts = [
        select(p.service_id, literal_column("'phone'", String).label("kind"), p.number.label("text"),
               p.kind.label("text2"), p.position, p.id.label("row_id"), no_date.label("day"), p.note)
        .where(p.service_id.in_(_ids())),
        select(src.service_id, literal_column("'source'", String), src.url, src.note, src.position, src.id,
               src.date, no_json).where(src.service_id.in_(_ids())),
    ]
    parts.append(select(_category.c.service_id, literal_column("'category'", String), _category.c.code, null(),
                        _category.c.position, null(), null(), null()).where(_category.c.service_id.in_(_ids())))
    for kind, table, column in (("audience", _audience, _audience.c.code),
                                ("language", _language, _language.c.code), ("area", _area, _area.c.place)):
        parts.append(select(table.c.service_id, literal_column(f"'{kind}'", String), column, null(), null(), null(),
                            null(), null()).where(table.c.service_id.in_(_ids())))
    details = union_all(*parts)
    return details.order_by(details.selected_columns.position, details.selected_columns.row_id)


def _hours() -> Any:
    """Weekly slots and exceptions of the schedules `ids`, as rows (schedule_id, kind, weekday, date,
    closed, opens, closes, row_id), each kind in the order it was written."""
    slot, exc = _slot.c, _exception.c
    hours = union_all(
        select(slot.schedule_id, literal_column("'slot'", String).label("kind"), slot.weekday,
               cast(null(), Date).label("date"), cast(null(), Boolean).label("closed"),
               slot.opens_minute, slot.closes_minute, slot.id.label("row_id"))
        .where(slot.schedule_id.in_(_ids())),
        select(exc.schedule_id, literal_column("'exception'", String), null(), exc.date, exc.closed,
               exc.opens_minute, exc.closes_minute, exc.id).where(exc.schedule_id.in_(_ids())),
    )
    return hours.order_by(hours.selected_columns.kind, hours.selected_columns.row_id)


class _S:
    """Statements with bound parameters (ids is an expanding list), built once."""

    s, loc, sch = _service.c, _location.c, _schedule.c
    services = (select(s.id, s.organization_id, _org.c.name, s.name, s.description, s.status, s.status_note,
                       s.last_verified, s.email, s.url, s.age_min, s.age_max,
                       sch.id, sch.always_open, sch.closed_on_public_holidays, sch.note)
                .select_from(_service.join(_org, _org.c.id == s.organization_id)
                             .outerjoin(_schedule, sch.service_id == s.id))
                .where(s.id.in_(_ids())))
    details = _details()
    hours = _hours()
    locations = (select(_at.c.service_id, loc.id, loc.city, loc.latitude, loc.longitude, loc.precision, loc.address,
                        loc.directions)
                 .select_from(_at.join(_location, loc.id == _at.c.location_id)).where(_at.c.service_id.in_(_ids())))
