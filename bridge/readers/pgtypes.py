"""PostgreSQL text values (as pgoutput sends them) to common-log values, declared by type OID.

pgoutput sends column values in the walsender's text output format. The reader opens its replication
connection with DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC, bytea_output=hex and
extra_float_digits=3 (as the native apply worker does), so the formats parsed here are fixed.

Built-in types are a table (`TEXT_DECODERS`); user types are registered as the reader learns them
from the catalog: enums decode as text, domains as their base type, arrays element-wise.
Anything unknown stays the server's text, which the target can read back (lossless).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from bridge.errors import DecodeError
from bridge.log.values import BitString, Interval, Json, SpecialTemporal, TemporalKind, Value

TextDecoder = Callable[[bytes], Value]


def _text(b: bytes) -> str:
    return b.decode("utf-8")


def _bool(b: bytes) -> bool:
    if b == b"t":
        return True
    if b == b"f":
        return False
    raise ValueError(f"not a boolean: {b!r}")


def _bytea(b: bytes) -> bytes:
    if not b.startswith(b"\\x"):
        raise ValueError("bytea is not in hex format (set bytea_output = 'hex')")
    return bytes.fromhex(b[2:].decode("ascii"))


def _special(kind: TemporalKind, parse: Callable[[str], Value]) -> TextDecoder:
    """Parse ISO text; keep infinity, BC and out-of-range values as the server's text."""

    def decode(b: bytes) -> Value:
        text = b.decode("ascii")
        if text in ("infinity", "-infinity") or text.endswith(" BC"):
            return SpecialTemporal(kind, text)
        try:
            return parse(text)
        except ValueError:
            # Years past 9999 (PostgreSQL goes to 294276 AD) and '24:00:00' for time.
            return SpecialTemporal(kind, text)

    return decode


_INTERVAL_PART = re.compile(
    r"([-+]?\d+) (year|mon|day)s?|([-+])?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,6}))?"
)
_MONTHS_PER = {"year": 12, "mon": 1}


