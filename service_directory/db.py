"""Opening the directory database: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

MIGRATIONS = Path(__file__).parent / "migrations"


def default_url() -> str:
    """DATABASE_URL, else a SQLite file under PUTOKAZ_DATA_DIR (default ./var)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    data_dir = Path(os.environ.get("PUTOKAZ_DATA_DIR", "var"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(data_dir / 'putokaz.db').resolve()}"


def normalise_url(url: str) -> str:
    # Heroku-style postgres:// URLs are common in deployment settings; SQLAlchemy 1.4 refuses them.
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://"):]
    return url


def make_engine(url: str | None = None) -> Engine:
    url = url or default_url()
    if url.startswith("sqlite"):
        # A file database keeps a pool of open connections (SQLAlchemy 2's default; 1.4 opens a new
        # one for every use, which re-reads the whole schema and repeats the PRAGMAs below: about
        # 0.7 ms of CPU per statement, several per gateway message). In-memory stays as it was.
        memory = make_url(url).database in (None, "", ":memory:") or "mode=memory" in url
        pool = {} if memory else {"poolclass": QueuePool}
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


def has_schema(engine: Engine) -> bool:
    return "service" in inspect(engine).get_table_names()


def open_session(engine: Engine) -> Session:
    return Session(bind=engine, future=True, expire_on_commit=False)
