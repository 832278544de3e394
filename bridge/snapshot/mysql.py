"""Initial copy MySQL/MariaDB -> PostgreSQL, each table at an exact binlog position, no global lock.

MariaDB cannot export a snapshot to other connections, and a global read lock (FLUSH TABLES WITH
READ LOCK) stalls the source's writers. So each table is copied on its own connection inside
`START TRANSACTION WITH CONSISTENT SNAPSHOT`, whose exact binlog position the server reports in
`Binlog_snapshot_file/position` (DESIGN.md). Tables copy in parallel, each with its own position;
streaming then starts at the smallest of them and skips, per table, the transactions its copy
already holds (`SnapshotPositions.covers`). Every table's target transaction truncates it first,
so an interrupted copy is redone.

Most tables are copied the fast way (`bridge.snapshot.mysql_fast`): the source server formats
each row as PostgreSQL COPY text and glues key ranges of rows into one value, so no row is parsed
in Python. A table with a column type that path cannot format exactly takes the per-row path:
rows are read as the server's text (no PyMySQL type guessing) and turned into the log's exact
values by column type, the same values the binlog reader produces for the same rows: FLOAT is
read through CAST AS DOUBLE (MariaDB prints FLOAT with 6 digits), TIMESTAMP in a UTC session, zero
dates kept as `ZeroDate`, TIME as `Interval`. Both paths write the same target values
(tests/integration/test_mysql_snapshot_fast.py).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import PyFormat

from bridge import mysqlconn
from bridge.appliers import pgadapt
from bridge.appliers.postgres import connect_target
from bridge.errors import ApplyError, ConfigError, SourceError, TranslateError
from bridge.log.events import TableName
from bridge.log.values import BitString, Interval, Json, MysqlSet, Value, ZeroDate
from bridge.positions import BinlogPosition
from bridge.readers.mysqlschema import SYSTEM_SCHEMAS, table_matcher
from bridge.snapshot import mysql_fast
from bridge.snapshot.postgres import ProgressCallback, TableProgress
from bridge.translate.types import TypePolicy

CHUNK_ROWS = 20_000


@dataclass(frozen=True, slots=True)
class MysqlColumn:
    name: str
    data_type: str
    """information_schema DATA_TYPE, e.g. 'int', 'varchar', 'timestamp'."""
    column_type: str
    """information_schema COLUMN_TYPE, e.g. 'int(10) unsigned', "enum('a','b')"."""
    is_json: bool = False
    """MariaDB JSON: a longtext with a json_valid() check."""
    bits: int = 0
    """BIT(n)'s n."""
    charset: str | None = None
    """A character column's character set (information_schema CHARACTER_SET_NAME)."""


@dataclass(frozen=True, slots=True)
class MysqlTable:
    name: TableName
    columns: tuple[MysqlColumn, ...]
    key: tuple[str, ...]
    """Primary key columns (or the first NOT NULL unique key); empty when keyless."""
    rows: int
    """The server's row estimate (information_schema.TABLES.TABLE_ROWS)."""


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def qualified(t: TableName) -> str:
    return f"{quote(t.schema)}.{quote(t.name)}"


def list_tables(cur: Any, patterns: Sequence[str] | None) -> list[TableName]:
    """Base tables matching `patterns` ('db.table' with * globs; None: every user database)."""
    cur.execute(
        "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES"
        " WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN %s"
        " ORDER BY TABLE_SCHEMA, TABLE_NAME",
        (tuple(SYSTEM_SCHEMAS),),
    )
    found = [TableName(str(s), str(n)) for s, n in cur.fetchall()]
    if patterns is None:
        return found
    chosen: list[TableName] = []
    for pattern in patterns:
        if "." not in pattern:
            raise ConfigError(
                f"table pattern {pattern!r} names no database",
                hint="write DATABASE.TABLE, e.g. shop.orders or shop.*",
            )
        matches = table_matcher([pattern])  # the binlog reader selects with the same matcher
        hits = [t for t in found if matches(t.schema, t.name)]
        if not hits:
            raise ConfigError(
                f"no table on the source matches {pattern!r}",
                hint="check the spelling; patterns are DATABASE.TABLE with * wildcards",
            )
        chosen.extend(t for t in hits if t not in chosen)
    return chosen


