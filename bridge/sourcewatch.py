"""The source side of a running pipeline, off the hot path: heartbeats, how far behind the source
head the pipeline is in bytes, and the retention guard.

One thread per pipeline (`SourceWatch`) with its own autocommit connection to the source:

- **Heartbeats** (`bridge.heartbeat`): every `heartbeat_interval` seconds it upserts the pipeline's
  row of `bridge.heartbeat`. The engine side of the pipeline calls `prepare_postgres` /
  `prepare_mysql` first, which creates the table when the source user may, proves the user can
  write it and (PostgreSQL) that the publication carries it; otherwise heartbeats are off, with a
  notice saying how to turn them on, and nothing fails.
- **Source statistics** (every `check_interval` seconds and when the phase changes): the source
  head; PostgreSQL: the WAL between the slot's confirmed position and the head (lag bytes) and the
  WAL the slot retains (head - restart_lsn); MySQL: the binlog bytes between the checkpoint and the
  head and the binlog files still needed.
- **Retention guard**: PostgreSQL: retained WAL against `--max-retained-wal` (default: the
  server's max_slot_wal_keep_size, past which the server invalidates the slot); MySQL: the age of
  the binlog file still needed against binlog_expire_logs_seconds / expire_logs_days. Past 80 % it
  logs a warning (repeated every `REWARN_SECONDS` while it lasts) and the metrics show it; when the
  position is really gone the reader stops the pipeline with its own clear error.

The hot loop never waits on any of this: results land in `Status.source`, which the status line,
the metrics and `dbbridge status` read.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
import pymysql
from psycopg import sql

from bridge import heartbeat
from bridge.dsn import Dsn
from bridge.errors import BridgeError
from bridge.log.events import TableName
from bridge.positions import BinlogPosition

log = logging.getLogger(__name__)

WARN_RATIO: Final = 0.8
"""Warn once the retained WAL / the needed binlog's age passes this share of the limit."""
REWARN_SECONDS: Final = 600.0
_TICK: Final = 1.0
# Access denied (database, table, command, routine), read-only server: heartbeats cannot be written.
_MYSQL_DENIED: Final = frozenset({1044, 1045, 1142, 1143, 1227, 1290, 1370, 1698})
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_UNITS: Final = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


@dataclass(slots=True)
class SourceStats:
    """What the watch last learned about the source (None: not known, or not applicable)."""

    heartbeats: bool = False
    """Heartbeats are being written (the table is there, writable and replicated)."""
    beats_written: int = 0
    head: str | None = None
    """The source's current position: pg_current_wal_lsn() / the binlog's end."""
    lag_bytes: int | None = None
    """PostgreSQL: WAL between the slot's confirmed position and the head; MySQL: binlog bytes
    between the applied position and the head."""
    retained_bytes: int | None = None
    """PostgreSQL: WAL the slot keeps on the source (head - restart_lsn)."""
    retention_limit: float | None = None
    """The limit the guard compares with: bytes (PostgreSQL) or seconds (MySQL binlog expiry)."""
    retention_ratio: float | None = None
    """Retained WAL / limit, or the needed binlog file's age / expiry; >= 0.8 warns."""
    wal_status: str | None = None
    """PostgreSQL >= 13: the slot's wal_status (reserved, extended, unreserved, lost)."""
    needed_files: tuple[str, ...] = ()
    """MySQL: binlog files from the one holding the applied position to the newest."""
    checked_at: float | None = None
    """Unix time of the last successful check."""


# -- pure helpers ------------------------------------------------------------------------------


def parse_size(text: str) -> int:
    """Bytes in '10GB', '512MB', '1.5TB', '4096' (units are powers of 1024, as PostgreSQL's
    settings); 'off' or '0' is 0 (no limit)."""
    if text.strip().lower() in ("off", "none", "0"):
        return 0
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"not a size (like 10GB, 512MB or a number of bytes): {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def binlog_usage(
    logs: Sequence[tuple[str, int]], head: BinlogPosition, needed: BinlogPosition
) -> tuple[int | None, tuple[str, ...]]:
    """(binlog bytes from `needed` to `head`, the files from `needed`'s on) given SHOW BINARY
    LOGS' (name, size) rows; (None, ()) when `needed`'s file is gone."""
    names = [name for name, _ in logs]
    if needed.file not in names:
        return None, ()
    first = names.index(needed.file)
    last = names.index(head.file) if head.file in names else len(names)
    before_head = sum(size for _, size in logs[first:last])  # whole files before the head's
    return max(0, before_head + head.offset - needed.offset), tuple(names[first:])


