"""The binlog reader on a live MariaDB: exact values, transactions, positions, resume, DDL,
refusals, reconnects, and the mysql-replication 1.0.17 defects it works around."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from bridge.errors import ConfigError
from bridge.local.servers import LocalServer
from bridge.log.events import Begin, Commit, Ddl, Delete, Event, Insert, Relation, Update
from bridge.log.values import BitString, Interval, Json, MysqlSet, ZeroDate
from bridge.positions import BinlogPosition, MariadbGtidPos
from bridge.readers.mysql import MysqlReader
from bridge.testing.pytest_plugin import ServerPool
from tests.integration.mypair import (
    db_name,
    execute,
    fresh_db,
    head,
    next_server_id,
    query,
    read_all,
)

pytestmark = pytest.mark.mariadb
UTC = dt.UTC


@pytest.fixture
def dsn(mariadb_server: LocalServer) -> Iterator[str]:
    with fresh_db(mariadb_server.dsn) as d:
        yield d


# (column declaration, SQL literal, expected value, session statements before the insert)
VALUES: list[tuple[str, str, object, tuple[str, ...]]] = [
    ("tinyint", "-128", -128, ()),
    ("tinyint unsigned", "255", 255, ()),
    ("tinyint(1)", "1", 1, ()),
    ("smallint unsigned", "65535", 65535, ()),
    ("mediumint", "-8388608", -8388608, ()),
    ("mediumint unsigned", "16777215", 16777215, ()),
    ("int", "-2147483648", -2147483648, ()),
    ("int unsigned", "4294967295", 4294967295, ()),
    ("bigint", "-9223372036854775808", -9223372036854775808, ()),
    ("bigint unsigned", "18446744073709551615", 18446744073709551615, ()),
    ("decimal(65,30)", "'-12345678901234567890123456789012345.123456789012345678901234567890'",
     Decimal("-12345678901234567890123456789012345.123456789012345678901234567890"), ()),
    ("decimal(10,2) unsigned", "'1.10'", Decimal("1.10"), ()),
    ("decimal(5,0)", "-7", Decimal("-7"), ()),
    ("float", "1.5", 1.5, ()),
    ("float", "0.1", 0.10000000149011612, ()),
    ("double", "-1.5e300", -1.5e300, ()),
    ("bit(1)", "b'1'", BitString("1"), ()),
    ("bit(5)", "b'00101'", BitString("00101"), ()),
    ("bit(64)", "b'1" + "0" * 62 + "1'", BitString("1" + "0" * 62 + "1"), ()),
    ("year", "2155", 2155, ()),
    ("year", "0", 0, ()),
    ("date", "'2024-02-29'", dt.date(2024, 2, 29), ()),
    ("date", "'0000-00-00'", ZeroDate("date", "0000-00-00"), ("SET sql_mode = ''",)),
    ("date", "'2024-00-15'", ZeroDate("date", "2024-00-15"), ("SET sql_mode = ''",)),
    ("datetime", "'2024-02-29 23:59:59'", dt.datetime(2024, 2, 29, 23, 59, 59), ()),
    ("datetime(1)", "'2024-02-29 23:59:59.9'", dt.datetime(2024, 2, 29, 23, 59, 59, 900000), ()),
    ("datetime(2)", "'2024-02-29 23:59:59.12'", dt.datetime(2024, 2, 29, 23, 59, 59, 120000), ()),
    ("datetime(3)", "'2024-02-29 23:59:59.123'", dt.datetime(2024, 2, 29, 23, 59, 59, 123000), ()),
    ("datetime(4)", "'2024-02-29 23:59:59.1234'", dt.datetime(2024, 2, 29, 23, 59, 59, 123400), ()),
    ("datetime(5)", "'2024-02-29 23:59:59.12345'",
     dt.datetime(2024, 2, 29, 23, 59, 59, 123450), ()),
    ("datetime(6)", "'2024-02-29 23:59:59.123456'",
     dt.datetime(2024, 2, 29, 23, 59, 59, 123456), ()),
    ("datetime(3)", "'0000-00-00 00:00:00'", ZeroDate("timestamp", "0000-00-00 00:00:00.000"),
     ("SET sql_mode = ''",)),
    ("datetime", "'2024-02-00 10:00:00'", ZeroDate("timestamp", "2024-02-00 10:00:00"),
     ("SET sql_mode = ''",)),
    ("timestamp(6) null", "'2024-03-10 02:30:00.000001'",
     dt.datetime(2024, 3, 10, 2, 30, 0, 1, tzinfo=UTC), ("SET time_zone = '+00:00'",)),
    ("timestamp null", "'2024-01-01 10:00:00'", dt.datetime(2024, 1, 1, 5, 0, tzinfo=UTC),
     ("SET time_zone = '+05:00'",)),
    ("timestamp(3) null", "'2024-07-01 00:00:00.5'",
     dt.datetime(2024, 7, 1, 7, 0, 0, 500000, tzinfo=UTC), ("SET time_zone = '-07:00'",)),
    ("timestamp null", "'0000-00-00 00:00:00'", ZeroDate("timestamptz", "0000-00-00 00:00:00"),
     ("SET sql_mode = ''",)),
    ("time", "'838:59:59'", Interval(0, 0, 3020399 * 10**6), ()),
    ("time", "'-838:59:59'", Interval(0, 0, -3020399 * 10**6), ()),
    ("time(6)", "'-00:00:00.000001'", Interval(0, 0, -1), ()),
    ("time(2)", "'-01:00:00.25'", Interval(0, 0, -(3600 * 10**6 + 250000)), ()),
    ("time(4)", "'-25:00:00.0001'", Interval(0, 0, -(25 * 3600 * 10**6 + 100)), ()),
    ("time(5)", "'100:00:00.00001'", Interval(0, 0, 100 * 3600 * 10**6 + 10), ()),
    ("time(1)", "'12:34:56.7'", Interval(0, 0, (12 * 3600 + 34 * 60 + 56) * 10**6 + 700000), ()),
    ("char(5)", "'ab'", "ab", ()),
    ("varchar(20)", "'héllo 😀'", "héllo 😀", ()),
    ("varchar(300)", "'" + "é" * 300 + "'", "é" * 300, ()),
    ("text", "'emoji 🚀 text'", "emoji 🚀 text", ()),
    ("varchar(10) character set latin1", "'café'", "café", ()),
    ("binary(4)", "'ab'", b"ab\x00\x00", ()),
    ("binary(3)", "x'000100'", b"\x00\x01\x00", ()),
    ("varbinary(10)", "x'00ff00'", b"\x00\xff\x00", ()),
    ("blob", "x'00ff'", b"\x00\xff", ()),
    ("longblob", "x'01'", b"\x01", ()),
    ("enum('a','b c','it''s')", "'it''s'", "it's", ()),
    ("set('x','y','z')", "'z,x'", MysqlSet(frozenset({"x", "z"})), ()),
    ("set('x','y','z')", "''", MysqlSet(frozenset()), ()),
    ("json", "'{\"b\":  1, \"a\": [1, 2.50]}'", Json('{"b":  1, "a": [1, 2.50]}'), ()),
    ("int", "NULL", None, ()),
]  # fmt: skip


def _one_insert(events: list[Event]) -> Insert:
    inserts = [e for e in events if isinstance(e, Insert)]
    assert len(inserts) == 1, events
    return inserts[0]


@pytest.mark.parametrize(("decl", "literal", "expected", "session"), VALUES)
def test_value_round_trip(
    dsn: str, decl: str, literal: str, expected: object, session: tuple[str, ...]
) -> None:
    execute(dsn, f"CREATE TABLE v (id int PRIMARY KEY, x {decl})")
    start = head(dsn)
    execute(dsn, *session, f"INSERT INTO v VALUES (1, {literal})")
    ins = _one_insert(read_all(dsn, start))
    assert ins.columns == ("id", "x")
    value = ins.after[1]
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, dt.datetime):
        assert value.tzinfo == expected.tzinfo  # type: ignore[union-attr]


def test_values_ignore_the_local_time_zone(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """TIMESTAMP is seconds since the epoch in the binlog: the reader's TZ must not matter
    (mysql-replication turns them into naive datetimes)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        execute(dsn, "CREATE TABLE v (id int PRIMARY KEY, ts timestamp NULL, d datetime)")
        start = head(dsn)
        execute(
            dsn,
            "SET time_zone = 'SYSTEM'",
            "SET time_zone = '+02:00'",
            "INSERT INTO v VALUES (1, '2024-06-01 12:00:00', '2024-06-01 12:00:00')",
        )
        ins = _one_insert(read_all(dsn, start))
        assert ins.after[1] == dt.datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
        assert ins.after[2] == dt.datetime(2024, 6, 1, 12, 0)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_relation_types_and_key(dsn: str) -> None:
    execute(
        dsn,
        "CREATE TABLE r (a int unsigned NOT NULL, b tinyint(1), c decimal(65,30),"
        " d enum('x','y'), e set('p','q'), f json, g bit(3), h time(3), i datetime(6),"
        " j timestamp(2) NULL, k varchar(10), l binary(4), m year, n bigint NOT NULL,"
        " PRIMARY KEY (n, a))",
    )
    start = head(dsn)
    execute(dsn, "INSERT INTO r (a, n) VALUES (1, 2)")
    events = read_all(dsn, start)
    rel = next(e for e in events if isinstance(e, Relation))
    assert rel.key == ("n", "a")
    types = {c.name: (c.type.kind, c.type.source_type, c.type.size) for c in rel.columns}
    assert types["a"] == ("uint", "int(10) unsigned", 32)
    assert types["b"] == ("int", "tinyint(1)", 8)
    assert types["c"][:2] == ("decimal", "decimal(65,30)")
    assert types["f"][0] == "json"
    assert types["g"] == ("bits", "bit(3)", 3)
    assert types["h"][0] == "interval"
    assert types["i"][0] == "timestamp"
    assert types["j"][0] == "timestamptz"
    assert types["l"] == ("bytes", "binary(4)", 4)
    assert types["m"][0] == "int"
    enum = next(c for c in rel.columns if c.name == "d")
    assert enum.type.labels == ("x", "y")
    assert [c.nullable for c in rel.columns][:2] == [False, True]


