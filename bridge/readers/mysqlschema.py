"""Relation events for the binlog reader: column names, neutral types, nullability, key.

The binlog's TABLE_MAP (with binlog_row_metadata=FULL) names the columns and carries their
binlog types, signedness, character sets, ENUM/SET labels and primary key, but not what the user
declared: display widths (`tinyint(1)`), MariaDB's JSON (a LONGTEXT with a json_valid check),
defaults. information_schema has those, but describes the table *now*, not at the event's
position. So: when information_schema's columns match the table map (same names in the same
order, compatible types), `source_type`, defaults and JSON-ness come from information_schema;
otherwise (the table changed since) everything comes from the table map alone. The primary key
comes from the table map's metadata whenever the map carries FULL metadata (it then lists the
key, possibly empty), and from information_schema only for a map without it.

`bridge/translate/types.py` (`from_mysql`) did not exist when this was written, so
`column_type` below is this module's own COLUMN_TYPE parser.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bridge.log.events import Column, ColumnType
from bridge.readers import binlogvalues as bv
from bridge.readers.binlogrows import TableMap

# Database `bridge` is bridge's own (heartbeats on a source, metadata on a target), never copied:
# bridge.pgschema leaves PostgreSQL's schema `bridge` out the same way.
SYSTEM_SCHEMAS: Final = frozenset(
    {"mysql", "information_schema", "performance_schema", "sys", "bridge"}
)

_INT_BITS: Final = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32,
                    "bigint": 64}  # fmt: skip
_TEXT_TYPES: Final = frozenset({"char", "varchar", "tinytext", "text", "mediumtext", "longtext"})
_BYTES_TYPES: Final = frozenset(
    {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
)
_TEMPORAL: Final = {"date": "date", "time": "interval", "datetime": "timestamp",
                    "timestamp": "timestamptz"}  # fmt: skip
_TYPE_RE = re.compile(r"^\s*([a-z]+)\s*(?:\((.*)\))?\s*(.*)$", re.IGNORECASE | re.DOTALL)
_LABEL_RE = re.compile(r"'((?:[^']|'')*)'")

# information_schema DATA_TYPE values each binlog type may stand for (to tell whether the
# table map and the current definition describe the same columns).
_COMPATIBLE: Final = {
    bv.T_TINY: {"tinyint"},
    bv.T_SHORT: {"smallint"},
    bv.T_INT24: {"mediumint"},
    bv.T_LONG: {"int"},
    bv.T_LONGLONG: {"bigint"},
    bv.T_FLOAT: {"float"},
    bv.T_DOUBLE: {"double"},
    bv.T_NEWDECIMAL: {"decimal"},
    bv.T_YEAR: {"year"},
    bv.T_DATE: {"date"},
    bv.T_NEWDATE: {"date"},
    bv.T_TIME: {"time"},
    bv.T_TIME2: {"time"},
    bv.T_DATETIME: {"datetime"},
    bv.T_DATETIME2: {"datetime"},
    bv.T_TIMESTAMP: {"timestamp"},
    bv.T_TIMESTAMP2: {"timestamp"},
    bv.T_VARCHAR: {"varchar", "varbinary"},
    bv.T_VAR_STRING: {"varchar", "varbinary"},
    bv.T_STRING: {"char", "binary", "uuid", "inet6", "inet4"},
    bv.T_ENUM: {"enum"},
    bv.T_SET: {"set"},
    bv.T_BIT: {"bit"},
    bv.T_BLOB: {*_TEXT_TYPES, *_BYTES_TYPES, "json"},
    bv.T_JSON: {"json"},
}


def table_matcher(patterns: Sequence[str] | None) -> Any:
    """A function (schema, table) -> bool for `--tables` patterns 'db.table' with * globs;
    None selects every table outside the system databases."""
    if patterns is None:
        return lambda schema, _table: schema not in SYSTEM_SCHEMAS
    compiled = [re.compile(fnmatch.translate(p)) for p in patterns]
    return lambda schema, table: any(c.match(f"{schema}.{table}") for c in compiled)


def parse_labels(inner: str) -> tuple[str, ...]:
    """The labels of an ENUM/SET definition's parentheses: 'a','it''s' -> ('a', "it's")."""
    return tuple(m.replace("''", "'") for m in _LABEL_RE.findall(inner))


