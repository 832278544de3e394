"""What `dbbridge status` reads from a target: checkpoints, heartbeats and the pipelines' stats.

A running pipeline serves its live figures on `--metrics-port`; `dbbridge status` runs in another
process, often on another machine, and knows only the target. So the pipeline also writes a small
row per pipeline into `bridge.pipeline_stats`, in the transaction of a batch it commits anyway
and at most every `INTERVAL` seconds: rows per second over that interval, mean rows per target
commit, retries so far, and the last error with its time. A retried fault shows up with the next
successful batch; a pipeline that stops on an error writes it with a connection of its own (best
effort: the target may be the thing that failed).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg

from bridge.appliers.base import Applier, Checkpoint

INTERVAL = 5.0
"""Seconds between two writes of a pipeline's stats row."""

_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class PipelineStats:
    """One pipeline's row of bridge.pipeline_stats."""

    updated_at: dt.datetime
    rows_per_second: float | None
    batch_rows: float | None
    """Mean rows per target commit over the last interval."""
    retries: int
    last_error: str | None
    last_error_at: dt.datetime | None


@dataclass(slots=True)
class TargetView:
    """Everything `dbbridge status` needs from the target, read in one visit."""

    now: dt.datetime
    checkpoints: list[Checkpoint] = field(default_factory=list)
    heartbeats: dict[str, tuple[dt.datetime, dt.datetime]] = field(default_factory=dict)
    """Per pipeline: the newest heartbeat's source time and when it was applied."""
    stats: dict[str, PipelineStats] = field(default_factory=dict)


# -- writing ---------------------------------------------------------------------------------

_PG_UPSERT = (
    "INSERT INTO bridge.pipeline_stats (pipeline, updated_at, rows_per_second, batch_rows,"
    " retries, last_error, last_error_at) VALUES (%s, now(), %s, %s, %s, %s, %s)"
    " ON CONFLICT (pipeline) DO UPDATE SET updated_at = EXCLUDED.updated_at,"
    " rows_per_second = EXCLUDED.rows_per_second, batch_rows = EXCLUDED.batch_rows,"
    " retries = EXCLUDED.retries, last_error = EXCLUDED.last_error,"
    " last_error_at = EXCLUDED.last_error_at"
)
_MY_UPSERT = (
    "INSERT INTO bridge.pipeline_stats (pipeline, updated_at, rows_per_second, batch_rows,"
    " retries, last_error, last_error_at) VALUES (%s, UTC_TIMESTAMP(6), %s, %s, %s, %s, %s)"
    " ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at),"
    " rows_per_second = VALUES(rows_per_second), batch_rows = VALUES(batch_rows),"
    " retries = VALUES(retries), last_error = VALUES(last_error),"
    " last_error_at = VALUES(last_error_at)"
)


def record_on_target(applier: Applier, pipeline: str, values: tuple[Any, ...]) -> None:
    """Upsert the pipeline's stats row in the applier's open transaction.

    `values`: rows per second, mean batch rows, retries, last error, its Unix time (or None).
    """
    from bridge.appliers.postgres import PostgresApplier  # noqa: PLC0415 - engine modules

    rate, batch, retries, error, error_at = values
    if isinstance(applier, PostgresApplier):
        when = None if error_at is None else dt.datetime.fromtimestamp(error_at, _UTC)
        applier.conn.execute(_PG_UPSERT, (pipeline, rate, batch, retries, error, when))
        return
    from bridge.appliers.mysql import MysqlApplier  # noqa: PLC0415

    if isinstance(applier, MysqlApplier):
        naive = None if error_at is None else dt.datetime.fromtimestamp(error_at, _UTC)
        if naive is not None:
            naive = naive.replace(tzinfo=None)  # DATETIME(6) holding UTC
        with applier.conn.cursor() as cur:
            cur.execute(_MY_UPSERT, (pipeline, rate, batch, retries, error, naive))


