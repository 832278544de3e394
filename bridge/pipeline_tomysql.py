"""The pipeline's MySQL/MariaDB target side: PostgreSQL reader -> MySQL/MariaDB applier.

Names: PostgreSQL schema `public` becomes the target DSN's database, any other schema a database
of the same name (`bridge.appliers.mysql.default_schema_map`); tables keep their names. Steps of a
run, as PG -> PG (`bridge.pipeline`):

1. Without a checkpoint: create the slot, which exports a snapshot; in that snapshot (tables
   locked ACCESS SHARE, as pg_dump does) create the missing target tables from the source
   catalog (neutral types through `bridge.translate.types.to_mysql`, primary key included) and
   copy every table row by row (`copy_to_mysql`): each column is selected as text and decoded with
   the reader's own text decoders, so the copy holds exactly the values streaming would send.
2. Stream from the slot: rows go to `MysqlApplier`, PostgreSQL DDL (captured by
   sql/postgres/ddl_capture.sql) is translated to MySQL (`bridge.translate.ddl`), and the slot is
   confirmed only after the target commit that carries the checkpoint.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from psycopg import sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from bridge import metadata, pgschema
from bridge.appliers.mysql import MysqlApplier, SchemaMap
from bridge.appliers.mytarget import quote_ident, table_ident
from bridge.errors import SourceError
from bridge.log.events import Column, Ddl, Event, Relation, TableName
from bridge.log.values import Value
from bridge.positions import Lsn
from bridge.readers.pgcatalog import Catalog
from bridge.readers.postgres import SESSION_OPTIONS, PostgresReader, connect_source
from bridge.snapshot import postgres as pgsnapshot
from bridge.snapshot.postgres import Conn, ProgressCallback, TableProgress
from bridge.translate.pgstatements import ddl_statements as pg_ddl_statements
from bridge.translate.types import TypePolicy, quote_mysql, to_mysql

if TYPE_CHECKING:
    from bridge.pipeline import Pipeline

FETCH_ROWS = 5_000
"""Rows per FETCH from the copy's server-side cursor."""


def run_to_mysql(p: Pipeline) -> None:
    metadata.upgrade(p.target.url)
    applier = MysqlApplier(p.target.url, p.options.name)
    policy = p.options.policy
    seen: dict[TableName, tuple[Column, ...]] = {}

    def configure(reader: PostgresReader) -> None:
        applier.table_ddl = lambda rel: relation_ddl(rel, applier.schema_map, policy)
        applier.translate_ddl = lambda ev: ddl_statements(
            ev, reader, seen, applier.schema_map, policy
        )

    p.from_postgres(
        applier,
        configure=configure,
        snapshot=lambda reader, tables: _snapshot(p, reader, applier, tables, policy),
        wrap=lambda events: _remember_relations(events, seen),
    )


def _remember_relations(
    events: Iterator[Event | None], seen: dict[TableName, tuple[Column, ...]]
) -> Iterator[Event | None]:
    """The events, noting each table's latest columns for the DDL translator."""
    for ev in events:
        if type(ev) is Relation:
            seen[ev.relation] = ev.columns
        yield ev


def _snapshot(
    p: Pipeline,
    reader: PostgresReader,
    applier: MysqlApplier,
    tables: Sequence[TableName] | None,
    policy: TypePolicy,
) -> Callable[[str, Lsn], None]:
    def copy(snapshot: str, consistent: Lsn) -> None:
        src = reader.sql
        chosen = list(tables) if tables is not None else pgschema.list_tables(src)
        with pgsnapshot.lock_tables(p.source.url, snapshot, chosen):
            created = prepare_target(src, applier, chosen, policy)
            p.notice(
                f"copying {len(chosen)} table(s) as of {consistent}"
                + (f" ({len(created)} created on the target)" if created else "")
            )
            counts = copy_to_mysql(
                p.source.url,
                applier,
                snapshot,
                chosen,
                on_progress=p.on_copy,
                stop=p.stop_event,
            )
            # The copied columns, for telling later source changes from target drift: read
            # while the tables are locked, so no ALTER since the snapshot is in them.
            infos = {t: pgschema.table_info(src, t) for t in chosen}
        p.status.copied_rows = sum(counts.values())
        applier.remember({t: dict.fromkeys(i.columns) for t, i in infos.items() if i})
        applier.mark_snapshot(reader.source, str(consistent), done=True)

    return copy


