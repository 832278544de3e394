"""Column value decoders for binlog row events: bytes of one column -> a common-log value.

`column_reader` builds, once per table map, one function per column that reads its value at a
byte offset and returns (value, next offset); `bridge.readers.binlogrows` runs them row after row.
Layouts: MySQL `Field::pack` / `my_time.cc` / `decimal.c` (MariaDB shares them for the
MySQL 5.6 temporal formats it writes by default since 10.3).

Values follow bridge/log/values.py exactly: signed and unsigned integers by the table map's
signedness metadata, DECIMAL as an exact `Decimal` with its scale, FLOAT as the stored single
(Python float), BIT(n) as a `BitString` of n bits, YEAR as int (0 for 0000), DATE/DATETIME as
date/naive datetime, TIMESTAMP as an aware UTC datetime (the binlog stores seconds since the
epoch, whatever the session time zone), zero and partly zero dates as `ZeroDate` (never None),
TIME as `Interval(0, 0, µs)` (negative and beyond 24 h included), text in the column's character
set, binary strings as bytes (BINARY(n) re-padded with 0x00 as the server stores it), ENUM as its
label, SET as `MysqlSet`, JSON as `Json(text)`.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final

from bridge.errors import DecodeError
from bridge.log.values import BitString, Interval, Json, MysqlSet, Value, ZeroDate

Reader = Callable[[bytes, int], tuple[Value, int]]
"""Reads one non-NULL column value at an offset: (value, offset after it)."""

# Column type codes of the table map (MySQL field_types.h).
T_DECIMAL: Final = 0
T_TINY: Final = 1
T_SHORT: Final = 2
T_LONG: Final = 3
T_FLOAT: Final = 4
T_DOUBLE: Final = 5
T_NULL: Final = 6
T_TIMESTAMP: Final = 7
T_LONGLONG: Final = 8
T_INT24: Final = 9
T_DATE: Final = 10
T_TIME: Final = 11
T_DATETIME: Final = 12
T_YEAR: Final = 13
T_NEWDATE: Final = 14
T_VARCHAR: Final = 15
T_BIT: Final = 16
T_TIMESTAMP2: Final = 17
T_DATETIME2: Final = 18
T_TIME2: Final = 19
T_JSON: Final = 245
T_NEWDECIMAL: Final = 246
T_ENUM: Final = 247
T_SET: Final = 248
T_TINY_BLOB: Final = 249
T_MEDIUM_BLOB: Final = 250
T_LONG_BLOB: Final = 251
T_BLOB: Final = 252
T_VAR_STRING: Final = 253
T_STRING: Final = 254
T_GEOMETRY: Final = 255

TYPE_NAMES: Final = {
    T_DECIMAL: "decimal",
    T_TINY: "tinyint",
    T_SHORT: "smallint",
    T_LONG: "int",
    T_FLOAT: "float",
    T_DOUBLE: "double",
    T_TIMESTAMP: "timestamp",
    T_LONGLONG: "bigint",
    T_INT24: "mediumint",
    T_DATE: "date",
    T_TIME: "time",
    T_DATETIME: "datetime",
    T_YEAR: "year",
    T_NEWDATE: "date",
    T_VARCHAR: "varchar",
    T_BIT: "bit",
    T_TIMESTAMP2: "timestamp",
    T_DATETIME2: "datetime",
    T_TIME2: "time",
    T_JSON: "json",
    T_NEWDECIMAL: "decimal",
    T_ENUM: "enum",
    T_SET: "set",
    T_TINY_BLOB: "tinyblob",
    T_MEDIUM_BLOB: "mediumblob",
    T_LONG_BLOB: "longblob",
    T_BLOB: "blob",
    T_VAR_STRING: "varchar",
    T_STRING: "char",
    T_GEOMETRY: "geometry",
}

INT_TYPES: Final = {T_TINY: 8, T_SHORT: 16, T_INT24: 24, T_LONG: 32, T_LONGLONG: 64}
NUMERIC_TYPES: Final = frozenset({*INT_TYPES, T_FLOAT, T_DOUBLE, T_NEWDECIMAL, T_DECIMAL})
"""Types the SIGNEDNESS metadata has a bit for (MySQL `is_numeric_type`)."""
CHARACTER_TYPES: Final = frozenset({T_STRING, T_VARCHAR, T_VAR_STRING, T_BLOB})
"""Types the charset metadata covers (ENUM/SET have their own; MySQL `is_character_type`)."""
BINARY_COLLATION: Final = 63

# MySQL character set names -> Python codecs. MySQL's latin1 is Windows-1252.
_CODECS: Final = {
    "utf8mb4": "utf-8",
    "utf8mb3": "utf-8",
    "utf8": "utf-8",
    "latin1": "cp1252",
    "ascii": "ascii",
    "ucs2": "utf-16-be",
    "utf16": "utf-16-be",
    "utf16le": "utf-16-le",
    "utf32": "utf-32-be",
    "latin2": "iso8859-2",
    "latin5": "iso8859-9",
    "latin7": "iso8859-13",
    "greek": "iso8859-7",
    "hebrew": "iso8859-8",
    "koi8r": "koi8-r",
    "koi8u": "koi8-u",
    "cp1250": "cp1250",
    "cp1251": "cp1251",
    "cp1256": "cp1256",
    "cp1257": "cp1257",
    "cp850": "cp850",
    "cp852": "cp852",
    "cp866": "cp866",
    "sjis": "shift_jis",
    "cp932": "cp932",
    "ujis": "euc_jp",
    "eucjpms": "euc_jp",
    "euckr": "euc_kr",
    "gbk": "gbk",
    "gb2312": "gb2312",
    "gb18030": "gb18030",
    "big5": "big5",
    "tis620": "tis-620",
    "macroman": "mac_roman",
    "macce": "mac_latin2",
}


def codec_for(charset: str) -> str | None:
    """The Python codec of a MySQL character set; None for 'binary'."""
    if charset == "binary":
        return None
    codec = _CODECS.get(charset)
    if codec is None:
        raise DecodeError(
            f"character set {charset!r} has no decoder in bridge",
            hint="convert the column to utf8mb4",
        )
    return codec


_S8 = struct.Struct("<b")
_U8 = struct.Struct("<B")
_S16 = struct.Struct("<h")
_U16 = struct.Struct("<H")
_S32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_S64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")
_UTC = dt.UTC


def _fixed(s: struct.Struct) -> Reader:
    unpack, size = s.unpack_from, s.size

    def read(b: bytes, p: int) -> tuple[Value, int]:
        return unpack(b, p)[0], p + size

    return read


def _int24(unsigned: bool) -> Reader:
    def read(b: bytes, p: int) -> tuple[Value, int]:
        return int.from_bytes(b[p : p + 3], "little", signed=not unsigned), p + 3

    return read


_INTS: Final = {
    (T_TINY, False): _fixed(_S8),
    (T_TINY, True): _fixed(_U8),
    (T_SHORT, False): _fixed(_S16),
    (T_SHORT, True): _fixed(_U16),
    (T_INT24, False): _int24(False),
    (T_INT24, True): _int24(True),
    (T_LONG, False): _fixed(_S32),
    (T_LONG, True): _fixed(_U32),
    (T_LONGLONG, False): _fixed(_S64),
    (T_LONGLONG, True): _fixed(_U64),
}

_DIG2BYTES: Final = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)


def decimal_reader(precision: int, scale: int) -> Reader:
    """DECIMAL(precision, scale) in MySQL's binary format (strings/decimal.c, decimal2bin).

    Digits go in groups of nine per 4 big-endian bytes, leftover digits in 1-4 bytes; the sign
    is the first bit inverted, and a negative number has every bit inverted.
    """
    intg0, intg0x = divmod(precision - scale, 9)
    frac0, frac0x = divmod(scale, 9)
    lead = _DIG2BYTES[intg0x]
    tail = _DIG2BYTES[frac0x]
    size = lead + 4 * (intg0 + frac0) + tail

    def read(b: bytes, p: int) -> tuple[Value, int]:
        raw = bytearray(b[p : p + size])
        negative = not raw[0] & 0x80
        raw[0] ^= 0x80
        if negative:
            raw = bytearray(x ^ 0xFF for x in raw)
        parts = [str(int.from_bytes(raw[:lead], "big"))] if lead else ["0"]
        q = lead
        for _ in range(intg0):
            parts.append(f"{int.from_bytes(raw[q : q + 4], 'big'):09d}")
            q += 4
        if scale:
            parts.append(".")
            for _ in range(frac0):
                parts.append(f"{int.from_bytes(raw[q : q + 4], 'big'):09d}")
                q += 4
            if tail:
                parts.append(str(int.from_bytes(raw[q : q + tail], "big")).zfill(frac0x))
        text = "".join(parts)
        return Decimal("-" + text if negative else text), p + size

    return read


def _fraction(fsp: int) -> tuple[int, int]:
    """(bytes, microseconds per unit) of the fractional part of a MySQL 5.6 temporal."""
    return ((0, 0), (1, 10000), (1, 10000), (2, 100), (2, 100), (3, 1), (3, 1))[fsp]


def _frac_text(us: int, fsp: int) -> str:
    return f".{us:06d}"[: fsp + 1] if fsp else ""


def time2_reader(fsp: int) -> Reader:
    """TIME(fsp): 3 bytes (sign, hours 10 bits, minutes 6, seconds 6) + fraction, big-endian.

    Negative values are stored offset-binary; their fraction counts backwards (my_time.cc,
    my_time_packed_from_binary), so intpart and frac are corrected together.
    """
    nfrac, unit = _fraction(fsp)
    size = 3 + nfrac

    def read(b: bytes, p: int) -> tuple[Value, int]:
        if nfrac == 3:
            packed = int.from_bytes(b[p : p + 6], "big") - 0x800000000000
        else:
            intpart = int.from_bytes(b[p : p + 3], "big") - 0x800000
            frac = int.from_bytes(b[p + 3 : p + size], "big") if nfrac else 0
            if intpart < 0 and frac:
                intpart += 1
                frac -= 0x100 if nfrac == 1 else 0x10000
            packed = (intpart << 24) + frac * unit
        sign = -1 if packed < 0 else 1
        packed = abs(packed)
        hms, us = packed >> 24, packed & 0xFFFFFF
        hours, minutes, seconds = (hms >> 12) & 0x3FF, (hms >> 6) & 0x3F, hms & 0x3F
        total = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + us
        return Interval(0, 0, sign * total), p + size

    return read


def datetime2_reader(fsp: int) -> Reader:
    """DATETIME(fsp): 5 bytes (sign, year*13+month 17 bits, day 5, h 5, m 6, s 6) + fraction."""
    nfrac, unit = _fraction(fsp)
    size = 5 + nfrac

    def read(b: bytes, p: int) -> tuple[Value, int]:
        packed = int.from_bytes(b[p : p + 5], "big") - 0x8000000000
        us = int.from_bytes(b[p + 5 : p + size], "big") * unit if nfrac else 0
        ymd, hms = packed >> 17, packed & 0x1FFFF
        ym, day = ymd >> 5, ymd & 0x1F
        year, month = divmod(ym, 13)
        hour, minute, second = hms >> 12, (hms >> 6) & 0x3F, hms & 0x3F
        try:
            value: Value = dt.datetime(year, month, day, hour, minute, second, us)
        except ValueError:
            text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
            value = ZeroDate("timestamp", text + _frac_text(us, fsp))
        return value, p + size

    return read


def timestamp2_reader(fsp: int) -> Reader:
    """TIMESTAMP(fsp): seconds since the epoch (4 bytes big-endian, UTC) + fraction; 0 is the
    zero timestamp '0000-00-00 00:00:00'."""
    nfrac, unit = _fraction(fsp)
    size = 4 + nfrac
    epoch = dt.datetime(1970, 1, 1, tzinfo=_UTC)

    def read(b: bytes, p: int) -> tuple[Value, int]:
        seconds = int.from_bytes(b[p : p + 4], "big")
        us = int.from_bytes(b[p + 4 : p + size], "big") * unit if nfrac else 0
        if seconds == 0 and us == 0:
            return ZeroDate("timestamptz", "0000-00-00 00:00:00" + _frac_text(0, fsp)), p + size
        return epoch + dt.timedelta(seconds=seconds, microseconds=us), p + size

    return read


def _date(b: bytes, p: int) -> tuple[Value, int]:
    v = b[p] | b[p + 1] << 8 | b[p + 2] << 16
    day, month, year = v & 0x1F, (v >> 5) & 0x0F, v >> 9
    try:
        return dt.date(year, month, day), p + 3
    except ValueError:
        return ZeroDate("date", f"{year:04d}-{month:02d}-{day:02d}"), p + 3


def _year(b: bytes, p: int) -> tuple[Value, int]:
    v = b[p]
    return (1900 + v if v else 0), p + 1


def _old_time(b: bytes, p: int) -> tuple[Value, int]:
    v = int.from_bytes(b[p : p + 3], "little", signed=True)
    sign, v = (-1 if v < 0 else 1), abs(v)
    h, rest = divmod(v, 10000)
    m, s = divmod(rest, 100)
    return Interval(0, 0, sign * ((h * 60 + m) * 60 + s) * 1_000_000), p + 3


def _old_datetime(b: bytes, p: int) -> tuple[Value, int]:
    v = _U64.unpack_from(b, p)[0]
    d, t = divmod(v, 1_000_000)
    year, md = divmod(d, 10000)
    month, day = divmod(md, 100)
    hour, ms = divmod(t, 10000)
    minute, second = divmod(ms, 100)
    try:
        return dt.datetime(year, month, day, hour, minute, second), p + 8
    except ValueError:
        text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
        return ZeroDate("timestamp", text), p + 8


def _old_timestamp(b: bytes, p: int) -> tuple[Value, int]:
    seconds = _U32.unpack_from(b, p)[0]
    if seconds == 0:
        return ZeroDate("timestamptz", "0000-00-00 00:00:00"), p + 4
    return dt.datetime.fromtimestamp(seconds, _UTC), p + 4


def bit_reader(nbits: int) -> Reader:
    size = (nbits + 7) // 8

    def read(b: bytes, p: int) -> tuple[Value, int]:
        v = int.from_bytes(b[p : p + size], "big")
        return BitString(format(v, f"0{nbits}b")), p + size

    return read


def string_reader(len_bytes: int, codec: str | None, pad_to: int = 0) -> Reader:
    """A length-prefixed string: text in `codec`, or bytes (right-padded to `pad_to` with 0x00:
    the server stores BINARY(n) padded but logs it without its trailing zero bytes)."""
    if codec is None:
        if pad_to:

            def read_padded(b: bytes, p: int) -> tuple[Value, int]:
                n = int.from_bytes(b[p : p + len_bytes], "little")
                start = p + len_bytes
                return b[start : start + n].ljust(pad_to, b"\0"), start + n

            return read_padded

        def read_bytes(b: bytes, p: int) -> tuple[Value, int]:
            n = int.from_bytes(b[p : p + len_bytes], "little")
            start = p + len_bytes
            return b[start : start + n], start + n

        return read_bytes
    if len_bytes == 1:

        def read_short(b: bytes, p: int) -> tuple[Value, int]:
            end = p + 1 + b[p]
            return b[p + 1 : end].decode(codec), end

        return read_short

    def read_text(b: bytes, p: int) -> tuple[Value, int]:
        n = int.from_bytes(b[p : p + len_bytes], "little")
        start = p + len_bytes
        return b[start : start + n].decode(codec), start + n

    return read_text


def json_text_reader(len_bytes: int, codec: str) -> Reader:
    """MariaDB JSON: a LONGTEXT whose text is kept exactly."""
    inner = string_reader(len_bytes, codec)

    def read(b: bytes, p: int) -> tuple[Value, int]:
        text, end = inner(b, p)
        return Json(str(text)), end

    return read


def mysql_json_reader(len_bytes: int) -> Reader:
    """MySQL JSON: its binary form, turned into text (bridge.readers.binlogjson)."""
    from bridge.readers.binlogjson import json_text  # noqa: PLC0415 - MySQL only

    def read(b: bytes, p: int) -> tuple[Value, int]:
        n = int.from_bytes(b[p : p + len_bytes], "little")
        start = p + len_bytes
        return Json(json_text(b[start : start + n])), start + n

    return read


def enum_reader(size: int, labels: Sequence[str]) -> Reader:
    """ENUM: a 1-based index into the labels; 0 is the '' a strict-less server stores for an
    invalid value."""
    table = ("", *labels)

    def read(b: bytes, p: int) -> tuple[Value, int]:
        i = b[p] if size == 1 else int.from_bytes(b[p : p + size], "little")
        if i >= len(table):
            raise DecodeError(f"ENUM index {i} beyond its {len(labels)} labels")
        return table[i], p + size

    return read


def set_reader(size: int, labels: Sequence[str]) -> Reader:
    def read(b: bytes, p: int) -> tuple[Value, int]:
        mask = int.from_bytes(b[p : p + size], "little")
        members = frozenset(label for i, label in enumerate(labels) if mask >> i & 1)
        return MysqlSet(members), p + size

    return read


def column_reader(  # noqa: PLR0911, PLR0912 - one branch per type family
    ctype: int,
    meta: tuple[int, int],
    *,
    unsigned: bool = False,
    codec: str | None = None,
    labels: Sequence[str] = (),
    json: bool = False,
) -> Reader:
    """The reader for one column of a table map (type resolved, metadata as two numbers).

    `meta` is (first, second) as `bridge.readers.binlogrows.parse_meta` normalizes it: the
    maximum byte length of strings, (precision, scale) of DECIMAL, fsp of temporals, the
    length-prefix size of BLOB/JSON/GEOMETRY, the byte size of ENUM/SET, the bit count of BIT.
    `json` marks a MariaDB JSON column (a LONGTEXT the schema declares JSON).
    """
    a, b = meta
    reader = _INTS.get((ctype, unsigned))
    if reader is not None:
        return reader
    fixed: dict[int, Reader] = {
        T_FLOAT: _fixed(_F32),
        T_DOUBLE: _fixed(_F64),
        T_YEAR: _year,
        T_DATE: _date,
        T_NEWDATE: _date,
        T_TIME: _old_time,
        T_DATETIME: _old_datetime,
        T_TIMESTAMP: _old_timestamp,
    }
    if ctype in fixed:
        return fixed[ctype]
    if ctype == T_NEWDECIMAL:
        return decimal_reader(a, b)
    if ctype == T_TIME2:
        return time2_reader(a)
    if ctype == T_DATETIME2:
        return datetime2_reader(a)
    if ctype == T_TIMESTAMP2:
        return timestamp2_reader(a)
    if ctype == T_BIT:
        return bit_reader(a)
    if ctype == T_ENUM:
        return enum_reader(a, labels)
    if ctype == T_SET:
        return set_reader(a, labels)
    if ctype in (T_VARCHAR, T_VAR_STRING, T_STRING):
        len_bytes = 1 if a < 256 else 2
        pad = a if ctype == T_STRING and codec is None else 0
        return string_reader(len_bytes, codec, pad)
    if ctype in (T_BLOB, T_GEOMETRY):
        if json and codec is not None:
            return json_text_reader(a, codec)
        return string_reader(a, codec if ctype == T_BLOB else None)
    if ctype == T_JSON:
        return mysql_json_reader(a)
    raise DecodeError(f"column type {TYPE_NAMES.get(ctype, ctype)} has no decoder in bridge")
