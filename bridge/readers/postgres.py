"""PostgreSQL reader: logical replication (pgoutput) over psycopg's libpq wrapper, to log events.

psycopg 3 has no replication API (psycopg/psycopg#71), but the protocol works through `conn.pgconn`:
START_REPLICATION turns the connection into COPY BOTH mode; the server sends XLogData ('w') and
keepalives ('k'); we answer with standby status updates ('r'). The flush position we report is
only ever what the caller confirmed (`confirm`), i.e. what is durable on the target, so the slot
keeps every change not yet applied.

`ReplicationConnection` is the protocol; `EventBuilder` turns decoded pgoutput messages into
common-log events (typed values, relations, transaction bounds, streamed transactions reassembled
in commit order and spilled to disk past a limit by `bridge.readers.spill`, inserts into the DDL
capture table `bridge.ddl_log` as Ddl events, rows of `bridge.heartbeat` as Heartbeat events);
`PostgresReader` wires them with the catalog and the slot and publication checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import select
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import pq, sql

from bridge import heartbeat
from bridge.errors import ConfigError, SourceError
from bridge.log.events import (
    Begin,
    Commit,
    Ddl,
    Delete,
    Event,
    Insert,
    Relation,
    SourceId,
    TableName,
    Truncate,
    Update,
)
from bridge.log.values import ABSENT, UNCHANGED, Value
from bridge.positions import Lsn
from bridge.readers import pgoutput as po
from bridge.readers.pgcatalog import Catalog
from bridge.readers.pgcatchup import CATCH_UP_BYTES, CatchUp, catch_up_events, open_catch_up
from bridge.readers.pgoutput_fast import ROW_TAGS, ChangeDecoder, compile_change
from bridge.readers.pgpublication import DDL_LOG, ensure_publication
from bridge.readers.pgtypes import TextDecoder
from bridge.readers.spill import DEFAULT_MEMORY_EVENTS, SpillBuffer

# Session settings for the walsender, whose output functions format the text values we parse
# (bridge.readers.pgtypes), as the native apply worker sets them.
SESSION_OPTIONS = (
    "-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3"
    " -c bytea_output=hex"
)
_XLOG_HEADER = struct.Struct("!cQQq")
XLOG_BODY = _XLOG_HEADER.size
"""Where an XLogData message's payload (one pgoutput message) starts."""
_U64 = struct.Struct("!Q")
_KEEPALIVE = struct.Struct("!cQqB")
_STATUS = struct.Struct("!cQQQqB")


def _now_pg() -> int:
    return int((dt.datetime.now(dt.UTC) - po.PG_EPOCH) / dt.timedelta(microseconds=1))


# PostgreSQL < 16 / >= 16 wording for a user without the REPLICATION attribute.
_NO_REPLICATION = ("must be superuser or replication role", "permission denied to start WAL sender")
_AUTH_FAILURES = ("password authentication failed", "no pg_hba.conf entry", 'role "')


