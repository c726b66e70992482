"""`putokaz console add-user`: the password from standard input, refused when short."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select

from bot.console.accounts import check_password
from bot.gateway import tables as t

PUTOKAZ = Path(sys.executable).parent / "putokaz"


def add_user(tmp_path: Path, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(PUTOKAZ)] if PUTOKAZ.exists() else [sys.executable, "-m", "bot.cli"]
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'putokaz.db'}",
        "PUTOKAZ_DATA_DIR": str(tmp_path),
    }
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
    assert "at least 10 characters" in done.stderr
    bad_language = add_user(
        tmp_path, "a long enough password\n", "bojan", "--role", "counsellor", "--languages", "de"
    )
    assert bad_language.returncode != 0 and "unknown language 'de'" in bad_language.stderr
