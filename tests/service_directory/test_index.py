"""The in-process search index: same answers as the ranking rules say, and fresh after every load."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from bench.directory import synthetic
from service_directory import (
    NATIONAL,
    PLACES,
    Query,
    SearchHit,
    Service,
    all_services,
    distance_km,
    is_open,
    load,
    make_engine,
    read_directory,
    search,
)
from service_directory import index as directory_index
from service_directory import models as m
from service_directory.categories import CATEGORY_CODES
from service_directory.curation import AUDIENCES
from service_directory.schedule import BELGRADE, local
from tests.builders import organisation_doc, service_entry, write_yaml

REPO = Path(__file__).resolve().parents[2]
MONDAY = dt.datetime(2026, 11, 30, 10, tzinfo=BELGRADE)


def ids(hits: list[SearchHit]) -> list[str]:
    return [h.service.id for h in hits]


def write_org(folder: Path, *entries: dict[str, Any]) -> Path:
    write_yaml(folder, "org.yaml", organisation_doc("org", list(entries)))
    return folder


def in_place(sid: str, city: str = "belgrade", **overrides: Any) -> dict[str, Any]:
    return service_entry(sid, locations=[{"id": f"{sid}-loc", "city": city}], **overrides)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(directory_index, "_clock", fake)
    return fake


def version_reads(engine: Engine) -> list[str]:
    """A list that grows by one at every read of directory_meta on this engine."""
    reads: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "directory_meta" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    return reads


def data_version(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return directory_index.read_version(conn)


# -- freshness -------------------------------------------------------------------------------------


def test_load_writes_a_new_data_version_in_its_transaction(empty_directory: Engine, tmp_path: Path) -> None:
    assert data_version(empty_directory) is None
    folder = write_org(tmp_path, in_place("a-1"))
    load(empty_directory, read_directory(folder))
    first = data_version(empty_directory)
    load(empty_directory, read_directory(folder))
    second = data_version(empty_directory)
    assert first and second and first != second
    with empty_directory.connect() as conn:
        assert conn.execute(select(m.DirectoryMeta.key)).scalars().all().count("data_version") == 1
    broken = read_directory(folder)[0]
    clash = broken.services[0]
    with pytest.raises(Exception):  # noqa: B017 (two services share a location id)
        load(empty_directory, [replace(broken, services=(clash, replace(clash, id="a-2")))])
    assert data_version(empty_directory) == second  # rolled back with the rest


def test_search_sees_a_load_through_the_same_engine_at_once(empty_directory: Engine, tmp_path: Path,
                                                            clock: FakeClock) -> None:
    load(empty_directory, read_directory(write_org(tmp_path / "one", in_place("old-1"))))
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["old-1"]
    load(empty_directory, read_directory(write_org(tmp_path / "two", in_place("new-1"), in_place("new-2"))))
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["new-1", "new-2"]


def test_search_sees_a_load_through_another_engine_at_once(db_url: str, empty_directory: Engine, tmp_path: Path,
                                                           clock: FakeClock) -> None:
    load(empty_directory, read_directory(write_org(tmp_path / "one", in_place("old-1"))))
    assert ids(search(empty_directory, Query(place="nis", limit=10))) == ["old-1"]
    other = make_engine(db_url)
    try:
        load(other, read_directory(write_org(tmp_path / "two", in_place("new-1", "nis"))))
    finally:
        other.dispose()
    hits = search(empty_directory, Query(place="nis", limit=10))
    assert ids(hits) == ["new-1"] and hits[0].matched_place


def test_search_sees_a_load_by_another_process_within_the_check_interval(
        db_url: str, empty_directory: Engine, tmp_path: Path, clock: FakeClock) -> None:
    load(empty_directory, read_directory(write_org(tmp_path / "one", in_place("old-1"))))
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["old-1"]
    folder = write_org(tmp_path / "two", in_place("new-1"))
    script = ("import sys; from pathlib import Path; from service_directory import load, make_engine, read_directory; "
              "load(make_engine(sys.argv[1]), read_directory(Path(sys.argv[2])))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", script, db_url, str(folder)], check=True, env=env, cwd=REPO, timeout=120)
    reads = version_reads(empty_directory)
    clock.now += directory_index.CHECK_INTERVAL_S / 2
    search(empty_directory, Query(place="belgrade", category="health"))  # may still answer from the old index
    assert reads == []  # and did not even ask: checked less than a second ago
    clock.now += directory_index.CHECK_INTERVAL_S
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["new-1"]
    assert reads  # the version was read, and the index rebuilt


def test_the_version_is_read_at_most_once_per_interval(empty_directory: Engine, tmp_path: Path,
                                                        clock: FakeClock) -> None:
    load(empty_directory, read_directory(write_org(tmp_path, in_place("a-1"))))
    search(empty_directory, Query(place="belgrade"))  # builds the index
    reads = version_reads(empty_directory)
    for _ in range(5):
        clock.now += 0.1
        search(empty_directory, Query(place="belgrade"))
    assert reads == []
    clock.now += directory_index.CHECK_INTERVAL_S
    for _ in range(3):
        search(empty_directory, Query(place="belgrade"))
    assert len(reads) == 1  # one cheap SELECT; the version was unchanged, so no rebuild
    index_before = directory_index.warm(empty_directory)
    clock.now += directory_index.CHECK_INTERVAL_S
    assert directory_index.warm(empty_directory) is index_before


def test_records_missing_from_a_stale_index_make_it_check_again(
        db_url: str, empty_directory: Engine, tmp_path: Path, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A page from an index that another process's load made stale (within the check interval)."""
    load(empty_directory, read_directory(write_org(tmp_path / "one", in_place("old-1"), in_place("old-2"))))
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["old-1", "old-2"]
    monkeypatch.setattr(directory_index, "data_changed", lambda: None)  # as if another process loaded
    load(empty_directory, read_directory(write_org(tmp_path / "two", in_place("new-1"))))
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["new-1"]


