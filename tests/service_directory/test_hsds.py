"""HSDS 3.0 export and import: schema-valid output, exact round trips, precise errors."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import FormatChecker
from jsonschema.validators import validator_for
from sqlalchemy.engine import Engine

from service_directory import all_services, hsds, load, make_engine, migrate, read_directory
from service_directory.records import Organisation, Service
from tests.builders import service_entry, write_yaml

SCHEMAS = Path(__file__).parent / "hsds_schemas"
#: Required HSDS address fields that our data cannot fill: there are no postal codes or
#: provinces in the curated data, and many locations have no street address.
UNKNOWABLE = {("address", "address_1"), ("address", "state_province"), ("address", "postal_code")}


def _schema(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def _canonical_service(s: Service) -> Service:
    schedule = s.schedule
    if schedule is not None:
        schedule = replace(
            schedule,
            weekly=tuple(sorted(schedule.weekly, key=lambda t: (t.weekday, t.opens))),
            exceptions=tuple(
                sorted(
                    schedule.exceptions, key=lambda e: (e.date, e.closed, e.opens or dt.time.min)
                )
            ),
        )
    return replace(
        s,
        audience=tuple(sorted(s.audience)),  # categories keep their order: the first is the main one
        languages=tuple(sorted(s.languages)),
        service_area=tuple(sorted(s.service_area)),
        locations=tuple(sorted(s.locations, key=lambda loc: loc.id)),
        schedule=schedule,
    )


def canonical(organisations: Iterable[Organisation]) -> list[Organisation]:
    """Records in one order, without the file they came from: what a round trip must keep."""
    return sorted(
        (
            replace(
                o,
                source_file="",
                services=tuple(
                    sorted((_canonical_service(s) for s in o.services), key=lambda s: s.id)
                ),
            )
            for o in organisations
        ),
        key=lambda o: o.id,
    )


def _sample_docs() -> list[dict[str, Any]]:
    """Organisations that use every feature the mapping has to carry."""
    legal = service_entry(
        "test-alpha-legal",
        name={
            "en": "Legal help desk",
            "sr": "Pravna pomoć",
            "ar": "مساعدة قانونية",
            "fa": "کمک حقوقی",
            "ps": "حقوقي مرسته",
        },
        description={
            "en": "Free legal advice on asylum.",
            "sr": "Besplatni pravni saveti o azilu.",
        },
        categories=["legal_aid", "information"],
        audience=["asylum_seekers", "women"],
        age_min=0,
        age_max=17,
        languages=["ar", "fa", "en"],
        phones=[
            {
                "number": "+381 11 123 4567",
                "kind": "voice",
                "note": {"en": "Weekdays", "sr": "Radnim danima"},
            },
            {"number": "0800 100 600", "kind": "hotline"},
        ],
        email="legal@example.org",
        url="https://example.org/legal",
        schedule={
            "weekly": [
                {"days": ["mo", "tu", "we", "th", "fr"], "opens": "09:00", "closes": "13:00"},
                {"days": ["mo", "we"], "opens": "14:00", "closes": "17:30"},
                {"days": ["sa"], "opens": "10:00", "closes": "24:00"},
            ],
            "closed_on_public_holidays": True,
            "exceptions": [
                {"date": "2025-12-31", "closed": True},
                {"date": "2025-01-02", "opens": "10:00", "closes": "12:00"},
            ],
            "note": {"en": "Call before you come", "ar": "اتصل قبل أن تأتي"},
        },
        locations=[
            {
                "id": "test-alpha-legal-bg",
                "city": "belgrade",
                "address": {"en": "Nemanjina 4", "sr": "Nemanjina 4"},
                "latitude": 44.8083,
                "longitude": 20.4637,
                "precision": "street",
                "directions": {"en": "Tram 2 to Slavija", "fa": "تراموای ۲"},
            },
            {"id": "test-alpha-legal-ns", "city": "novi_sad", "address": {"sr": "Zmaj Jovina 1"}},
        ],
        sources=[
            {
                "url": "https://example.org/legal",
                "date": "2025-05-01",
                "note": "Programme page, May 2025",
            },
            {"url": "https://example.org/older"},
        ],
        last_verified="2025-05-01",
    )
    hotline = service_entry(
        "test-alpha-hotline",
        name={"en": "Night hotline", "sr": "Noćna linija"},
        description={"sr": "Psihološka podrška telefonom."},
        categories=["psychosocial", "emergency"],
        status="temporarily_closed",
        status_note={"en": "Suspended until further notice", "sr": "Obustavljeno do daljnjeg"},
        phones=[{"number": "+381 60 1234 567", "kind": "whatsapp"}],
        service_area=["national"],
        locations=[],
        schedule={"always_open": True, "note": {"sr": "Samo na srpskom"}},
        sources=[{"url": "https://example.org/hotline", "date": "2024-03-01"}],
        last_verified="2024-03-01",
    )
    shelter = service_entry(
        "test-beta-shelter",
        categories=["shelter"],
        status="closed",
        status_note={"en": "Closed in 2023"},
        service_area=["subotica", "kanjiza"],
        locations=[{"id": "test-beta-sub", "city": "subotica"}],
        sources=[{"url": "https://example.org/closed", "note": "Closure notice (undated)"}],
    )
    food = service_entry(
        "test-beta-food",
        categories=["food"],
        status="inactive",
        audience=["unaccompanied_minors"],
        locations=[{"id": "test-beta-sid", "city": "sid", "directions": {"ps": "بس"}}],
    )
    plain = service_entry(
        "test-gamma-info",
        name={"en": "Info point"},
        description=None,
        categories=["information"],
        locations=[{"id": "test-gamma-nis", "city": "nis"}],
    )
    del plain["description"]
    return [
        {
            "organisation": {
                "id": "test-alpha",
                "kind": "ngo",
                "website": "https://example.org",
                "email": "info@example.org",
                "name": {"en": "Alpha Aid", "sr": "Alfa pomoć", "ar": "ألفا"},
            },
            "services": [legal, hotline],
        },
        {
            "organisation": {
                "id": "test-beta",
                "kind": "government",
                "name": {"en": "Beta Office"},
            },
            "services": [shelter, food],
        },
        {
            "organisation": {
                "id": "test-gamma",
                "kind": "io",
                "name": {"en": "Gamma", "sr": "Gamma"},
            },
            "services": [plain],
        },
    ]


@pytest.fixture
def sample(tmp_path: Path) -> list[Organisation]:
    folder = tmp_path / "sample"
    for doc in _sample_docs():
        write_yaml(folder, f"{doc['organisation']['id']}.yaml", doc)
    return read_directory(folder)


@pytest.fixture
def originals(sample: list[Organisation]) -> list[Organisation]:
    """The bundled curated data and the sample, as read from their YAML files."""
    return [*read_directory(), *sample]


@pytest.fixture
def loaded(empty_directory: Engine, originals: list[Organisation]) -> Engine:
    load(empty_directory, originals)
    return empty_directory


def _sqlite_export(tmp_path: Path, organisations: list[Organisation]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{tmp_path / 'export.db'}")
    migrate(engine)
    load(engine, organisations)
    path = tmp_path / "export.json"
    hsds.write_json(engine, path)
    engine.dispose()
    return path


def _read_error(path: Path) -> str:
    with pytest.raises(hsds.HsdsError) as caught:
        hsds.read(path)
    return str(caught.value)


# --------------------------------------------------------------------------------------------
# The export follows the HSDS schemas


def test_every_exported_service_validates_against_hsds(
    loaded: Engine, originals: list[Organisation], tmp_path: Path
) -> None:
    path = tmp_path / "directory.json"
    count = hsds.write_json(loaded, path)
    services = json.loads(path.read_text(encoding="utf-8"))
    assert count == len(services) == sum(len(o.services) for o in originals)
    schema = _schema("service_with_definitions.json")
    validator = validator_for(schema)(schema, format_checker=FormatChecker())
    assert not validator.is_valid({**services[0], "status": "closed"})  # the validator does check
    for service in services:
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(service)
        ]
        assert not errors, (service["id"], errors[:5])
        uuid.UUID(service["id"])
    assert len({s["id"] for s in services}) == len(services)


def test_export_is_deterministic_across_databases(
    loaded: Engine, originals: list[Organisation], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    hsds.write_json(loaded, first)
    hsds.write_json(loaded, second)
    elsewhere = _sqlite_export(tmp_path / "other", originals)
    assert first.read_bytes() == second.read_bytes() == elsewhere.read_bytes()
    ids = {s["id"] for s in json.loads(first.read_text(encoding="utf-8"))}
    assert hsds.hsds_id("service", "test-alpha-legal") == str(
        uuid.uuid5(hsds.NAMESPACE, "service/test-alpha-legal")
    )
    assert hsds.hsds_id("service", "test-alpha-legal") in ids


def test_tabular_package_matches_hsds(loaded: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "package"
    counts = hsds.write_tabular(loaded, folder)
    spec = {name: item["items"] for name, item in _schema("tabular.json")["properties"].items()}
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    written = {r["name"]: r for r in package["resources"]}
    assert (
        {
            "organization",
            "service",
            "location",
            "service_at_location",
            "address",
            "phone",
            "schedule",
            "language",
            "service_area",
            "attribute",
            "taxonomy",
            "taxonomy_term",
            "organization_identifier",
        }
        == set(written)
        == set(counts)
    )
    assert {p.name for p in folder.iterdir()} == {r["path"] for r in written.values()} | {
        "datapackage.json"
    }
    tables: dict[str, list[dict[str, str]]] = {}
    for name, resource in written.items():
        table = spec[name]
        columns = [
            k
            for k, p in table["properties"].items()
            if p.get("type") != "array" and "$ref" not in p
        ]
        assert resource["path"] == table["path"]
        assert [f["name"] for f in resource["schema"]["fields"]] == columns
        with (folder / resource["path"]).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            assert reader.fieldnames == columns, name
            rows = list(reader)
        assert len(rows) == counts[name] > 0
        required = [*table.get("required", []), *table.get("tabular_required", [])]
        for row in rows:
            for field in required:
                assert row[field] or (name, field) in UNKNOWABLE, (name, row["id"], field)
            for column, prop in table["properties"].items():
                value = row.get(column)
                if not value:
                    continue
                if prop.get("format") == "uuid":
                    uuid.UUID(value)
                elif prop.get("type") == "number":
                    float(value)
                elif prop.get("datapackage_type") == "date":
                    dt.date.fromisoformat(value)
                elif prop.get("enum"):
                    assert value in prop["enum"], (name, column, value)
        tables[name] = rows
    ids = {name: {r["id"] for r in rows} for name, rows in tables.items()}
    for row in tables["service"]:
        assert row["organization_id"] in ids["organization"]
    for row in tables["service_at_location"]:
        assert row["service_id"] in ids["service"] and row["location_id"] in ids["location"]
    for row in tables["address"]:
        assert row["location_id"] in ids["location"]
    for name in ("phone", "schedule", "language", "service_area"):
        assert all(row["service_id"] in ids["service"] for row in tables[name]), name
    for row in tables["attribute"]:
        assert row["link_id"] in ids[row["link_entity"]], row
        assert row["taxonomy_term_id"] in ids["taxonomy_term"]
    for row in tables["taxonomy_term"]:
        assert row["taxonomy_id"] in ids["taxonomy"]
    assert len({r["code"] for r in tables["taxonomy_term"]}) == len(tables["taxonomy_term"])


def test_mapping_of_our_fields(loaded: Engine) -> None:
    services = {s["id"]: s for s in hsds.service_objects(loaded)}

    def service(our_id: str) -> dict[str, Any]:
        return services[hsds.hsds_id("service", our_id)]

    def terms(record: dict[str, Any], taxonomy: str) -> list[tuple[str, str | None]]:
        return [
            (a["taxonomy_term"]["code"], a.get("value"))
            for a in record.get("attributes", [])
            if a["taxonomy_term"]["taxonomy"] == taxonomy
        ]

    legal = service("test-alpha-legal")
    assert legal["name"] == "Legal help desk" and legal["status"] == "active"
    assert legal["assured_date"] == "2025-05-01"
    assert (legal["minimum_age"], legal["maximum_age"]) == (0, 17)
    assert ("name:ar", "مساعدة قانونية") in terms(legal, hsds.T_TRANSLATION)
    assert sorted(c for c, _ in terms(legal, hsds.T_CATEGORY)) == ["information", "legal_aid"]
    assert terms(legal, hsds.T_IDENTIFIER) == [("putokaz_id", "test-alpha-legal")]
    sources = [json.loads(v or "") for _, v in terms(legal, hsds.T_SOURCE)]
    assert sources == [
        {
            "url": "https://example.org/legal",
            "date": "2025-05-01",
            "note": "Programme page, May 2025",
        },
        {"url": "https://example.org/older", "date": None, "note": ""},
    ]
    weekly = [s for s in legal["schedules"] if "valid_from" not in s]
    assert [(s["freq"], s["byday"], s["opens_at"], s["closes_at"]) for s in weekly] == [
        ("WEEKLY", "MO,TU,WE,TH,FR", "09:00:00", "13:00:00"),
        ("WEEKLY", "MO,WE", "14:00:00", "17:30:00"),
        ("WEEKLY", "SA", "10:00:00", "23:59:59"),
    ]
    assert ("closed_on_public_holidays", None) in terms(weekly[0], hsds.T_SCHEDULE)
    assert all(
        ("timezone", "Europe/Belgrade") in terms(s, hsds.T_SCHEDULE) for s in legal["schedules"]
    )
    exceptions = [s for s in legal["schedules"] if "valid_from" in s]
    assert [(s["valid_from"], s["valid_to"], s.get("opens_at")) for s in exceptions] == [
        ("2025-01-02", "2025-01-02", "10:00:00"),
        ("2025-12-31", "2025-12-31", None),
    ]
    belgrade = next(
        sal["location"]
        for sal in legal["service_at_locations"]
        if sal["location"]["external_identifier"] == "test-alpha-legal-bg"
    )
    assert (belgrade["latitude"], belgrade["longitude"]) == (44.8083, 20.4637)
    assert terms(belgrade, hsds.T_PRECISION) == [("street", None)]
    address = belgrade["addresses"][0]
    assert (address["city"], address["country"], address["address_1"]) == (
        "Belgrade",
        "RS",
        "Nemanjina 4",
    )
    assert terms(address, hsds.T_PLACE) == [("belgrade", None)]
    # English equal to Serbian: the English text is spelled out so that it is not taken for a copy
    assert ("address_1:en", "Nemanjina 4") in terms(address, hsds.T_TRANSLATION)

    hotline = service("test-alpha-hotline")
    assert (
        hotline["status"] == "temporarily closed"
        and hotline["alert"] == "Suspended until further notice"
    )
    assert (
        hotline["description"] == "Psihološka podrška telefonom."
    )  # no English: a copy of the Serbian
    assert [(a["name"], terms(a, hsds.T_PLACE)) for a in hotline["service_areas"]] == [
        ("Serbia", [("national", None)])
    ]
    assert ("always_open", None) in terms(hotline["schedules"][0], hsds.T_SCHEDULE)
    assert hotline["phones"][0]["type"] == "whatsapp"
    assert service("test-beta-shelter")["status"] == "defunct"
    assert service("test-beta-food")["status"] == "inactive"
    organization = service("test-beta-food")["organization"]
    assert organization["organization_identifiers"][0]["identifier"] == "test-beta"
    assert terms(organization, hsds.T_KIND) == [("government", None)]


# --------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("form", ["json", "tabular"])
def test_round_trip_gives_the_same_records(
    loaded: Engine, originals: list[Organisation], tmp_path: Path, form: str
) -> None:
    path = tmp_path / ("directory.json" if form == "json" else "package")
    if form == "json":
        hsds.write_json(loaded, path)
    else:
        hsds.write_tabular(loaded, path)
    imported = hsds.read(path)
    assert canonical(imported) == canonical(originals)
    in_database = {s.id: _canonical_service(s) for s in all_services(loaded)}
    assert {s.id: s for o in imported for s in o.services} == in_database


def test_import_then_curated_files_give_the_same_records(
    loaded: Engine, originals: list[Organisation], tmp_path: Path
) -> None:
    hsds.write_json(loaded, tmp_path / "directory.json")
    imported = hsds.read(tmp_path / "directory.json")
    written = hsds.write_curated(imported, tmp_path / "curated")
    assert sorted(p.name for p in written) == sorted(f"{o.id}.yaml" for o in originals)
    assert canonical(read_directory(tmp_path / "curated")) == canonical(originals)


def test_attributes_given_by_term_id_only_are_understood(
    sample: list[Organisation], tmp_path: Path
) -> None:
    path = _sqlite_export(tmp_path, sample)
    services = json.loads(path.read_text(encoding="utf-8"))

    def strip(value: Any) -> None:
        if isinstance(value, dict):
            if "taxonomy_term_id" in value:
                value.pop("taxonomy_term", None)
            for item in value.values():
                strip(item)
        elif isinstance(value, list):
            for item in value:
                strip(item)

    strip(services)
    path.write_text(json.dumps(services), encoding="utf-8")
    assert canonical(hsds.read(path)) == canonical(sample)


# --------------------------------------------------------------------------------------------
# Bad input names the file, the record and the field


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": "x",\n  "name": }]', encoding="utf-8")
    message = _read_error(path)
    assert message.startswith(f"{path}: line 2, column ")
    assert "not valid JSON" in message


def test_service_without_a_name(sample: list[Organisation], tmp_path: Path) -> None:
    path = _sqlite_export(tmp_path, sample)
    services = json.loads(path.read_text(encoding="utf-8"))
    victim = services[0]
    del victim["name"]
    victim["attributes"] = [
        a for a in victim["attributes"] if not a["taxonomy_term"]["code"].startswith("name:")
    ]
    path.write_text(json.dumps(services), encoding="utf-8")
    message = _read_error(path)
    assert f"{path}: service {victim['id']} (" in message
    assert ": name: is required" in message


def test_unknown_category_term(sample: list[Organisation], tmp_path: Path) -> None:
    path = _sqlite_export(tmp_path, sample)
    services = json.loads(path.read_text(encoding="utf-8"))
    victim = services[1]
    index, attribute = next(
        (i, a)
        for i, a in enumerate(victim["attributes"])
        if a["taxonomy_term"]["taxonomy"] == hsds.T_CATEGORY
    )
    attribute["taxonomy_term"]["code"] = "doctors"
    path.write_text(json.dumps(services), encoding="utf-8")
    message = _read_error(path)
    assert f"{path}: service {victim['id']}: attributes[{index}].taxonomy_term.code: " in message
    assert "unknown category 'doctors'" in message


def test_bad_dates(sample: list[Organisation], tmp_path: Path) -> None:
    path = _sqlite_export(tmp_path, sample)
    services = json.loads(path.read_text(encoding="utf-8"))
    services[0]["assured_date"] = "2025-02-30"
    source = next(
        a for a in services[2]["attributes"] if a["taxonomy_term"]["taxonomy"] == hsds.T_SOURCE
    )
    source["value"] = json.dumps({"url": "https://example.org", "date": "last spring", "note": ""})
    path.write_text(json.dumps(services), encoding="utf-8")
    with pytest.raises(hsds.HsdsError) as caught:
        hsds.read(path)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{path}: service {services[0]['id']} (")
    assert problems[0].endswith(": assured_date: '2025-02-30' is not a date (YYYY-MM-DD)")
    assert f"service {services[2]['id']}: attributes[" in problems[1]
    assert problems[1].endswith(".value.date: 'last spring' is not a date (YYYY-MM-DD)")


def test_tabular_errors_name_the_csv_file(sample: list[Organisation], tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    load(engine, sample)
    folder = tmp_path / "package"
    hsds.write_tabular(engine, folder)
    engine.dispose()

    def edit(file: str, change: Any) -> list[dict[str, str]]:
        with (folder / file).open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        change(rows)
        with (folder / file).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(fields or []))
            writer.writeheader()
            writer.writerows(rows)
        return rows

    services = edit("services.csv", lambda rows: rows[0].update(assured_date="01.05.2025"))
    terms = edit(
        "taxonomy_terms.csv",
        lambda rows: next(
            r for r in rows if r["taxonomy"] == hsds.T_CATEGORY and r["code"] == "shelter"
        ).update(code="beds"),
    )
    message = _read_error(folder)
    assert f"{folder / 'services.csv'}: service {services[0]['id']} (line 2) (" in message
    assert ": assured_date: '01.05.2025' is not a date (YYYY-MM-DD)" in message
    term = next(r for r in terms if r["code"] == "beds")
    assert f"{folder / 'taxonomy_terms.csv'}: taxonomy_term {term['id']} (line " in message
    assert ": code: unknown category 'beds'" in message
    assert f"(in an attribute of service {hsds.hsds_id('service', 'test-beta-shelter')}" in message


def test_curation_rules_apply_to_imports(sample: list[Organisation], tmp_path: Path) -> None:
    path = _sqlite_export(tmp_path, sample)
    services = json.loads(path.read_text(encoding="utf-8"))
    services[0]["phones"][0]["number"] = "call the office"
    path.write_text(json.dumps(services), encoding="utf-8")
    message = _read_error(path)
    assert f"{path}: service {services[0]['id']} (" in message
    assert "'call the office' is not a phone number" in message


def test_missing_path(tmp_path: Path) -> None:
    assert (
        _read_error(tmp_path / "nothing.json")
        == f"{tmp_path / 'nothing.json'}: -: -: no such file or folder"
    )
