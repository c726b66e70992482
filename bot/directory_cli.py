"""`putokaz directory ...`: search, validate, load, export and import the service directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from service_directory import (
    CATEGORY_CODES,
    PLACE_SLUGS,
    CurationError,
    Query,
    SearchHit,
    UnknownCode,
    describe_schedule,
    load,
    open_directory,
    pick,
    read_directory,
    search,
)


def register(areas: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    directory = areas.add_parser("directory", help="the curated service directory")
    commands = directory.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = commands.add_parser("search", help="find services, best first")
    s.add_argument("--category", choices=sorted(CATEGORY_CODES), metavar="C", help="a category code")
    s.add_argument("--city", choices=sorted(PLACE_SLUGS), metavar="P", help="a place slug, e.g. belgrade")
    s.add_argument("--lang", default="en", choices=["en", "ar", "fa", "ps", "sr"], help="language of names")
    s.add_argument("--near", metavar="LAT,LON", help="rank by distance from this point")
    s.add_argument("--open-now", action="store_true", help="only services open now (Belgrade time)")
    s.add_argument("--speaks", metavar="LANG", help="staff speak this language (ISO code)")
    s.add_argument("--audience", metavar="A", help="e.g. unaccompanied_minors, women")
    s.add_argument("--limit", type=int, default=10)
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=_search)

    v = commands.add_parser("validate", help="check curated data files; exit 1 listing every problem")
    v.add_argument("path", type=Path, help="a file or a folder of YAML files")
    v.set_defaults(handler=_validate)

    ld = commands.add_parser("load", help="validate and load curated data in one transaction")
    ld.add_argument("path", type=Path, nargs="?", help="a file or folder (default: the bundled data)")
    ld.add_argument("--replace-all", action="store_true", help="remove organisations not in PATH")
    ld.set_defaults(handler=_load)

    ex = commands.add_parser("export", help="export the directory as HSDS 3.0")
    ex.add_argument("--format", choices=["json", "tabular"], default="json")
    ex.add_argument("--out", type=Path, required=True, help="a .json file, or a folder for the tabular package")
    ex.set_defaults(handler=_export)

    im = commands.add_parser("import", help="import an HSDS 3.0 export (JSON file or tabular folder)")
    im.add_argument("path", type=Path)
    im.add_argument("--out", type=Path, help="write curated YAML files here instead of loading the database")
    im.set_defaults(handler=_import)


def _parse_point(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise UnknownCode(f"--near wants LAT,LON such as 44.81,20.46, not {text!r}") from None
    return lat, lon


def hit_to_json(hit: SearchHit, lang: str) -> dict[str, Any]:
    s = hit.service
    return {
        "id": s.id,
        "name": pick(s.name, lang),
        "organisation": pick(s.organisation_name, lang),
        "description": pick(s.description, lang),
        "categories": list(s.categories),
        "city": s.city,
        "status": s.status,
        "temporarily_closed": hit.temporarily_closed,
        "matched_place": hit.matched_place,
        "distance_km": hit.distance_km,
        "open_now": hit.open_now,
        "hours": describe_schedule(s.schedule) if s.schedule else None,
        "phones": [{"number": p.number, "kind": p.kind, "note": pick(p.note, lang)} for p in s.phones],
        "addresses": [pick(loc.address, lang) for loc in s.locations if loc.address],
        "languages": list(s.languages),
        "last_verified": s.last_verified.isoformat(),
        "sources": [src.url for src in s.sources],
    }


def _search(args: argparse.Namespace) -> int:
    try:
        query = Query(category=args.category, place=args.city, near=_parse_point(args.near) if args.near else None,
                      only_open=args.open_now, language=args.speaks, audience=args.audience, limit=args.limit)
        hits = search(open_directory(), query)
    except UnknownCode as exc:
        print(f"putokaz: {exc}", file=sys.stderr)
        return 2
    if args.json:
        json.dump([hit_to_json(h, args.lang) for h in hits], sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not hits:
        print("No services match.")
        return 0
    for n, hit in enumerate(hits, 1):
        print(_format_hit(n, hit_to_json(hit, args.lang)))
    return 0


def _format_hit(n: int, h: dict[str, Any]) -> str:
    flags = []
    if h["temporarily_closed"]:
        flags.append("TEMPORARILY CLOSED")
    if not h["matched_place"]:
        flags.append(f"elsewhere, {h['distance_km']} km" if h["distance_km"] is not None else "elsewhere")
    open_text = {True: "open now", False: "closed now", None: "hours unknown"}[h["open_now"]]
    lines = [f"{n}. {h['name']}" + (f"  [{'; '.join(flags)}]" if flags else ""),
             f"   {h['organisation']} | {', '.join(h['categories'])} | {h['city']}"]
    if h["phones"]:
        lines.append("   Phone: " + "; ".join(p["number"] + (f" [{p['kind']}]" if p["kind"] != "voice" else "")
                                             + (f" ({p['note']})" if p["note"] else "") for p in h["phones"]))
    if h["addresses"]:
        lines.append("   Address: " + "; ".join(h["addresses"]))
    lines.append(f"   Hours: {h['hours'] or '-'} ({open_text})")
    lines.append(f"   Languages: {', '.join(h['languages']) or 'not stated'} | Last verified: {h['last_verified']}")
    return "\n".join(lines)


def _validate(args: argparse.Namespace) -> int:
    try:
        organisations = read_directory(args.path)
    except CurationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found; nothing was loaded.", file=sys.stderr)
        return 1
    services = sum(len(o.services) for o in organisations)
    print(f"OK: {len(organisations)} organisations, {services} services in {args.path}")
    return 0


def _load(args: argparse.Namespace) -> int:
    from service_directory.curation import DEFAULT_DATA_DIR

    path = args.path or DEFAULT_DATA_DIR
    try:
        organisations = read_directory(path)
    except CurationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found; the database was not changed.", file=sys.stderr)
        return 1
    engine = open_directory(load_bundled=False)
    count = load(engine, organisations, replace_all=args.replace_all or args.path is None)
    print(f"Loaded {count} services from {len(organisations)} organisations.")
    return 0


def _export(args: argparse.Namespace) -> int:
    from service_directory import hsds

    engine = open_directory()
    if args.format == "json":
        hsds.write_json(engine, args.out)
    else:
        hsds.write_tabular(engine, args.out)
    print(f"Exported to {args.out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from service_directory import hsds

    try:
        organisations = hsds.read(args.path)
    except hsds.HsdsError as exc:
        print(f"putokaz: {exc}", file=sys.stderr)
        return 1
    if args.out:
        hsds.write_curated(organisations, args.out)
        print(f"Wrote {len(organisations)} curated files to {args.out}")
        return 0
    count = load(open_directory(load_bundled=False), organisations, replace_all=False)
    print(f"Imported {count} services from {len(organisations)} organisations.")
    return 0
