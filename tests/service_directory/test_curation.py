"""Validation of curated files: precise messages with file, line, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from service_directory import CurationError, read_directory
from service_directory.curation import DEFAULT_DATA_DIR, parse_file
from tests.builders import organisation_doc, service_entry, write_yaml


def problems_for(tmp_path: Path, **overrides: object) -> list[str]:
    write_yaml(tmp_path, "org.yaml", organisation_doc(services=[service_entry("s-1", **overrides)]))
    with pytest.raises(CurationError) as caught:
        read_directory(tmp_path)
    return [str(p) for p in caught.value.problems]


def test_bundled_data_is_valid() -> None:
    organisations = read_directory(DEFAULT_DATA_DIR)
    ids = [s.id for o in organisations for s in o.services]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 64


def test_bundled_data_never_lacks_sources_or_verification() -> None:
    for org in read_directory(DEFAULT_DATA_DIR):
        for service in org.services:
            assert service.sources, service.id
            assert service.last_verified.year >= 2010, service.id
            assert {"en", "sr", "ar", "fa", "ps"} <= set(service.name), f"{service.id} name lacks a language"


def test_unknown_category_names_file_line_entry_and_field(tmp_path: Path) -> None:
    found = problems_for(tmp_path, categories=["legal_aid", "doctors"])
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'org.yaml'}:")
    assert ": s-1: categories: unknown value 'doctors'" in found[0]
    line = int(found[0].split(":")[1])
    assert (tmp_path / "org.yaml").read_text().splitlines()[line - 1].strip().startswith("categories")


def test_unknown_place(tmp_path: Path) -> None:
    found = problems_for(tmp_path, locations=[{"id": "l-1", "city": "zagreb"}])
    assert any("city: unknown place 'zagreb'" in p for p in found)


def test_impossible_schedule(tmp_path: Path) -> None:
    schedule = {"weekly": [{"days": ["mo"], "opens": "18:00", "closes": "09:00"},
                           {"days": ["tu", "xx"], "opens": "25:00", "closes": "26:00"}]}
    found = problems_for(tmp_path, schedule=schedule)
    text = "\n".join(found)
    assert "closes at 09:00 before it opens at 18:00" in text
    assert "unknown value 'xx'" in text
    assert "'25:00' is not a time of day" in text


def test_overlapping_hours(tmp_path: Path) -> None:
    schedule = {"weekly": [{"days": ["mo"], "opens": "08:00", "closes": "12:00"},
                           {"days": ["mo"], "opens": "11:00", "closes": "15:00"}]}
    assert any("hours overlap on mo" in p for p in problems_for(tmp_path, schedule=schedule))


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({"id": "l", "city": "belgrade", "latitude": 95.0, "longitude": 20.0}, "95.0 is not a latitude"),
        ({"id": "l", "city": "belgrade", "latitude": 48.85, "longitude": 2.35}, "is outside Serbia"),
        ({"id": "l", "city": "belgrade", "latitude": 44.8}, "give both latitude and longitude"),
    ],
)
def test_bad_coordinates(tmp_path: Path, location: dict[str, object], message: str) -> None:
    assert any(message in p for p in problems_for(tmp_path, locations=[location]))


def test_duplicate_service_id_across_files(tmp_path: Path) -> None:
    write_yaml(tmp_path, "a.yaml", organisation_doc("org-a", [service_entry("same")]))
    write_yaml(tmp_path, "b.yaml",
               organisation_doc("org-b", [service_entry("same", locations=[{"id": "x", "city": "nis"}])]))
    with pytest.raises(CurationError) as caught:
        read_directory(tmp_path)
    messages = [str(p) for p in caught.value.problems]
    assert any("same: id: service id also used in" in m and "a.yaml" in m for m in messages)


def test_missing_source_and_bad_date(tmp_path: Path) -> None:
    found = problems_for(tmp_path, sources=[], last_verified="2025-13-40")
    assert any("sources: every entry needs at least one source" in p for p in found)
    assert any("last_verified: '2025-13-40' is not a date" in p for p in found)


def test_phone_that_is_not_a_number(tmp_path: Path) -> None:
    found = problems_for(tmp_path, phones=[{"number": "call the office"}])
    assert any("'call the office' is not a phone number" in p for p in found)


def test_malformed_yaml_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("organisation:\n  id: x\n  name: [unclosed\n", encoding="utf-8")
    organisation, problems = parse_file(path)
    assert organisation is None
    assert len(problems) == 1 and "not valid YAML" in problems[0].message
    assert problems[0].line >= 3


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    found = problems_for(tmp_path, status="maybe", categories=["nope"], languages=["Arabic!"])
    assert len(found) == 3