def test_transactions_positions_and_gtids(dsn: str) -> None:
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY, v varchar(10))")
    start = head(dsn)
    execute(
        dsn,
        "BEGIN",
        "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        "UPDATE t SET v = 'c' WHERE id = 1",
        "DELETE FROM t WHERE id = 2",
        "COMMIT",
    )
    execute(dsn, "INSERT INTO t VALUES (3, 'd')")
    end = head(dsn)
    events = read_all(dsn, start)
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "Begin", "Relation", "Insert", "Insert", "Update", "Delete", "Commit",
        "Begin", "Insert", "Commit",
    ]  # fmt: skip
    upd = next(e for e in events if isinstance(e, Update))
    assert upd.before == (1, "a")
    assert upd.after == (1, "c")
    dele = next(e for e in events if isinstance(e, Delete))
    assert dele.before == (2, "b")
    assert dele.key == ("id",)
    commits = [e for e in events if isinstance(e, Commit)]
    begins = [e for e in events if isinstance(e, Begin)]
    # The second transaction starts where the first one's commit position points.
    assert isinstance(begins[1].position, BinlogPosition)
    first_commit = commits[0].commit_position
    assert isinstance(first_commit, BinlogPosition)
    assert (first_commit.file, first_commit.offset) == (
        begins[1].position.file,
        begins[1].position.offset,
    )
    assert commits[-1].commit_position == end
    assert commits[-1].commit_position.gtid == end.gtid
    assert begins[0].xid is not None
    assert commits[0].xid == begins[0].xid
    assert isinstance(end.gtid, MariadbGtidPos)
    assert str(end.gtid).endswith(str(commits[-1].xid).rsplit("-", 1)[1])
    assert commits[0].commit_time is not None
    assert commits[0].commit_time.tzinfo == UTC
    # Row events carry their own position, inside the transaction.
    rows = [e for e in events if isinstance(e, Insert)]
    assert begins[0].position < rows[0].position < commits[0].commit_position


