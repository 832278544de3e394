"""Alembic environment for bridge's metadata schema (run by `bridge.metadata`).

The version table lives in schema `bridge` beside our tables, so a user's own alembic history in
the same database is never touched. `bridge.metadata` passes an open SQLAlchemy connection in
`config.attributes["connection"]`; offline, with `config.attributes["dialect"]`, the revisions
print the SQL a fresh target gets without alembic (`bridge.metadata.head_sql`, bridge/sql/).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection


def run_offline() -> None:
    context.configure(
        dialect_name=context.config.attributes["dialect"],
        version_table="alembic_version",
        version_table_schema="bridge",
        transactional_ddl=False,  # bridge.metadata runs the script in its own transaction
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise TypeError("run migrations through bridge.metadata.upgrade (dbbridge init)")
    postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        version_table="alembic_version",
        # PostgreSQL: schema `bridge`; MySQL/MariaDB: database `bridge` (bridge.metadata makes it).
        version_table_schema="bridge",
        # MySQL commits implicitly around DDL: there is no transaction to wrap the revisions in.
        transactional_ddl=postgres,
    )
    with context.begin_transaction():
        # Two pipelines starting together on one target must not both migrate.
        if postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(7275616)"))
        else:
            connection.execute(text("SELECT GET_LOCK('dbbridge_migrations', 60)"))
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
