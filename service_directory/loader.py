"""Putting curated organisations into the database: one transaction, idempotent."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine

from . import index
from . import models as m
from .curation import DEFAULT_DATA_DIR, read_directory
from .records import Organisation, Service
from .schedule import minutes

FINGERPRINT_KEY = "bundled_data_fingerprint"
_CHILD_TABLES = (
    m.ServiceCategory, m.ServiceAudience, m.ServiceLanguage, m.ServiceArea, m.PhoneRow,
    m.SourceRow, m.ServiceAtLocation,
)


# Raised when the way records are stored changes (2: category positions), so bundled data loaded by
# an older version is loaded again.
STORAGE_FORMAT = b"2"


def fingerprint(path: Path = DEFAULT_DATA_DIR) -> str:
    """A hash of the curated files (and of STORAGE_FORMAT), to notice when the bundled data changed."""
    digest = hashlib.sha256(STORAGE_FORMAT)
    for file in sorted(path.rglob("*.yaml")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def load(engine: Engine, organisations: Iterable[Organisation], replace_all: bool = True,
         meta: dict[str, str] | None = None) -> int:
    """Write organisations and their services; with replace_all, everything else is removed.

    Runs in one transaction: when anything fails, the database keeps what it had.
    The transaction also writes a new data version (directory_meta `data_version`), by which the
    search indexes of every process notice the change (see service_directory.index).
    Returns the number of services written.
    """
    organisations = list(organisations)
    with engine.begin() as conn:
        if replace_all:
            _delete_all(conn)
        else:
            _delete_organisations(conn, [o.id for o in organisations])
        count = _insert(conn, organisations)
        for key, value in (meta or {}).items():
            conn.execute(delete(m.DirectoryMeta.__table__).where(m.DirectoryMeta.key == key))
            conn.execute(m.DirectoryMeta.__table__.insert(), [{"key": key, "value": value}])
        _new_data_version(conn)
    index.data_changed()
    return count


def _new_data_version(conn: Connection) -> None:
    """A new random version: a counter would need a read, and two loads must never write the same."""
    meta = m.DirectoryMeta.__table__
    version = uuid.uuid4().hex
    changed = conn.execute(update(meta).where(meta.c.key == index.DATA_VERSION_KEY).values(value=version))
    if changed.rowcount == 0:
        conn.execute(meta.insert(), [{"key": index.DATA_VERSION_KEY, "value": version}])


def load_bundled_if_needed(engine: Engine) -> bool:
    """Load the curated data shipped with the package when the database lacks it or it changed."""
    current = fingerprint()
    with engine.connect() as conn:
        stored = conn.execute(
            select(m.DirectoryMeta.value).where(m.DirectoryMeta.key == FINGERPRINT_KEY)
        ).scalar_one_or_none()
        empty = conn.execute(select(func.count()).select_from(m.ServiceRow.__table__)).scalar_one() == 0
    if stored == current or (stored is None and not empty):
        return False  # up to date, or the data was loaded from elsewhere on purpose
    load(engine, read_directory(DEFAULT_DATA_DIR), replace_all=True, meta={FINGERPRINT_KEY: current})
    return True


def _delete_all(conn: Connection) -> None:
    for table in (m.ScheduleExceptionRow, m.ScheduleSlot, m.ScheduleRow, *_CHILD_TABLES,
                  m.LocationRow, m.ServiceRow, m.Organisation):
        conn.execute(delete(table.__table__))
    conn.execute(delete(m.DirectoryMeta.__table__).where(m.DirectoryMeta.key == FINGERPRINT_KEY))


def _delete_organisations(conn: Connection, org_ids: list[str]) -> None:
    service_ids = select(m.ServiceRow.id).where(m.ServiceRow.organization_id.in_(org_ids))
    schedule_ids = select(m.ScheduleRow.id).where(m.ScheduleRow.service_id.in_(service_ids))
    location_ids = [
        row[0] for row in conn.execute(
            select(m.ServiceAtLocation.location_id).where(m.ServiceAtLocation.service_id.in_(service_ids))
        )
    ]
    conn.execute(delete(m.ScheduleExceptionRow.__table__).where(m.ScheduleExceptionRow.schedule_id.in_(schedule_ids)))
    conn.execute(delete(m.ScheduleSlot.__table__).where(m.ScheduleSlot.schedule_id.in_(schedule_ids)))
    conn.execute(delete(m.ScheduleRow.__table__).where(m.ScheduleRow.service_id.in_(service_ids)))
    for table in _CHILD_TABLES:
        conn.execute(delete(table.__table__).where(table.service_id.in_(service_ids)))
    if location_ids:
        conn.execute(delete(m.LocationRow.__table__).where(m.LocationRow.id.in_(location_ids)))
    conn.execute(delete(m.ServiceRow.__table__).where(m.ServiceRow.organization_id.in_(org_ids)))
    conn.execute(delete(m.Organisation.__table__).where(m.Organisation.id.in_(org_ids)))
    conn.execute(delete(m.DirectoryMeta.__table__).where(m.DirectoryMeta.key == FINGERPRINT_KEY))


def _insert(conn: Connection, organisations: list[Organisation]) -> int:
    rows: dict[Any, list[dict[str, Any]]] = {
        t: [] for t in (m.Organisation, m.ServiceRow, m.LocationRow, *_CHILD_TABLES)}
    schedules: list[tuple[Service, int]] = []
    for org in organisations:
        rows[m.Organisation].append({"id": org.id, "kind": org.kind, "name": org.name, "website": org.website,
                                     "email": org.email, "source_file": org.source_file})
        for service in org.services:
            _service_rows(service, rows)
            if service.schedule is not None:
                schedules.append((service, len(schedules)))
    for table, items in rows.items():
        if items:
            conn.execute(table.__table__.insert(), items)
    if schedules:
        _insert_schedules(conn, [s for s, _ in schedules])
    return len(rows[m.ServiceRow])


def _service_rows(s: Service, rows: dict[Any, list[dict[str, Any]]]) -> None:
    rows[m.ServiceRow].append({
        "id": s.id, "organization_id": s.organisation_id, "name": s.name, "description": s.description,
        "status": s.status, "status_note": s.status_note, "email": s.email, "url": s.url,
        "age_min": s.age_min, "age_max": s.age_max, "last_verified": s.last_verified,
    })
    rows[m.ServiceCategory].extend({"service_id": s.id, "code": c, "position": i} for i, c in enumerate(s.categories))
    rows[m.ServiceAudience].extend({"service_id": s.id, "code": c} for c in s.audience)
    rows[m.ServiceLanguage].extend({"service_id": s.id, "code": c} for c in s.languages)
    rows[m.ServiceArea].extend({"service_id": s.id, "place": p} for p in s.service_area)
    rows[m.PhoneRow].extend({"service_id": s.id, "position": i, "number": p.number, "kind": p.kind, "note": p.note}
                            for i, p in enumerate(s.phones))
    rows[m.SourceRow].extend({"service_id": s.id, "position": i, "url": src.url, "date": src.date, "note": src.note}
                             for i, src in enumerate(s.sources))
    for loc in s.locations:
        rows[m.LocationRow].append({"id": loc.id, "city": loc.city, "address": loc.address,
                                    "directions": loc.directions, "latitude": loc.latitude,
                                    "longitude": loc.longitude, "precision": loc.precision})
        rows[m.ServiceAtLocation].append({"service_id": s.id, "location_id": loc.id})


def _insert_schedules(conn: Connection, services: list[Service]) -> None:
    conn.execute(m.ScheduleRow.__table__.insert(), [
        {"service_id": s.id, "always_open": s.schedule.always_open,  # type: ignore[union-attr]
         "closed_on_public_holidays": s.schedule.closed_on_public_holidays,  # type: ignore[union-attr]
         "note": s.schedule.note}  # type: ignore[union-attr]
        for s in services
    ])
    ids = dict(conn.execute(select(m.ScheduleRow.service_id, m.ScheduleRow.id)).all())
    slots, exceptions = [], []
    for s in services:
        assert s.schedule is not None
        sid = ids[s.id]
        slots.extend({"schedule_id": sid, "weekday": t.weekday, "opens_minute": minutes(t.opens),
                      "closes_minute": minutes(t.closes)} for t in s.schedule.weekly)
        exceptions.extend({"schedule_id": sid, "date": e.date, "closed": e.closed,
                           "opens_minute": minutes(e.opens) if e.opens else None,
                           "closes_minute": minutes(e.closes) if e.closes else None}
                          for e in s.schedule.exceptions)
    if slots:
        conn.execute(m.ScheduleSlot.__table__.insert(), slots)
    if exceptions:
        conn.execute(m.ScheduleExceptionRow.__table__.insert(), exceptions)
