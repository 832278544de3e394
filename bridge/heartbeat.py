"""Heartbeats: a row the bridge writes on the source, read back as the log's `heartbeat` event.

A pipeline writes `(pipeline, beat_time)` into `bridge.heartbeat` on its source every
`--heartbeat-interval` seconds (`bridge.sourcewatch` does the writing). The row travels through
replication like any other, so when it reaches the target it proves that everything committed
before it on the source has been applied: the target's lag is known even while the source is idle,
and a PostgreSQL slot is confirmed up to the heartbeat's commit (an idle slot otherwise holds WAL).

Readers turn the table's inserts and updates into `Heartbeat` events (never row changes), so
the row itself never lands in a user schema of the target; the applier notes the newest one and
the pipeline records it in the target's `bridge.heartbeats` with the batch that carries it.

This module holds what both sides agree on: the table's name and DDL (sql/*/heartbeat.sql, also
shipped in the package), the statement that writes a beat, the row -> event conversion (pure) and
the target-side record. Nothing here runs a thread or decides when to beat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Final, Literal

from bridge.log.events import Heartbeat, SourceId, TableName
from bridge.positions import Position

if TYPE_CHECKING:
    from bridge.appliers.base import Applier

TABLE: Final = TableName("bridge", "heartbeat")
"""The source table; the same name on both engines (a schema on PostgreSQL, a database on MySQL)."""
TIME_COLUMN: Final = "beat_time"

SqlEngine = Literal["postgres", "mysql"]

_SQL_FILES: Final = {"postgres": "postgres_heartbeat.sql", "mysql": "mysql_heartbeat.sql"}

# The newest beat per pipeline; clock_timestamp()/NOW(6) rather than the transaction's start, so
# the time is as close to the commit as the server can say.
WRITE: Final = {
    "postgres": "INSERT INTO bridge.heartbeat (pipeline, beat_time) VALUES (%s, clock_timestamp())"
    " ON CONFLICT (pipeline) DO UPDATE SET beat_time = EXCLUDED.beat_time",
    "mysql": "INSERT INTO bridge.heartbeat (pipeline, beat_time) VALUES (%s, NOW(6))"
    " ON DUPLICATE KEY UPDATE beat_time = VALUES(beat_time)",
}


def sql_file(engine: SqlEngine) -> str:
    """The text of sql/ENGINE/heartbeat.sql (the table, its grants, how to install it)."""
    return (resources.files("bridge") / "sql" / _SQL_FILES[engine]).read_text("utf-8")


def create_statements(engine: SqlEngine) -> list[str]:
    """The file's CREATE statements: what bridge runs itself when the source user may.

    Taken from the file, so the table bridge creates and the one an administrator creates from
    the file are the same; the GRANTs name a role only the administrator knows.
    """
    body = "\n".join(
        line for line in sql_file(engine).splitlines() if not line.lstrip().startswith("--")
    )
    statements = (s.strip() for s in body.split(";"))
    return [s for s in statements if s.upper().startswith("CREATE")]


def is_table(schema: str, name: str) -> bool:
    return schema == TABLE.schema and name == TABLE.name


def heartbeat_event(
    source: SourceId, position: Position, columns: Sequence[str], row: Sequence[object]
) -> Heartbeat | None:
    """The `Heartbeat` for one row image of the table; None when it carries no usable time
    (a column left out of the image, a NULL)."""
    for name, value in zip(columns, row, strict=False):
        if name == TIME_COLUMN:
            if not isinstance(value, dt.datetime):
                return None
            # A DATETIME column someone made by hand instead of TIMESTAMP: written in UTC.
            when = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
            return Heartbeat(source, position, when.astimezone(dt.UTC))
    return None


def record_on_target(applier: Applier, pipeline: str, source_time: dt.datetime) -> None:
    """Write the newest heartbeat into the target's `bridge.heartbeats`, in the applier's open
    transaction: it commits with the batch (and the checkpoint) that carries it."""
    # Imported here: each applier module pulls in its engine's driver setup.
    from bridge.appliers.postgres import PostgresApplier  # noqa: PLC0415

    if isinstance(applier, PostgresApplier):
        applier.conn.execute(
            "INSERT INTO bridge.heartbeats AS h (pipeline, source_time, applied_at)"
            " VALUES (%s, %s, now()) ON CONFLICT (pipeline) DO UPDATE"
            " SET source_time = EXCLUDED.source_time, applied_at = EXCLUDED.applied_at",
            (pipeline, source_time),
        )
        return
    from bridge.appliers.mysql import MysqlApplier  # noqa: PLC0415

    if isinstance(applier, MysqlApplier):
        # DATETIME(6) holding UTC; the apply session's time zone is UTC (appliers.mytarget).
        naive = source_time.astimezone(dt.UTC).replace(tzinfo=None)
        with applier.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO bridge.heartbeats (pipeline, source_time, applied_at)"
                " VALUES (%s, %s, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE"
                " source_time = VALUES(source_time), applied_at = VALUES(applied_at)",
                (pipeline, naive),
            )