def binlog_expiry_ratio(
    *, needed: str, head: str, expire_seconds: float, applied_commit_time: float | None, now: float
) -> float | None:
    """How far the binlog file still needed is into its expiry (1.0: due for purging).

    The server purges a file once it was last written longer ago than the expiry, and never the
    file it is writing, so a pipeline reading the head's file is safe. A file's last write is not
    visible over SQL; the last applied transaction was in it, so its age is at most the time
    since that commit: the ratio errs towards warning early, never late.
    """
    if needed == head:
        return 0.0
    if expire_seconds <= 0 or applied_commit_time is None:
        return None
    return max(0.0, now - applied_commit_time) / expire_seconds


class Alarm:
    """Edge-triggered warning: fires when the ratio reaches `WARN_RATIO`, again every
    `REWARN_SECONDS` while it stays there, and re-arms once it falls below."""

    def __init__(self, *, ratio: float = WARN_RATIO, every: float = REWARN_SECONDS) -> None:
        self.ratio = ratio
        self.every = every
        self._last: float | None = None

    def check(self, value: float | None, now: float) -> bool:
        if value is None or value < self.ratio:
            self._last = None
            return False
        if self._last is None or now - self._last >= self.every:
            self._last = now
            return True
        return False


# -- one-shot queries (the watch and `dbbridge status`) ----------------------------------------

_PG_SLOT = (
    "SELECT pg_current_wal_lsn()::text, s.confirmed_flush_lsn::text,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::int8,"
    " pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::int8, s.wal_status::text,"
    " (SELECT setting::int8 FROM pg_settings WHERE name = 'max_slot_wal_keep_size')"
    " FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots s ON s.slot_name = %s"
)


def postgres_stats(
    conn: psycopg.Connection[tuple[Any, ...]], slot: str, *, max_retained: int | None
) -> SourceStats:
    """The slot's numbers; `max_retained` None takes the server's max_slot_wal_keep_size (MB,
    -1 unlimited), 0 turns the guard off."""
    row = conn.execute(_PG_SLOT, (slot,)).fetchone()
    if row is None:  # pragma: no cover - the query always returns its one row
        return SourceStats()
    head, _, retained, lag, wal_status, keep_mb = row
    limit = max_retained
    if limit is None and keep_mb is not None and int(keep_mb) >= 0:
        limit = int(keep_mb) << 20
    ratio = None if not limit or retained is None else int(retained) / limit
    return SourceStats(
        head=str(head),
        lag_bytes=None if lag is None else max(0, int(lag)),
        retained_bytes=None if retained is None else max(0, int(retained)),
        retention_limit=float(limit) if limit else None,
        retention_ratio=ratio,
        wal_status=None if wal_status is None else str(wal_status),
        checked_at=time.time(),
    )


def _mysql_rows(cur: Any, statement: str) -> list[tuple[Any, ...]]:
    cur.execute(statement)
    return list(cur.fetchall())


def mysql_stats(
    conn: Any, needed: BinlogPosition | None, applied_commit_time: float | None
) -> SourceStats:
    """The binlog's head, the bytes and files from `needed` on, and the expiry ratio."""
    with conn.cursor() as cur:
        try:
            status = _mysql_rows(cur, "SHOW BINARY LOG STATUS")  # MySQL 8.4 renamed it
        except pymysql.err.ProgrammingError:
            status = _mysql_rows(cur, "SHOW MASTER STATUS")
        logs = [(str(r[0]), int(r[1])) for r in _mysql_rows(cur, "SHOW BINARY LOGS")]
        variables = dict(
            _mysql_rows(
                cur,
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN"
                " ('binlog_expire_logs_seconds', 'expire_logs_days')",
            )
        )
    if not status:
        return SourceStats(checked_at=time.time())
    head = BinlogPosition(str(status[0][0]), int(status[0][1]))
    expire = float(variables.get("binlog_expire_logs_seconds") or 0)
    if expire <= 0:
        expire = float(variables.get("expire_logs_days") or 0) * 86400
    stats = SourceStats(head=str(head), checked_at=time.time(), retention_limit=expire or None)
    if needed is not None:
        stats.lag_bytes, stats.needed_files = binlog_usage(logs, head, needed)
        stats.retention_ratio = binlog_expiry_ratio(
            needed=needed.file,
            head=head.file,
            expire_seconds=expire,
            applied_commit_time=applied_commit_time,
            now=time.time(),
        )
    return stats


# -- the thread --------------------------------------------------------------------------------


