"""MariaDB 10.11 -> PostgreSQL 15 / 17: snapshot, live changes and DDL, kill -9, bad input.

Every comparison is a normalized value-by-value comparison of both sides (crossengine.py).
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from bridge import mysqlconn
from bridge.local.servers import LocalServer
from tests.integration.crossengine import (
    assert_same_rows,
    fresh_mysql_db,
    my_transaction,
    random_changes,
    random_table,
    sync_mysql,
    wait_streaming,
)
from tests.integration.mypair import execute as my_execute
from tests.integration.pgpair import (
    bridge_run,
    dbbridge,
    fresh_db,
    pipeline_thread,
)
from tests.integration.workload import kill_9_under_load, my_step


@pytest.fixture(params=[15, 17], ids=["mariadb-pg15", "mariadb-pg17"])
def my_to_pg(
    request: pytest.FixtureRequest, mariadb_server: LocalServer, local_servers: object
) -> Iterator[tuple[str, str]]:
    pg = request.getfixturevalue(f"pg{request.param}_server")
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg, "tgt") as target:
        yield source, target


@pytest.fixture
def my_to_pg17(mariadb_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        yield source, target


def _db(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def test_random_schema_snapshot_live_changes_and_ddl(my_to_pg: tuple[str, str]) -> None:
    """Every type of the mapping table, snapshot + live changes + DDL mid-stream: equal data."""
    source, target = my_to_pg
    rng = random.Random(4)
    every = random_table(rng, "every_type", every_type=True)
    other = random_table(rng, "mixed")
    keys: dict[str, list[int]] = {every.name: [], other.name: []}
    my_execute(source, every.create(), other.create())
    for t in (every, other):
        stmts = random_changes(rng, t, keys[t.name], 60)
        my_transaction(source, stmts)
    with pipeline_thread(source, target, name="mix", tables=(f"{_db(source)}.*",)) as running:
        sync_mysql(source, target, running=running)
        assert_same_rows(source, target, [every.name, other.name])
        # Live: transactions of several statements over both tables.
        for _ in range(15):
            stmts = random_changes(rng, every, keys[every.name], 4)
            stmts += random_changes(rng, other, keys[other.name], 3)
            my_transaction(source, stmts)
        # DDL in the middle of the stream, with rows before and after it.
        my_transaction(source, [every.insert(rng, 10_000)])
        my_execute(source, "ALTER TABLE `mixed` ADD COLUMN added int NOT NULL DEFAULT 7")
        my_transaction(
            source,
            [
                "INSERT INTO `mixed` (id, added) VALUES (10001, 8)",
                "UPDATE `mixed` SET added = added + 1 WHERE id % 2 = 0",
            ],
        )
        my_execute(source, "ALTER TABLE `every_type` DROP COLUMN c3")
        every.columns = [c for c in every.columns if c[0] != "c3"]
        my_execute(
            source,
            "CREATE TABLE fresh (id int PRIMARY KEY AUTO_INCREMENT, v varchar(20) NOT NULL)",
            "INSERT INTO fresh (v) VALUES ('a'), ('b 🐬')",
        )
        for _ in range(5):
            my_transaction(source, random_changes(rng, every, keys[every.name], 3))
        sync_mysql(source, target, running=running)
    assert_same_rows(source, target, ["every_type", "mixed", "fresh"])


def test_kill_9_five_times_under_load(my_to_pg17: tuple[str, str]) -> None:
    source, target = my_to_pg17
    my_execute(
        source,
        "CREATE TABLE accounts (id int AUTO_INCREMENT PRIMARY KEY, balance int NOT NULL,"
        " note varchar(50))",
        # No key: a duplicate or a lost insert shows as a row too many or too few.
        "CREATE TABLE audit (seq int NOT NULL, at datetime(6))",
        "INSERT INTO accounts (balance, note) SELECT seq, 'seed' FROM seq_1_to_2000",
    )
    args = ("run", "--source", source, "--target", target, "--name", "k9", "-q")
    kill_9_under_load(args, source, my_step, seed=9)
    with bridge_run(source, target, "k9"):
        sync_mysql(source, target, timeout=90)
    assert_same_rows(source, target, ["accounts", "audit"])


def test_zero_date_stops_with_the_documented_error(my_to_pg17: tuple[str, str]) -> None:
    source, target = my_to_pg17
    my_execute(
        source,
        "SET SESSION sql_mode = ''",
        "CREATE TABLE d (id int PRIMARY KEY, at date NOT NULL)",
    )
    conn = mysqlconn.connect(source, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("INSERT INTO d VALUES (1, '2024-01-01'), (2, '0000-00-00')")
    conn.close()
    proc = dbbridge("run", "--source", source, "--target", target, "--name", "zero", "-q")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert "zero date" in err.lower(), err
    assert "0000-00-00" in err, err
    assert f"{_db(source)}.d" in err, err  # the table is named


def test_zero_dates_become_null_when_the_policy_says_so(my_to_pg17: tuple[str, str]) -> None:
    """--zero-dates null: zero dates from the copy, from live inserts and updates and in a
    column added later arrive as NULL, and the NOT NULL of such columns is dropped."""
    source, target = my_to_pg17
    my_execute(
        source,
        "SET SESSION sql_mode = ''",
        "CREATE TABLE d (id int PRIMARY KEY, at date NOT NULL, ts datetime(3) NULL, n int)",
        "INSERT INTO d VALUES (1, '2024-01-01', '2024-01-01 10:00:00.125', 1),"
        " (2, '0000-00-00', '0000-00-00 00:00:00', 2), (3, '2024-00-15', NULL, 3)",
    )
    with bridge_run(source, target, "zeronull", "--zero-dates", "null"):
        wait_streaming(target, "zeronull", timeout=90)
        my_execute(
            source,
            "SET SESSION sql_mode = ''",
            "INSERT INTO d VALUES (4, '0000-00-00', '2024-05-05 05:05:05', 4)",
            "UPDATE d SET at = '0000-00-00', n = 10 WHERE id = 1",
            "UPDATE d SET at = '2024-02-02', n = 20 WHERE id = 2",
            "ALTER TABLE d ADD COLUMN later date NOT NULL DEFAULT '0000-00-00'",
            "INSERT INTO d (id, at, ts, n, later) VALUES (5, '2024-06-06', NULL, 5, '2024-07-07')",
        )
        sync_mysql(source, target, timeout=90)
    schema = _db(source)
    with psycopg.connect(target) as conn:
        rows = conn.execute(
            sql.SQL("SELECT id, at::text, ts::text, n, later::text FROM {} ORDER BY id").format(
                sql.Identifier(schema, "d")
            )
        ).fetchall()
        nullable: dict[str, str] = dict(
            conn.execute(
                "SELECT column_name, is_nullable FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'd'",
                (schema,),
            ).fetchall()
        )
    assert rows == [
        (1, None, "2024-01-01 10:00:00.125", 10, None),
        (2, "2024-02-02", None, 20, None),
        (3, None, None, 3, None),
        (4, None, "2024-05-05 05:05:05", 4, None),
        (5, "2024-06-06", None, 5, "2024-07-07"),
    ]
    assert nullable["at"] == "YES"
    assert nullable["later"] == "YES"


def test_purged_binlog_is_a_clear_error_not_a_resnapshot(
    my_to_pg17: tuple[str, str], mariadb_server: LocalServer
) -> None:
    source, target = my_to_pg17
    my_execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 1)")
    with bridge_run(source, target, "purge"):
        wait_streaming(target, "purge")
        sync_mysql(source, target)
    # Changes the bridge has not read, then their binlog files are purged.
    my_execute(source, "INSERT INTO t VALUES (2, 2)")
    my_execute(mariadb_server.dsn, "FLUSH BINARY LOGS")
    my_execute(mariadb_server.dsn, "FLUSH BINARY LOGS")
    conn = mysqlconn.connect(mariadb_server.dsn, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        current = cur.fetchone()[0]
        # The server keeps a file while a (dying) binlog dump thread still reads it: retry.
        deadline = time.monotonic() + 30
        while True:
            cur.execute("PURGE BINARY LOGS TO %s", (current,))
            cur.execute("SHOW BINARY LOGS")
            if [r[0] for r in cur.fetchall()] == [current] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    conn.close()
    proc = dbbridge("run", "--source", source, "--target", target, "--name", "purge", "-q")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert "purged" in err or "no longer" in err, err
    assert "snapshot" in err, err
    # Nothing was re-copied or skipped behind the user's back: the target is as it was.
    with psycopg.connect(target) as conn:
        rows = conn.execute(
            sql.SQL("SELECT id, v FROM {} ORDER BY id").format(sql.Identifier(_db(source), "t"))
        ).fetchall()
    assert rows == [(1, 1)]


def test_sigterm_during_the_copy_exits_0_and_the_next_run_copies_again(
    my_to_pg17: tuple[str, str],
) -> None:
    source, target = my_to_pg17
    my_execute(
        source,
        "CREATE TABLE big (id int PRIMARY KEY, pad varchar(200))",
        "INSERT INTO big SELECT seq, repeat('x', 200) FROM seq_1_to_300000",
    )
    proc = dbbridge("run", "--source", source, "--target", target, "--name", "cut")
    assert proc.stderr is not None
    for line in proc.stderr:  # the copy has started
        if "copying" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    with psycopg.connect(target) as conn:  # stopped inside the copy: it is not recorded as done
        phase = conn.execute(
            "SELECT phase FROM bridge.checkpoints WHERE pipeline = 'cut'"
        ).fetchone()
    assert phase != ("streaming",), "the copy finished before the stop; the test shows nothing"
    with bridge_run(source, target, "cut"):
        wait_streaming(target, "cut", timeout=120)
        sync_mysql(source, target, timeout=120)
    assert_same_rows(source, target, ["big"])


def test_truncate_rename_and_modify_arrive_in_order_with_rows(my_to_pg17: tuple[str, str]) -> None:
    """A MySQL TRUNCATE has no row events: only its translation empties the target table."""
    source, target = my_to_pg17
    my_execute(
        source,
        "CREATE TABLE a (id int PRIMARY KEY, v smallint, KEY v_idx (v))",
        "INSERT INTO a VALUES (1, 1), (2, 2)",
    )
    with pipeline_thread(source, target, name="ddl", tables=(f"{_db(source)}.*",)) as running:
        sync_mysql(source, target, running=running)
        my_execute(
            source,
            "TRUNCATE TABLE a",
            "INSERT INTO a VALUES (3, 3)",
            "ALTER TABLE a MODIFY v bigint unsigned NOT NULL",
            "INSERT INTO a VALUES (4, 18446744073709551615)",
            "RENAME TABLE a TO b",
            "INSERT INTO b VALUES (5, 5)",
            "ALTER TABLE b CHANGE v w bigint unsigned NOT NULL DEFAULT 9",
            "INSERT INTO b (id) VALUES (6)",
        )
        sync_mysql(source, target, running=running)
    assert_same_rows(source, target, ["b"])
    with psycopg.connect(target) as conn:
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'b'",
            (_db(source),),
        ).fetchall()
    assert ("b_v_idx",) in indexes  # the index follows the table's rename
