"""Fixtures shared by the gateway and handoff tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bot.gateway.db import migrate
from service_directory import make_engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A gateway database, migrated to the newest schema."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
