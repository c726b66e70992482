"""Open Referral HSDS 3.0 export and import (JSON and tabular package) and curated YAML output."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from . import models as m
from .categories import CATEGORIES, CATEGORY_CODES, LANGUAGES
from .curation import (
    AUDIENCES,
    ID_PATTERN,
    KINDS,
    PHONE_KINDS,
    Problem,
    _Checker,
    _duplicates,
    _service,
)
from .places import NATIONAL, PLACE_SLUGS, PLACES
from .query import all_services
from .records import Location, Organisation, Schedule, ScheduleException, Service, Texts
from .schedule import WEEKDAYS, clock, day_ranges, minutes

Obj = dict[str, Any]

#: uuid5(NAMESPACE_URL, "urn:putokaz:service-directory"); exported ids are uuid5(NAMESPACE, our id).
NAMESPACE = uuid.UUID("838d7a01-8353-5db2-844a-d8b2a40e3f6d")
TIMEZONE = "Europe/Belgrade"
COUNTRY = "RS"
ID_TYPE = "putokaz"  # organization_identifier.identifier_type and location.external_identifier_type

T_TRANSLATION = "putokaz-translation"
T_CATEGORY = "putokaz-category"
T_AUDIENCE = "putokaz-audience"
T_KIND = "putokaz-organisation-kind"
T_PLACE = "putokaz-place"
T_PRECISION = "putokaz-location-precision"
T_SCHEDULE = "putokaz-schedule"
T_SOURCE = "putokaz-source"
T_IDENTIFIER = "putokaz-identifier"

TAXONOMIES: dict[str, str] = {
    T_TRANSLATION: "Texts of the linked record in languages other than English. The term names "
    "the HSDS "
    "field and the language (e.g. name:ar); the attribute value is the text.",
    T_CATEGORY: "Putokaz service categories (the SPEC category codes).",
    T_AUDIENCE: "Whom a Putokaz service is for; a service without audience attributes is for "
    "everyone.",
    T_KIND: "The kind of a Putokaz organisation: government, ngo (non-governmental) or io "
    "(international).",
    T_PLACE: "Putokaz place slugs: the municipality of an address or a service area; national "
    "is all of Serbia.",
    T_PRECISION: "How precise the coordinates of a location are: the street address, or the town "
    "centre.",
    T_SCHEDULE: "Facts about opening hours that the HSDS schedule fields do not carry.",
    T_SOURCE: "A source of the facts in the linked service; the value is JSON "
    '{"url", "date", "note"}.',
    T_IDENTIFIER: "The Putokaz identifier of the linked record; the value is the identifier.",
}

#: The HSDS fields whose other languages travel as putokaz-translation attributes, per record type.
TRANSLATED: dict[str, tuple[str, ...]] = {
    "organization": ("name",),
    "service": ("name", "description", "alert"),
    "location": ("transportation",),
    "address": ("address_1",),
    "phone": ("description",),
    "schedule": ("notes",),
}
_ALLOWED: dict[str, frozenset[str]] = {
    "organization": frozenset({T_TRANSLATION, T_KIND}),
    "service": frozenset({T_TRANSLATION, T_CATEGORY, T_AUDIENCE, T_SOURCE, T_IDENTIFIER}),
    "location": frozenset({T_TRANSLATION, T_PRECISION}),
    "address": frozenset({T_TRANSLATION, T_PLACE}),
    "phone": frozenset({T_TRANSLATION}),
    "schedule": frozenset({T_TRANSLATION, T_SCHEDULE}),
    "service_area": frozenset({T_PLACE}),
}
_NOUNS = {
    T_CATEGORY: "category",
    T_AUDIENCE: "audience",
    T_KIND: "organisation kind",
    T_PLACE: "place",
    T_PRECISION: "precision",
    T_SCHEDULE: "schedule term",
    T_SOURCE: "source term",
    T_IDENTIFIER: "identifier term",
}
SCHEDULE_TERMS = ("always_open", "closed_on_public_holidays", "timezone")
PRECISIONS = ("street", "town")
LANGUAGE_NAMES = {"en": "English", "ar": "Arabic", "fa": "Persian", "ps": "Pashto", "sr": "Serbian"}
FALLBACK_LANGUAGES = (
    "sr",
    "ar",
    "fa",
    "ps",
)  # for a plain HSDS field when there is no English text
KIND_LABELS = {
    "government": "Government body",
    "ngo": "Non-governmental organisation",
    "io": "International organisation",
}
STATUS_TO_HSDS = {
    "active": "active",
    "temporarily_closed": "temporarily closed",
    "inactive": "inactive",
    "closed": "defunct",
}
STATUS_FROM_HSDS = {v: k for k, v in STATUS_TO_HSDS.items()}
PHONE_TYPES = {
    "text": "sms",
    "cell": "voice",
    "mobile": "voice",
}  # other HSDS phone types we understand
CURATED_TO_HSDS = {
    "last_verified": "assured_date",
    "status_note": "alert",
    "categories": "attributes (putokaz-category)",
    "audience": "attributes (putokaz-audience)",
    "sources": "attributes (putokaz-source)",
    "locations": "service_at_locations",
    "service_area": "service_areas",
    "age_min": "minimum_age",
    "age_max": "maximum_age",
    "schedule": "schedules",
    "number": "phones.number",
    "kind": "type",
    "date": "valid_from",
    "city": "addresses.city",
}

#: The tables of compiled/tabular.json that the export writes, in the package's order, with their
#: columns (name[:type or format]); arrays and nested objects of the JSON form are separate tables.
_TABLE_SPECS: dict[str, tuple[str, str]] = {
    "organization": (
        "organizations.csv",
        "id:uuid name alternate_name description email:email website:uri "
        "tax_status tax_id year_incorporated:number legal_status logo uri:uri "
        "parent_organization_id:uuid",
    ),
    "service": (
        "services.csv",
        "id:uuid organization_id:uuid program_id:uuid name alternate_name description "
        "url:uri email:email status interpretation_services application_process fees_description "
        "wait_time fees accreditations eligibility_description minimum_age:number "
        "maximum_age:number "
        "assured_date:date assurer_email:email licenses alert last_modified:datetime",
    ),
    "attribute": (
        "attributes.csv",
        "id:uuid link_id:uuid taxonomy_term_id:uuid link_type link_entity value",
    ),
    "service_at_location": (
        "service_at_location.csv",
        "id:uuid service_id:uuid location_id:uuid description",
    ),
    "location": (
        "locations.csv",
        "id:uuid location_type url:uri organization_id:uuid name alternate_name "
        "description transportation latitude:number longitude:number external_identifier "
        "external_identifier_type",
    ),
    "phone": (
        "phones.csv",
        "id:uuid location_id:uuid service_id:uuid organization_id:uuid contact_id:uuid "
        "service_at_location_id:uuid number extension:number type description",
    ),
    "address": (
        "addresses.csv",
        "id:uuid location_id:uuid attention address_1 address_2 city region "
        "state_province postal_code country address_type",
    ),
    "schedule": (
        "schedules.csv",
        "id:uuid service_id:uuid location_id:uuid service_at_location_id:uuid "
        "valid_from:date valid_to:date dtstart:date timezone:number until:date count:number "
        "wkst freq interval:number byday byweekno bymonthday byyearday description "
        "opens_at:time closes_at:time "
        "schedule_link:uri attending_type notes",
    ),
    "service_area": (
        "service_areas.csv",
        "id:uuid service_id:uuid name description extent extent_type uri",
    ),
    "language": (
        "languages.csv",
        "id:uuid service_id:uuid location_id:uuid phone_id:uuid name code note",
    ),
    "taxonomy_term": (
        "taxonomy_terms.csv",
        "id:uuid code name description parent_id:uuid taxonomy language "
        "taxonomy_id:uuid term_uri:uri",
    ),
    "organization_identifier": (
        "organization_identifiers.csv",
        "id:uuid organization_id:uuid identifier_scheme identifier_type identifier",
    ),
    "taxonomy": ("taxonomies.csv", "id:uuid name description uri:uri version"),
}
_FORMATS = ("uuid", "email", "uri")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, number, date, time, datetime
    format: str = ""  # uuid, email, uri


@dataclass(frozen=True)
class Table:
    name: str
    path: str
    columns: tuple[Column, ...]


@lru_cache(maxsize=1)
def tables() -> dict[str, Table]:
    """The HSDS tables the tabular export writes, with their file names and columns."""
    result = {}
    for name, (path, spec) in _TABLE_SPECS.items():
        columns = []
        for token in spec.split():
            col, _, kind = token.partition(":")
            if kind in _FORMATS:
                columns.append(Column(col, "string", kind))
            else:
                columns.append(Column(col, kind or "string"))
        result[name] = Table(name, path, tuple(columns))
    return result


# --------------------------------------------------------------------------------------------
# Errors


@dataclass(frozen=True)
class HsdsProblem:
    file: str
    record: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.record}: {self.field}: {self.message}"


class HsdsError(Exception):
    """An HSDS file cannot be imported; every problem names the file, the record and the field."""

    def __init__(self, problems: list[HsdsProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------------------------
# Identifiers and taxonomy terms


def hsds_id(kind: str, *parts: str) -> str:
    """The stable HSDS id (a uuid5) of one of our records, e.g. hsds_id("service", "rs-002")."""
    return str(uuid.uuid5(NAMESPACE, "/".join((kind, *parts))))


def _term_codes(taxonomy: str) -> tuple[str, ...]:
    return {
        T_CATEGORY: tuple(sorted(CATEGORY_CODES)),
        T_AUDIENCE: AUDIENCES,
        T_KIND: KINDS,
        T_PLACE: (*sorted(PLACE_SLUGS), NATIONAL),
        T_PRECISION: PRECISIONS,
        T_SCHEDULE: SCHEDULE_TERMS,
        T_SOURCE: ("source",),
        T_IDENTIFIER: ("putokaz_id",),
        T_TRANSLATION: tuple(
            sorted(
                {
                    f"{f}:{lang}"
                    for fields in TRANSLATED.values()
                    for f in fields
                    for lang in LANGUAGES
                }
            )
        ),
    }[taxonomy]


def _term_text(taxonomy: str, code: str) -> tuple[str, str]:
    """A term's name and description."""
    if taxonomy == T_TRANSLATION:
        field, _, lang = code.partition(":")
        language = LANGUAGE_NAMES.get(lang, lang)
        return (
            f"{field} in {language}",
            f"The {language} text of the linked record's {field} field.",
        )
    if taxonomy == T_CATEGORY:
        return CATEGORIES[code]["en"], f"Putokaz service category {code}."
    if taxonomy == T_AUDIENCE:
        return code.replace("_", " ").capitalize(), f"Putokaz audience {code}."
    if taxonomy == T_KIND:
        return KIND_LABELS[code], f"Putokaz organisation kind {code}."
    if taxonomy == T_PLACE:
        if code == NATIONAL:
            return "Serbia", "The whole of Serbia (Putokaz place national)."
        return PLACES[code].names["en"], f"Putokaz place {code}."
    if taxonomy == T_PRECISION:
        if code == "street":
            return "Street address", "The coordinates are those of the street address."
        return (
            "Town centre",
            "The street address is unknown; the coordinates are those of the town centre.",
        )
    if taxonomy == T_SCHEDULE:
        return {
            "always_open": ("Open 24/7", "Open 24 hours a day, 7 days a week."),
            "closed_on_public_holidays": (
                "Closed on public holidays",
                "Closed on Serbian public holidays (the dates are computed each year).",
            ),
            "timezone": (
                "Time zone",
                "Times of day are local times in the IANA time zone given as the value.",
            ),
        }[code]
    if taxonomy == T_SOURCE:
        return (
            "Source",
            'A source of the linked service: JSON {"url", "date" (YYYY-MM-DD or null), "note"}.',
        )
    return "Putokaz id", "The Putokaz identifier of the linked record."