def column_type(text: str) -> ColumnType:  # noqa: PLR0911 - one return per family
    """A neutral type from information_schema.COLUMNS.COLUMN_TYPE, e.g. 'int(10) unsigned'."""
    m = _TYPE_RE.match(text)
    if not m:
        return ColumnType("other", text)
    base, args, rest = m.group(1).lower(), m.group(2) or "", m.group(3).lower()
    nums = [int(x) for x in re.findall(r"\d+", args)] if base not in ("enum", "set") else []
    if base in _INT_BITS:
        kind = "uint" if "unsigned" in rest else "int"
        return ColumnType(kind, text, size=_INT_BITS[base])
    if base in ("decimal", "numeric", "dec", "fixed"):
        precision, scale = [*nums, 10, 0][:2] if nums else (10, 0)
        return ColumnType("decimal", text, precision=precision, scale=scale)
    if base in ("float", "double", "real"):
        return ColumnType("float", text, size=32 if base == "float" else 64)
    if base == "bit":
        return ColumnType("bits", text, size=nums[0] if nums else 1, fixed=True)
    if base == "year":
        return ColumnType("int", text, size=16)
    if base in _TEMPORAL:
        return ColumnType(_TEMPORAL[base], text, precision=nums[0] if nums else 0)
    if base in _TEXT_TYPES:
        return ColumnType("text", text, size=nums[0] if nums else None, fixed=base == "char")
    if base in _BYTES_TYPES:
        return ColumnType("bytes", text, size=nums[0] if nums else None, fixed=base == "binary")
    if base in ("enum", "set"):
        return ColumnType(base, text, labels=parse_labels(args))
    if base == "json":
        return ColumnType("json", text)
    if base == "uuid":
        return ColumnType("uuid", text)
    return ColumnType("other", text)


_MBMAXLEN: Final = {"utf-8": 4, "utf-16-be": 4, "utf-16-le": 4, "utf-32-be": 4}


def _quoted(labels: Sequence[str]) -> str:
    return ",".join("'" + s.replace("'", "''") + "'" for s in labels)


def map_column_type(  # noqa: PLR0911, PLR0912 - one branch per type family
    tm: TableMap, i: int, codec: str | None
) -> ColumnType:
    """A neutral type from the table map alone (no display widths: 'int', not 'int(11)')."""
    t, (a, b) = tm.types[i], tm.metas[i]
    unsigned = " unsigned" if tm.unsigned[i] else ""
    name = bv.TYPE_NAMES.get(t, str(t))
    if t in bv.INT_TYPES:
        return ColumnType("uint" if unsigned else "int", name + unsigned, size=bv.INT_TYPES[t])
    if t == bv.T_NEWDECIMAL:
        return ColumnType("decimal", f"decimal({a},{b}){unsigned}", precision=a, scale=b)
    if t in (bv.T_FLOAT, bv.T_DOUBLE):
        return ColumnType("float", name + unsigned, size=32 if t == bv.T_FLOAT else 64)
    if t == bv.T_BIT:
        return ColumnType("bits", f"bit({a})", size=a, fixed=True)
    if t == bv.T_YEAR:
        return ColumnType("int", "year", size=16)
    if t in (bv.T_TIME2, bv.T_DATETIME2, bv.T_TIMESTAMP2):
        return ColumnType(_TEMPORAL[name], f"{name}({a})" if a else name, precision=a)
    if name in _TEMPORAL:
        return ColumnType(_TEMPORAL[name], name, precision=0)
    if t in (bv.T_ENUM, bv.T_SET):
        return ColumnType(name, f"{name}({_quoted(tm.labels[i])})", labels=tm.labels[i])
    if t in (bv.T_STRING, bv.T_VARCHAR, bv.T_VAR_STRING):
        fixed = t == bv.T_STRING
        if codec is None:
            kind = "binary" if fixed else "varbinary"
            return ColumnType("bytes", f"{kind}({a})", size=a, fixed=fixed)
        chars = a // _MBMAXLEN.get(codec, 1)
        return ColumnType("text", f"{'char' if fixed else 'varchar'}({chars})", size=chars,
                          fixed=fixed)  # fmt: skip
    if t == bv.T_BLOB:
        sizes = {1: "tiny", 2: "", 3: "medium", 4: "long"}
        prefix = sizes.get(a, "long")
        if codec is None:
            return ColumnType("bytes", f"{prefix}blob")
        return ColumnType("text", f"{prefix}text")
    if t == bv.T_JSON:
        return ColumnType("json", "json")
    return ColumnType("other", name)


