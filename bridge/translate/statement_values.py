"""Values of a statement-based INSERT, computed as the source server computed them.

`bridge.translate.statements` turns `INSERT … VALUES` / `INSERT … SET` into insert row events
when every value is a constant once the binlog context is written in. This module does the two
steps the server does for each value:

1. `evaluate`: a constant expression (literal, typed literal, -x, 'a' 'b', x'..', b'..', the
   literals the translator wrote for NOW() and friends) -> a plain Python value: int, Decimal,
   float, str, bytes, None, datetime (naive: a DATETIME), date, or timedelta (a TIME).
2. `store`: that value put into a column of a given type -> the log's value, exactly as a ROW
   binlog would carry it (`bridge.readers.binlogvalues`): integers range-checked, decimals
   rounded half away from zero at the column's scale (from a double, through its shortest
   text, as the server does), FLOAT through single precision, DATETIME/TIME fractions cut to
   the column's precision (MariaDB truncates, MySQL rounds), TIMESTAMP from the session's zone
   to UTC, zero dates flagged, ENUM/SET labels matched case-insensitively, BINARY(n) padded.

Anything outside these well-understood cases raises `NotConstant`: the statement then goes to
the target as a statement (evaluated there) instead of guessing a value here. Never a silent
approximation.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import struct
import uuid
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from sqlglot import exp

from bridge.errors import TranslateError
from bridge.log.events import Column, StatementContext
from bridge.log.values import BitString, Interval, Json, MysqlSet, Value, ZeroDate

Plain = int | Decimal | float | str | bytes | None | dt.datetime | dt.date | dt.timedelta
"""A MySQL value before it is stored in a column."""

_INT_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_NUM_RE = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$")
_DT_RE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6})\d*)?)?\s*$"
)
_TIME_RE = re.compile(r"^\s*(-)?(?:(\d+) )?(\d{1,3}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6})\d*)?\s*$")
_TIME_MAX_US: Final = (838 * 3600 + 59 * 60 + 59) * 1_000_000
_TEMPORAL_TYPES: Final = {
    exp.DataType.Type.DATETIME: "datetime",
    exp.DataType.Type.DATETIME64: "datetime",
    exp.DataType.Type.TIMESTAMP: "datetime",
    exp.DataType.Type.TIMESTAMPTZ: "literal",  # TIMESTAMP '…': sqlglot's reading of the literal
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIME: "time",
    exp.DataType.Type.DOUBLE: "double",
}


class NotConstant(Exception):
    """The value cannot be computed here (faithfully): the target evaluates the statement."""


# ------------------------------------------------------------------------------- literal nodes


def datetime_literal(value: dt.datetime, fsp: int) -> exp.Expr:
    """A DATETIME(fsp) constant: CAST('…' AS DATETIME(fsp)) in MySQL, TIMESTAMP in PostgreSQL."""
    text = value.strftime("%Y-%m-%d %H:%M:%S") + _frac(value.microsecond, fsp)
    return exp.Cast(this=exp.Literal.string(text), to=_type("DATETIME", fsp))


def date_literal(value: dt.date) -> exp.Expr:
    return exp.Cast(this=exp.Literal.string(value.isoformat()), to=_type("DATE", 0))


def time_literal(value: dt.time, fsp: int) -> exp.Expr:
    text = value.strftime("%H:%M:%S") + _frac(value.microsecond, fsp)
    return exp.Cast(this=exp.Literal.string(text), to=_type("TIME", fsp))


def double_literal(value: float) -> exp.Expr:
    """A DOUBLE constant: CAST(<shortest round-trip text> AS DOUBLE), so neither engine reads
    it as an exact decimal (MySQL reads 0.5 as DECIMAL, PostgreSQL as numeric)."""
    text = repr(value)
    if "e" not in text and "inf" not in text and "nan" not in text:
        text += "e0"
    return exp.Cast(this=exp.Literal.number(text), to=_type("DOUBLE", 0))


def value_literal(value: Plain) -> exp.Expr:
    """A literal node for a user variable's or a context's value."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        return double_literal(value)
    if isinstance(value, bytes):
        return exp.HexString(this=value.hex())
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise NotConstant(f"no literal for {type(value).__name__}")


