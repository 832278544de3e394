"""bridge/snapshot/mysql_fast.py without servers: which tables it takes, and the zero-date marker
scan (the server-side formatting itself is compared on real servers in
tests/integration/test_mysql_snapshot_fast.py)."""

from __future__ import annotations

import pytest

from bridge.log.events import TableName
from bridge.snapshot import mysql_fast
from bridge.snapshot.mysql import MysqlColumn, MysqlTable
from bridge.translate.types import TypePolicy


def _table(*cols: MysqlColumn, key: tuple[str, ...] = ("id",)) -> MysqlTable:
    return MysqlTable(TableName("db", "t"), (MysqlColumn("id", "int", "int(11)"), *cols), key, 0)


@pytest.mark.parametrize(
    ("data_type", "column_type"),
    [
        ("geometry", "geometry"),
        ("inet6", "inet6"),
        ("set", "set('a\\\\b','c')"),  # a backslash in a label
        ("set", "set('','a')"),  # '' cannot be told apart from the empty set
        ("bit", "bit"),  # no width known
    ],
)
def test_columns_the_fast_path_leaves_to_the_per_row_path(data_type: str, column_type: str) -> None:
    assert mysql_fast.plan(_table(MysqlColumn("c", data_type, column_type)), None) is None


def test_plan_keys_and_zero_checks() -> None:
    dated = _table(MysqlColumn("d", "date", "date"))
    strict = mysql_fast.plan(dated, None)
    assert strict is not None
    assert (strict.key, strict.key_kind, strict.zero_check) == ("id", "int", True)
    lenient = mysql_fast.plan(dated, TypePolicy(zero_dates="null"))
    assert lenient is not None
    assert not lenient.zero_check
    assert "5C5A" not in lenient.line  # no marker: zero dates are NULL
    by_float = MysqlTable(TableName("db", "t"), (MysqlColumn("f", "double", "double"),), ("f",), 0)
    plan = mysql_fast.plan(by_float, None)
    assert plan is not None
    assert plan.key is None  # a double's text does not compare like the column: one query
    assert mysql_fast.plan(_table(key=()), None) is not None


def test_set_members_sorted_like_the_per_row_path() -> None:
    sql = mysql_fast.field_sql(MysqlColumn("s", "set", "set('b','a','c')"), TypePolicy())
    assert sql is not None
    # Bit 2 ('a') first, then bit 1 ('b'), then bit 4 ('c'): sorted, as the per-row dumper writes.
    assert sql.index("& 2,") < sql.index("& 1,") < sql.index("& 4,")


@pytest.mark.parametrize(
    ("chunk", "found"),
    [
        (b"1\t\\Z0000-00-00\n", "0000-00-00"),
        (b"\\Z2024-00-01 00:00:00\t1\n", "2024-00-01 00:00:00"),
        (b"1\tok\n2\tx\t\\Z0000-00-00 00:00:00.000\n", "0000-00-00 00:00:00.000"),
        (b"1\t\\\\Z\n", None),  # the text '\Z' escaped: not a marker
        (b"1\ta\\\\Zb\n", None),
        (b"1\t2024-01-01\n", None),
    ],
)
def test_zero_date_marker(chunk: bytes, found: str | None) -> None:
    seen: list[str] = []
    mysql_fast.check_zero_dates(chunk, seen.append)
    assert seen == ([found] if found else [])


def test_copy_text_matches_the_sql_escaping() -> None:
    assert mysql_fast.copy_text("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert mysql_fast.escaped("x").count("REPLACE(") == 4
    assert "\\" not in mysql_fast.escaped("x")  # hex literals: NO_BACKSLASH_ESCAPES-proof