@dataclass(frozen=True, slots=True)
class SchemaColumn:
    """One row of information_schema.COLUMNS (and the MariaDB JSON check) for a table."""

    name: str
    data_type: str
    column_type: str
    nullable: bool
    default: str | None
    primary: bool
    json: bool


def matches(tm: TableMap, current: Sequence[SchemaColumn]) -> bool:
    """Whether the current definition describes the table map's columns."""
    if tm.names is None or len(current) != len(tm.types):
        return False
    for name, t, col in zip(tm.names, tm.types, current, strict=True):
        if name != col.name or col.data_type not in _COMPATIBLE.get(t, ()):
            return False
    return True


def relation_columns(
    tm: TableMap, codecs: Sequence[str | None], current: Sequence[SchemaColumn]
) -> tuple[tuple[Column, ...], tuple[str, ...], frozenset[int]]:
    """(columns, key, indexes of JSON-as-text columns) for a table map."""
    names = tm.names or tuple(f"col{i + 1}" for i in range(len(tm.types)))
    if matches(tm, current):
        cols = []
        for i, c in enumerate(current):
            ctype = ColumnType("json", "json") if c.json else column_type(c.column_type)
            if ctype.kind in ("enum", "set") and tm.labels[i]:
                ctype = ColumnType(ctype.kind, ctype.source_type, labels=tm.labels[i])
            cols.append(Column(c.name, ctype, tm.nullable[i], c.default))
        json_cols = frozenset(i for i, c in enumerate(current) if c.json)
        key_idx = tm.key if tm.key is not None else [i for i, c in enumerate(current) if c.primary]
    else:
        cols = [
            Column(names[i], map_column_type(tm, i, codecs[i]), tm.nullable[i])
            for i in range(len(tm.types))
        ]
        json_cols = frozenset()
        key_idx = tm.key or ()
    return tuple(cols), tuple(names[i] for i in key_idx), json_cols


COLUMNS_SQL: Final = (
    "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, COLUMN_KEY"
    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " ORDER BY ORDINAL_POSITION"
)
# MariaDB declares JSON as LONGTEXT plus CHECK (json_valid(`col`)), named after the column.
JSON_CHECKS_SQL: Final = (
    "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS"
    " WHERE CONSTRAINT_SCHEMA = %s AND TABLE_NAME = %s"
)


def read_columns(cursor: Any, schema: str, table: str, *, mariadb: bool) -> list[SchemaColumn]:
    """The table's current columns from information_schema ([] when it is gone)."""
    cursor.execute(COLUMNS_SQL, (schema, table))
    rows = cursor.fetchall()
    json_cols: set[str] = set()
    if mariadb and any(str(r[1]).lower() == "longtext" for r in rows):
        cursor.execute(JSON_CHECKS_SQL, (schema, table))
        for name, clause in cursor.fetchall():
            if str(clause).replace(" ", "") == f"json_valid(`{name}`)":
                json_cols.add(str(name))
    out = []
    for name, data_type, ctype, nullable, default, key in rows:
        out.append(
            SchemaColumn(
                str(name),
                str(data_type).lower(),
                str(ctype),
                str(nullable) == "YES",
                None if default is None else str(default),
                str(key) == "PRI",
                str(name) in json_cols and str(data_type).lower() == "longtext",
            )
        )
    return out