def connect_source(dsn: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(dsn, autocommit=True, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as e:
        reason = " ".join(str(e).split())  # libpq's message spans lines
        # A bad password or a missing pg_hba entry is not transient. psycopg gives no SQLSTATE
        # for a failed connection, so libpq's wording is the fallback.
        if e.sqlstate in ("28P01", "28000") or any(m in reason for m in _AUTH_FAILURES):
            raise ConfigError(
                f"the source refused the login: {reason}",
                hint="check the user and password in the DSN and the server's pg_hba.conf",
                sqlstate=e.sqlstate,
            ) from e
        if any(m in reason for m in _NO_REPLICATION):
            raise ConfigError(
                f"the source user may not stream changes: {reason}",
                hint="give the source user the REPLICATION attribute (ALTER ROLE name"
                " REPLICATION), see sql/postgres/grants.sql",
                sqlstate="42501",
            ) from e
        raise SourceError(f"cannot connect to the source: {reason}", retryable=True) from e


class ReplicationConnection:
    """One walsender connection in logical replication mode."""

    def __init__(self, dsn: str, *, options: str = SESSION_OPTIONS) -> None:
        self.conn = connect_source(dsn, replication="database", options=options)
        self.received = 0
        """Highest WAL position received."""
        self.flushed = 0
        """Highest position confirmed durable on the target: the slot may free WAL before it."""
        self.streaming = False
        """In COPY BOTH mode (after `start`): feedback can be sent."""

    def identify_system(self) -> tuple[str, int, Lsn]:
        row = self.conn.execute("IDENTIFY_SYSTEM").fetchone()
        if row is None:
            raise SourceError("IDENTIFY_SYSTEM returned nothing")
        return str(row[0]), int(str(row[1])), Lsn.parse(str(row[2]))

    def create_slot(self, name: str, *, temporary: bool = False) -> tuple[Lsn, str | None]:
        """Create a pgoutput slot with an exported snapshot; returns (consistent point, snapshot).

        The parenthesized `(SNAPSHOT 'export')` form is a syntax error before PostgreSQL 15; the
        legacy `EXPORT_SNAPSHOT` keyword works on every supported version.
        """
        query = sql.SQL("CREATE_REPLICATION_SLOT {} {} LOGICAL pgoutput EXPORT_SNAPSHOT").format(
            sql.Identifier(name), sql.SQL("TEMPORARY" if temporary else "")
        )
        row = self.conn.execute(query).fetchone()
        if row is None:
            raise SourceError(f"creating slot {name!r} returned nothing")
        return Lsn.parse(str(row[1])), None if row[2] is None else str(row[2])

    def start(
        self,
        slot: str,
        start: Lsn,
        *,
        publication: str,
        proto_version: int,
        flushed: Lsn | None = None,
    ) -> None:
        """Stream from `start`; `flushed` (default `start`) is what the target holds."""
        options = [
            ("proto_version", str(proto_version)),
            ("publication_names", sql.Identifier(publication).as_string(self.conn)),
        ]
        if proto_version >= 2:
            options.append(("streaming", "on"))
        opts = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in options
        )
        query = sql.SQL("START_REPLICATION SLOT {} LOGICAL {} ({})").format(
            sql.Identifier(slot), sql.SQL(str(start)), opts
        )
        pgconn = self.conn.pgconn
        pgconn.send_query(query.as_bytes(self.conn))
        result = pgconn.get_result()
        if result is None or result.status != pq.ExecStatus.COPY_BOTH:
            message = pgconn.get_error_message().strip()
            sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE) if result else None
            raise SourceError(
                f"cannot start replication from slot {slot!r}: {message}",
                sqlstate=sqlstate.decode() if sqlstate else None,
            )
        self.received = max(self.received, start.value)
        self.flushed = start.value if flushed is None else flushed.value
        self.streaming = True

    def read_raw(self, timeout: float) -> bytes | None:
        """The next XLogData message whole (its pgoutput message starts at byte `XLOG_BODY`),
        answering keepalives; None when nothing came within `timeout` s."""
        pgconn = self.conn.pgconn
        get = pgconn.get_copy_data
        deadline = 0.0
        while True:
            nbytes, data = get(1)
            if nbytes > 0:
                buf = bytes(data)
                if buf[0] == 0x77:  # 'w' XLogData
                    (end,) = _U64.unpack_from(buf, 9)
                    self.received = max(self.received, end)
                    return buf
                if buf[0] == 0x6B:  # 'k' keepalive
                    _, end, _, reply = _KEEPALIVE.unpack_from(buf)
                    self.received = max(self.received, end)
                    if reply:
                        self.send_status()
                continue
            if nbytes < 0:
                message = pgconn.get_error_message().strip()
                raise SourceError(f"the replication stream ended: {message}", retryable=True)
            if not deadline:
                deadline = time.monotonic() + timeout
            # Even with no time left, take in what already sits in the socket: a caller
            # polling with timeout 0 must still see data that has arrived.
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([pgconn.socket], [], [], left)
            if not ready:
                return None
            pgconn.consume_input()

    def send_status(self) -> None:
        flushed = self.flushed
        msg = _STATUS.pack(b"r", self.received, flushed, flushed, _now_pg(), 0)
        pgconn = self.conn.pgconn
        if pgconn.put_copy_data(msg) != 1 or pgconn.flush() != 0:
            raise SourceError("cannot send feedback to the source", retryable=True)

    def confirm(self, lsn: Lsn) -> None:
        """Report `lsn` as durable on the target; the server may then recycle WAL before it."""
        if lsn.value > self.flushed:
            self.flushed = lsn.value
            if self.streaming:
                self.send_status()

    def close(self) -> None:
        self.conn.close()


