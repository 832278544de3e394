"""The compose file's servers are configured for replication (runs only with a Docker engine)."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pymysql


def test_pg17_is_logical(docker_pg17_dsn: str) -> None:
    with psycopg.connect(docker_pg17_dsn) as conn:
        row = conn.execute("SELECT current_setting('wal_level')").fetchone()
    assert row == ("logical",)


def test_mysql84_binlog(docker_mysql84_dsn: str) -> None:
    u = urlsplit(docker_mysql84_dsn)
    conn = pymysql.connect(
        host=u.hostname, port=u.port or 3306, user=u.username, password=u.password or ""
    )
    with conn, conn.cursor() as cur:
        cur.execute("SELECT @@log_bin, @@binlog_row_image, @@binlog_row_metadata, @@gtid_mode")
        assert cur.fetchone() == (1, "FULL", "FULL", "ON")
