"""The pipeline's MySQL/MariaDB source side: binlog reader -> translator -> PostgreSQL applier.

Names: a MySQL database becomes the PostgreSQL schema of the same name (pgloader's convention),
tables keep their names. Steps of a run:

1. Check the source's binlog settings (the reader refuses minimal-image binlogs; STATEMENT and
   MIXED ones go through the statement translator, bridge/pipeline_statements.py).
2. Without a checkpoint: create the target tables from `SHOW CREATE TABLE` through the DDL
   translator, copy every table at its own binlog position (`bridge.snapshot.mysql`), and record
   those positions with the checkpoint.
3. Stream from the checkpoint (or the earliest table position): row events of transactions a
   table's copy already holds are skipped, DDL is translated to PostgreSQL (`Ddl.translated`)
   and applied in order with the rows, everything else goes to the same applier as PG -> PG.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from psycopg import sql

from bridge import heartbeat, metadata, mysqlconn
from bridge.appliers.postgres import PostgresApplier
from bridge.errors import TranslateError
from bridge.log.events import (
    Begin,
    Ddl,
    Delete,
    Event,
    Insert,
    Relation,
    Statement,
    TableName,
    Update,
)
from bridge.pipeline_statements import stream_until_unsafe, with_translations
from bridge.positions import BinlogPosition, Position
from bridge.readers.mysql import MysqlReader
from bridge.readers.mysqlschema import table_matcher
from bridge.snapshot import mysql as mysnapshot
from bridge.snapshot.mysql import SnapshotPositions
from bridge.translate.statement_types import StatementError
from bridge.translate.types import TypePolicy, pg_not_null, to_postgres

if TYPE_CHECKING:
    from bridge.pipeline import Pipeline

_ROWS = (Insert, Update, Delete)


def server_id(pipeline: str) -> int:
    """The replica server_id this pipeline uses on the source: stable per pipeline name (a
    second connection with the same id would make the server drop the first), away from the
    small ids people give their servers."""
    return 0x4000_0000 + zlib.crc32(pipeline.encode()) % 0x3FFF_FFFF


def default_patterns(dsn: str, tables: Sequence[str]) -> tuple[str, ...] | None:
    """--tables, or else every table of the DSN's database (None: every user database)."""
    if tables:
        return tuple(tables)
    database = mysqlconn.connect_args(dsn).get("database")
    return (f"{database}.*",) if database else None


def run_from_mysql(p: Pipeline) -> None:
    opts = p.options
    metadata.upgrade(p.target.url)
    applier = PostgresApplier(p.target.url, opts.name, policy=opts.policy)
    patterns = default_patterns(p.source.url, opts.tables)
    reader = MysqlReader(p.source.url, server_id=server_id(opts.name), tables=patterns)
    policy = opts.policy
    try:
        reader.check_source()
        p.watch.prepare_mysql(reader.sql)  # before the snapshot: its DDL stays out of the stream
        applier.table_ddl = lambda rel: relation_ddl(rel, policy)
        applier.retype_on_relation = False  # retypes arrive as translated DDL, in order
        applier.column_type = lambda c: to_postgres(c.type, policy=policy)
        cp = applier.checkpoint
        positions: SnapshotPositions | None = None
        if cp is not None and cp.phase == "streaming":
            applier.check_source(reader.source)
            start = BinlogPosition.parse(cp.position)
            if cp.snapshot_position and cp.snapshot_position.startswith("["):
                positions = SnapshotPositions.loads(cp.snapshot_position)
            p.notice(f"resuming from {start}")
        elif opts.snapshot:
            p.status.phase = "snapshot"
            positions = _snapshot(p, applier)
            start = positions.start if positions.tables else reader.head()
            applier.mark_snapshot(
                reader.source, str(start), done=True, snapshot_position=positions.dumps()
            )
            p.notice(f"streaming from {start}")
        else:
            start = reader.head()
            applier.mark_snapshot(reader.source, str(start), done=True)
            p.notice(f"streaming from {start}")
        p.status.phase = "streaming"

        def stream_from(position: BinlogPosition) -> Iterator[Event | None]:
            reader.open(position)
            # None as soon as the reader has caught up: the batch commits when a burst ends.
            events = reader.events(idle_timeout=0.02, caught_up=True)
            # Statements of a STATEMENT/MIXED binlog get their PostgreSQL text.
            return with_translations(
                _translated(p.skipping_ddl(events), positions, patterns or (), policy),
                reader,
                policy,
            )

        events = stream_from(start)
        last = [str(start)]

        def confirm(pos: Position) -> None:
            last[0] = str(pos)  # the binlog needs no acknowledgement: the checkpoint is all

        def idle() -> None:  # nothing arrived between transactions: commit what the batch holds
            if applier.uncommitted:
                p._commit(applier, confirm)

        # An unsafe statement commits the good transactions before it, then stops the pipeline.
        stream_until_unsafe(
            p,
            applier,
            events,
            start=start,
            reopen=stream_from,
            confirm=confirm,
            received=lambda: last[0],
            idle=idle,
        )
    finally:
        reader.close()
        applier.rollback()
        applier.close()


