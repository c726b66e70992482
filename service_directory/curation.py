"""Reading and validating the curated YAML files: every problem names file, line, entry and field."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .categories import CATEGORY_CODES, LANGUAGES
from .places import NATIONAL, PLACE_SLUGS, PLACES
from .records import (
    Location,
    Organisation,
    Phone,
    Schedule,
    ScheduleException,
    Service,
    Source,
    Texts,
    TimeSlot,
)
from .schedule import WEEKDAYS, overlapping

STATUSES = ("active", "temporarily_closed", "inactive", "closed")
KINDS = ("government", "ngo", "io")
PHONE_KINDS = ("voice", "hotline", "sms", "whatsapp", "viber", "fax")
AUDIENCES = (
    "asylum_seekers", "refugees", "migrants", "unaccompanied_minors", "children", "families",
    "women", "men", "victims_of_trafficking", "survivors_of_violence", "torture_survivors",
)
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9 ()/-]{1,30}[0-9]$")
CLOCK_PATTERN = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
DEFAULT_DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.entry}: {self.field}: {self.message}"


class CurationError(Exception):
    """The curated data has problems; nothing was loaded."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping and of each of its keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[str(key)] = key_node.start_mark.line + 1
    mapping["__line__"] = node.start_mark.line + 1
    mapping["__lines__"] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay strings so that a bad date is reported as such, not as a parser crash.
_LineLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_with_lines(text: str) -> Any:
    """YAML read safely, every mapping carrying `__line__` (its own) and `__lines__` (each key's),
    dates left as text: for reporting problems as file:line (curated data, the teams file)."""
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a safe loader)


def read_with_lines(path: Path, name: str) -> tuple[Any, Problem | None]:
    """`load_with_lines` of a file: (its data, None), or (None, the problem naming the file and line)."""
    try:
        return load_with_lines(path.read_text(encoding="utf-8")), None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, Problem(name, line, "-", "-", f"not valid YAML: {getattr(exc, 'problem', exc)}")
    except (OSError, UnicodeDecodeError) as exc:
        return None, Problem(name, 0, "-", "-", f"cannot read the file: {exc}")