def record_failure(dsn: str, pipeline: str, values: tuple[Any, ...]) -> None:
    """Write the stats row on a connection of its own (the pipeline stopped on an error)."""
    with contextlib.suppress(Exception):  # best effort: the target may be what failed
        rate, batch, retries, error, error_at = values
        when = None if error_at is None else dt.datetime.fromtimestamp(error_at, _UTC)
        if dsn.startswith(("mysql://", "mariadb://")):
            from bridge.appliers.mytarget import connect_mysql  # noqa: PLC0415

            conn = connect_mysql(dsn, autocommit=True)
            try:
                with conn.cursor() as cur:
                    naive = None if when is None else when.replace(tzinfo=None)
                    cur.execute(_MY_UPSERT, (pipeline, rate, batch, retries, error, naive))
            finally:
                conn.close()
            return
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as pg:
            pg.execute(_PG_UPSERT, (pipeline, rate, batch, retries, error, when))


# -- reading ---------------------------------------------------------------------------------


def read_target(dsn: str) -> TargetView | None:
    """The target's checkpoints, heartbeats and stats; None when it has no metadata schema."""
    if dsn.startswith(("mysql://", "mariadb://")):
        return _read_mysql(dsn)
    from bridge import metadata  # noqa: PLC0415
    from bridge.appliers.postgres import connect_target, list_checkpoints  # noqa: PLC0415

    with connect_target(dsn, autocommit=True) as conn:
        revision = metadata.current_revision(conn)
        if revision is None:
            return None
        row = conn.execute("SELECT now()").fetchone()
        view = TargetView(cast("dt.datetime", row[0] if row else None))
        view.checkpoints = list_checkpoints(conn)
        view.heartbeats = {
            str(p): (cast("dt.datetime", s), cast("dt.datetime", a))
            for p, s, a in conn.execute(
                "SELECT pipeline, source_time, applied_at FROM bridge.heartbeats"
            ).fetchall()
        }
        if revision >= "0002":
            view.stats = {
                str(r[0]): _stats(r[1:])
                for r in conn.execute(
                    "SELECT pipeline, updated_at, rows_per_second, batch_rows, retries,"
                    " last_error, last_error_at FROM bridge.pipeline_stats"
                ).fetchall()
            }
    return view


def _read_mysql(dsn: str) -> TargetView | None:
    from bridge import metadata  # noqa: PLC0415
    from bridge.appliers.mytarget import connect_mysql, list_checkpoints  # noqa: PLC0415

    conn = connect_mysql(dsn, autocommit=True)
    try:
        revision = metadata.current_revision_mysql(conn)
        if revision is None:
            return None
        with conn.cursor() as cur:
            cur.execute("SELECT UTC_TIMESTAMP(6)")
            row = cur.fetchone()
            view = TargetView(_aware(row[0] if row else None))
            view.checkpoints = list_checkpoints(conn)
            cur.execute("SELECT pipeline, source_time, applied_at FROM bridge.heartbeats")
            view.heartbeats = {str(p): (_aware(s), _aware(a)) for p, s, a in cur.fetchall()}
            if revision >= "0002":
                cur.execute(
                    "SELECT pipeline, updated_at, rows_per_second, batch_rows, retries,"
                    " last_error, last_error_at FROM bridge.pipeline_stats"
                )
                view.stats = {
                    str(r[0]): _stats((_aware(r[1]), *r[2:6], _aware(r[6]))) for r in cur.fetchall()
                }
    finally:
        conn.close()
    return view


def _aware(value: Any) -> Any:
    """A MySQL DATETIME(6) holding UTC, as an aware datetime."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value


def _stats(row: tuple[Any, ...]) -> PipelineStats:
    updated, rate, batch, retries, error, error_at = row
    return PipelineStats(
        updated,
        None if rate is None else float(rate),
        None if batch is None else float(batch),
        int(retries or 0),
        None if error is None else str(error),
        error_at,
    )
