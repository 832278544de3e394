"""MariaDB 10.11 with binlog_format STATEMENT and MIXED -> PostgreSQL 15: statements become rows.

Each format gets its own MariaDB server (binlog_format in its configuration, so every session,
the tests' sync markers included, logs that way). Comparisons are value by value on both sides
(crossengine.py). Covers issue 5's "done when": NOW(6), several RAND() per statement, RAND(7),
LAST_INSERT_ID(), AUTO_INCREMENT above 2**32, @variables, UPDATE … WHERE with expressions,
DELETE … WHERE, INSERT … SELECT equal on both sides; UUID() under STATEMENT stops the pipeline
with the documented error and nothing from its transaction on applied; under MIXED the row
event carries the real UUID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest

from bridge import metadata
from bridge.appliers.postgres import PostgresApplier
from bridge.local.servers import LocalServer
from bridge.log.events import (
    Begin,
    Commit,
    Delete,
    Event,
    Insert,
    Relation,
    SourceId,
    Statement,
    StatementContext,
    TableName,
    Update,
)
from bridge.positions import BinlogPosition
from bridge.translate.ddl import translate_ddl
from bridge.translate.pgstatements import split_statements
from bridge.translate.statement_types import TableSchema, UnsafeStatementError
from bridge.translate.statements_pg import to_postgres_statements
from tests.integration.crossengine import (
    assert_same_rows,
    fresh_mysql_db,
    my_transaction,
    sync_mysql,
)
from tests.integration.mypair import execute as my_execute
from tests.integration.mypair import head, query, read_all
from tests.integration.pgpair import fresh_db, pipeline_thread, wait_for
from tests.unit import test_statements as golden
from tests.unit.test_statements import col

TABLES = [
    "CREATE TABLE items (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL,"
    " qty int NOT NULL DEFAULT 0, price decimal(10,2), created datetime(6), r1 double,"
    " r2 double, r7 double, flag tinyint(1) NOT NULL DEFAULT 1, note varchar(60) DEFAULT 'none',"
    " stamp timestamp(6) NULL, day date, clock time(3), epoch bigint,"
    " changed timestamp(6) NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP(6))"
    " AUTO_INCREMENT = 5000000000",
    "CREATE TABLE log (id int PRIMARY KEY, item_id bigint, at datetime(6), v varchar(60),"
    " f double, d decimal(8,3))",
    "CREATE TABLE archive (id bigint PRIMARY KEY, name varchar(40), qty int)",
]

# One session: its time zone and @variables reach the binlog with each statement that uses them.
WORKLOAD = [
    "SET time_zone = '+02:00'",
    "SET @who = 'héllo', @n = 42, @d = 1.50, @f = 2.5e0, @nothing = NULL",
    # NOW(6), three RAND() and RAND(7) in one statement, @variables, the first id above 2**32.
    "INSERT INTO items (name, qty, price, created, r1, r2, r7, note, stamp, day, clock, epoch)"
    " VALUES ('a', @n, @d, NOW(6), RAND(), RAND(), RAND(7), @who, NOW(6), CURDATE(),"
    " CURTIME(3), UNIX_TIMESTAMP()),"
    " ('b', 2, 3.5, NOW(), RAND(), RAND(), RAND(7), CONCAT(@who, '!'), CURRENT_TIMESTAMP(3),"
    " NULL, NULL, NULL)",
    "INSERT INTO log VALUES (1, LAST_INSERT_ID(), NOW(6), @nothing, @f, @d)",
    "INSERT INTO items SET name = 'c', qty = 7",
    "INSERT INTO log (id, item_id, v) VALUES (2, LAST_INSERT_ID(), DATABASE())",
    # UPDATE … WHERE with expressions; MySQL assigns left to right (note sees the new qty).
    "UPDATE items SET qty = qty * 2 + 1, price = price / 3, note = CONCAT(note, '-', qty)"
    " WHERE (qty > 5 AND name LIKE 'c%') OR id = LAST_INSERT_ID()",
    "UPDATE items SET r1 = RAND(7), r2 = RAND() WHERE id = 5000000000",
    "UPDATE items SET r7 = RAND(id) WHERE id > 5000000000",
    "UPDATE items SET flag = NOT flag, epoch = epoch DIV 7 WHERE qty >= 3",
    "UPDATE items SET qty = qty + 1 ORDER BY id DESC LIMIT 1",
    "DELETE FROM items WHERE name = 'b'",
    "DELETE FROM log WHERE at < NOW(6) - INTERVAL 1 DAY OR v = 'no such'",
    "INSERT INTO archive (id, name, qty) SELECT id, name, qty FROM items WHERE qty > 1",
    "INSERT INTO archive VALUES (1, 'x', 1) ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty)",
    "INSERT INTO archive VALUES (1, 'x', 1) ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty)",
    "INSERT IGNORE INTO archive VALUES (1, 'y', 5), (2, 'z', 6)",
    "REPLACE INTO archive VALUES (2, 'zz', 7)",
    "UPDATE archive JOIN items ON items.id = archive.id SET archive.qty = items.qty + 100",
]


@pytest.fixture(params=["STATEMENT", "MIXED"])
def stmt_pair(
    request: pytest.FixtureRequest, local_servers: object, pg15_server: LocalServer
) -> Iterator[tuple[str, str, str]]:
    fmt = str(request.param)
    server = local_servers.get("mariadb", {"binlog_format": fmt})  # type: ignore[attr-defined]
    with fresh_mysql_db(server, "st") as source, fresh_db(pg15_server, "tgt") as target:
        yield fmt, source, target


def _db(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def test_statements_reach_postgres_as_the_source_has_them(
    stmt_pair: tuple[str, str, str],
) -> None:
    fmt, source, target = stmt_pair
    my_execute(source, *TABLES)
    start = head(source)
    with pipeline_thread(source, target, name="stmt", tables=(f"{_db(source)}.*",)) as running:
        sync_mysql(source, target, running=running)
        my_transaction(source, WORKLOAD[:4])  # several statements in one transaction
        my_transaction(source, WORKLOAD[4:])
        # MIXED logs what is unsafe for statements as rows, so the row path carries UUID()
        # and UPDATE … LIMIT without an order; STATEMENT would stop at them (tested below).
        if fmt == "MIXED":
            my_transaction(
                source,
                [
                    "INSERT INTO log (id, v) VALUES (3, UUID())",
                    "UPDATE items SET note = 'limited' LIMIT 1",
                ],
            )
        sync_mysql(source, target, running=running)
    assert_same_rows(source, target, ["items", "log", "archive"])
    ids = [r[0] for r in query(source, "SELECT id FROM items ORDER BY id")]
    assert ids[0] == 5_000_000_000
    # The statements really went through the statement path.
    events = read_all(source, start)
    assert any(type(e) is Statement for e in events)
    assert any(type(e) is Insert and e.relation.name == "items" for e in events)
    if fmt == "MIXED":
        uuid = query(source, "SELECT v FROM log WHERE id = 3")[0][0]
        with psycopg.connect(target) as conn:
            got = conn.execute(f'SELECT v FROM "{_db(source)}".log WHERE id = 3').fetchone()
        assert got == (uuid,)


@pytest.fixture
def statement_pair(local_servers: object, pg15_server: LocalServer) -> Iterator[tuple[str, str]]:
    server = local_servers.get("mariadb", {"binlog_format": "STATEMENT"})  # type: ignore[attr-defined]
    with fresh_mysql_db(server, "st") as source, fresh_db(pg15_server, "tgt") as target:
        yield source, target


def _target_rows(target: str, db: str) -> list[tuple[object, ...]]:
    with psycopg.connect(target) as conn:
        return conn.execute(f'SELECT id, v FROM "{db}".t ORDER BY id').fetchall()


def test_uuid_under_statement_stops_after_the_last_good_transaction(
    statement_pair: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The batch holding the good transactions before UUID() is committed, nothing after."""
    source, target = statement_pair
    caplog.set_level("INFO", logger="bridge.pipeline")
    db = _db(source)
    my_execute(source, "CREATE TABLE t (id int PRIMARY KEY, v varchar(40))")
    with pipeline_thread(source, target, name="unsafe", tables=(f"{db}.*",)) as running:
        sync_mysql(source, target, running=running)
    # Written while the pipeline is down, so the next run reads them in one burst, into one
    # target batch (batch_seconds is long): the error must not lose T1 and T2 with it.
    my_transaction(source, ["INSERT INTO t VALUES (1, 'one'), (2, 'two')"])  # T1
    my_transaction(source, ["UPDATE t SET v = CONCAT(v, '!') WHERE id = 2"])  # T2
    my_transaction(
        source, ["INSERT INTO t VALUES (3, 'three')", "INSERT INTO t VALUES (4, UUID())"]
    )
    my_transaction(source, ["INSERT INTO t VALUES (5, 'five')"])  # after the failure
    with (
        pytest.raises(UnsafeStatementError) as info,
        pipeline_thread(
            source, target, name="unsafe", tables=(f"{db}.*",), batch_seconds=60.0
        ) as running,
    ):
        wait_for(lambda: bool(running.errors), 60, "the pipeline to stop")
    message = str(info.value)
    assert "UUID()" in message
    assert "INSERT INTO t VALUES (4, UUID())" in message
    assert "mysql-bin." in message  # its position
    assert "binlog_format = MIXED or ROW" in (info.value.hint or "")
    assert _target_rows(target, db) == [(1, "one"), (2, "two!")]
    # T1 and T2 were in the failed batch and were applied again, up to T3's start.
    assert "every transaction before it is applied" in caplog.text
    # A restart meets the same statement again and changes nothing.
    with (
        pytest.raises(UnsafeStatementError),
        pipeline_thread(source, target, name="unsafe", tables=(f"{db}.*",)) as running,
    ):
        wait_for(lambda: bool(running.errors), 60, "the pipeline to stop")
    assert _target_rows(target, db) == [(1, "one"), (2, "two!")]