class _Checker:
    """Collects problems for one file while turning its mappings into records."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, node: Any, entry: str, field: str, message: str) -> None:
        line = 0
        if isinstance(node, dict):
            line = node.get("__lines__", {}).get(field.split(".")[-1].split("[")[0], node.get("__line__", 0))
        self.problems.append(Problem(self.file, line, entry, field, message))

    def mapping(self, node: Any, entry: str, field: str, parent: Any) -> dict[str, Any] | None:
        if isinstance(node, dict):
            return node
        self.problem(parent, entry, field, "must be a mapping")
        return None

    def text(self, node: dict[str, Any], key: str, entry: str, required: bool = False) -> str:
        value = node.get(key)
        if value is None or value == "":
            if required:
                self.problem(node, entry, key, "is required")
            return ""
        if not isinstance(value, (str, int, float)):
            self.problem(node, entry, key, "must be text")
            return ""
        return str(value).strip()

    def texts(self, node: dict[str, Any], key: str, entry: str, required: bool = False) -> Texts:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(node, entry, key, "is required (a mapping of language to text, with en)")
            return {}
        if isinstance(value, str):
            return {"en": value.strip()}
        if not isinstance(value, dict):
            self.problem(node, entry, key, "must be a mapping of language to text")
            return {}
        result: Texts = {}
        for lang, text in value.items():
            if lang.startswith("__"):
                continue
            if lang not in LANGUAGES:
                self.problem(value, entry, f"{key}.{lang}",
                             f"unknown language {lang!r}; use one of {', '.join(LANGUAGES)}")
            elif not isinstance(text, str) or not text.strip():
                self.problem(value, entry, f"{key}.{lang}", "must be non-empty text")
            else:
                result[lang] = text.strip()
        if required and "en" not in result:
            self.problem(node, entry, key, "needs an English (en) text")
        return result

    def codes(self, node: dict[str, Any], key: str, entry: str, allowed: frozenset[str] | tuple[str, ...] | None,
              pattern: re.Pattern[str] | None = None, required: bool = False) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(node, entry, key, "is required")
            return ()
        if not isinstance(value, list):
            self.problem(node, entry, key, "must be a list")
            return ()
        result = []
        for item in value:
            if not isinstance(item, str):
                self.problem(node, entry, key, f"{item!r} must be text")
            elif allowed is not None and item not in allowed:
                self.problem(node, entry, key, f"unknown value {item!r}; use one of {', '.join(sorted(allowed))}")
            elif pattern is not None and not pattern.match(item):
                self.problem(node, entry, key, f"{item!r} is not a valid code")
            elif item in result:
                self.problem(node, entry, key, f"{item!r} is listed twice")
            else:
                result.append(item)
        if required and not value:
            self.problem(node, entry, key, "must list at least one value")
        return tuple(result)

    def date(self, node: dict[str, Any], key: str, entry: str, required: bool = False) -> dt.date | None:
        value = node.get(key)
        if value is None or value == "":
            if required:
                self.problem(node, entry, key, "is required (YYYY-MM-DD)")
            return None
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            self.problem(node, entry, key, f"{value!r} is not a date (YYYY-MM-DD)")
            return None
        if day > dt.date.today():
            self.problem(node, entry, key, f"{day} is in the future")
        return day

    def clock(self, node: dict[str, Any], key: str, entry: str) -> dt.time | None:
        value = node.get(key)
        match = CLOCK_PATTERN.match(str(value)) if isinstance(value, str) else None
        if match is None or (match.group(1) == "24" and match.group(2) != "00"):
            self.problem(node, entry, key, f"{value!r} is not a time of day (HH:MM, 00:00-24:00)")
            return None
        hour, minute = int(match.group(1)), int(match.group(2))
        return dt.time.max if hour == 24 else dt.time(hour, minute)


def _schedule(c: _Checker, node: dict[str, Any], entry: str) -> Schedule | None:
    data = c.mapping(node.get("schedule"), entry, "schedule", node)
    if data is None:
        return None
    weekly: list[TimeSlot] = []
    for i, slot in enumerate(data.get("weekly") or []):
        field = f"schedule.weekly[{i}]"
        if not isinstance(slot, dict):
            c.problem(data, entry, field, "must be a mapping with days, opens and closes")
            continue
        days = c.codes(slot, "days", entry, WEEKDAYS, required=True)
        opens, closes = c.clock(slot, "opens", entry), c.clock(slot, "closes", entry)
        if opens is None or closes is None:
            continue
        if opens >= closes:
            c.problem(slot, entry, "closes", f"closes at {slot.get('closes')} before it opens at {slot.get('opens')}")
            continue
        weekly.extend(TimeSlot(WEEKDAYS.index(d), opens, closes) for d in days)
    for a, _b in overlapping(tuple(weekly)):
        c.problem(data, entry, "schedule.weekly", f"hours overlap on {WEEKDAYS[a.weekday]}")
    always_open = bool(data.get("always_open", False))
    if always_open and weekly:
        c.problem(data, entry, "schedule.always_open", "a 24/7 service cannot also have weekly hours")
    if not always_open and not weekly:
        c.problem(data, entry, "schedule", "give weekly hours or always_open: true (leave schedule out when unknown)")
    exceptions = []
    for i, item in enumerate(data.get("exceptions") or []):
        if not isinstance(item, dict):
            c.problem(data, entry, f"schedule.exceptions[{i}]", "must be a mapping")
            continue
        value = item.get("date")
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            c.problem(item, entry, "date", f"{value!r} is not a date (YYYY-MM-DD)")
            continue
        if item.get("closed", False):
            exceptions.append(ScheduleException(day, True))
            continue
        opens, closes = c.clock(item, "opens", entry), c.clock(item, "closes", entry)
        if opens is not None and closes is not None:
            if opens >= closes:
                c.problem(item, entry, "closes", "closes before it opens")
            else:
                exceptions.append(ScheduleException(day, False, opens, closes))
    return Schedule(
        always_open=always_open,
        weekly=tuple(weekly),
        closed_on_public_holidays=bool(data.get("closed_on_public_holidays", False)),
        exceptions=tuple(exceptions),
        note=c.texts(data, "note", entry),
    )


def _locations(c: _Checker, node: dict[str, Any], entry: str) -> tuple[Location, ...]:
    result = []
    for i, item in enumerate(node.get("locations") or []):
        if not isinstance(item, dict):
            c.problem(node, entry, f"locations[{i}]", "must be a mapping")
            continue
        loc_id = c.text(item, "id", entry, required=True)
        if loc_id and not ID_PATTERN.match(loc_id):
            c.problem(item, entry, "id", f"{loc_id!r} must be lowercase letters, digits and dashes")
        city = c.text(item, "city", entry, required=True)
        if city and city not in PLACE_SLUGS:
            c.problem(item, entry, "city", f"unknown place {city!r}; use one of {', '.join(sorted(PLACE_SLUGS))}")
            city = ""
        lat, lon = item.get("latitude"), item.get("longitude")
        precision = c.text(item, "precision", entry) or "town"
        if precision not in ("street", "town"):
            c.problem(item, entry, "precision", "must be street or town")
        if (lat is None) != (lon is None):
            c.problem(item, entry, "latitude" if lat is None else "longitude", "give both latitude and longitude")
            lat = lon = None
        elif lat is not None:
            if not isinstance(lat, (int, float)) or not -90 <= lat <= 90:
                c.problem(item, entry, "latitude", f"{lat!r} is not a latitude (-90..90)")
                lat = lon = None
            elif not isinstance(lon, (int, float)) or not -180 <= lon <= 180:
                c.problem(item, entry, "longitude", f"{lon!r} is not a longitude (-180..180)")
                lat = lon = None
            elif not (41.8 <= lat <= 46.2 and 18.8 <= lon <= 23.1):
                c.problem(item, entry, "latitude", f"({lat}, {lon}) is outside Serbia")
                lat = lon = None
        if lat is None and city:
            lat, lon, precision = PLACES[city].latitude, PLACES[city].longitude, "town"
        if loc_id and city:
            result.append(Location(
                id=loc_id, city=city, latitude=lat, longitude=lon, precision=precision,
                address=c.texts(item, "address", entry), directions=c.texts(item, "directions", entry),
            ))
    return tuple(result)


def _phones(c: _Checker, node: dict[str, Any], entry: str) -> tuple[Phone, ...]:
    result = []
    for i, item in enumerate(node.get("phones") or []):
        if not isinstance(item, dict):
            c.problem(node, entry, f"phones[{i}]", "must be a mapping with number")
            continue
        number = c.text(item, "number", entry, required=True)
        if number and not PHONE_PATTERN.match(number):
            c.problem(item, entry, "number", f"{number!r} is not a phone number (digits, spaces, + - / ( ))")
            continue
        kind = c.text(item, "kind", entry) or "voice"
        if kind not in PHONE_KINDS:
            c.problem(item, entry, "kind", f"unknown phone kind {kind!r}; use one of {', '.join(PHONE_KINDS)}")
        if number:
            result.append(Phone(number=number, kind=kind, note=c.texts(item, "note", entry)))
    return tuple(result)


def _sources(c: _Checker, node: dict[str, Any], entry: str) -> tuple[Source, ...]:
    items = node.get("sources")
    if not isinstance(items, list) or not items:
        c.problem(node, entry, "sources", "every entry needs at least one source")
        return ()
    result = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"url": item, "__line__": node.get("__lines__", {}).get("sources", 0), "__lines__": {}}
        if not isinstance(item, dict):
            c.problem(node, entry, f"sources[{i}]", "must be a URL or a mapping with url")
            continue
        url = c.text(item, "url", entry, required=True)
        if url and not re.match(r"^https?://\S+$", url):
            c.problem(item, entry, "url", f"{url!r} is not an http(s) URL")
            continue
        if url:
            result.append(Source(url=url, date=c.date(item, "date", entry), note=c.text(item, "note", entry)))
    return tuple(result)


def _service(c: _Checker, node: Any, org: dict[str, Any], org_id: str, org_name: Texts, i: int) -> Service | None:
    if not isinstance(node, dict):
        c.problem(org, org_id, f"services[{i}]", "must be a mapping")
        return None
    sid = c.text(node, "id", f"services[{i}]", required=True)
    entry = sid or f"services[{i}]"
    if sid and not ID_PATTERN.match(sid):
        c.problem(node, entry, "id", f"{sid!r} must be lowercase letters, digits and dashes")
    status = c.text(node, "status", entry, required=True)
    if status and status not in STATUSES:
        c.problem(node, entry, "status", f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
    age_min, age_max = node.get("age_min"), node.get("age_max")
    for key, age in (("age_min", age_min), ("age_max", age_max)):
        if age is not None and (not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 120):
            c.problem(node, entry, key, f"{age!r} is not an age (0-120)")
    if isinstance(age_min, int) and isinstance(age_max, int) and age_min > age_max:
        c.problem(node, entry, "age_max", f"age_max {age_max} is below age_min {age_min}")
    areas = c.codes(node, "service_area", entry, PLACE_SLUGS | {NATIONAL})
    locations = _locations(c, node, entry)
    if not locations and not areas:
        c.problem(node, entry, "locations", "give a location or a service_area (e.g. [national] for a hotline)")
    schedule = _schedule(c, node, entry) if node.get("schedule") is not None else None
    last_verified = c.date(node, "last_verified", entry, required=True)
    service = Service(
        id=sid,
        organisation_id=org_id,
        organisation_name=org_name,
        name=c.texts(node, "name", entry, required=True),
        description=c.texts(node, "description", entry),
        categories=c.codes(node, "categories", entry, CATEGORY_CODES, required=True),
        status=status,
        status_note=c.texts(node, "status_note", entry),
        audience=c.codes(node, "audience", entry, AUDIENCES),
        languages=c.codes(node, "languages", entry, None, pattern=LANGUAGE_CODE),
        phones=_phones(c, node, entry),
        locations=locations,
        service_area=areas,
        schedule=schedule,
        sources=_sources(c, node, entry),
        last_verified=last_verified or dt.date.min,
        email=c.text(node, "email", entry),
        url=c.text(node, "url", entry),
        age_min=age_min if isinstance(age_min, int) else None,
        age_max=age_max if isinstance(age_max, int) else None,
    )
    return service


def parse_file(path: Path, display: str | None = None) -> tuple[Organisation | None, list[Problem]]:
    """One curated file: the organisation with its services, and every problem found in it."""
    name = display or str(path)
    c = _Checker(name)
    data, unreadable = read_with_lines(path, name)
    if unreadable is not None:
        return None, [unreadable]
    if not isinstance(data, dict):
        return None, [Problem(name, 1, "-", "-", "the file must be a mapping with organisation and services")]
    org = c.mapping(data.get("organisation"), "-", "organisation", data)
    if org is None:
        return None, c.problems
    org_id = c.text(org, "id", "organisation", required=True)
    if org_id and not ID_PATTERN.match(org_id):
        c.problem(org, org_id, "id", f"{org_id!r} must be lowercase letters, digits and dashes")
    kind = c.text(org, "kind", org_id or "organisation", required=True)
    if kind and kind not in KINDS:
        c.problem(org, org_id, "kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    org_name = c.texts(org, "name", org_id or "organisation", required=True)
    services_node = data.get("services")
    if not isinstance(services_node, list) or not services_node:
        c.problem(data, org_id, "services", "list at least one service")
        services_node = []
    services = [s for i, n in enumerate(services_node) if (s := _service(c, n, org, org_id, org_name, i))]
    organisation = Organisation(
        id=org_id, kind=kind, name=org_name, website=c.text(org, "website", org_id),
        email=c.text(org, "email", org_id), services=tuple(services), source_file=name,
    )
    return organisation, c.problems


def read_directory(path: Path | None = None) -> list[Organisation]:
    """Every curated file below `path` (a folder or one file); raises CurationError listing all problems."""
    root = path or DEFAULT_DATA_DIR
    if root.is_dir():
        files = sorted(p for p in root.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
    elif root.exists():
        files = [root]
    else:
        raise CurationError([Problem(str(root), 0, "-", "-", "no such file or folder")])
    organisations: list[Organisation] = []
    problems: list[Problem] = []
    for file in files:
        organisation, found = parse_file(file)
        problems.extend(found)
        if organisation is not None:
            organisations.append(organisation)
    problems.extend(_duplicates(organisations))
    if problems:
        raise CurationError(problems)
    return organisations


def _duplicates(organisations: list[Organisation]) -> list[Problem]:
    problems = []
    seen_org: dict[str, str] = {}
    seen_service: dict[str, str] = {}
    seen_location: dict[str, str] = {}
    for org in organisations:
        if org.id in seen_org:
            problems.append(Problem(org.source_file, 0, org.id, "id",
                                    f"organisation id also used in {seen_org[org.id]}"))
        seen_org[org.id] = org.source_file
        for service in org.services:
            if service.id in seen_service:
                problems.append(Problem(org.source_file, 0, service.id, "id",
                                        f"service id also used in {seen_service[service.id]}"))
            seen_service[service.id] = org.source_file
            for loc in service.locations:
                if loc.id in seen_location:
                    problems.append(Problem(org.source_file, 0, service.id, "locations.id",
                                            f"location id {loc.id!r} also used in {seen_location[loc.id]}"))
                seen_location[loc.id] = org.source_file
    return problems
