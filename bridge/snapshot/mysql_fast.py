"""The fast MySQL/MariaDB -> PostgreSQL copy: the source server writes PostgreSQL COPY text.

Parsing result rows in Python (PyMySQL) was two thirds of the copy's time. Here each row is
formatted by the source server itself, in one SQL expression per table: every column becomes the
exact text PostgreSQL's COPY reads for the value the per-row path (`bridge.snapshot.mysql`
converters + `bridge.appliers.pgadapt` dumpers) would write, escaped for COPY, with `\\N` for
NULL. Rows are then glued server-side with GROUP_CONCAT over primary-key ranges, so a chunk of
tens of thousands of rows crosses PyMySQL as one value and goes to psycopg's `copy.write` as is.
A reader thread fetches the next chunk while the current one is written.

Per column (`field_sql`): integers, YEAR and DECIMAL as printed; FLOAT through CAST AS DOUBLE (the
shortest text that reads back as the stored value; PostgreSQL rounds it to the same real); dates
and datetimes as printed, TIMESTAMP with `+00` (the session is UTC); TIME as printed
(`-838:59:59.5` is the interval the per-row path writes); BIT(n) as n binary digits; binary
strings as bytea hex; SET as a sorted text[] literal built from its bitmask; text, ENUM and JSON
converted to utf8mb4 and escaped. Zero dates become NULL under `--zero-dates null`; under the
strict default they become a marker field (`\\Z` + the date's text) that cannot occur in escaped
data, and a chunk holding one raises the per-row path's error. A table with any other column type
(or a SET whose labels cannot be rebuilt exactly) returns no plan and takes the per-row path.

Chunks: a single-column key of a type whose text compares like the column walks key ranges of
`rows` keys (the upper bound found with LIMIT/OFFSET on the key); other tables are read in one
unbuffered query, one formatted line per row. A range whose text exceeds group_concat_max_len
(GROUP_CONCAT truncates: fewer lines than rows) is retried smaller; a single row that does not fit
is copied by the per-row path (`slow`).
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bridge.translate.types import TypePolicy, from_mysql

if TYPE_CHECKING:
    from bridge.snapshot.mysql import MysqlColumn, MysqlTable

TARGET_BYTES = 4 << 20
"""Aim for chunks of this much COPY text (bounded by the session's max_allowed_packet)."""
FIRST_ROWS = 10_000
MAX_ROWS = 200_000
STREAM_ROWS = 5_000
"""Rows per fetch when the table is read in one unbuffered query."""

_INTS = ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")
_TEXTS = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "json", "uuid")
_BYTES = ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")
_DATES = ("date", "datetime", "timestamp")
# Key types whose text, read back as a literal, compares exactly like the column (not FLOAT,
# whose text is rounded, nor ENUM/SET, which sort by index but compare as strings).
_RANGE_KEYS = (*_INTS, "year", "decimal", "char", "varchar", "binary", "varbinary", *_DATES, "time")

_UTF8 = ("utf8mb4", "utf8mb3", "utf8", "ascii")

NULL = "X'5C4E'"  # \N
TAB, NEWLINE = "X'09'", "X'0A'"
ZERO_MARK = b"\\Z"
_ZERO_FIELD = re.compile(rb"(?:^|[\t\n])\\Z([^\t\n]*)")