@dataclass(slots=True)
class _RelationState:
    event: Relation
    names: tuple[str, ...]
    decoders: tuple[TextDecoder, ...]
    key_mask: tuple[bool, ...]
    ddl_log: bool = False
    """The DDL capture table (bridge.ddl_log): its inserts become Ddl events, nothing else."""
    heartbeat: bool = False
    """The heartbeat table (bridge.heartbeat): its rows become Heartbeat events, nothing else."""


@dataclass(slots=True)
class _Streamed:
    """A streamed (in-progress) transaction being reassembled: events by subtransaction xid."""

    first_lsn: int
    """Where the first segment started: the reassembled Begin's position."""
    buffer: SpillBuffer
    """Its events so far, spilled to a temporary file past the builder's memory limit."""


def _key_only(rel: _RelationState, values: tuple[Value, ...]) -> tuple[Value, ...]:
    """A 'K' old image: only the key was sent (the other columns arrive as 'n'): ABSENT."""
    return tuple(v if k else ABSENT for v, k in zip(values, rel.key_mask, strict=True))


class EventBuilder:
    """Turns decoded pgoutput messages into common-log events, in commit order."""

    def __init__(
        self, source: SourceId, catalog: Catalog, *, spill_events: int = DEFAULT_MEMORY_EVENTS
    ) -> None:
        self.source = source
        self.catalog = catalog
        self.spill_events = spill_events
        """Events of one streamed transaction kept in memory; more go to a temporary file."""
        self._relations: dict[int, _RelationState] = {}
        self.row_decoders: dict[int, ChangeDecoder] = {}
        """Each relation's compiled decoder of Insert, Update and Delete messages (pgoutput_fast),
        but for DDL and heartbeat rows; the readers' hot loops call them, and take the general
        path (`feed`) when they raise."""
        self.held_begin: Begin | None = None
        """A Begin held until we know whether an Origin follows (the next message)."""
        self._origin: str | None = None
        self._xid: int | None = None
        self._streams: dict[int, _Streamed] = {}
        self._stream_xid: int | None = None
        self.streamed_transactions = 0
        """Transactions the server streamed while in progress (protocol 2), for metrics."""
        self.spilled_transactions = 0
        """Streamed transactions that outgrew `spill_events` and went partly to disk."""
        self.spilled_events = 0
        """Events written to spill files, those of aborted (sub)transactions included."""

    def feed(self, msg: po.PgMessage, lsn: int) -> Iterable[Event]:
        """Events completed by `msg` (received at WAL position `lsn`).

        Iterate over the result before feeding the next message. A Stream Commit returns a lazy
        iterator over the whole reassembled transaction, read back from its spill file chunk by
        chunk, so memory stays bounded however large the transaction.
        """
        if isinstance(msg, po.Begin):
            self._origin = None
            self._xid = msg.xid
            self.held_begin = Begin(
                self.source, Lsn(lsn), str(msg.xid), msg.commit_time, Lsn(msg.final_lsn)
            )
            return ()
        if isinstance(msg, po.Origin):
            # Origin follows Begin: the held Begin takes its name (loop prevention).
            self._origin = msg.name
            if self.held_begin is not None:
                self.held_begin = dataclasses.replace(self.held_begin, origin=msg.name)
            return ()
        begin, self.held_begin = self.held_begin, None
        if isinstance(msg, po.Commit):
            commit = self._commit(
                msg.commit_lsn, msg.end_lsn, msg.commit_time, self._xid, self._origin
            )
            self._origin = self._xid = None
            return (commit,) if begin is None else (begin, commit)
        body = self._body(msg, lsn)
        return body if begin is None else itertools.chain((begin,), body)

    def _commit(
        self, commit_lsn: int, end_lsn: int, when: dt.datetime, xid: int | None, origin: str | None
    ) -> Commit:
        return Commit(
            self.source,
            Lsn(commit_lsn),
            None if xid is None else str(xid),
            when,
            Lsn(end_lsn),
            origin,
        )

    def _body(self, msg: po.PgMessage, lsn: int) -> Iterable[Event]:
        if isinstance(msg, po.StreamStart):
            self._stream_xid = msg.xid
            if msg.xid not in self._streams:
                buffer = SpillBuffer(msg.xid, memory_events=self.spill_events)
                self._streams[msg.xid] = _Streamed(lsn, buffer)
            return ()
        if isinstance(msg, po.StreamStop):
            self._stream_xid = None
            return ()
        if isinstance(msg, po.StreamAbort):
            stream = self._streams.get(msg.xid)
            if stream is not None:
                if msg.subxid == msg.xid:
                    self.spilled_events += stream.buffer.spilled_events
                    del self._streams[msg.xid]
                stream.buffer.abort(msg.subxid)  # the top xid: the whole transaction
            return ()
        if isinstance(msg, po.StreamCommit):
            stream = self._streams.pop(msg.xid, None)
            if stream is None:
                stream = _Streamed(lsn, SpillBuffer(msg.xid, memory_events=self.spill_events))
            self.streamed_transactions += 1
            self.spilled_transactions += stream.buffer.spilled
            self.spilled_events += stream.buffer.spilled_events
            begin = Begin(
                self.source,
                Lsn(stream.first_lsn),
                str(msg.xid),
                msg.commit_time,
                Lsn(msg.commit_lsn),
            )
            commit = self._commit(msg.commit_lsn, msg.end_lsn, msg.commit_time, msg.xid, None)
            return itertools.chain((begin,), stream.buffer.replay(), (commit,))
        events = self._change(msg, lsn)
        if self._stream_xid is None:
            return events
        # Inside a stream segment each change carries the xid of the (sub)transaction that made
        # it, Relation messages included: a subtransaction's Stream Abort drops its Relations too
        # (they may describe a shape it rolled back), and pgoutput sends every relation's
        # Relation again before its next change after any Stream Abort
        # (cleanup_rel_sync_cache in pgoutput_stream_abort).
        subxid = getattr(msg, "xid", None) or self._stream_xid
        self._streams[self._stream_xid].buffer.extend(subxid, events)
        return ()

    def _change(self, msg: po.PgMessage, lsn: int) -> list[Event]:  # noqa: PLR0911, PLR0912 - per kind
        if isinstance(msg, po.Relation):
            rel = self._relation(msg, lsn)
            # With publish_via_partition_root, pgoutput sends a partition's own Relation too,
            # after its partitioned table's, though the changes come under the latter's name.
            if rel.ddl_log or rel.heartbeat or self.catalog.is_partition(msg.oid):
                return []
            return [rel.event]
        if isinstance(msg, po.Type):
            self.catalog.type_info(msg.oid)
            return []
        if isinstance(msg, po.Insert):
            rel = self._rel(msg.relation_oid, lsn)
            ev = rel.event
            after = self._values(rel, msg.new, UNCHANGED)
            if rel.ddl_log:
                return [self._ddl(rel, after, lsn)]
            if rel.heartbeat:
                return self._heartbeat(rel, after, lsn)
            return [Insert(self.source, Lsn(lsn), ev.relation, rel.names, after, ev.key)]
        if isinstance(msg, po.Update):
            rel = self._rel(msg.relation_oid, lsn)
            if rel.ddl_log:
                return []
            if rel.heartbeat:
                return self._heartbeat(rel, self._values(rel, msg.new, UNCHANGED), lsn)
            ev = rel.event
            before = None if msg.old is None else self._before(rel, msg.old_kind, msg.old)
            after = self._values(rel, msg.new, UNCHANGED)
            return [Update(self.source, Lsn(lsn), ev.relation, rel.names, before, after, ev.key)]
        if isinstance(msg, po.Delete):
            rel = self._rel(msg.relation_oid, lsn)
            if rel.ddl_log or rel.heartbeat:
                return []
            ev = rel.event
            before = self._before(rel, msg.old_kind, msg.old)
            return [Delete(self.source, Lsn(lsn), ev.relation, rel.names, before, ev.key)]
        if isinstance(msg, po.Truncate):
            rels = [self._rel(oid, lsn) for oid in msg.relation_oids]
            tables = tuple(r.event.relation for r in rels if not (r.ddl_log or r.heartbeat))
            if not tables:
                return []
            return [Truncate(self.source, Lsn(lsn), tables, msg.cascade, msg.restart_identity)]
        if isinstance(msg, po.Message):
            return []  # only sent when asked for ("messages" option), which the reader does not
        raise SourceError(
            f"unexpected pgoutput message {type(msg).__name__}", position=str(Lsn(lsn))
        )

    def _ddl(self, rel: _RelationState, row: tuple[Value, ...], lsn: int) -> Ddl:
        """The Ddl event for a row of bridge.ddl_log (sql/postgres/ddl_capture.sql)."""
        values = dict(zip(rel.names, row, strict=True))
        query, search_path = values.get("query"), values.get("search_path")
        if not isinstance(query, str):
            raise SourceError(
                f"{DDL_LOG} row without its query text: publish every column of it",
                position=str(Lsn(lsn)),
            )
        schema = first_schema(search_path if isinstance(search_path, str) else None)
        return Ddl(self.source, Lsn(lsn), query, "postgres", schema)

    def _heartbeat(self, rel: _RelationState, row: tuple[Value, ...], lsn: int) -> list[Event]:
        """A row of bridge.heartbeat as a Heartbeat event (bridge.heartbeat)."""
        beat = heartbeat.heartbeat_event(self.source, Lsn(lsn), rel.names, row)
        return [] if beat is None else [beat]

    def _relation(self, msg: po.Relation, lsn: int) -> _RelationState:
        names = [c.name for c in msg.columns]
        decls = self.catalog.columns(msg.oid, names)
        columns = []
        for c in msg.columns:
            # The catalog is read now, not at the message's WAL position: a column dropped since
            # is gone from it. The message's own type OID and modifier still name its type.
            decl = decls.get(c.name) or (
                self.catalog.format_type(c.type_oid, c.type_modifier),
                True,
                None,
            )
            columns.append(self.catalog.column(c.name, c.type_oid, c.type_modifier, decl))
        schema = msg.namespace or "pg_catalog"
        key = tuple(c.name for c in msg.columns if c.is_key)
        event = Relation(self.source, Lsn(lsn), TableName(schema, msg.name), tuple(columns), key)
        decoders = tuple(self.catalog.types.decoder(c.type_oid) for c in msg.columns)
        mask = tuple(c.is_key for c in msg.columns)
        ddl_log = (schema, msg.name) == (DDL_LOG.schema, DDL_LOG.name)
        beats = heartbeat.is_table(schema, msg.name)
        state = _RelationState(event, tuple(names), decoders, mask, ddl_log, beats)
        self._relations[msg.oid] = state
        if ddl_log or beats:  # their rows become other events: the general path
            self.row_decoders.pop(msg.oid, None)
        else:
            self.row_decoders[msg.oid] = compile_change(
                self.source, event.relation, state.names, key, decoders, mask
            )
        return state

    def _rel(self, oid: int, lsn: int) -> _RelationState:
        try:
            return self._relations[oid]
        except KeyError:
            raise SourceError(
                f"change for relation oid {oid} before its Relation message", position=str(Lsn(lsn))
            ) from None

    def _values(
        self, rel: _RelationState, raw: tuple[po.RawValue, ...], unchanged: Value
    ) -> tuple[Value, ...]:
        out: list[Value] = []
        for decode, value in zip(rel.decoders, raw, strict=True):
            if value is None:
                out.append(None)
            elif value is po.UNCHANGED_TOAST:
                out.append(unchanged)
            else:
                out.append(decode(value))  # type: ignore[arg-type]
        return tuple(out)

    def _before(
        self, rel: _RelationState, kind: str | None, raw: tuple[po.RawValue, ...]
    ) -> tuple[Value, ...]:
        values = self._values(rel, raw, ABSENT)
        return _key_only(rel, values) if kind == "K" else values


