"""The server-formatted MariaDB -> PostgreSQL copy (bridge/snapshot/mysql_fast.py) writes exactly
what the per-row path writes, for every type of the mapping and the awkward values of each.

Each table is copied twice, into two target databases: once the fast way, once through the
per-row path (the plan forced off); the targets must hold the same values (PostgreSQL's text of
every row, so -0 and 0 or 1.5 and 1.50 differ) and equal the source (crossengine's value-by-value
comparison). Small chunk sizes make several chunks and the too-long-row fallback happen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from bridge import mysqlconn
from bridge.errors import ApplyError, TranslateError
from bridge.local.servers import LocalServer
from bridge.log.events import TableName
from bridge.snapshot import mysql as mysnapshot
from bridge.snapshot import mysql_fast
from bridge.translate.ddl import translate_ddl
from bridge.translate.types import TypePolicy
from tests.integration.crossengine import assert_same_rows, fresh_mysql_db
from tests.integration.mypair import db_name
from tests.integration.mypair import execute as my_execute
from tests.integration.pgpair import fresh_db

EVERY = """CREATE TABLE every_type (
  id int PRIMARY KEY,
  b tinyint(1), ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
  mi mediumint, miu mediumint unsigned, i int, iu int unsigned, iz int(6) zerofill,
  bi bigint, biu bigint unsigned, y year,
  d0 decimal(10,0), d65 decimal(65,30), f float, f2 float(10,3), dbl double, dbl2 double(10,2),
  bit1 bit(1), bit5 bit(5), bit64 bit(64),
  dt date, dtm datetime, dtm6 datetime(6), ts timestamp(3) NULL DEFAULT NULL, tm time,
  tm6 time(6),
  c char(10), vc varchar(100), tx text, mt mediumtext, lt longtext,
  js longtext CHECK (json_valid(js)),
  bn binary(4), vb varbinary(20), bl blob,
  e enum('a','b c','d\\\\e','x''y'), s set('b','a','c'),
  lat varchar(20) CHARACTER SET latin1
)"""

BIT64 = "b'" + "1" * 64 + "'"
ROWS = [
    "INSERT INTO every_type (id) VALUES (1)",  # every column NULL
    "INSERT INTO every_type VALUES (2, 1, -128, 255, -32768, 65535, -8388608, 16777215,"
    " -2147483648, 4294967295, 42, -9223372036854775808, 18446744073709551615, 2155,"
    " -9999999999, '-12345678901234567890123456789012345.123456789012345678901234567890',"
    " 3.40282e38, -123.456, 1.7976931348623157e308, -0.01, b'1', b'10101', " + BIT64 + ","
    " '9999-12-31', '1000-01-01 00:00:00', '2024-02-29 23:59:59.999999',"
    " '2038-01-19 03:14:07.999', '-838:59:59', '838:59:58.999999',"
    " 'ab', 'tab\\there\\nnl\\rcr\\\\back', 'emoji 😀 ünï', '\\\\N', REPEAT('x', 3000),"
    " '{\"a\": [1, \"\\\\\\\\t\", null], \"é\": 1.25}', X'00ff', X'5c0a09', X'',"
    " 'b c', 'a,c', 'café')",
    "INSERT INTO every_type VALUES (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1901,"
    " 0, '0.000000000000000000000000000001', 1.17549435e-38, 0, 5e-324, 0,"
    " b'0', b'0', b'0', '0001-01-01', '1970-01-01 00:00:01', '2000-01-01 00:00:00.000001',"
    " '1970-01-01 00:00:01', '00:00:00', '-00:00:00.000001',"
    " '', '', '\\\\', '\\t', '\\n', '[]', X'', X'', X'00', 'd\\\\e', '', '')",
    "INSERT INTO every_type VALUES (4, NULL, 127, NULL, 32767, NULL, 8388607, NULL, 2147483647,"
    " NULL, NULL, 9223372036854775807, NULL, 2000,"
    " 9999999999, '99999999999999999999999999999999999.999999999999999999999999999999',"
    " -1.5e-45, 0.5, -0e0, 123.45, NULL, b'11111', b'1', '2024-01-02', NULL, NULL, NULL,"
    " '24:00:00', '-01:02:03.5', ' a ', '\\\\.', 'a\\tb', 'line1\\r\\nline2', '\\\\\\\\',"
    " '\"plain\"', NULL, X'ff', NULL, 'x''y', 'a,b,c', NULL)",
    "INSERT INTO every_type (id, dbl, f, vc) VALUES (5, 0.1e0 + 0.2e0, 0.1, 'NULL'),"
    " (6, 2.2250738585072014e-308, 16777217, '\\\\Z'), (7, 123456789012345678e0, -0.0, '\\t\\\\Z')",
]


@pytest.fixture
def pair(mariadb_server: LocalServer, pg15_server: LocalServer) -> Iterator[tuple[str, str, str]]:
    """A source database and two target databases (fast, per-row)."""
    with (
        fresh_mysql_db(mariadb_server, "fast") as source,
        fresh_db(pg15_server, "fast") as fast,
        fresh_db(pg15_server, "slow") as slow,
    ):
        yield source, fast, slow


def _create_target(source: str, target: str, table: str, policy: TypePolicy) -> None:
    schema = db_name(source)
    conn: Any = mysqlconn.connect(source)
    try:
        cur = conn.cursor()
        cur.execute(f"SHOW CREATE TABLE `{schema}`.`{table}`")
        text = str(cur.fetchone()[1])
    finally:
        conn.close()
    translation = translate_ddl(text, source="mysql", target="postgres", policy=policy)
    with psycopg.connect(target, autocommit=True) as pg:
        pg.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        pg.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(schema)))
        for stmt in translation.statements:
            pg.execute(stmt.encode())


def _info(source: str, table: str) -> mysnapshot.MysqlTable:
    conn: Any = mysqlconn.connect(source, raw=True)
    try:
        return mysnapshot.table_info(conn.cursor(), TableName(db_name(source), table))
    finally:
        conn.close()


def _copy(
    source: str,
    target: str,
    table: str,
    *,
    fast: bool,
    policy: TypePolicy | None = None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = _info(source, table)
    with monkeypatch.context() as m:
        if fast:
            assert mysql_fast.plan(info, policy) is not None, "the fast path must take this table"
        else:
            m.setattr(mysql_fast, "plan", lambda *_a, **_k: None)
        mysnapshot.copy_tables(source, target, [info], policy=policy)


def _pg_text(target: str, schema: str, table: str) -> list[str]:
    with psycopg.connect(target) as pg:
        rows = pg.execute(
            sql.SQL("SELECT t::text FROM {} t ORDER BY t::text").format(
                sql.Identifier(schema, table)
            )
        ).fetchall()
    return [str(r[0]) for r in rows]


def _same_both_ways(
    source: str,
    fast: str,
    slow: str,
    table: str,
    *,
    monkeypatch: pytest.MonkeyPatch,
    policy: TypePolicy | None = None,
) -> list[str]:
    for target, is_fast in ((fast, True), (slow, False)):
        _create_target(source, target, table, policy or TypePolicy())
        _copy(source, target, table, fast=is_fast, policy=policy, monkeypatch=monkeypatch)
    schema = db_name(source)
    got = _pg_text(fast, schema, table)
    assert got == _pg_text(slow, schema, table)
    return got


@contextlib.contextmanager
def _small_chunks(monkeypatch: pytest.MonkeyPatch, limit: int = 2048) -> Iterator[Counter[str]]:
    """Chunks of a few rows and a GROUP_CONCAT limit the long rows exceed; yields how many
    chunks came as text and as per-row values."""
    seen: Counter[str] = Counter()
    prefetched = mysql_fast.prefetched

    def chunk_limit(cur: Any) -> int:
        cur.execute(f"SET SESSION group_concat_max_len = {limit}")
        return limit

    def spy(chunks: Any, depth: int = 2) -> Iterator[mysql_fast.Chunk]:
        for chunk in prefetched(chunks, depth):
            seen["rows" if chunk.values else "text"] += 1
            yield chunk

    with monkeypatch.context() as m:
        m.setattr(mysql_fast, "FIRST_ROWS", 2)
        m.setattr(mysql_fast, "TARGET_BYTES", 300)
        m.setattr(mysql_fast, "_chunk_limit", chunk_limit)
        m.setattr(mysql_fast, "prefetched", spy)
        yield seen


def test_every_type_same_as_per_row_path(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, fast, slow = pair
    my_execute(source, EVERY, *ROWS)
    got = _same_both_ways(source, fast, slow, "every_type", monkeypatch=monkeypatch)
    assert len(got) == 7
    assert_same_rows(source, fast, ["every_type"])
    with psycopg.connect(fast) as pg:
        pg.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(db_name(source))))
        row = pg.execute(
            "SELECT biu::text, d65::text, bit64::text, tm::text, s::text, vc, tx, mt, bn, ts,"
            " dbl::text, f::text, e::text, lat FROM every_type WHERE id = 2"
        ).fetchone()
        assert row is not None
        assert row[:5] == (
            "18446744073709551615",
            "-12345678901234567890123456789012345.123456789012345678901234567890",
            "1" * 64,
            "-838:59:59",
            "{a,c}",
        )
        assert row[5:9] == ("tab\there\nnl\rcr\\back", "emoji 😀 ünï", "\\N", b"\x00\xff\x00\x00")
        assert row[9] == dt.datetime(2038, 1, 19, 3, 14, 7, 999000, tzinfo=dt.UTC)
        assert row[10:] == ("1.7976931348623157e+308", "3.40282e+38", "b c", "café")
        all_null = pg.execute("SELECT t FROM every_type t WHERE id = 1").fetchone()
        assert all_null is not None
        assert str(all_null[0]).startswith("(1,,,")


def test_small_chunks_long_rows_and_key_kinds(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several chunks per table, rows longer than group_concat_max_len (the per-row fallback),
    string keys, composite keys and no key (one unbuffered query)."""
    source, fast, slow = pair
    my_execute(
        source,
        EVERY,
        *ROWS,
        "CREATE TABLE by_text (k varchar(20) PRIMARY KEY, v text)",
        "INSERT INTO by_text VALUES ('a', 'x'), ('a b', REPEAT('y', 5000)), ('B', '\\t'),"
        " ('é', 'e'), ('z\\\\', NULL), ('', 'empty key'), ('0', '0')",
        "CREATE TABLE by_big (k bigint unsigned PRIMARY KEY, v int)",
        "INSERT INTO by_big VALUES (9007199254740992, 1), (9007199254740993, 2),"
        " (9007199254740994, 3), (18446744073709551615, 4), (0, 5)",
        "CREATE TABLE composite (a int, b varchar(5), v text, PRIMARY KEY (a, b))",
        "INSERT INTO composite VALUES (1, 'x', 'a\\nb'), (1, 'y', NULL), (2, 'x', '')",
        "CREATE TABLE keyless (a int, v varchar(10))",
        "CREATE TABLE uuids (u uuid PRIMARY KEY, v int)",
        "INSERT INTO uuids VALUES ('123e4567-e89b-12d3-a456-426614174000', 1),"
        " ('00000000-0000-0000-0000-000000000000', NULL),"
        " ('ffffffff-ffff-ffff-ffff-ffffffffffff', 2)",
        "INSERT INTO keyless VALUES (1, 'a'), (1, 'a'), (NULL, NULL), (2, '\\\\')",
    )
    with _small_chunks(monkeypatch) as seen:
        assert len(_same_both_ways(source, fast, slow, "every_type", monkeypatch=monkeypatch)) == 7
        assert len(_same_both_ways(source, fast, slow, "by_text", monkeypatch=monkeypatch)) == 7
        assert len(_same_both_ways(source, fast, slow, "by_big", monkeypatch=monkeypatch)) == 5
        assert len(_same_both_ways(source, fast, slow, "composite", monkeypatch=monkeypatch)) == 3
        assert len(_same_both_ways(source, fast, slow, "keyless", monkeypatch=monkeypatch)) == 4
        assert len(_same_both_ways(source, fast, slow, "uuids", monkeypatch=monkeypatch)) == 3
    assert_same_rows(source, fast, ["every_type", "by_text", "by_big"])
    assert seen["text"] > 10, "several chunks per table"
    assert seen["rows"] >= 2, "rows too long for group_concat_max_len took the per-row path"


