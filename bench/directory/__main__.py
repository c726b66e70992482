"""Query latency of the service directory on SQLite and PostgreSQL: `python -m bench.directory`.

For the curated data and synthetic directories of the sizes asked for, on each backend: load the
directory with `service_directory.load`, time the first search after the load (it builds the
in-process search index), measure the index's memory (tracemalloc, on a second build) and the
process's RSS growth, then time many random `search` calls of each kind and print p50/p95 in
milliseconds. The figures also go to bench/directory/last_run.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

import service_directory
from bench.support import percentile
from service_directory import Organisation, Query, make_engine, migrate, search
from service_directory import index as directory_index
from service_directory.places import PLACES
from service_directory.schedule import BELGRADE

from . import synthetic

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULTS_FILE = Path(__file__).with_name("last_run.json")
SEED = 20261127
WARMUP = 20  # untimed queries per kind first (statement and page caches), WARMUP_SECONDS at most
WARMUP_SECONDS = 3.0
#: The issue's target for category + place + open now: p95 in ms, by directory size (services).
TARGETS_P95_MS = ((10_000, 5.0), (100_000, 20.0))
#: Languages people ask for staff to speak (not Serbian: that is the default).
ASKED_LANGUAGES: dict[str, float] = {"ar": 5, "fa": 5, "ps": 3, "ur": 2, "en": 3, "fr": 1, "ku": 1}
#: Moments of "open now": between 07:00 and 22:00 on any day of an ordinary week (no holidays).
WEEK_START = dt.datetime(2026, 11, 30, tzinfo=BELGRADE)  # a Monday


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    make: Callable[[random.Random], Query]
    has_target: bool = False


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _category(rng: random.Random) -> str:
    return _pick(rng, synthetic.CATEGORY_WEIGHTS)


def _place(rng: random.Random) -> str:
    """Places weighted like the data: people ask most in Belgrade."""
    return _pick(rng, synthetic.PLACE_WEIGHTS)


def _moment(rng: random.Random) -> dt.datetime:
    return WEEK_START + dt.timedelta(days=rng.randrange(7), minutes=rng.randrange(7 * 60, 22 * 60))


def _point(rng: random.Random) -> tuple[float, float]:
    centre = PLACES[_place(rng)]
    lat = centre.latitude + rng.gauss(0, 0.02)
    lon = centre.longitude + rng.gauss(0, 0.028)
    return round(lat, 5), round(lon, 5)


KINDS = (
    Kind(
        "category+place+open_now",
        "Query(category, place, only_open=True, open_at=moment)",
        lambda r: Query(category=_category(r), place=_place(r), only_open=True, open_at=_moment(r)),
        has_target=True,
    ),
    Kind(
        "category+place",
        "Query(category, place, open_at=moment)",
        lambda r: Query(category=_category(r), place=_place(r), open_at=_moment(r)),
    ),
    Kind(
        "near_point",
        "Query(near=(lat, lon) a few km from a town centre, open_at=moment)",
        lambda r: Query(near=_point(r), open_at=_moment(r)),
    ),
    Kind(
        "language+place",
        "Query(language in ar/fa/ps/ur/en/fr/ku, place, open_at=moment)",
        lambda r: Query(
            language=_pick(r, ASKED_LANGUAGES),
            place=_place(r),
            open_at=_moment(r),
        ),
    ),
)


def target_for(services: int) -> float | None:
    return next((ms for size, ms in TARGETS_P95_MS if services <= size), None)


# -- databases -------------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="putokaz_bench_") as folder:
        yield f"sqlite:///{Path(folder) / 'directory.db'}"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A new database putokaz_bench_<random> on the server of admin_url, dropped afterwards."""
    name = f"putokaz_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                others = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                conn.execute(text(others), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


def postgres_version(admin_url: str) -> str:
    engine = create_engine(admin_url, future=True)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


# -- measuring -------------------------------------------------------------------------------------