def check_source(conn: psycopg.Connection[tuple[object, ...]]) -> tuple[str, int]:
    """Refuse a source that cannot do logical replication; returns (version, version number)."""
    row = conn.execute(
        "SELECT current_setting('wal_level'), current_setting('server_version'),"
        " current_setting('server_version_num')::int"
    ).fetchone()
    if row is None:
        raise SourceError("the source did not answer the settings query")
    wal_level, version, num = str(row[0]), str(row[1]).split()[0], int(str(row[2]))
    if wal_level != "logical":
        raise ConfigError(
            f"the source has wal_level = {wal_level}, logical replication needs 'logical'",
            hint="set wal_level = logical in postgresql.conf (ALTER SYSTEM SET wal_level = "
            "logical) and restart the server",
        )
    return version, num


def ddl_capture_sql() -> str:
    """The SQL that installs DDL capture on a source (sql/postgres/ddl_capture.sql).

    Run it as a superuser in each source database; it is idempotent.
    """
    return (resources.files("bridge") / "sql" / "postgres_ddl_capture.sql").read_text("utf-8")


def first_schema(search_path: str | None) -> str:
    """The schema a recorded search_path creates objects in: its first entry but "$user".

    Entries are identifiers: quoted ones are taken literally, unquoted ones folded to lower case,
    as PostgreSQL reads them. Whether a schema exists is not known here; "public" when none is
    named.
    """
    for entry in _split_identifiers(search_path or ""):
        if entry != "$user":
            return entry
    return "public"