def test_golden_translations_run_on_postgres(pg15_server: LocalServer) -> None:
    """Every golden PostgreSQL translation (tests/data/statements_pg.txt) is valid SQL that runs
    on PostgreSQL 15 against the tables the DDL translator makes (in a rolled-back transaction);
    the RETURNING rows have the width the applier expects."""
    ddl = [
        "CREATE TABLE items (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL,"
        " qty int NOT NULL DEFAULT 0, price decimal(10,2), created datetime(6), r1 double,"
        " r2 double, flag tinyint(1) NOT NULL DEFAULT 1, stamp timestamp NOT NULL DEFAULT"
        " current_timestamp() ON UPDATE current_timestamp(), kind enum('small','large'),"
        " tags set('a','b'))",
        "CREATE TABLE pairs (a int NOT NULL PRIMARY KEY, b int NOT NULL UNIQUE, v text)",
    ]
    with fresh_db(pg15_server, "gold") as target, psycopg.connect(target) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("SET search_path = app")
        for d in ddl:
            for s in translate_ddl(d, source="mysql", target="postgres").statements:
                conn.execute(s.encode())
        conn.execute(
            "INSERT INTO app.items (id, name, qty, price, flag, kind, tags) VALUES"
            " (1, 'c1', 7, 10, true, 'small', '{a}'), (2, 'x', 2, 3.5, false, 'large', '{}')"
        )
        conn.execute("INSERT INTO app.pairs VALUES (70, 90, 'seventy'), (20, 10, NULL)")
        for text in golden.GOLDEN_STATEMENTS:
            conn.execute("SAVEPOINT s")
            for statement in split_statements(golden.to_pg(text)):
                cur = conn.execute(statement.encode())
                width = len(cur.description or ())
                n = len(golden.ITEMS.names if "items" in statement[:120] else golden.PAIRS.names)
                assert width in (n, 2 * n, n + 1), (text, width)
            conn.execute("ROLLBACK TO SAVEPOINT s")
        conn.rollback()