class SourceWatch:
    """Heartbeats and source statistics for one pipeline, in a thread of its own."""

    def __init__(
        self,
        source: Dsn,
        *,
        pipeline: str,
        slot: str,
        stats: SourceStats,
        heartbeat_interval: float,
        check_interval: float,
        max_retained: int | None,
        notice: Callable[[str], None],
        position: Callable[[], str | None],
        commit_time: Callable[[], float | None],
        phase: Callable[[], str],
    ) -> None:
        self.source = source
        self.pipeline = pipeline
        self.slot = slot
        self.stats = stats
        self.heartbeat_interval = heartbeat_interval
        self.check_interval = check_interval
        self.max_retained = max_retained
        self.notice = notice
        self._position = position
        self._commit_time = commit_time
        self._phase = phase
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None
        self._said: set[str] = set()
        self._alarm = Alarm()
        self._next_beat = 0.0

    # -- setup, called by the engine side of the pipeline before it streams --------------------

    def prepare_postgres(
        self,
        conn: psycopg.Connection[tuple[Any, ...]],
        publication: str,
        tables: Sequence[TableName] | None,
    ) -> Sequence[TableName] | None:
        """Set up heartbeats on a PostgreSQL source through `conn` (autocommit); returns the table
        list for a publication the reader has yet to create (the heartbeat table added when
        heartbeats go through it), else `tables` as given."""
        if self.heartbeat_interval <= 0:
            return tables
        out = tables
        try:
            reason = self._pg_table(conn)
            if reason is None:
                reason, out = self._pg_publication(conn, publication, tables)
        except psycopg.errors.InsufficientPrivilege as e:
            reason = f"the source user may not use {heartbeat.TABLE}: {e.diag.message_primary}"
        except psycopg.errors.ReadOnlySqlTransaction:
            reason = "the source is read-only"
        self._enable(reason, "run sql/postgres/heartbeat.sql on the source as a superuser")
        return out

    def _pg_table(self, conn: psycopg.Connection[tuple[Any, ...]]) -> str | None:
        found = conn.execute(
            "SELECT to_regnamespace('bridge') IS NOT NULL, EXISTS (SELECT 1 FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s"
            " AND c.relname = %s AND c.relkind IN ('r', 'p'))",
            (heartbeat.TABLE.schema, heartbeat.TABLE.name),
        ).fetchone()
        schema, table = bool(found and found[0]), bool(found and found[1])
        if not table:
            with conn.transaction():
                for stmt in heartbeat.create_statements("postgres"):
                    # CREATE SCHEMA checks CREATE on the database even when the schema exists.
                    if not (schema and stmt.upper().startswith("CREATE SCHEMA")):
                        conn.execute(stmt.encode())
        conn.execute(heartbeat.WRITE["postgres"], (self.pipeline,))  # proves the grants
        return None

    def _pg_publication(  # noqa: PLR0911 - one return per state of the publication
        self,
        conn: psycopg.Connection[tuple[Any, ...]],
        publication: str,
        tables: Sequence[TableName] | None,
    ) -> tuple[str | None, Sequence[TableName] | None]:
        hb = heartbeat.TABLE
        row = conn.execute(
            "SELECT puballtables FROM pg_publication WHERE pubname = %s", (publication,)
        ).fetchone()
        owner = conn.execute(
            "SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (hb.schema, hb.name),
        ).fetchone()
        owns = bool(owner and owner[0])  # publishing a table takes owning it
        fix = f"ALTER PUBLICATION {publication} ADD TABLE {hb} as the publication's owner"
        if row is None:
            if tables is None:
                return None, tables  # the reader creates it FOR ALL TABLES
            if owns:
                return None, [*tables, hb]
            return f"the source user may not publish {hb} ({fix})", tables
        if row[0]:
            return None, tables
        published = conn.execute(
            "SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s"
            " AND tablename = %s",
            (publication, hb.schema, hb.name),
        ).fetchone()
        if published:
            return None, tables
        try:
            conn.execute(
                sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(
                    sql.Identifier(publication), sql.Identifier(hb.schema, hb.name)
                )
            )
        except psycopg.errors.InsufficientPrivilege:
            return f"publication {publication!r} lacks {hb} ({fix})", tables
        return None, tables

    def prepare_mysql(self, conn: Any) -> None:
        """Set up heartbeats on a MySQL/MariaDB source through `conn` (autocommit)."""
        if self.heartbeat_interval <= 0:
            return
        reason = None
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                    (heartbeat.TABLE.schema, heartbeat.TABLE.name),
                )
                row = cur.fetchone()
                if not row or not row[0]:
                    for stmt in heartbeat.create_statements("mysql"):
                        cur.execute(stmt)
                cur.execute(heartbeat.WRITE["mysql"], (self.pipeline,))  # proves the grants
        except pymysql.err.MySQLError as e:
            errno = e.args[0] if e.args and isinstance(e.args[0], int) else None
            if errno not in _MYSQL_DENIED:
                raise
            reason = f"the source user may not use {heartbeat.TABLE}: {e.args[-1]}"
        self._enable(reason, "run sql/mysql/heartbeat.sql on the source as an administrator")

    def _enable(self, reason: str | None, fix: str) -> None:
        self.stats.heartbeats = reason is None
        if reason is None:
            self._next_beat = time.monotonic() + self.heartbeat_interval
            return
        self._say(
            f"heartbeats are off: {reason}; the lag is known only while the source writes"
            f" (to enable them, {fix})"
        )

    def _say(self, message: str) -> None:
        """A notice, once per process: retries call prepare again."""
        if message not in self._said:
            self._said.add(message)
            self.notice(message)

    # -- the thread ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()  # a pipeline may run again after a stop
            self._thread = threading.Thread(target=self._run, name="source-watch", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._disconnect()

    def _run(self) -> None:
        next_check = 0.0
        last_state: tuple[str, bool] = ("", False)
        while not self._stop.is_set():
            now = time.monotonic()
            # Check at once when streaming begins (the slot exists now) or the first position is
            # applied (the binlog file needed is known now), not a whole interval later.
            state = (self._phase(), self._position() is not None)
            if state != last_state:
                last_state, next_check = state, now
            try:
                if self.stats.heartbeats and now >= self._next_beat:
                    self._next_beat = now + self.heartbeat_interval
                    self._beat()
                if now >= next_check:
                    next_check = now + self.check_interval
                    self._check()
            except (psycopg.Error, pymysql.err.MySQLError, BridgeError, OSError) as e:
                # The pipeline reports source faults itself; here a failure only costs a beat.
                log.debug("source watch of %s: %s", self.pipeline, e)
                self._disconnect()
            due = min(next_check, self._next_beat if self.stats.heartbeats else next_check)
            self._stop.wait(min(_TICK, max(0.05, due - time.monotonic())))

    def _connection(self) -> Any:
        if self._conn is None:
            if self.source.family == "postgres":
                from bridge.readers.postgres import connect_source  # noqa: PLC0415 - no cycle

                # Bounded waits: a stuck source must not hold up a stop for long.
                self._conn = connect_source(
                    self.source.url,
                    application_name="dbbridge-watch",
                    connect_timeout=10,
                    options="-c statement_timeout=10000",
                )
            else:
                from bridge.mysqlconn import connect  # noqa: PLC0415

                self._conn = connect(
                    self.source.url, autocommit=True, read_timeout=10, write_timeout=10
                )
        return self._conn

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _beat(self) -> None:
        conn = self._connection()
        try:
            if self.source.family == "postgres":
                conn.execute(heartbeat.WRITE["postgres"], (self.pipeline,))
            else:
                with conn.cursor() as cur:
                    cur.execute(heartbeat.WRITE["mysql"], (self.pipeline,))
        except psycopg.errors.InsufficientPrivilege as e:
            self._stop_beating(str(e.diag.message_primary))
            return
        except pymysql.err.MySQLError as e:
            if e.args and e.args[0] in _MYSQL_DENIED:
                self._stop_beating(str(e.args[-1]))
                return
            raise
        self.stats.beats_written += 1

    def _stop_beating(self, why: str) -> None:
        self.stats.heartbeats = False
        self._say(f"heartbeats are off: writing {heartbeat.TABLE} failed: {why}")

    def _check(self) -> None:
        conn = self._connection()
        if self.source.family == "postgres":
            fresh = postgres_stats(conn, self.slot, max_retained=self.max_retained)
        else:
            text = self._position()
            needed = BinlogPosition.parse(text) if text and ":" in text else None
            fresh = mysql_stats(conn, needed, self._commit_time())
        st = self.stats
        st.head, st.lag_bytes, st.retained_bytes = fresh.head, fresh.lag_bytes, fresh.retained_bytes
        st.retention_limit, st.retention_ratio = fresh.retention_limit, fresh.retention_ratio
        st.wal_status, st.needed_files, st.checked_at = (
            fresh.wal_status,
            fresh.needed_files,
            fresh.checked_at,
        )
        if self._alarm.check(st.retention_ratio, time.monotonic()):
            self._warn(st)

    def _warn(self, st: SourceStats) -> None:
        ratio = st.retention_ratio or 0.0
        if self.source.family == "postgres":
            log.warning(
                "slot %s retains %s of WAL on the source, %.0f %% of the %s limit: past it the"
                " server drops the WAL (or the disk fills) and the pipeline cannot continue",
                self.slot,
                format_size(st.retained_bytes or 0),
                ratio * 100,
                format_size(st.retention_limit or 0),
                extra={"pipeline": self.pipeline, "retained_bytes": st.retained_bytes,
                       "retention_ratio": ratio, "wal_status": st.wal_status},
            )  # fmt: skip
            return
        needed = st.needed_files[0] if st.needed_files else "?"
        log.warning(
            "binlog file %s, still needed by the pipeline, may be %.0f %% into the source's"
            " binlog expiry (%.0f s): once purged the pipeline cannot continue",
            needed,
            ratio * 100,
            st.retention_limit or 0,
            extra={"pipeline": self.pipeline, "needed_file": needed, "retention_ratio": ratio},
        )
