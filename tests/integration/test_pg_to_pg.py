"""PostgreSQL -> PostgreSQL replication on real servers: 13 -> 17 and 15 -> 15.

Snapshot plus live changes over a random schema of the types in common use, unchanged TOAST,
set-wise batching against per-key order, and the checkpoint written with the data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import psycopg
import pytest

from bridge.local.servers import LocalServer
from bridge.readers.postgres import ddl_capture_sql
from tests.integration.pgpair import (
    MARKER,
    TYPES_SQL,
    assert_same,
    execute,
    fresh_db,
    pipeline_thread,
    random_changes,
    random_table,
    sync,
    table_rows,
    wait_for,
)


@pytest.fixture(params=["13->17", "15->15"])
def pair(
    request: pytest.FixtureRequest,
    pg13_server: LocalServer,
    pg15_server: LocalServer,
    pg17_server: LocalServer,
) -> Iterator[tuple[str, str]]:
    """(source DSN, target DSN): fresh databases on the pair's servers."""
    src_server, tgt_server = {
        "13->17": (pg13_server, pg17_server),
        "15->15": (pg15_server, pg15_server),
    }[request.param]
    with fresh_db(src_server, "src") as source, fresh_db(tgt_server, "tgt") as target:
        execute(source, MARKER)
        yield source, target


@pytest.mark.parametrize("seed", [1, 2])
def test_random_schema_round_trip(pair: tuple[str, str], seed: int) -> None:
    source, target = pair
    rng = random.Random(seed)
    tables = [random_table(rng, f"r{i}") for i in range(2)]
    execute(source, TYPES_SQL, *(t.create() for t in tables))
    keys: dict[str, list[int]] = {}
    with psycopg.connect(source) as conn:
        for t in tables:
            keys[t.name] = list(range(1, 151))
            for k in keys[t.name]:
                conn.execute(*t.row(rng, k))
    with pipeline_thread(source, target, name=f"rt{seed}") as running:
        for t in tables:  # live changes while streaming, after the snapshot
            random_changes(source, t, rng, keys[t.name], 300)
        sync(source, target, running=running)
        assert_same(source, target, [t.name for t in tables])
    assert table_rows(target, "r0") != [], "the comparison compared nothing"