# -- tables --------------------------------------------------------------------------------------


def source_columns(conn: Conn, table: TableName) -> tuple[list[Column], list[int], tuple[str, ...]]:
    """The table's columns as neutral types (generated columns left out), their type OIDs, and
    its primary key."""
    info = pgschema.table_info(conn, table)
    if info is None:
        raise SourceError(f"table {table} does not exist on the source", table=str(table))
    catalog = Catalog(conn)
    rows = conn.execute(
        "SELECT a.attname, a.atttypid::int8, a.atttypmod, format_type(a.atttypid, a.atttypmod),"
        " NOT a.attnotnull FROM pg_attribute a WHERE a.attrelid = %s AND a.attnum > 0"
        " AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
        (info.oid,),
    ).fetchall()
    columns, oids = [], []
    for name, oid, typmod, typ, nullable in rows:
        o = int(str(oid))
        columns.append(
            Column(str(name), catalog.column_type(o, int(str(typmod)), str(typ)), bool(nullable))
        )
        oids.append(o)
    return columns, oids, info.key


def create_table_sql(
    name: TableName, columns: Sequence[Column], key: Sequence[str], policy: TypePolicy
) -> list[str]:
    """CREATE DATABASE/TABLE statements for a MySQL table of these neutral columns."""
    parts = [
        f"{quote_ident(c.name)} {to_mysql(c.type, policy=policy, column=c.name)}"
        + ("" if c.nullable and c.name not in key else " NOT NULL")
        for c in columns
    ]
    if key:
        parts.append(f"PRIMARY KEY ({', '.join(map(quote_ident, key))})")
    return [
        f"CREATE DATABASE IF NOT EXISTS {quote_ident(name.schema)}",
        f"CREATE TABLE IF NOT EXISTS {table_ident(name)} ({', '.join(parts)})",
    ]


def relation_ddl(rel: Relation, schema_map: SchemaMap, policy: TypePolicy) -> list[str]:
    """CREATE TABLE for a table that reached the stream without existing on the target."""
    return create_table_sql(schema_map(rel.relation), rel.columns, rel.key, policy)


def prepare_target(
    source: Conn, applier: MysqlApplier, tables: Sequence[TableName], policy: TypePolicy
) -> list[TableName]:
    """Create the tables the target lacks from the source catalog; returns them."""
    from bridge.appliers.mytarget import read_table  # noqa: PLC0415

    created = []
    for t in tables:
        name = applier.schema_map(t)
        if read_table(applier.conn, name) is not None:
            continue
        columns, _, key = source_columns(source, t)
        with applier.conn.cursor() as cur:
            for stmt in create_table_sql(name, columns, key, policy):
                cur.execute(stmt)
        created.append(t)
    applier.conn.commit()
    return created


# -- the copy ------------------------------------------------------------------------------------