def table_info(cur: Any, t: TableName) -> MysqlTable:
    cur.execute(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, NUMERIC_PRECISION, CHARACTER_SET_NAME FROM"
        " information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
        " ORDER BY ORDINAL_POSITION",
        (t.schema, t.name),
    )
    raw = cur.fetchall()
    if not raw:
        raise SourceError(f"table {t} disappeared from the source", table=str(t))
    cur.execute(
        "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
        " WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s",
        (t.schema, t.name),
    )
    checks = " ".join(str(c[0]) for c in cur.fetchall())
    columns = []
    for raw_name, raw_type, column_type, precision, charset in raw:
        name, data_type = str(raw_name), str(raw_type).lower()
        is_json = data_type in ("json", "longtext") and (
            data_type == "json" or f"json_valid({quote(name)})" in checks
        )
        bits = int(str(precision)) if data_type == "bit" and precision is not None else 0
        columns.append(
            MysqlColumn(
                name,
                data_type,
                str(column_type).lower(),
                is_json,
                bits,
                None if charset is None else str(charset).lower(),
            )
        )
    cur.execute(
        "SELECT INDEX_NAME, COLUMN_NAME, NON_UNIQUE, NULLABLE FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME = 'PRIMARY' DESC,"
        " INDEX_NAME, SEQ_IN_INDEX",
        (t.schema, t.name),
    )
    keys: dict[str, list[str]] = {}
    nullable: set[str] = set()
    for index, column, non_unique, null in cur.fetchall():
        if str(non_unique) == "0":
            keys.setdefault(str(index), []).append(str(column))
            if str(null) == "YES":
                nullable.add(str(index))
    key = next((tuple(cols) for idx, cols in keys.items() if idx not in nullable), ())
    cur.execute(
        "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
        " AND TABLE_NAME = %s",
        (t.schema, t.name),
    )
    row = cur.fetchone()
    rows = int(str(row[0])) if row and row[0] is not None else 0
    return MysqlTable(t, tuple(columns), key, rows)


# -- values: the server's text -> log values (the binlog reader's conventions) ---------------

Converter = Callable[[Any], Value]


def _date(text: str) -> dt.date | ZeroDate:
    if text.startswith("0000") or "-00" in text:
        return ZeroDate("date", text)
    return dt.date.fromisoformat(text)


def _datetime(kind: str) -> Converter:
    def conv(text: str) -> Value:
        if text.startswith("0000") or "-00" in text[:10]:
            return ZeroDate(kind, text)  # type: ignore[arg-type]
        value = dt.datetime.fromisoformat(text)
        return value.replace(tzinfo=dt.UTC) if kind == "timestamptz" else value

    return conv


def _time(text: str) -> Interval:
    sign = -1 if text.startswith("-") else 1
    hours, minutes, rest = text.lstrip("-").split(":")
    seconds, _, frac = rest.partition(".")
    micro = int((frac + "000000")[:6])
    total = ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1_000_000 + micro
    return Interval(0, 0, sign * total)


def _bits(n: int) -> Converter:
    def conv(raw: bytes) -> BitString:
        return BitString(format(int.from_bytes(raw, "big"), f"0{n}b")[-n:] if n else "")

    return conv


def _set(text: str) -> MysqlSet:
    return MysqlSet(frozenset(text.split(",")) if text else frozenset())


