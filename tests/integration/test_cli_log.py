"""`dbbridge log` as a user runs it: live changes as valid JSON Lines, clean stops, clear errors."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from urllib.parse import urlsplit

import jsonschema
import psycopg
import pytest

from bridge.local.servers import LocalServer
from bridge.log import Commit, Insert, Update
from bridge.log.jsonl import decode_event
from bridge.log.values import ZeroDate
from tests.integration.test_pg_reader import drop_slot

SCHEMA = json.loads(resources.files("bridge.log").joinpath("log-format.schema.json").read_text())


def start_log(dsn: str, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "log", "--source", dsn, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once the slot exists: changes from now on are seen
    assert line.startswith("streaming "), line + proc.stderr.read()
    password = urlsplit(dsn).password
    assert password
    assert password not in line  # the DSN is shown without its password
    return proc


def run_log(source: str) -> subprocess.CompletedProcess[str]:
    """`dbbridge log` that is expected to fail before streaming."""
    return subprocess.run(
        [sys.executable, "-m", "bridge", "log", "--source", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_log_prints_live_changes_then_stops_at_the_limit(pg15_server: LocalServer) -> None:
    with psycopg.connect(pg15_server.dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE log_cli (id bigint PRIMARY KEY, amount numeric(12,2), note text)"
        )
        proc = start_log(pg15_server.dsn, "--limit", "7")
        conn.execute("INSERT INTO log_cli VALUES (9007199254740993, 12.50, 'ü')")
        conn.execute("UPDATE log_cli SET note = NULL")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    kinds = [json.loads(line)["type"] for line in lines]
    assert kinds == ["begin", "relation", "insert", "commit", "begin", "update", "commit"]
    for line in lines:
        jsonschema.validate(json.loads(line), SCHEMA)
    events = [decode_event(line) for line in lines]
    insert = next(e for e in events if isinstance(e, Insert))
    assert insert.after == (9007199254740993, Decimal("12.50"), "ü")
    update = next(e for e in events if isinstance(e, Update))
    assert update.after == (9007199254740993, Decimal("12.50"), None)
    assert sum(isinstance(e, Commit) for e in events) == 2


def test_sigterm_stops_the_log_cleanly(pg15_server: LocalServer) -> None:
    proc = start_log(pg15_server.dsn)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


@pytest.mark.parametrize(
    ("source", "needle"),
    [
        ("postgresql://u:pw@127.0.0.1:notaport/db", "malformed --source"),
        ("oracle://u:pw@127.0.0.1/db", "unknown scheme"),
    ],
)
def test_bad_sources_are_one_line_exit_2(source: str, needle: str) -> None:
    result = run_log(source)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert needle in result.stderr
    assert ":pw@" not in result.stderr  # never the password


def test_a_wrong_mariadb_password_is_a_configuration_error(mariadb_server: LocalServer) -> None:
    u = urlsplit(mariadb_server.dsn)
    bad = mariadb_server.dsn.replace(f":{u.password}@", ":wrong@")
    result = run_log(bad)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "refused the login" in result.stderr
    assert ":wrong@" not in result.stderr


def test_a_wrong_password_is_a_configuration_error(pg15_server: LocalServer) -> None:
    u = urlsplit(pg15_server.dsn)
    bad = pg15_server.dsn.replace(f":{u.password}@", ":wrong@")
    result = run_log(bad)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "refused the login" in result.stderr
    assert ":wrong@" not in result.stderr  # the DSN's password is never echoed


def test_reading_a_named_slot_consumes_nothing(pg15_server: LocalServer) -> None:
    slot = "log_keeps"
    with psycopg.connect(pg15_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS log_keep (id int PRIMARY KEY)")
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        before = conn.execute(
            "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchone()
        conn.execute("INSERT INTO log_keep VALUES (1)")
    try:
        runs = []
        for _ in range(2):  # the same change, twice: the first read took nothing away
            proc = start_log(pg15_server.dsn, "--slot", slot, "--limit", "4")
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            runs.append([json.loads(line) for line in out.splitlines()])
        assert [e["type"] for e in runs[0]] == ["begin", "relation", "insert", "commit"]
        assert runs[0] == runs[1]
        with psycopg.connect(pg15_server.dsn, autocommit=True) as conn:
            after = conn.execute(
                "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s",
                (slot,),
            ).fetchone()
        assert after == before
    finally:
        drop_slot(pg15_server.dsn, slot)


def test_log_reads_a_mariadb_binlog_with_exact_values(mariadb_server: LocalServer) -> None:
    """The same command on a MariaDB source: binlog rows as valid, exactly typed JSON Lines."""
    from tests.integration.crossengine import fresh_mysql_db  # noqa: PLC0415
    from tests.integration.mypair import execute as my_execute  # noqa: PLC0415

    with fresh_mysql_db(mariadb_server, "logsrc") as source:
        my_execute(
            source,
            "CREATE TABLE t (id bigint unsigned PRIMARY KEY, amount decimal(12,2), at date)",
        )
        proc = start_log(source, "--limit", "4")
        my_execute(
            source,
            "SET SESSION sql_mode = ''",
            "INSERT INTO t VALUES (18446744073709551615, 12.50, '0000-00-00')",
        )
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["begin", "relation", "insert", "commit"]
    for line in lines:
        jsonschema.validate(json.loads(line), SCHEMA)
    insert = next(e for e in map(decode_event, lines) if isinstance(e, Insert))
    assert insert.after == (18446744073709551615, Decimal("12.50"), ZeroDate("date", "0000-00-00"))
