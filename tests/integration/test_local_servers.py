"""Local servers are real, replication-ready, private to loopback, and not run as root."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

from bridge.local.servers import LocalServer
from bridge.testing.pytest_plugin import ServerPool
from tests.helpers import binlog_inserted_rows, mysql_connect


def _process_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for pid {pid}")


def test_mariadb_binlog_settings(mariadb_server: LocalServer) -> None:
    with mysql_connect(mariadb_server.dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata,"
            " @@server_id, @@bind_address, @@version"
        )
        log_bin, fmt, image, metadata, server_id, bind, version = cur.fetchone()  # type: ignore[misc]
    assert (log_bin, fmt, image, metadata) == (1, "ROW", "FULL", "FULL")
    assert server_id > 1
    assert bind == "127.0.0.1"
    assert version.startswith(mariadb_server.version)


def test_mariadb_binlog_is_readable_with_column_names(mariadb_server: LocalServer) -> None:
    """The DSN's user may stream the binlog, and rows carry real column names (row metadata)."""
    with mysql_connect(mariadb_server.dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY, label VARCHAR(20))")
        cur.execute("DELETE FROM probe")
        cur.execute("SHOW MASTER STATUS")
        log_file, log_pos = cur.fetchone()[:2]  # type: ignore[index]
        cur.execute("INSERT INTO probe VALUES (7, 'seven')")
    rows = binlog_inserted_rows(mariadb_server.dsn, log_file, log_pos, "probe")
    assert rows == [{"id": 7, "label": "seven"}]


def test_postgres_logical_settings(pg_server: LocalServer, pg_major: int) -> None:
    with psycopg.connect(pg_server.dsn) as conn:
        row = conn.execute(
            "SELECT current_setting('wal_level'), current_setting('server_version_num')::int,"
            " current_setting('max_replication_slots')::int,"
            " current_setting('max_wal_senders')::int, current_setting('listen_addresses')"
        ).fetchone()
    assert row is not None
    wal_level, version_num, slots, senders, listen = row
    assert wal_level == "logical"
    assert version_num // 10000 == pg_major
    assert slots >= 10
    assert senders >= 10
    assert listen == "127.0.0.1"


def test_postgres_logical_slot_over_replication_protocol(pg_server: LocalServer) -> None:
    """The DSN's user can open a replication connection and create a pgoutput slot."""
    with psycopg.connect(pg_server.dsn, replication="database", autocommit=True) as conn:
        ident = conn.execute("IDENTIFY_SYSTEM").fetchone()
        assert ident is not None
        assert int(ident[0]) > 0  # system identifier
        conn.execute("CREATE_REPLICATION_SLOT probe_slot TEMPORARY LOGICAL pgoutput")
        with psycopg.connect(pg_server.dsn) as check:
            found = check.execute(
                "SELECT plugin, slot_type FROM pg_replication_slots WHERE slot_name = 'probe_slot'"
            ).fetchone()
        assert found == ("pgoutput", "logical")


def test_tcp_access_requires_the_password(
    pg_server: LocalServer, mariadb_server: LocalServer
) -> None:
    pg = urlsplit(pg_server.dsn)
    bad_pg = pg_server.dsn.replace(f":{pg.password}@", ":wrong@")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bad_pg).close()
    my = urlsplit(mariadb_server.dsn)
    with pytest.raises(pymysql.err.OperationalError) as info:
        mysql_connect(mariadb_server.dsn.replace(f":{my.password}@", ":wrong@")).close()
    assert info.value.args[0] == 1045  # access denied
    # mariadb-install-db's passwordless root accounts for 127.0.0.1 / ::1 must be gone.
    with pytest.raises(pymysql.err.OperationalError) as info:
        pymysql.connect(host="127.0.0.1", port=my.port or 3306, user="root", password="").close()
    assert info.value.args[0] == 1045


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root caller delegates to the service user")
def test_servers_run_as_the_unprivileged_service_user(
    pg_server: LocalServer, mariadb_server: LocalServer
) -> None:
    service_uid = pwd.getpwnam("dbbridge").pw_uid
    assert _process_uid(pg_server.pid) == service_uid
    assert _process_uid(mariadb_server.pid) == service_uid
    assert pg_server.user == mariadb_server.user == "dbbridge"


def test_extra_settings_reach_the_server(local_servers: ServerPool) -> None:
    mixed = local_servers.get("mariadb", {"binlog_format": "MIXED"})
    with mysql_connect(mixed.dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@binlog_format")
        assert cur.fetchone() == ("MIXED",)