def rss_mb() -> float | None:
    """Resident memory of this process (Linux), None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure_index(engine: Engine) -> dict[str, Any]:
    """The first search after a load (which builds the index), and the index's size.

    RSS growth is of the first search: the index plus whatever the allocator kept of the build's
    temporaries. The index's own size is traced by tracemalloc while a second index is built (and
    kept until measured), which also gives the build's peak.
    """
    gc.collect()
    rss_before = rss_mb()
    query = Query(
        category="legal_aid", place="belgrade", only_open=True,
        open_at=WEEK_START + dt.timedelta(hours=10),
    )
    t0 = time.perf_counter()
    search(engine, query)
    first_s = time.perf_counter() - t0
    rss_after = rss_mb()
    index = directory_index.warm(engine)  # the one the first search built
    tracemalloc.start()
    try:
        with engine.connect() as conn:
            second = directory_index.build(conn)
            traced, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del second
    return {
        "first_query_s": round(first_s, 3),
        "build_s": round(index.build_seconds, 3),
        "rows_read": index.rows_read,
        "index_mb": round(traced / 2**20, 1),
        "build_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": None if rss_before is None or rss_after is None else round(rss_after - rss_before, 1),
        **index.stats,
    }


def measure(
    engine: Engine, kind: Kind, queries: int, seed: int, max_seconds: float
) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{kind.name}")  # the same queries for every backend and size
    warmup_started = time.perf_counter()
    for _ in range(min(WARMUP, queries)):
        search(engine, kind.make(rng))
        if time.perf_counter() - warmup_started > WARMUP_SECONDS:
            break
    latencies: list[float] = []
    hits = 0
    started = time.perf_counter()
    for _ in range(queries):
        query = kind.make(rng)
        t0 = time.perf_counter()
        found = search(engine, query)
        latencies.append((time.perf_counter() - t0) * 1000)
        hits += len(found)
        if time.perf_counter() - started > max_seconds:
            break  # keep the whole run bounded; `n` says how many were timed
    return {
        "kind": kind.name,
        "query": kind.description,
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 50), 3),
        "p95_ms": round(percentile(latencies, 95), 3),
        "mean_ms": round(sum(latencies) / len(latencies), 3),
        "max_ms": round(max(latencies), 3),
        "mean_hits": round(hits / len(latencies), 2),
    }


def bench_one(
    url: str,
    backend: str,
    dataset: str,
    organisations: list[Organisation],
    args: argparse.Namespace,
    progress: Callable[[str], None],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    engine = make_engine(url)
    try:
        migrate(engine)
        services = sum(len(o.services) for o in organisations)
        t0 = time.perf_counter()
        service_directory.load(engine, organisations)
        load_s = time.perf_counter() - t0
        if backend == "postgresql":
            # what autovacuum does soon after a bulk load; the app never runs ANALYZE on SQLite
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        progress(f"{dataset} on {backend}: loaded {services} services in {load_s:.1f} s")
        index = measure_index(engine)
        index.update(dataset=dataset, backend=backend)
        progress(
            f"  first search after the load {index['first_query_s'] * 1000:.0f} ms (index build "
            f"{index['build_s'] * 1000:.0f} ms, {index['rows_read']:,} rows); index {index['index_mb']} MB "
            f"(tracemalloc; build peak {index['build_peak_mb']} MB), RSS +{index['rss_growth_mb']} MB"
        )
        rows = []
        for kind in KINDS:
            result = measure(engine, kind, args.queries, args.seed, args.max_seconds_per_kind)
            target = target_for(services) if kind.has_target else None
            result.update(
                dataset=dataset,
                services=services,
                organisations=len(organisations),
                backend=backend,
                load_s=round(load_s, 2),
                target_p95_ms=target,
                meets_target=None if target is None else result["p95_ms"] <= target,
            )
            progress(
                f"  {kind.name:<24} p50 {result['p50_ms']:8.2f} ms  p95 {result['p95_ms']:8.2f} ms"
                f"  (n={result['n']}, {result['mean_hits']} hits)"
            )
            rows.append(result)
        return rows, index
    finally:
        engine.dispose()


# -- output ----------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> str:
    headers = ("dataset", "services", "backend", "load s", "query", "n", "p50 ms", "p95 ms", "hits",
               "target p95")
    body = []
    for r in rows:
        target = (
            ""
            if r["target_p95_ms"] is None
            else f"<= {r['target_p95_ms']:g} {'ok' if r['meets_target'] else 'MISSED'}"
        )
        body.append(
            (
                r["dataset"],
                f"{r['services']:,}",
                r["backend"],
                f"{r['load_s']:.2f}",
                r["kind"],
                str(r["n"]),
                f"{r['p50_ms']:.2f}",
                f"{r['p95_ms']:.2f}",
                f"{r['mean_hits']:g}",
                target,
            )
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
    right = {1, 3, 5, 6, 7, 8}

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(headers), "-+-".join("-" * w for w in widths)]
    out.extend(line(b) for b in body)
    return "\n".join(out)


def index_table(indexes: list[dict[str, Any]]) -> str:
    headers = ("dataset", "indexed", "backend", "first query ms", "build ms", "rows read", "index MB",
               "build peak MB", "RSS + MB")
    body = [
        (
            i["dataset"],
            f"{i['services']:,}",
            i["backend"],
            f"{i['first_query_s'] * 1000:.0f}",
            f"{i['build_s'] * 1000:.0f}",
            f"{i['rows_read']:,}",
            f"{i['index_mb']:.1f}",
            f"{i['build_peak_mb']:.1f}",
            "" if i["rss_growth_mb"] is None else f"{i['rss_growth_mb']:.1f}",
        )
        for i in indexes
    ]
    widths = [max(len(h), *(len(b[k]) for b in body)) for k, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return " | ".join(
            c.ljust(w) if k < 3 else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(headers), "-+-".join("-" * w for w in widths)]
    out.extend(line(b) for b in body)
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.directory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="synthetic directory sizes in services, comma-separated "
        "(default 10000,100000; '' for none)",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="sqlite and/or postgresql (default both)"
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help=f"server to create the temporary database on (default {DEFAULT_POSTGRES_URL})",
    )
    parser.add_argument(
        "--queries",
        type=int,
        default=300,
        help="timed queries per kind, after a warm-up (default 300)",
    )
    parser.add_argument(
        "--max-seconds-per-kind",
        type=float,
        default=15.0,
        help="stop timing a kind after this long, to keep the run bounded; the table's n "
        "says how many were timed (default 15)",
    )
    parser.add_argument("--no-curated", action="store_true", help="skip the curated data")
    parser.add_argument(
        "--seed", type=int, default=SEED, help=f"random seed of data and queries (default {SEED})"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_FILE, help=f"JSON results (default {RESULTS_FILE})"
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 10000,100000")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown or not args.backends:
        given = ", ".join(sorted(unknown)) or "nothing"
        parser.error(f"--backends takes sqlite and/or postgresql, not {given}")
    if args.queries < 1 or any(s < 1 for s in args.sizes):
        parser.error("--queries and --sizes must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    environment: dict[str, Any] = {
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),  # other work on the machine inflates the figures
    }
    if "postgresql" in args.backends:
        try:
            environment["postgresql"] = postgres_version(args.postgres_url)
        except OperationalError as exc:
            print(
                f"cannot reach PostgreSQL at {make_url(args.postgres_url)!r}: {exc.orig}\n"
                "give --postgres-url, or --backends sqlite",
                file=sys.stderr,
            )
            return 2

    datasets: list[tuple[str, Callable[[], list[Organisation]]]] = []
    if not args.no_curated:
        datasets.append(("curated", service_directory.read_directory))
    for size in args.sizes:
        datasets.append((f"synthetic-{size}", partial(synthetic.generate, size, seed=args.seed)))

    if not datasets:
        print("nothing to measure: give --sizes or leave out --no-curated", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    indexes: list[dict[str, Any]] = []
    skipped: list[str] = []
    for dataset, build in datasets:
        t0 = time.perf_counter()
        try:
            organisations = build()
        except service_directory.CurationError as exc:
            problems = len(exc.problems)
            progress(f"{dataset}: skipped, the curated data has {problems} problems")
            skipped.append(dataset)
            continue
        progress(
            f"{dataset}: {sum(len(o.services) for o in organisations)} services in "
            f"{len(organisations)} organisations, built in {time.perf_counter() - t0:.1f} s"
        )
        for backend in args.backends:
            database = (
                sqlite_database() if backend == "sqlite" else postgres_database(args.postgres_url)
            )
            with database as url:
                measured, index = bench_one(url, backend, dataset, organisations, args, progress)
                rows.extend(measured)
                indexes.append(index)
        del organisations

    elapsed = time.perf_counter() - started
    if not rows:
        print("nothing was measured", file=sys.stderr)
        return 1
    environment["load_average_at_end"] = os.getloadavg()
    print(table(rows))
    load_start = environment["load_average_at_start"][0]
    load_end = environment["load_average_at_end"][0]
    print(
        f"\nLatency of service_directory.search() in ms, {len(KINDS)} query kinds x up to "
        f"{args.queries} timed queries each\n(n is fewer when a kind took over "
        f"{args.max_seconds_per_kind:g} s), after up to {WARMUP} untimed ones; hits: mean results "
        f"per query.\nWhole run {elapsed:.0f} s; load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end, on {os.cpu_count()} CPUs."
    )
    for kind in KINDS:
        print(f"  {kind.name}: {kind.description}")
    print(
        "\nThe search index, per dataset and backend: the services it holds (the visible ones), the"
        "\nfirst search after the load (which builds the index), the build alone, the index's memory"
        "\nas tracemalloc counts it (a second build), the build's peak, and how much the process's RSS"
        "\ngrew over the first search (little to go by: the allocator reuses memory the load freed).\n"
    )
    print(index_table(indexes))
    if skipped:
        print(f"skipped: {', '.join(skipped)} (see above)")
    missed = [r for r in rows if r["meets_target"] is False]
    if missed:
        where = sorted({f"{r['dataset']}/{r['backend']}" for r in missed})
        print(f"MISSED target: {', '.join(where)}")

    report = {
        "command": "python -m bench.directory " + " ".join(sys.argv[1:] if argv is None else argv),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(elapsed, 1),
        "environment": environment,
        "settings": {
            "sizes": args.sizes,
            "backends": args.backends,
            "queries": args.queries,
            "warmup": WARMUP,
            "seed": args.seed,
            "max_seconds_per_kind": args.max_seconds_per_kind,
            "open_at": "random moments 07:00-22:00 in the week of 2026-11-30 (Europe/Belgrade)",
            "kinds": {k.name: k.description for k in KINDS},
        },
        "skipped": skipped,
        "results": rows,
        "indexes": indexes,
    }
    args.output.write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
