"""The initial copy's guard against DDL racing the exported snapshot."""

from __future__ import annotations

import secrets
import threading
import time

import psycopg
import pytest

from bridge.errors import SourceError
from bridge.local.servers import LocalServer
from bridge.log.events import TableName
from bridge.readers.postgres import ReplicationConnection
from bridge.snapshot.postgres import lock_tables
from tests.integration.pgpair import execute, fresh_db


def test_ddl_between_the_snapshot_and_the_copy_is_caught(pg15_server: LocalServer) -> None:
    """COPY plans with today's catalog: a column dropped after the snapshot would break it."""
    with fresh_db(pg15_server) as dsn:
        execute(dsn, "CREATE TABLE t (id int PRIMARY KEY, x text, y int)")
        repl = ReplicationConnection(dsn)
        try:
            _, snapshot = repl.create_slot(f"s_{secrets.token_hex(4)}", temporary=True)
            assert snapshot is not None
            execute(dsn, "ALTER TABLE t DROP COLUMN y")
            with (
                pytest.raises(SourceError, match=r"public\.t changed its definition") as caught,
                lock_tables(dsn, snapshot, [TableName("public", "t")]),
            ):
                pass
            assert caught.value.retryable  # the pipeline starts over from a new slot
        finally:
            repl.close()


def test_ddl_after_the_locks_waits_for_the_copy(pg15_server: LocalServer) -> None:
    with fresh_db(pg15_server) as dsn:
        execute(dsn, "CREATE TABLE t (id int PRIMARY KEY, x text, y int)")
        repl = ReplicationConnection(dsn)
        try:
            _, snapshot = repl.create_slot(f"s_{secrets.token_hex(4)}", temporary=True)
            assert snapshot is not None
            done: list[float] = []

            def alter() -> None:
                execute(dsn, "ALTER TABLE t DROP COLUMN y")
                done.append(time.monotonic())

            with lock_tables(dsn, snapshot, [TableName("public", "t")]):
                worker = threading.Thread(target=alter)
                worker.start()
                time.sleep(0.5)
                assert done == [], "the ALTER ran while the copy held its locks"
                released = time.monotonic()
            worker.join(10)
            assert done
            assert done[0] >= released
            with psycopg.connect(dsn) as conn:
                cols = conn.execute(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = 't'"
                ).fetchone()
            assert cols == (2,)
        finally:
            repl.close()
