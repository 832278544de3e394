"""The publication a pipeline reads: created for the chosen tables or all of them, with
publish_via_partition_root, and carrying bridge's DDL log when the DDL capture is installed."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from bridge.errors import ConfigError
from bridge.log.events import TableName

DDL_LOG = TableName("bridge", "ddl_log")
"""The table sql/postgres/ddl_capture.sql records DDL in (published with the rows)."""


def ensure_publication(
    conn: psycopg.Connection[tuple[object, ...]], name: str, tables: Sequence[TableName] | None
) -> None:
    """Create the publication if it is missing: for `tables`, or for all tables.

    When DDL capture is installed (bridge.ddl_log exists), the publication must carry that table
    too: it is added to a table list, and to an existing publication that lacks it.
    """
    # From the catalog, not to_regclass, which needs USAGE on the schema.
    capture = (
        conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (DDL_LOG.schema, DDL_LOG.name),
        ).fetchone()
        is not None
    )
    exists = conn.execute(
        "SELECT pubviaroot FROM pg_publication WHERE pubname = %s", (name,)
    ).fetchone()
    # Changes to a partition are published under its partitioned table's name, the table the
    # snapshot copies and the target has (else they arrive as tables of their own).
    via_root = sql.SQL(" WITH (publish_via_partition_root = true)")
    if not exists:
        if tables:
            listed = list(dict.fromkeys([*tables, DDL_LOG] if capture else tables))
            targets = sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in listed)
            conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE {}{}").format(
                    sql.Identifier(name), targets, via_root
                )
            )
        else:
            conn.execute(
                sql.SQL("CREATE PUBLICATION {} FOR ALL TABLES{}").format(
                    sql.Identifier(name), via_root
                )
            )
        return
    if not exists[0]:
        _publish_via_root(conn, name)
    if not capture:
        return
    published = conn.execute(
        "SELECT 1 FROM pg_publication_tables WHERE pubname = %s"
        " AND schemaname = %s AND tablename = %s",
        (name, DDL_LOG.schema, DDL_LOG.name),
    ).fetchone()
    if published:
        return
    try:
        conn.execute(
            sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(
                sql.Identifier(name), sql.Identifier(DDL_LOG.schema, DDL_LOG.name)
            )
        )
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(
            f"publication {name!r} lacks {DDL_LOG}, so captured DDL would not replicate, and"
            " bridge may not add it",
            hint=f"run ALTER PUBLICATION {name} ADD TABLE {DDL_LOG} as the publication's owner",
            sqlstate=e.sqlstate,
        ) from e


def _publish_via_root(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """An existing publication without publish_via_partition_root: set it when a partitioned
    table is published (bridge's own older publications), or say how."""
    partitioned = conn.execute(
        "SELECT 1 FROM pg_publication_tables p JOIN pg_namespace n ON n.nspname = p.schemaname"
        " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename"
        " WHERE p.pubname = %s AND c.relispartition LIMIT 1",
        (name,),
    ).fetchone()
    if partitioned is None:
        return
    try:
        conn.execute(
            sql.SQL("ALTER PUBLICATION {} SET (publish_via_partition_root = true)").format(
                sql.Identifier(name)
            )
        )
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(
            f"publication {name!r} publishes partitions under their own names, so their changes"
            " would not reach the partitioned tables bridge copies",
            hint=f"run ALTER PUBLICATION {name} SET (publish_via_partition_root = true) as the"
            " publication's owner",
            sqlstate=e.sqlstate,
        ) from e
