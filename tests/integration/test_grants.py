"""The least-privilege grants in sql/ are enough for what bridge does, and no more."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pymysql
import pytest

from bridge.local.servers import LocalServer
from tests.helpers import binlog_inserted_rows, mysql_connect
from tests.integration.pgpair import fresh_db, pipeline_thread, table_rows, wait_for

SQL = Path(__file__).resolve().parents[2] / "sql"


def _as(dsn: str, user: str, password: str) -> str:
    u = urlsplit(dsn)
    return urlunsplit(u._replace(netloc=f"{user}:{password}@{u.hostname}:{u.port}"))


@pytest.fixture(scope="session")
def pg_grants(pg_server: LocalServer) -> dict[str, str]:
    """Apply sql/postgres/grants.sql once per server; returns a DSN per role."""
    passwords = {role: secrets.token_urlsafe(12) for role in ("bridge_source", "bridge_target")}
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE grants_probe (id int PRIMARY KEY, label text)")
        conn.execute((SQL / "postgres" / "grants.sql").read_text())
        for role, pw in passwords.items():
            conn.execute(
                psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psycopg.sql.Identifier(role), psycopg.sql.Literal(pw)
                )
            )
    return {role: _as(pg_server.dsn, role, pw) for role, pw in passwords.items()}


def test_pg_source_role_can_snapshot_and_stream(pg_grants: dict[str, str]) -> None:
    dsn = pg_grants["bridge_source"]
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM grants_probe").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO grants_probe VALUES (1, 'no')")
    with psycopg.connect(dsn, replication="database", autocommit=True) as repl:
        assert repl.execute("IDENTIFY_SYSTEM").fetchone() is not None
        # The parenthesized "(SNAPSHOT 'export')" form is PostgreSQL >= 15 only; 13 needs this one.
        row = repl.execute(
            "CREATE_REPLICATION_SLOT grants_probe TEMPORARY LOGICAL pgoutput EXPORT_SNAPSHOT"
        ).fetchone()
        assert row is not None
        assert row[0] == "grants_probe"


def test_pg_target_role_can_write_and_keep_metadata(pg_grants: dict[str, str]) -> None:
    with psycopg.connect(pg_grants["bridge_target"], autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bridge")
        conn.execute("CREATE TABLE IF NOT EXISTS bridge.probe (name text PRIMARY KEY, pos text)")
        conn.execute(
            "INSERT INTO grants_probe VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET label = 'a'"
        )
        conn.execute("UPDATE grants_probe SET label = 'b' WHERE id = 1")
        conn.execute("DELETE FROM grants_probe WHERE id = 1")
        conn.execute("CREATE TABLE IF NOT EXISTS public.created_by_target (id int PRIMARY KEY)")
    with pytest.raises(psycopg.OperationalError, match=r"(?i)wal ?sender"):  # wording varies
        psycopg.connect(pg_grants["bridge_target"], replication="database").close()


@pytest.fixture(scope="session")
def mysql_grants(mariadb_server: LocalServer) -> dict[str, str]:
    passwords = {user: secrets.token_urlsafe(12) for user in ("bridge_source", "bridge_target")}
    with mysql_connect(mariadb_server.dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE grants_probe (id INT PRIMARY KEY, label VARCHAR(10))")
        script = (SQL / "mysql" / "grants.sql").read_text()
        body = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
        for statement in filter(str.strip, body.split(";")):
            cur.execute(statement.replace("`app`", f"`{urlsplit(mariadb_server.dsn).path[1:]}`"))
        for user, pw in passwords.items():
            cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s ACCOUNT UNLOCK", (user, pw))
    return {user: _as(mariadb_server.dsn, user, pw) for user, pw in passwords.items()}


def test_mysql_source_account_can_snapshot_and_stream(mysql_grants: dict[str, str]) -> None:
    dsn = mysql_grants["bridge_source"]
    with mysql_connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        snapshot = {name.lower(): value for name, value in cur.fetchall()}
        cur.execute("SELECT count(*) FROM grants_probe")
        assert cur.fetchone() == (0,)
        cur.execute("COMMIT")
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("INSERT INTO grants_probe VALUES (1, 'no')")
        assert denied.value.args[0] == 1142  # command denied
    with mysql_connect(mysql_grants["bridge_target"]) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO grants_probe VALUES (9, 'nine')")
    rows = binlog_inserted_rows(
        dsn,
        snapshot["binlog_snapshot_file"],
        int(snapshot["binlog_snapshot_position"]),
        "grants_probe",
    )
    assert rows == [{"id": 9, "label": "nine"}]


def test_mysql_target_account_can_write_and_keep_metadata(mysql_grants: dict[str, str]) -> None:
    with mysql_connect(mysql_grants["bridge_target"]) as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS bridge")
        cur.execute("CREATE TABLE IF NOT EXISTS bridge.probe (name VARCHAR(50) PRIMARY KEY)")
        # The server is shared by the session's tests: leave bridge's metadata database as found.
        cur.execute("DROP TABLE bridge.probe")
        cur.execute("INSERT INTO grants_probe VALUES (2, 'x') ON DUPLICATE KEY UPDATE label = 'x'")
        cur.execute("DELETE FROM grants_probe WHERE id = 2")
        cur.execute("ALTER TABLE grants_probe ADD COLUMN extra INT")
        with pytest.raises(pymysql.err.OperationalError) as denied:
            cur.execute("SHOW MASTER STATUS")
        assert denied.value.args[0] in (1227, 1045)  # needs BINLOG MONITOR


def test_pg_pipeline_runs_with_the_least_privilege_roles(
    pg_grants: dict[str, str], pg_server: LocalServer
) -> None:
    """dbbridge run with bridge_source and bridge_target only, as the file's comments describe:
    a superuser creates the publication; the target grants are the file's, in another database."""
    table = f"lp_{secrets.token_hex(3)}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, label text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'copied')")
        conn.execute(f"CREATE PUBLICATION dbbridge_{table} FOR TABLE {table}")
    grants = (SQL / "postgres" / "grants.sql").read_text()
    per_database = "\n".join(
        line for line in grants.splitlines() if not line.startswith("CREATE ROLE")
    )  # roles are per cluster and exist already
    with fresh_db(pg_server, "lp") as target_admin:
        with psycopg.connect(target_admin, autocommit=True) as conn:
            conn.execute(per_database)
        password = urlsplit(pg_grants["bridge_target"]).password or ""
        target = _as(target_admin, "bridge_target", password)
        with pipeline_thread(
            pg_grants["bridge_source"], target, name=table, tables=(f"public.{table}",)
        ) as running:
            with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
                conn.execute(f"INSERT INTO {table} VALUES (2, 'streamed')")
                conn.execute(f"UPDATE {table} SET label = 'changed' WHERE id = 1")

            def arrived() -> bool:
                try:
                    return table_rows(target_admin, table) == ["(1,changed)", "(2,streamed)"]
                except psycopg.errors.UndefinedTable:  # not created by the copy yet
                    return False

            wait_for(
                arrived,
                30,
                "the changes on the target",
                running,
            )
            assert not running.pipeline.status.retries
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(f"DROP PUBLICATION dbbridge_{table}")
        conn.execute("SELECT pg_drop_replication_slot(%s)", (f"dbbridge_{table}",))
        conn.execute(f"DROP TABLE {table}")