def test_resume_from_every_commit_position(dsn: str) -> None:
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY, n int)")
    start = head(dsn)
    for i in range(5):
        execute(
            dsn,
            "BEGIN",
            f"INSERT INTO t VALUES ({i}, {i})",
            f"UPDATE t SET n = n + 1 WHERE id = {i}",
            "COMMIT",
        )
    execute(dsn, "ALTER TABLE t ADD COLUMN z int")
    execute(dsn, "INSERT INTO t VALUES (99, 1, 2)")
    full = [e for e in read_all(dsn, start) if not isinstance(e, Relation)]
    commits = [e for e in full if isinstance(e, Commit)]
    assert len(commits) == 7

    def key(e: Event) -> tuple[object, ...]:
        return (type(e).__name__, e.position, getattr(e, "after", None))

    for i, commit in enumerate(commits):
        rest = [e for e in read_all(dsn, commit.commit_position) if not isinstance(e, Relation)]  # type: ignore[arg-type]
        tail = full[full.index(commit) + 1 :]
        assert [key(e) for e in rest] == [key(e) for e in tail], f"after commit {i}"
        if rest:
            last = [e for e in rest if isinstance(e, Commit)][-1]
            assert last.commit_position == commits[-1].commit_position


def test_ddl_between_rows_gives_new_relation(dsn: str) -> None:
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY, a int)")
    start = head(dsn)
    execute(
        dsn,
        "INSERT INTO t VALUES (1, 10)",
        "ALTER TABLE t ADD COLUMN b varchar(5) DEFAULT 'x'",
        "INSERT INTO t VALUES (2, 20, 'y')",
        "TRUNCATE TABLE t",
    )
    events = read_all(dsn, start)
    rels = [e for e in events if isinstance(e, Relation)]
    assert [tuple(c.name for c in r.columns) for r in rels] == [("id", "a"), ("id", "a", "b")]
    ddls = [e for e in events if isinstance(e, Ddl)]
    assert [d.text for d in ddls] == [
        "ALTER TABLE t ADD COLUMN b varchar(5) DEFAULT 'x'",
        "TRUNCATE TABLE t",
    ]
    assert all(d.dialect == "mysql" and d.schema == db_name(dsn) for d in ddls)
    inserts = [e for e in events if isinstance(e, Insert)]
    assert inserts[1].after == (2, 20, "y")
    assert inserts[1].columns == ("id", "a", "b")
    # DDL is a transaction of its own; its Begin knows its commit position up front.
    i = events.index(ddls[0])
    begin, commit = events[i - 1], events[i + 1]
    assert isinstance(begin, Begin)
    assert isinstance(commit, Commit)
    assert begin.commit_position == commit.commit_position


