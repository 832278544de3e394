"""Sidecar observability on real servers: `dbbridge run --metrics-port` (/metrics, /healthz),
heartbeats while the source is idle, JSON logs, the retention warning, `dbbridge status`.

Each test runs `dbbridge run` as a process, as a sidecar runs, and scrapes it over HTTP.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bridge.dsn import parse_dsn
from bridge.local.servers import LocalServer
from bridge.pipeline import Options, Pipeline
from bridge.sourcewatch import SourceStats, SourceWatch
from tests.integration.crossengine import fresh_mysql_db
from tests.integration.mypair import execute as my_execute
from tests.integration.mypair import query as my_query
from tests.integration.pgpair import (
    MARKER,
    bridge_run,
    dbbridge,
    execute,
    fresh_db,
    sync,
    wait_for,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), e.read().decode()


def scrape(port: int) -> Samples:
    status, text = get(port, "/metrics")
    assert status == 200
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "pipeline"))
            out[(s.name, labels)] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_healthy(port: int, timeout: float = 60) -> dict[str, Any]:
    """Wait until the endpoint answers and the pipeline streams; returns /healthz's body."""
    seen: dict[str, Any] = {}

    def streaming() -> bool:
        try:
            code, body = get(port, "/healthz")
        except OSError:  # not listening yet
            return False
        seen.update(json.loads(body), code=code)
        return code == 200 and seen.get("phase") == "streaming"

    wait_for(streaming, timeout, f"a healthy streaming pipeline (last: {seen})")
    return seen


def heartbeat_row(target: str, pipeline: str) -> Any:
    with psycopg.connect(target, autocommit=True) as conn:
        row = conn.execute(
            "SELECT source_time FROM bridge.heartbeats WHERE pipeline = %s", (pipeline,)
        ).fetchone()
    return None if row is None else row[0]


def json_lines(stderr: str, password: str) -> list[dict[str, Any]]:
    assert password not in stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    for line in lines:
        assert {"time", "level", "pipeline", "message"} <= line.keys(), line
    return lines


@pytest.fixture
def pg_pair(pg13_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_db(pg13_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, MARKER)
        yield source, target


def test_pg_metrics_health_heartbeats_json_logs_and_retention(pg_pair: tuple[str, str]) -> None:
    source, target = pg_pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v text)")
    port = free_port()
    args = ("--metrics-port", str(port), "--heartbeat-interval", "0.5", "--log-format", "json")
    with bridge_run(source, target, "obs", *args, "--max-retained-wal", "1B") as run:
        wait_healthy(port)
        _counters_move_with_a_workload(port, source, target)
        _idle_heartbeats_advance_the_checkpoint_and_the_slot(port, source, target)
        proc = dbbridge("status", "--target", target, "--source", source, "--json")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        (row,) = json.loads(out)
        assert row["heartbeat_time"] is not None
        assert 0 <= row["heartbeat_age_seconds"] < 30
        assert row["retained_bytes"] >= 0
        assert row["wal_status"] in ("reserved", "extended")
    lines = json_lines(run.stderr, urlsplit(source).password or "no password")
    assert any(line["message"].startswith("streaming from") for line in lines)
    warnings = [line for line in lines if line["level"] == "warning"]
    assert warnings, lines
    assert warnings[0]["retained_bytes"] > 0
    assert all(line["pipeline"] == "obs" for line in lines)


def _counters_move_with_a_workload(port: int, source: str, target: str) -> None:
    sync(source, target)
    before = scrape(port)
    with psycopg.connect(source) as conn:
        for i in range(40):
            conn.execute("INSERT INTO t VALUES (%s, 'x'), (%s, 'y')", (2 * i, 2 * i + 1))
            conn.commit()
    sync(source, target)
    after = scrape(port)

    def moved(name: str) -> float:
        return (value(after, name) or 0) - (value(before, name) or 0)

    assert moved("dbbridge_changes_total") >= 80
    assert moved("dbbridge_transactions_total") >= 40
    assert moved("dbbridge_batch_rows_count") >= 1
    assert value(after, "dbbridge_phase", phase="streaming") == 1
    assert value(after, "dbbridge_healthy") == 1
    assert value(after, "dbbridge_heartbeats_enabled") == 1
    assert 0 <= (value(after, "dbbridge_lag_seconds") or -1) < 30


