"""The pipeline: reader -> applier, with snapshot, batching, checkpoints, retries and shutdown.

One loop per pipeline. The reader yields events; the applier folds them; the loop decides when to
write (a chunk of `chunk_rows` pending rows, inside the open target transaction) and when to
commit (at a source commit boundary once the batch has `batch_rows` rows, is `batch_seconds`
old, or the stream is idle). After the target commit — which carries the checkpoint — the source
slot is told the position is flushed, so the source frees WAL only for what the target holds.

Transient faults (a dropped connection, a restarting server) restart the loop from the target's
checkpoint after a backoff; anything else stops the pipeline with its error. A stop request
(SIGTERM/SIGINT) commits the complete transactions at the next boundary and returns.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import psycopg
import pymysql

from bridge import heartbeat, metadata, mysqlconn, pgschema, pipestats
from bridge.appliers.base import Applier
from bridge.appliers.postgres import PostgresApplier
from bridge.dsn import Dsn
from bridge.errors import (
    BridgeError,
    ConfigError,
    Interrupted,
    is_retryable_sqlstate,
)
from bridge.gcfreeze import freeze_startup_objects
from bridge.log.events import Begin, Commit, Ddl, Delete, Event, Insert, Relation, TableName, Update
from bridge.positions import Lsn, Position
from bridge.readers.pgcatchup import CATCH_UP_BYTES
from bridge.readers.postgres import PostgresReader
from bridge.snapshot import postgres as pgsnapshot
from bridge.snapshot.postgres import ProgressCallback
from bridge.sourcewatch import SourceStats, SourceWatch, format_size
from bridge.translate.types import TypePolicy

log = logging.getLogger(__name__)


WARNING = "warning: "
"""The prefix of a notice that wants attention."""

_PIPELINE_NAME = re.compile(r"[a-z0-9_]{1,54}")
_ROW_CHECKS = 256


@dataclass(frozen=True, slots=True)
class Options:
    name: str = "default"
    """Pipeline name: the checkpoint row on the target, the slot and publication on the source."""
    tables: tuple[str, ...] = ()
    """SCHEMA.TABLE patterns; empty: every user table (and tables created later)."""
    snapshot: bool = True
    """Copy existing rows first; without it only changes from now on are replicated."""
    batch_rows: int = 50_000
    """Commit the target transaction once this many rows are in it (at a commit boundary)."""
    batch_seconds: float = 0.25
    """…or once the batch is this old."""
    chunk_rows: int = 20_000
    """Write folded rows once this many are pending (bounds memory inside big transactions)."""
    copy_workers: int = 4
    retry_for: float = 300.0
    """Give up after transient faults lasting this long (seconds)."""
    stop_grace: float = 5.0
    """On stop, how long to wait for the open source transaction to complete."""
    policy: TypePolicy = field(default_factory=TypePolicy)
    """Opt-in coercions between engines (zero dates, intervals…); strict by default."""
    heartbeat_interval: float = 10.0
    """Seconds between heartbeat rows written on the source (bridge.heartbeat); 0: none."""
    watch_interval: float = 10.0
    """Seconds between checks of the source's head, lag in bytes and retention."""
    catch_up_bytes: int | None = CATCH_UP_BYTES
    """Read a PostgreSQL source's backlog this large (WAL bytes) through SQL decoding first
    (bridge.readers.pgcatchup); None: always the walsender."""
    max_retained_wal: int | None = None
    """Warn past 80 % of this much WAL retained by the slot (bytes); None: the server's
    max_slot_wal_keep_size when set; 0: never."""
    skip_ddl: tuple[str, ...] = ()
    """Source positions of DDL statements not to apply (the user made the change by hand)."""

    def __post_init__(self) -> None:
        # It names the slot and publication dbbridge_NAME: PostgreSQL allows [a-z0-9_] in slot
        # names, up to 63 characters.
        if not _PIPELINE_NAME.fullmatch(self.name):
            raise ConfigError(
                f"pipeline name {self.name!r} is not usable: it names the replication slot"
                f" dbbridge_{self.name}",
                hint="use 1 to 54 lowercase letters, digits and underscores (--name)",
            )

    @property
    def slot(self) -> str:
        return f"dbbridge_{self.name}"

    @property
    def publication(self) -> str:
        return f"dbbridge_{self.name}"