ZEROS = [
    "SET SESSION sql_mode = ''",
    "CREATE TABLE zeros (id int PRIMARY KEY, d date, dt datetime(3), ts timestamp NULL DEFAULT"
    " NULL, note varchar(10))",
    "INSERT INTO zeros VALUES (1, '2024-01-02', '2024-01-02 03:04:05.006',"
    " '2024-01-02 03:04:05', 'ok'), (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00',"
    " 'zero'), (3, '2024-00-10', '2024-01-00 10:00:00', NULL, 'part'), (4, NULL, NULL, NULL,"
    " '\\\\Z')",
]


def test_zero_dates_null_policy(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, fast, slow = pair
    my_execute(source, *ZEROS)
    policy = TypePolicy(zero_dates="null")
    got = _same_both_ways(source, fast, slow, "zeros", monkeypatch=monkeypatch, policy=policy)
    assert got == [
        '(1,2024-01-02,"2024-01-02 03:04:05.006","2024-01-02 03:04:05+00",ok)',
        "(2,,,,zero)",
        "(3,,,,part)",
        '(4,,,,"\\\\Z")',
    ]


def test_zero_dates_strict_policy_same_error(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, fast, slow = pair
    my_execute(source, *ZEROS)
    errors = []
    for target, is_fast in ((fast, True), (slow, False)):
        _create_target(source, target, "zeros", TypePolicy())
        with pytest.raises(TranslateError) as caught:
            _copy(source, target, "zeros", fast=is_fast, monkeypatch=monkeypatch)
        errors.append((caught.value.message, caught.value.hint))
    assert errors[0] == errors[1]
    assert "zero date '0000-00-00'" in errors[0][0]
    assert "--zero-dates null" in (errors[0][1] or "")
    # A zero date alone in a later chunk, after a field that looks like the marker.
    my_execute(
        source,
        "SET SESSION sql_mode = ''",
        "DELETE FROM zeros WHERE id IN (2, 3)",
        "INSERT INTO zeros VALUES (9, '2024-01-02', '0000-01-01 00:00:00', NULL, '\\\\Zx')",
    )
    with _small_chunks(monkeypatch), pytest.raises(TranslateError, match="'0000-01-01 00:00:00"):
        _copy(source, fast, "zeros", fast=True, monkeypatch=monkeypatch)


def test_unsupported_columns_take_the_per_row_path(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source, fast, _ = pair
    my_execute(
        source,
        "CREATE TABLE odd (id int PRIMARY KEY, s set('a\\\\b', 'c'), e enum('x'))",
        "INSERT INTO odd VALUES (1, 'a\\\\b,c', 'x'), (2, '', NULL)",
    )
    info = _info(source, "odd")
    assert mysql_fast.plan(info, None) is None
    _create_target(source, fast, "odd", TypePolicy())
    mysnapshot.copy_tables(source, fast, [info])
    assert _pg_text(fast, db_name(source), "odd") == ['(1,"{""a\\\\\\\\b"",c}",x)', "(2,{},)"]


def test_a_value_the_target_refuses_is_the_same_error(
    pair: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tinyint(1) is boolean on PostgreSQL: 2 is refused, by the target, on both paths."""
    source, fast, slow = pair
    my_execute(
        source,
        "CREATE TABLE flags (id int PRIMARY KEY, b tinyint(1))",
        "INSERT INTO flags VALUES (1, 1), (2, 2)",
    )
    messages = []
    for target, is_fast in ((fast, True), (slow, False)):
        _create_target(source, target, "flags", TypePolicy())
        with pytest.raises(ApplyError) as caught:
            _copy(source, target, "flags", fast=is_fast, monkeypatch=monkeypatch)
        messages.append(caught.value.message)
    assert messages[0] == messages[1]
    assert 'invalid input syntax for type boolean: "2"' in messages[0]