def _term_object(taxonomy: str, code: str) -> Obj:
    name, description = _term_text(taxonomy, code)
    return {
        "id": hsds_id("taxonomy_term", taxonomy, code),
        "code": code,
        "name": name,
        "description": description,
        "taxonomy": taxonomy,
        "taxonomy_id": hsds_id("taxonomy", taxonomy),
    }


@lru_cache(maxsize=1)
def _known_terms() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Our term ids -> (taxonomy, code), taxonomy ids -> name: for attributes given by id only."""
    terms = {
        hsds_id("taxonomy_term", t, code): (t, code) for t in TAXONOMIES for code in _term_codes(t)
    }
    return terms, {hsds_id("taxonomy", t): t for t in TAXONOMIES}


# --------------------------------------------------------------------------------------------
# Export


def _language_order(texts: Texts) -> list[str]:
    return sorted(
        texts,
        key=lambda lang: (LANGUAGES.index(lang) if lang in LANGUAGES else len(LANGUAGES), lang),
    )


def _attribute(
    attrs: list[Obj], entity: str, link_id: str, taxonomy: str, code: str, value: str | None = None
) -> None:
    term = _term_object(taxonomy, code)
    n = sum(1 for a in attrs if a["taxonomy_term_id"] == term["id"])
    attr: Obj = {
        "id": hsds_id("attribute", link_id, taxonomy, code, str(n)),
        "link_id": link_id,
        "taxonomy_term_id": term["id"],
        "link_entity": entity,
    }
    if value is not None:
        attr["value"] = value
    attr["taxonomy_term"] = term
    attrs.append(attr)


def _text(attrs: list[Obj], entity: str, link_id: str, field: str, texts: Texts) -> str | None:
    """The plain HSDS value of a multilingual text; other languages become translation attributes.

    The plain value is the English text. Without English it is a copy of another language's text
    (Serbian first), which the importer recognises because it repeats a translation attribute; an
    English text that equals another language's is therefore also given as a `field:en` attribute.
    """
    others = {lang: texts[lang] for lang in _language_order(texts) if lang != "en"}
    for lang, text in others.items():
        _attribute(attrs, entity, link_id, T_TRANSLATION, f"{field}:{lang}", text)
    english = texts.get("en")
    if english is not None:
        if english in others.values():
            _attribute(attrs, entity, link_id, T_TRANSLATION, f"{field}:en", english)
        return english
    for lang in FALLBACK_LANGUAGES:
        if lang in others:
            return others[lang]
    return next(iter(others.values()), None)


def _hsds_time(t: dt.time) -> str:
    return "23:59:59" if t == dt.time.max else f"{t.hour:02d}:{t.minute:02d}:00"


def _organization_object(row: Any) -> Obj:
    oid = hsds_id("organization", row.id)
    attrs: list[Obj] = []
    obj: Obj = {
        "id": oid,
        "name": _text(attrs, "organization", oid, "name", row.name or {}) or "",
        "description": KIND_LABELS.get(row.kind, row.kind),
    }
    if row.email:
        obj["email"] = row.email
    if row.website:
        obj["website"] = row.website
    obj["organization_identifiers"] = [
        {
            "id": hsds_id("organization_identifier", row.id),
            "organization_id": oid,
            "identifier_type": ID_TYPE,
            "identifier": row.id,
        }
    ]
    _attribute(attrs, "organization", oid, T_KIND, row.kind)
    obj["attributes"] = attrs
    return obj


def _location_object(loc: Location, organization_id: str) -> Obj:
    lid = hsds_id("location", loc.id)
    attrs: list[Obj] = []
    obj: Obj = {"id": lid, "location_type": "physical", "organization_id": organization_id}
    transportation = _text(attrs, "location", lid, "transportation", loc.directions)
    if transportation:
        obj["transportation"] = transportation
    if loc.latitude is not None and loc.longitude is not None:
        obj["latitude"], obj["longitude"] = loc.latitude, loc.longitude
    obj["external_identifier"], obj["external_identifier_type"] = loc.id, ID_TYPE
    _attribute(attrs, "location", lid, T_PRECISION, loc.precision)
    aid = hsds_id("address", loc.id)
    address_attrs: list[Obj] = []
    address: Obj = {
        "id": aid,
        "location_id": lid,
        "address_1": _text(address_attrs, "address", aid, "address_1", loc.address) or "",
        "city": PLACES[loc.city].names["en"],
        "state_province": "",
        "postal_code": "",
        "country": COUNTRY,
        "address_type": "physical",
    }
    _attribute(address_attrs, "address", aid, T_PLACE, loc.city)
    address["attributes"] = address_attrs
    obj["addresses"] = [address]
    obj["attributes"] = attrs
    return obj


def _weekly_groups(schedule: Schedule) -> list[tuple[list[int], dt.time, dt.time]]:
    """Weekly slots grouped by their hours, in the order of the first day they apply to."""
    if schedule.always_open:
        return [(list(range(7)), dt.time(0, 0), dt.time.max)]
    groups: dict[tuple[int, int], list[int]] = {}
    times: dict[tuple[int, int], tuple[dt.time, dt.time]] = {}
    for slot in sorted(schedule.weekly, key=lambda s: (s.weekday, minutes(s.opens))):
        key = (minutes(slot.opens), minutes(slot.closes))
        groups.setdefault(key, []).append(slot.weekday)
        times[key] = (slot.opens, slot.closes)
    return [(sorted(set(days)), *times[key]) for key, days in groups.items()]


def _exception_key(e: ScheduleException) -> tuple[dt.date, int]:
    return e.date, -1 if e.opens is None else minutes(e.opens)


def _schedule_objects(service: Service, service_id: str) -> list[Obj]:
    schedule = service.schedule
    if schedule is None:
        return []
    records: list[Obj] = []
    for i, (days, opens, closes) in enumerate(_weekly_groups(schedule)):
        rid = hsds_id("schedule", service.id, "weekly", str(i))
        attrs: list[Obj] = []
        if schedule.always_open:
            description = "Open 24 hours, 7 days a week"
        else:
            hours = f"{clock(minutes(opens))}-{clock(minutes(closes))}"
            description = f"{day_ranges(days)} {hours} ({TIMEZONE} time)"
        if schedule.closed_on_public_holidays:
            description += "; closed on Serbian public holidays"
        record: Obj = {
            "id": rid,
            "service_id": service_id,
            "freq": "WEEKLY",
            "byday": ",".join(WEEKDAYS[d].upper() for d in days),
            "description": description,
            "opens_at": _hsds_time(opens),
            "closes_at": _hsds_time(closes),
        }
        if i == 0:  # facts about the whole schedule go with its first record
            notes = _text(attrs, "schedule", rid, "notes", schedule.note)
            if notes:
                record["notes"] = notes
            if schedule.always_open:
                _attribute(attrs, "schedule", rid, T_SCHEDULE, "always_open")
            if schedule.closed_on_public_holidays:
                _attribute(attrs, "schedule", rid, T_SCHEDULE, "closed_on_public_holidays")
        _attribute(attrs, "schedule", rid, T_SCHEDULE, "timezone", TIMEZONE)
        record["attributes"] = attrs
        records.append(record)
    for i, exception in enumerate(sorted(schedule.exceptions, key=_exception_key)):
        rid = hsds_id("schedule", service.id, "exception", str(i))
        day = exception.date.isoformat()
        attrs = []
        record = {"id": rid, "service_id": service_id, "valid_from": day, "valid_to": day}
        if exception.closed or exception.opens is None or exception.closes is None:
            record["description"] = f"Closed on {day}"
        else:
            record["description"] = (
                f"Open {clock(minutes(exception.opens))}-{clock(minutes(exception.closes))} "
                f"on {day} only ({TIMEZONE} time)"
            )
            record["opens_at"], record["closes_at"] = (
                _hsds_time(exception.opens),
                _hsds_time(exception.closes),
            )
        _attribute(attrs, "schedule", rid, T_SCHEDULE, "timezone", TIMEZONE)
        record["attributes"] = attrs
        records.append(record)
    return records


def _service_object(s: Service, organization: Obj) -> Obj:
    sid = hsds_id("service", s.id)
    attrs: list[Obj] = []
    _attribute(attrs, "service", sid, T_IDENTIFIER, "putokaz_id", s.id)
    obj: Obj = {
        "id": sid,
        "organization_id": organization["id"],
        "name": _text(attrs, "service", sid, "name", s.name) or "",
    }
    description = _text(attrs, "service", sid, "description", s.description)
    if description:
        obj["description"] = description
    if s.url:
        obj["url"] = s.url
    if s.email:
        obj["email"] = s.email
    obj["status"] = STATUS_TO_HSDS[s.status]
    alert = _text(attrs, "service", sid, "alert", s.status_note)
    if alert:
        obj["alert"] = alert
    if s.age_min is not None:
        obj["minimum_age"] = s.age_min
    if s.age_max is not None:
        obj["maximum_age"] = s.age_max
    obj["assured_date"] = s.last_verified.isoformat()
    phones = []
    for i, phone in enumerate(s.phones):
        pid = hsds_id("phone", s.id, str(i))
        phone_attrs: list[Obj] = []
        record: Obj = {"id": pid, "service_id": sid, "number": phone.number, "type": phone.kind}
        note = _text(phone_attrs, "phone", pid, "description", phone.note)
        if note:
            record["description"] = note
        record["attributes"] = phone_attrs
        phones.append(record)
    obj["phones"] = phones
    obj["schedules"] = _schedule_objects(s, sid)
    areas = []
    for place in s.service_area:
        aid = hsds_id("service_area", s.id, place)
        area_attrs: list[Obj] = []
        area: Obj = {"id": aid, "service_id": sid}
        if place == NATIONAL:
            area["name"], area["description"] = "Serbia", "The whole of Serbia"
        else:
            area["name"] = PLACES[place].names["en"]
        _attribute(area_attrs, "service_area", aid, T_PLACE, place)
        area["attributes"] = area_attrs
        areas.append(area)
    obj["service_areas"] = areas
    obj["service_at_locations"] = [
        {
            "id": hsds_id("service_at_location", s.id, loc.id),
            "service_id": sid,
            "location_id": hsds_id("location", loc.id),
            "location": _location_object(loc, organization["id"]),
        }
        for loc in s.locations
    ]
    obj["languages"] = [
        {"id": hsds_id("language", s.id, code), "service_id": sid, "code": code}
        for code in s.languages
    ]
    obj["organization"] = organization
    for position, code in enumerate(s.categories):  # value: its rank, 0 for the main category
        _attribute(attrs, "service", sid, T_CATEGORY, code, str(position))
    for code in s.audience:
        _attribute(attrs, "service", sid, T_AUDIENCE, code)
    for source in s.sources:
        value = {
            "url": source.url,
            "date": source.date.isoformat() if source.date else None,
            "note": source.note,
        }
        _attribute(attrs, "service", sid, T_SOURCE, "source", json.dumps(value, ensure_ascii=False))
    obj["attributes"] = attrs
    return obj


def _export(engine: Engine) -> tuple[list[Obj], list[Obj]]:
    """Every organisation and every service (closed ones too) as HSDS objects, in id order."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                m.Organisation.id,
                m.Organisation.kind,
                m.Organisation.name,
                m.Organisation.website,
                m.Organisation.email,
            ).order_by(m.Organisation.id)
        ).all()
    organizations = {row.id: _organization_object(row) for row in rows}
    services = [_service_object(s, organizations[s.organisation_id]) for s in all_services(engine)]
    return list(organizations.values()), services