def _split_identifiers(text: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t\n,":
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            j, name = i + 1, []
            while j < n:
                if text[j] == '"':
                    if text[j + 1 : j + 2] == '"':
                        name.append('"')
                        j += 2
                        continue
                    break
                name.append(text[j])
                j += 1
            out.append("".join(name))
            i = j + 1
        else:
            j = i
            while j < n and text[j] != ",":
                j += 1
            out.append(text[i:j].strip().lower())
            i = j
    return out


class PostgresReader:
    """Streams a PostgreSQL source as common-log events from a logical slot."""

    def __init__(
        self,
        dsn: str,
        *,
        slot: str,
        publication: str,
        tables: Sequence[TableName] | None = None,
        temporary_slot: bool = False,
        session_options: str = SESSION_OPTIONS,
        slot_wait: float = 10.0,
        catch_up_bytes: int | None = CATCH_UP_BYTES,
    ) -> None:
        self.dsn = dsn
        self.slot_wait = slot_wait
        self.slot = slot
        self.publication = publication
        self.tables = tables
        self.temporary_slot = temporary_slot
        self.session_options = session_options
        self.sql = connect_source(dsn, options=session_options)
        try:
            self.version, self.version_num = check_source(self.sql)
            self.repl = ReplicationConnection(dsn, options=session_options)
        except BaseException:
            self.sql.close()  # a refused source leaves no connection behind
            raise
        system_id, _, _ = self.repl.identify_system()
        self.source = SourceId("postgres", system_id, self.version)
        self.catalog = Catalog(self.sql)
        self.builder = EventBuilder(self.source, self.catalog)
        # pgoutput protocol 2 streams large in-progress transactions (PostgreSQL >= 14).
        self.proto_version = 2 if self.version_num >= 140000 else 1
        self.decoder = po.PgOutputDecoder(self.proto_version)
        self.start_lsn: Lsn | None = None
        self.last_lsn = 0
        self.catch_up_bytes: int | None = catch_up_bytes
        """Read a backlog this large (WAL bytes) through SQL decoding first (`pgcatchup`);
        None: always the walsender."""
        self._catch_up: CatchUp | None = None

    def open(
        self,
        start: Lsn | None = None,
        *,
        on_snapshot: Callable[[str, Lsn], None] | None = None,
    ) -> Lsn:
        """Check or create the publication and slot, and start streaming; returns the start LSN.

        When the slot is created here and `on_snapshot` is given, it is called with the exported
        snapshot's name and the slot's consistent point before streaming starts: a copy made in
        that snapshot plus the stream from that point has no gap and no duplicate. The snapshot
        lives only until streaming starts, so the copy must have imported it by then.
        """
        try:
            ensure_publication(self.sql, self.publication, self.tables)
        except psycopg.errors.InsufficientPrivilege as e:
            scope = "FOR ALL TABLES" if not self.tables else "FOR TABLE …"
            raise ConfigError(
                f"the source user cannot create publication {self.publication!r}:"
                f" {e.diag.message_primary}",
                hint=f"have a superuser run CREATE PUBLICATION {self.publication} {scope} on the"
                " source, or name tables the user owns with --tables (sql/postgres/grants.sql)",
                sqlstate=e.sqlstate,
            ) from e
        row = self._slot_state()
        if row is None:
            consistent, snapshot = self.repl.create_slot(self.slot, temporary=self.temporary_slot)
            if on_snapshot is not None:
                if snapshot is None:
                    raise SourceError(f"slot {self.slot!r} was created without a snapshot")
                on_snapshot(snapshot, consistent)
            begin = start or consistent
        else:
            if row[1] is not None:
                raise ConfigError(
                    f"replication slot {self.slot!r} is in use by server process {row[1]}",
                    hint="stop the other consumer of this slot, or use another pipeline name",
                    sqlstate="55006",
                    retryable=False,
                )
            begin = start or Lsn.parse(str(row[0]))
            if self.catch_up_bytes is not None:
                self._catch_up = open_catch_up(self, begin, self.catch_up_bytes)
        if self._catch_up is None:
            self.repl.start(
                self.slot, begin, publication=self.publication, proto_version=self.proto_version
            )
        self.start_lsn = begin
        self.last_lsn = begin.value
        return begin

    @property
    def catching_up(self) -> CatchUp | None:
        """The SQL-decoding catch-up `open` chose, until the backlog is read."""
        return self._catch_up

    def slot_exists(self) -> bool:
        row = self.sql.execute(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)
        ).fetchone()
        return row is not None

    def drop_slot(self) -> None:
        """Drop our slot if it exists (waiting, like `open`, for a dying walsender to let go)."""
        row = self._slot_state()
        if row is not None:
            self.sql.execute("SELECT pg_drop_replication_slot(%s)", (self.slot,))

    def _slot_state(self) -> tuple[object, ...] | None:
        """(confirmed_flush_lsn, active_pid) of our slot, None when it does not exist.

        Right after its consumer goes away (a restart, a kill -9) the old walsender may hold the
        slot for a moment; wait up to `slot_wait` seconds for it before calling the slot busy.
        """
        deadline = time.monotonic() + self.slot_wait
        while True:
            row = self.sql.execute(
                "SELECT confirmed_flush_lsn::text, active_pid FROM pg_replication_slots"
                " WHERE slot_name = %s",
                (self.slot,),
            ).fetchone()
            if row is None or row[1] is None or time.monotonic() > deadline:
                return row
            time.sleep(0.2)

    def events(self, *, idle_timeout: float = 1.0) -> Iterator[Event | None]:
        """Events as they complete; yields None after `idle_timeout` s without any."""
        cu = self._catch_up
        if cu is not None:
            try:
                end = yield from catch_up_events(self, cu, idle_timeout)
            finally:
                self._catch_up = None
                cu.close()
            # The backlog is read: stream from right after its last transaction.
            self.repl.start(
                self.slot,
                Lsn(end),
                publication=self.publication,
                proto_version=self.proto_version,
                flushed=Lsn(self.repl.flushed),
            )
        read = self.repl.read_raw
        builder = self.builder
        decoders = builder.row_decoders
        decoder = self.decoder
        while True:
            buf = read(idle_timeout)
            if buf is None:
                yield None
                continue
            # Messages that are not changes (Relation, Type, Commit…) may come with WAL start 0;
            # they take the position of what came before, which keeps positions ordered.
            lsn = int.from_bytes(buf[1:9], "big") or self.last_lsn
            self.last_lsn = lsn
            if buf[XLOG_BODY] in ROW_TAGS and not decoder.in_stream:
                # The relation's compiled decoder (pgoutput_fast): this runs once per row change.
                change = decoders.get(int.from_bytes(buf[XLOG_BODY + 1 : XLOG_BODY + 5], "big"))
                if change is not None:
                    try:
                        ev = change(buf, XLOG_BODY, len(buf), lsn)
                    except (IndexError, ValueError, UnicodeDecodeError):
                        pass  # the general path below says what is wrong
                    else:
                        if builder.held_begin is not None:
                            yield builder.held_begin
                            builder.held_begin = None
                        yield ev
                        continue
            msg = decoder.decode(buf[XLOG_BODY:], lsn=lsn)
            yield from self.builder.feed(msg, lsn)

    def confirm(self, lsn: Lsn) -> None:
        self.repl.confirm(lsn)
        if self._catch_up is not None:
            self._catch_up.confirm(lsn)

    def close(self) -> None:
        if self._catch_up is not None:
            self._catch_up.close()
            self._catch_up = None
        self.repl.close()
        self.sql.close()
