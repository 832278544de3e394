"""`dbbridge run` PG -> PG as a process: kill -9 and restart under load, shutdown, bad input."""

from __future__ import annotations

import signal
import socket
import time

import psycopg
import pytest

from bridge.local.servers import LocalServer
from bridge.testing.pytest_plugin import ServerPool
from tests.integration.pgpair import (
    MARKER,
    assert_same,
    bridge_run,
    dbbridge,
    execute,
    fresh_db,
    sync,
)
from tests.integration.workload import PG_SCHEMA, kill_9_under_load, pg_step


def test_kill_9_five_times_under_load(pg13_to_17: tuple[str, str]) -> None:
    source, target = pg13_to_17
    execute(source, *PG_SCHEMA)
    args = ("run", "--source", source, "--target", target, "--name", "k9", "-q")
    kill_9_under_load(args, source, pg_step, seed=9)
    with bridge_run(source, target, "k9"):
        sync(source, target, timeout=90)
    assert_same(source, target, ["accounts"])
    assert_same(source, target, ["audit"], order_by="seq, at")


def test_sigterm_finishes_the_batch_and_exits_0(pg13_to_17: tuple[str, str]) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY)")
    with bridge_run(source, target, "term") as first:  # exits 0 on SIGTERM
        sync(source, target, timeout=60)
        execute(source, "INSERT INTO t SELECT generate_series(1, 5000)")
        time.sleep(0.3)
    assert "stopped at" in first.stderr
    # What was applied is checkpointed; a restart completes the rest.
    with bridge_run(source, target, "term", stop_with=signal.SIGINT):
        sync(source, target, timeout=60)
    assert_same(source, target, ["t"])


def _run_fails(*args: str, timeout: float = 60) -> tuple[int, str]:
    proc = dbbridge("run", *args, "-q")
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def test_source_without_logical_wal_is_refused(
    local_servers: ServerPool, pg17_server: LocalServer
) -> None:
    plain = local_servers.get("postgres:15", settings={"wal_level": "replica"})
    code, err = _run_fails("--source", plain.dsn, "--target", pg17_server.dsn)
    assert code == 2, err
    assert "wal_level = replica" in err
    assert "wal_level = logical" in err


def test_table_without_key_or_identity_is_refused(pg13_to_17: tuple[str, str]) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE loose (a int, b text)")
    code, err = _run_fails("--source", source, "--target", target)
    assert code == 2, err
    assert "public.loose has neither a primary key nor a replica identity" in err
    assert "REPLICA IDENTITY FULL" in err
    with psycopg.connect(target) as conn:  # nothing was created or copied
        assert conn.execute("SELECT to_regclass('public.loose')").fetchone() == (None,)


def test_source_user_without_replication_privilege_is_refused(
    pg13_to_17: tuple[str, str],
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE ROLE weakling LOGIN PASSWORD 'weak-pw-1'")
    weak = source.replace("postgres:", "weakling:", 1).split("@", 1)
    weak_dsn = "postgresql://weakling:weak-pw-1@" + weak[1]
    code, err = _run_fails("--source", weak_dsn, "--target", target)
    assert code == 2, err
    assert "REPLICATION" in err
    assert "sql/postgres/grants.sql" in err
    assert "weak-pw-1" not in err


def test_slot_in_use_is_refused(pg13_to_17: tuple[str, str]) -> None:
    source, target = pg13_to_17
    with bridge_run(source, target, "busy"):  # and it keeps running: exits 0 on SIGTERM
        sync(source, target, timeout=60)
        code, err = _run_fails("--source", source, "--target", target, "--name", "busy")
    assert code == 2, err
    assert "replication slot 'dbbridge_busy' is in use" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_target_down_is_retried_with_backoff_then_reported(
    pg13_to_17: tuple[str, str],
) -> None:
    source, _ = pg13_to_17
    down = f"postgresql://postgres:secret-pw@127.0.0.1:{_free_port()}/app"
    started = time.monotonic()
    proc = dbbridge("run", "--source", source, "--target", down, "--retry-for", "3")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert time.monotonic() - started >= 3
    assert err.count("retrying in") >= 2, err
    assert "still failing after 3 s of retries" in err
    assert "secret-pw" not in err


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.parametrize("pair", ["13->17", "15->15"])
def test_million_row_transaction_in_bounded_memory(
    pair: str,
    pg13_server: LocalServer,
    pg15_server: LocalServer,
    pg17_server: LocalServer,
) -> None:
    """PG 13 decodes it whole and sends it at commit; PG 15 streams it in progress (proto 2)
    and the reader spills it to disk: either way the bridge's memory stays flat."""
    src_server, tgt_server = (
        (pg13_server, pg17_server) if pair == "13->17" else (pg15_server, pg15_server)
    )
    with fresh_db(src_server, "src") as source, fresh_db(tgt_server, "tgt") as target:
        execute(source, MARKER, "CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL)")
        with bridge_run(source, target, "big") as run:
            sync(source, target, timeout=60)
            baseline = _peak_rss_mb(run.proc.pid)
            execute(
                source,
                "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 1000000) g",
            )
            sync(source, target, timeout=300)
            peak = _peak_rss_mb(run.proc.pid)
        digest = "SELECT count(*), md5(string_agg(id::text || v, ',' ORDER BY id)) FROM big"
        with psycopg.connect(source) as s, psycopg.connect(target) as t:
            assert s.execute(digest).fetchone() == t.execute(digest).fetchone()
        print(f"\n{pair}: bridge peak RSS {peak:.0f} MB (before the transaction {baseline:.0f} MB)")
        # Holding 1M row events would take ~1 GB; bounded means flat, whatever the size.
        assert peak < 200, f"peak RSS {peak:.0f} MB"
