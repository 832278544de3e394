"""`dbbridge verify`: what each side computes, in its own SQL dialect.

A side is one connection to the source or the target. Everything verify asks of a server is one
of three queries, computed by the server over a key range (a *chunk*), so rows stay on the server:

- `boundaries`: every Nth key of the source in key order (one window-function query), which cuts
  a table into chunks of N rows;
- `checksum`: a chunk's row count and the sum of the first 60 bits of each row's MD5. A sum is
  order-independent and both engines compute it exactly (PostgreSQL numeric, MySQL DECIMAL);
  60 bits keep each term a positive BIGINT on both (PostgreSQL 13 has no bit_xor);
- `digests`: each row's key and MD5, for a differing chunk or a list of keys (drill-down,
  confirmation, repair checks); `json` columns come along as values and are compared in Python.

Row and key texts are the canonical forms of `bridge.verify_norm`, so equal rows hash alike on
either engine. A key range must select the same rows on both sides, so key columns are compared
in one order everywhere: numbers, dates and bytes natively, text by code point (PostgreSQL
COLLATE "C", MySQL BINARY) unless both sides are PostgreSQL and agree on the collation. Keys of
other types (floats, durations, bit strings…) are not cut into ranges: such a table is one chunk.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal, TypeAlias

import psycopg
import pymysql
from psycopg import sql

from bridge import mysqlconn, pgschema
from bridge.appliers.postgres import connect_target
from bridge.errors import BridgeError, ConfigError
from bridge.log.events import TableName
from bridge.readers.postgres import SESSION_OPTIONS, connect_source
from bridge.snapshot import mysql as mysnapshot
from bridge.verify_norm import (
    PY_CANONS,
    RANGE_CANONS,
    TEXT_ORDER_CANONS,
    Canon,
    ColumnInfo,
    Key,
    json_canon,
    my_expr,
    my_ident,
    my_row_text,
    mysql_family,
    mysql_labels,
    pg_expr,
    pg_family,
    pg_ident,
    pg_row_text,
)

Role: TypeAlias = Literal["source", "target"]
Digest: TypeAlias = tuple[str | None, ...]
"""A row's MD5 (over the columns hashed in SQL) and the canonical text of its `json` columns."""

LOOKUP_BATCH: Final = 500
"""Keys per statement when rows are looked up by key."""
_TEXT_FAMILIES: Final = frozenset({"text", "char", "uuid"})


# -- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableShape:
    """A table as one side declares it: its columns and the key verify uses."""

    columns: tuple[ColumnInfo, ...]
    key: tuple[str, ...]
    """The primary key (or a NOT NULL unique key the pipelines use instead); empty: keyless."""


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """How one column common to both sides is compared."""

    canon: Canon
    source: ColumnInfo
    target: ColumnInfo
    binary_order: bool = False
    """PostgreSQL -> PostgreSQL: the key column's collations differ, compare it by code point."""

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def orderable(self) -> bool:
        """Whether a range of this key column selects the same rows on both sides."""
        if self.canon not in RANGE_CANONS:
            return False
        if self.canon in TEXT_ORDER_CANONS:  # enums order by label position, not by text
            return {self.source.family, self.target.family} <= _TEXT_FAMILIES
        return True