def service_objects(engine: Engine) -> list[Obj]:
    """Every service as a full HSDS 3.0 service object (what write_json writes)."""
    return _export(engine)[1]


def write_json(engine: Engine, path: Path | str) -> int:
    """Write every service as a JSON list of full HSDS 3.0 service objects; returns their number."""
    services = service_objects(engine)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(services, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return len(services)


def _flatten(organizations: list[Obj], services: list[Obj]) -> dict[str, dict[str, Obj]]:
    rows: dict[str, dict[str, Obj]] = {name: {} for name in _TABLE_SPECS}

    def put(table: str, obj: Obj) -> None:
        rows[table].setdefault(obj["id"], obj)
        for attr in obj.get("attributes", ()):
            rows["attribute"].setdefault(attr["id"], attr)
            term = attr["taxonomy_term"]
            rows["taxonomy_term"].setdefault(term["id"], term)
            taxonomy = term["taxonomy"]
            detail = {
                "id": term["taxonomy_id"],
                "name": taxonomy,
                "description": TAXONOMIES[taxonomy],
            }
            rows["taxonomy"].setdefault(term["taxonomy_id"], detail)

    for org in organizations:
        put("organization", org)
        for identifier in org["organization_identifiers"]:
            put("organization_identifier", identifier)
    for service in services:
        put("service", service)
        for key, table in (
            ("phones", "phone"),
            ("schedules", "schedule"),
            ("service_areas", "service_area"),
            ("languages", "language"),
        ):
            for record in service[key]:
                put(table, record)
        for sal in service["service_at_locations"]:
            put("service_at_location", sal)
            put("location", sal["location"])
            for address in sal["location"]["addresses"]:
                put("address", address)
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_tabular(engine: Engine, folder: Path | str) -> dict[str, int]:
    """Write the HSDS 3.0 tabular data package: a CSV per table with data, and datapackage.json.

    Returns the number of rows written per table.
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    organizations, services = _export(engine)
    rows = _flatten(organizations, services)
    resources = []
    counts = {}
    for name, table in tables().items():
        if not rows[name]:
            continue
        with (target / table.path).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([c.name for c in table.columns])
            for record in rows[name].values():
                writer.writerow([_cell(record.get(c.name)) for c in table.columns])
        counts[name] = len(rows[name])
        fields = []
        for c in table.columns:
            spec: Obj = {"name": c.name, "type": c.type}
            if c.format:
                spec["format"] = c.format
            if c.name == "id" or (name == "taxonomy_term" and c.name == "code"):
                spec["constraints"] = {"unique": True}
            fields.append(spec)
        resources.append(
            {
                "name": name,
                "path": table.path,
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": fields, "primaryKey": "id"},
            }
        )
    package = {
        "name": "putokaz-service-directory",
        "title": "Putokaz: services for migrants in Serbia",
        "description": "The Putokaz service directory as an Open Referral HSDS 3.0 tabular data "
        "package.",
        "profile": "tabular-data-package",
        "resources": resources,
    }
    (target / "datapackage.json").write_text(
        json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return counts


# --------------------------------------------------------------------------------------------
# Import


@dataclass(frozen=True)
class _Attr:
    taxonomy: str
    code: str
    value: str | None
    ctx: _Ctx


class _Ctx:
    """Where a record came from (file, record label, path inside it), to name it in problems."""

    def __init__(self, reader: _Reader, file: str, record: str, path: str = "") -> None:
        self.reader, self.file, self.record, self.path = reader, file, record, path

    def at(self, key: str, obj: Any) -> _Ctx:
        origin = self.reader.origins.get(id(obj))
        if origin is not None:
            return _Ctx(self.reader, origin[0], origin[1])
        return _Ctx(self.reader, self.file, self.record, f"{self.path}{key}.")

    def named(self, record: str) -> _Ctx:
        return _Ctx(self.reader, self.file, record, self.path)

    def problem(self, field: str, message: str) -> None:
        name = f"{self.path}{field}" if field else (self.path.rstrip(".") or "-")
        self.reader.problems.append(HsdsProblem(self.file, self.record, name, message))

    def text(self, obj: Obj, key: str, required: bool = False) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(key, "is required")
            return None
        if not isinstance(value, str):
            self.problem(key, f"{value!r} must be text")
            return None
        return value.strip()

    def number(self, obj: Obj, key: str) -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(key, f"{value!r} must be a number")
            return None
        return value

    def whole(self, obj: Obj, key: str) -> int | None:
        value = self.number(obj, key)
        if value is None:
            return None
        if isinstance(value, float) and not value.is_integer():
            self.problem(key, f"{value!r} must be a whole number")
            return None
        return int(value)

    def date(self, obj: Obj, key: str, required: bool = False) -> dt.date | None:
        value = obj.get(key)
        if value is None or value == "":
            if required:
                self.problem(key, "is required (YYYY-MM-DD)")
            return None
        return self.parse_date(key, value)

    def parse_date(self, key: str, value: Any) -> dt.date | None:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(key, f"{value!r} is not a date (YYYY-MM-DD)")
        return None

    def clock(self, obj: Obj, key: str) -> str | None:
        """A local time of day as curated HH:MM (24:00 for the end of the day)."""
        value = obj.get(key)
        if value is None or value == "":
            return None
        match = (
            re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?", value) if isinstance(value, str) else None
        )
        if match is None:
            self.problem(
                key,
                f"{value!r} is not a local time of day (HH:MM or HH:MM:SS, without a UTC offset; "
                f"times are {TIMEZONE} times)",
            )
            return None
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if (hour, minute, second) == (23, 59, 59) or (hour, minute, second) == (24, 0, 0):
            return "24:00"
        if hour > 23 or minute > 59 or second != 0:
            self.problem(
                key, f"{value!r} is not a time of day in whole minutes (00:00-23:59, or 24:00)"
            )
            return None
        return f"{hour:02d}:{minute:02d}"

    def items(self, obj: Obj, key: str) -> list[tuple[_Ctx, Obj]]:
        value = obj.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, "must be a list")
            return []
        result = []
        for i, item in enumerate(value):
            ctx = self.at(f"{key}[{i}]", item)
            if isinstance(item, dict):
                result.append((ctx, item))
            else:
                ctx.problem("", "must be an object")
        return result


def _place(name: str | None, national: bool) -> str | None:
    """The place slug of a city or area name in any language (data without our attributes)."""
    if not name:
        return None
    wanted = name.strip().casefold()
    if national and wanted in ("serbia", "srbija", "србија", NATIONAL):
        return NATIONAL
    for slug, place in PLACES.items():
        names = {slug, *place.names.values(), *place.aliases}
        if wanted in {n.casefold() for n in names}:
            return slug
    return None


def _put(node: Obj, key: str, value: Any) -> None:
    if value not in (None, "", [], {}):
        node[key] = value


class _Reader:
    """Turns HSDS service objects into curated documents, collecting every problem."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[HsdsProblem] = []
        self.origins: dict[int, tuple[str, str]] = {}
        self.docs: dict[str, Obj] = {}  # HSDS organization id -> curated document
        # our id -> (file, record), to name records in problems found by the curation checks
        self.labels: dict[str, tuple[str, str]] = {}

    def attributes(self, ctx: _Ctx, obj: Obj, entity: str) -> list[_Attr]:
        known_terms, known_taxonomies = _known_terms()
        result = []
        for actx, attr in ctx.items(obj, "attributes"):
            term, term_id = attr.get("taxonomy_term"), attr.get("taxonomy_term_id")
            taxonomy: Any = None
            code: Any = None
            if isinstance(term, dict):
                detail = term.get("taxonomy_detail")
                taxonomy = (detail.get("name") if isinstance(detail, dict) else None) or term.get(
                    "taxonomy"
                )
                taxonomy = taxonomy or known_taxonomies.get(str(term.get("taxonomy_id")))
                code = term.get("code")
                if taxonomy is None and str(term.get("id")) in known_terms:
                    taxonomy, code = known_terms[str(term.get("id"))]
            elif term is not None:
                actx.problem("taxonomy_term", "must be an object")
                continue
            elif str(term_id) in known_terms:
                taxonomy, code = known_terms[str(term_id)]
            if taxonomy not in TAXONOMIES:
                continue  # another taxonomy: not ours to read
            tctx = actx.at("taxonomy_term", term) if isinstance(term, dict) else actx
            used_by = "" if tctx.record == ctx.record else f" (in an attribute of {ctx.record})"
            if not isinstance(code, str) or not code:
                tctx.problem("code", f"a {taxonomy} term needs a code{used_by}")
                continue
            if taxonomy not in _ALLOWED[entity]:
                actx.problem(
                    "taxonomy_term.taxonomy",
                    f"a {taxonomy} attribute does not belong on a {entity}",
                )
                continue
            if taxonomy == T_TRANSLATION:
                field, _, lang = code.partition(":")
                if field not in TRANSLATED[entity] or lang not in LANGUAGES:
                    tctx.problem(
                        "code",
                        f"unknown translation term {code!r}: use FIELD:LANGUAGE with FIELD "
                        f"one of {', '.join(TRANSLATED[entity])} and LANGUAGE one of "
                        f"{', '.join(LANGUAGES)}{used_by}",
                    )
                    continue
            elif code not in _term_codes(taxonomy) or (entity == "address" and code == NATIONAL):
                tctx.problem(
                    "code",
                    f"unknown {_NOUNS[taxonomy]} {code!r}; use one of "
                    f"{', '.join(_term_codes(taxonomy))}{used_by}",
                )
                continue
            value = attr.get("value")
            if value is not None and not isinstance(value, str):
                actx.problem("value", f"{value!r} must be text")
                continue
            result.append(_Attr(taxonomy, code, value, actx))
        return result

    def texts(
        self, ctx: _Ctx, obj: Obj, field: str, attrs: list[_Attr], required: bool = False
    ) -> Texts:
        plain = ctx.text(obj, field)
        texts: Texts = {}
        for a in attrs:
            if a.taxonomy == T_TRANSLATION and a.code.partition(":")[0] == field:
                if a.value is None or not a.value.strip():
                    a.ctx.problem("value", "must be non-empty text")
                else:
                    texts[a.code.partition(":")[2]] = a.value.strip()
        if "en" not in texts and plain and plain not in texts.values():
            texts["en"] = plain
        if required and "en" not in texts:
            ctx.problem(field, "needs an English text" if plain else "is required")
        return dict(sorted(texts.items(), key=lambda item: _language_order(texts).index(item[0])))

    def our_id(
        self, ctx: _Ctx, explicit: str | None, field: str, fallback: Any, fallback_field: str
    ) -> str:
        """Our id: the one the export carried, else the HSDS id itself when it can serve as one."""
        if explicit is not None:
            if not ID_PATTERN.match(explicit):
                ctx.problem(
                    field,
                    f"{explicit!r} is not a Putokaz id (lowercase letters, digits and dashes)",
                )
            return explicit
        if isinstance(fallback, str) and ID_PATTERN.match(fallback.lower()):
            return fallback.lower()
        ctx.problem(
            fallback_field,
            f"{fallback!r} cannot serve as a Putokaz id: give a UUID "
            f"or a {field} with lowercase letters, digits and dashes",
        )
        return ""

    def service(self, ctx: _Ctx, svc: Any) -> None:
        if not isinstance(svc, dict):
            ctx.problem("", "must be a service object")
            return
        ctx.text(svc, "id", required=True)
        attrs = self.attributes(ctx, svc, "service")
        explicit = next((a for a in attrs if a.taxonomy == T_IDENTIFIER), None)
        if explicit is not None and not explicit.value:
            explicit.ctx.problem("value", "must be the Putokaz id of the service")
            explicit = None
        sid = self.our_id(
            explicit.ctx if explicit else ctx,
            explicit.value if explicit else None,
            "value" if explicit else "attributes",
            svc.get("id"),
            "id",
        )
        ctx = ctx.named(f"{ctx.record} ({sid})") if sid and sid not in ctx.record else ctx
        self.labels[sid] = (ctx.file, ctx.record)
        node: Obj = {"id": sid, "name": self.texts(ctx, svc, "name", attrs, required=True)}
        _put(node, "description", self.texts(ctx, svc, "description", attrs))
        ranked = [a for a in attrs if a.taxonomy == T_CATEGORY]  # by the rank in value (ours), else as listed
        ranked.sort(key=lambda a: int(a.value) if (a.value or "").isdigit() else len(ranked))
        node["categories"] = [a.code for a in ranked]
        if not node["categories"]:
            ctx.problem("attributes", f"needs at least one {T_CATEGORY} attribute")
        status = ctx.text(svc, "status", required=True)
        if status is not None and status not in STATUS_FROM_HSDS:
            ctx.problem(
                "status", f"unknown status {status!r}; use one of {', '.join(STATUS_FROM_HSDS)}"
            )
        node["status"] = STATUS_FROM_HSDS.get(status or "", status)
        _put(node, "status_note", self.texts(ctx, svc, "alert", attrs))
        _put(node, "audience", [a.code for a in attrs if a.taxonomy == T_AUDIENCE])
        _put(node, "age_min", ctx.whole(svc, "minimum_age"))
        _put(node, "age_max", ctx.whole(svc, "maximum_age"))
        languages = []
        for lctx, language in ctx.items(svc, "languages"):
            code = lctx.text(language, "code", required=True)
            if code:
                languages.append(code)
        _put(node, "languages", languages)
        _put(node, "phones", self.phones(ctx, svc))
        _put(node, "email", ctx.text(svc, "email"))
        _put(node, "url", ctx.text(svc, "url"))
        _put(node, "service_area", self.areas(ctx, svc))
        _put(node, "schedule", self.schedule(ctx, svc))
        _put(node, "locations", self.locations(ctx, svc))
        node["sources"] = self.sources(ctx, attrs)
        node["last_verified"] = ctx.date(svc, "assured_date", required=True)
        organization = svc.get("organization")
        if not isinstance(organization, dict):
            if isinstance(svc.get("organization_id"), str):
                ctx.problem(
                    "organization_id", f"no organization {svc['organization_id']} in the data"
                )
            else:
                ctx.problem(
                    "organization", "is required (the organization that provides the service)"
                )
            return
        octx = ctx.at("organization", organization)
        oid = octx.text(organization, "id", required=True)
        if oid is None:
            return
        if oid not in self.docs:
            self.docs[oid] = {"organisation": self.organisation(octx, organization), "services": []}
        self.docs[oid]["services"].append(node)

    def organisation(self, ctx: _Ctx, org: Obj) -> Obj:
        attrs = self.attributes(ctx, org, "organization")
        explicit = None
        for ictx, identifier in ctx.items(org, "organization_identifiers"):
            if identifier.get("identifier_type") == ID_TYPE:
                explicit = ictx.text(identifier, "identifier", required=True)
        oid = self.our_id(ctx, explicit, "organization_identifiers", org.get("id"), "id")
        ctx = ctx.named(f"{ctx.record} ({oid})") if oid and oid not in ctx.record else ctx
        self.labels.setdefault(oid, (ctx.file, ctx.record))
        kinds = [a.code for a in attrs if a.taxonomy == T_KIND]
        if len(kinds) != 1:
            ctx.problem("attributes", f"needs exactly one {T_KIND} attribute ({', '.join(KINDS)})")
        node: Obj = {
            "id": oid,
            "kind": kinds[0] if kinds else "",
            "name": self.texts(ctx, org, "name", attrs, required=True),
        }
        _put(node, "website", ctx.text(org, "website"))
        _put(node, "email", ctx.text(org, "email"))
        return node

    def phones(self, ctx: _Ctx, svc: Obj) -> list[Obj]:
        result = []
        for pctx, phone in ctx.items(svc, "phones"):
            attrs = self.attributes(pctx, phone, "phone")
            number = pctx.text(phone, "number", required=True)
            kind = (pctx.text(phone, "type") or "voice").lower()
            kind = PHONE_TYPES.get(kind, kind)
            if kind not in PHONE_KINDS:
                pctx.problem(
                    "type",
                    f"unknown phone type {phone.get('type')!r}; "
                    f"use one of {', '.join(PHONE_KINDS)}",
                )
            if phone.get("extension") not in (None, ""):
                pctx.problem(
                    "extension", "extensions are not supported: give the full number to dial"
                )
            record: Obj = {"number": number, "kind": kind}
            _put(record, "note", self.texts(pctx, phone, "description", attrs))
            if number:
                result.append(record)
        return result

    def areas(self, ctx: _Ctx, svc: Obj) -> list[str]:
        result = []
        for actx, area in ctx.items(svc, "service_areas"):
            places = [
                a.code for a in self.attributes(actx, area, "service_area") if a.taxonomy == T_PLACE
            ]
            slug = places[0] if places else _place(actx.text(area, "name"), national=True)
            if slug is None:
                actx.problem(
                    "name", f"unknown area {area.get('name')!r}: give a {T_PLACE} attribute"
                )
            else:
                result.append(slug)
        return result

    def locations(self, ctx: _Ctx, svc: Obj) -> list[Obj]:
        result = []
        for sctx, sal in ctx.items(svc, "service_at_locations"):
            loc = sal.get("location")
            if not isinstance(loc, dict):
                if isinstance(sal.get("location_id"), str):
                    sctx.problem("location_id", f"no location {sal['location_id']} in the data")
                else:
                    sctx.problem("location", "is required")
                continue
            lctx = sctx.at("location", loc)
            attrs = self.attributes(lctx, loc, "location")
            explicit = (
                lctx.text(loc, "external_identifier")
                if loc.get("external_identifier_type") == ID_TYPE
                else None
            )
            node: Obj = {
                "id": self.our_id(lctx, explicit, "external_identifier", loc.get("id"), "id")
            }
            addresses = lctx.items(loc, "addresses")
            physical = [
                a for a in addresses if a[1].get("address_type", "physical") == "physical"
            ] or addresses
            if not physical:
                lctx.problem("addresses", "needs an address with the city")
            else:
                actx, address = physical[0]
                address_attrs = self.attributes(actx, address, "address")
                places = [a.code for a in address_attrs if a.taxonomy == T_PLACE]
                city = places[0] if places else _place(actx.text(address, "city"), national=False)
                if city is None:
                    actx.problem(
                        "city", f"unknown place {address.get('city')!r}: give a {T_PLACE} attribute"
                    )
                node["city"] = city
                _put(node, "address", self.texts(actx, address, "address_1", address_attrs))
            _put(node, "latitude", lctx.number(loc, "latitude"))
            _put(node, "longitude", lctx.number(loc, "longitude"))
            _put(
                node, "precision", next((a.code for a in attrs if a.taxonomy == T_PRECISION), None)
            )
            _put(node, "directions", self.texts(lctx, loc, "transportation", attrs))
            result.append(node)
        return result

    def schedule(self, ctx: _Ctx, svc: Obj) -> Obj | None:
        records = ctx.items(svc, "schedules")
        if not records:
            return None
        schedule: Obj = {}
        weekly: list[Obj] = []
        exceptions: list[Obj] = []
        for rctx, record in records:
            attrs = self.attributes(rctx, record, "schedule")
            codes = {a.code: a for a in attrs if a.taxonomy == T_SCHEDULE}
            if "timezone" in codes and codes["timezone"].value != TIMEZONE:
                codes["timezone"].ctx.problem(
                    "value", f"times must be {TIMEZONE} times, not {codes['timezone'].value!r}"
                )
            opens, closes = rctx.clock(record, "opens_at"), rctx.clock(record, "closes_at")
            if record.get("valid_from") is not None or record.get("valid_to") is not None:
                first, last = (
                    rctx.date(record, "valid_from", True),
                    rctx.date(record, "valid_to", True),
                )
                if first and last and first != last:
                    rctx.problem(
                        "valid_to",
                        "only single-day exceptions are supported (valid_from = valid_to)",
                    )
                elif first and (opens is None) != (closes is None):
                    rctx.problem(
                        "closes_at" if closes is None else "opens_at",
                        "give both opens_at and closes_at, "
                        "or neither for a day when the service is closed",
                    )
                elif first:
                    exceptions.append(
                        {"date": first, "closed": True}
                        if opens is None
                        else {"date": first, "opens": opens, "closes": closes}
                    )
                continue
            if "closed_on_public_holidays" in codes:
                schedule["closed_on_public_holidays"] = True
            note = self.texts(rctx, record, "notes", attrs)
            if note and "note" not in schedule:
                schedule["note"] = note
            if "always_open" in codes:
                schedule["always_open"] = True
                continue
            freq = rctx.text(record, "freq")
            if freq not in (None, "WEEKLY"):
                rctx.problem("freq", f"only WEEKLY schedules are supported, not {freq!r}")
                continue
            days = []
            byday = rctx.text(record, "byday", required=True)
            for day in byday.split(",") if byday else ():
                if day.strip().lower() not in WEEKDAYS:
                    rctx.problem(
                        "byday", f"{day.strip()!r} is not a day (MO, TU, WE, TH, FR, SA, SU)"
                    )
                else:
                    days.append(day.strip().lower())
            for key, value in (("opens_at", opens), ("closes_at", closes)):
                if value is None and key not in record:
                    rctx.problem(key, "is required for weekly hours")
            if days and opens and closes:
                weekly.append({"days": days, "opens": opens, "closes": closes})
        _put(schedule, "weekly", weekly)
        _put(schedule, "exceptions", exceptions)
        return schedule

    def sources(self, ctx: _Ctx, attrs: list[_Attr]) -> list[Obj]:
        result = []
        for a in attrs:
            if a.taxonomy != T_SOURCE:
                continue
            try:
                value = json.loads(a.value or "")
            except ValueError:
                value = None
            if not isinstance(value, dict) or not isinstance(value.get("url"), str):
                a.ctx.problem(
                    "value", 'must be JSON {"url": ..., "date": "YYYY-MM-DD" or null, "note": ...}'
                )
                continue
            source: Obj = {"url": value["url"]}
            if value.get("date") is not None:
                _put(source, "date", a.ctx.parse_date("value.date", value["date"]))
            note = value.get("note")
            if note is not None and not isinstance(note, str):
                a.ctx.problem("value.note", f"{note!r} must be text")
            elif note:
                source["note"] = note
            result.append(source)
        if not result:
            ctx.problem(
                "attributes", f"needs at least one {T_SOURCE} attribute (where the facts come from)"
            )
        return result


def _load_json(path: Path, reader: _Reader) -> list[tuple[_Ctx, Any]]:
    file = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        reader.problems.append(
            HsdsProblem(
                file, f"line {exc.lineno}, column {exc.colno}", "-", f"not valid JSON: {exc.msg}"
            )
        )
        return []
    except (OSError, UnicodeDecodeError) as exc:
        reader.problems.append(HsdsProblem(file, "-", "-", f"cannot read the file: {exc}"))
        return []
    if isinstance(data, dict) and isinstance(data.get("contents"), list):
        data = data["contents"]  # an HSDS API page of services
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        reader.problems.append(
            HsdsProblem(file, "-", "-", "must be a list of HSDS service objects")
        )
        return []
    result = []
    for i, item in enumerate(data):
        record = (
            f"service {item['id']}"
            if isinstance(item, dict) and isinstance(item.get("id"), str)
            else f"services[{i}]"
        )
        result.append((_Ctx(reader, file, record), item))
    return result


def _read_csv(path: Path, table: Table, reader: _Reader) -> list[Obj]:
    numbers = {c.name for c in table.columns if c.type == "number"}
    rows = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            csv_reader = csv.DictReader(handle)
            if csv_reader.fieldnames is None or "id" not in csv_reader.fieldnames:
                reader.problems.append(
                    HsdsProblem(str(path), "-", "id", "the table needs an id column")
                )
                return []
            for raw in csv_reader:
                row: Obj = {
                    k: v for k, v in raw.items() if isinstance(k, str) and v not in (None, "")
                }
                record = f"{table.name} {row.get('id', '?')} (line {csv_reader.line_num})"
                reader.origins[id(row)] = (str(path), record)
                for key in numbers & row.keys():
                    try:
                        number = float(row[key])
                        row[key] = (
                            int(number) if re.fullmatch(r"-?\d+", row[key].strip()) else number
                        )
                    except ValueError:
                        reader.problems.append(
                            HsdsProblem(str(path), record, key, f"{row[key]!r} is not a number")
                        )
                        del row[key]
                rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reader.problems.append(HsdsProblem(str(path), "-", "-", f"cannot read the table: {exc}"))
    return rows


def _load_tabular(folder: Path, reader: _Reader) -> list[tuple[_Ctx, Any]]:
    paths = {name: folder / table.path for name, table in tables().items()}
    package = folder / "datapackage.json"
    if package.exists():
        try:
            meta = json.loads(package.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            reader.problems.append(HsdsProblem(str(package), "-", "-", f"not valid JSON: {exc}"))
            return []
        resources = meta.get("resources") if isinstance(meta, dict) else None
        for i, resource in enumerate(resources if isinstance(resources, list) else []):
            if isinstance(resource, dict) and resource.get("name") in paths:
                if not isinstance(resource.get("path"), str):
                    reader.problems.append(
                        HsdsProblem(str(package), f"resources[{i}]", "path", "must be a file name")
                    )
                else:
                    paths[resource["name"]] = folder / resource["path"]
    if not paths["service"].exists():
        reader.problems.append(
            HsdsProblem(
                str(paths["service"]), "-", "-", "no such file: the package has no services"
            )
        )
        return []
    rows = {
        name: _read_csv(path, tables()[name], reader) if path.exists() else []
        for name, path in paths.items()
    }

    def by(table: str, key: str) -> dict[Any, list[Obj]]:
        grouped: dict[Any, list[Obj]] = defaultdict(list)
        for row in rows[table]:
            grouped[row.get(key)].append(row)
        return grouped

    taxonomies = {t.get("id"): t for t in rows["taxonomy"]}
    terms = {t.get("id"): t for t in rows["taxonomy_term"]}
    for term in terms.values():
        if term.get("taxonomy_id") in taxonomies:
            term["taxonomy_detail"] = taxonomies[term["taxonomy_id"]]
    attributes = by("attribute", "link_id")
    for attr in rows["attribute"]:
        if attr.get("taxonomy_term_id") in terms:
            attr["taxonomy_term"] = terms[attr["taxonomy_term_id"]]
    for table in _ALLOWED:
        for row in rows[table]:
            linked = [
                a
                for a in attributes.get(row.get("id"), [])
                if a.get("link_entity") in (None, table)
            ]
            if linked:
                row["attributes"] = linked
    identifiers = by("organization_identifier", "organization_id")
    organizations = {o.get("id"): o for o in rows["organization"]}
    for org in organizations.values():
        org["organization_identifiers"] = identifiers.get(org.get("id"), [])
    addresses = by("address", "location_id")
    locations = {loc.get("id"): loc for loc in rows["location"]}
    for loc in locations.values():
        loc["addresses"] = addresses.get(loc.get("id"), [])
    for sal in rows["service_at_location"]:
        if sal.get("location_id") in locations:
            sal["location"] = locations[sal["location_id"]]
    children = {
        key: by(table, "service_id")
        for key, table in (
            ("phones", "phone"),
            ("schedules", "schedule"),
            ("service_areas", "service_area"),
            ("languages", "language"),
            ("service_at_locations", "service_at_location"),
        )
    }
    result = []
    for svc in rows["service"]:
        for key, grouped in children.items():
            svc[key] = grouped.get(svc.get("id"), [])
        if svc.get("organization_id") in organizations:
            svc["organization"] = organizations[svc["organization_id"]]
        origin = reader.origins[id(svc)]
        result.append((_Ctx(reader, origin[0], origin[1]), svc))
    return result


def _canonical(org: Organisation) -> Organisation:
    """Lists in the order the database returns them, so records compare equal however read."""
    services = []
    for s in org.services:
        schedule = s.schedule
        if schedule is not None:
            schedule = replace(
                schedule,
                weekly=tuple(sorted(schedule.weekly, key=lambda t: (t.weekday, t.opens))),
                exceptions=tuple(sorted(schedule.exceptions, key=_exception_key)),
            )
        services.append(
            replace(
                s,
                categories=s.categories,  # in order: the first is the service's main category
                audience=tuple(sorted(s.audience)),
                languages=tuple(sorted(s.languages)),
                locations=tuple(sorted(s.locations, key=lambda loc: loc.id)),
                service_area=tuple(sorted(s.service_area)),
                schedule=schedule,
            )
        )
    return replace(org, services=tuple(sorted(services, key=lambda s: s.id)))


def _check(doc: Obj, file: str) -> tuple[Organisation, list[Problem]]:
    """The curated document through the same checks as a curated file."""
    c = _Checker(file)
    org = doc["organisation"]
    org_id = c.text(org, "id", "organisation", required=True)
    if org_id and not ID_PATTERN.match(org_id):
        c.problem(org, org_id, "id", f"{org_id!r} must be lowercase letters, digits and dashes")
    kind = c.text(org, "kind", org_id or "organisation", required=True)
    if kind and kind not in KINDS:
        c.problem(org, org_id, "kind", f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    name = c.texts(org, "name", org_id or "organisation", required=True)
    services = [
        s for i, n in enumerate(doc["services"]) if (s := _service(c, n, org, org_id, name, i))
    ]
    organisation = Organisation(
        id=org_id,
        kind=kind,
        name=name,
        website=c.text(org, "website", org_id),
        email=c.text(org, "email", org_id),
        services=tuple(services),
        source_file=file,
    )
    return organisation, c.problems


def read(path: Path | str) -> list[Organisation]:
    """Organisations with their services from an HSDS 3.0 JSON file or tabular package folder.

    Everything is checked as curated files are; raises HsdsError listing every problem.
    """
    source = Path(path)
    reader = _Reader(str(source))
    if source.is_dir():
        roots = _load_tabular(source, reader)
    elif source.exists():
        roots = _load_json(source, reader)
    else:
        raise HsdsError([HsdsProblem(str(source), "-", "-", "no such file or folder")])
    for ctx, service in roots:
        reader.service(ctx, service)
    if reader.problems:
        raise HsdsError(list(dict.fromkeys(reader.problems)))
    organisations: list[Organisation] = []
    problems: list[Problem] = []
    for doc in reader.docs.values():
        organisation, found = _check(doc, str(source))
        organisations.append(organisation)
        problems.extend(found)
    problems.extend(_duplicates(organisations))
    if problems:
        raise HsdsError([_from_curation(p, reader) for p in problems])
    return sorted((_canonical(o) for o in organisations), key=lambda o: o.id)


def _from_curation(problem: Problem, reader: _Reader) -> HsdsProblem:
    file, record = reader.labels.get(problem.entry, (reader.file, problem.entry))
    head = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
    field = (
        f"{CURATED_TO_HSDS[head]} ({problem.field})" if head in CURATED_TO_HSDS else problem.field
    )
    return HsdsProblem(file, record, field, problem.message)


# --------------------------------------------------------------------------------------------
# Curated YAML


def _ordered(texts: Texts) -> Texts:
    return {lang: texts[lang] for lang in _language_order(texts)}


def _clock(t: dt.time) -> str:
    return clock(minutes(t))


def _curated_schedule(schedule: Schedule) -> Obj:
    node: Obj = {}
    if schedule.always_open:
        node["always_open"] = True
    else:
        node["weekly"] = [
            {"days": [WEEKDAYS[d] for d in days], "opens": _clock(opens), "closes": _clock(closes)}
            for days, opens, closes in _weekly_groups(schedule)
        ]
    if schedule.closed_on_public_holidays:
        node["closed_on_public_holidays"] = True
    exceptions = []
    for e in sorted(schedule.exceptions, key=_exception_key):
        if e.closed or e.opens is None or e.closes is None:
            exceptions.append({"date": e.date, "closed": True})
        else:
            exceptions.append(
                {"date": e.date, "opens": _clock(e.opens), "closes": _clock(e.closes)}
            )
    _put(node, "exceptions", exceptions)
    _put(node, "note", _ordered(schedule.note))
    return node


def _curated_service(s: Service) -> Obj:
    node: Obj = {"id": s.id, "name": _ordered(s.name)}
    _put(node, "description", _ordered(s.description))
    node["categories"] = list(s.categories)
    node["status"] = s.status
    _put(node, "status_note", _ordered(s.status_note))
    _put(node, "audience", list(s.audience))
    if s.age_min is not None:
        node["age_min"] = s.age_min
    if s.age_max is not None:
        node["age_max"] = s.age_max
    _put(node, "languages", list(s.languages))
    phones = []
    for p in s.phones:
        phone: Obj = {"number": p.number, "kind": p.kind}
        _put(phone, "note", _ordered(p.note))
        phones.append(phone)
    _put(node, "phones", phones)
    _put(node, "email", s.email)
    _put(node, "url", s.url)
    _put(node, "service_area", list(s.service_area))
    if s.schedule is not None:
        node["schedule"] = _curated_schedule(s.schedule)
    locations = []
    for loc in s.locations:
        location: Obj = {"id": loc.id, "city": loc.city}
        _put(location, "address", _ordered(loc.address))
        if loc.latitude is not None and loc.longitude is not None:
            location["latitude"], location["longitude"] = loc.latitude, loc.longitude
        location["precision"] = loc.precision
        _put(location, "directions", _ordered(loc.directions))
        locations.append(location)
    _put(node, "locations", locations)
    sources = []
    for src in s.sources:
        source: Obj = {"url": src.url}
        _put(source, "date", src.date)
        _put(source, "note", src.note)
        sources.append(source)
    node["sources"] = sources
    node["last_verified"] = s.last_verified
    return node


def curated_document(org: Organisation) -> Obj:
    """An organisation as the mapping of a curated YAML file (service_directory/data/README.md)."""
    organisation: Obj = {"id": org.id, "kind": org.kind, "name": _ordered(org.name)}
    _put(organisation, "website", org.website)
    _put(organisation, "email", org.email)
    return {"organisation": organisation, "services": [_curated_service(s) for s in org.services]}


class _CuratedDumper(yaml.SafeDumper):
    """Writes short lists of codes inline, as curated files do: `categories: [shelter, food]`."""

    def represent_list(self, data: Any) -> yaml.SequenceNode:
        flow = bool(data) and all(
            isinstance(item, (str, int, float)) and len(str(item)) < 40 for item in data
        )
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_CuratedDumper.add_representer(list, _CuratedDumper.represent_list)


def write_curated(organisations: Iterable[Organisation], folder: Path | str) -> list[Path]:
    """Write one curated YAML file per organisation, named after its id; returns the files."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for org in organisations:
        path = target / f"{org.id}.yaml"
        text = yaml.dump(
            curated_document(org),
            Dumper=_CuratedDumper,
            allow_unicode=True,
            sort_keys=False,
            width=100,
        )
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