def test_table_filter(dsn: str) -> None:
    execute(
        dsn,
        "CREATE TABLE keep_me (id int PRIMARY KEY)",
        "CREATE TABLE skip_me (id int PRIMARY KEY)",
    )
    start = head(dsn)
    execute(dsn, "INSERT INTO keep_me VALUES (1)", "INSERT INTO skip_me VALUES (2)")
    events = read_all(dsn, start, tables=[f"{db_name(dsn)}.keep*"])
    assert [e.relation.name for e in events if isinstance(e, Insert)] == ["keep_me"]
    # The other table's transaction still moves the position forward.
    assert sum(isinstance(e, Commit) for e in events) == 2


def test_idle_yields_none_and_live_rows_arrive(dsn: str) -> None:
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY)")
    r = MysqlReader(dsn, server_id=next_server_id())
    try:
        r.open(r.head())
        it = r.events(idle_timeout=0.1)
        t0 = time.monotonic()
        assert next(it) is None
        assert time.monotonic() - t0 < 2
        execute(dsn, "INSERT INTO t VALUES (7)")
        got: list[Event] = []
        deadline = time.monotonic() + 10
        while not any(isinstance(e, Commit) for e in got) and time.monotonic() < deadline:
            ev = next(it)
            if ev is not None:
                got.append(ev)
        assert [e.after for e in got if isinstance(e, Insert)] == [(7,)]
    finally:
        r.close()