@dataclass(frozen=True, slots=True)
class TablePlan:
    """One table to verify: where it lives on each side and how its columns compare."""

    source: TableName
    target: TableName
    columns: tuple[ColumnPlan, ...]
    """The columns both sides have, in the source's order."""
    key: tuple[int, ...]
    """Positions of the key columns in `columns`; empty for a keyless table."""
    only_source: tuple[str, ...] = ()
    only_target: tuple[str, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(self.columns[i].name for i in self.key)

    @property
    def rangeable(self) -> bool:
        return bool(self.key) and all(self.columns[i].orderable for i in self.key)

    @property
    def python(self) -> tuple[int, ...]:
        """Positions of the columns compared in Python."""
        return tuple(i for i, c in enumerate(self.columns) if c.canon in PY_CANONS)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A key range [lower, upper) of a table; None is unbounded."""

    index: int
    lower: Key | None
    upper: Key | None


def chunks_from_boundaries(boundaries: Sequence[Key]) -> list[Chunk]:
    """Chunks between consecutive boundaries, the first and last unbounded: together they cover
    every key, including keys inserted after the boundaries were taken."""
    edges: list[Key | None] = [None, *boundaries, None]
    return [Chunk(i, edges[i], edges[i + 1]) for i in range(len(boundaries) + 1)]


def lexicographic(
    lhs: Sequence[str],
    placeholders: Sequence[str],
    values: Sequence[object],
    op: Literal[">=", "<"],
    *,
    expand: bool,
) -> tuple[str, list[object]]:
    """`(lhs…) op (values…)` in key order, and its parameters.

    PostgreSQL compares row values lexicographically and uses an index for it. MySQL does too,
    but its range optimizer only uses an index for the expanded form (a > x OR (a = x AND …)),
    led by a bound on the first column.
    """
    n = len(lhs)
    if n == 1:
        return f"{lhs[0]} {op} {placeholders[0]}", [values[0]]
    if not expand:
        return f"({', '.join(lhs)}) {op} ({', '.join(placeholders)})", list(values)
    strict = ">" if op == ">=" else "<"
    body, params = f"{lhs[-1]} {op} {placeholders[-1]}", [values[-1]]
    for i in range(n - 2, -1, -1):
        body = f"{lhs[i]} {strict} {placeholders[i]} OR ({lhs[i]} = {placeholders[i]} AND ({body}))"
        params = [values[i], values[i], *params]
    lead = ">=" if op == ">=" else "<="
    return f"{lhs[0]} {lead} {placeholders[0]} AND ({body})", [values[0], *params]


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode()
    return str(value)


# -- sides --------------------------------------------------------------------------------------


class Side(abc.ABC):
    """The queries verify runs, over one connection; subclasses render them per engine."""

    engine: ClassVar[str]
    expand: ClassVar[bool]
    """Whether key-range predicates are written in the expanded (MySQL) form."""
    sum60: ClassVar[str]
    """The aggregate of 60 bits of each row hash `h`."""

    def __init__(self, dsn: str, role: Role) -> None:
        self.dsn = dsn
        self.role = role

    # engine hooks
    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection."""

    @abc.abstractmethod
    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Rows of a statement whose literal '%' are doubled (it always gets parameters)."""

    @abc.abstractmethod
    def list_tables(self, patterns: Sequence[str]) -> list[TableName]:
        """The tables a pipeline with these `--tables` patterns replicates (source side)."""

    @abc.abstractmethod
    def describe(self, table: TableName) -> TableShape | None:
        """The table's columns and key, or None when it does not exist."""

    @abc.abstractmethod
    def table(self, plan: TablePlan) -> str:
        """This side's table, quoted."""

    @abc.abstractmethod
    def expr(self, cp: ColumnPlan) -> str:
        """The column's canonical text (SQL)."""

    @abc.abstractmethod
    def row_hash(self, plan: TablePlan) -> str:
        """The row's MD5 in hex over the columns hashed in SQL."""

    @abc.abstractmethod
    def key_lhs(self, cp: ColumnPlan, *, ordered: bool) -> str:
        """A key column as compared in range (`ordered`) or equality predicates."""

    @abc.abstractmethod
    def placeholder(self, cp: ColumnPlan, *, ordered: bool) -> str:
        """The parameter a key column is compared with."""

    def param(self, cp: ColumnPlan, text: str) -> object:  # noqa: ARG002 - MySQL needs it
        """A key column's canonical text as a statement parameter."""
        return text

    # shared logic
    def info(self, cp: ColumnPlan) -> ColumnInfo:
        return cp.source if self.role == "source" else cp.target

    def name(self, plan: TablePlan) -> TableName:
        return plan.source if self.role == "source" else plan.target

    def boundaries(self, plan: TablePlan, every: int) -> list[Key]:
        """The key of every `every`-th row in key order (rows every+1, 2*every+1, …)."""
        keys = [plan.columns[i] for i in plan.key]
        exprs = ", ".join(f"{self.expr(cp)} AS k{n}" for n, cp in enumerate(keys))
        order = ", ".join(self.key_lhs(cp, ordered=True) for cp in keys)
        names = ", ".join(f"k{n}" for n in range(len(keys)))
        rows = self.query(
            f"SELECT {names} FROM (SELECT {exprs}, row_number() OVER (ORDER BY {order})"  # noqa: S608 - quoted identifiers
            f" AS bridge_rn FROM {self.table(plan)}) s"
            f" WHERE MOD(bridge_rn, {int(every)}) = 1 AND bridge_rn > 1 ORDER BY bridge_rn"
        )
        return [tuple(str(_text(v)) for v in r) for r in rows]

    def checksum(self, plan: TablePlan, chunk: Chunk | None) -> tuple[int, int]:
        """(rows, sum of their 60-bit hashes) of a chunk (None: the whole table)."""
        where, params = self.chunk_where(plan, chunk)
        rows = self.query(
            f"SELECT count(*), {self.sum60} FROM (SELECT {self.row_hash(plan)} AS h"  # noqa: S608 - quoted identifiers
            f" FROM {self.table(plan)}{where}) s",
            params,
        )
        count, total = rows[0]
        return int(str(count)), int(str(total)) if total is not None else 0

    def digests(
        self, plan: TablePlan, *, chunk: Chunk | None = None, keys: Sequence[Key] | None = None
    ) -> list[tuple[Key, Digest]]:
        """Each row's key and digest, in a chunk (None: the whole table) or among `keys`."""
        if keys is not None:
            wanted = set(keys)
            out: list[tuple[Key, Digest]] = []
            for start in range(0, len(keys), LOOKUP_BATCH):
                where, params = self.keys_where(plan, keys[start : start + LOOKUP_BATCH])
                out.extend(r for r in self._digests(plan, where, params) if r[0] in wanted)
            return out
        return self._digests(plan, *self.chunk_where(plan, chunk))

    def _digests(
        self, plan: TablePlan, where: str, params: Sequence[object]
    ) -> list[tuple[Key, Digest]]:
        py = [plan.columns[i] for i in plan.python]
        select = [
            *(self.expr(plan.columns[i]) for i in plan.key),
            self.row_hash(plan),
            *(self.expr(cp) for cp in py),
        ]
        query = f"SELECT {', '.join(select)} FROM {self.table(plan)}{where}"  # noqa: S608 - quoted
        rows = self.query(query, params)
        nk = len(plan.key)
        elements = [self.info(cp).element for cp in py]
        out: list[tuple[Key, Digest]] = []
        for r in rows:
            key = tuple(str(_text(v)) for v in r[:nk])
            values = [
                json_canon(_text(v), element=e) for v, e in zip(r[nk + 1 :], elements, strict=True)
            ]
            out.append((key, (_text(r[nk]), *values)))
        return out

    def chunk_where(self, plan: TablePlan, chunk: Chunk | None) -> tuple[str, list[object]]:
        """` WHERE …` selecting a chunk's key range (empty for the whole table)."""
        if chunk is None or (chunk.lower is None and chunk.upper is None):
            return "", []
        keys = [plan.columns[i] for i in plan.key]
        lhs = [self.key_lhs(cp, ordered=True) for cp in keys]
        marks = [self.placeholder(cp, ordered=True) for cp in keys]
        parts: list[str] = []
        params: list[object] = []
        for bound, op in ((chunk.lower, ">="), (chunk.upper, "<")):
            if bound is None:
                continue
            values = [self.param(cp, v) for cp, v in zip(keys, bound, strict=True)]
            text, p = lexicographic(lhs, marks, values, op, expand=self.expand)  # type: ignore[arg-type]
            parts.append(f"({text})")
            params.extend(p)
        return " WHERE " + " AND ".join(parts), params

    def keys_where(self, plan: TablePlan, keys: Sequence[Key]) -> tuple[str, list[object]]:
        """` WHERE …` selecting the rows with these keys."""
        cols = [plan.columns[i] for i in plan.key]
        lhs = [self.key_lhs(cp, ordered=False) for cp in cols]
        marks = [self.placeholder(cp, ordered=False) for cp in cols]
        params = [self.param(cp, v) for key in keys for cp, v in zip(cols, key, strict=True)]
        if len(cols) == 1:
            return f" WHERE {lhs[0]} IN ({', '.join(marks[0] for _ in keys)})", params
        row = "(" + ", ".join(marks) + ")"
        return f" WHERE ({', '.join(lhs)}) IN ({', '.join(row for _ in keys)})", params


# -- PostgreSQL ---------------------------------------------------------------------------------

_PG_COLUMNS: Final = (
    "SELECT a.attname, format_type(a.atttypid, NULL), coalesce(b.typname, t.typname),"
    " coalesce(b.typtype, t.typtype)::text, coalesce(b.typcategory, t.typcategory)::text,"
    " CASE WHEN a.attcollation = 0 THEN NULL ELSE co.collname END,"
    " e.typname, e.typtype::text, e.typcategory::text"
    " FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
    " LEFT JOIN pg_type b ON t.typtype = 'd' AND b.oid = t.typbasetype"
    " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
    " LEFT JOIN pg_type e ON e.oid = coalesce(b.typelem, t.typelem)"
    "  AND coalesce(b.typcategory, t.typcategory) = 'A'"
    " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
    " ORDER BY a.attnum"
)
_PG_SUM60: Final = "sum(('x' || substr(h, 1, 15))::bit(60)::bigint)"
_PG_NATIVE: Final = frozenset({"exact", "num", "text", "char", "date", "datetime", "uuid"})
"""Canons whose canonical text PostgreSQL parses back as the column's type (a cast suffices)."""


class PgSide(Side):
    engine = "postgres"
    expand = False
    sum60 = _PG_SUM60

    def __init__(self, dsn: str, role: Role) -> None:
        super().__init__(dsn, role)
        try:
            if role == "source":
                self.conn = connect_source(dsn, options=SESSION_OPTIONS)
            else:
                self.conn = connect_target(dsn, autocommit=True, options=SESSION_OPTIONS)
        except BridgeError as e:
            if not isinstance(e, ConfigError) and "does not exist" in e.message:
                raise ConfigError(e.message, hint=f"check the database in the --{role} DSN") from e
            raise
        self._default_collation: str | None = None

    def close(self) -> None:
        self.conn.close()

    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.errors():
            return self.conn.execute(sql.SQL(text), params).fetchall()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Server errors as our own: a runtime failure (exit 3) naming the side."""
        try:
            yield
        except psycopg.Error as e:
            message = e.diag.message_primary or " ".join(str(e).split())
            raise BridgeError(f"the {self.role} failed: {message}", sqlstate=e.sqlstate) from e

    def list_tables(self, patterns: Sequence[str]) -> list[TableName]:
        with self.errors():
            return pgschema.list_tables(self.conn, patterns)

    def describe(self, table: TableName) -> TableShape | None:
        with self.errors():
            info = pgschema.table_info(self.conn, table)
            if info is None:
                return None
            rows = self.conn.execute(_PG_COLUMNS, (info.oid,)).fetchall()
        columns = []
        for name, cast, base, typtype, category, coll, elem, etyptype, ecategory in rows:
            element = None if elem is None else pg_family(str(elem), str(etyptype), str(ecategory))
            columns.append(
                ColumnInfo(
                    str(name),
                    pg_family(str(base), str(typtype), str(category)),
                    str(cast),
                    collation=None if coll is None else self._collation(str(coll)),
                    element=element,
                )
            )
        key = info.key or (info.identity_key if info.replica_identity == "i" else ())
        return TableShape(tuple(columns), key)

    def _collation(self, name: str) -> str:
        """A collation as something comparable across servers ('default' resolved)."""
        if name != "default":
            return name
        if self._default_collation is None:
            row = self.query(
                "SELECT to_jsonb(d) FROM pg_database d WHERE datname = current_database()"
            )[0]
            d: dict[str, Any] = row[0]
            # PostgreSQL 15+ may take the default from ICU (datlocprovider 'i'); 17 renamed
            # daticulocale to datlocale.
            if d.get("datlocprovider") == "i":
                self._default_collation = f"icu:{d.get('datlocale') or d.get('daticulocale')}"
            else:
                self._default_collation = f"libc:{d.get('datcollate')}"
        return self._default_collation

    def table(self, plan: TablePlan) -> str:
        name = self.name(plan)
        return sql.Identifier(name.schema, name.name).as_string(None).replace("%", "%%")

    def expr(self, cp: ColumnPlan) -> str:
        if cp.canon == "exact":
            return f"{pg_ident(cp.name)}::text"
        return pg_expr(cp.canon, self.info(cp))

    def row_hash(self, plan: TablePlan) -> str:
        hashed = [c for c in plan.columns if c.canon not in PY_CANONS]
        if all(c.canon == "exact" for c in plan.columns):
            # PostgreSQL on both sides: the row's own text is unambiguous and cheapest.
            return f"md5(ROW({', '.join(pg_ident(c.name) for c in hashed)})::text)"
        text = pg_row_text([self.expr(c) for c in hashed])
        return f"md5(convert_to({text}, 'UTF8'))"

    def key_lhs(self, cp: ColumnPlan, *, ordered: bool) -> str:
        c = pg_ident(cp.name)
        if cp.canon not in _PG_NATIVE and cp.canon != "hex":
            return self.expr(cp)
        by_code_point = cp.binary_order or (
            cp.canon in TEXT_ORDER_CANONS and self.info(cp).family in ("text", "char")
        )
        return f'{c} COLLATE "C"' if ordered and by_code_point else c

    def placeholder(self, cp: ColumnPlan, *, ordered: bool) -> str:  # noqa: ARG002 - one form
        if cp.canon == "hex":
            return "decode(%s, 'hex')"
        if cp.canon in _PG_NATIVE:
            return f"%s::{self.info(cp).sql_type.replace('%', '%%')}"
        return "%s"


# -- MySQL / MariaDB ------------------------------------------------------------------------------

_MY_SUM60: Final = "SUM(CAST(CONV(SUBSTR(h, 1, 15), 16, 10) AS UNSIGNED))"
_MY_NATIVE: Final = frozenset({"num", "text", "char", "date", "datetime", "uuid", "hex"})


class MySide(Side):
    engine = "mysql"
    expand = True
    sum60 = _MY_SUM60

    def __init__(self, dsn: str, role: Role) -> None:
        super().__init__(dsn, role)
        try:
            self.conn: Any = mysqlconn.connect(dsn, role=role, raw=True, autocommit=True)
        except BridgeError as e:
            if "Unknown database" in e.message:
                raise ConfigError(e.message, hint=f"check the database in the --{role} DSN") from e
            raise
        self.database: str | None = mysqlconn.connect_args(dsn).get("database")

    def close(self) -> None:
        self.conn.close()

    def query(self, text: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self.errors(), self.conn.cursor() as cur:
            cur.execute(text, tuple(params))
            return list(cur.fetchall())

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except pymysql.Error as e:
            args: tuple[Any, ...] = getattr(e, "args", ())
            errno = args[0] if args and isinstance(args[0], int) else None
            message = str(args[1]) if len(args) > 1 else str(e)
            raise BridgeError(f"the {self.role} failed: {message}", errno=errno) from e

    def list_tables(self, patterns: Sequence[str]) -> list[TableName]:
        from bridge.pipeline_mysql import default_patterns  # noqa: PLC0415 - the pipeline's rule

        with self.errors(), self.conn.cursor() as cur:
            return mysnapshot.list_tables(cur, default_patterns(self.dsn, patterns))

    def describe(self, table: TableName) -> TableShape | None:
        exists = self.query(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
            " AND TABLE_TYPE = 'BASE TABLE'",
            (table.schema, table.name),
        )
        if not exists:
            return None
        with self.errors(), self.conn.cursor() as cur:
            info = mysnapshot.table_info(cur, table)
        columns = tuple(
            ColumnInfo(
                c.name,
                mysql_family(c.data_type, c.column_type, is_json=c.is_json),
                c.column_type,
                labels=mysql_labels(c.column_type) if c.data_type in ("set", "enum") else (),
                bits=c.bits,
            )
            for c in info.columns
        )
        return TableShape(columns, info.key)

    def table(self, plan: TablePlan) -> str:
        name = self.name(plan)
        return f"{my_ident(name.schema)}.{my_ident(name.name)}"

    def expr(self, cp: ColumnPlan) -> str:
        return my_expr(cp.canon, self.info(cp))

    def row_hash(self, plan: TablePlan) -> str:
        hashed = [self.expr(c) for c in plan.columns if c.canon not in PY_CANONS]
        return f"MD5({my_row_text(hashed)})"

    def key_lhs(self, cp: ColumnPlan, *, ordered: bool) -> str:
        if cp.canon not in _MY_NATIVE:
            return self.expr(cp)
        c = my_ident(cp.name)
        return f"CAST({c} AS BINARY)" if ordered and cp.canon in TEXT_ORDER_CANONS else c

    def placeholder(self, cp: ColumnPlan, *, ordered: bool) -> str:
        if cp.canon == "hex":
            return "UNHEX(%s)"
        if ordered and cp.canon in TEXT_ORDER_CANONS:
            return "CAST(%s AS BINARY)"
        return "%s"

    def param(self, cp: ColumnPlan, text: str) -> object:
        if cp.canon == "num":
            # A number, not a string: MySQL compares an integer column with a string as doubles.
            return Decimal(text) if "." in text else int(text)
        return text


def open_side(dsn: str, family: str, role: Role) -> Side:
    """A side on `dsn` of engine `family` ('postgres' or 'mysql')."""
    return PgSide(dsn, role) if family == "postgres" else MySide(dsn, role)