def _hex(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return f"X'{raw.hex().upper()}'" if raw else "''"


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def escaped(expr: str) -> str:
    """`expr` (a binary string) escaped for COPY text: backslash, tab, newline, carriage return.
    Hex literals: no dependence on NO_BACKSLASH_ESCAPES."""
    for raw, esc in (("5C", "5C5C"), ("09", "5C74"), ("0A", "5C6E"), ("0D", "5C72")):
        expr = f"REPLACE({expr}, X'{raw}', X'{esc}')"
    return expr


def copy_text(value: str) -> str:
    """COPY text escaping in Python (what `escaped` does in SQL)."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _set_sql(c: str, column_type: str) -> str | None:
    """SET -> the per-row path's text[] literal: members sorted, each double-quoted."""
    labels = from_mysql(column_type).labels
    if not labels or any(x == "" or "\\" in x or "'" in x for x in labels):
        return None  # '' cannot be told apart from the empty set; quoting may be ambiguous
    bits = {label: 1 << i for i, label in enumerate(labels)}
    items = ", ".join(
        f"IF({c} & {bits[label]}, {_hex(copy_text(_element(label)))}, NULL)"
        for label in sorted(labels)
    )
    return f"IF({c} IS NULL, NULL, CONCAT('{{', CONCAT_WS(',', {items}), '}}'))"


def _element(label: str) -> str:
    return '"' + label.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zero_sql(c: str) -> str:
    return f"(YEAR({c}) = 0 OR MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0)"


def field_sql(col: MysqlColumn, policy: TypePolicy) -> str | None:
    """The SQL giving this column's COPY field as a binary string (never NULL); None when the
    column cannot be formatted server-side exactly as the per-row path writes it."""
    c = quote(col.name)
    t = col.data_type
    if col.is_json or t in _TEXTS:
        # The stored bytes are the utf8mb4 text the per-row path reads when the column's
        # character set is UTF-8 already (utf8mb3 is a subset); others are converted.
        same = col.charset in _UTF8
        text = escaped(
            f"CAST({c} AS BINARY)" if same else f"CAST(CONVERT({c} USING utf8mb4) AS BINARY)"
        )
    elif t in _INTS or t in ("year", "decimal", "double"):
        text = c  # CONCAT prints numbers as the protocol does
    elif t == "float":
        text = f"CAST(CAST({c} AS DOUBLE) AS CHAR)"
    elif t == "bit":
        if col.bits <= 0:
            return None
        text = f"LPAD(BIN({c} + 0), {col.bits}, '0')"
    elif t in _BYTES:
        text = f"CONCAT(X'5C5C78', HEX({c}))"  # \\x… : bytea hex input, escaped for COPY
    elif t == "time":
        text = f"CAST({c} AS CHAR)"
    elif t == "set":
        set_sql = _set_sql(c, col.column_type)
        if set_sql is None:
            return None
        text = set_sql
    elif t in _DATES:
        text = f"CONCAT({c}, '+00')" if t == "timestamp" else f"CAST({c} AS CHAR)"
        zero = NULL if policy.zero_dates == "null" else f"CONCAT(X'5C5A', {c})"
        return f"CASE WHEN {c} IS NULL THEN {NULL} WHEN {_zero_sql(c)} THEN {zero} ELSE {text} END"
    else:
        return None
    return f"IFNULL({text}, {NULL})"


@dataclass(frozen=True, slots=True)
class Plan:
    """How one table is copied server-formatted."""

    line: str
    """One row's COPY text line (newline included), a binary string."""
    key: str | None
    """The key column walked by ranges; None: one unbuffered query."""
    key_kind: str = ""
    zero_check: bool = False
    """Whether chunks may hold a strict zero-date marker."""


def plan(table: MysqlTable, policy: TypePolicy | None) -> Plan | None:
    """How to copy `table` server-formatted; None when a column needs the per-row path."""
    policy = policy or TypePolicy()
    fields = []
    for col in table.columns:
        f = field_sql(col, policy)
        if f is None:
            return None
        fields.append(f)
    parts = [p for f in fields for p in (f, TAB)][:-1]
    line = f"CAST(CONCAT({', '.join(parts)}, {NEWLINE}) AS BINARY)"
    zero_check = policy.zero_dates != "null" and any(c.data_type in _DATES for c in table.columns)
    key, kind = None, ""
    if len(table.key) == 1:
        col = next(c for c in table.columns if c.name == table.key[0])
        if col.data_type in _RANGE_KEYS:
            key, kind = col.name, col.data_type
    return Plan(line, key, kind, zero_check)


def check_zero_dates(chunk: bytes, raise_for: Callable[[str], None]) -> None:
    """Call `raise_for(text)` with the first strict zero-date marker's date text, if any."""
    if ZERO_MARK not in chunk:
        return
    m = _ZERO_FIELD.search(chunk)
    if m is not None:
        raise_for(m.group(1).decode())


# -- reading --------------------------------------------------------------------------------

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Some of a table's rows, in key order after the previous chunk."""

    text: bytes
    """COPY text lines."""
    rows: int
    values: Rows | None = None
    """Rows for the per-row path instead (a row too long for one GROUP_CONCAT)."""


Slow = Callable[[str], Rows]
"""The per-row path's values of the rows matching a WHERE clause (' WHERE …')."""


def _bound(conn: Any, kind: str, raw: Any) -> str:
    """The SQL literal of a key value read as the server's text (numbers unquoted: compared
    with a string, a bigint is compared as a double)."""
    text = raw.decode() if isinstance(raw, bytes) and kind in (*_INTS, "year", "decimal") else raw
    if kind in _INTS or kind == "year":
        return str(int(text))
    if kind == "decimal":
        return str(Decimal(text))
    return str(conn.escape(raw))


def _chunk_limit(cur: Any) -> int:
    """Set group_concat_max_len under max_allowed_packet (a result row must fit in a packet)."""
    cur.execute("SELECT @@max_allowed_packet")
    packet = int(str(cur.fetchone()[0]))
    limit = max(packet - 4096, 1 << 16)
    cur.execute(f"SET SESSION group_concat_max_len = {limit}")
    return limit


def range_chunks(conn: Any, table: str, p: Plan, slow: Slow) -> Generator[Chunk]:
    """Consecutive key ranges of `table`, in key order."""
    if p.key is None:
        raise ValueError("range_chunks needs a key")
    cur = conn.cursor()
    target = min(TARGET_BYTES, _chunk_limit(cur) // 2)
    k = quote(p.key)
    rows = FIRST_ROWS
    low: str | None = None
    while True:
        after = [] if low is None else [f"{k} > {low}"]
        where = f" WHERE {after[0]}" if after else ""
        cur.execute(f"SELECT {k} FROM {table}{where} ORDER BY {k} LIMIT 1 OFFSET {rows - 1}")  # noqa: S608
        found = cur.fetchall()
        high = _bound(conn, p.key_kind, found[0][0]) if found else None
        conds = after + ([f"{k} <= {high}"] if high is not None else [])
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        cur.execute(f"SELECT GROUP_CONCAT({p.line} SEPARATOR ''), COUNT(*) FROM {table}{where}")  # noqa: S608
        raw, raw_count = cur.fetchone()
        text, count = bytes(raw or b""), int(str(raw_count))
        if text.count(b"\n") != count:  # cut at group_concat_max_len
            if rows > 1:
                rows = max(1, rows // 8)
                continue
            values = slow(where)
            yield Chunk(b"", len(values), values)
        elif count:
            yield Chunk(text, count)
            rows = max(1, min(MAX_ROWS, target * count // len(text)))
        if high is None:
            return
        low = high


def stream_chunks(conn: Any, table: str, p: Plan) -> Generator[Chunk]:
    """The table in one unbuffered query, STREAM_ROWS formatted lines at a time."""
    import pymysql.cursors  # noqa: PLC0415

    cur = conn.cursor(pymysql.cursors.SSCursor)
    try:
        cur.execute(f"SELECT {p.line} FROM {table}")  # noqa: S608 - quoted identifiers
        while rows := cur.fetchmany(STREAM_ROWS):
            yield Chunk(b"".join(r[0] for r in rows), len(rows))
    finally:
        cur.close()


def prefetched(chunks: Generator[Chunk], depth: int = 2) -> Generator[Chunk]:
    """`chunks`, produced by a thread up to `depth` ahead: the source formats the next chunk
    while the target reads this one. The thread ends with the consumer (stop flag, joined)."""
    q: queue.Queue[Chunk | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Chunk | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in chunks:
                if not put(item):
                    return
            put(None)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            put(e)
        finally:
            chunks.close()

    thread = threading.Thread(target=produce, name="bridge-mysql-read", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def copy_chunks(
    conn: Any,
    table: str,
    p: Plan,
    *,
    copy: Any,
    advance: Callable[[int], None],
    slow: Slow,
    zero_date: Callable[[str], None],
) -> None:
    """Copy the whole table into the open COPY `copy` (psycopg), counting rows with `advance`."""
    chunks = range_chunks(conn, table, p, slow) if p.key else stream_chunks(conn, table, p)
    # Closed explicitly: on an error the reader thread must be stopped and joined before the
    # caller closes the source connection (a traceback would keep the generator alive).
    with contextlib.closing(prefetched(chunks)) as ahead:
        for chunk in ahead:
            if p.zero_check:
                check_zero_dates(chunk.text, zero_date)
            if chunk.text:
                copy.write(chunk.text)
            for row in chunk.values or ():
                copy.write_row(row)
            advance(chunk.rows)
