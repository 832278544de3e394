"""Initial copy PostgreSQL -> PostgreSQL from the replication slot's exported snapshot.

The slot's creation exports a snapshot; every copy connection imports it (`SET TRANSACTION
SNAPSHOT`), so the copy shows the database exactly at the slot's consistent point and streaming
from that point has no gap and no duplicate. Tables are copied in parallel, each as one COPY TO on
the source piped into one COPY FROM on the target: the text format passes through untouched (no
per-row Python work), which is safe across major versions, unlike the binary format.

Each table's target transaction truncates it first, so a copy interrupted by a crash is simply
redone; the pipeline records the snapshot as done only after every table committed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bridge import pgschema
from bridge.appliers.postgres import connect_target
from bridge.errors import ApplyError, Interrupted, SourceError
from bridge.log.events import TableName
from bridge.readers.postgres import SESSION_OPTIONS, connect_source

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(slots=True)
class TableProgress:
    """Progress of one table's copy, for a progress bar."""

    table: TableName
    estimate: int
    """Rows the planner expects (pg_class.reltuples); 0 when unknown."""
    rows: int = 0
    done: bool = False
    seconds: float = 0.0
    reported: float = 0.0
    """When `on_progress` last saw this table (time.monotonic)."""

    def advance(
        self, rows: int, *, stop: threading.Event | None, on_progress: ProgressCallback | None
    ) -> None:
        """Count `rows` more copied and report at most every 0.2 s; a stop request ends the copy
        (nothing of it is recorded, so the next run copies again)."""
        self.rows += rows
        if stop is not None and stop.is_set():
            raise Interrupted("stopped during the initial copy; the next run copies again")
        now = time.monotonic()
        if on_progress and now - self.reported > 0.2:
            self.reported = now
            on_progress(self)


ProgressCallback = Callable[[TableProgress], None]


def estimate_rows(conn: Conn, tables: Sequence[TableName]) -> dict[TableName, int]:
    out = {}
    for t in tables:
        row = conn.execute(
            "SELECT greatest(c.reltuples, 0)::int8 FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (t.schema, t.name),
        ).fetchone()
        out[t] = int(str(row[0])) if row else 0
    return out


def prepare_target(source: Conn, target: Conn, tables: Sequence[TableName]) -> list[TableName]:
    """Create the tables the target lacks, from the source's definitions; returns them."""
    created = []
    for t in tables:
        if pgschema.table_info(target, t) is not None:
            continue
        for stmt in pgschema.table_ddl(source, t):
            target.execute(stmt)
        created.append(t)
    target.commit()
    return created


def copy_tables(
    source_dsn: str,
    target_dsn: str,
    snapshot: str,
    tables: Sequence[TableName],
    *,
    workers: int = 4,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
) -> dict[TableName, int]:
    """Copy `tables` as of `snapshot` into the target; returns rows copied per table."""
    with connect_source(source_dsn) as src:
        estimates = estimate_rows(src, tables)
    progress = {t: TableProgress(t, estimates[t]) for t in tables}
    if on_progress:
        for p in progress.values():
            on_progress(p)
    # Largest first: the longest copy starts at once and the pool stays busy.
    order = sorted(tables, key=lambda t: -estimates[t])
    out: dict[TableName, int] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tables)))) as pool:
        futures = [
            pool.submit(
                _copy_one,
                source_dsn,
                target_dsn,
                snapshot,
                progress[t],
                on_progress=on_progress,
                stop=stop,
            )
            for t in order
        ]
        for f in futures:
            p = f.result()
            out[p.table] = p.rows
    return out


@contextlib.contextmanager
def lock_tables(source_dsn: str, snapshot: str, tables: Sequence[TableName]) -> Iterator[None]:
    """Hold ACCESS SHARE locks on `tables` in the snapshot while they are created on the target
    and copied (as pg_dump does).

    A COPY plans against the current catalog, not the snapshot's: a column dropped after the
    slot was created would break it. The locks make later DDL wait for the copy; DDL that
    slipped in before them is detected here (retryable: the pipeline starts again from a new
    slot and snapshot, which see the new definition).
    """
    with connect_source(source_dsn) as holder, connect_source(source_dsn) as now:
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        holder.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        try:
            if tables:
                holder.execute(
                    sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(
                        sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in tables)
                    )
                )
            changed = [
                t for t in tables if pgschema.table_info(holder, t) != pgschema.table_info(now, t)
            ]
        except psycopg.errors.UndefinedTable:
            changed = list(tables)
        if changed:
            raise SourceError(
                f"table {changed[0]} changed its definition while the copy was starting",
                table=str(changed[0]),
                retryable=True,  # a new slot and snapshot see the new definition
            )
        try:
            yield
        finally:
            holder.execute("ROLLBACK")


def _copy_one(
    source_dsn: str,
    target_dsn: str,
    snapshot: str,
    progress: TableProgress,
    *,
    on_progress: ProgressCallback | None,
    stop: threading.Event | None,
) -> TableProgress:
    table = progress.table
    started = time.monotonic()
    # Autocommit on the source: the snapshot's transaction is opened and ended explicitly.
    src = connect_source(source_dsn, options=SESSION_OPTIONS)
    try:
        tgt = connect_target(target_dsn)
    except BaseException:
        src.close()
        raise
    with src, tgt:
        src.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        src.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        info = pgschema.table_info(src, table)
        if info is None:
            raise SourceError(f"table {table} disappeared from the source during the copy")
        try:  # skip target triggers and FK checks during the copy, when allowed
            tgt.execute("SAVEPOINT bridge_role")
            tgt.execute("SET LOCAL session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            tgt.execute("ROLLBACK TO SAVEPOINT bridge_role")
        cols = sql.SQL(", ").join(map(sql.Identifier, info.columns))
        ident = sql.Identifier(table.schema, table.name)
        tgt.execute(sql.SQL("TRUNCATE {}").format(ident))
        try:
            with (
                src.cursor().copy(
                    sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT").format(cols, info.select_from)
                ) as out,
                tgt.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(ident, cols)) as into,
            ):
                for data in out:
                    into.write(data)
                    # Text COPY escapes newlines inside values, so each b"\n" ends one row.
                    progress.advance(bytes(data).count(b"\n"), stop=stop, on_progress=on_progress)
        except psycopg.Error as e:
            raise ApplyError(f"copying {table} failed: {e}", table=str(table)) from e
        tgt.commit()
        src.execute("ROLLBACK")
    progress.done = True
    progress.seconds = time.monotonic() - started
    if on_progress:
        on_progress(progress)
    return progress


def create_indexes(source: Conn, target: Conn, tables: Sequence[TableName]) -> None:
    """Secondary indexes of tables the copy created, built after their data is in."""
    for t in tables:
        for stmt in pgschema.index_ddl(source, t):
            target.execute(stmt)
    target.commit()
