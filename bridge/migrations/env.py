"""Alembic environment for bridge's metadata schema (run by `bridge.metadata`).

The version table lives in schema `bridge` beside our tables, so a user's own alembic history in
the same database is never touched. `bridge.metadata` passes an open SQLAlchemy connection in
`config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise TypeError("run migrations through bridge.metadata.upgrade (dbbridge init)")

context.configure(
    connection=connection,
    version_table="alembic_version",
    version_table_schema="bridge",
    transactional_ddl=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # Two pipelines starting together on one target must not both migrate.
        connection.execute(text("SELECT pg_advisory_xact_lock(7275616)"))
    context.run_migrations()