@dataclass(slots=True)
class Status:
    """What a running pipeline reports (the CLI's status line, later metrics)."""

    name: str
    phase: str = "starting"
    position: str | None = None
    """Last source commit position committed on the target."""
    received: str | None = None
    """Highest source position received."""
    transactions: int = 0
    changes: int = 0
    lag_seconds: float | None = None
    """Source commit time of the last applied transaction to its target commit."""
    retries: int = 0
    last_error: str | None = None
    started: float = field(default_factory=time.monotonic)
    copied_rows: int = 0
    alive_at: float = field(default_factory=time.monotonic)
    """Monotonic time of the last sign of progress: a target commit, an idle check, a chunk."""
    failing_since: float | None = None
    """Monotonic time the current run of transient faults began; None when not failing."""
    last_error_at: float | None = None
    """Unix time of `last_error`."""
    commit_time: float | None = None
    """Source commit time (Unix) of the last applied transaction."""
    committed_at: float | None = None
    """Unix time of the last target commit."""
    heartbeat_time: float | None = None
    """Source time (Unix) of the newest heartbeat applied on the target."""
    source: SourceStats = field(default_factory=SourceStats)
    """What `bridge.sourcewatch` learned: heartbeats on, source head, lag bytes, retention."""


StatusCallback = Callable[[Status], None]