def test_reconnects_without_duplicates_or_loss(dsn: str, mariadb_server: LocalServer) -> None:
    """Killing the dump connection mid-stream: the reader rebuilds it from the open
    transaction's start and drops what it had delivered (mysql-replication's own retry restarts
    from where it was created)."""
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY)")
    r = MysqlReader(dsn, server_id=next_server_id())
    try:
        r.open(r.head())
        for i in range(0, 300, 3):
            execute(dsn, f"INSERT INTO t VALUES ({i}), ({i + 1}), ({i + 2})")
        got: list[int] = []
        killed = False
        for ev in r.events(idle_timeout=1.0):
            if ev is None:
                break
            if isinstance(ev, Insert):
                got.append(int(ev.after[0]))  # type: ignore[arg-type]
                if len(got) == 50 and not killed:
                    for (pid,) in query(
                        mariadb_server.dsn,
                        "SELECT ID FROM information_schema.PROCESSLIST"
                        " WHERE COMMAND = 'Binlog Dump'",
                    ):
                        execute(mariadb_server.dsn, f"KILL {pid}")
                    killed = True
        assert killed
        assert r.reconnects >= 1
        assert got == list(range(300))
    finally:
        r.close()


def test_purged_position_is_a_config_error(dsn: str) -> None:
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY)")
    old = head(dsn)
    execute(dsn, "INSERT INTO t VALUES (1)", "FLUSH BINARY LOGS")
    # MariaDB keeps a file until InnoDB has checkpointed its transactions, and silently
    # skips it meanwhile: purge until it is gone.
    deadline = time.monotonic() + 30
    while any(row[0] == old.file for row in query(dsn, "SHOW BINARY LOGS")):
        assert time.monotonic() < deadline, query(dsn, "SHOW WARNINGS")
        execute(dsn, "FLUSH BINARY LOGS", f"PURGE BINARY LOGS TO '{head(dsn).file}'")
        time.sleep(0.2)
    r = MysqlReader(dsn, server_id=next_server_id())
    try:
        with pytest.raises(ConfigError, match=r"new snapshot|purged") as e:
            r.open(old)
        assert str(old.file) in str(e.value)
        assert "snapshot" in (e.value.hint or "")
    finally:
        r.close()


def test_statement_binlog_becomes_rows(dsn: str) -> None:
    """A statement-logged INSERT is not skipped: it becomes insert events, its 64-bit INSERT_ID
    included (bridge/translate/statements.py; more in test_statement_binlog.py)."""
    execute(dsn, "CREATE TABLE t (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, v int)")
    start = head(dsn)
    execute(
        dsn,
        "SET SESSION binlog_format = 'STATEMENT'",
        "SET INSERT_ID = 5000000000",
        "INSERT INTO t (v) VALUES (1), (2)",
    )
    events = read_all(dsn, start)
    rows = [e.after for e in events if isinstance(e, Insert) and e.relation.name == "t"]
    assert rows == [(5000000000, 1), (5000000001, 2)]


