"""Text values from pgoutput become exact log values (captured bytes from PG 13 and 17)."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import DecodeError
from bridge.log.values import BitString, Interval, Json, SpecialTemporal
from bridge.readers import pgoutput as po
from bridge.readers.pgtypes import PgTypes, parse_array

DATA = Path(__file__).parents[1] / "data" / "pgoutput"

EXPECTED_FIRST_ROW: dict[str, Any] = {
    "id": 1,
    "i2": -32768,
    "i4": 2147483647,
    "n": Decimal("12345678901234.5678"),
    "f4": float("inf"),
    "f8": -1.5e300,
    "t": "héllo ✓ 🚀",
    "vc": "short",
    "b": b"\x00\xff\x10",
    "ok": True,
    "d": dt.date(2024, 2, 29),
    "tm": dt.time(23, 59, 59, 999999),
    "ts": SpecialTemporal("timestamp", "infinity"),
    "tstz": dt.datetime(2024, 3, 10, 2, 30, 0, 123456, tzinfo=dt.UTC),
    "iv": Interval(14, 3, ((4 * 60 + 5) * 60 + 6) * 1_000_000 + 789_000),
    "u": uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    "j": Json('{"b": 1, "a": [1, 2]}'),  # json keeps the text as written
    "jb": Json('{"a": null, "b": 1}'),  # jsonb is normalized by the server
    "arr": [1, None, 3],
    "tarr": ["a,b", 'c"d', None],
    "m": "happy",
    "p": 7,
    "bits": BitString("1010"),
    "vbits": BitString("10"),
}


@pytest.mark.parametrize("name", ["pg13-proto1.json", "pg17-proto2.json"])
def test_captured_row_decodes_to_exact_values(name: str) -> None:
    capture = json.loads((DATA / name).read_text())
    decoder = po.PgOutputDecoder(capture["proto_version"])
    msgs = [decoder.decode(bytes.fromhex(m["hex"])) for m in capture["messages"]]
    rel = next(m for m in msgs if isinstance(m, po.Relation) and m.name == "kinds")
    types = PgTypes()
    # What the reader learns from the catalog: mood is an enum, positive a domain over int4.
    oid_of = {c.name: c.type_oid for c in rel.columns}
    types.register_enum(oid_of["m"])
    types.register_domain(oid_of["p"], 23)
    insert = next(m for m in msgs if isinstance(m, po.Insert) and m.relation_oid == rel.oid)
    row = {}
    for col, raw in zip(rel.columns, insert.new, strict=True):
        assert isinstance(raw, bytes)
        row[col.name] = types.decode(col.type_oid, raw, column=col.name)
    nan = row.pop("nn")
    assert isinstance(nan, Decimal)
    assert nan.is_nan()  # NaN != NaN, so checked apart
    big = row.pop("big")
    assert isinstance(big, str)
    assert len(big) == 3200
    assert row == EXPECTED_FIRST_ROW
    tstz = row["tstz"]
    assert isinstance(tstz, dt.datetime)
    assert tstz.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:00", Interval(0, 0, 0)),
        ("1 year", Interval(12, 0, 0)),
        ("-1 years -2 mons", Interval(-14, 0, 0)),
        ("1 day -00:00:01", Interval(0, 1, -1_000_000)),
        ("-1 days +02:03:04.5", Interval(0, -1, (2 * 3600 + 3 * 60 + 4) * 1_000_000 + 500_000)),
        ("838:59:59", Interval(0, 0, (838 * 3600 + 59 * 60 + 59) * 1_000_000)),
        ("-00:00:00.000001", Interval(0, 0, -1)),
        ("178000000 years", Interval(178000000 * 12, 0, 0)),
    ],
)
def test_intervals(text: str, expected: Interval) -> None:
    assert PgTypes().decode(1186, text.encode()) == expected


@pytest.mark.parametrize(
    ("oid", "text", "expected"),
    [
        (1082, "-infinity", SpecialTemporal("date", "-infinity")),
        (1082, "0044-03-15 BC", SpecialTemporal("date", "0044-03-15 BC")),
        (
            1114,
            "294276-12-31 23:59:59.999999",
            SpecialTemporal("timestamp", "294276-12-31 23:59:59.999999"),
        ),
        (1083, "24:00:00", SpecialTemporal("time", "24:00:00")),
        (
            1184,
            "1900-01-01 00:00:00+00:09:21",
            dt.datetime(1900, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=561))),
        ),
        (1266, "04:05:06+02", dt.time(4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
        (1700, "-Infinity", Decimal("-Infinity")),
        (1700, "0.000000000000000000000000000001", Decimal("1E-30")),
        (20, "-9223372036854775808", -(2**63)),
        (701, "NaN", None),  # checked below: NaN != NaN
        (1007, "{}", []),
        (1007, "{{1,2},{3,NULL}}", [[1, 2], [3, None]]),
        (1007, "[0:1]={5,6}", [5, 6]),
        (1009, '{"",NULL,"NULL","a\\\\b"}', ["", None, "NULL", "a\\b"]),
        (1001, '{"\\\\x00ff"}', [b"\x00\xff"]),
        (3807, '{"{\\"a\\": 1}"}', [Json('{"a": 1}')]),
        (869, "192.168.0.1/32", "192.168.0.1/32"),  # inet: kept as the server's text
    ],
)
def test_edge_values(oid: int, text: str, expected: Any) -> None:
    value = PgTypes().decode(oid, text.encode())
    if oid == 701:
        assert isinstance(value, float)
        assert math.isnan(value)
    else:
        assert value == expected
        assert type(value) is type(expected)


def test_parse_array_with_another_delimiter() -> None:
    assert parse_array("{(1,1),(0,0);(2,2),(1,1)}", str, ";") == ["(1,1),(0,0)", "(2,2),(1,1)"]


@pytest.mark.parametrize(
    ("oid", "text"), [(16, "yes"), (17, "\\001"), (1007, "{1,2"), (1186, "1 fortnight"), (23, "x")]
)
def test_bad_text_is_a_decode_error_naming_the_column(oid: int, text: str) -> None:
    with pytest.raises(DecodeError, match="column 'c'"):
        PgTypes().decode(oid, text.encode(), column="c")
