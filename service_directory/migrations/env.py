"""Alembic environment: runs on the connection handed over by service_directory.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from service_directory.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:  # `alembic` command line: use DATABASE_URL
    from service_directory.db import default_url

    with create_engine(default_url()).begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