def test_unchanged_toast_values_are_kept(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(
        source,
        "CREATE TABLE docs (id int PRIMARY KEY, n int, body text, blob bytea)",
        "ALTER TABLE docs ALTER body SET STORAGE EXTERNAL, ALTER blob SET STORAGE EXTERNAL",
        # ~32 kB of incompressible text and 20 kB of bytes: stored out of line (TOAST)
        "INSERT INTO docs SELECT g, 0, (SELECT string_agg(md5(random()::text), '')"
        " FROM generate_series(1, 1000)), decode(repeat(md5(g::text), 640), 'hex')"
        " FROM generate_series(1, 5) g",
    )
    with pipeline_thread(source, target, name="toast") as running:
        sync(source, target, running=running)
        # Updates that leave body/blob alone: pgoutput sends them as 'unchanged TOAST'.
        execute(
            source,
            "UPDATE docs SET n = n + 1",
            "UPDATE docs SET n = n + 1 WHERE id <= 2",
            "INSERT INTO docs VALUES (9, 0, repeat('z', 3000), NULL)",
            "BEGIN; UPDATE docs SET n = 7 WHERE id = 9; UPDATE docs SET n = 8 WHERE id = 9; COMMIT",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["docs"])
    with psycopg.connect(target) as conn:
        row = conn.execute("SELECT count(*) FROM docs WHERE length(body) >= 32000").fetchone()
    assert row == (5,)


def test_batches_keep_per_key_order_and_checkpoint(pair: tuple[str, str]) -> None:
    """Many transactions folded into one target transaction equal applying them in order."""
    source, target = pair
    execute(source, "CREATE TABLE kv (k int, part text, v int, PRIMARY KEY (k, part))")
    with pipeline_thread(source, target, name="order", batch_seconds=5.0) as running:
        sync(source, target, running=running)
        with psycopg.connect(source) as conn:
            for i in range(200):
                k = i % 10
                conn.execute(
                    "INSERT INTO kv VALUES (%s, 'a', %s) ON CONFLICT (k, part)"
                    " DO UPDATE SET v = EXCLUDED.v",
                    (k, i),
                )
                if i % 3 == 0:
                    conn.execute("DELETE FROM kv WHERE k = %s AND part = 'a'", (k,))
                if i % 5 == 0:  # a key change, then a delete of another key's moved row
                    conn.execute("DELETE FROM kv WHERE k = %s AND part = 'b'", (k,))
                    conn.execute("UPDATE kv SET part = 'b' WHERE k = %s AND part = 'a'", (k,))
                    conn.execute("DELETE FROM kv WHERE k = %s AND part = 'b'", ((k + 1) % 10,))
                conn.commit()
        sync(source, target, running=running)
        assert_same(source, target, ["kv"], order_by="k, part")
    with psycopg.connect(target) as conn:
        cp = conn.execute(
            "SELECT phase, position, transactions FROM bridge.checkpoints WHERE pipeline = 'order'"
        ).fetchone()
    assert cp is not None
    assert cp[0] == "streaming"
    assert int(str(cp[2])) >= 200
    # The slot was confirmed at least up to what the target committed.
    with psycopg.connect(source) as conn:
        acked = conn.execute(
            "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots"
            " WHERE slot_name = 'dbbridge_order'",
            (cp[1],),
        ).fetchone()
    assert acked == (True,)


def _slot_confirmed_past(source: str, slot: str, lsn: str) -> bool:
    with psycopg.connect(source) as conn:
        row = conn.execute(
            "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots"
            " WHERE slot_name = %s",
            (lsn, slot),
        ).fetchone()
    return row == (True,)


def test_slot_is_confirmed_only_after_the_target_commits(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY)")
    with pipeline_thread(source, target, name="ack") as running:
        sync(source, target, running=running)
        with psycopg.connect(target) as blocker:
            blocker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")  # the applier must wait
            execute(source, "INSERT INTO t VALUES (1)")
            with psycopg.connect(source) as conn:
                row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            written = str(row[0])
            time.sleep(1.0)
            assert not _slot_confirmed_past(source, "dbbridge_ack", written)
            blocker.rollback()
        sync(source, target, running=running)
        wait_for(
            lambda: _slot_confirmed_past(source, "dbbridge_ack", written),
            10,
            "the slot to be confirmed after the target's commit",
            running,
        )
    assert_same(source, target, ["t"])


def test_tables_the_copy_creates_keep_their_definitions(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(
        source,
        "CREATE TABLE made (id serial PRIMARY KEY, code text UNIQUE, n int CHECK (n > 0),"
        " ident bigint GENERATED ALWAYS AS IDENTITY, note text DEFAULT 'none')",
        "CREATE INDEX made_n ON made (n)",
        "INSERT INTO made (code, n) VALUES ('a', 1), ('b', 2)",
    )
    with pipeline_thread(source, target, name="made") as running:
        sync(source, target, running=running)
    assert_same(source, target, ["made"])
    definition = (
        "SELECT (SELECT string_agg(indexdef, '; ' ORDER BY indexname) FROM pg_indexes"
        "        WHERE tablename = 'made'),"
        " (SELECT string_agg(pg_get_constraintdef(oid), '; ' ORDER BY conname)"
        "  FROM pg_constraint WHERE conrelid = 'made'::regclass),"
        " (SELECT string_agg(column_name || '=' || coalesce(column_default, ''), ', '"
        "  ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'made')"
    )
    with psycopg.connect(source) as s, psycopg.connect(target) as t:
        src, tgt = s.execute(definition).fetchone(), t.execute(definition).fetchone()
        # The sequence behind `serial` exists and continues on the target after cutover.
        t.execute("SELECT setval('made_id_seq', 2)")
        t.execute("INSERT INTO made (code, n) VALUES ('c', 3)")
        assert t.execute("SELECT id FROM made WHERE code = 'c'").fetchone() == (3,)
    assert src == tgt


def test_a_dropped_connection_is_retried_from_the_checkpoint(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)")
    with pipeline_thread(source, target, name="drop", retry_for=60) as running:
        sync(source, target, running=running)
        execute(source, "INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
        # Cut both of the bridge's links: the apply session and the walsender.
        execute(
            target,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'dbbridge' AND pid <> pg_backend_pid()",
        )
        execute(
            source,
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
            " WHERE slot_name = 'dbbridge_drop' AND active_pid IS NOT NULL",
        )
        execute(source, "UPDATE t SET v = -v WHERE id % 2 = 0", "DELETE FROM t WHERE id > 90")
        sync(source, target, timeout=90, running=running)
        assert running.pipeline.status.retries >= 1
    assert_same(source, target, ["t"])


def test_truncate_and_keyless_full_identity(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(
        source,
        "CREATE TABLE events (payload jsonb, n int)",
        "ALTER TABLE events REPLICA IDENTITY FULL",
        "CREATE TABLE t (id int PRIMARY KEY, v text)",
        "INSERT INTO events VALUES ('{\"a\": 1}', 1), ('{\"a\": 1}', 1), ('{\"b\": 2}', 2)",
        "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g",
    )
    with pipeline_thread(source, target, name="keyless") as running:
        sync(source, target, running=running)
        execute(
            source,
            # one of two identical rows: exactly one goes
            "DELETE FROM events WHERE ctid = (SELECT ctid FROM events WHERE n = 1 LIMIT 1)",
            "UPDATE events SET n = 3 WHERE n = 2",
            "INSERT INTO events VALUES ('[1, 2]', 4)",
            "TRUNCATE t",
            "INSERT INTO t VALUES (1, 'after truncate')",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["events"], order_by="n, payload::text")
    assert_same(source, target, ["t"])


def test_ddl_arrives_in_order_with_the_rows(pair: tuple[str, str]) -> None:
    """Captured DDL (sql/postgres/ddl_capture.sql) runs on the target between the right rows."""
    source, target = pair
    execute(source, ddl_capture_sql(), "CREATE TABLE t (id int PRIMARY KEY, x text)")
    execute(source, "INSERT INTO t VALUES (1, 'before')")
    with pipeline_thread(source, target, name="ddl") as running:
        sync(source, target, running=running)
        execute(
            source,
            "INSERT INTO t VALUES (2, 'still two columns')",
            # A default fills the rows already there, on both sides, at the same point.
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 7",
            "INSERT INTO t VALUES (3, 'three columns', 3)",
            "BEGIN; UPDATE t SET c = 8 WHERE id = 1; ALTER TABLE t DROP COLUMN x;"
            " INSERT INTO t VALUES (4, 4); COMMIT",
            "CREATE TABLE t2 (k text PRIMARY KEY, at timestamptz DEFAULT now())",
            "INSERT INTO t2 (k) VALUES ('new table')",
            "ALTER TABLE t2 ALTER COLUMN k TYPE varchar(20)",
            "INSERT INTO t2 (k) VALUES ('retyped')",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["t", "t2"])
    with psycopg.connect(target) as conn:
        cols = conn.execute(
            "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)"
            " FROM information_schema.columns WHERE table_name = 't2' AND table_schema = 'public'"
        ).fetchone()
        defaults = conn.execute("SELECT count(*) FROM t WHERE c = 7").fetchone()
    assert cols == ("k character varying, at timestamp with time zone",)
    assert defaults == (1,)  # row 2 took the default; row 1 was updated to 8


def test_relation_changes_without_ddl_capture(pair: tuple[str, str]) -> None:
    """Without the capture, added/dropped columns still follow from the Relation messages."""
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, x text, y int)")
    execute(source, "INSERT INTO t VALUES (1, 'a', 1)")
    with pipeline_thread(source, target, name="reldiff") as running:
        sync(source, target, running=running)
        execute(
            source,
            "ALTER TABLE t ADD COLUMN z numeric(10,2)",
            "INSERT INTO t VALUES (2, 'b', 2, 2.5)",
            "ALTER TABLE t DROP COLUMN y",
            "INSERT INTO t VALUES (3, 'c', 3.25)",
            "ALTER TABLE t ALTER COLUMN x TYPE varchar(20)",
            "INSERT INTO t VALUES (4, 'd', 4)",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["t"])
    with psycopg.connect(target) as conn:
        retyped = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 't'::regclass AND attname = 'x'"
        ).fetchone()
    assert retyped == ("character varying(20)",)


def test_updates_around_a_schema_change_in_one_transaction(pair: tuple[str, str]) -> None:
    """Updates before and after an ADD COLUMN land in one target transaction: the update path's
    temporary table must follow the new shape."""
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, x text)")
    execute(source, "INSERT INTO t SELECT g, 'a' FROM generate_series(1, 5) g")
    with pipeline_thread(source, target, name="retemp") as running:
        sync(source, target, running=running)
        execute(
            source,
            "BEGIN; UPDATE t SET x = 'b' WHERE id <= 2; ALTER TABLE t ADD COLUMN y int;"
            " UPDATE t SET y = id * 10, x = 'c' WHERE id >= 2; COMMIT",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["t"])


def test_a_unique_value_moving_between_rows_falls_back_to_source_order(
    pair: tuple[str, str],
) -> None:
    """Folded, the swap is one UPDATE … FROM that trips the unique index (checked row by row);
    the chunk is rolled back to its savepoint and replayed in source order."""
    source, target = pair
    execute(source, "CREATE TABLE u (id int PRIMARY KEY, code text NOT NULL UNIQUE)")
    execute(source, "INSERT INTO u VALUES (1, 'a'), (2, 'b')")
    with pipeline_thread(source, target, name="swap") as running:
        sync(source, target, running=running)
        execute(
            source,
            "BEGIN; UPDATE u SET code = 'tmp' WHERE id = 1; UPDATE u SET code = 'a' WHERE id = 2;"
            " UPDATE u SET code = 'b' WHERE id = 1; COMMIT",
        )
        sync(source, target, running=running)
    assert_same(source, target, ["u"])


def test_partitioned_tables_copy_and_stream_under_their_own_name(pair: tuple[str, str]) -> None:
    """A partitioned table's rows live in its partitions: the copy reads the table (not ONLY
    its empty heap), and changes to any partition arrive as changes to the partitioned table
    (publish_via_partition_root), including a row that moves between partitions."""
    source, target = pair
    execute(
        source,
        "CREATE TABLE m (id int, at date NOT NULL, v text, PRIMARY KEY (id, at))"
        " PARTITION BY RANGE (at)",
        "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "INSERT INTO m SELECT g, date '2024-06-01' + g % 400, 'copied'"
        " FROM generate_series(1, 500) g",
    )
    with pipeline_thread(source, target, name="parts") as running:
        sync(source, target, running=running)
        execute(
            source,
            "INSERT INTO m VALUES (1000, '2025-03-03', 'live'), (1001, '2024-02-02', 'live')",
            "UPDATE m SET v = 'updated' WHERE id % 7 = 0",
            "DELETE FROM m WHERE id % 11 = 0",
            "UPDATE m SET at = date '2025-12-31' WHERE id = 1001",  # moves to m_2025
        )
        sync(source, target, running=running)
    assert_same(source, target, ["m"], order_by="id, at")
    with psycopg.connect(target) as conn:
        made = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname LIKE 'm%'"
        ).fetchall()
        assert made == [("m",)]  # the partitions' rows went into m, no table of their own
        assert conn.execute("SELECT count(*) FROM m").fetchone() == (456,)