def test_applier_reports_the_rows_a_statement_changed(pg15_server: LocalServer) -> None:
    """The PostgreSQL applier runs a Statement after the rows before it, in the batch's
    transaction, and hands the rows it changed to `statement_rows` as row events."""

    src = SourceId("mariadb", "1", "10.11")
    name = TableName("app", "t")
    schema = TableSchema(
        name,
        (col("id", "int(11)", False, None), col("v", "varchar(10)"), col("n", "int(11)")),
        key=("id",),
        unique=(("id",),),
    )
    columns = tuple(c.column for c in schema.columns)
    ctx = StatementContext(timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), time_zone="+02:00")

    def statement(text: str, offset: int) -> Statement:
        pos = BinlogPosition("mysql-bin.000001", offset)
        ev = Statement(src, pos, text, "mysql", "app", text, ctx, (name,))
        pg = to_postgres_statements(ev, lookup={name: schema}.get)
        return Statement(src, pos, text, "mysql", "app", text, ctx, (name,), {"postgres": pg})

    with fresh_db(pg15_server, "appl") as target:
        metadata.upgrade(target)
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA app")
            conn.execute("CREATE TABLE app.t (id int PRIMARY KEY, v varchar(10), n int)")
        applier = PostgresApplier(target, "stmt-rows")
        seen: list[object] = []
        applier.statement_rows = seen.extend
        applier.retype_on_relation = False  # as the MySQL pipeline runs it
        try:
            p = BinlogPosition("mysql-bin.000001", 100)
            end = BinlogPosition("mysql-bin.000001", 900)
            names = tuple(c.name for c in columns)
            events: list[Event] = [
                Begin(src, p, "0-1-1"),
                Relation(src, p, name, columns, ("id",)),
                Insert(src, p, name, names, (1, "a", 1), ("id",)),
                Insert(src, p, name, names, (2, "b", 2), ("id",)),
                statement("UPDATE t SET n = n * 10 WHERE v <> 'zz'", 200),
                statement("UPDATE t SET v = v WHERE id = 1", 300),  # changes nothing
                statement("DELETE FROM t WHERE n > 15", 400),
                Commit(src, end, "0-1-1", None, end),
            ]
            for ev in events:
                applier.apply(ev)
            applier.commit()
        finally:
            applier.close()
        kinds = [(type(e).__name__, e.before, getattr(e, "after", None)) for e in seen]  # type: ignore[attr-defined]
        assert kinds == [
            ("Update", (1, "a", 1), (1, "a", 10)),
            ("Update", (2, "b", 2), (2, "b", 20)),
            ("Delete", (2, "b", 20), None),
        ]
        assert isinstance(seen[0], Update)
        assert isinstance(seen[2], Delete)
        with psycopg.connect(target) as conn:
            assert conn.execute("SELECT * FROM app.t").fetchall() == [(1, "a", 10)]
