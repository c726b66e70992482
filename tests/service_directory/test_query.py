"""The query API against real SQLite and PostgreSQL: filters, ranking, closed services."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from service_directory import Query, UnknownCode, get_service, load, read_directory, search
from service_directory.schedule import BELGRADE
from tests.builders import organisation_doc, service_entry, write_yaml

FRIDAY_NOON = dt.datetime(2026, 11, 27, 12, tzinfo=BELGRADE)
WORKDAYS = {"weekly": [{"days": ["mo", "tu", "we", "th", "fr"], "opens": "09:00", "closes": "17:00"}]}
EVENINGS = {"weekly": [{"days": ["mo", "tu", "we", "th", "fr"], "opens": "17:00", "closes": "20:00"}]}


def load_services(engine: Engine, tmp_path: Path, *entries: dict[str, object]) -> None:
    write_yaml(tmp_path, "org.yaml", organisation_doc("org", list(entries)))
    load(engine, read_directory(tmp_path))


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.service.id for h in hits]


def test_closed_and_inactive_never_returned_temporarily_closed_flagged(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("open-one"),
        service_entry("closed-one", status="closed", locations=[{"id": "c", "city": "belgrade"}]),
        service_entry("gone-one", status="inactive", locations=[{"id": "g", "city": "belgrade"}]),
        service_entry("paused-one", status="temporarily_closed", locations=[{"id": "p", "city": "belgrade"}]),
    )
    hits = search(empty_directory, Query(category="legal_aid", place="belgrade", limit=10))
    assert ids(hits) == ["open-one", "paused-one"]
    assert [h.temporarily_closed for h in hits] == [False, True]


def test_exact_place_then_national_then_distance(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("in-nis", locations=[{"id": "n", "city": "nis"}]),
        service_entry("hotline", locations=[], service_area=["national"]),
        service_entry("in-vranje", locations=[{"id": "v", "city": "vranje"}]),
        service_entry("in-subotica", locations=[{"id": "s", "city": "subotica"}]),
    )
    hits = search(empty_directory, Query(category="legal_aid", place="nis", limit=10))
    assert ids(hits) == ["in-nis", "hotline", "in-vranje", "in-subotica"]
    assert hits[0].matched_place and not hits[2].matched_place
    assert hits[2].distance_km is not None and hits[3].distance_km is not None
    assert 80 < hits[2].distance_km < 100 < hits[3].distance_km


def test_in_the_same_place_the_service_whose_main_category_it_is_comes_first(empty_directory: Engine,
                                                                            tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("hotline-also-legal", categories=["anti_trafficking", "legal_aid"], last_verified="2026-01-01",
                      locations=[{"id": "h", "city": "nis"}]),
        service_entry("legal-centre", categories=["legal_aid", "documents"], last_verified="2024-01-01",
                      locations=[{"id": "l", "city": "nis"}]),
        service_entry("national-legal", locations=[], service_area=["national"]),
    )
    legal = search(empty_directory, Query(category="legal_aid", place="nis", limit=10))
    assert ids(legal) == ["legal-centre", "hotline-also-legal", "national-legal"]  # the place still ranks first
    assert get_service(empty_directory, "hotline-also-legal").categories == ("anti_trafficking", "legal_aid")
    trafficking = search(empty_directory, Query(category="anti_trafficking", place="nis"))
    assert ids(trafficking) == ["hotline-also-legal"]
    everything = search(empty_directory, Query(place="nis", limit=10))  # no category: recently verified first
    assert ids(everything)[:2] == ["hotline-also-legal", "legal-centre"]


def test_every_active_service_before_a_temporarily_closed_one(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("paused-in-nis", status="temporarily_closed", locations=[{"id": "p", "city": "nis"}]),
        service_entry("in-nis", locations=[{"id": "n", "city": "nis"}]),
        service_entry("hotline", locations=[], service_area=["national"]),
        service_entry("in-vranje", locations=[{"id": "v", "city": "vranje"}]),
    )
    hits = search(empty_directory, Query(category="legal_aid", place="nis", limit=10))
    assert ids(hits) == ["in-nis", "hotline", "in-vranje", "paused-in-nis"]
    assert hits[-1].temporarily_closed and hits[-1].matched_place
    pages = [ids(search(empty_directory, Query(category="legal_aid", place="nis", limit=3, offset=k))) for k in (0, 3)]
    assert pages == [["in-nis", "hotline", "in-vranje"], ["paused-in-nis"]]


def test_open_now_ranks_and_filters(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("evening", schedule=EVENINGS, last_verified="2025-06-01"),
        service_entry("daytime", schedule=WORKDAYS, locations=[{"id": "d", "city": "belgrade"}],
                      last_verified="2024-01-01"),
        service_entry("unknown-hours", locations=[{"id": "u", "city": "belgrade"}], last_verified="2025-09-01"),
    )
    ranked = search(empty_directory, Query(category="legal_aid", place="belgrade", open_at=FRIDAY_NOON, limit=10))
    assert ids(ranked) == ["daytime", "unknown-hours", "evening"]
    assert [h.open_now for h in ranked] == [True, None, False]
    only_open = search(empty_directory, Query(place="belgrade", open_at=FRIDAY_NOON, only_open=True, limit=10))
    assert ids(only_open) == ["daytime"]


def test_language_and_audience_filters(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("farsi", languages=["fa", "en"]),
        service_entry("kids", audience=["unaccompanied_minors"], categories=["child_protection"],
                      locations=[{"id": "k", "city": "belgrade"}]),
    )
    assert ids(search(empty_directory, Query(language="fa", limit=10))) == ["farsi"]
    assert ids(search(empty_directory, Query(audience="unaccompanied_minors", limit=10))) == ["kids"]


def test_near_a_point_sorts_by_distance(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(
        empty_directory, tmp_path,
        service_entry("far", locations=[{"id": "f", "city": "subotica"}]),
        service_entry("near", locations=[{"id": "n", "city": "sid", "latitude": 45.13, "longitude": 19.23,
                                          "precision": "street"}]),
    )
    hits = search(empty_directory, Query(near=(45.12, 19.22), limit=10))
    assert ids(hits) == ["near", "far"]
    assert hits[0].distance_km is not None and hits[0].distance_km < 2


def test_paging_gives_the_next_ones(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(empty_directory, tmp_path, *[
        service_entry(f"s-{i}", locations=[{"id": f"l-{i}", "city": "belgrade"}], last_verified=f"2025-01-{i + 10}")
        for i in range(7)
    ])
    first = ids(search(empty_directory, Query(place="belgrade", limit=3)))
    second = ids(search(empty_directory, Query(place="belgrade", limit=3, offset=3)))
    assert first == ["s-6", "s-5", "s-4"]  # most recently verified first
    assert second == ["s-3", "s-2", "s-1"]


def test_records_carry_everything_the_bot_shows(empty_directory: Engine, tmp_path: Path) -> None:
    load_services(empty_directory, tmp_path, service_entry(
        "full", phones=[{"number": "+381 11 123 4567", "kind": "hotline"}], languages=["ar"],
        schedule=WORKDAYS, locations=[{"id": "f", "city": "belgrade", "address": {"sr": "Ulica 1"}}]))
    service = get_service(empty_directory, "full")
    assert service is not None
    assert service.phones[0].number == "+381 11 123 4567"
    assert service.locations[0].address == {"sr": "Ulica 1"}
    assert service.locations[0].latitude == pytest.approx(44.8176)
    assert service.schedule is not None and len(service.schedule.weekly) == 5
    assert service.last_verified == dt.date(2025, 1, 1)
    assert service.sources[0].url == "https://example.org/source"
    with pytest.raises(AttributeError):
        service.status = "closed"  # type: ignore[misc]


@pytest.mark.parametrize("bad", [Query(category="doctors"), Query(place="zagreb"), Query(audience="aliens"),
                                 Query(near=(123.0, 5.0))])
def test_unknown_codes_are_refused(directory: Engine, bad: Query) -> None:
    with pytest.raises(UnknownCode):
        search(directory, bad)


def test_curated_legal_aid_in_belgrade(directory: Engine) -> None:
    hits = search(directory, Query(category="legal_aid", place="belgrade", limit=20))
    assert len(hits) >= 3
    assert all("legal_aid" in h.service.categories for h in hits)
    assert all(h.service.status in ("active", "temporarily_closed") for h in hits)
    assert hits[0].matched_place


def test_curated_closed_centres_never_offered(directory: Engine) -> None:
    for place in ("sid", "kikinda", "dimitrovgrad"):
        for hit in search(directory, Query(category="shelter", place=place, limit=50)):
            assert hit.service.status != "closed"
