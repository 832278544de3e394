"""The MySQL applier on a real MariaDB: log events built by hand, the target read back.

Each test gets a fresh database on the session's MariaDB and a pipeline of its own; events come
from a PostgreSQL-like source (Lsn positions). Values are compared, not counts.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest

from bridge import metadata
from bridge.appliers.mysql import MysqlApplier
from bridge.errors import ApplyError, ConfigError, TranslateError
from bridge.local.servers import LocalServer
from bridge.log.events import (
    Begin,
    Column,
    ColumnType,
    Commit,
    Ddl,
    Delete,
    Event,
    Insert,
    Relation,
    SourceId,
    TableName,
    Truncate,
    Update,
)
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
from bridge.positions import Lsn
from tests.helpers import mysql_connect

SOURCE = SourceId("postgres", "7312345678901234567", "17.2")
UTC = dt.UTC


@dataclass
class Target:
    dsn: str
    database: str
    pipeline: str

    def execute(self, *statements: str) -> None:
        conn = mysql_connect(self.dsn)
        try:
            with conn.cursor() as cur:
                for s in statements:
                    cur.execute(s)
        finally:
            conn.close()

    def rows(self, table: str, order: str = "1") -> list[tuple[object, ...]]:
        conn = mysql_connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f"SELECT * FROM `{table}` ORDER BY {order}")
                return list(cur.fetchall())
        finally:
            conn.close()

    def checkpoint(self) -> tuple[object, ...] | None:
        conn = mysql_connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT position, transactions, changes FROM bridge.checkpoints"
                    " WHERE pipeline = %s",
                    (self.pipeline,),
                )
                return cur.fetchone()
        finally:
            conn.close()

    def applier(self, **kwargs: object) -> MysqlApplier:
        return MysqlApplier(self.dsn, self.pipeline, **kwargs)  # type: ignore[arg-type]

    def apply(self, events: Sequence[Event]) -> None:
        """Apply `events` with a fresh applier and commit."""
        applier = self.applier()
        try:
            apply_all(applier, events)
            applier.commit()
        finally:
            applier.close()


@pytest.fixture
def target(mariadb_server: LocalServer) -> Iterator[Target]:
    name = f"t_{secrets.token_hex(4)}"
    root = mysql_connect(mariadb_server.dsn)
    with root.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    dsn = urlunsplit(urlsplit(mariadb_server.dsn)._replace(path=f"/{name}"))
    metadata.upgrade(dsn)
    try:
        yield Target(dsn, name, name)
    finally:
        with root.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
            cur.execute("DELETE FROM bridge.checkpoints WHERE pipeline = %s", (name,))
        root.close()


@dataclass
class Source:
    """Builds a PostgreSQL-like stream: transactions of row events at growing LSNs."""

    table: TableName
    columns: tuple[str, ...]
    key: tuple[str, ...] = ("id",)
    lsn: int = 0x1_0000_0000
    events: list[Event] = field(default_factory=list)
    _begin: int = 0

    def pos(self) -> Lsn:
        self.lsn += 0x28
        return Lsn(self.lsn)

    def begin(self) -> None:
        self._begin = len(self.events)
        self.events.append(Begin(SOURCE, self.pos(), "100"))

    def commit(self) -> Commit:
        at = self.pos()
        when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        ev = Commit(SOURCE, at, "100", when, at)
        self.events.append(ev)
        # Like pgoutput, Begin announces the commit's position and time up front.
        begin = self.events[self._begin]
        self.events[self._begin] = Begin(SOURCE, begin.position, "100", when, at)
        return ev

    def insert(self, *row: Value) -> None:
        self.events.append(Insert(SOURCE, self.pos(), self.table, self.columns, row, self.key))

    def update(self, after: Sequence[Value], before: Sequence[Value] | None = None) -> None:
        self.events.append(
            Update(
                SOURCE,
                self.pos(),
                self.table,
                self.columns,
                None if before is None else tuple(before),
                tuple(after),
                self.key,
            )
        )

    def delete(self, *before: Value) -> None:
        self.events.append(Delete(SOURCE, self.pos(), self.table, self.columns, before, self.key))

    def txn(self, *rows: Sequence[Value]) -> Commit:
        """One transaction inserting `rows`."""
        self.begin()
        for r in rows:
            self.insert(*r)
        return self.commit()

    def take(self) -> list[Event]:
        out, self.events = self.events, []
        return out


def key_only(key: Value, width: int) -> tuple[Value, ...]:
    return (key,) + (ABSENT,) * (width - 1)


def apply_all(applier: MysqlApplier, events: Sequence[Event]) -> None:
    for ev in events:
        applier.apply(ev)


# -- metadata -------------------------------------------------------------------------------


def test_metadata_migrations_on_mariadb(target: Target) -> None:
    assert metadata.upgrade(target.dsn) == metadata.HEAD  # the fixture migrated it already
    conn = mysql_connect(target.dsn)
    try:
        assert metadata.current_revision_mysql(conn) == metadata.HEAD
        with conn.cursor() as cur:
            cur.execute(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'bridge'"
                " ORDER BY 1"
            )
            tables = {str(r[0]) for r in cur.fetchall()}
            # (a MariaDB that is also a pipeline's source holds that pipeline's `heartbeat` too)
            assert tables - {"heartbeat"} == {
                "alembic_version",
                "checkpoints",
                "heartbeats",
                "in_flight",
                "pipeline_stats",
                "relations",
            }
            cur.execute(
                "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
                " 'bridge' AND TABLE_NAME = 'checkpoints' AND COLUMN_NAME = 'commit_time'"
            )
            assert cur.fetchone() == ("datetime(6)",)
    finally:
        conn.close()


def test_a_refused_login_is_a_configuration_error(mariadb_server: LocalServer) -> None:
    bad = mariadb_server.dsn.replace("bridge:", "nobody:", 1)
    with pytest.raises(ConfigError, match="refused the login"):
        MysqlApplier(bad, "p")


# -- batching, checkpoints, exactly once ------------------------------------------------------


def test_many_transactions_one_commit_with_the_checkpoint(target: Target) -> None:
    target.execute("CREATE TABLE t (id int PRIMARY KEY, v varchar(20))")
    src = Source(TableName("public", "t"), ("id", "v"))
    last = None
    for i in range(100):
        last = src.txn((i, f"v{i}"), (1000 + i, None))
    applier = target.applier()
    try:
        apply_all(applier, src.take())
        assert applier.uncommitted
        assert applier.commit() == last
        assert applier.applied_transactions == 100
    finally:
        applier.close()
    assert last is not None
    assert target.checkpoint() == (str(last.commit_position), 100, 200)
    expected = [(i, f"v{i}") for i in range(100)] + [(1000 + i, None) for i in range(100)]
    assert target.rows("t") == expected


def test_a_killed_connection_before_commit_applies_nothing(target: Target) -> None:
    target.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
    src = Source(TableName("public", "t"), ("id", "v"))
    first = src.txn((1, 1))
    applier = target.applier()
    try:
        apply_all(applier, src.take())
        applier.commit()
        src.txn((2, 2), (3, 3))
        src.begin()
        src.update((1, 10))
        src.commit()
        apply_all(applier, src.take())
        applier.flush()  # written inside the open transaction, not committed
        with applier.conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID()")
            (session,) = cur.fetchone() or (0,)
        target.execute(f"KILL CONNECTION {session}")
        with pytest.raises(ApplyError) as info:
            applier.commit()
        assert info.value.retryable
    finally:
        applier.close()
    assert target.rows("t") == [(1, 1)]
    assert target.checkpoint() == (str(first.commit_position), 1, 1)


def test_a_restart_skips_what_was_applied(target: Target) -> None:
    target.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
    src = Source(TableName("public", "t"), ("id", "v"))
    src.txn((1, 1), (2, 2))
    src.begin()
    src.update((1, 5))
    src.delete(*key_only(2, 2))
    src.commit()
    events = src.take()
    target.apply(events)
    before = target.rows("t")
    checkpoint = target.checkpoint()
    again = target.applier()  # a restart: the checkpoint is loaded, the stream redelivered
    try:
        apply_all(again, events)
        assert not again.uncommitted
        assert again.commit() is None
    finally:
        again.close()
    assert before == [(1, 5)]
    assert target.rows("t") == before
    assert target.checkpoint() == checkpoint


# -- per-key order, key changes, UNCHANGED, keyless tables, truncate ----------------------------


def test_per_key_order_inside_one_chunk(target: Target) -> None:
    target.execute(
        "CREATE TABLE t (id int PRIMARY KEY, v varchar(10), u int, UNIQUE KEY (u))",
        "INSERT INTO t VALUES (10, 'old', 100), (11, 'old', 101), (12, 'x', 102)",
    )
    src = Source(TableName("public", "t"), ("id", "v", "u"))
    src.begin()
    src.insert(1, "a", 1)  # insert, update, delete, insert of one key
    src.update((1, "b", 1))
    src.delete(*key_only(1, 3))
    src.insert(1, "c", 2)
    src.update((20, "moved", 100), before=key_only(10, 3))  # key change, whole row
    src.update((30, "chain", 101), before=key_only(11, 3))  # 11 -> 30 -> 10
    src.update((10, "chain", 101), before=key_only(30, 3))
    src.update((12, "x", 103))  # a unique value moves away from 102…
    src.insert(2, "took", 102)  # …and to another row, in source order
    src.commit()
    target.apply(src.take())
    assert target.rows("t") == [
        (1, "c", 2),
        (2, "took", 102),
        (10, "chain", 101),
        (12, "x", 103),
        (20, "moved", 100),
    ]


def test_a_unique_value_moving_between_rows_replays_in_order(target: Target) -> None:
    target.execute(
        "CREATE TABLE t (id int PRIMARY KEY, u int, UNIQUE KEY (u))",
        "INSERT INTO t VALUES (1, 5), (2, 6)",
    )
    src = Source(TableName("public", "t"), ("id", "u"))
    src.begin()
    src.update((1, 7))  # frees 5 …
    src.update((2, 5))  # … which row 2 takes: set-wise, row 2 may go first and collide
    src.update((1, 6))
    src.commit()
    applier = target.applier()
    try:
        apply_all(applier, src.take())
        applier.commit()
        replayed = applier.replayed_chunks
    finally:
        applier.close()
    assert target.rows("t") == [(1, 6), (2, 5)]
    assert replayed == 1


def test_unchanged_columns_keep_the_target_value(target: Target) -> None:
    target.execute(
        "CREATE TABLE t (id int PRIMARY KEY, n int, body longtext NOT NULL, b longblob)",
        "INSERT INTO t VALUES (1, 0, REPEAT('x', 30000), X'00FF'), (2, 0, 'two', NULL)",
    )
    src = Source(TableName("public", "t"), ("id", "n", "body", "b"))
    src.begin()
    src.update((1, 1, UNCHANGED, UNCHANGED))  # folded: not in the SET list
    src.update((2, 1, UNCHANGED, b"\x01"))
    src.update((3, 2, UNCHANGED, UNCHANGED), before=key_only(2, 4))  # key change: in order
    src.commit()
    target.apply(src.take())
    assert target.rows("t") == [(1, 1, "x" * 30000, b"\x00\xff"), (3, 2, "two", b"\x01")]


def test_keyless_tables_match_every_column_one_row_at_a_time(target: Target) -> None:
    target.execute(
        "CREATE TABLE k (a int, s varchar(10), f float, d datetime(6))",
        "INSERT INTO k VALUES (1, 'x', 1.1, '2024-01-01'), (1, 'x', 1.1, '2024-01-01'),"
        " (1, 'X', 1.1, '2024-01-01'), (2, NULL, NULL, NULL)",
    )
    src = Source(TableName("public", "k"), ("a", "s", "f", "d"), key=())
    day = dt.datetime(2024, 1, 1)
    src.begin()
    src.delete(1, "x", 1.1, day)  # one of the two duplicates, not the 'X' row
    src.update((1, "y", 1.1, day), before=(1, "x", 1.1, day))
    src.update((3, None, None, None), before=(2, None, None, None))
    src.insert(1, "x", 1.1, day)
    src.commit()
    target.apply(src.take())
    rows = sorted(target.rows("k"), key=str)
    assert [(a, s, d) for a, s, _, d in rows] == sorted(
        [(1, "X", day), (1, "x", day), (1, "y", day), (3, None, None)], key=str
    )


def test_truncate_empties_the_tables_in_the_batch(target: Target) -> None:
    target.execute(
        "CREATE TABLE t (id int PRIMARY KEY)",
        "CREATE TABLE u (id int PRIMARY KEY)",
        "INSERT INTO t VALUES (1), (2)",
        "INSERT INTO u VALUES (1)",
    )
    src = Source(TableName("public", "t"), ("id",))
    src.begin()
    src.insert(3)
    src.events.append(
        Truncate(SOURCE, src.pos(), (TableName("public", "t"), TableName("public", "u")))
    )
    src.insert(4)
    src.commit()
    target.apply(src.take())
    assert target.rows("t") == [(4,)]
    assert target.rows("u") == []


def test_composite_keys_and_small_statements(target: Target) -> None:
    target.execute("CREATE TABLE c (a int, b varchar(8), v int, PRIMARY KEY (a, b))")
    src = Source(TableName("public", "c"), ("a", "b", "v"), key=("a", "b"))
    src.txn(*[(i, f"k{i}", i) for i in range(500)])
    src.begin()
    for i in range(0, 500, 2):
        src.update((i, f"k{i}", -i))
    for i in range(1, 500, 4):
        src.delete(i, f"k{i}", ABSENT)
    src.commit()
    applier = target.applier(statement_bytes=2000)  # many statements per table and chunk
    try:
        apply_all(applier, src.take())
        applier.commit()
    finally:
        applier.close()
    expected = [(i, f"k{i}", -i if i % 2 == 0 else i) for i in range(500) if i % 4 != 1]
    assert target.rows("c", "a") == expected


def test_no_auto_value_on_zero_keeps_a_replicated_zero(target: Target) -> None:
    target.execute("CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY, v int)")
    src = Source(TableName("public", "t"), ("id", "v"))
    src.txn((0, 0), (5, 5))
    target.apply(src.take())
    assert target.rows("t") == [(0, 0), (5, 5)]


# -- schema: relations and DDL -----------------------------------------------------------------


def _relation(table: TableName, *columns: str) -> Relation:
    typ = ColumnType("int", "integer", size=32)
    return Relation(SOURCE, Lsn(1), table, tuple(Column(c, typ) for c in columns), ("id",))


def test_relations_create_missing_tables_and_drop_columns(target: Target) -> None:
    table = TableName("public", "r")
    made: list[str] = []

    def table_ddl(rel: Relation) -> list[str]:
        cols = ", ".join(f"`{c.name}` int" for c in rel.columns)
        made.append(rel.relation.name)
        return [f"CREATE TABLE `{rel.relation.name}` ({cols}, PRIMARY KEY (id))"]

    src = Source(table, ("id", "a"))
    applier = target.applier(table_ddl=table_ddl)
    try:
        applier.apply(_relation(table, "id", "a", "b"))
        src.txn((1, 2))
        apply_all(applier, src.take())
        applier.apply(_relation(table, "id", "a"))  # b dropped on the source
        applier.commit()
        with pytest.raises(ApplyError, match="added column"):
            applier.apply(_relation(table, "id", "a", "c"))
    finally:
        applier.close()
    assert made == ["r"]
    assert target.rows("r") == [(1, 2)]


def test_ddl_needs_a_translator(target: Target) -> None:
    ddl = Ddl(SOURCE, Lsn(0x200), "CREATE TABLE x (id int)", "postgres", schema="public")
    applier = target.applier()
    try:
        with pytest.raises(ApplyError, match="DDL translation is not configured") as info:
            applier.apply(ddl)
        assert info.value.position == "0/200"
    finally:
        applier.close()
    seen: list[Ddl] = []

    def translate(ev: Ddl) -> list[str]:
        seen.append(ev)
        return ["CREATE TABLE x (id int PRIMARY KEY)"]

    target.execute("CREATE TABLE t (id int PRIMARY KEY)")
    src = Source(TableName("public", "t"), ("id",))
    src.txn((1,))
    src.begin()
    src.events.append(ddl)  # MySQL commits implicitly around DDL: the batch commits first
    last = src.commit()
    applier = target.applier(translate_ddl=translate)
    try:
        apply_all(applier, src.take())
        assert applier.uncommitted
        assert applier.commit() == last
    finally:
        applier.close()
    assert seen == [ddl]
    assert target.rows("x") == []
    assert target.rows("t") == [(1,)]
    assert target.checkpoint() == (str(last.commit_position), 2, 1)


# -- values --------------------------------------------------------------------------------------

VALUES_TABLE = """CREATE TABLE v (
  id int PRIMARY KEY, flag tinyint(1), big bigint unsigned, num decimal(12,3), dbl double,
  txt text, raw blob, day date, ts datetime(6), tstz datetime(6), tm time(6), uid char(36),
  doc longtext, arr longtext, bits bit(5), st set('a','b','c'), zd date, en enum('x','y'))"""
VALUES_COLUMNS = (
    "id flag big num dbl txt raw day ts tstz tm uid doc arr bits st zd en".split()  # noqa: SIM905
)


def test_every_value_kind_round_trips(target: Target) -> None:
    target.execute(VALUES_TABLE)
    src = Source(TableName("public", "v"), tuple(VALUES_COLUMNS))
    paris = dt.timezone(dt.timedelta(hours=2))
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    src.txn(
        (
            1,
            True,
            2**64 - 1,
            Decimal("-123456789.120"),
            1.5e-300,
            'l\'été \\ "q" \x00 😀',
            b"\x00'\\\xff",
            dt.date(2024, 2, 29),
            dt.datetime(2024, 1, 1, 23, 59, 59, 999999),
            dt.datetime(2024, 1, 1, 1, 0, tzinfo=paris),
            dt.time(12, 30, 0, 5),
            u,
            Json('{"b": 1, "a": [1.50, null]}'),
            [[1, None], [Decimal("2.50"), 3]],
            BitString("10101"),
            MysqlSet(frozenset({"c", "a"})),
            ZeroDate("date", "0000-00-00"),
            "y",
        ),
        (2, False, 0) + (None,) * 15,
    )
    target.apply(src.take())
    conn = mysql_connect(target.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT *, CAST(zd AS CHAR), bits + 0 FROM v ORDER BY id")
            first, second = cur.fetchall()
    finally:
        conn.close()
    assert first[:16] == (
        1,
        1,
        2**64 - 1,
        Decimal("-123456789.120"),
        1.5e-300,
        'l\'été \\ "q" \x00 😀',
        b"\x00'\\\xff",
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 23, 59, 59, 999999),
        dt.datetime(2023, 12, 31, 23, 0),  # 01:00+02:00 in UTC
        dt.timedelta(hours=12, minutes=30, microseconds=5),
        str(u),
        '{"b": 1, "a": [1.50, null]}',
        "[[1,null],[2.50,3]]",
        b"\x15",
        "a,c",
    )
    assert first[17:] == ("y", "0000-00-00", 21)
    assert second[:3] == (2, 0, 0)
    assert set(second[3:18]) == {None}


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("num", Decimal("NaN"), "MySQL has no NaN"),
        ("num", Decimal("1.2345"), "fraction digits"),
        ("num", Decimal("1234567890"), "integer"),
        ("dbl", float("inf"), "cannot store inf"),
        ("big", -1, "outside the column's range"),
        ("tm", Interval(1, 2, 3), "no interval type"),  # (a text column takes its text)
        ("ts", SpecialTemporal("timestamp", "infinity"), "infinity"),
        ("day", SpecialTemporal("date", "0044-03-15 BC"), "BC"),
        ("bits", BitString("111111"), "do not fit BIT"),
    ],
)
def test_a_value_the_target_cannot_hold_rolls_the_batch_back(
    target: Target, column: str, value: Value, says: str
) -> None:
    target.execute(VALUES_TABLE)
    src = Source(TableName("public", "v"), tuple(VALUES_COLUMNS))
    kept = src.txn((1,) + (None,) * 17)
    applier = target.applier()
    try:
        apply_all(applier, src.take())
        applier.commit()
        src.txn((2,) + (None,) * 17)  # a good transaction in the same batch …
        row: list[Value] = [3] + [None] * 17
        row[VALUES_COLUMNS.index(column)] = value
        src.txn(tuple(row))  # … then a bad one
        events = src.take()
        bad = events[-2]
        with pytest.raises(TranslateError, match=says) as info:
            apply_all(applier, events)
        assert info.value.table == f"{target.database}.v"
        assert column in info.value.message
        assert type(value).__name__ in info.value.message
        assert info.value.position == str(bad.position)
        assert info.value.hint
        assert not applier.uncommitted
    finally:
        applier.close()
    assert target.rows("v") == [(1,) + (None,) * 17]
    assert target.checkpoint() == (str(kept.commit_position), 1, 1)


# -- bulk copy -----------------------------------------------------------------------------------


def test_copy_rows_bulk_inserts(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    target.execute(
        "CREATE TABLE big (id bigint PRIMARY KEY, name varchar(100), n int, at datetime(6),"
        " amount decimal(12,2))"
    )
    count = 200_000
    at = dt.datetime(2024, 1, 1, 10, 0, 0, 123456)
    rows = ((i, f"name {i}", i * 2, at, Decimal("12.34")) for i in range(count))
    applier = target.applier()
    try:
        started = time.perf_counter()
        copied = applier.copy_rows(
            TableName("public", "big"), ("id", "name", "n", "at", "amount"), rows
        )
        applier.mark_snapshot(SOURCE, "0/1000", done=True)
        elapsed = time.perf_counter() - started
    finally:
        applier.close()
    with capsys.disabled():
        print(f"\ncopy_rows: {count} rows in {elapsed:.2f} s = {count / elapsed:,.0f} rows/s")
    assert copied == count
    got = target.rows("big", "id")
    assert len(got) == count
    assert got[0] == (0, "name 0", 0, at, Decimal("12.34"))
    assert got[-1] == (count - 1, f"name {count - 1}", 2 * (count - 1), at, Decimal("12.34"))
    assert target.checkpoint() == ("0/1000", 0, 0)


def test_access_denied_is_a_configuration_error(
    target: Target, mariadb_server: LocalServer
) -> None:
    target.execute("CREATE TABLE t (id int PRIMARY KEY)")
    user = f"ro_{secrets.token_hex(3)}"
    password = secrets.token_hex(8)
    target.execute(
        f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'",
        f"GRANT SELECT ON `{target.database}`.* TO '{user}'@'%'",
        f"GRANT SELECT, INSERT, UPDATE ON bridge.* TO '{user}'@'%'",
    )
    u = urlsplit(target.dsn)
    dsn = urlunsplit(u._replace(netloc=f"{user}:{password}@{u.hostname}:{u.port}"))
    src = Source(TableName("public", "t"), ("id",))
    src.txn((1,))
    applier = MysqlApplier(dsn, target.pipeline)
    try:
        apply_all(applier, src.take())
        with pytest.raises(ConfigError, match="INSERT command denied") as info:
            applier.commit()
        assert "GRANT" in (info.value.hint or "")
    finally:
        applier.close()
        target.execute(f"DROP USER '{user}'@'%'")
    assert target.rows("t") == []


def test_a_crash_after_an_implicit_commit_resumes_inside_the_transaction(target: Target) -> None:
    """A source transaction holding DDL reaches MySQL in pieces (DDL commits implicitly). After
    a crash between the pieces, the replayed transaction skips what is already on the target:
    no duplicate row in a keyless table, no second ALTER ("duplicate column")."""
    target.execute("CREATE TABLE k (n int)")  # keyless: a replayed insert would show twice
    ddl = Ddl(
        SOURCE, Lsn(0x1_0000_0100), "ALTER TABLE k ADD COLUMN m int", "postgres", schema="public"
    )
    src = Source(TableName("public", "k"), ("n",), key=())
    src.begin()
    src.insert(1)
    src.insert(2)
    src.events.append(ddl)
    src.events.append(Insert(SOURCE, src.pos(), TableName("public", "k"), ("n", "m"), (3, 30), ()))
    last = src.commit()
    events = src.take()

    def translate(ev: Ddl) -> list[str]:
        return ["ALTER TABLE k ADD COLUMN m int"]

    crashed = target.applier(translate_ddl=translate)
    try:
        apply_all(crashed, events[:-1])  # everything but the Commit: the DDL ran, then a crash
    finally:
        crashed.conn.close()  # no commit, no rollback: as a killed process leaves it
    assert target.rows("k") == [(1, None), (2, None)]  # the rows before the DDL are durable
    assert target.checkpoint() is None

    applier = target.applier(translate_ddl=translate)
    try:
        apply_all(applier, events)  # the whole transaction again, from its checkpoint
        assert applier.commit() == last
    finally:
        applier.close()
    assert target.rows("k", order="n") == [(1, None), (2, None), (3, 30)]
    assert target.checkpoint() == (str(last.commit_position), 1, 1)
    conn = mysql_connect(target.dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM bridge.in_flight WHERE pipeline = %s", (target.pipeline,)
            )
            assert cur.fetchone() == (0,)  # gone with the checkpoint that covers the transaction
    finally:
        conn.close()
