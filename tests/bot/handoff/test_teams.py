"""Teams from YAML (every problem with file, line, team and field), routing, and each team's hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.handoff.hours import DEFAULT_HOURS
from bot.handoff.teams import Teams, TeamsError, load_teams, needs_of
from bot.settings import Settings, SettingsError
from service_directory.schedule import BELGRADE

TEAMS = """\
teams:
  - id: sid
    name: Šid team
    places: [sid]
    languages: [en, ar, fa, sr]
    hours: "mo-fr 08:00-16:00"
    closed: [2026-08-14]
  - id: belgrade-ar
    name: Belgrade (Arabic)
    places: [belgrade]
    languages: [en, ar]
  - id: belgrade-fa
    name: Belgrade (Farsi, Pashto)
    places: [belgrade, obrenovac]
    languages: [en, fa, ps]
  - id: children
    name: Child protection
    places: all
    languages: [en, ar, fa, ps, sr]
    needs: [child_protection]
    hours: "mo-su 00:00-24:00"
  - id: online
    name: National online team
    places: all
    languages: [en, ar, fa, ps, sr]
    hours: "mo-sa 09:00-21:00"
    fallback: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "teams.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def teams(tmp_path: Path) -> Teams:
    return load_teams(write(tmp_path, TEAMS))


def belgrade(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BELGRADE)  # type: ignore[misc]


# --- reading the file ---------------------------------------------------------------------------
def test_the_bundled_default_is_one_team_for_everyone_on_the_usual_hours() -> None:
    teams = load_teams()
    assert teams.ids == ("putokaz",) and teams.default.fallback and teams.default.everywhere
    assert teams.default.languages == ("en", "ar", "fa", "ps", "sr") and teams.default.hours == DEFAULT_HOURS
    assert teams.route("sid", "ps", {"child_protection"}).id == "putokaz"
    assert teams.route(None, None).id == "putokaz"


def test_putokaz_team_hours_still_sets_the_hours_of_a_team_without_its_own(tmp_path: Path) -> None:
    settings = Settings.from_env({"PUTOKAZ_DATA_DIR": str(tmp_path), "PUTOKAZ_TEAM_HOURS": "mo-su 07:00-23:00"})
    assert settings.teams.default.hours == "mo-su 07:00-23:00"
    assert settings.teams.default.in_hours(belgrade(2026, 11, 29, 22, 30))  # a Sunday evening


def test_a_file_gives_each_team_its_places_languages_needs_hours_and_closed_days(teams: Teams) -> None:
    sid = teams.get("sid")
    assert sid is not None and sid.name == "Šid team" and sid.places == {"sid"} and not sid.everywhere
    assert sid.languages == ("en", "ar", "fa", "sr") and sid.closed == (dt.date(2026, 8, 14),)
    assert teams.get("belgrade-ar").hours == DEFAULT_HOURS  # type: ignore[union-attr]
    assert teams.get("children").needs == {"child_protection"}  # type: ignore[union-attr]
    assert teams.default.id == "online" and teams.source.endswith("teams.yml")
    assert teams.member_of(None).id == "online" and teams.member_of("gone").id == "online"
    assert teams.member_of("sid").id == "sid"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("places: [sid]", "places: [sid, atlantis]", ":4: sid: places: unknown code 'atlantis'"),
    ("languages: [en, ar, fa, sr]", "languages: [en, de]", ":5: sid: languages: unknown code 'de'"),
    ('hours: "mo-fr 08:00-16:00"', 'hours: "weekdays 8-4"', ":6: sid: hours: cannot read 'weekdays 8-4'"),
    ('hours: "mo-fr 08:00-16:00"', 'hours: "mo-fr 16:00-08:00"', ":6: sid: hours: 16:00-08:00 ends before it starts"),
    ("closed: [2026-08-14]", "closed: [2026-02-30]", ":7: sid: closed: '2026-02-30' is not a date"),
    ("    name: Šid team\n", "", ":2: sid: name: is required"),
    ("    places: [sid]\n", "    place: [sid]\n", ":4: sid: place: unknown field"),
    ("id: belgrade-fa", "id: belgrade-ar", ":12: belgrade-ar: id: another team above has this id"),
    ("id: sid", "id: Sid Team", ":2: Sid Team: id: is required: 1-32 lowercase letters"),
    ("needs: [child_protection]", "needs: [children]", ":20: children: needs: unknown code 'children'"),
    ("    fallback: true\n", "", ":1: -: fallback: exactly one team must have `fallback: true`"),
    ("fallback: true", "fallback: yes please", ":27: online: fallback: must be true or false"),
    ("teams:", "teams: [", ":2: -: -: not valid YAML"),
])
def test_every_problem_names_file_line_team_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in TEAMS
    path = write(tmp_path, TEAMS.replace(old, new, 1))
    with pytest.raises(TeamsError) as failed:
        load_teams(path)
    assert f"{path}{expected}" in str(failed.value)


