"""Loading is one transaction and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from service_directory import CurationError, Query, load, read_directory, search
from service_directory import models as m
from tests.builders import organisation_doc, service_entry, write_yaml


def count(engine: Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table.__table__)).scalar_one())


def test_loading_twice_gives_the_same_state(empty_directory: Engine, tmp_path: Path) -> None:
    write_yaml(tmp_path, "a.yaml", organisation_doc("a", [service_entry("a-1", phones=[{"number": "0800 10 10 10"}])]))
    orgs = read_directory(tmp_path)
    load(empty_directory, orgs)
    load(empty_directory, orgs)
    assert count(empty_directory, m.ServiceRow) == 1
    assert count(empty_directory, m.PhoneRow) == 1
    assert count(empty_directory, m.LocationRow) == 1


def test_partial_load_replaces_only_that_organisation(empty_directory: Engine, tmp_path: Path) -> None:
    write_yaml(tmp_path / "all", "a.yaml", organisation_doc("a", [service_entry("a-1")]))
    write_yaml(tmp_path / "all", "b.yaml",
               organisation_doc("b", [service_entry("b-1", locations=[{"id": "b", "city": "nis"}])]))
    load(empty_directory, read_directory(tmp_path / "all"))
    write_yaml(tmp_path / "one", "b.yaml",
               organisation_doc("b", [service_entry("b-2", locations=[{"id": "b2", "city": "nis"}])]))
    load(empty_directory, read_directory(tmp_path / "one"), replace_all=False)
    found = sorted(h.service.id for h in search(empty_directory, Query(limit=10)))
    assert found == ["a-1", "b-2"]


def test_failed_load_leaves_database_untouched(empty_directory: Engine, tmp_path: Path) -> None:
    write_yaml(tmp_path, "a.yaml", organisation_doc("a", [service_entry("a-1")]))
    load(empty_directory, read_directory(tmp_path))
    bad = read_directory(tmp_path)[0]
    # two services sharing a location id violate the primary key half-way through the insert
    clash = bad.services[0]
    from dataclasses import replace
    broken = replace(bad, services=(clash, replace(clash, id="a-2")))
    with pytest.raises(Exception):  # noqa: B017 (the driver's IntegrityError differs per backend)
        load(empty_directory, [broken])
    assert [h.service.id for h in search(empty_directory, Query(limit=10))] == ["a-1"]


def test_invalid_files_are_refused_before_touching_the_database(tmp_path: Path) -> None:
    write_yaml(tmp_path, "a.yaml", organisation_doc("a", [service_entry("a-1", categories=["bogus"])]))
    with pytest.raises(CurationError):
        read_directory(tmp_path)
