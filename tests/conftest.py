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


if TYPE_CHECKING:
    from tests.fakes.twilio_api import FakeTwilioApi


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilioApi]:
    """A fake Twilio Messages API on a free local port: `.base_url`, `.account_sid`, `.auth_token`, `.calls`,
    `.sent`, `.fail_next(status, n)`."""
    from tests.fakes.twilio_api import FakeTwilioApi

    with FakeTwilioApi() as api:
        yield api


if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Browser

    from tests.live_gateway import LiveGateway

CHROMIUM = os.environ.get("PUTOKAZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    yield from _postgres_database()


@pytest.fixture(scope="session")
def gateway_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the curated directory loaded and the gateway's tables, made once:
    each live gateway starts on a copy (loading the directory takes seconds)."""
    from bot.gateway.db import migrate as migrate_gateway

    path = tmp_path_factory.mktemp("gateway-template") / "putokaz.db"
    engine = open_directory(f"sqlite:///{path}")
    migrate_gateway(engine)
    engine.dispose()
    return path


@pytest.fixture
def live_gateway(tmp_path_factory: pytest.TempPathFactory,
                 gateway_sqlite_template: Path) -> Iterator[Callable[..., LiveGateway]]:
    """Start the real gateway app (create_app) on a free port in a background thread:
    `live_gateway()` on a fresh SQLite file, `live_gateway(url)` on that database; stopped
    afterwards. No Rasa: tests open handoffs directly (`.conversation`, `.open_handoff`)."""
    import shutil

    from tests.live_gateway import LiveGateway

    started: list[LiveGateway] = []

    def start(database_url: str | None = None, **env: str) -> LiveGateway:
        data = tmp_path_factory.mktemp("gateway")
        if database_url is None:
            shutil.copyfile(gateway_sqlite_template, data / "putokaz.db")
            database_url = f"sqlite:///{data / 'putokaz.db'}"
        gateway = LiveGateway(database_url, data, env).start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def console_gateway(live_gateway: Callable[..., LiveGateway]) -> LiveGateway:
    """The gateway on a fresh SQLite database, for console tests."""
    return live_gateway()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by playwright-python (no browser download).

    Per module, not per session: playwright's sync API keeps an event loop running in the main thread
    while it is open, and `asyncio.run` or an async test in a later module would then refuse to start."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: `apt-get install -y chromium` (scripts/services does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


if TYPE_CHECKING:
    from tests.live_gateway import ConsoleClient


@pytest.fixture
def console_staff(console_gateway: LiveGateway) -> Iterator[Callable[..., ConsoleClient]]:
    """`console_staff("amina", "counsellor", languages=("ar",), team="belgrade")`: a new console
    account on `console_gateway`, logged in over HTTP (cookie jar + CSRF token)."""
    from tests.live_gateway import PASSWORD, ConsoleClient

    made: list[ConsoleClient] = []

    def make(username: str, role: str = "counsellor", languages: tuple[str, ...] = (),
             team: str | None = None) -> ConsoleClient:
        console_gateway.add_user(username, role, PASSWORD, languages, team)
        client = ConsoleClient(console_gateway, username)
        assert client.login().status_code == 200, f"{username} could not log in"
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
