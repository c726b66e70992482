"""The typed query API: find services by category, place, distance, opening hours, language, audience."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from . import models as m
from .categories import CATEGORY_CODES
from .curation import AUDIENCES
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
    with Session(bind=engine, future=True) as session:
        candidates = _candidates(session, query)
        _fill_open_now(session, candidates, query.open_at)
        if query.only_open:
            candidates = [c for c in candidates if c.open_now]
        candidates.sort(key=_rank)
        page = candidates[query.offset: query.offset + query.limit]
        services = {s.id: s for s in _load(session, [c.id for c in page])}
    return [
        SearchHit(service=services[c.id], distance_km=None if c.distance_km is None else round(c.distance_km, 1),
                  open_now=c.open_now, matched_place=c.tier < 3, temporarily_closed=c.status == "temporarily_closed")
        for c in page
    ]


def get_service(engine: Engine, service_id: str) -> Service | None:
    with Session(bind=engine, future=True) as session:
        found = _load(session, [service_id])
    return found[0] if found else None


def all_services(engine: Engine) -> list[Service]:
    """Every service, closed ones too (for export)."""
    with Session(bind=engine, future=True) as session:
        ids = list(session.execute(select(m.ServiceRow.id).order_by(m.ServiceRow.id)).scalars())
        return _load(session, ids)


def record_unmet_need(engine: Engine, category: str | None, place: str | None, language: str | None,
                      at: dt.datetime | None = None) -> None:
    """Remember that a search found nothing, without anything about the person."""
    with engine.begin() as conn:
        conn.execute(m.UnmetNeed.__table__.insert(), [{
            "category": category, "place": place, "language": language,
            "created_at": (at or dt.datetime.now(dt.timezone.utc)),
        }])


def _rank(c: _Candidate) -> tuple[int, int, int, int, float]:
    open_rank = {True: 0, None: 1, False: 2}[c.open_now]
    bucket = int((c.distance_km or 0.0) // 5)  # differences within a town do not outrank opening hours
    return (c.tier, c.status == "temporarily_closed", bucket, open_rank, -c.last_verified.toordinal())


def _base(query: Query):  # type: ignore[no-untyped-def]
    statuses = VISIBLE if query.include_temporarily_closed else ("active",)
    stmt = select(m.ServiceRow.id, m.ServiceRow.status, m.ServiceRow.last_verified).where(m.ServiceRow.status.in_(statuses))
    if query.category:
        stmt = stmt.where(m.ServiceRow.id.in_(select(m.ServiceCategory.service_id).where(m.ServiceCategory.code == query.category)))
    if query.language:
        stmt = stmt.where(m.ServiceRow.id.in_(select(m.ServiceLanguage.service_id).where(m.ServiceLanguage.code == query.language)))
    if query.audience:
        stmt = stmt.where(m.ServiceRow.id.in_(select(m.ServiceAudience.service_id).where(m.ServiceAudience.code == query.audience)))
    return stmt


def _candidates(session: Session, query: Query) -> list[_Candidate]:
    base = _base(query)
    point = query.near or ((PLACES[query.place].latitude, PLACES[query.place].longitude) if query.place else None)
    if query.place is None and point is None:
        return [_Candidate(i, s, v, 0) for i, s, v in session.execute(base)]

    found: dict[str, _Candidate] = {}
    if query.place:
        in_place = select(m.ServiceAtLocation.service_id).join(m.LocationRow).where(m.LocationRow.city == query.place)
        for i, s, v in session.execute(base.where(m.ServiceRow.id.in_(in_place))):
            found[i] = _Candidate(i, s, v, 0)
        areas = select(m.ServiceArea.service_id, m.ServiceArea.place).where(m.ServiceArea.place.in_((query.place, NATIONAL)))
        area_of = defaultdict(set)
        for sid, place in session.execute(areas):
            area_of[sid].add(place)
        for i, s, v in session.execute(base.where(m.ServiceRow.id.in_(list(area_of)))) if area_of else ():
            if i not in found:
                found[i] = _Candidate(i, s, v, 1 if query.place in area_of[i] else 2)
    else:
        national = select(m.ServiceArea.service_id).where(m.ServiceArea.place == NATIONAL)
        for i, s, v in session.execute(base.where(m.ServiceRow.id.in_(national))):
            found[i] = _Candidate(i, s, v, 2)

    assert point is not None
    wanted = query.offset + query.limit
    for radius in _RADII_DEG + (None,):
        nearby = _nearby(session, base, point, radius)
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


def _nearby(session: Session, base, point: tuple[float, float], radius: float | None) -> dict[str, tuple[str, dt.date, float]]:  # type: ignore[no-untyped-def]
    lat, lon = point
    located = select(m.ServiceAtLocation.service_id, m.LocationRow.latitude, m.LocationRow.longitude).join(m.LocationRow)
    located = located.where(m.LocationRow.latitude.isnot(None))
    if radius is not None:
        located = located.where(and_(m.LocationRow.latitude.between(lat - radius, lat + radius),
                                     m.LocationRow.longitude.between(lon - radius * 1.4, lon + radius * 1.4)))
    sub = located.subquery()
    stmt = base.add_columns(sub.c.latitude, sub.c.longitude).join(sub, sub.c.service_id == m.ServiceRow.id)
    result: dict[str, tuple[str, dt.date, float]] = {}
    for sid, status, verified, la, lo in session.execute(stmt):
        km = distance_km(point, (la, lo))
        if sid not in result or km < result[sid][2]:
            result[sid] = (status, verified, km)
    return result


def _fill_open_now(session: Session, candidates: Sequence[_Candidate], at: dt.datetime | None) -> None:
    if not candidates:
        return
    schedules = _schedules(session, [c.id for c in candidates])
    moment = local(at)
    for c in candidates:
        schedule = schedules.get(c.id)
        c.open_now = None if schedule is None else is_open(schedule, moment)


def _schedules(session: Session, service_ids: list[str]) -> dict[str, Schedule]:
    result: dict[str, Schedule] = {}
    for chunk_start in range(0, len(service_ids), 900):
        chunk = service_ids[chunk_start: chunk_start + 900]
        rows = session.execute(select(m.ScheduleRow.id, m.ScheduleRow.service_id, m.ScheduleRow.always_open,
                                      m.ScheduleRow.closed_on_public_holidays, m.ScheduleRow.note)
                               .where(m.ScheduleRow.service_id.in_(chunk))).all()
        if not rows:
            continue
        ids = [r[0] for r in rows]
        slots = defaultdict(list)
        for sched_id, weekday, opens, closes in session.execute(
            select(m.ScheduleSlot.schedule_id, m.ScheduleSlot.weekday, m.ScheduleSlot.opens_minute,
                   m.ScheduleSlot.closes_minute).where(m.ScheduleSlot.schedule_id.in_(ids))):
            slots[sched_id].append(TimeSlot(weekday, to_time(opens), to_time(closes)))
        exceptions = defaultdict(list)
        for sched_id, day, closed, opens, closes in session.execute(
            select(m.ScheduleExceptionRow.schedule_id, m.ScheduleExceptionRow.date, m.ScheduleExceptionRow.closed,
                   m.ScheduleExceptionRow.opens_minute, m.ScheduleExceptionRow.closes_minute)
                .where(m.ScheduleExceptionRow.schedule_id.in_(ids))):
            exceptions[sched_id].append(ScheduleException(
                day, closed, None if opens is None else to_time(opens), None if closes is None else to_time(closes)))
        for sched_id, service_id, always, holidays, note in rows:
            result[service_id] = Schedule(always_open=always, weekly=tuple(sorted(slots[sched_id], key=lambda t: (t.weekday, t.opens))),
                                          closed_on_public_holidays=holidays, exceptions=tuple(exceptions[sched_id]),
                                          note=note or {})
    return result


def _load(session: Session, ids: list[str]) -> list[Service]:
    if not ids:
        return []
    rows = session.execute(select(m.ServiceRow, m.Organisation.name).join(m.Organisation)
                           .where(m.ServiceRow.id.in_(ids))).all()
    schedules = _schedules(session, ids)
    by_id = {}
    for row, org_name in rows:
        by_id[row.id] = Service(
            id=row.id, organisation_id=row.organization_id, organisation_name=org_name,
            name=row.name, description=row.description,
            categories=tuple(sorted(c.code for c in row.categories)),
            status=row.status, status_note=row.status_note,
            audience=tuple(sorted(a.code for a in row.audiences)),
            languages=tuple(sorted(lang.code for lang in row.languages)),
            phones=tuple(Phone(p.number, p.kind, p.note or {}) for p in row.phones),
            locations=tuple(sorted((Location(sal.location.id, sal.location.city, sal.location.latitude,
                                             sal.location.longitude, sal.location.precision,
                                             sal.location.address or {}, sal.location.directions or {})
                                    for sal in row.at_locations), key=lambda loc: loc.id)),
            service_area=tuple(sorted(a.place for a in row.areas)),
            schedule=schedules.get(row.id),
            sources=tuple(Source(s.url, s.date, s.note) for s in row.sources),
            last_verified=row.last_verified, email=row.email, url=row.url,
            age_min=row.age_min, age_max=row.age_max,
        )
    return [by_id[i] for i in ids if i in by_id]
