"""bridge's metadata schema on a target: created and upgraded by the alembic migrations.

The tables (schema `bridge`: checkpoints, heartbeats; conflicts later) are defined by the
revisions in `bridge/migrations/versions`, which ship inside the package so an installed wheel
finds them. `upgrade` runs on every `dbbridge run` (a no-op when the target is current: one cheap
query, no SQLAlchemy) and on `dbbridge init`. A target without the schema gets the SQL the
revisions print offline (`bridge/sql/metadata_*.sql`, checked against alembic by a test) run
directly: importing SQLAlchemy and alembic cost ~0.3 s of every first start. Older revisions are
upgraded by alembic.

The same revisions serve MySQL/MariaDB targets (a `mysql://` or `mariadb://` DSN): there the
schema `bridge` is a database of that name, holding the same tables and `bridge.alembic_version`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import psycopg
import pymysql

from bridge.appliers.mytarget import Conn, connect_mysql, mysql_error
from bridge.appliers.postgres import connect_target
from bridge.errors import ApplyError, ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0002"
"""The newest revision; a test checks it against the scripts."""


def current_revision(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The target's revision, or None before the first migration."""
    row = conn.execute("SELECT to_regclass('bridge.alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute("SELECT version_num FROM bridge.alembic_version").fetchone()
    return None if found is None else str(found[0])


def _is_mysql(dsn: str) -> bool:
    return dsn.strip().lower().startswith(("mysql://", "mariadb://"))


def current_revision_mysql(conn: Conn) -> str | None:
    """The revision of a MySQL/MariaDB target, or None before the first migration."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = 'bridge' AND TABLE_NAME = 'alembic_version'"
        )
        row = cur.fetchone()
        if not row or not row[0]:
            return None
        cur.execute("SELECT version_num FROM bridge.alembic_version")
        found = cur.fetchone()
    return None if found is None else str(found[0])


def head_sql(dialect: str) -> str:
    """The SQL that creates the schema at HEAD on an empty target: the revisions run offline
    (`dialect`: postgresql or mysql). bridge/sql/metadata_*.sql hold its output."""
    import io  # noqa: PLC0415

    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415

    out = io.StringIO()
    cfg = Config(output_buffer=out)
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["dialect"] = dialect
    command.upgrade(cfg, HEAD, sql=True)
    return out.getvalue()


def _head_statements(dialect: str) -> list[str]:
    text = resources.files("bridge").joinpath(f"sql/metadata_{dialect}.sql").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def upgrade(dsn: str) -> str:
    """Bring the target's metadata schema to `HEAD`; returns the revision it had before."""
    if _is_mysql(dsn):
        return _upgrade_mysql(dsn)
    try:
        with connect_target(dsn, autocommit=True) as conn:
            before = current_revision(conn)
            if before == HEAD:
                return before
            conn.execute("CREATE SCHEMA IF NOT EXISTS bridge")
            if before is None and _create_at_head(conn):
                return "none"
    except psycopg.errors.InsufficientPrivilege as e:
        raise ConfigError(
            f"the target user cannot create bridge's metadata schema: {e.diag.message_primary}",
            hint="grant CREATE on the target database (see sql/postgres/grants.sql)",
            sqlstate=e.sqlstate,
        ) from e
    except psycopg.OperationalError as e:  # the connection dropped after it was made
        raise ApplyError(f"the target failed: {e}", retryable=True) from e
    _run_alembic(dsn)
    return before or "none"


def _create_at_head(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Create the schema at HEAD from the shipped SQL, in one transaction under the migrations'
    lock; False when another process got there first (alembic then finds it current)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(7275616)")
        if current_revision(conn) is not None:
            return False
        for statement in _head_statements("postgresql"):
            conn.execute(statement.encode())
    return True


def _create_at_head_mysql(conn: Conn) -> bool:
    """`_create_at_head` for MySQL/MariaDB (DDL commits by itself there: the lock is the guard)."""
    with conn.cursor() as cur:
        cur.execute("SELECT GET_LOCK('dbbridge_migrations', 60)")
        try:
            if current_revision_mysql(conn) is not None:
                return False
            for statement in _head_statements("mysql"):
                cur.execute(statement)
        finally:
            cur.execute("SELECT RELEASE_LOCK('dbbridge_migrations')")
    return True


def _upgrade_mysql(dsn: str) -> str:
    conn = connect_mysql(dsn, autocommit=True)
    try:
        before = current_revision_mysql(conn)
        if before == HEAD:
            return before
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE IF NOT EXISTS bridge CHARACTER SET utf8mb4")
        if before is None and _create_at_head_mysql(conn):
            return "none"
    except pymysql.Error as e:
        raise mysql_error(e, "creating bridge's metadata database") from e
    finally:
        conn.close()
    _run_alembic(dsn)
    return before or "none"


def _run_alembic(dsn: str) -> None:
    # Imported here: SQLAlchemy and alembic cost ~0.3 s to import, paid only when migrating.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415
    from sqlalchemy import create_engine  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    # A creator keeps the DSN (TLS options included) exactly as the user wrote it.
    if _is_mysql(dsn):
        engine = create_engine(
            "mysql+pymysql://", creator=lambda: connect_mysql(dsn), poolclass=NullPool
        )
    else:
        engine = create_engine(
            "postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), poolclass=NullPool
        )
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, HEAD)
    except Exception as e:
        raise ApplyError(f"migrating bridge's metadata schema failed: {e}") from e
    finally:
        engine.dispose()
