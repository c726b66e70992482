"""Shared fixtures: real SQLite and PostgreSQL databases, the curated directory loaded once per backend."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from service_directory import make_engine, migrate, open_directory

if TYPE_CHECKING:
    from bot.runner import Stack
    from tests.fakes.telegram_api import FakeTelegramAPI

POSTGRES_ADMIN_URL = os.environ.get("PUTOKAZ_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("PUTOKAZ_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"putokaz_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database on each backend (one per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'directory.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def empty_directory(db_url: str) -> Iterator[Engine]:
    """A migrated, empty directory database."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def directory(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The bundled curated directory, loaded once per backend for the whole run (read-only in tests)."""
    if request.param == "sqlite":
        engine = open_directory(f"sqlite:///{tmp_path_factory.mktemp('curated') / 'directory.db'}")
        yield engine
        engine.dispose()
    else:
        gen = _postgres_database()
        url = next(gen)
        engine = open_directory(url)
        yield engine
        engine.dispose()
        next(gen, None)


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small model per test run, trained from the project's own data."""
    from bot.runner import train

    model = train(out=tmp_path_factory.mktemp("models"), quiet=True)
    assert model is not None, "rasa train failed (its output is above)"
    return model


@pytest.fixture(scope="session")
def rasa_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A real Rasa server and action server, shared by every conversation test."""
    from bot.runner import Stack, free_port

    data = tmp_path_factory.mktemp("stack")
    stack = Stack(model=trained_model, rasa_port=free_port(), actions_port=free_port(),
                  env={"DATABASE_URL": f"sqlite:///{data / 'directory.db'}"}, log_dir=data / "logs")
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    """A fake Telegram Bot API on a free local port: `.base_url`, `.token`, `.calls`,
    `.fail_next(status, n)`, `.queue_updates([...])`."""
    from tests.fakes.telegram_api import FakeTelegramAPI

    api = FakeTelegramAPI().start()
    yield api
    api.stop()


if TYPE_CHECKING:
    from tests.fakes.whatsapp_api import FakeWhatsAppApi


@pytest.fixture
def whatsapp_api() -> Iterator[FakeWhatsAppApi]:
    """A fake WhatsApp Cloud API (Graph API /messages) on a free local port: `.base_url`,
    `.token`, `.phone_number_id`, `.calls`, `.sent`, `.fail_next(status, n)`."""
    from tests.fakes.whatsapp_api import FakeWhatsAppApi

    with FakeWhatsAppApi() as api:
        yield api