def _idle_heartbeats_advance_the_checkpoint_and_the_slot(
    port: int, source: str, target: str
) -> None:
    slot = "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s"
    with psycopg.connect(source, autocommit=True) as conn:
        (lsn0,) = conn.execute(slot, ("dbbridge_obs",)).fetchone() or (None,)
    wait_for(lambda: heartbeat_row(target, "obs") is not None, 20, "a first heartbeat")
    beat0 = heartbeat_row(target, "obs")

    def advanced() -> bool:
        with psycopg.connect(source, autocommit=True) as conn:
            (lsn,) = conn.execute(slot, ("dbbridge_obs",)).fetchone() or (None,)
            newer = conn.execute("SELECT %s::pg_lsn > %s::pg_lsn", (lsn, lsn0)).fetchone()
        beat = heartbeat_row(target, "obs")
        return newer == (True,) and beat is not None and beat > beat0

    wait_for(advanced, 20, "heartbeats to advance the checkpoint and the slot")
    samples = scrape(port)
    assert (value(samples, "dbbridge_heartbeat_age_seconds") or 99) < 30
    assert (value(samples, "dbbridge_lag_bytes") or 0) >= 0
    assert value(samples, "dbbridge_retention_warning") == 1  # 1 byte: always over
    with psycopg.connect(target, autocommit=True) as conn:  # never in a user schema
        assert conn.execute("SELECT to_regclass('public.heartbeat')").fetchone() == (None,)
        assert conn.execute("SELECT to_regclass('bridge.heartbeat')").fetchone() == (None,)


@pytest.fixture
def my_to_pg(mariadb_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        yield source, target


def test_mariadb_metrics_and_idle_heartbeats(my_to_pg: tuple[str, str]) -> None:
    source, target = my_to_pg
    my_execute(source, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
    port = free_port()
    args = ("--metrics-port", str(port), "--heartbeat-interval", "0.5")
    with bridge_run(source, target, "myobs", *args, "--tables", f"{source.rsplit('/', 1)[1]}.t"):
        wait_healthy(port)
        before = scrape(port)
        for i in range(30):
            my_execute(source, f"INSERT INTO t VALUES ({i}, 'x')")
        my_execute(source, "UPDATE t SET v = 'y'")

        def applied() -> bool:
            got = value(scrape(port), "dbbridge_changes_total") or 0
            return got - (value(before, "dbbridge_changes_total") or 0) >= 60

        wait_for(applied, 30, "the changes counter to move")
        samples = scrape(port)
        assert value(samples, "dbbridge_lag_seconds") is not None
        assert value(samples, "dbbridge_heartbeats_enabled") == 1
        assert (value(samples, "dbbridge_batch_rows_count") or 0) >= 1
        wait_for(lambda: heartbeat_row(target, "myobs") is not None, 20, "a first heartbeat")
        beat0 = heartbeat_row(target, "myobs")
        assert beat0 is not None
        wait_for(
            lambda: (heartbeat_row(target, "myobs") or beat0) > beat0,
            20,
            "a newer heartbeat on the target while the source is idle",
        )

        def binlog_known() -> bool:
            s = scrape(port)
            return value(s, "dbbridge_lag_bytes") is not None

        wait_for(binlog_known, 20, "the binlog lag in bytes")
        with psycopg.connect(target, autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('bridge.heartbeat')").fetchone() == (None,)
    # The source's row is the pipeline's own, in database `bridge`.
    rows = my_query(source, "SELECT pipeline FROM bridge.heartbeat WHERE pipeline = 'myobs'")
    assert rows == [("myobs",)]


def test_heartbeats_off_with_a_notice_when_the_user_may_not(
    pg17_server: LocalServer,
) -> None:
    """A source user without CREATE: heartbeats are off, said once, and nothing fails."""
    with fresh_db(pg17_server, "nohb") as admin:
        db = urlsplit(admin).path[1:]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS hb_reader")
            conn.execute("CREATE ROLE hb_reader LOGIN PASSWORD 'pw-hb-reader'")
            conn.execute(f'REVOKE CREATE ON DATABASE "{db}" FROM PUBLIC')
        u = urlsplit(admin)
        dsn = u._replace(netloc=f"hb_reader:pw-hb-reader@{u.hostname}:{u.port}").geturl()
        said: list[str] = []
        pipe = Pipeline(
            parse_dsn(dsn), parse_dsn(admin), Options(name="nohb"), on_notice=said.append
        )
        watch: SourceWatch = pipe.watch
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                tables = watch.prepare_postgres(conn, "dbbridge_nohb", None)
                watch.prepare_postgres(conn, "dbbridge_nohb", None)  # a retry says nothing new
            assert tables is None
            assert isinstance(pipe.status.source, SourceStats)
            assert pipe.status.source.heartbeats is False
            assert len(said) == 1
            assert "heartbeats are off" in said[0]
            assert "sql/postgres/heartbeat.sql" in said[0]
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute("DROP OWNED BY hb_reader")
                conn.execute("DROP ROLE hb_reader")