def _type(name: str, fsp: int) -> exp.DataType:
    return _built_type(name, fsp).copy()


@functools.lru_cache(maxsize=64)
def _built_type(name: str, fsp: int) -> exp.DataType:
    # DataType.build parses its text: once per type, not once per NOW() of a multi-row INSERT.
    return exp.DataType.build(f"{name}({fsp})" if fsp else name, dialect="mysql")


def _frac(us: int, fsp: int) -> str:
    return f".{us:06d}"[: fsp + 1] if fsp else ""


# ------------------------------------------------------------------------------------ evaluate


def evaluate(node: exp.Expr) -> Plain:  # noqa: PLR0911, PLR0912 - one case per node kind
    """The value of a constant expression, or NotConstant."""
    if isinstance(node, exp.Paren):
        return evaluate(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Boolean):
        return 1 if node.this else 0
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.Neg):
        inner = evaluate(node.this)
        if isinstance(inner, int | Decimal | float):
            return -inner
        raise NotConstant("negation of a non-number")
    if isinstance(node, exp.HexString):
        digits = node.this
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    if isinstance(node, exp.BitString):
        bits = node.this or "0"
        n = int(bits, 2)
        return n.to_bytes(max(1, (len(bits) + 7) // 8), "big")
    if isinstance(node, exp.National):
        return str(node.this)
    if isinstance(node, exp.Introducer):
        inner = evaluate(node.expression)
        charset = node.this.name.lower() if isinstance(node.this, exp.Expr) else ""
        if charset == "_binary":
            return inner.encode() if isinstance(inner, str) else inner
        if isinstance(inner, bytes) and charset in ("_utf8", "_utf8mb4", "_utf8mb3"):
            return inner.decode("utf-8")
        if isinstance(inner, str):
            return inner
        raise NotConstant("a character set introducer")
    if isinstance(node, exp.Concat):
        parts = [evaluate(e) for e in node.expressions]
        if any(p is None for p in parts):
            return None
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)  # type: ignore[arg-type]
        raise NotConstant("CONCAT of non-strings")
    if isinstance(node, exp.Cast):
        return _cast(node)
    raise NotConstant(type(node).__name__)


def _number(text: str) -> int | Decimal | float:
    if "e" in text.lower():
        return float(text)
    if "." in text:
        return Decimal(text)
    return int(text)


def _cast(node: exp.Cast) -> Plain:
    kind = _TEMPORAL_TYPES.get(node.to.this)
    inner = evaluate(node.this)
    if kind is None or inner is None:
        if inner is None:
            return None
        raise NotConstant(f"CAST AS {node.to.sql('mysql')}")
    if kind == "double":
        if isinstance(inner, int | Decimal | float):
            return float(inner)
        raise NotConstant("CAST AS DOUBLE of a non-number")
    if not isinstance(inner, str):
        raise NotConstant("a temporal cast of a non-string")
    fsp = _type_fsp(node.to)
    if kind == "time":
        return _time_delta(inner, fsp if fsp is not None else 0)
    parsed = _parse_datetime(inner)
    if parsed is None:
        raise NotConstant(f"not a date: {inner!r}")
    if kind == "date":
        return parsed.date()
    if kind == "datetime":
        return _cut_fraction(parsed, fsp or 0, truncate=True)
    return parsed  # TIMESTAMP '…': keeps its digits


def _type_fsp(t: exp.DataType) -> int | None:
    if t.expressions:
        size = t.expressions[0]
        value = size.this if isinstance(size, exp.DataTypeParam) else size
        try:
            return int(value.name if isinstance(value, exp.Expr) else value)
        except ValueError:
            return None
    return None


def _parse_datetime(text: str) -> dt.datetime | None:
    m = _DT_RE.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return dt.datetime(
            int(y),
            int(mo),
            int(d),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        return None


def _time_delta(text: str, fsp: int) -> dt.timedelta:
    m = _TIME_RE.match(text)
    if not m:
        raise NotConstant(f"not a time: {text!r}")
    sign, days, h, mi, s, frac = m.groups()
    us = int((frac or "0").ljust(6, "0"))
    us -= us % 10 ** (6 - fsp)
    total = (((int(days or 0) * 24 + int(h)) * 60 + int(mi)) * 60 + int(s)) * 1_000_000 + us
    return dt.timedelta(microseconds=-total if sign else total)


def _cut_fraction(value: dt.datetime, fsp: int, *, truncate: bool) -> dt.datetime:
    unit = 10 ** (6 - fsp)
    us = value.microsecond
    if truncate:
        return value.replace(microsecond=us - us % unit)
    rounded = (us + unit // 2) // unit * unit
    return value.replace(microsecond=0) + dt.timedelta(microseconds=rounded)


# --------------------------------------------------------------------------------------- store


def store(  # noqa: PLR0911, PLR0912 - one branch per column kind
    value: Plain, column: Column, *, zone: dt.tzinfo, mariadb: bool
) -> Value:
    """`value` stored in `column` as the server stores it, as a ROW binlog would carry it."""
    if value is None:
        return None
    t = column.type
    kind = t.kind
    if kind in ("int", "uint"):
        if t.source_type.lower().startswith("year"):
            return _year(value)
        n = _to_int(value)
        bits = t.size or 64
        lo, hi = (0, 2**bits - 1) if kind == "uint" else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not lo <= n <= hi:
            raise NotConstant("out of range")
        return n
    if kind == "decimal":
        return _to_decimal(value, t.precision or 10, t.scale or 0)
    if kind == "float":
        if "," in t.source_type:
            raise NotConstant("FLOAT(M,D) rounds to D digits")
        f = float(_to_number(value))
        return float(struct.unpack("<f", struct.pack("<f", f))[0]) if t.size == 32 else f
    if kind == "text":
        return _to_text(value, t.size)
    if kind == "bytes":
        raw = value.encode() if isinstance(value, str) else value
        if not isinstance(raw, bytes):
            raise NotConstant("a non-string into a binary column")
        if t.size is not None and len(raw) > t.size:
            raise NotConstant("too long")
        return raw.ljust(t.size, b"\0") if t.fixed and t.size else raw
    if kind in ("date", "timestamp", "timestamptz"):
        return _temporal(value, kind, t.precision or 0, zone=zone, mariadb=mariadb)
    if kind == "interval":
        return _to_interval(value, t.precision or 0, mariadb=mariadb)
    if kind == "enum":
        return _enum(value, t.labels)
    if kind == "set":
        return _set(value, t.labels)
    if kind == "json":
        if isinstance(value, str):
            return Json(value)
        raise NotConstant("a non-string into a JSON column")
    if kind == "bits":
        n = _to_int(value) if not isinstance(value, bytes) else int.from_bytes(value, "big")
        width = t.size or 1
        if n < 0 or n >= 2**width:
            raise NotConstant("out of range")
        return BitString(format(n, f"0{width}b"))
    if kind == "uuid" and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise NotConstant("not a UUID") from None
    raise NotConstant(f"a {kind} column")


def _to_number(value: Plain) -> int | Decimal | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | Decimal | float):
        return value
    if isinstance(value, str) and _NUM_RE.match(value):
        return _number(value.strip())
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    raise NotConstant("not a number")


def _to_int(value: Plain) -> int:
    n = _to_number(value)
    if isinstance(n, int):
        return n
    if isinstance(n, float):
        # A double is cut with rint(): halves to even (2.5e0 -> 2, as the server stores it).
        if not math.isfinite(n):
            raise NotConstant("not finite")
        return round(n)
    return int(n.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _to_decimal(value: Plain, precision: int, scale: int) -> Decimal:
    n = _to_number(value)
    # From a double, the server goes through its shortest text (1.15e0 -> 1.15 -> 1.2).
    d = Decimal(repr(n)) if isinstance(n, float) else Decimal(n)
    try:
        q = d.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise NotConstant("decimal out of range") from None
    if len(q.as_tuple().digits) > precision and q != 0:
        raise NotConstant("decimal out of range")
    return q


def _to_text(value: Plain, size: int | None) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise NotConstant("bytes that are not UTF-8") from None
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, float):
        text = _double_text(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        raise NotConstant("a value whose text form the server writes its own way")
    if size is not None and len(text) > size:
        raise NotConstant("too long")
    return text


def _double_text(value: float) -> str:
    """A double as the server writes it into a string (RAND() into a VARCHAR): its shortest
    round-trip digits, positional. Past the range where that is certain (the server switches
    to exponents, '1e20'), the target computes it."""
    if value == 0:
        return "0"
    if not 1e-6 <= abs(value) < 1e15:
        raise NotConstant("a double whose text the server writes with an exponent")
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def _year(value: Plain) -> int:
    n = _to_int(value)
    if isinstance(value, str) and len(value.strip()) <= 2:
        n = 2000 + n if n < 70 else 1900 + n  # '0'..'69' and '70'..'99' as two-digit years
    elif 1 <= n <= 69:
        n += 2000
    elif 70 <= n <= 99:
        n += 1900
    if n != 0 and not 1901 <= n <= 2155:
        raise NotConstant("YEAR out of range")
    return n


def _temporal(value: Plain, kind: str, fsp: int, *, zone: dt.tzinfo, mariadb: bool) -> Value:
    if isinstance(value, str):
        zero = _zero_date(value, kind, fsp)
        if zero is not None:
            return zero
        parsed = _parse_datetime(value)
        if parsed is None:
            raise NotConstant("not a date")
        value = parsed
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    else:
        raise NotConstant("not a date")
    if kind == "date":
        return moment.date()
    moment = _cut_fraction(moment, fsp, truncate=mariadb)
    if kind == "timestamp":
        return moment
    local = moment.replace(tzinfo=zone)
    if moment.replace(tzinfo=zone, fold=1).utcoffset() != local.utcoffset():
        raise NotConstant("a local time the zone repeats or skips")
    utc = local.astimezone(dt.UTC)
    if (
        not dt.datetime(1970, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
        <= utc
        < dt.datetime(2038, 1, 19, 3, 14, 8, tzinfo=dt.UTC)
    ):
        raise NotConstant("TIMESTAMP out of range")
    return utc


def _zero_date(text: str, kind: str, fsp: int) -> ZeroDate | None:
    m = _DT_RE.match(text)
    if not m:
        return None
    y, mo, d = (int(x) for x in m.groups()[:3])
    if y and mo and d:
        return None
    if kind == "date":
        return ZeroDate("date", f"{y:04d}-{mo:02d}-{d:02d}")
    if kind == "timestamptz":
        if (y, mo, d) != (0, 0, 0) or any(int(x or 0) for x in m.groups()[3:]):
            raise NotConstant("a partly zero TIMESTAMP")
        return ZeroDate("timestamptz", "0000-00-00 00:00:00" + _frac(0, fsp))
    h, mi, s = (int(x or 0) for x in m.groups()[3:6])
    frac = int((m.group(7) or "0").ljust(6, "0"))
    frac -= frac % 10 ** (6 - fsp)
    return ZeroDate(
        "timestamp", f"{y:04d}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{s:02d}" + _frac(frac, fsp)
    )


def _to_interval(value: Plain, fsp: int, *, mariadb: bool) -> Interval:
    if isinstance(value, str):
        delta = _time_delta(value, 6)
    elif isinstance(value, dt.timedelta):
        delta = value
    elif isinstance(value, dt.datetime):
        delta = dt.timedelta(
            hours=value.hour, minutes=value.minute, seconds=value.second,
            microseconds=value.microsecond,
        )  # fmt: skip
    else:
        raise NotConstant("not a time")
    us = delta // dt.timedelta(microseconds=1)
    unit = 10 ** (6 - fsp)
    sign = -1 if us < 0 else 1
    us = abs(us)
    us = us - us % unit if mariadb else (us + unit // 2) // unit * unit
    if us > _TIME_MAX_US:
        raise NotConstant("TIME out of range")
    return Interval(0, 0, sign * us)


def _enum(value: Plain, labels: tuple[str, ...]) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= len(labels):
            return labels[value - 1]
        raise NotConstant("enum index out of range")
    if isinstance(value, str):
        # ENUM values compare in the column's collation: case-insensitively for the usual
        # *_ci ones, and trailing spaces do not count. The stored value is the label.
        for label in labels:
            if label.lower().rstrip(" ") == value.lower().rstrip(" "):
                return label
    raise NotConstant("not an enum label")


def _set(value: Plain, labels: tuple[str, ...]) -> MysqlSet:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or value >= 2 ** len(labels):
            raise NotConstant("set bits out of range")
        return MysqlSet(frozenset(lb for i, lb in enumerate(labels) if value >> i & 1))
    if isinstance(value, str):
        members = set()
        by_lower = {lb.lower(): lb for lb in labels}
        for part in value.split(",") if value else ():
            label = by_lower.get(part.lower().rstrip(" "))
            if label is None:
                raise NotConstant("not a set member")
            members.add(label)
        return MysqlSet(frozenset(members))
    raise NotConstant("not a set")


def implicit_default(column: Column) -> Value:  # noqa: PLR0911 - one return per column kind
    """What the server stores in a NOT NULL column without a default that an INSERT leaves out
    (non-strict sql_mode; a strict one refuses the statement, which then never reaches the
    binlog of a transactional table)."""
    t = column.type
    if t.kind in ("int", "uint", "decimal", "float"):
        return (
            Decimal(0).scaleb(-(t.scale or 0))
            if t.kind == "decimal"
            else (0.0 if t.kind == "float" else 0)
        )
    if t.kind == "text":
        return ""
    if t.kind == "bytes":
        return b"\0" * (t.size or 0) if t.fixed else b""
    if t.kind == "enum" and t.labels:
        return t.labels[0]
    if t.kind == "set":
        return MysqlSet(frozenset())
    if t.kind == "date":
        return ZeroDate("date", "0000-00-00")
    if t.kind == "timestamp":
        return ZeroDate("timestamp", "0000-00-00 00:00:00" + _frac(0, t.precision or 0))
    if t.kind == "interval":
        return Interval(0, 0, 0)
    raise NotConstant(f"no implicit default for a {t.kind} column")


# ------------------------------------------------------------------- time zones, seeds, ids

_OFFSET_RE = re.compile(r"^([+-])(\d{1,2}):(\d{2})$")


def session_zone(context: StatementContext) -> dt.tzinfo:
    """The statement's session time zone (UTC when the statement did not use one)."""
    name = context.time_zone
    if name is None:
        return dt.UTC
    if name.upper() == "SYSTEM":
        name = context.system_time_zone or "UTC"
    m = _OFFSET_RE.match(name)
    if m:
        minutes = int(m.group(2)) * 60 + int(m.group(3))
        return dt.timezone(dt.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TranslateError(
            f"the source's time zone {name!r} is unknown to bridge",
            hint="set time_zone to an offset ('+02:00') or an IANA name on the source",
        ) from None


def postgres_time_zone(context: StatementContext) -> str:
    """The PostgreSQL TimeZone setting equal to the statement's session time zone."""
    zone = session_zone(context)
    if isinstance(zone, zoneinfo.ZoneInfo):
        return zone.key
    offset = zone.utcoffset(None) or dt.timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes % 60 == 0 and abs(minutes) <= 14 * 60:
        # An IANA name psycopg also knows (POSIX-style strings make it warn); Etc/GMT-2 is
        # UTC+02:00, the sign inverted by POSIX convention.
        hours = minutes // 60
        return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    sign = "+" if minutes >= 0 else "-"
    hh, mm = divmod(abs(minutes), 60)
    # POSIX zone strings count hours west of Greenwich: UTC+02:00 is '<+02:00>-02:00'.
    west = "-" if minutes > 0 else "+"
    return f"<{sign}{hh:02d}{mm:02d}>{west}{hh:02d}:{mm:02d}"


def next_insert_id(nr: int, increment: int, offset: int) -> int:
    """compute_next_insert_id() of the server (sql/handler.cc)."""
    if increment == 1:
        return nr + 1
    return (nr + increment - offset) // increment * increment + offset


def seed_int(value: Plain) -> int:
    """RAND(N)'s N as the server's val_int() reads it: rounded, NULL and non-numbers as 0."""
    if value is None or isinstance(value, bytes | dt.date | dt.timedelta):
        return 0
    try:
        n = _to_number(value)
    except NotConstant:
        return 0
    if isinstance(n, float):
        return round(n)
    return int(_to_int(n))
