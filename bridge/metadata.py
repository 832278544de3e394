"""bridge's metadata schema on a target: created and upgraded by the alembic migrations.

The tables (schema `bridge`: checkpoints, heartbeats; conflicts later) are defined by the
revisions in `bridge/migrations/versions`, which ship inside the package so an installed wheel
finds them. `upgrade` runs on every `dbbridge run` (a no-op when the target is current: one cheap
query, no SQLAlchemy) and on `dbbridge init`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from bridge.appliers.postgres import connect_target
from bridge.errors import ApplyError, ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0001"
"""The newest revision; a test checks it against the scripts."""


def current_revision(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The target's revision, or None before the first migration."""
    row = conn.execute("SELECT to_regclass('bridge.alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    found = conn.execute("SELECT version_num FROM bridge.alembic_version").fetchone()
    return None if found is None else str(found[0])


def upgrade(dsn: str) -> str:
    """Bring the target's metadata schema to `HEAD`; returns the revision it had before."""
    try:
        with connect_target(dsn, autocommit=True) as conn:
            before = current_revision(conn)
            if before == HEAD:
                return before
            conn.execute("CREATE SCHEMA IF NOT EXISTS bridge")
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


def _run_alembic(dsn: str) -> None:
    # Imported here: SQLAlchemy and alembic cost ~0.3 s to import, paid only when migrating.
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415
    from sqlalchemy import create_engine  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    # A creator keeps the DSN (TLS options included) exactly as the user wrote it.
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
