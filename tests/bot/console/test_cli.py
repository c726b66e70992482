"""`putokaz console add-user`: the password from standard input, refused when short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select

from bot.console.accounts import check_password
from bot.gateway import tables as t

PUTOKAZ = Path(sys.executable).parent / "putokaz"


TEAMS = """teams:
  - id: belgrade
    name: Belgrade team
    places: [belgrade, obrenovac]
    languages: [en, ar, fa, sr]
  - id: online
    name: National online team
    places: all
    languages: [en, ar, fa, ps, sr]
    fallback: true
"""


def add_user(tmp_path: Path, password: str, *args: str, teams: str | None = TEAMS) -> subprocess.CompletedProcess[str]:
    command = [str(PUTOKAZ)] if PUTOKAZ.exists() else [sys.executable, "-m", "bot.cli"]
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'putokaz.db'}",
        "PUTOKAZ_DATA_DIR": str(tmp_path),
    }
    if teams is not None:
        (tmp_path / "teams.yml").write_text(teams, encoding="utf-8")
        env["PUTOKAZ_TEAMS_FILE"] = str(tmp_path / "teams.yml")
    return subprocess.run(
        [*command, "console", "add-user", *args],
        input=password,
        text=True,
        capture_output=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )


def test_add_user_reads_the_password_from_standard_input(tmp_path: Path) -> None:
    done = add_user(
        tmp_path,
        "a long enough password\n",
        "amina",
        "--role",
        "supervisor",
        "--languages",
        "ar,fa",
        "--team",
        "belgrade",
    )
    assert done.returncode == 0, done.stderr
    assert "amina" in done.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'putokaz.db'}")
    with engine.connect() as conn:
        user = conn.execute(select(t.users)).one()
        audit = conn.execute(select(t.audit)).one()
    engine.dispose()
    assert (user.username, user.role, user.languages, user.team, user.active) == (
        "amina",
        "supervisor",
        "ar,fa",
        "belgrade",
        True,
    )
    assert check_password("a long enough password", user.password_hash)
    assert not check_password("a long enough password\n", user.password_hash)
    assert (audit.action, audit.target) == ("user_created", "amina")

    again = add_user(tmp_path, "another long password\n", "amina", "--role", "counsellor")
    assert again.returncode != 0 and "already exists" in again.stderr


def test_a_short_password_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    done = add_user(tmp_path, "short\n", "bojan", "--role", "counsellor")
    assert done.returncode != 0
    assert "at least 12 characters" in done.stderr
    bad_language = add_user(
        tmp_path, "a long enough password\n", "bojan", "--role", "counsellor", "--languages", "de"
    )
    assert bad_language.returncode != 0 and "unknown language 'de'" in bad_language.stderr


def test_the_team_must_be_one_of_the_configured_teams(tmp_path: Path) -> None:
    unknown = add_user(tmp_path, "a long enough password\n", "bojan", "--role", "counsellor", "--team", "sid")
    assert unknown.returncode == 2
    assert "no team 'sid'" in unknown.stderr and "belgrade, online" in unknown.stderr
    # the SPEC form (no --team) works with the bundled default teams too
    plain = add_user(tmp_path, "a long enough password\n", "bojan", "--role", "counsellor", teams=None)
    assert plain.returncode == 0, plain.stderr


def test_a_broken_teams_file_is_reported_with_its_line_and_field(tmp_path: Path) -> None:
    broken = TEAMS.replace("places: [belgrade, obrenovac]", "places: [belgrade, atlantis]")
    done = add_user(tmp_path, "a long enough password\n", "bojan", "--role", "counsellor", teams=broken)
    assert done.returncode == 2
    assert f"{tmp_path / 'teams.yml'}:4: belgrade: places: unknown code 'atlantis'" in done.stderr
    assert "Traceback" not in done.stderr