def _as_str(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _identity(raw: Any) -> Value:
    return raw  # type: ignore[no-any-return]


_BY_TYPE: dict[str, Converter] = {
    "tinyint": int,
    "smallint": int,
    "mediumint": int,
    "int": int,
    "integer": int,
    "bigint": int,
    "year": int,
    "decimal": Decimal,
    "float": float,
    "double": float,
    "date": _date,
    "datetime": _datetime("timestamp"),
    "timestamp": _datetime("timestamptz"),
    "time": _time,
    "set": _set,
    "binary": _identity,
    "varbinary": _identity,
    "tinyblob": _identity,
    "blob": _identity,
    "mediumblob": _identity,
    "longblob": _identity,
}


def converter(col: MysqlColumn) -> Converter:
    """The function turning this column's raw result into its log value (NULL handled apart)."""
    if col.is_json:
        return lambda raw: Json(_as_str(raw))
    if col.data_type == "bit":
        return _bits(col.bits)
    conv = _BY_TYPE.get(col.data_type)
    if conv is None:
        return _as_str  # char/varchar/text family, enum: the text as is
    return conv


def select_expr(col: MysqlColumn) -> str:
    if col.data_type == "float":
        # MariaDB prints FLOAT with 6 significant digits; as DOUBLE the exact value comes back.
        return f"CAST({quote(col.name)} AS DOUBLE)"
    return quote(col.name)


def convert_rows(
    rows: Sequence[Sequence[Any]], convs: Sequence[Converter]
) -> Iterator[tuple[Value, ...]]:
    pairs = list(enumerate(convs))
    for row in rows:
        yield tuple(None if row[i] is None else c(row[i]) for i, c in pairs)


# -- the copy ---------------------------------------------------------------------------------


def copy_tables(
    source_dsn: str,
    target_dsn: str,
    tables: Sequence[MysqlTable],
    *,
    workers: int = 4,
    on_progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    policy: TypePolicy | None = None,
) -> tuple[SnapshotPositions, int]:
    """Copy `tables` into the target tables of the same names; returns the binlog position each
    table's copy is as of, and the rows copied."""
    progress = {t.name: TableProgress(t.name, t.rows) for t in tables}
    if on_progress:
        for p in progress.values():
            on_progress(p)
    order = sorted(tables, key=lambda t: -t.rows)
    out: dict[TableName, BinlogPosition] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(tables)))) as pool:
        futures = {
            t.name: pool.submit(
                _copy_one,
                source_dsn,
                target_dsn,
                t,
                progress[t.name],
                on_progress=on_progress,
                stop=stop,
                policy=policy,
            )
            for t in order
        }
        for name, f in futures.items():
            out[name] = f.result()
    return SnapshotPositions(out), sum(p.rows for p in progress.values())


def _copy_one(
    source_dsn: str,
    target_dsn: str,
    table: MysqlTable,
    progress: TableProgress,
    *,
    on_progress: ProgressCallback | None,
    stop: threading.Event | None,
    policy: TypePolicy | None,
) -> BinlogPosition:
    started = time.monotonic()
    src = mysqlconn.connect(source_dsn, raw=True)
    try:
        tgt = connect_target(target_dsn)
    except BaseException:
        src.close()
        raise
    try:
        pgadapt.register(tgt.adapters, policy)
        cur = src.cursor()
        position = start_snapshot(cur)
        info = table_info(cur, table.name)  # inside the snapshot: the definition it holds
        convs = [converter(c) for c in info.columns]
        names = [c.name for c in info.columns]
        ident = sql.Identifier(table.name.schema, table.name.name)
        cols = sql.SQL(", ").join(map(sql.Identifier, names))
        try:  # skip target triggers and FK checks during the copy, when allowed
            tgt.execute("SAVEPOINT bridge_role")
            tgt.execute("SET LOCAL session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            tgt.execute("ROLLBACK TO SAVEPOINT bridge_role")
        tgt.execute(sql.SQL("TRUNCATE {}").format(ident))
        fast = mysql_fast.plan(info, policy)
        try:
            with tgt.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(ident, cols)) as copy:
                if fast is not None:
                    _copy_fast(
                        src,
                        tgt,
                        info,
                        fast,
                        copy,
                        convs=convs,
                        progress=progress,
                        on_progress=on_progress,
                        stop=stop,
                    )
                else:
                    for chunk in _chunks(src, info):
                        for row in convert_rows(chunk, convs):
                            copy.write_row(row)
                        progress.advance(len(chunk), stop=stop, on_progress=on_progress)
        except TranslateError as e:  # a value the target type cannot hold: name the table
            raise TranslateError(
                f"copying {table.name}: {e.message}", hint=e.hint, table=str(table.name)
            ) from e
        except psycopg.Error as e:
            raise ApplyError(
                f"copying {table.name} failed: {e.diag.message_primary or e}",
                table=str(table.name),
                sqlstate=e.sqlstate,
            ) from e
        tgt.commit()
        cur.execute("COMMIT")
    finally:
        src.close()
        tgt.close()
    progress.done = True
    progress.seconds = time.monotonic() - started
    if on_progress:
        on_progress(progress)
    return position


