"""MySQL/MariaDB reader: the binlog, streamed as a replica would, to common-log events.

A dump connection (PyMySQL, COM_BINLOG_DUMP from a file and offset) runs in a background thread
that only moves event bytes into a bounded queue (backpressure); the caller's thread decodes them
(`bridge.readers.binlogevents`, pure) so `events(idle_timeout=…)` gives control back every
`idle_timeout` seconds with None when nothing arrives, and errors from the thread are raised in
the caller.

Why not mysql-replication's BinLogStreamReader (shared/FACTS.md): on MariaDB its GTID mode
(`auto_position`, `is_mariadb=True`) ignores file/offset, and with blocking=False it resets near
the end of the stream and silently re-delivers from the original position; its silent reconnect
on errors 2006/2013 also restarts from where the reader was created. We position by file and
offset only (always exact, and MariaDB's BINLOG_GTID_POS gives the GTID state at any offset),
block with server heartbeats so a dead connection is noticed, and on a transient error rebuild
the stream ourselves (backoff) from the start of the open transaction, dropping what was
already delivered: no duplicate, no loss. tests/integration/test_mysql_reader.py pins both.

STATEMENT and MIXED binlogs are read too: a DML statement goes through the statement translator
(`bridge.translate.statements`, via the event builder) with the table definitions
`table_schema` reads from information_schema (cached until the next DDL in the stream).

The untyped PyMySQL internals a binlog dump needs (`_execute_command`, `_read_packet`,
`_force_close`) are used in `_DumpThread` only.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final

import pymysql
from pymysql.constants.COMMAND import COM_BINLOG_DUMP

from bridge import heartbeat
from bridge.errors import (
    BridgeError,
    ConfigError,
    DecodeError,
    SourceError,
)
from bridge.gcfreeze import freeze_startup_objects
from bridge.log.events import Column, ColumnType, Ddl, Event, SourceId, TableName
from bridge.mysqlconn import connect, is_transient
from bridge.positions import BinlogPosition, GtidState, MariadbGtidPos, MysqlGtidSet
from bridge.readers import mysqlschema
from bridge.readers.binlogevents import EventBuilder
from bridge.readers.binlogrows import TableCache, TableMap, _codec, register_collations
from bridge.translate.statement_types import StatementPolicy, TableColumn, TableSchema

if TYPE_CHECKING:
    from bridge.translate.statements import StatementTranslator

HEARTBEAT_SECONDS: Final = 2.0
"""The server sends a heartbeat after this long without events; a read that waits 5 times as
long means the connection is dead."""
_BATCH: Final = 512
_ER_MASTER_FATAL_READING_BINLOG: Final = 1236
_STATEMENT_COLUMNS_SQL: Final = (
    "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA"
    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    " ORDER BY ORDINAL_POSITION"
)
_UNIQUE_SQL: Final = (
    "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS"
    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND NON_UNIQUE = 0"
    " ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX"
)
_QUEUE_BATCHES: Final = 64


class _Closed:
    """Queue item: the dump thread ended because it was asked to."""


class _DumpThread:
    """One COM_BINLOG_DUMP connection; a thread puts lists of event bytes (or the exception that
    ended it) into `queue`."""

    def __init__(self, dsn: str, *, server_id: int, start: BinlogPosition) -> None:
        self.queue: queue.Queue[list[bytes] | BaseException | _Closed] = queue.Queue(_QUEUE_BATCHES)
        self._stopping = threading.Event()
        timeout = HEARTBEAT_SECONDS * 5
        self._conn: Any = connect(dsn, read_timeout=timeout, write_timeout=timeout)
        try:
            with self._conn.cursor() as cur:
                # Events with their CRC32 when the binlog has one, GTID events as they are
                # (MariaDB rewrites them for replicas below capability 4), heartbeats when idle.
                cur.execute("SET @master_binlog_checksum = @@global.binlog_checksum")
                cur.execute("SET @source_binlog_checksum = @@global.binlog_checksum")
                cur.execute("SET @mariadb_slave_capability = 4")
                cur.execute("SET @master_heartbeat_period = %s", (int(HEARTBEAT_SECONDS * 1e9),))
            name = start.file.encode()
            payload = (
                start.offset.to_bytes(4, "little")
                + (0).to_bytes(2, "little")  # flags: blocking
                + server_id.to_bytes(4, "little")
                + name
            )
            self._conn._execute_command(COM_BINLOG_DUMP, payload)
        except BaseException:
            self._conn._force_close()
            raise
        self._thread = threading.Thread(target=self._run, name="binlog-dump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn, put = self._conn, self._put
        batch: list[bytes] = []
        try:
            sock = conn._sock
            while not self._stopping.is_set():
                pkt = conn._read_packet()
                data = pkt.get_all_data()
                _check_not_eof(data)
                batch.append(data[1:])
                # Hand over what we have when no more bytes are waiting, or the batch is full:
                # one queue operation per burst, not per event.
                if len(batch) >= _BATCH or not _readable(sock):
                    put(batch)
                    batch = []
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            if batch:
                put(batch)
            put(_Closed() if self._stopping.is_set() else e)
        finally:
            conn._force_close()

    def _put(self, item: list[bytes] | BaseException | _Closed) -> None:
        while True:
            try:
                self.queue.put(item, timeout=0.2)
            except queue.Full:
                if self._stopping.is_set():
                    return
            else:
                return

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError, AttributeError):
            self._conn._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)


def _check_not_eof(data: bytes) -> None:
    if data[:1] == b"\xfe" and len(data) < 9:
        raise SourceError("the server ended the binlog stream", retryable=True)


def _statement_translator(*args: Any, **kwargs: Any) -> StatementTranslator:
    """The statement translator, imported here: it loads sqlglot (~0.15 s), and a reader of a
    ROW binlog builds one on every start without ever using it."""
    from bridge.translate.statements import StatementTranslator  # noqa: PLC0415

    return StatementTranslator(*args, **kwargs)


def _readable(sock: socket.socket) -> bool:
    import select  # noqa: PLC0415 - only here

    return bool(select.select([sock], [], [], 0)[0])


class MysqlReader:
    """Streams a MySQL/MariaDB binlog as common-log events (see the module docstring)."""

    def __init__(
        self,
        dsn: str,
        *,
        server_id: int,
        tables: Sequence[str] | None = None,
        reconnect_timeout: float = 60.0,
        statement_policy: StatementPolicy | None = None,
    ) -> None:
        self.dsn = dsn
        self.server_id = server_id
        """Our replica id: unique among the server's replicas (a second dump with the same id
        makes the server drop the first)."""
        self.tables = list(tables) if tables is not None else None
        self.reconnect_timeout = reconnect_timeout
        self.statement_policy = statement_policy or StatementPolicy()
        """How statements of a STATEMENT/MIXED binlog are handled (bridge.translate.statements)."""
        self.sql: Any = connect(dsn, autocommit=True)
        try:
            self.source = self._identify()
            with self.sql.cursor() as cur:
                cur.execute(
                    "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS"
                    " WHERE ID IS NOT NULL"
                )
                register_collations({int(i): str(n) for i, n in cur.fetchall()})
        except BaseException:
            self.sql.close()
            raise
        want = mysqlschema.table_matcher(self.tables)
        # bridge.heartbeat is read whatever --tables says: its rows become Heartbeat events.
        self._want_table = lambda schema, table: (
            want(schema, table) or heartbeat.is_table(schema, table)
        )
        self._described: dict[int, tuple[TableMap, tuple[Column, ...], tuple[str, ...]]] = {}
        self._schemas: dict[TableName, TableSchema | None] = {}
        """Table definitions for statements, until the next DDL in the stream."""
        self._stream: _DumpThread | None = None
        self._builder: EventBuilder | None = None
        self._delivered: BinlogPosition | None = None
        self.start: BinlogPosition | None = None
        self.reconnects = 0
        """Streams rebuilt after a transient error, for metrics and tests."""

    @property
    def mariadb(self) -> bool:
        return self.source.engine == "mariadb"

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self.sql.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _identify(self) -> SourceId:
        version, server_id = self._query("SELECT VERSION(), @@server_id")[0]
        if "MariaDB" in str(version):
            return SourceId("mariadb", str(server_id), str(version))
        uuid = self._query("SELECT @@server_uuid")[0][0]
        return SourceId("mysql", str(uuid), str(version))

    def check_source(self) -> None:
        """Refuse a server whose binlog cannot feed this reader; ConfigError names the fix."""
        rows = self._query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format',"
            " 'binlog_row_image', 'binlog_row_metadata')"
        )
        found = {str(k).lower(): str(v).upper() for k, v in rows}
        wanted = {
            "log_bin": ("ON", "the binary log is off", "log_bin = mysql-bin in my.cnf (server"
                        " restart needed)"),
            # STATEMENT and MIXED go through the statement translator; ROW is best.
            "binlog_format": (("ROW", "MIXED", "STATEMENT"), "binlog_format is {}",
                              "SET GLOBAL binlog_format = 'ROW'"),
            "binlog_row_image": ("FULL", "binlog_row_image is {}",
                                 "SET GLOBAL binlog_row_image = 'FULL'"),
            "binlog_row_metadata": ("FULL", "binlog_row_metadata is {}",
                                    "SET GLOBAL binlog_row_metadata = 'FULL'"),
        }  # fmt: skip
        for var, (value, what, fix) in wanted.items():
            have = found.get(var, "missing (server too old)")
            if have not in ((value,) if isinstance(value, str) else value):
                raise ConfigError(
                    f"the source cannot feed the binlog reader: {what.format(have)}"
                    f" (needs {var} = {value if isinstance(value, str) else ' or '.join(value)})",
                    hint=f"{fix}, and set {var} = {value} in my.cnf so it survives a restart",
                )
        self._check_grants()

    def _check_grants(self) -> None:
        grants = " ".join(str(r[0]).upper() for r in self._query("SHOW GRANTS"))
        if "ALL PRIVILEGES ON *.*" in grants:
            return
        monitor = "BINLOG MONITOR" if self.mariadb else "REPLICATION CLIENT"
        missing = [
            p
            for p, names in (
                ("REPLICATION SLAVE", ("REPLICATION SLAVE", "REPLICATION REPLICA")),
                (monitor, ("REPLICATION CLIENT", "BINLOG MONITOR", "SUPER")),
            )
            if not any(n in grants for n in names)
        ]
        if missing:
            user = self._query("SELECT CURRENT_USER()")[0][0]
            raise ConfigError(
                f"the source user {user} lacks {' and '.join(missing)}",
                hint=f"GRANT {', '.join(missing)} ON *.* TO {user}",
            )

    def head(self) -> BinlogPosition:
        """The current end of the binlog, with the GTID state there."""
        rows = self._master_status()
        if not rows:
            raise ConfigError(
                "the source has no binary log", hint="set log_bin = mysql-bin in my.cnf"
            )
        file, offset = str(rows[0][0]), int(rows[0][1])
        return BinlogPosition(file, offset, self._gtid_at(file, offset, rows[0]))

    def _master_status(self) -> list[tuple[Any, ...]]:
        try:
            return self._query("SHOW BINARY LOG STATUS")  # MySQL 8.4 renamed it
        except pymysql.err.ProgrammingError:
            return self._query("SHOW MASTER STATUS")

    def _gtid_at(self, file: str, offset: int, status: tuple[Any, ...] | None) -> GtidState | None:
        if self.mariadb:
            rows = self._query("SELECT BINLOG_GTID_POS(%s, %s)", (file, offset))
            text = rows[0][0] if rows else None
            return MariadbGtidPos.parse(str(text)) if text else None
        executed = status[4] if status is not None and len(status) > 4 else None
        return MysqlGtidSet.parse(str(executed)) if executed else None

    def _check_position(self, start: BinlogPosition) -> None:
        files = {str(r[0]) for r in self._query("SHOW BINARY LOGS")}
        if start.file not in files:
            raise ConfigError(
                f"binlog position {start} is no longer on the source (file {start.file} was"
                " purged)",
                hint="the changes since are lost to the reader: take a new snapshot",
                position=str(start),
            )

    def open(self, start: BinlogPosition) -> None:
        """Stream from `start`: the first event after it (a commit position resumes after that
        commit)."""
        self._check_position(start)
        gtid = (
            start.gtid if start.gtid is not None else self._gtid_at(start.file, start.offset, None)
        )
        checksum = str(self._query("SELECT @@global.binlog_checksum")[0][0]).upper() != "NONE"
        tables = TableCache(want=self._want_table, hints=self._hints)
        system_zone = str(self._query("SELECT @@system_time_zone")[0][0])
        self._builder = EventBuilder(
            self.source,
            file=start.file,
            gtid=gtid,
            tables=tables,
            checksum=checksum,
            describe=self._describe,
            statements=_statement_translator(
                self.table_schema,
                policy=self.statement_policy,
                mariadb=self.mariadb,
                want=self._want_table,
            ),
            system_time_zone=system_zone,
        )
        self._schemas.clear()
        self.start = BinlogPosition(start.file, start.offset, gtid)
        self._delivered = None
        if self._stream is not None:  # opened again (the pipeline replays up to a failure)
            self._stream.stop()
        self._stream = self._dump(start)

    def _dump(self, start: BinlogPosition) -> _DumpThread:
        try:
            return _DumpThread(self.dsn, server_id=self.server_id, start=start)
        except pymysql.err.OperationalError as e:
            raise self._error(e, start) from e

    def _hints(self, tm: TableMap) -> frozenset[int]:
        """JSON columns of a new table map; also describes its relation (information_schema)."""
        with self.sql.cursor() as cur:
            current = mysqlschema.read_columns(cur, tm.schema, tm.name, mariadb=self.mariadb)
        codecs = [None if c is None else _codec(c) for c in tm.collations]
        columns, key, json_cols = mysqlschema.relation_columns(tm, codecs, current)
        self._described[tm.table_id] = (tm, columns, key)
        return json_cols

    def _describe(self, tm: TableMap) -> tuple[tuple[Column, ...], tuple[str, ...]]:
        known = self._described.get(tm.table_id)
        if known is None or known[0] is not tm:
            self._hints(tm)
            known = self._described[tm.table_id]
        return known[1], known[2]

    def table_schema(self, name: TableName) -> TableSchema | None:
        """A table's definition for statements of a statement-based binlog (None when the
        table is gone). It is the definition *now*: a statement read long after a later DDL
        sees the later definition (docs/architecture.md)."""
        if name in self._schemas:
            return self._schemas[name]
        with self.sql.cursor() as cur:
            cur.execute(_STATEMENT_COLUMNS_SQL, (name.schema, name.name))
            rows = cur.fetchall()
            json_cols: set[str] = set()
            if self.mariadb and any(str(r[1]).lower() == "longtext" for r in rows):
                cur.execute(mysqlschema.JSON_CHECKS_SQL, (name.schema, name.name))
                for col, clause in cur.fetchall():
                    if str(clause).replace(" ", "") == f"json_valid(`{col}`)":
                        json_cols.add(str(col))
            cur.execute(_UNIQUE_SQL, (name.schema, name.name))
            keys: dict[str, list[str]] = {}
            for index, col in cur.fetchall():
                keys.setdefault(str(index), []).append(str(col))
        schema = None
        if rows:
            schema = TableSchema(
                name,
                tuple(self._statement_column(r, json_cols) for r in rows),
                tuple(keys.get("PRIMARY", ())),
                tuple(tuple(k) for k in keys.values()),
            )
        self._schemas[name] = schema
        return schema

    def _statement_column(self, row: tuple[Any, ...], json_cols: set[str]) -> TableColumn:
        name, data_type, ctype, nullable, default, extra = (
            None if v is None else str(v) for v in row
        )
        assert name is not None  # noqa: S101 - NOT NULL in the catalog
        assert ctype is not None  # noqa: S101
        extra = (extra or "").lower()
        if "generated" in extra or "persistent" in extra:
            raise SourceError(
                f"column {name!r} is a generated column, which statement-based replication"
                " cannot fill",
                hint="switch the source to binlog_format = ROW",
            )
        is_json = name in json_cols and (data_type or "").lower() == "longtext"
        ctype_n = ColumnType("json", "json") if is_json else mysqlschema.column_type(ctype)
        return TableColumn(
            Column(name, ctype_n, nullable == "YES", default),
            auto_increment="auto_increment" in extra,
            on_update_now="on update" in extra,
            # MySQL 8 shows a literal default as its bare text; MariaDB always as SQL.
            default_is_expression=self.mariadb or "default_generated" in extra,
        )

    def events(
        self, *, idle_timeout: float = 1.0, caught_up: bool = False
    ) -> Iterator[Event | None]:
        """Events as they complete; None after each `idle_timeout` s without any.

        With `caught_up`, also None as soon as nothing more is waiting once the events
        received so far are delivered: how a pipeline learns at once that the source paused (a
        burst ended) and commits its batch then rather than after a timeout, while a reader
        behind the source always finds more waiting and lets its batches grow."""
        if self._builder is None or self._stream is None:
            raise SourceError("MysqlReader.events() before open()")
        freeze_startup_objects()
        builder = self._builder
        while True:
            item = self._next(idle_timeout)
            if item is None:
                yield None
                continue
            mark = self._delivered
            for raw in item:
                out = builder.feed(raw)
                if out and self._schemas and any(type(e) is Ddl for e in out):
                    self._schemas.clear()  # statements after a DDL see the new definitions
                next_pos = int.from_bytes(raw[13:17], "little")
                if next_pos == 0:
                    if out:
                        yield from out
                    continue
                here = BinlogPosition(builder.file, next_pos)
                if mark is not None and here <= mark:
                    continue  # delivered before the stream was rebuilt
                if out:
                    yield from out
                self._delivered = here
            stream = self._stream
            if caught_up and stream is not None and stream.queue.empty():
                yield None  # caught up with the source, for now

    def _next(self, idle_timeout: float) -> list[bytes] | None:
        """The next batch of event bytes, rebuilding the stream after a transient error."""
        assert self._stream is not None  # noqa: S101 - events() checked
        try:
            item = self._stream.queue.get(timeout=idle_timeout)
        except queue.Empty:
            return None
        if isinstance(item, list):
            return item
        if isinstance(item, _Closed):
            raise SourceError("the binlog stream was closed")
        resume = self._resume_position()
        error = self._error(item, resume)
        if not error.retryable:
            raise error from item
        self._reconnect(resume, error)
        return []

    def _resume_position(self) -> BinlogPosition:
        """Where a rebuilt stream starts: the open transaction's start (its table maps come
        again), else just past the last event handled, else the start."""
        b = self._builder
        assert b is not None  # noqa: S101 - open() made it
        assert self.start is not None  # noqa: S101
        if b.in_transaction and b.begin_position is not None:
            return b.begin_position
        return self._delivered or self.start

    def _reconnect(self, resume: BinlogPosition, error: BaseException) -> None:
        assert self._builder is not None  # noqa: S101 - open() made it
        assert self._stream is not None  # noqa: S101
        self._stream.stop()
        deadline = time.monotonic() + self.reconnect_timeout
        delay = 0.2
        while True:
            try:
                self._check_position(resume)
                # The open transaction is read again from its start; what it delivered is
                # dropped by the position mark in events().
                self._builder.in_transaction = False
                self._builder.file = resume.file
                self._stream = self._dump(resume)
            except (SourceError, pymysql.err.OperationalError) as e:
                retry = e.retryable if isinstance(e, SourceError) else True
                if not retry or time.monotonic() + delay > deadline:
                    raise SourceError(
                        f"the binlog stream failed and could not be rebuilt: {error}",
                        position=str(resume),
                        retryable=True,
                    ) from e
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                with contextlib.suppress(pymysql.err.Error):
                    self.sql.ping(reconnect=True)
            else:
                self.reconnects += 1
                return

    def _error(self, e: BaseException, where: BinlogPosition) -> BridgeError:
        """Our error for an exception of the dump connection."""
        if isinstance(e, (DecodeError, ConfigError, SourceError)):
            return e
        if isinstance(e, pymysql.err.MySQLError) and e.args:
            errno = e.args[0] if isinstance(e.args[0], int) else None
            message = str(e.args[1]) if len(e.args) > 1 else str(e)
            if errno == _ER_MASTER_FATAL_READING_BINLOG:
                if "could not find first log file" in message.lower():
                    return ConfigError(
                        f"binlog position {where} is no longer on the source: {message}",
                        hint="the changes since are lost to the reader: take a new snapshot",
                        position=str(where),
                        errno=errno,
                    )
                return SourceError(
                    f"the source cannot send its binlog from {where}: {message}",
                    position=str(where),
                    errno=errno,
                )
            retry = errno is None or is_transient(e)
            return SourceError(f"the binlog stream failed: {message}", errno=errno, retryable=retry)
        if isinstance(e, OSError | EOFError):
            return SourceError(f"the binlog stream failed: {e}", retryable=True)
        return SourceError(f"the binlog stream failed: {e!r}", retryable=False)

    def confirm(self, position: BinlogPosition) -> None:
        """Nothing to acknowledge: a binlog keeps its files by age (expire_logs_days), not by
        replica progress. Here for symmetry with the PostgreSQL reader."""
        del position

    def close(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        with contextlib.suppress(pymysql.err.Error):
            self.sql.close()