def test_two_fallback_teams_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, TEAMS.replace("    needs: [child_protection]\n", "    fallback: true\n"))
    with pytest.raises(TeamsError, match="exactly one team must have `fallback: true`.*now: children, online"):
        load_teams(path)


def test_the_gateway_refuses_to_start_on_a_bad_teams_file(tmp_path: Path) -> None:
    path = write(tmp_path, TEAMS.replace("languages: [en, ar]", "languages: []"))
    with pytest.raises(SettingsError) as failed:
        Settings.from_env({"PUTOKAZ_DATA_DIR": str(tmp_path), "PUTOKAZ_TEAMS_FILE": str(path)})
    assert str(failed.value).startswith(f"PUTOKAZ_TEAMS_FILE: {path}:11: belgrade-ar: languages: list at least one")
    missing = tmp_path / "nowhere.yml"
    with pytest.raises(SettingsError, match=f"{missing}:0: -: -: cannot read the file"):
        Settings.from_env({"PUTOKAZ_DATA_DIR": str(tmp_path), "PUTOKAZ_TEAMS_FILE": str(missing)})


# --- routing ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("city", "language", "reason", "category", "team"), [
    ("sid", "fa", "asked", None, "sid"),  # the team of the place
    ("sid", "ps", "asked", "legal_aid", "sid"),  # still the place's team: its interpreter is flagged
    ("belgrade", "ar", "asked", None, "belgrade-ar"),  # two teams in one place: the one that speaks it
    ("belgrade", "fa", "asked", None, "belgrade-fa"),
    ("belgrade", "sr", "asked", None, "belgrade-ar"),  # neither speaks it: the first in the file
    ("obrenovac", "ar", "asked", None, "belgrade-fa"),  # a team that serves the place beats language alone
    ("nis", "ar", "asked", None, "online"),  # no team there: the fallback
    (None, "fa", "asked", None, "online"),  # place unknown
    ("sid", "fa", "child_alone", None, "children"),  # a child alone goes to child protection anywhere
    ("belgrade", "ar", "asked", "child_protection", "children"),
])
def test_a_handoff_goes_to_the_team_of_its_needs_then_place_then_language(
        teams: Teams, city: str | None, language: str, reason: str, category: str | None, team: str) -> None:
    assert teams.route(city, language, needs_of(reason, category)).id == team


def test_needs_come_from_the_category_and_a_child_alone() -> None:
    assert needs_of("child_alone", "health") == {"child_protection", "health"}
    assert needs_of("asked", None) == frozenset()


# --- hours (a fixed clock) ----------------------------------------------------------------------
def test_each_team_works_its_own_hours_and_closes_on_holidays_and_its_closed_days(teams: Teams) -> None:
    sid, online = teams.get("sid"), teams.default
    assert sid is not None
    monday_evening = belgrade(2026, 11, 30, 18, 0)
    assert not sid.in_hours(monday_evening) and online.in_hours(monday_evening)
    assert sid.next_answer(monday_evening) == belgrade(2026, 12, 1, 8, 0)
    christmas = belgrade(2027, 1, 7, 10, 0)  # Orthodox Christmas, a Thursday: a public holiday
    assert not sid.in_hours(christmas) and sid.next_answer(christmas) == belgrade(2027, 1, 8, 8, 0)
    closed_day = belgrade(2026, 8, 14, 10, 0)  # a Friday the file closes
    assert not sid.in_hours(closed_day) and sid.next_answer(closed_day) == belgrade(2026, 8, 17, 8, 0)
    assert sid.in_hours(belgrade(2026, 8, 13, 10, 0))
    facts = sid.as_json(monday_evening)
    assert (facts["in_hours"], facts["next_answer"], facts["places"]) == (False, "2026-12-01T08:00:00+01:00", ["sid"])
