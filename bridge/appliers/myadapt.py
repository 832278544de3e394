"""Log values -> MySQL/MariaDB SQL literals, checked against the target column's type.

The MySQL applier builds multi-row statements as text (one round trip per thousands of rows), so
every value becomes a SQL literal here, once, when its event arrives: the folded rows then hold
ready literals and the statements are joins of strings. A value the target cannot hold exactly is
a `TranslateError` naming the table, the column, the value's kind and the fix; the applier adds
the event's position and rolls the batch back. Rules (docs/architecture.md repeats them):

- NULL -> NULL; bool -> 1/0; int -> itself, range-checked against integer and BIT columns
  (unsigned ones included); into text, ENUM or SET columns an int is quoted, because an unquoted
  number there means an enum index.
- Decimal -> plain digits (never an exponent: MySQL reads `1E+2` as a double); NaN and ±Infinity
  are errors; into DECIMAL(p,s), more fraction digits than s (trailing zeros aside) or more integer
  digits than p-s are errors, never a silent rounding; into an integer column only integral values.
- float -> a double literal (`…e0`); NaN and ±Infinity are errors (MySQL cannot store them).
- str -> quoted with backslash escapes (the session's sql_mode keeps NO_BACKSLASH_ESCAPES off).
- bytes -> a hex literal X'…'.
- date -> 'YYYY-MM-DD'; naive datetime -> as is; aware datetime -> converted to UTC, naive: the
  target column is a DATETIME holding UTC (the session's time_zone is +00:00, so TIMESTAMP columns
  agree). time -> 'HH:MM:SS.ffffff' (an aware time is moved to UTC). Fractional seconds finer than
  the column's precision are an error (MariaDB would truncate them silently).
- uuid.UUID -> its text; `Json` -> its text; `ZeroDate` -> its text (the session allows zero
  dates); `MysqlSet` -> its members joined by commas; `BitString` -> its integer for BIT(n)
  (length checked), its '0'/'1' text elsewhere.
- list (PostgreSQL arrays) -> JSON text of the nested lists, elements converted as JSON: numbers
  stay numbers (Decimal digits kept), text, dates, times and UUIDs become strings (aware
  timestamps in UTC), bytes become '\\x…' hex strings like PostgreSQL's text form, Json is
  embedded as is, NULL is null.
- `Interval` and `SpecialTemporal` (infinity, BC dates, years past 9999) are errors: MySQL has no
  faithful type for them (an opt-in mapping of intervals may come later).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeAlias

from pymysql.converters import escape_string

from bridge.appliers.pgadapt import interval_text
from bridge.errors import TranslateError
from bridge.log.values import (
    ABSENT,
    UNCHANGED,
    BitString,
    Interval,
    Json,
    MysqlSet,
    SpecialTemporal,
    Value,
    ZeroDate,
)

Adapter: TypeAlias = Callable[[Value], Value]
"""One column's converter: a log value to its SQL literal (markers pass through unchanged)."""
RowAdapter: TypeAlias = Callable[[Sequence[Value]], tuple[Value, ...]]