class _RawText(Loader):
    """Keeps a value as the server's text output (bytes)."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def copy_to_mysql(
    source_dsn: str,
    applier: MysqlApplier,
    snapshot: str,
    tables: Sequence[TableName],
    *,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> dict[TableName, int]:
    """Copy `tables` as of `snapshot` into the applier's MySQL target, one table after another,
    each in its own committed target transaction; returns rows copied per table."""
    with connect_source(source_dsn) as src:
        estimates = pgsnapshot.estimate_rows(src, tables)
    out: dict[TableName, int] = {}
    for t in tables:
        progress = TableProgress(t, estimates[t])
        if on_progress:
            on_progress(progress)
        _copy_one(source_dsn, applier, snapshot, progress, on_progress=on_progress, stop=stop)
        out[t] = progress.rows
    return out


def _copy_one(
    source_dsn: str,
    applier: MysqlApplier,
    snapshot: str,
    progress: TableProgress,
    *,
    on_progress: ProgressCallback | None,
    stop: threading.Event | None,
) -> None:
    table = progress.table
    started = time.monotonic()
    with connect_source(source_dsn, options=SESSION_OPTIONS) as src:
        src.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        src.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        columns, oids, _ = source_columns(src, table)
        catalog = Catalog(src)
        for oid in oids:
            catalog.type_info(oid)  # registers enums, domains and arrays with the decoders
        types = catalog.types
        names = [c.name for c in columns]
        select = sql.SQL(", ").join(map(sql.Identifier, names))
        # Each value as the server's text output, undecoded by psycopg: the same text pgoutput
        # sends, so the reader's decoders give exactly the values streaming would.
        fetch = src.cursor()
        for oid in {0, *oids, *(catalog.type_info(o).base_oid for o in oids)}:
            fetch.adapters.register_loader(oid, _RawText)
        info = pgschema.table_info(src, table)
        source = info.select_from if info else sql.Identifier(table.schema, table.name)
        src.execute(
            sql.SQL("DECLARE bridge_copy NO SCROLL CURSOR FOR SELECT {} FROM {}").format(
                select, source
            )
        )

        def rows() -> Iterator[tuple[Value, ...]]:
            decode = types.decode
            spec = list(zip(oids, names, strict=True))
            while True:
                batch = fetch.execute("FETCH %d FROM bridge_copy" % FETCH_ROWS).fetchall()  # noqa: UP031
                if not batch:
                    return
                for r in batch:
                    yield tuple(
                        None if v is None else decode(o, v, column=n)  # type: ignore[arg-type]
                        for (o, n), v in zip(spec, r, strict=True)
                    )
                progress.advance(len(batch), stop=stop, on_progress=on_progress)

        target = applier.schema_map(table)
        with applier.conn.cursor() as cur:
            cur.execute(f"DELETE FROM {table_ident(target)}")  # noqa: S608 - a redone copy
        try:
            applier.copy_rows(table, names, rows())
        except BaseException:
            applier.rollback()
            raise
        applier.conn.commit()
        src.execute("ROLLBACK")
    progress.done = True
    progress.seconds = time.monotonic() - started
    if on_progress:
        on_progress(progress)


# -- DDL -----------------------------------------------------------------------------------------


def ddl_statements(
    ev: Ddl,
    reader: PostgresReader,
    seen: dict[TableName, tuple[Column, ...]],
    schema_map: SchemaMap,
    policy: TypePolicy,
) -> list[str]:
    """MySQL statements for a captured PostgreSQL DDL event."""
    default_schema = ev.schema or "public"

    def qualified(t: TableName) -> TableName:
        return t if t.schema else TableName(default_schema, t.name)

    def columns(t: TableName) -> Sequence[Column] | None:
        q = qualified(t)
        if q in seen:
            return seen[q]
        try:
            return source_columns(reader.sql, q)[0]
        except SourceError:
            return None

    def index_table(index: TableName) -> TableName | None:
        row = reader.sql.execute(
            "SELECT n.nspname, c.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid"
            " JOIN pg_namespace xn ON xn.oid = x.relnamespace"
            " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE xn.nspname = %s AND x.relname = %s",
            (qualified(index).schema, index.name),
        ).fetchone()
        return None if row is None else TableName(str(row[0]), str(row[1]))

    out: list[str] = []
    # Captured text may carry DML sent in the same string (its rows arrive as row events) and
    # several commands: each schema-changing statement is translated on its own.
    for text in pg_ddl_statements(ev.text):
        from bridge.translate.ddl import translate_ddl  # noqa: PLC0415 - sqlglot, when needed

        translation = translate_ddl(
            text,
            source="postgres",
            target="mysql",
            policy=policy,
            position=str(ev.position),
            columns=columns,
            index_table=index_table,
        )
        schemas = {qualified(t).schema for t in translation.tables} | {default_schema}
        for stmt in translation.statements:
            # Schema-qualified names: PostgreSQL schemas live in the databases schema_map names.
            for schema in schemas:
                mapped = schema_map(TableName(schema, "")).schema
                if mapped != schema:
                    stmt = stmt.replace(f"{quote_mysql(schema)}.", f"{quote_ident(mapped)}.")  # noqa: PLW2901
            out.append(stmt)
    return out