def test_a_build_that_saw_a_load_commit_is_not_kept(empty_directory: Engine, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    load(empty_directory, read_directory(write_org(tmp_path, in_place("a-1"))))
    versions = iter(range(100))
    monkeypatch.setattr(directory_index, "read_version", lambda conn: str(next(versions)))
    with empty_directory.connect() as conn:
        index = directory_index.build(conn)
    assert next(versions) == 6  # three attempts, each reading the version before and after
    assert index.version == directory_index._UNSETTLED
    assert ids(search(empty_directory, Query(place="belgrade"))) == ["a-1"]


# -- deterministic order ---------------------------------------------------------------------------


def test_equal_services_come_in_id_order_on_every_backend(empty_directory: Engine, tmp_path: Path) -> None:
    names = ["t-b", "t-10", "t-a", "t-9", "t1", "t-1"]
    load(empty_directory, read_directory(write_org(tmp_path, *(in_place(n) for n in names))))
    expected = sorted(names)  # code point order: "t-1" < "t-10" < "t-9" < "t-a" < "t-b" < "t1"
    assert ids(search(empty_directory, Query(place="belgrade", limit=10, open_at=MONDAY))) == expected
    assert ids(search(empty_directory, Query(limit=10))) == expected
    pages = [ids(search(empty_directory, Query(place="belgrade", limit=2, offset=k))) for k in (0, 2, 4)]
    assert sum(pages, []) == expected


# -- the same answers as the rules -----------------------------------------------------------------


_OPEN_RANK = {True: 0, None: 1, False: 2}


def reference(services: list[Service], query: Query) -> list[tuple[Any, ...]]:
    """query.search's documented ranking, computed naively from the full records: every active service
    first, then the temporarily closed ones, each group ranked on its own (its own box)."""
    statuses = ("active", "temporarily_closed") if query.include_temporarily_closed else ("active",)
    matching = [s for s in services
                if (query.category is None or query.category in s.categories)
                and (query.language is None or query.language in s.languages)
                and (query.audience is None or query.audience in s.audience)]
    ranked = []
    for status in statuses:
        ranked += _reference_group([s for s in matching if s.status == status], query)
    return ranked[query.offset: query.offset + query.limit]


def _reference_group(candidates: list[Service], query: Query) -> list[tuple[Any, ...]]:
    moment = local(query.open_at)
    wanted = query.offset + query.limit
    tier: dict[str, int] = {}
    distance: dict[str, float] = {}
    if query.place is None and query.near is None:
        tier = {s.id: 0 for s in candidates}
    else:
        point = query.near or (PLACES[query.place].latitude, PLACES[query.place].longitude)  # type: ignore[index]
        for s in candidates:
            if query.place and any(loc.city == query.place for loc in s.locations):
                tier[s.id] = 0
            elif query.place and query.place in s.service_area:
                tier[s.id] = 1
            elif NATIONAL in s.service_area:
                tier[s.id] = 2
        for radius in (0.5, 1.5, 4.0, None):
            distance = {}
            for s in candidates:
                found = [distance_km(point, (loc.latitude, loc.longitude)) for loc in s.locations
                         if loc.latitude is not None and loc.longitude is not None and (
                             radius is None or (point[0] - radius <= loc.latitude <= point[0] + radius and
                                                point[1] - radius * 1.4 <= loc.longitude <= point[1] + radius * 1.4))]
                if found:
                    distance[s.id] = min(found)
            if radius is None or len(tier.keys() | distance.keys()) >= wanted:
                break
        for sid, km in distance.items():
            if sid not in tier:
                tier[sid] = 0 if query.place is None and km <= 30 else 3
    ranked = []
    for s in candidates:
        if s.id not in tier:
            continue
        now = None if s.schedule is None else is_open(s.schedule, moment)
        if query.only_open and not now:
            continue
        km = distance.get(s.id)
        secondary = int(query.category is not None and s.categories[0] != query.category)
        key = (tier[s.id], int((km or 0.0) // 5), secondary, _OPEN_RANK[now], -s.last_verified.toordinal(), s.id)
        ranked.append((key, (s.id, None if km is None else round(km, 1), now, tier[s.id] < 3,
                             s.status == "temporarily_closed")))
    ranked.sort(key=lambda item: item[0])
    return [hit for _, hit in ranked[:wanted]]


def random_queries(rng: random.Random, n: int) -> Iterator[Query]:
    places = sorted(PLACES)
    days = [dt.date(2026, 11, 30) + dt.timedelta(days=d) for d in range(7)]
    days += [dt.date(2026, 12, 24), dt.date(2026, 12, 31), dt.date(2027, 1, 7)]  # exceptions, a holiday
    for _ in range(n):
        where = rng.random()
        place = rng.choice(places) if where < 0.5 or where > 0.9 else None
        near = None
        if 0.5 <= where < 0.75 or where > 0.95:  # near a town, or on the way between two
            centre = PLACES[rng.choice(places)]
            near = (round(centre.latitude + rng.gauss(0, 0.1), 5), round(centre.longitude + rng.gauss(0, 0.14), 5))
        elif 0.75 <= where < 0.9:  # anywhere in the region, often far from every service
            near = (round(rng.uniform(41.0, 47.5), 4), round(rng.uniform(18.0, 24.0), 4))
        moment = dt.datetime.combine(rng.choice(days), dt.time(), BELGRADE) + dt.timedelta(minutes=rng.randrange(1440))
        yield Query(
            category=rng.choice(sorted(CATEGORY_CODES)) if rng.random() < 0.6 else None,
            place=place, near=near,
            language=rng.choice(["ar", "fa", "ku", "en", "zz"]) if rng.random() < 0.25 else None,
            audience=rng.choice(list(AUDIENCES)) if rng.random() < 0.15 else None,
            open_at=moment, only_open=rng.random() < 0.4, include_temporarily_closed=rng.random() < 0.8,
            limit=rng.choice([1, 3, 5, 5, 10, 40]), offset=rng.choice([0, 0, 0, 2, 7]),
        )


def as_tuples(hits: list[SearchHit]) -> list[tuple[Any, ...]]:
    return [(h.service.id, h.distance_km, h.open_now, h.matched_place, h.temporarily_closed) for h in hits]


def test_search_ranks_like_the_rules_on_a_synthetic_directory(empty_directory: Engine) -> None:
    load(empty_directory, synthetic.generate(600, seed=7))
    services = all_services(empty_directory)
    for query in random_queries(random.Random(11), 400):
        assert as_tuples(search(empty_directory, query)) == reference(services, query), query


def test_search_ranks_like_the_rules_on_the_curated_directory(directory: Engine) -> None:
    services = all_services(directory)
    for query in random_queries(random.Random(5), 300):
        assert as_tuples(search(directory, query)) == reference(services, query), query


def test_search_ranks_like_the_rules_where_services_are_dense(empty_directory: Engine) -> None:
    """Where a page fills from the nearest services, most of a tier is never read: still the same."""
    load(empty_directory, synthetic.generate(2500, seed=3))
    services = all_services(empty_directory)
    rng = random.Random(17)
    for query in random_queries(rng, 150):
        centre = PLACES[rng.choice(["belgrade", "belgrade", "novi_sad", "nis"])]
        near = (round(centre.latitude + rng.gauss(0, 0.02), 5), round(centre.longitude + rng.gauss(0, 0.028), 5))
        dense = replace(query, near=near if query.place is None else None, place=query.place and "belgrade",
                        language=None, audience=None, limit=min(query.limit, 5))
        assert as_tuples(search(empty_directory, dense)) == reference(services, dense), dense