_INT_BITS: Final = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
_TEXT_TYPES: Final = frozenset(
    {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"}
)
_DATETIME_TYPES: Final = frozenset({"datetime", "timestamp"})
_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class TargetColumn:
    """A target column as information_schema.COLUMNS describes it."""

    name: str
    data_type: str
    """DATA_TYPE, lower case: 'int', 'decimal', 'varchar', 'datetime', …"""
    column_type: str = ""
    """COLUMN_TYPE, e.g. 'bigint(20) unsigned' or "enum('a','b')"."""
    nullable: bool = True
    precision: int | None = None
    """NUMERIC_PRECISION (decimal digits, or bits for BIT)."""
    scale: int | None = None
    """NUMERIC_SCALE."""
    fsp: int | None = None
    """DATETIME_PRECISION: fractional-second digits of datetime, timestamp and time."""
    charset: str | None = None
    auto_increment: bool = False

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()


def _fail(table: str, col: TargetColumn, value: object, why: str, fix: str) -> TranslateError:
    kind = type(value).__name__
    return TranslateError(
        f"cannot write a {kind} value into column {col.name} ({col.column_type or col.data_type})"
        f" of {table}: {why}",
        hint=fix,
        table=table,
    )


def _quote(text: str) -> str:
    return "'" + escape_string(text) + "'"


def _int_bounds(col: TargetColumn) -> tuple[int, int] | None:
    bits = _INT_BITS.get(col.data_type)
    if bits is not None:
        if col.unsigned:
            return 0, (1 << bits) - 1
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if col.data_type == "bit":
        return 0, (1 << (col.precision or 1)) - 1
    if col.data_type == "year":
        return 0, 2155
    return None


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What a literal function needs to know about its column."""

    table: str
    col: TargetColumn
    bounds: tuple[int, int] | None
    quoted: bool
    """Text-like column: numbers are written as quoted text."""

    def fail(self, value: object, why: str, fix: str) -> TranslateError:
        return _fail(self.table, self.col, value, why, fix)


def _lit_int(v: int, ctx: _Ctx) -> str:
    b = ctx.bounds
    if b is not None and not b[0] <= v <= b[1]:
        raise ctx.fail(
            v,
            f"{v} is outside the column's range {b[0]} … {b[1]}",
            "widen the target column (e.g. BIGINT UNSIGNED or DECIMAL(20,0))",
        )
    if ctx.col.data_type == "decimal":
        return _lit_decimal(Decimal(v), ctx)
    return _quote(str(v)) if ctx.quoted else str(v)


def _lit_bool(v: bool, _ctx: _Ctx) -> str:
    return "1" if v else "0"


def _lit_float(v: float, ctx: _Ctx) -> str:
    if not math.isfinite(v):
        raise ctx.fail(
            v,
            f"MySQL cannot store {v}",
            "replace NaN/Infinity on the source, or map the column to a string type",
        )
    text = repr(v)
    if ctx.quoted:
        return _quote(text)
    if ctx.col.data_type == "decimal":
        return _lit_decimal(Decimal(text), ctx)
    # An exponent makes MySQL read a double, not an exact decimal it would convert afterwards.
    return text if "e" in text else text + "e0"


def _decimal_digits(text: str) -> tuple[int, int]:
    """(integer digits, fraction digits) of a plain decimal text, trailing fraction zeros and
    leading zeros aside (string operations: the digit tuple of Decimal costs ~3x more)."""
    whole, _, frac = text.lstrip("-").partition(".")
    return len(whole.lstrip("0")), len(frac.rstrip("0"))


def _lit_decimal(v: Decimal, ctx: _Ctx) -> str:
    if not v.is_finite():
        raise ctx.fail(
            v,
            f"MySQL has no {v} (PostgreSQL numeric allows NaN and ±Infinity)",
            "replace the value on the source, or map the column to a string type",
        )
    col = ctx.col
    text = format(v, "f")
    if col.data_type == "decimal" and col.precision is not None:
        scale = col.scale or 0
        whole, frac = _decimal_digits(text)
        if frac > scale or whole > col.precision - scale:
            raise ctx.fail(
                v,
                f"{v} needs {whole} integer and {frac} fraction digits, the column holds"
                f" {col.precision - scale} and {scale} (MySQL would round it)",
                "widen the target column's DECIMAL(precision, scale)",
            )
        if v < 0 and col.unsigned:
            raise ctx.fail(v, "the column is unsigned", "make the target column signed")
    elif ctx.bounds is not None:
        if v != v.to_integral_value():
            raise ctx.fail(v, "the column holds integers only", "use a DECIMAL column")
        return _lit_int(int(v), ctx)
    return _quote(text) if ctx.quoted else text


def _lit_str(v: str, _ctx: _Ctx) -> str:
    return _quote(v)


def _lit_bytes(v: bytes, _ctx: _Ctx) -> str:
    return "X'" + v.hex() + "'"


def _check_fraction(v: dt.datetime | dt.time, ctx: _Ctx) -> None:
    fsp = ctx.col.fsp
    if fsp is not None and fsp < 6 and v.microsecond % 10 ** (6 - fsp):
        raise ctx.fail(
            v,
            f"{v.isoformat()} has more fractional-second digits than the column's {fsp}"
            " (MariaDB would truncate them)",
            f"declare the target column {ctx.col.data_type}(6)",
        )


def _lit_date(v: dt.date, _ctx: _Ctx) -> str:
    return "'" + v.isoformat() + "'"


def _lit_datetime(v: dt.datetime, ctx: _Ctx) -> str:
    if v.tzinfo is not None:
        v = v.astimezone(_UTC).replace(tzinfo=None)
    _check_fraction(v, ctx)
    return "'" + v.isoformat(" ") + "'"


def _pg_timetz_text(v: dt.time, offset: dt.timedelta) -> str:
    """PostgreSQL's text of a timetz ('12:00:00+02', '23:59:59.999999-11', '10:00:00+05:30')."""
    secs = int(offset.total_seconds())
    sign = "-" if secs < 0 else "+"
    hours, rest = divmod(abs(secs), 3600)
    minutes, seconds = divmod(rest, 60)
    zone = f"{sign}{hours:02}" + (f":{minutes:02}" if minutes or seconds else "")
    return v.replace(tzinfo=None).isoformat() + zone + (f":{seconds:02}" if seconds else "")


def _lit_time(v: dt.time, ctx: _Ctx) -> str:
    offset = v.utcoffset()
    if offset is not None and ctx.quoted:  # TypePolicy(unsupported='text'): its text, zone kept
        return _quote(_pg_timetz_text(v, offset))
    if offset is not None:
        # A time with zone (PostgreSQL timetz): the same instant's UTC time of day.
        day = dt.datetime.combine(dt.date(2000, 1, 1), v.replace(tzinfo=None)) - offset
        v = day.time()
    _check_fraction(v, ctx)
    return "'" + v.isoformat() + "'"


def _lit_uuid(v: uuid.UUID, _ctx: _Ctx) -> str:
    return "'" + str(v) + "'"


def _lit_json(v: Json, _ctx: _Ctx) -> str:
    return _quote(v.text)


def _lit_bits(v: BitString, ctx: _Ctx) -> str:
    if ctx.col.data_type != "bit":
        return "'" + v.bits + "'"
    width = ctx.col.precision or 1
    if len(v.bits) > width:
        raise ctx.fail(
            v, f"{len(v.bits)} bits do not fit BIT({width})", "widen the target column's BIT(n)"
        )
    return str(v.to_int())


def _lit_set(v: MysqlSet, _ctx: _Ctx) -> str:
    return _quote(",".join(sorted(v.members)))


def _lit_zero_date(v: ZeroDate, _ctx: _Ctx) -> str:
    return _quote(v.text)


def _lit_special(v: SpecialTemporal, ctx: _Ctx) -> str:
    raise ctx.fail(
        v,
        f"MySQL has no {v.kind} {v.text!r} (infinity, BC dates and years past 9999 have no"
        " MySQL form)",
        "replace the value on the source, or map the column to a string type",
    )


def _lit_interval(v: Interval, ctx: _Ctx) -> str:
    if ctx.quoted:  # a text column (TypePolicy(interval='text')): PostgreSQL's interval text
        return _quote(interval_text(v))
    raise ctx.fail(
        v,
        "MySQL has no interval type with months, days and time",
        "run with --interval text to store PostgreSQL's interval text in a varchar column, or"
        " exclude the table",
    )


def _lit_list(v: list[Value], ctx: _Ctx) -> str:
    return _quote(_json_array(v, ctx))


def _json_array(items: list[Value], ctx: _Ctx) -> str:
    return "[" + ",".join(_json_item(x, ctx) for x in items) + "]"


def _json_item(x: Value, ctx: _Ctx) -> str:
    if x is None:
        return "null"
    if isinstance(x, list):
        return _json_array(x, ctx)
    if isinstance(x, dt.datetime) and x.tzinfo is not None:
        x = x.astimezone(_UTC).replace(tzinfo=None)
    fn = _JSON.get(type(x))
    if fn is None:
        raise ctx.fail(x, "this kind of array element has no JSON form", "exclude the column")
    return fn(x, ctx)


def _json_float(x: float, ctx: _Ctx) -> str:
    _lit_float(x, ctx)  # refuses NaN and Infinity, which JSON cannot hold either
    return repr(x)


def _json_decimal(x: Decimal, ctx: _Ctx) -> str:
    if not x.is_finite():
        raise ctx.fail(x, f"JSON has no {x}", "replace the value on the source")
    return format(x, "f")


def _json_string(x: object, _ctx: _Ctx) -> str:
    return json.dumps(str(x), ensure_ascii=False)


_JSON: Final[dict[type, Callable[[Any, _Ctx], str]]] = {
    bool: lambda x, _: "true" if x else "false",
    int: lambda x, _: str(x),
    float: _json_float,
    Decimal: _json_decimal,
    Json: lambda x, _: str(x.text),
    dt.datetime: lambda x, _: json.dumps(x.isoformat(" ")),
    dt.date: lambda x, _: json.dumps(x.isoformat()),
    dt.time: lambda x, _: json.dumps(x.isoformat()),
    bytes: lambda x, _: json.dumps("\\x" + x.hex()),
    str: _json_string,
    uuid.UUID: _json_string,
    BitString: lambda x, _: json.dumps(x.bits),
}
"""Array elements as JSON, by exact class (see the module docstring)."""


_LITERALS: Final[dict[type, Callable[[object, _Ctx], str]]] = {
    int: _lit_int,  # type: ignore[dict-item]
    bool: _lit_bool,  # type: ignore[dict-item]
    float: _lit_float,  # type: ignore[dict-item]
    Decimal: _lit_decimal,  # type: ignore[dict-item]
    str: _lit_str,  # type: ignore[dict-item]
    bytes: _lit_bytes,  # type: ignore[dict-item]
    dt.date: _lit_date,  # type: ignore[dict-item]
    dt.datetime: _lit_datetime,  # type: ignore[dict-item]
    dt.time: _lit_time,  # type: ignore[dict-item]
    uuid.UUID: _lit_uuid,  # type: ignore[dict-item]
    Json: _lit_json,  # type: ignore[dict-item]
    BitString: _lit_bits,  # type: ignore[dict-item]
    MysqlSet: _lit_set,  # type: ignore[dict-item]
    ZeroDate: _lit_zero_date,  # type: ignore[dict-item]
    SpecialTemporal: _lit_special,  # type: ignore[dict-item]
    Interval: _lit_interval,  # type: ignore[dict-item]
    list: _lit_list,  # type: ignore[dict-item]
}
"""One literal function per value class (exact class: bool is not int, datetime is not date)."""


def adapter(table: str, col: TargetColumn) -> Adapter:
    """The converter for one column: a value to its SQL literal; UNCHANGED/ABSENT pass through."""
    ctx = _Ctx(table, col, _int_bounds(col), col.data_type in _TEXT_TYPES)
    literals = _LITERALS
    bounds = ctx.bounds
    plain_int = bounds is not None and col.data_type != "decimal" and not ctx.quoted
    lo, hi = bounds if bounds is not None else (0, 0)

    def adapt(v: Value) -> Value:
        if v is None:
            return "NULL"
        cls = type(v)
        if cls is str:
            return "'" + escape_string(v) + "'"  # type: ignore[arg-type]
        if cls is int and plain_int and lo <= v <= hi:  # type: ignore[operator]
            return str(v)
        if v is UNCHANGED or v is ABSENT:
            return v
        lit = literals.get(cls)
        if lit is None:
            raise ctx.fail(v, "bridge has no MySQL form for it", "report this value kind")
        return lit(v, ctx)

    return adapt


def row_adapter(table: str, columns: Sequence[TargetColumn]) -> RowAdapter:
    """The converter for rows laid out as `columns`."""
    adapters = [adapter(table, c) for c in columns]

    def adapt_row(row: Sequence[Value]) -> tuple[Value, ...]:
        return tuple([a(v) for a, v in zip(adapters, row, strict=True)])

    return adapt_row


def literal(value: Value, col: TargetColumn, *, table: str = "?") -> str:
    """One value as a SQL literal for `col` (tests and one-off statements)."""
    out = adapter(table, col)(value)
    if not isinstance(out, str):
        raise TypeError(f"{value!r} has no literal")
    return out
