"""What the PostgreSQL reader learns from the source's catalog: column types and table shapes.

pgoutput's Relation message gives column names, type OIDs, typmods and key flags, but not
nullability, defaults, the declared type text, or what a user type is (its Type message even names
a domain by its base type). The reader asks the catalog over an ordinary SQL connection and maps
each type to a neutral `ColumnType` with the declarations below.

The catalog is read at the time the reader meets the relation, not at the WAL position of the
change; schema changes are ordered against rows by the DDL capture (issue 3's event trigger).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Final, cast

import psycopg

from bridge.log.events import Column, ColumnType
from bridge.readers.pgtypes import PgTypes

# Built-in type OID -> (neutral kind, size in bits for numbers, fixed length).
NEUTRAL_KINDS: Final[dict[int, tuple[str, int | None, bool]]] = {
    16: ("bool", None, False),
    17: ("bytes", None, False),
    18: ("text", None, True),
    19: ("text", None, False),
    20: ("int", 64, False),
    21: ("int", 16, False),
    23: ("int", 32, False),
    25: ("text", None, False),
    26: ("uint", 32, False),
    114: ("json", None, False),
    700: ("float", 32, False),
    701: ("float", 64, False),
    1042: ("text", None, True),
    1043: ("text", None, False),
    1082: ("date", None, False),
    1083: ("time", None, False),
    1114: ("timestamp", None, False),
    1184: ("timestamptz", None, False),
    1186: ("interval", None, False),
    1266: ("timetz", None, False),
    1560: ("bits", None, True),
    1562: ("bits", None, False),
    1700: ("decimal", None, False),
    2950: ("uuid", None, False),
    3802: ("json", None, False),
}
_VARHDRSZ = 4
_TEMPORAL_WITH_PRECISION = frozenset({1083, 1114, 1184, 1186, 1266})


@dataclass(frozen=True, slots=True)
class TypeInfo:
    oid: int
    typtype: str
    """'b' base, 'e' enum, 'd' domain, 'c' composite, 'r' range, 'p' pseudo, 'm' multirange."""
    base_oid: int
    """For a domain: its base type; else 0."""
    element_oid: int
    """For an array: its element type; else 0 (typelem of non-arrays such as point is dropped)."""
    delimiter: str
    labels: tuple[str, ...]
    """For an enum: its labels in sort order."""


class Catalog:
    """Catalog lookups on one ordinary connection, cached per OID."""

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.conn = conn
        self.types = PgTypes()
        self._infos: dict[int, TypeInfo] = {}
        self._formats: dict[tuple[int, int], str] = {}

    def is_partition(self, relid: int) -> bool:
        """Whether a table is a partition (a dropped one counts as not)."""
        row = self.conn.execute(
            "SELECT relispartition FROM pg_class WHERE oid = %s", (relid,)
        ).fetchone()
        return bool(row and row[0])

    def type_info(self, oid: int) -> TypeInfo:
        if oid not in self._infos:
            row = self.conn.execute(
                "SELECT t.typtype, t.typbasetype,"
                " CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END, t.typdelim,"
                " ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid"
                "       ORDER BY e.enumsortorder)"
                " FROM pg_type t WHERE t.oid = %s",
                (oid,),
            ).fetchone()
            if row is None:
                raise LookupError(f"type oid {oid} is not in pg_type")
            typtype, base, elem, delim, labels = row
            info = TypeInfo(
                oid,
                str(typtype),
                int(str(base)),
                int(str(elem)),
                str(delim),
                tuple(cast("list[str]", labels)),
            )
            self._infos[oid] = info
            self._register(info)
        return self._infos[oid]

    def _register(self, info: TypeInfo) -> None:
        if info.typtype == "e":
            self.types.register_enum(info.oid)
        elif info.typtype == "d":
            self.type_info(info.base_oid)
            self.types.register_domain(info.oid, info.base_oid)
        elif info.element_oid:
            self.type_info(info.element_oid)
            self.types.register_array(info.oid, info.element_oid, info.delimiter)

    def column_type(self, oid: int, typmod: int, source_type: str) -> ColumnType:
        """The neutral type of a column of type `oid` with modifier `typmod`."""
        info = self.type_info(oid)
        if info.typtype == "d":
            base = self.column_type(info.base_oid, typmod, source_type)
            return dataclasses.replace(base, source_type=source_type)
        if info.typtype == "e":
            return ColumnType("enum", source_type, labels=info.labels)
        if oid in NEUTRAL_KINDS:
            return _builtin(oid, typmod, source_type)
        if info.element_oid:
            element = self.column_type(info.element_oid, -1, f"{source_type} element")
            return ColumnType("array", source_type, element=element)
        return ColumnType("other", source_type)

    def format_type(self, oid: int, typmod: int) -> str:
        """The type's SQL spelling, e.g. 'numeric(10,2)' (cached)."""
        key = (oid, typmod)
        if key not in self._formats:
            row = self.conn.execute("SELECT format_type(%s, %s)", (oid, typmod)).fetchone()
            self._formats[key] = "unknown" if row is None or row[0] is None else str(row[0])
        return self._formats[key]

    def columns(
        self, relation_oid: int, names: list[str]
    ) -> dict[str, tuple[str, bool, str | None]]:
        """Declared type text, nullability and default of the named columns."""
        rows = self.conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,"
            " pg_get_expr(d.adbin, d.adrelid)"
            " FROM pg_attribute a LEFT JOIN pg_attrdef d"
            "   ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = %s AND a.attname = ANY(%s) AND NOT a.attisdropped",
            (relation_oid, names),
        ).fetchall()
        return {
            str(r[0]): (str(r[1]), bool(r[2]), None if r[3] is None else str(r[3])) for r in rows
        }

    def column(
        self, name: str, oid: int, typmod: int, decl: tuple[str, bool, str | None]
    ) -> Column:
        source_type, nullable, default = decl
        return Column(name, self.column_type(oid, typmod, source_type), nullable, default)


def _builtin(oid: int, typmod: int, source_type: str) -> ColumnType:
    kind, bits, fixed = NEUTRAL_KINDS[oid]
    size = bits
    precision = scale = None
    if typmod >= 0:
        if oid in (18, 1042, 1043):
            size = typmod - _VARHDRSZ
        elif oid in (1560, 1562):
            size = typmod
        elif oid == 1700:
            precision = ((typmod - _VARHDRSZ) >> 16) & 0xFFFF
            scale = (typmod - _VARHDRSZ) & 0xFFFF
        elif oid in _TEMPORAL_WITH_PRECISION:
            precision = typmod & 0xFFFF
    elif oid == 18:
        size = 1
    return ColumnType(kind, source_type, size=size, precision=precision, scale=scale, fixed=fixed)