def _interval(b: bytes) -> Interval:
    """IntervalStyle 'postgres': '1 year 2 mons -3 days +04:05:06.789'."""
    text = b.decode("ascii")
    months = days = micros = 0
    pos = 0
    for m in _INTERVAL_PART.finditer(text):
        if text[pos : m.start()].strip():
            raise ValueError(f"not an interval: {text!r}")
        pos = m.end()
        if m.group(2):
            n = int(m.group(1))
            if m.group(2) == "day":
                days += n
            else:
                months += n * _MONTHS_PER[m.group(2)]
        else:
            sign = -1 if m.group(3) == "-" else 1
            frac = int((m.group(7) or "0").ljust(6, "0"))
            hours, minutes, seconds = int(m.group(4)), int(m.group(5)), int(m.group(6))
            micros += sign * (((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + frac)
    if text[pos:].strip() or not text.strip():
        raise ValueError(f"not an interval: {text!r}")
    return Interval(months, days, micros)


def _float(b: bytes) -> float:
    return float(b)


# OID -> decoder for the built-in scalar types (pg_type.dat). Unlisted types stay text.
TEXT_DECODERS: Final[dict[int, TextDecoder]] = {
    16: _bool,  # bool
    17: _bytea,  # bytea
    18: _text,  # "char"
    19: _text,  # name
    20: int,  # int8
    21: int,  # int2
    23: int,  # int4
    25: _text,  # text
    26: int,  # oid
    114: lambda b: Json(b.decode("utf-8")),  # json
    700: _float,  # float4
    701: _float,  # float8
    1042: _text,  # bpchar
    1043: _text,  # varchar
    1082: _special("date", dt.date.fromisoformat),  # date
    1083: _special("time", dt.time.fromisoformat),  # time
    1114: _special("timestamp", dt.datetime.fromisoformat),  # timestamp
    1184: _special("timestamptz", dt.datetime.fromisoformat),  # timestamptz
    1186: _interval,  # interval
    1266: lambda b: dt.time.fromisoformat(b.decode("ascii")),  # timetz
    1560: lambda b: BitString(b.decode("ascii")),  # bit
    1562: lambda b: BitString(b.decode("ascii")),  # varbit
    1700: lambda b: Decimal(b.decode("ascii")),  # numeric (NaN, ±Infinity included)
    2950: lambda b: uuid.UUID(b.decode("ascii")),  # uuid
    3802: lambda b: Json(b.decode("utf-8")),  # jsonb
}

# Built-in array OID -> element OID.
ARRAY_ELEMENTS: Final[dict[int, int]] = {
    1000: 16, 1001: 17, 1002: 18, 1003: 19, 1016: 20, 1005: 21, 1007: 23, 1009: 25, 1028: 26,
    199: 114, 1021: 700, 1022: 701, 1014: 1042, 1015: 1043, 1182: 1082, 1183: 1083, 1115: 1114,
    1185: 1184, 1187: 1186, 1270: 1266, 1561: 1560, 1563: 1562, 1231: 1700, 2951: 2950,
    3807: 3802,
}  # fmt: skip


def parse_array(text: str, element: Callable[[str], Value], delimiter: str = ",") -> list[Value]:
    """Parse an array literal ('{1,NULL,"a,b"}', nested '{{1,2},{3,4}}', '[0:1]={…}')."""
    if text.startswith("["):  # explicit lower bounds: the bounds are dropped, values kept
        text = text[text.index("=") + 1 :]
    pos = 0

    def parse_level() -> list[Value]:
        nonlocal pos
        if text[pos] != "{":
            raise ValueError(f"array literal expected '{{' at {pos}: {text!r}")
        pos += 1
        out: list[Value] = []
        if text[pos] == "}":
            pos += 1
            return out
        while True:
            if text[pos] == "{":
                out.append(parse_level())
            elif text[pos] == '"':
                pos += 1
                chars = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    chars.append(text[pos])
                    pos += 1
                pos += 1
                out.append(element("".join(chars)))
            else:
                end = pos
                while text[end] not in (delimiter, "}"):
                    end += 1
                item = text[pos:end].strip()
                out.append(None if item == "NULL" else element(item))
                pos = end
            if text[pos] == "}":
                pos += 1
                return out
            if text[pos] != delimiter:
                raise ValueError(f"array literal expected {delimiter!r} at {pos}: {text!r}")
            pos += 1

    result = parse_level()
    if pos != len(text):
        raise ValueError(f"trailing text after array literal: {text!r}")
    return result


class PgTypes:
    """Text decoders by type OID for one source: built-ins plus the user types it registered."""

    def __init__(self) -> None:
        self._decoders: dict[int, TextDecoder] = dict(TEXT_DECODERS)
        for array_oid, elem_oid in ARRAY_ELEMENTS.items():
            self.register_array(array_oid, elem_oid)

    def decoder(self, oid: int) -> TextDecoder:
        """The decoder for `oid`; unknown types keep the server's text."""
        return self._decoders.get(oid, _text)

    def register_enum(self, oid: int) -> None:
        self._decoders[oid] = _text

    def register_domain(self, oid: int, base_oid: int) -> None:
        self._decoders[oid] = self.decoder(base_oid)

    def register_array(self, oid: int, element_oid: int, delimiter: str = ",") -> None:
        elem = self.decoder(element_oid)

        def element(item: str) -> Value:
            return elem(item.encode("utf-8"))

        self._decoders[oid] = lambda b: parse_array(b.decode("utf-8"), element, delimiter)

    def decode(self, oid: int, raw: bytes, *, column: str = "?") -> Value:
        """Decode one value; a value that does not parse is a DecodeError naming the column."""
        try:
            return self.decoder(oid)(raw)
        except (ValueError, IndexError, UnicodeDecodeError) as e:
            raise DecodeError(
                f"cannot decode column {column!r} (type oid {oid}) from {raw[:80]!r}: {e}"
            ) from e