def test_grants_refused(dsn: str, mariadb_server: LocalServer) -> None:
    user = f"u{os.getpid()}"
    execute(mariadb_server.dsn, f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        execute(mariadb_server.dsn, f"GRANT SELECT ON *.* TO '{user}'@'%'")
        host_port = dsn.split("@", 1)[1]
        r = MysqlReader(f"mysql://{user}:pw@{host_port}", server_id=next_server_id())
        try:
            with pytest.raises(ConfigError, match="REPLICATION SLAVE") as e:
                r.check_source()
            assert "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.*" in (e.value.hint or "")
        finally:
            r.close()
    finally:
        execute(mariadb_server.dsn, f"DROP USER '{user}'@'%'")


@pytest.mark.parametrize(
    ("variable", "value", "fix"),
    [
        ("binlog_row_image", "MINIMAL", "SET GLOBAL binlog_row_image = 'FULL'"),
        ("binlog_row_metadata", "MINIMAL", "SET GLOBAL binlog_row_metadata = 'FULL'"),
    ],
)
def test_config_refusals(local_servers: ServerPool, variable: str, value: str, fix: str) -> None:
    server = local_servers.get("mariadb", settings={variable: value})
    r = MysqlReader(server.dsn, server_id=next_server_id())
    try:
        with pytest.raises(ConfigError, match=variable) as e:
            r.check_source()
        assert fix in (e.value.hint or "")
        assert "my.cnf" in (e.value.hint or "")
    finally:
        r.close()


@pytest.mark.parametrize("fmt", ["STATEMENT", "MIXED"])
def test_statement_formats_accepted(local_servers: ServerPool, fmt: str) -> None:
    """STATEMENT and MIXED binlogs feed the statement translator (issue 5)."""
    server = local_servers.get("mariadb", settings={"binlog_format": fmt})
    r = MysqlReader(server.dsn, server_id=next_server_id())
    try:
        r.check_source()
    finally:
        r.close()


def test_log_bin_off_refused(dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """log_bin can only be turned off by a restart (and mariadb-install-db refuses to run with
    skip-log-bin in the config), so the server's answer is replaced here."""
    r = MysqlReader(dsn, server_id=next_server_id())
    real = r._query

    def fake(sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        rows = real(sql, args)
        if "Variable_name IN" in sql:
            return [(k, "OFF" if k == "log_bin" else v) for k, v in rows]
        return rows

    monkeypatch.setattr(r, "_query", fake)
    try:
        with pytest.raises(ConfigError, match="binary log is off") as e:
            r.check_source()
        assert "log_bin = mysql-bin in my.cnf" in (e.value.hint or "")
    finally:
        r.close()


def _library_ids(dsn: str, passes: int, **options: Any) -> list[int]:
    """Row ids mysql-replication 1.0.17 delivers, polling `passes` times as a consumer of a
    blocking=False stream does (each pass ends at the server's EOF)."""
    from pymysqlreplication import BinLogStreamReader  # noqa: PLC0415
    from pymysqlreplication.row_event import WriteRowsEvent  # noqa: PLC0415

    from bridge.mysqlconn import connect_args  # noqa: PLC0415

    args = connect_args(dsn)
    stream: Any = BinLogStreamReader(
        connection_settings={k: args[k] for k in ("host", "port", "user", "password")},
        server_id=next_server_id(),
        blocking=False,
        is_mariadb=True,
        only_events=[WriteRowsEvent],
        only_schemas=[db_name(dsn)],
        enable_logging=False,
        **options,
    )
    seen: list[int] = []
    try:
        for _ in range(passes):
            for ev in stream:
                seen.extend(row["values"]["id"] for row in ev.rows)
    finally:
        stream.close()
    return seen


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_library_mariadb_gtid_defects_pinned(dsn: str) -> None:
    """Pins mysql-replication 1.0.17's MariaDB defects (shared/FACTS.md) that made the reader
    position by file/offset with its own dump connection. If this test fails, the library
    changed: revisit bridge/readers/mysql.py's module docstring.

    - With auto_position (MariaDB GTID), a new pass after the end of a blocking=False stream
      starts again from the ORIGINAL GTID position: every row is delivered again.
    - With is_mariadb=True, log_file/log_pos are ignored: rows before them are delivered.
    """
    execute(dsn, "CREATE TABLE t (id int PRIMARY KEY)")
    start = head(dsn)
    execute(dsn, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)")
    end = head(dsn)
    assert _library_ids(dsn, 2, auto_position=str(start.gtid)) == [1, 2, 1, 2]
    ignored = _library_ids(dsn, 1, log_file=end.file, log_pos=end.offset, resume_stream=True)
    assert ignored == [1, 2], "log_file/log_pos past both rows, yet they come"
    # Ours: each row once from `start`, none from `end`.
    assert [e.after[0] for e in read_all(dsn, start) if isinstance(e, Insert)] == [1, 2]
    assert [e for e in read_all(dsn, end) if isinstance(e, Insert)] == []