def _copy_fast(
    src: Any,
    tgt: psycopg.Connection[Any],
    info: MysqlTable,
    fast: mysql_fast.Plan,
    copy: Any,
    *,
    convs: Sequence[Converter],
    progress: TableProgress,
    on_progress: ProgressCallback | None,
    stop: threading.Event | None,
) -> None:
    """The table as COPY text the source formats (`bridge.snapshot.mysql_fast`)."""
    select = ", ".join(select_expr(c) for c in info.columns)
    reader = src.cursor()  # the reader thread's own cursor (same connection and snapshot)

    def slow(where: str) -> list[tuple[Any, ...]]:
        reader.execute(f"SELECT {select} FROM {qualified(info.name)}{where}")  # noqa: S608
        return list(convert_rows(reader.fetchall(), convs))

    zero_dumper = tgt.adapters.get_dumper(ZeroDate, PyFormat.TEXT)(ZeroDate)

    def zero_date(text: str) -> None:
        zero_dumper.dump(ZeroDate("date", text))  # raises the per-row path's error

    mysql_fast.copy_chunks(
        src,
        qualified(info.name),
        fast,
        copy=copy,
        advance=lambda n: progress.advance(n, stop=stop, on_progress=on_progress),
        slow=slow,
        zero_date=zero_date,
    )


def start_snapshot(cur: Any) -> BinlogPosition:
    """Open a consistent-snapshot transaction; returns the binlog position it shows."""
    cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
    status = {str(k).lower(): str(v) for k, v in cur.fetchall()}
    return BinlogPosition(status["binlog_snapshot_file"], int(status["binlog_snapshot_position"]))


def _chunks(conn: Any, table: MysqlTable) -> Iterator[Sequence[Sequence[Any]]]:
    """The table's rows in key order, CHUNK_ROWS at a time (one streaming read when the key has
    several columns or there is none: row-constructor ranges are not index-friendly on MariaDB)."""
    select = ", ".join(select_expr(c) for c in table.columns)
    base = f"SELECT {select} FROM {qualified(table.name)}"  # noqa: S608 - quoted identifiers
    if len(table.key) != 1:
        import pymysql.cursors  # noqa: PLC0415

        cur = conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(base)
            while rows := cur.fetchmany(CHUNK_ROWS):
                yield rows
        finally:
            cur.close()
        return
    key = table.key[0]
    index = [c.name for c in table.columns].index(key)
    cur = conn.cursor()
    cur.execute(f"{base} ORDER BY {quote(key)} LIMIT {CHUNK_ROWS}")
    while rows := cur.fetchall():
        yield rows
        if len(rows) < CHUNK_ROWS:
            return
        cur.execute(
            f"{base} WHERE {quote(key)} > %s ORDER BY {quote(key)} LIMIT {CHUNK_ROWS}",
            (rows[-1][index],),
        )


@dataclass(frozen=True, slots=True)
class SnapshotPositions:
    """Where each table's copy stands in the binlog; streaming starts at the earliest."""

    tables: dict[TableName, BinlogPosition]

    @property
    def start(self) -> BinlogPosition:
        return min(self.tables.values())

    @property
    def end(self) -> BinlogPosition:
        return max(self.tables.values())

    def covers(self, table: TableName, begin: BinlogPosition) -> bool:
        """Whether the copy of `table` already holds the transaction that begins at `begin`.

        The binlog holds whole transactions in commit order, and a snapshot position lies
        between two of them: a transaction starting before it is in the copy."""
        at = self.tables.get(table)
        return at is not None and begin < at

    def dumps(self) -> str:
        return json.dumps(sorted([t.schema, t.name, str(p)] for t, p in self.tables.items()))

    @classmethod
    def loads(cls, text: str) -> SnapshotPositions:
        return cls({TableName(s, n): BinlogPosition.parse(p) for s, n, p in json.loads(text)})
