"""Log values -> MySQL literals (bridge.appliers.myadapt): each rule and each refusal."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest

from bridge.appliers.myadapt import TargetColumn, literal, row_adapter
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

INT = TargetColumn("i", "int", "int(11)")
UBIG = TargetColumn("u", "bigint", "bigint(20) unsigned")
TINY = TargetColumn("t", "tinyint", "tinyint(4)")
DEC = TargetColumn("d", "decimal", "decimal(6,2)", precision=6, scale=2)
UDEC = TargetColumn("d", "decimal", "decimal(6,2) unsigned", precision=6, scale=2)
DBL = TargetColumn("f", "double", "double")
TEXT = TargetColumn("s", "varchar", "varchar(20)")
ENUM = TargetColumn("e", "enum", "enum('a','b')")
BLOB = TargetColumn("b", "blob", "blob")
DATE = TargetColumn("day", "date", "date")
DT6 = TargetColumn("ts", "datetime", "datetime(6)", fsp=6)
DT0 = TargetColumn("ts", "datetime", "datetime", fsp=0)
TIME = TargetColumn("tm", "time", "time(6)", fsp=6)
BIT = TargetColumn("bits", "bit", "bit(4)", precision=4)
JSON = TargetColumn("j", "longtext", "longtext")


@pytest.mark.parametrize(
    ("value", "col", "expected"),
    [
        (None, INT, "NULL"),
        (True, TINY, "1"),
        (False, INT, "0"),
        (-(2**31), INT, "-2147483648"),
        (2**64 - 1, UBIG, "18446744073709551615"),
        (7, TEXT, "'7'"),  # quoted: an unquoted number means an index in an ENUM
        (2, ENUM, "'2'"),
        (Decimal("1234.50"), DEC, "1234.50"),
        (Decimal("1.2000"), DEC, "1.2000"),  # trailing zeros lose nothing
        (Decimal("1E+2"), DEC, "100"),  # never an exponent: that would be a double
        (Decimal("12"), INT, "12"),
        (Decimal("-0.5"), TEXT, "'-0.5'"),
        (3, DEC, "3"),
        (1.5, DBL, "1.5e0"),
        (1e300, DBL, "1e+300"),
        ('it\'s \\ "x"\n\x00', TEXT, "'it\\'s \\\\ \\\"x\\\"\\n\\0'"),
        (b"\x00\xff'", BLOB, "X'00ff27'"),
        (dt.date(2024, 2, 29), DATE, "'2024-02-29'"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 6), DT6, "'2024-01-02 03:04:05.000006'"),
        (
            dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            DT6,
            "'2023-12-31 23:00:00'",
        ),
        (dt.datetime(2024, 1, 2, 3, 4, 5), DT0, "'2024-01-02 03:04:05'"),
        (dt.time(1, 2, 3, 4), TIME, "'01:02:03.000004'"),
        (
            dt.time(1, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))),
            TIME,
            "'22:00:00'",
        ),
        (uuid.UUID(int=1), TEXT, "'00000000-0000-0000-0000-000000000001'"),
        (Json('{"a": "it\'s"}'), JSON, '\'{\\"a\\": \\"it\\\'s\\"}\''),
        ([1, None, [True, "x"]], JSON, "'[1,null,[true,\\\"x\\\"]]'"),
        (
            [Decimal("1.50"), dt.datetime(2024, 1, 1, tzinfo=dt.UTC), b"\x01", Json("{}")],
            JSON,
            '\'[1.50,\\"2024-01-01 00:00:00\\",\\"\\\\\\\\x01\\",{}]\'',
        ),
        (BitString("1010"), BIT, "10"),
        (BitString("0101"), TEXT, "'0101'"),
        (MysqlSet(frozenset({"b", "a"})), TEXT, "'a,b'"),
        (ZeroDate("date", "0000-00-00"), DATE, "'0000-00-00'"),
        # TypePolicy(interval='text') / (unsupported='text') made these text columns.
        (Interval(14, -3, -1_500_000), TEXT, "'14 mons -3 days -0:00:01.500000'"),
        (
            dt.time(12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            TEXT,
            "'12:00:00+02'",
        ),
        (
            dt.time(1, 2, 3, 4, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))),
            TEXT,
            "'01:02:03.000004-05:30'",
        ),
    ],
)
def test_literals(value: Value, col: TargetColumn, expected: str) -> None:
    assert literal(value, col) == expected


@pytest.mark.parametrize(
    ("value", "col", "says"),
    [
        (2**31, INT, "outside the column's range -2147483648 … 2147483647"),
        (-1, UBIG, "outside the column's range 0"),
        (128, TINY, "outside"),
        (Decimal("NaN"), DEC, "MySQL has no NaN"),
        (Decimal("-Infinity"), DBL, "MySQL has no -Infinity"),
        (Decimal("1.234"), DEC, "3 fraction digits"),
        (Decimal("12345.6"), DEC, "5 integer"),
        (Decimal("-1"), UDEC, "unsigned"),
        (Decimal("1.5"), INT, "integers only"),
        (float("nan"), DBL, "cannot store nan"),
        (float("-inf"), DBL, "cannot store -inf"),
        ([1.0, float("inf")], JSON, "cannot store inf"),
        (dt.datetime(2024, 1, 1, 0, 0, 0, 5), DT0, "fractional-second digits"),
        (Interval(0, 1, 0), TIME, "no interval type"),
        (SpecialTemporal("timestamptz", "infinity"), DT6, "'infinity'"),
        (BitString("11111"), BIT, "5 bits do not fit BIT(4)"),
        ([Interval(1, 0, 0)], JSON, "no JSON form"),
    ],
)
def test_refusals_name_table_column_kind_and_fix(
    value: Value, col: TargetColumn, says: str
) -> None:
    with pytest.raises(TranslateError) as info:
        literal(value, col, table="db.t")
    e = info.value
    assert says in e.message
    assert f"column {col.name}" in e.message
    assert e.table == "db.t"
    assert e.hint
    assert e.exit_code == 2


def test_markers_pass_through_rows() -> None:
    adapt = row_adapter("db.t", [INT, TEXT, DT6])
    assert adapt((1, UNCHANGED, None)) == ("1", UNCHANGED, "NULL")
    assert adapt((2, ABSENT, ABSENT)) == ("2", ABSENT, ABSENT)
