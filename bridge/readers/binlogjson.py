"""MySQL's binary JSON (the JSON column type in MySQL row events) to JSON text.

MariaDB stores JSON as LONGTEXT and needs none of this. The format is MySQL's
`sql-common/json_binary.cc`: a type byte, then objects and arrays as (count, size, key entries,
value entries) with small (2-byte) or large (4-byte) offsets relative to the container, scalars
inline or at an offset. The text follows MySQL's own printing: ", " and ": " separators.
Opaque values other than DECIMAL (dates and times inside a document) print as MySQL prints
unknown opaque data, "base64:typeNN:…", so nothing is lost.
"""

from __future__ import annotations

import base64
import json
import struct

from bridge.errors import DecodeError

_SMALL_OBJECT, _LARGE_OBJECT, _SMALL_ARRAY, _LARGE_ARRAY = 0, 1, 2, 3
_LITERAL, _INT16, _UINT16, _INT32, _UINT32, _INT64, _UINT64, _DOUBLE = 4, 5, 6, 7, 8, 9, 10, 11
_STRING, _OPAQUE = 12, 15
_SCALARS = {
    _INT16: struct.Struct("<h"),
    _UINT16: struct.Struct("<H"),
    _INT32: struct.Struct("<i"),
    _UINT32: struct.Struct("<I"),
    _INT64: struct.Struct("<q"),
    _UINT64: struct.Struct("<Q"),
    _DOUBLE: struct.Struct("<d"),
}


def json_text(data: bytes) -> str:
    """The JSON text of a binary JSON value; '' (an empty value) is the JSON null."""
    if not data:
        return "null"
    try:
        return _value(data[0], data, 1)
    except (IndexError, struct.error, UnicodeDecodeError) as e:
        raise DecodeError(f"malformed MySQL binary JSON: {e}") from e


def _varlen(b: bytes, p: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        byte = b[p]
        p += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, p
        shift += 7


def _value(t: int, b: bytes, p: int) -> str:
    if t in (_SMALL_OBJECT, _LARGE_OBJECT, _SMALL_ARRAY, _LARGE_ARRAY):
        return _container(t, b, p)
    if t == _LITERAL:
        return {0: "null", 1: "true", 2: "false"}[b[p]]
    if t in _SCALARS:
        v = _SCALARS[t].unpack_from(b, p)[0]
        return json.dumps(v)
    if t == _STRING:
        n, p = _varlen(b, p)
        return json.dumps(b[p : p + n].decode(), ensure_ascii=False)
    if t == _OPAQUE:
        field_type = b[p]
        n, q = _varlen(b, p + 1)
        raw = b[q : q + n]
        if field_type == 246:  # DECIMAL: precision, scale, then the binary decimal
            from bridge.readers.binlogvalues import decimal_reader  # noqa: PLC0415

            value, _ = decimal_reader(raw[0], raw[1])(raw, 2)
            return str(value)
        return json.dumps(f"base64:type{field_type}:{base64.b64encode(raw).decode()}")
    raise DecodeError(f"unknown MySQL binary JSON type {t}")


def _container(t: int, b: bytes, start: int) -> str:
    large = t in (_LARGE_OBJECT, _LARGE_ARRAY)
    w = 4 if large else 2
    count = int.from_bytes(b[start : start + w], "little")
    p = start + 2 * w
    keys: list[str] = []
    if t in (_SMALL_OBJECT, _LARGE_OBJECT):
        for _ in range(count):
            off = int.from_bytes(b[p : p + w], "little")
            n = int.from_bytes(b[p + w : p + w + 2], "little")
            keys.append(b[start + off : start + off + n].decode())
            p += w + 2
    values = []
    for _ in range(count):
        vt = b[p]
        inline = vt == _LITERAL or vt in (_INT16, _UINT16) or (large and vt in (_INT32, _UINT32))
        if inline:
            values.append(_value(vt, b, p + 1))
        else:
            off = int.from_bytes(b[p + 1 : p + 1 + w], "little")
            values.append(_value(vt, b, start + off))
        p += 1 + w
    if t in (_SMALL_ARRAY, _LARGE_ARRAY):
        return "[" + ", ".join(values) + "]"
    items = (f"{json.dumps(k, ensure_ascii=False)}: {v}" for k, v in zip(keys, values, strict=True))
    return "{" + ", ".join(items) + "}"