class Pipeline:
    """Replicates one source into one target (PG -> PG here; the engine modules for the rest)."""

    def __init__(
        self,
        source: Dsn,
        target: Dsn,
        options: Options,
        *,
        on_status: StatusCallback | None = None,
        on_copy: ProgressCallback | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        if source.family == "mysql" and target.family == "mysql":
            raise ConfigError(
                "MySQL/MariaDB -> MySQL/MariaDB is not supported: use the server's own replication",
                hint="bridge replicates PostgreSQL -> PostgreSQL, MySQL/MariaDB -> PostgreSQL and"
                " PostgreSQL -> MySQL/MariaDB",
            )
        if target.family not in ("postgres", "mysql"):
            raise ConfigError(f"unsupported target family {target.family!r}")
        self.source = source
        self.target = target
        self.options = options
        self.status = Status(options.name)
        self.on_status = on_status or (lambda _: None)
        self.on_copy = on_copy
        self.notice = on_notice or (lambda m: log.info("%s", m))
        """Says what the pipeline does; a message that starts with WARNING wants attention
        (shown even with --quiet, level "warning" in JSON logs)."""
        self.stop_event = threading.Event()
        self._last_report = 0.0
        self._received: Callable[[], str | None] = lambda: None
        self.on_batch: Callable[[int], None] = lambda _rows: None
        """Called with the row changes of each target commit (the metrics' histogram)."""
        self._stats_at = time.monotonic()
        self._stats_rows = 0
        self._stats_batches = 0
        self.watch = SourceWatch(
            source,
            pipeline=options.name,
            slot=options.slot,
            stats=self.status.source,
            heartbeat_interval=options.heartbeat_interval,
            check_interval=options.watch_interval,
            max_retained=options.max_retained_wal,
            notice=self.notice,
            position=lambda: self.status.position,
            commit_time=lambda: self.status.commit_time,
            phase=lambda: self.status.phase,
        )

    def stop(self) -> None:
        """Ask the pipeline to finish its batch, checkpoint and return (signal-safe)."""
        self.stop_event.set()

    def run(self) -> Status:
        """Run until stopped; transient faults are retried with backoff from the checkpoint."""
        self.watch.start()
        try:
            self._run_retrying()
        except BaseException as e:
            self.status.phase = "failed"
            if isinstance(e, Exception):
                st = self.status
                st.last_error, st.last_error_at = str(e), time.time()
                pipestats.record_failure(self.target.url, self.options.name, self._stats())
            raise
        finally:
            self.watch.close()
        self.status.phase = "stopped"
        return self.status

    def _run_retrying(self) -> None:
        delay = 0.5
        failing_since: float | None = None
        last_fault = 0.0
        while not self.stop_event.is_set():
            try:
                try:
                    self._run_once()
                except psycopg.Error as raw:
                    # A server error outside the places that explain their own (a catalog
                    # lookup, a keepalive): transient by its SQLSTATE or a lost connection.
                    raise _bridge_error(raw) from raw
                except pymysql.err.Error as raw:  # the same for MySQL/MariaDB servers
                    raise _mysql_bridge_error(raw) from raw
            except Interrupted as e:
                if not self.stop_event.is_set():
                    raise
                self.notice(str(e))
                return
            except BridgeError as e:
                if not e.retryable:
                    raise
                now = time.monotonic()
                if failing_since is None or self.status.alive_at > last_fault:
                    # Progress since the last fault: a new run of faults, with its own budget
                    # of --retry-for seconds and a backoff from the start.
                    failing_since, delay = now, 0.5
                last_fault = now
                self.status.failing_since = failing_since
                if now - failing_since > self.options.retry_for:
                    raise type(e)(
                        f"{e.message} (still failing after {self.options.retry_for:.0f} s of"
                        " retries)",
                        hint=e.hint or "check that both servers are up and reachable",
                        position=e.position,
                        retryable=False,
                    ) from e
                self.status.retries += 1
                self.status.last_error = str(e)
                self.status.last_error_at = time.time()
                self.notice(f"{WARNING}transient fault, retrying in {delay:.1f} s: {e}")
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30.0)
            else:
                return

    def _run_once(self) -> None:
        if self.source.family == "mysql":
            from bridge.pipeline_mysql import run_from_mysql  # noqa: PLC0415 - one engine's code

            run_from_mysql(self)
            return
        if self.target.family == "mysql":
            from bridge.pipeline_tomysql import run_to_mysql  # noqa: PLC0415 - one engine's code

            run_to_mysql(self)
            return
        metadata.upgrade(self.target.url)
        applier = PostgresApplier(self.target.url, self.options.name)

        def configure(reader: PostgresReader) -> None:
            src_sql = reader.sql

            def table_ddl(rel: Relation) -> list[pgschema.Statement]:
                if pgschema.table_info(src_sql, rel.relation) is not None:
                    return pgschema.table_ddl(src_sql, rel.relation)
                return pgschema.relation_ddl(rel)

            applier.table_ddl = table_ddl

        self.from_postgres(
            applier,
            configure=configure,
            snapshot=lambda reader, tables: self._snapshot(reader, applier, tables),
        )

    def from_postgres(
        self,
        applier: Applier,
        *,
        configure: Callable[[PostgresReader], None],
        snapshot: Callable[
            [PostgresReader, Sequence[TableName] | None], Callable[[str, Lsn], None] | None
        ],
        wrap: Callable[[Iterator[Event | None]], Iterator[Event | None]] = lambda e: e,
    ) -> None:
        """A PostgreSQL source into `applier` (closed at the end): resume from the checkpoint's
        slot position, or start a new slot whose exported snapshot `snapshot` copies; then
        stream. `configure` sets the applier's hooks once the reader is open; `wrap` sees the
        events before the applier does."""
        opts = self.options
        reader: PostgresReader | None = None
        try:
            reader = PostgresReader(
                self.source.url,
                slot=opts.slot,
                publication=opts.publication,
                catch_up_bytes=opts.catch_up_bytes,
            )
            tables = pgschema.list_tables(reader.sql, opts.tables) if opts.tables else None
            pgschema.check_replica_identity(reader.sql, tables or pgschema.list_tables(reader.sql))
            reader.tables = self.watch.prepare_postgres(reader.sql, opts.publication, tables)
            configure(reader)
            cp = applier.checkpoint
            if cp is not None and cp.phase == "streaming":
                applier.check_source(reader.source)
                if not reader.slot_exists():
                    raise ConfigError(
                        f"the source has no slot {opts.slot!r}: the changes after"
                        f" {cp.position} are gone, so the target cannot catch up",
                        hint="start over: drop the copied tables on the target and the"
                        f" pipeline's row {opts.name!r} in bridge.checkpoints, then run again",
                        position=cp.position,
                    )
                start = reader.open(Lsn.parse(cp.position))
                self.notice(f"resuming from {start}")
                if reader.catching_up is not None:
                    behind = format_size(reader.catching_up.behind)
                    self.notice(f"reading the backlog ({behind} of WAL) through SQL decoding")
            else:
                # No checkpoint yet (or a copy that never finished): start from a new slot.
                if reader.slot_exists():
                    reader.drop_slot()
                self.status.phase = "snapshot" if opts.snapshot else "starting"
                start = reader.open(on_snapshot=snapshot(reader, tables) if opts.snapshot else None)
                if not opts.snapshot:
                    applier.mark_snapshot(reader.source, str(start), done=True)
                self.notice(f"streaming from {start}")
            self.status.phase = "streaming"
            rd = reader
            self.stream(
                wrap(rd.events(idle_timeout=0.02)),
                applier,
                confirm=rd.confirm,  # type: ignore[arg-type] # a PG reader gets LSNs only
                received=lambda: str(Lsn(rd.repl.received)),
                idle=lambda: self._idle(rd, applier),
            )
        finally:
            if reader is not None:
                reader.close()
            applier.rollback()
            applier.close()

    def _snapshot(
        self,
        reader: PostgresReader,
        applier: PostgresApplier,
        tables: Sequence[TableName] | None,
    ) -> Callable[[str, Lsn], None]:
        def copy(snapshot: str, consistent: Lsn) -> None:
            src = reader.sql
            chosen = list(tables) if tables is not None else pgschema.list_tables(src)
            with pgsnapshot.lock_tables(self.source.url, snapshot, chosen):
                created = pgsnapshot.prepare_target(src, applier.conn, chosen)
                self.notice(
                    f"copying {len(chosen)} table(s) as of {consistent}"
                    + (f" ({len(created)} created on the target)" if created else "")
                )
                counts = pgsnapshot.copy_tables(
                    self.source.url,
                    self.target.url,
                    snapshot,
                    chosen,
                    workers=self.options.copy_workers,
                    on_progress=self.on_copy,
                    stop=self.stop_event,
                )
                # The copied columns, for telling later source changes from target drift: read
                # while the tables are locked, so no ALTER since the snapshot is in them.
                infos = {t: pgschema.table_info(src, t) for t in chosen}
            pgsnapshot.create_indexes(src, applier.conn, created)
            self.status.copied_rows = sum(counts.values())
            applier.remember({t: dict.fromkeys(i.columns) for t, i in infos.items() if i})
            applier.mark_snapshot(reader.source, str(consistent), done=True)

        return copy

    def stream(  # noqa: PLR0912 - the hot loop, kept in one frame
        self,
        events: Iterator[Event | None],
        applier: Applier,
        *,
        confirm: Callable[[Position], None],
        received: Callable[[], str | None],
        idle: Callable[[], None],
    ) -> None:
        """Apply `events` until stopped: batches committed at source commit boundaries, each
        followed by `confirm` of its position; `idle` runs when nothing arrives between
        transactions."""
        opts = self.options
        stop = self.stop_event
        in_txn = False
        batch_started = 0.0
        stop_deadline: float | None = None
        self._received = received
        freeze_startup_objects()
        apply = applier.apply
        rows = 0
        for ev in self.skipping_ddl(events):
            kind = type(ev)
            if kind is Insert or kind is Update or kind is Delete:
                # The hot path: most events are rows inside a transaction. What the other
                # events check after each one (a chunk to write, a stop) is checked every
                # `_ROW_CHECKS` rows here.
                apply(ev)  # type: ignore[arg-type]
                rows += 1
                if rows < _ROW_CHECKS:
                    continue
                rows = 0
            elif ev is not None:
                apply(ev)
            if stop.is_set() and stop_deadline is None:
                stop_deadline = time.monotonic() + opts.stop_grace
            if ev is None:
                if not in_txn:
                    idle()
                if stop_deadline is not None and (not in_txn or time.monotonic() > stop_deadline):
                    break
                self._report()
                continue
            if kind is Begin:
                in_txn = True
                if not applier.uncommitted:
                    batch_started = time.monotonic()
            elif kind is Commit:
                in_txn = False
                if (
                    stop_deadline is not None
                    or applier.batch_changes >= opts.batch_rows
                    or time.monotonic() - batch_started >= opts.batch_seconds
                ):
                    self._commit(applier, confirm)
                    if stop_deadline is not None:
                        break
            if applier.pending >= opts.chunk_rows:
                applier.flush()
                self.status.alive_at = time.monotonic()  # a big transaction is progressing
            if stop_deadline is not None and in_txn and time.monotonic() > stop_deadline:
                break  # the open transaction is rolled back; it is redelivered on restart
        self._report(force=True)

    def skipping_ddl(self, events: Iterator[Event | None]) -> Iterator[Event | None]:
        """The events but the DDL statements --skip-ddl names, each said in a notice."""
        skip = frozenset(self.options.skip_ddl)
        if not skip:
            return events

        def without() -> Iterator[Event | None]:
            for ev in events:
                if type(ev) is Ddl and str(ev.position) in skip:
                    self.notice(
                        f"{WARNING}skipping the DDL at {ev.position} (--skip-ddl): {ev.text!r}"
                    )
                    continue
                yield ev

        return without()

    def _idle(self, reader: PostgresReader, applier: Applier) -> None:
        """Nothing arrived for a moment, between transactions: commit what the batch holds."""
        if applier.uncommitted:
            self._commit(applier, reader.confirm)  # type: ignore[arg-type]
        elif not applier.pending:
            # Everything applied: let the slot move past WAL that held nothing for us (other
            # databases, keepalives), or the source keeps that WAL forever.
            reader.confirm(Lsn(reader.repl.received))

    def _commit(self, applier: Applier, confirm: Callable[[Position], None]) -> None:
        beat = applier.heartbeat
        if beat is not None:  # recorded with the batch that carries it
            heartbeat.record_on_target(applier, self.options.name, beat)
            applier.heartbeat = None
        rows = applier.batch_changes
        self._stats_rows += rows
        self._stats_batches += 1
        if time.monotonic() - self._stats_at >= pipestats.INTERVAL:
            pipestats.record_on_target(applier, self.options.name, self._stats())
        last = applier.commit()
        if last is None:
            return
        confirm(last.commit_position)
        st = self.status
        st.position = str(last.commit_position)
        st.transactions = applier.applied_transactions
        st.changes = applier.applied_changes
        now = st.committed_at = time.time()
        if last.commit_time is not None:
            st.commit_time = last.commit_time.timestamp()
            st.lag_seconds = max(0.0, now - st.commit_time)
        if beat is not None:
            st.heartbeat_time = beat.timestamp()
        self.on_batch(rows)
        self._report()

    def _stats(self) -> tuple[float | None, float | None, int, str | None, float | None]:
        """The stats row's values (bridge.pipestats) since the last write, which resets them."""
        now = time.monotonic()
        elapsed = now - self._stats_at
        rate = self._stats_rows / elapsed if elapsed > 0 else None
        batch = self._stats_rows / self._stats_batches if self._stats_batches else None
        self._stats_at, self._stats_rows, self._stats_batches = now, 0, 0
        st = self.status
        return rate, batch, st.retries, st.last_error, st.last_error_at

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        self.status.alive_at = now
        self.status.failing_since = None
        if force or now - self._last_report >= 0.5:
            self._last_report = now
            self.status.received = self._received()
            self.on_status(self.status)


def _mysql_bridge_error(e: pymysql.err.Error) -> BridgeError:
    args: tuple[object, ...] = getattr(e, "args", ())
    message = str(args[1]) if len(args) > 1 else str(e) or type(e).__name__
    retryable = mysqlconn.is_transient(e)
    return BridgeError(f"a server failed: {message or 'connection lost'}", retryable=retryable)


def _bridge_error(e: psycopg.Error) -> BridgeError:
    retryable = isinstance(e, psycopg.OperationalError) or is_retryable_sqlstate(e.sqlstate)
    message = e.diag.message_primary or " ".join(str(e).split())
    return BridgeError(f"a server failed: {message}", sqlstate=e.sqlstate, retryable=retryable)
