"""An in-process index of the visible services, so that `search` ranks without reading every candidate.

For every visible service (active or temporarily closed) the index keeps what the ranking needs:
its id, whether it is temporarily closed, its category, audience and language codes, its service
area, the places and coordinates of its locations and its opening hours (a parsed `Schedule`,
shared by the services with the same hours). Services are numbered in the order of the last
ranking keys, most recently verified first and then by id, so that a list of numbers in ascending
order is already in ranking order within a group. Lookups are sorted lists and masks (bytearrays
indexed by that number) by category, audience, language, place of a location, service area, and
place and category together; and two grids of services by the cells their locations are in:
CELL_DEG cells for the boxes around a point, FINE_CELL_DEG cells for the nearest services. It is
built with a handful of bulk reads (build()).

A search (`DirectoryIndex.rank`) takes the tiers in turn, and reads each tier's candidates in
ascending number until the best possible group (not temporarily closed, within BUCKET_KM) has shown
enough open services for the page; the rest of a tier is read only when it has not. With a point
only, tier 0 (within NEAR_KM) is read from the fine grid, distance bucket by distance bucket.
Opening hours are judged once per distinct schedule and search, and only for candidates that can
still reach the page.

One index per engine, kept for the life of the engine. Freshness: `loader.load` writes a new
`data_version` into `directory_meta` in its transaction. An index remembers the version it was
built from and compares it with the database's at most once per CHECK_INTERVAL_S (other processes,
such as the action server and the CLI, load data too), and at its next use after a load by this
process, whichever engine did it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
import threading
import time
import weakref
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby, islice
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from . import models as m
from .places import NATIONAL, PLACES
from .records import Schedule, ScheduleException, TimeSlot
from .schedule import is_open, to_time

if TYPE_CHECKING:
    from .query import Query

VISIBLE = ("active", "temporarily_closed")
DATA_VERSION_KEY = "data_version"
CHECK_INTERVAL_S = 1.0  # how stale an index may be when another process loaded data
CELL_DEG = 0.5  # grid cells of about 55 x 39 km
FINE_CELL_DEG = 0.05  # finer cells (about 5.5 x 3.9 km), to find the nearest services in a dense area
RADII_DEG = (0.5, 1.5, 4.0)  # bounding boxes tried in turn around the point (about 55, 165, 440 km)
LON_PER_LAT = 1.4  # a box spans 1.4 times as many degrees of longitude as of latitude
NEAR_KM = 30.0  # with a point only, "in the place" means within this reach
BUCKET_KM = 5.0  # differences of distance within a town do not outrank opening hours
_BEST = (0, 0, 0)  # the best possible group: not temporarily closed, nearest distance bucket, main category

Box = tuple[float, float, float, float]  # lat_min, lat_max, lon_min, lon_max (inclusive)
Mask = bytearray  # 1 at the number of every service that has the property

_clock = time.monotonic  # replaced in tests
_UNSETTLED = "\0unsettled"  # the version of an index whose reads saw a load commit: never current


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in kilometres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class Ranked(NamedTuple):
    """One service of a page, with what the ranking found out about it."""

    id: str
    tier: int  # 0 location in the place, 1 serves the place, 2 national, 3 elsewhere
    temporarily_closed: bool
    distance_km: float | None
    open_now: bool | None


# -- the index -------------------------------------------------------------------------------------


@dataclass(eq=False)
class DirectoryIndex:
    """The visible services, numbered 0..n-1 in the order (last verified descending, id)."""

    ids: list[str]
    closed: Mask  # temporarily closed
    active: Mask
    shapes: list[Schedule]  # distinct opening hours (without their notes)
    shape_of: array[int]  # number of the service -> index into shapes, -1 without opening hours
    loc_start: array[int]  # locations with coordinates of service i: loc_start[i]:loc_start[i + 1]
    loc_lat: array[float]
    loc_lon: array[float]
    located: list[int]  # services with at least one location with coordinates
    category: dict[str, tuple[list[int], Mask]]
    main_category: dict[str, Mask]  # services whose first (main) category is the code
    audience: dict[str, tuple[list[int], Mask]]
    language: dict[str, tuple[list[int], Mask]]
    in_city: dict[str, tuple[list[int], Mask]]  # services with a location in the place
    in_area: dict[str, tuple[list[int], Mask]]  # services whose area lists the place (or "national")
    in_city_category: dict[tuple[str, str], list[int]]
    grid: dict[tuple[int, int], list[int]]  # services with a location in the cell
    fine_grid: dict[tuple[int, int], list[int]]  # the same in FINE_CELL_DEG cells
    version: str | None = None
    build_seconds: float = 0.0
    rows_read: int = 0
    stats: dict[str, int] = field(default_factory=dict)

    def rank(self, query: Query, moment: dt.datetime) -> list[Ranked]:
        """The page of `query` in ranking order (see query.search)."""
        return _Ranking(self, query, moment).page()


def _cells(box: Box, size: float = CELL_DEG) -> Iterator[tuple[int, int]]:
    for ci in range(math.floor(box[0] / size), math.floor(box[1] / size) + 1):
        for cj in range(math.floor(box[2] / size), math.floor(box[3] / size) + 1):
            yield ci, cj


def _around(point: tuple[float, float], km: float) -> Box | None:
    """A box holding every point within `km` of `point` (with a margin), None near the poles."""
    lat, lon = point
    dlat = math.degrees(km / 6371.0) * 1.1
    if abs(lat) + dlat >= 80:
        return None
    cosines = math.cos(math.radians(lat)) * math.cos(math.radians(abs(lat) + dlat))
    dlon = math.degrees(2 * math.asin(min(1.0, math.sin(km / 2 / 6371.0) / math.sqrt(cosines)))) * 1.1
    return (lat - dlat, lat + dlat, lon - dlon, lon + dlon)


def _box(point: tuple[float, float], radius: float) -> Box:
    lat, lon = point
    return (lat - radius, lat + radius, lon - radius * LON_PER_LAT, lon + radius * LON_PER_LAT)


def _keep(source: Iterable[int], required: Sequence[Mask] = (), excluded: Sequence[Mask] = ()) -> Iterator[int]:
    """The numbers of `source` set in every required mask and in no excluded one."""
    if not required and not excluded:
        return iter(source)
    if len(required) == 1 and not excluded:
        a = required[0]
        return (i for i in source if a[i])
    if len(required) == 2 and not excluded:
        a, b = required
        return (i for i in source if a[i] and b[i])
    if not required and len(excluded) == 1:
        x = excluded[0]
        return (i for i in source if not x[i])
    if len(required) == 1 and len(excluded) == 1:
        a, x = required[0], excluded[0]
        return (i for i in source if a[i] and not x[i])
    return (i for i in source if all(r[i] for r in required) and not any(x[i] for x in excluded))


_OPEN_RANK = {True: 0, None: 1, False: 2}


class _Ranking:
    """One search over the index: candidates by tier, grouped and ordered as query.search documents.

    Each tier's candidates come as a stream in ascending number, which is the order of the last
    ranking keys (most recently verified, then id). Within a group of equal (tier, temporarily
    closed, distance bucket, main category or not) the order is open now, unknown, closed, and then
    that number. A tier
    is read until the best possible group has shown enough open services for the page; only when
    it has not is the rest of the tier read and grouped. Opening hours are judged only for members
    of groups that can still reach the page, once per distinct schedule.
    """

    def __init__(self, index: DirectoryIndex, query: Query, moment: dt.datetime) -> None:
        self.ix = index
        self.q = query
        self.moment = moment
        self.wanted = query.offset + query.limit
        self.only_open = query.only_open
        self.open_cache: dict[int, bool] = {}
        self.dist_cache: dict[int, float | None] = {}
        self.point: tuple[float, float] | None = None
        self.box: Box | None = None  # None: every location counts (after the widest box)
        self.filters: list[tuple[list[int], Mask]] = []
        self.status: list[Mask] = [] if query.include_temporarily_closed else [index.active]
        # services whose main category is the one asked for come first within a group; None: no
        # category asked for, so every service counts as a main one
        self.main: Mask | None = None
        if query.category is not None:
            self.main = index.main_category.get(query.category) or bytearray(len(index.ids))

    # -- filters

    def _filters(self) -> list[tuple[list[int], Mask]] | None:
        """(list, mask) of each code filter, None when one of them matches nothing."""
        ix, q = self.ix, self.q
        found = []
        for value, table in ((q.category, ix.category), (q.language, ix.language), (q.audience, ix.audience)):
            if value is None:
                continue
            entry = table.get(value)
            if entry is None:
                return None
            found.append(entry)
        return found

    def _status(self) -> list[Mask]:
        """The status filter of the streams now read: every visible service while the box is settled,
        then the active ones, then (unless left out) the temporarily closed ones."""
        return self.status

    def _matching(self, source: tuple[list[int], Mask] | None,
                  excluded: Sequence[Mask] = ()) -> Callable[[], Iterator[int]]:
        """A stream factory: services of `source` (all when None) that pass every filter, read from
        the smallest of the lists involved."""
        candidates = [*self.filters, *([source] if source is not None else [])]
        if not candidates:
            everything = range(len(self.ix.ids))
            return lambda: _keep(everything, self._status(), excluded)
        smallest = min(candidates, key=lambda entry: len(entry[0]))
        required = [mask for lst, mask in candidates if lst is not smallest[0]]
        return lambda: _keep(smallest[0], required + self._status(), excluded)

    # -- distances and opening hours

    def _distance_in(self, i: int, box: Box | None) -> float | None:
        """Distance from the point to the nearest location of i with coordinates inside the box."""
        point = self.point
        assert point is not None
        lats, lons = self.ix.loc_lat, self.ix.loc_lon
        best = None
        for k in range(self.ix.loc_start[i], self.ix.loc_start[i + 1]):
            la, lo = lats[k], lons[k]
            if box is not None and not (box[0] <= la <= box[1] and box[2] <= lo <= box[3]):
                continue
            km = distance_km(point, (la, lo))
            if best is None or km < best:
                best = km
        return best

    def distance(self, i: int) -> float | None:
        """Distance within the box the search settled on (what the bucket and the hit show)."""
        if self.point is None:
            return None
        try:
            return self.dist_cache[i]
        except KeyError:
            km = self.dist_cache[i] = self._distance_in(i, self.box)
            return km

    def open_now(self, i: int) -> bool | None:
        shape = self.ix.shape_of[i]
        if shape < 0:
            return None
        found = self.open_cache.get(shape)
        if found is None:
            found = self.open_cache[shape] = is_open(self.ix.shapes[shape], self.moment)
        return found

    def group(self, i: int) -> tuple[int, int, int]:
        return self.ix.closed[i], int((self.distance(i) or 0.0) // BUCKET_KM), self.secondary(i)

    def secondary(self, i: int) -> int:
        """0 when the category asked for is i's main one (or none was asked for), else 1."""
        return 0 if self.main is None else 1 - self.main[i]

    # -- spatial streams

    def _in_box(self, box: Box | None, excluded: Sequence[Mask], near: Box | None = None) -> Iterator[int]:
        """Matching services, not excluded, with a location in the box (every located one when None).

        Read from the grid cells of the box (from the fine cells of the smaller area `near`, when
        given), or from the shortest filter list when that is shorter.
        """
        lists: list[list[int]]
        if near is not None:
            lists = [self.ix.fine_grid[c] for c in _cells(near, FINE_CELL_DEG) if c in self.ix.fine_grid]
        elif box is not None:
            lists = [self.ix.grid[c] for c in _cells(box) if c in self.ix.grid]
        else:
            lists = [self.ix.located]
        shortest = min((lst for lst, _ in self.filters), key=len, default=None)
        source: Iterable[int]
        if shortest is not None and len(shortest) < sum(map(len, lists)):
            source = shortest
        elif len(lists) == 1:
            source = lists[0]
        else:
            source = heapq.merge(*lists)
        required = [mask for _, mask in self.filters] + self._status()
        last = -1
        distance = self.distance if box is self.box else lambda i: self._distance_in(i, box)
        for i in _keep(source, required, excluded):
            if i == last:
                continue  # a service with locations in several cells
            last = i
            if distance(i) is not None:
                yield i

    @staticmethod
    def _count(stream: Iterator[int], cap: int) -> int:
        return sum(1 for _ in islice(stream, cap))

    # -- the ranking

    def page(self) -> list[Ranked]:
        filters = self._filters()
        if filters is None:
            return []
        self.filters = filters
        q, ix = self.q, self.ix
        # Every active service before any temporarily closed one: a closed centre in the town helps
        # less than an open one nearby or a national line. Each pass settles its own box, so that the
        # order of the whole list does not depend on the page asked for.
        ranked: list[tuple[int, int]] = []
        for status in [ix.active, *([ix.closed] if q.include_temporarily_closed else [])]:
            self.status = [status]
            if q.place is not None:
                tiers = self._place_tiers(q.place)
            elif q.near is not None:
                tiers = self._point_tiers(q.near)
            else:
                tiers = [_Tier(0, self._matching(None))]
            for tier in tiers:
                for i in self._rank_tier(tier, self.wanted - len(ranked)):
                    ranked.append((tier.number, i))
                if len(ranked) >= self.wanted:
                    break
            if len(ranked) >= self.wanted:
                break
        return [Ranked(ix.ids[i], tier, bool(ix.closed[i]), self.distance(i), self.open_now(i))
                for tier, i in ranked[q.offset: self.wanted]]

    def _place_tiers(self, slug: str) -> list[_Tier]:
        """In the place, serving it, national; then elsewhere, by distance from the point or the place."""
        ix, place = self.ix, PLACES[slug]
        self.point = self.q.near or (place.latitude, place.longitude)
        city, area, national = ix.in_city.get(slug), ix.in_area.get(slug), ix.in_area.get(NATIONAL)
        city_mask = [city[1]] if city else []
        area_mask = [area[1]] if area else []
        national_mask = [national[1]] if national else []
        found = [
            _Tier(0, self._place_stream(slug, city) if city else _nothing),
            _Tier(1, self._matching(area, excluded=city_mask) if area else _nothing),
            _Tier(2, self._matching(national, excluded=city_mask + area_mask) if national else _nothing),
        ]
        others = city_mask + area_mask + national_mask
        box = self.box = self._settle_box(found, lambda box: self._in_box(box, others))
        return [*found, _Tier(3, lambda: self._in_box(box, others))]

    def _point_tiers(self, point: tuple[float, float]) -> list[_Tier]:
        """Within NEAR_KM of the point ("in the place"), national, then farther away."""
        national = self.ix.in_area.get(NATIONAL)
        national_mask = [national[1]] if national else []
        self.point = point
        found = [_Tier(2, self._matching(national) if national else _nothing)]
        box = self.box = self._settle_box(found, lambda box: self._in_box(box, national_mask))

        def near() -> Iterator[int]:
            return (i for i in self._in_box(box, national_mask) if self.distance(i) <= NEAR_KM)  # type: ignore[operator]

        def far() -> Iterator[int]:
            return (i for i in self._in_box(box, national_mask) if self.distance(i) > NEAR_KM)  # type: ignore[operator]

        around = _around(point, BUCKET_KM)  # the best group of tier 0, nearer than BUCKET_KM, is in there
        if around is None:  # near a pole: no rings
            return [_Tier(0, near), *found, _Tier(3, far)]
        return [
            _Tier(0, near, lambda: self._in_box(box, national_mask, near=around),
                  lambda need: self._rank_rings(need, national_mask)),
            *found,
            _Tier(3, far),
        ]

    def _place_stream(self, place: str, city: tuple[list[int], Mask]) -> Callable[[], Iterator[int]]:
        """Matching services with a location in the place, from the smallest list that has them."""
        if self.q.category is not None:
            by_both = self.ix.in_city_category.get((place, self.q.category), [])
            filters = [entry for entry in self.filters if entry is not self.ix.category[self.q.category]]
            smallest = min([(by_both, city[1]), *filters], key=lambda entry: len(entry[0]))
            if smallest[0] is by_both:
                required = [mask for _, mask in filters]
                return lambda: _keep(by_both, required + self._status())
        return self._matching(city)

    def _settle_box(self, found: list[_Tier], elsewhere: Callable[[Box], Iterator[int]]) -> Box | None:
        """The box the search reads distances in: the first one holding enough candidates.

        The smallest box of RADII_DEG around the point in which the services `found` by place (or
        nationally) and those with a location in the box are together at least `wanted`; when even
        the widest is short, every location counts (None).
        """
        assert self.point is not None
        count = self._count(chain.from_iterable(tier.stream() for tier in found), self.wanted)
        if count >= self.wanted:
            return _box(self.point, RADII_DEG[0])
        for radius in RADII_DEG:
            box = _box(self.point, radius)
            if count + self._count(elsewhere(box), self.wanted - count) >= self.wanted:
                return box
        return None

    def _rank_tier(self, tier: _Tier, need: int) -> list[int]:
        """Up to `need` services of one tier in ranking order (open ones only with only_open)."""
        group, open_now, only_open = self.group, self.open_now, self.only_open
        if tier.best_first is not None:  # a shorter stream in the same order, with all the best group
            found = []
            for i in tier.best_first():
                if open_now(i) and group(i) == _BEST:
                    found.append(i)
                    if len(found) >= need:
                        return found
        if tier.rings is not None:
            return tier.rings(need)
        best_open: list[int] = []
        best_unknown: list[int] = []
        best_closed: list[int] = []
        others: list[tuple[tuple[int, int, int], int]] = []
        for i in tier.stream():
            if only_open and not open_now(i):
                continue  # cheaper than its distance, and it cannot reach the page
            key = group(i)
            if key == _BEST:
                now = open_now(i)
                if now:
                    best_open.append(i)
                    if len(best_open) >= need:
                        return best_open  # nothing can come before these
                elif now is None:
                    best_unknown.append(i)
                else:
                    best_closed.append(i)
            else:
                others.append((key, i))
        ranked = best_open + best_unknown + best_closed
        if len(ranked) >= need or not others:
            return ranked[:need]
        others.sort(key=itemgetter(0))  # stable: each group stays in ascending number
        for _, members in groupby(others, key=itemgetter(0)):
            ranked.extend(self._rank_group([i for _, i in members], need - len(ranked)))
            if len(ranked) >= need:
                break
        return ranked[:need]

    def _rank_rings(self, need: int, excluded: Sequence[Mask]) -> list[int]:
        """Tier 0 of a search by point only, group by group: distance bucket b is complete once the
        fine cells within (b + 1) * BUCKET_KM of the point have been read, so a page is found
        without reading the services farther away than it reaches."""
        ix, point, only_open = self.ix, self.point, self.only_open
        assert point is not None
        required = [mask for _, mask in self.filters] + self._status()
        scanned: set[tuple[int, int]] = set()
        seen: set[int] = set()
        groups: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
        ranked: list[int] = []
        for bucket in range(int(NEAR_KM // BUCKET_KM) + 1):
            reach = _around(point, BUCKET_KM * (bucket + 1))
            assert reach is not None
            for cell in _cells(reach, FINE_CELL_DEG):
                if cell in scanned or cell not in ix.fine_grid:
                    continue
                scanned.add(cell)
                for i in _keep(ix.fine_grid[cell], required, excluded):
                    if i in seen:
                        continue
                    seen.add(i)
                    if only_open and not self.open_now(i):
                        continue
                    km = self.distance(i)
                    if km is not None and km <= NEAR_KM:
                        groups[(ix.closed[i], int(km // BUCKET_KM), self.secondary(i))].append(i)
            for secondary in (0, 1):
                members = groups.pop((0, bucket, secondary), None)
                if members:
                    ranked.extend(self._rank_group(sorted(members), need - len(ranked)))
                    if len(ranked) >= need:
                        return ranked[:need]
        for key in sorted(groups):  # the temporarily closed ones
            ranked.extend(self._rank_group(sorted(groups[key]), need - len(ranked)))
            if len(ranked) >= need:
                break
        return ranked[:need]

    def _rank_group(self, members: list[int], need: int) -> list[int]:
        """Up to `need` of one group in ranking order; opening hours only as far as they decide it."""
        opened = []
        open_now = self.open_now
        for i in members:
            if open_now(i):
                opened.append(i)
                if len(opened) >= need:
                    return opened
        if self.only_open:
            return opened
        return sorted(members, key=lambda i: _OPEN_RANK[open_now(i)])[:need]


def _nothing() -> Iterator[int]:
    return iter(())


class _Tier(NamedTuple):
    number: int
    stream: Callable[[], Iterator[int]]  # its candidates in ascending number
    best_first: Callable[[], Iterator[int]] | None = None  # a shorter stream with all of its best group
    rings: Callable[[int], list[int]] | None = None  # ranks the tier group by group instead of the stream


# -- building --------------------------------------------------------------------------------------

_service = m.ServiceRow.__table__
_location = m.LocationRow.__table__
_at = m.ServiceAtLocation.__table__
_schedule = m.ScheduleRow.__table__
_slot = m.ScheduleSlot.__table__
_exception = m.ScheduleExceptionRow.__table__
_meta = m.DirectoryMeta.__table__


class _B:
    """The bulk reads of a build, built once."""

    version = select(_meta.c.value).where(_meta.c.key == DATA_VERSION_KEY)
    services = select(_service.c.id, _service.c.status, _service.c.last_verified).where(
        _service.c.status.in_(VISIBLE))
    codes = {
        kind: select(table.c.service_id, column)
        for kind, table, column in (
            ("audience", m.ServiceAudience.__table__, m.ServiceAudience.__table__.c.code),
            ("language", m.ServiceLanguage.__table__, m.ServiceLanguage.__table__.c.code),
            ("area", m.ServiceArea.__table__, m.ServiceArea.__table__.c.place),
        )
    }
    categories = select(m.ServiceCategory.__table__.c.service_id, m.ServiceCategory.__table__.c.code,
                        m.ServiceCategory.__table__.c.position)
    locations = (select(_at.c.service_id, _location.c.city, _location.c.latitude, _location.c.longitude)
                 .select_from(_at.join(_location, _location.c.id == _at.c.location_id)))
    schedules = select(_schedule.c.id, _schedule.c.service_id, _schedule.c.always_open,
                       _schedule.c.closed_on_public_holidays)
    slots = (select(_slot.c.schedule_id, _slot.c.weekday, _slot.c.opens_minute, _slot.c.closes_minute)
             .order_by(_slot.c.schedule_id, _slot.c.weekday, _slot.c.opens_minute, _slot.c.closes_minute))
    exceptions = (select(_exception.c.schedule_id, _exception.c.date, _exception.c.closed,
                         _exception.c.opens_minute, _exception.c.closes_minute)
                  .order_by(_exception.c.schedule_id, _exception.c.id))


def read_version(conn: Connection) -> str | None:
    version: str | None = conn.execute(_B.version).scalar_one_or_none()
    return version


def build(conn: Connection, attempts: int = 3) -> DirectoryIndex:
    """Read the visible services into a new index.

    The reads are separate statements; a load that commits in between changes the data version,
    and the build starts again (the last attempt is kept anyway, and rebuilt at the next check).
    """
    started = time.perf_counter()
    for _ in range(attempts):
        version = read_version(conn)
        index = _build(conn)
        if read_version(conn) == version:
            break
    else:
        version = _UNSETTLED  # not a consistent snapshot: the next check rebuilds it
    index.version = version
    index.build_seconds = time.perf_counter() - started
    return index


_compiled: dict[tuple[str, int], str] = {}


def _rows(conn: Connection, statement: Any, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """The rows of a bulk read as the driver gives them, in large batches, in the connection's transaction.

    Plain tuples: SQLAlchemy's result rows cost twice the time of the reading itself at this size.
    So no type processing either: SQLite gives dates as ISO text and booleans as 0 and 1.
    """
    key = (conn.dialect.name, id(statement))
    sql = _compiled.get(key)
    if sql is None:  # the statements have no parameters from outside (literal_binds renders VISIBLE)
        sql = _compiled[key] = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _coded(lists: Mapping[str, list[int]], n: int) -> dict[str, tuple[list[int], Mask]]:
    result = {}
    for code, numbers in lists.items():
        numbers.sort()
        mask = bytearray(n)
        for i in numbers:
            mask[i] = 1
        result[code] = (numbers, mask)
    return result


def _build(conn: Connection) -> DirectoryIndex:
    rows = list(_rows(conn, _B.services))
    rows.sort(key=itemgetter(0))
    rows.sort(key=itemgetter(2), reverse=True)  # stable: most recently verified first, then by id
    n = len(rows)
    numbers = list(range(n))  # one int object per service, shared by every list below
    ids = [r[0] for r in rows]
    number_of = dict(zip(ids, numbers, strict=True))
    closed = bytearray(r[1] == "temporarily_closed" for r in rows)
    active = bytearray(r[1] == "active" for r in rows)
    read = n
    del rows

    codes: dict[str, defaultdict[str, list[int]]] = {}
    for kind, statement in _B.codes.items():
        lists = codes[kind] = defaultdict(list)
        for sid, code in _rows(conn, statement):
            read += 1
            i = number_of.get(sid)
            if i is not None:
                lists[code].append(i)
    by_category: defaultdict[str, list[int]] = defaultdict(list)
    main_category: dict[str, Mask] = {}
    for sid, code, position in _rows(conn, _B.categories):
        read += 1
        i = number_of.get(sid)
        if i is not None:
            by_category[code].append(i)
            if position == 0:
                main_category.setdefault(code, bytearray(n))[i] = 1
    category = _coded(by_category, n)

    # Locations as columns first (few objects), then grouped by service with a counting sort.
    in_city_all: defaultdict[str, list[int]] = defaultdict(list)
    where, lats, lons = array("i"), array("d"), array("d")
    loc_start = array("i", [0]) * (n + 1)
    for sid, city, lat, lon in _rows(conn, _B.locations):
        read += 1
        i = number_of.get(sid)
        if i is None:
            continue
        in_city_all[city].append(i)
        if lat is not None and lon is not None:
            where.append(i)
            lats.append(lat)
            lons.append(lon)
            loc_start[i + 1] += 1
    for i in numbers:
        loc_start[i + 1] += loc_start[i]
    free = array("i", loc_start)
    loc_lat, loc_lon = array("d", bytes(8 * len(where))), array("d", bytes(8 * len(where)))
    for k, i in enumerate(where):
        loc_lat[free[i]], loc_lon[free[i]] = lats[k], lons[k]
        free[i] += 1
    del where, lats, lons, free

    in_city = {city: sorted(set(members)) for city, members in in_city_all.items()}
    del in_city_all
    in_city_category: dict[tuple[str, str], list[int]] = {}
    for city, members in in_city.items():
        for code, (_, mask) in category.items():
            found = [i for i in members if mask[i]]
            if found:
                in_city_category[(city, code)] = found

    located: list[int] = []
    grid: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    fine_grid: defaultdict[tuple[int, int], list[int]] = defaultdict(list)
    floor = math.floor
    for i in numbers:
        start, end = loc_start[i], loc_start[i + 1]
        if start == end:
            continue
        located.append(i)
        cells = {(floor(loc_lat[k] / CELL_DEG), floor(loc_lon[k] / CELL_DEG)) for k in range(start, end)}
        fine_cells = {(floor(loc_lat[k] / FINE_CELL_DEG), floor(loc_lon[k] / FINE_CELL_DEG)) for k in range(start, end)}
        for cell in cells:
            grid[cell].append(i)
        for cell in fine_cells:
            fine_grid[cell].append(i)

    shapes: list[Schedule] = []
    shape_ids: dict[tuple[Any, ...], int] = {}
    shape_of = array("i", [-1]) * n
    slots: dict[int, tuple[tuple[int, int, int], ...]] = {}
    shared: dict[Any, Any] = {}  # one tuple for equal slots and equal weeks: a few hundred, not a million
    for schedule_id, group in groupby(_rows(conn, _B.slots), key=itemgetter(0)):
        found_slots = tuple(shared.setdefault(slot, slot) for slot in map(_TAIL, group))
        slots[schedule_id] = shared.setdefault(found_slots, found_slots)
        read += len(found_slots)
    exceptions: dict[int, tuple[tuple[dt.date, bool, int | None, int | None], ...]] = {}
    for schedule_id, group in groupby(_rows(conn, _B.exceptions), key=itemgetter(0)):
        exceptions[schedule_id] = found_exceptions = tuple(
            (_date(day), bool(is_closed), opens, closes) for _, day, is_closed, opens, closes in group)
        read += len(found_exceptions)
    for schedule_id, sid, always, holidays in _rows(conn, _B.schedules):
        read += 1
        i = number_of.get(sid)
        if i is None:
            continue
        key = (bool(always), slots.get(schedule_id, ()), bool(holidays), exceptions.get(schedule_id, ()))
        shape = shape_ids.get(key)
        if shape is None:
            shape = shape_ids[key] = len(shapes)
            shapes.append(_schedule_of(*key))
        shape_of[i] = shape

    return DirectoryIndex(
        ids=ids, closed=closed, active=active, shapes=shapes, shape_of=shape_of,
        loc_start=loc_start, loc_lat=loc_lat, loc_lon=loc_lon, located=located,
        category=category, main_category=main_category, audience=_coded(codes["audience"], n),
        language=_coded(codes["language"], n), in_city=_coded(in_city, n), in_area=_coded(codes["area"], n),
        in_city_category=in_city_category, grid=dict(grid), fine_grid=dict(fine_grid), rows_read=read,
        stats={"services": n, "located_locations": len(loc_lat), "distinct_schedules": len(shapes),
               "grid_cells": len(grid), "fine_grid_cells": len(fine_grid)},
    )


_TAIL = itemgetter(slice(1, None))


def _schedule_of(always: bool, weekly: tuple[tuple[int, int, int], ...], holidays: bool,
                 exceptions: tuple[tuple[dt.date, bool, int | None, int | None], ...]) -> Schedule:
    """The parts of a schedule that decide whether it is open (its note is left out)."""
    return Schedule(
        always_open=always,
        weekly=tuple(TimeSlot(weekday, to_time(opens), to_time(closes)) for weekday, opens, closes in weekly),
        closed_on_public_holidays=holidays,
        exceptions=tuple(ScheduleException(day, is_closed, None if opens is None else to_time(opens),
                                           None if closes is None else to_time(closes))
                         for day, is_closed, opens, closes in exceptions),
    )


# -- one index per engine --------------------------------------------------------------------------


class _Slot:
    __slots__ = ("lock", "index", "checked_at", "generation")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.index: DirectoryIndex | None = None
        self.checked_at = -math.inf
        self.generation = -1


_slots: weakref.WeakKeyDictionary[Engine, _Slot] = weakref.WeakKeyDictionary()
_slots_lock = threading.Lock()
_generation = 0  # loads committed by this process


def data_changed() -> None:
    """Tell every index of this process to check the data version at its next use (after a load)."""
    global _generation
    with _slots_lock:
        _generation += 1


def _slot_of(engine: Engine) -> _Slot:
    with _slots_lock:
        slot = _slots.get(engine)
        if slot is None:
            slot = _slots[engine] = _Slot()
        return slot


def current(engine: Engine, conn: Connection) -> DirectoryIndex:
    """The engine's index, checked against the data version when due, rebuilt when it changed."""
    slot = _slot_of(engine)
    index = slot.index
    if index is not None and slot.generation == _generation and _clock() - slot.checked_at < CHECK_INTERVAL_S:
        return index
    with slot.lock:  # one thread checks and builds; the others wait for it
        generation, now = _generation, _clock()
        index = slot.index
        if index is not None and slot.generation == generation and now - slot.checked_at < CHECK_INTERVAL_S:
            return index
        if index is None or read_version(conn) != index.version:
            index = slot.index = build(conn)
        slot.checked_at, slot.generation = now, generation
        return index


def forget(engine: Engine) -> None:
    """Check the data version at the next search of this engine (its index may be out of date)."""
    slot = _slot_of(engine)
    slot.checked_at = -math.inf


def warm(engine: Engine) -> DirectoryIndex:
    """The engine's current index, built now when needed (e.g. after a load, before traffic)."""
    with engine.connect() as conn:
        return current(engine, conn)
