"""A PostgreSQL backlog read through SQL decoding (bridge/readers/pgcatchup.py), then streamed:
same data as the walsender would give, exactly once across kill -9, and the slot moved only to
what the target holds."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import psycopg
import pytest

from bridge.readers.postgres import ddl_capture_sql
from tests.integration.pgpair import (
    assert_same,
    bridge_run,
    dbbridge,
    execute,
    pipeline_thread,
    sync,
    wait_for,
)
from tests.integration.workload import PG_SCHEMA, kill_9_under_load, pg_step


def _slots(source: str) -> dict[str, str]:
    with psycopg.connect(source) as conn:
        rows = conn.execute(
            "SELECT slot_name, confirmed_flush_lsn::text FROM pg_replication_slots"
            " WHERE database = current_database()"
        ).fetchall()
    return {str(name): str(lsn) for name, lsn in rows}


def _backlog(source: str) -> None:
    """Inserts, updates (a key change and an unchanged TOASTed value among them), deletes, DDL
    and one large transaction, all written while the pipeline is stopped."""
    execute(
        source,
        "INSERT INTO items SELECT g, g % 7, md5(g::text), NULL FROM generate_series(1, 30000) g",
        "UPDATE items SET qty = qty + 1 WHERE id % 3 = 0",
        "UPDATE items SET doc = repeat('toast-', 20000) WHERE id = 5",
        "UPDATE items SET qty = -1 WHERE id = 5",  # doc unchanged: not sent, kept
        "UPDATE items SET id = 100005 WHERE id = 6",
        "DELETE FROM items WHERE id % 5 = 0",
        "ALTER TABLE items ADD COLUMN tag text DEFAULT 'new'",
        "INSERT INTO items (id, qty, name, tag) VALUES (200001, 1, 'after', 'x')",
        "INSERT INTO audit SELECT g, now() FROM generate_series(1, 500) g",
    )
    for i in range(200):  # many small transactions
        execute(source, f"UPDATE items SET name = 'n{i}' WHERE id = {i + 1}")


def test_a_backlog_is_read_through_sql_then_streamed(
    pg13_to_17: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    source, target = pg13_to_17
    execute(
        source,
        ddl_capture_sql(),  # the ALTER in the backlog arrives as DDL, in order with the rows
        "CREATE TABLE items (id int PRIMARY KEY, qty int, name text, doc text)",
        "CREATE TABLE audit (seq int, at timestamptz)",  # keyless: a duplicate shows
        "ALTER TABLE audit REPLICA IDENTITY FULL",
    )
    with pipeline_thread(source, target, name="cu", catch_up_bytes=None) as running:
        sync(source, target, running=running)
    before = _slots(source)["dbbridge_cu"]
    _backlog(source)
    caplog.set_level(logging.INFO, logger="bridge.pipeline")
    with pipeline_thread(source, target, name="cu", catch_up_bytes=1) as running:
        sync(source, target, running=running)
        assert_same(source, target, ["items"])
        assert_same(source, target, ["audit"], order_by="seq, at")
        # Then the walsender: live changes still arrive, and the SQL copy of the slot is gone.
        execute(source, "UPDATE items SET name = 'live' WHERE id = 1", "DELETE FROM items")
        sync(source, target, running=running)
        assert_same(source, target, ["items"])
        assert_same(source, target, ["audit"], order_by="seq, at")
        assert set(_slots(source)) == {"dbbridge_cu"}
        wait_for(lambda: _slots(source)["dbbridge_cu"] != before, 10, "the slot to move", running)
    assert "through SQL decoding" in caplog.text


def test_kill_9_during_sql_catch_up(pg13_to_17: tuple[str, str]) -> None:
    """Every restart reads its backlog through SQL (--catch-up-above 1B), killed at random."""
    source, target = pg13_to_17
    execute(source, *PG_SCHEMA)
    args = (
        "run", "--source", source, "--target", target, "--name", "cuk9", "-q",
        "--catch-up-above", "1",
    )  # fmt: skip
    kill_9_under_load(args, source, pg_step, seed=11)
    with bridge_run(source, target, "cuk9", "--catch-up-above", "1"):
        sync(source, target, timeout=90)
    assert_same(source, target, ["accounts"])
    assert_same(source, target, ["audit"], order_by="seq, at")
    assert set(_slots(source)) == {"dbbridge_cuk9"}


def test_a_second_run_catching_up_is_refused(pg13_to_17: tuple[str, str]) -> None:
    """While one run reads the backlog through SQL (the slot itself idle), another run of the
    same pipeline stops with exit 2 instead of streaming the slot beside it."""
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY)")
    with pipeline_thread(source, target, name="twice", catch_up_bytes=None) as running:
        sync(source, target, running=running)
    execute(source, "INSERT INTO t SELECT generate_series(1, 100)")
    with psycopg.connect(source, autocommit=True) as other:  # the first run's temporary copy
        other.execute(
            "SELECT pg_copy_logical_replication_slot('dbbridge_twice', 'dbbridge_twice_catchup',"
            " true)"
        )
        proc = dbbridge(
            "run", "--source", source, "--target", target, "--name", "twice", "-q",
            "--catch-up-above", "1",
        )  # fmt: skip
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, err
    assert "is in use: another run of this pipeline is catching up" in err
    password = urlsplit(source).password
    assert password
    assert password not in err


def test_catch_up_when_the_slot_is_ahead_of_the_checkpoint(
    pg13_to_17: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The slot may be confirmed past the target's checkpoint (WAL with nothing for us, confirmed
    while idle): the copy is not moved back, which PostgreSQL refuses, and the backlog still
    comes through SQL."""
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v text)", "CREATE TABLE other (id int)")
    with pipeline_thread(
        source, target, name="ahead", catch_up_bytes=None, tables=("public.t", "public.zz_marker")
    ) as running:
        sync(source, target, running=running)
    execute(
        source,
        "INSERT INTO other SELECT generate_series(1, 1000)",  # not published
        "SELECT pg_replication_slot_advance('dbbridge_ahead', pg_current_wal_lsn())",
        "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g",
    )
    caplog.set_level(logging.INFO)
    with pipeline_thread(
        source, target, name="ahead", catch_up_bytes=1, tables=("public.t", "public.zz_marker")
    ) as running:
        sync(source, target, running=running)
        assert_same(source, target, ["t"])
    assert "through SQL decoding" in caplog.text
    assert "warning" not in caplog.text.lower()