def _snapshot(p: Pipeline, applier: PostgresApplier) -> SnapshotPositions:
    opts = p.options
    conn = mysqlconn.connect(p.source.url, raw=True)
    try:
        cur = conn.cursor()
        names = mysnapshot.list_tables(cur, default_patterns(p.source.url, opts.tables))
        tables = [mysnapshot.table_info(cur, t) for t in names]
        created = prepare_target(cur, applier, names, opts.policy)
    finally:
        conn.close()
    p.notice(
        f"copying {len(tables)} table(s)"
        + (f" ({len(created)} created on the target)" if created else "")
    )
    positions, p.status.copied_rows = mysnapshot.copy_tables(
        p.source.url,
        p.target.url,
        tables,
        workers=opts.copy_workers,
        on_progress=p.on_copy,
        stop=p.stop_event,
        policy=opts.policy,
    )
    # What was copied, for telling later source changes from target drift.
    applier.remember({t.name: dict.fromkeys(c.name for c in t.columns) for t in tables})
    return positions


def prepare_target(
    cur: Any, applier: PostgresApplier, tables: Sequence[TableName], policy: TypePolicy
) -> list[TableName]:
    """Create the tables the target lacks from the source's `SHOW CREATE TABLE`, translated."""
    from bridge import pgschema  # noqa: PLC0415

    created = []
    conn = applier.conn
    for t in tables:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(t.schema)))
        if pgschema.table_info(conn, t) is not None:
            continue
        cur.execute(f"SHOW CREATE TABLE {mysnapshot.qualified(t)}")
        text = str(cur.fetchone()[1])
        from bridge.translate.ddl import translate_ddl  # noqa: PLC0415 - sqlglot, when needed

        translation = translate_ddl(text, source="mysql", target="postgres", policy=policy)
        conn.execute(
            "SELECT set_config('search_path', %s, true)",
            (sql.Identifier(t.schema).as_string(conn),),
        )
        for stmt in translation.statements:
            conn.execute(stmt.encode())
        conn.execute("SET LOCAL search_path TO DEFAULT")
        created.append(t)
    conn.commit()
    return created


def relation_ddl(rel: Relation, policy: TypePolicy) -> list[sql.Composed]:
    """CREATE TABLE for a table that reached the stream without a definition we translated."""
    cols = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(to_postgres(c.type, policy=policy)),
            sql.SQL(" NOT NULL" if pg_not_null(c, policy=policy) else ""),
        )
        for c in rel.columns
    ]
    if rel.key:
        cols.append(
            sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, rel.key)))
        )
    return [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(rel.relation.schema)),
        sql.SQL("CREATE TABLE {} ({})").format(
            sql.Identifier(rel.relation.schema, rel.relation.name), sql.SQL(", ").join(cols)
        ),
    ]


def _translated(
    events: Iterator[Event | None],
    positions: SnapshotPositions | None,
    patterns: Sequence[str],
    policy: TypePolicy,
) -> Iterator[Event | None]:
    """The reader's events, with copied transactions skipped and DDL translated to PostgreSQL."""
    end = positions.end if positions is not None and positions.tables else None
    begin: BinlogPosition | None = None
    copied: frozenset[TableName] = frozenset()
    """Tables whose copy already holds the open transaction (decided once per transaction)."""
    for ev in events:
        kind = type(ev)
        if kind is Begin:
            begin = ev.position  # type: ignore[union-attr,assignment]
            if end is not None and begin is not None and begin < end:
                copied = frozenset(t for t in positions.tables if positions.covers(t, begin))  # type: ignore[union-attr]
            else:
                copied, end = frozenset(), None  # past every table's copy: nothing to skip
        elif copied and (
            (kind in _ROWS and ev.relation in copied)  # type: ignore[union-attr]
            or (kind is Statement and set(ev.tables) <= copied)  # type: ignore[union-attr]
        ):
            continue
        if kind is Ddl:
            out = _translate_ddl(ev, positions, begin, patterns, policy)  # type: ignore[arg-type]
            if out is not None:
                yield out
            continue
        yield ev


def _translate_ddl(
    ev: Ddl,
    positions: SnapshotPositions | None,
    begin: BinlogPosition | None,
    patterns: Sequence[str],
    policy: TypePolicy,
) -> Ddl | None:
    from bridge.translate.ddl import translate_ddl  # noqa: PLC0415 - sqlglot, when needed

    try:
        tr = translate_ddl(
            ev.text, source="mysql", target="postgres", policy=policy, position=str(ev.position)
        )
    except StatementError:
        raise
    except TranslateError as e:
        # Stop before it, with every transaction before it applied (pipeline_statements).
        stop = StatementError(e.message, hint=e.hint, position=e.position, table=e.table)
        stop.transaction_start = str(begin) if begin is not None else str(ev.position)
        raise stop from e
    if tr.kind == "ignored" or not tr.statements:
        return None
    tables = [t if t.schema else TableName(ev.schema or "", t.name) for t in tr.tables]
    if patterns and tables and not any(table_matcher(patterns)(t.schema, t.name) for t in tables):
        return None
    if tables and all(t.schema == heartbeat.TABLE.schema for t in tables):
        return None  # bridge's own database on the source (heartbeats) is not replicated
    if (
        positions is not None
        and begin is not None
        and tables
        and all(positions.covers(t, begin) for t in tables)
    ):
        return None  # the copy of these tables already has this change
    schema = ev.schema or (tables[0].schema if tables else None)
    prefix = (
        [f"CREATE SCHEMA IF NOT EXISTS {sql.Identifier(schema).as_string(None)}"]
        if schema and tr.kind == "create_table"
        else []
    )
    text = ";\n".join([*prefix, *tr.statements])
    return dataclasses.replace(ev, schema=schema, translated={**ev.translated, "postgres": text})
