"""Alembic environment of the gateway's tables (its own version table beside the directory's)."""

from __future__ import annotations

from alembic import context

from bot.gateway.tables import metadata

VERSION_TABLE = "gw_alembic_version"
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  render_as_batch=True, include_name=lambda name, type_, _: type_ != "table" or name.startswith("gw_"))
with context.begin_transaction():
    context.run_migrations()
