"""`dbbridge verify --repair`: copy the rows verify found different from the source again.

For each group of differing keys (at most one chunk's worth), one target transaction deletes the
target's rows with those keys and inserts the source's current version of them; a key the source
no longer has is only deleted. Values go through the pipelines' own conversions, so a repaired row
is what the initial copy would have written:

- PostgreSQL -> PostgreSQL: each value as the server's text, into COPY (the snapshot's way);
- MySQL -> PostgreSQL: the MySQL snapshot's converters (`bridge.snapshot.mysql`), then COPY with
  the applier's dumpers (`bridge.appliers.pgadapt`);
- PostgreSQL -> MySQL: the reader's text decoders (`bridge.readers.pgtypes`), then the MySQL
  applier's literals (`bridge.appliers.myadapt`), in a session set up as the applier's.

**Racy while a pipeline runs.** A row that changes on the source after repair read it, and whose
change the pipeline applies before repair writes, is overwritten with the older version; it
stays wrong until the source changes it again. Repair when the source is quiet (or the changing
rows are not the repaired ones), and verify again afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import psycopg
import pymysql
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader

from bridge import pgschema
from bridge.appliers import myadapt, pgadapt
from bridge.appliers.mytarget import connect_mysql, mysql_error, prepare_session, read_table
from bridge.errors import ApplyError, SourceError
from bridge.readers.pgcatalog import Catalog
from bridge.snapshot import mysql as mysnapshot
from bridge.translate.types import quote_mysql
from bridge.verify_norm import Key, pg_ident
from bridge.verify_sides import LOOKUP_BATCH, MySide, PgSide, Side, TablePlan

Row = tuple[Any, ...]


def repair(plan: TablePlan, keys: Sequence[Key], *, source: Side, target: Side) -> int:
    """Replace the target's rows with `keys` by the source's, in one target transaction; returns
    the rows written."""
    rows: list[Row] = []
    for start in range(0, len(keys), LOOKUP_BATCH):
        rows.extend(_read(plan, keys[start : start + LOOKUP_BATCH], source, target.engine))
    if isinstance(target, PgSide):
        _write_postgres(plan, keys, rows, target)
    elif isinstance(target, MySide):
        _write_mysql(plan, keys, rows, target)
    return len(rows)


class _RawText(Loader):
    """A value as the server's output text (bytes), which the reader's decoders take."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def _read(plan: TablePlan, keys: Sequence[Key], source: Side, engine: str) -> list[Row]:
    where, params = source.keys_where(plan, keys)
    table = source.table(plan)
    names = [c.name for c in plan.columns]
    if isinstance(source, MySide):
        with source.errors(), source.conn.cursor() as cur:
            info = mysnapshot.table_info(cur, plan.source)
            by_name = {c.name: c for c in info.columns}
            cols = [by_name[n] for n in names]
            select = ", ".join(mysnapshot.select_expr(c).replace("%", "%%") for c in cols)
            cur.execute(f"SELECT {select} FROM {table}{where}", tuple(params))  # noqa: S608 - quoted
            raw = cur.fetchall()
        convs = [mysnapshot.converter(c) for c in cols]
        return list(mysnapshot.convert_rows(raw, convs))
    assert isinstance(source, PgSide)  # noqa: S101 - the two engines
    return _read_postgres(plan, source, f"{table}{where}", params, engine)


def _read_postgres(
    plan: TablePlan, source: PgSide, rest: str, params: list[object], engine: str
) -> list[Row]:
    """Rows `SELECT … FROM {rest}`: text for a PostgreSQL target, the log's values otherwise."""
    names = [c.name for c in plan.columns]
    with source.errors():
        info = pgschema.table_info(source.conn, plan.source)
        if info is None:
            raise SourceError(f"table {plan.source} disappeared from the source")
        found = source.conn.execute(
            "SELECT attname, atttypid::int8 FROM pg_attribute WHERE attrelid = %s"
            " AND attnum > 0 AND NOT attisdropped",
            (info.oid,),
        ).fetchall()
        oids = {str(name): int(str(oid)) for name, oid in found}
        spec = [(oids[n], n) for n in names]
        catalog = Catalog(source.conn)
        # Each value as its type's output text (what pgoutput and COPY send; `::text` is not
        # always that: a boolean casts to 'true' but prints as 't').
        cur = source.conn.cursor()
        for oid, _ in spec:
            info_t = catalog.type_info(oid)  # also registers enums, domains, arrays to decode
            for o in (oid, info_t.base_oid):
                cur.adapters.register_loader(o, _RawText)
        select = ", ".join(pg_ident(n) for n in names)
        rows = cur.execute(sql.SQL(f"SELECT {select} FROM {rest}"), params).fetchall()  # noqa: S608 - quoted
    if engine == "postgres":  # COPY reads the text back as the same values
        return [tuple(None if v is None else cast("bytes", v).decode() for v in r) for r in rows]
    decode = catalog.types.decode
    return [
        tuple(
            None if v is None else decode(oid, cast("bytes", v), column=name)
            for (oid, name), v in zip(spec, r, strict=True)
        )
        for r in rows
    ]


def _write_postgres(plan: TablePlan, keys: Sequence[Key], rows: list[Row], target: PgSide) -> None:
    conn = target.conn
    pgadapt.register(conn.adapters)
    table = target.table(plan)
    cols = ", ".join(pg_ident(c.name) for c in plan.columns)
    with target.errors(), conn.transaction():
        try:  # no target triggers or FK checks, as the applier (when allowed)
            with conn.transaction():
                conn.execute("SET LOCAL session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            pass
        for start in range(0, len(keys), LOOKUP_BATCH):
            where, params = target.keys_where(plan, keys[start : start + LOOKUP_BATCH])
            conn.execute(sql.SQL(f"DELETE FROM {table}{where}"), params)  # noqa: S608 - quoted
        copy_sql = f"COPY {table} ({cols}) FROM STDIN".replace("%%", "%")
        with conn.cursor().copy(sql.SQL(copy_sql)) as copy:
            for row in rows:
                copy.write_row(row)


def _write_mysql(plan: TablePlan, keys: Sequence[Key], rows: list[Row], target: MySide) -> None:
    conn = connect_mysql(target.dsn)
    try:
        prepare_session(conn)
        shape = read_table(conn, plan.target)
        if shape is None:
            raise ApplyError(f"table {plan.target} disappeared from the target")
        names = [c.name for c in plan.columns]
        adapt = myadapt.row_adapter(str(plan.target), [shape.columns[n] for n in names])
        ident = f"{quote_mysql(plan.target.schema)}.{quote_mysql(plan.target.name)}"
        cols = ", ".join(quote_mysql(n) for n in names)
        with conn.cursor() as cur:
            for start in range(0, len(keys), LOOKUP_BATCH):
                where, params = target.keys_where(plan, keys[start : start + LOOKUP_BATCH])
                cur.execute(f"DELETE FROM {target.table(plan)}{where}", tuple(params))  # noqa: S608
            for start in range(0, len(rows), LOOKUP_BATCH):
                values = [adapt(list(r)) for r in rows[start : start + LOOKUP_BATCH]]
                tuples = ", ".join("(" + ", ".join(map(str, v)) + ")" for v in values)
                # Literals from myadapt, identifiers quoted: nothing for PyMySQL to format.
                cur.execute(f"INSERT INTO {ident} ({cols}) VALUES {tuples}")  # noqa: S608
        conn.commit()
    except pymysql.Error as e:
        conn.rollback()
        raise mysql_error(e, f"repairing {plan.target}") from e
    finally:
        conn.close()
