"""Binlog events -> common-log events: transaction bounds, positions, GTID state, relations.

Pure (no I/O): `EventBuilder.feed` takes the bytes of one binlog event and returns the log
events it completes; the reader (`bridge.readers.mysql`) feeds it from the server, the unit tests
from captured bytes. Schema lookups come through the `describe` hook.

Transactions, as the servers write them:
- MariaDB: GTID event (opens the transaction; no BEGIN query), TABLE_MAP + rows …, XID
  (transactional engines) or Query 'COMMIT' (non-transactional ones). DDL: a GTID event flagged
  standalone, then the Query.
- MySQL: GTID/anonymous GTID event, Query 'BEGIN', rows …, XID or Query 'COMMIT'; DDL: GTID
  then the Query alone.
A DDL statement outside a transaction becomes Begin, Ddl, Commit (TRUNCATE included: MySQL logs
it as a statement); a DDL inside one (MariaDB's CREATE TABLE … SELECT) stays in it. A Query
'ROLLBACK' ends a transaction like COMMIT: the server only logs one when non-transactional
changes were made, and those stay.

Statement-based (STATEMENT or MIXED) binlogs: a DML Query goes to the statement translator
(`bridge.translate.statements`) with its context (`bridge.readers.binlogcontext`): INSERT …
VALUES becomes Relation + Insert events, a statement whose rows depend on the target's state a
`Statement` event; one that cannot be reproduced raises `UnsafeStatementError` carrying where its
transaction starts. MIXED binlogs' row events keep the row path.

Positions: row events carry their own (file, offset); `Commit.commit_position` is (file, offset
just past the commit event) plus the GTID state reached, the checkpoint to resume from.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge import heartbeat
from bridge.errors import DecodeError
from bridge.log.events import (
    Begin,
    Column,
    Commit,
    Ddl,
    Delete,
    Event,
    Heartbeat,
    Insert,
    Relation,
    SourceId,
    Statement,
    StatementContext,
    TableName,
    Update,
)
from bridge.positions import BinlogPosition, GtidState, MariadbGtid, MariadbGtidPos, MysqlGtidSet
from bridge.readers import binlog as bl
from bridge.readers.binlog_rowevents import fast_constructor
from bridge.readers.binlogcontext import statement_context
from bridge.readers.binlogrows import RowsEvent, TableCache, TableMap
from bridge.readers.mysqlschema import map_column_type
from bridge.translate.statement_types import Prepared, StatementError

if TYPE_CHECKING:
    from bridge.translate.statements import StatementTranslator

Describe = Callable[[TableMap], tuple[tuple[Column, ...], tuple[str, ...]]]
"""A table map's relation columns and key (the reader asks information_schema)."""

_COMMENT_RE = re.compile(r"^(?:\s+|/\*(?!!).*?\*/|#[^\n]*\n|--\s[^\n]*\n)*", re.DOTALL)
_DML = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD", "CALL", "DO", "SELECT", "SET"})
_ZERO_SID = bytes(16)
# Row events as `Insert(...)` etc. make them, at a sixth of the cost (binlog_rowevents).
_INSERT = fast_constructor(Insert)
_UPDATE = fast_constructor(Update)
_DELETE = fast_constructor(Delete)


def classify(text: str) -> str:
    """What a Query event's statement is: begin, commit, rollback, savepoint, xa, dml or ddl."""
    body = text[_COMMENT_RE.match(text).end() :]  # type: ignore[union-attr] # always matches
    words = body.split(None, 2)
    first = words[0].upper() if words else ""
    if first in ("BEGIN", "COMMIT", "XA"):
        return first.lower()
    if first == "START" and len(words) > 1 and words[1].upper() == "TRANSACTION":
        return "begin"
    if first == "ROLLBACK":
        return "savepoint" if len(words) > 1 and words[1].upper() == "TO" else "rollback"
    if first in ("SAVEPOINT", "RELEASE"):
        return "savepoint"
    if first in _DML or first.startswith("("):
        return "dml"
    return "ddl"


def _default_describe(tm: TableMap) -> tuple[tuple[Column, ...], tuple[str, ...]]:
    names = tm.names or tuple(f"col{i + 1}" for i in range(len(tm.types)))
    cols = tuple(
        Column(names[i], map_column_type(tm, i, _codec_or_none(tm, i)), tm.nullable[i])
        for i in range(len(tm.types))
    )
    return cols, tuple(names[i] for i in (tm.key or ()))


def _codec_or_none(tm: TableMap, i: int) -> str | None:
    from bridge.readers.binlogrows import _codec  # noqa: PLC0415 - shared helper

    c = tm.collations[i]
    return None if c is None else _codec(c)


@dataclass(slots=True)
class _RelState:
    table: TableMap
    name: TableName
    columns: tuple[str, ...]
    key: tuple[str, ...]
    relation: tuple[tuple[Column, ...], tuple[str, ...]]
    heartbeat: bool = False
    """The heartbeat table (bridge.heartbeat): its rows become Heartbeat events, nothing else."""


class EventBuilder:
    """Turns binlog events into common-log events; tracks file, position and GTID state."""

    def __init__(
        self,
        source: SourceId,
        *,
        file: str,
        gtid: GtidState | None = None,
        tables: TableCache | None = None,
        checksum: bool = True,
        describe: Describe | None = None,
        statements: StatementTranslator | None = None,
        system_time_zone: str | None = None,
    ) -> None:
        self.source = source
        self.file = file
        """The binlog file the next event is in (Rotate events move it)."""
        self.gtid = gtid
        """The GTID state after the last commit."""
        self.decoder = bl.BinlogDecoder(checksum=checksum, tables=tables, where=self._where)
        self.describe = describe or _default_describe
        self.statements = statements
        """Turns statement-based DML into events; without it such a statement is an error."""
        self.system_time_zone = system_time_zone
        """What the source's time_zone 'SYSTEM' means (its @@system_time_zone)."""
        self.in_transaction = False
        self.begin_position: BinlogPosition | None = None
        """Where the open transaction started (a reconnect resumes there)."""
        self.last_commit: BinlogPosition | None = None
        self.heartbeat_time: dt.datetime | None = None
        self.queries: list[bl.Query] = []
        """Statement events with their context (Intvar/Rand/UserVar), for a statement
        translator; the reader does not keep them."""
        self._pending: MariadbGtid | tuple[uuid.UUID, int] | None = None
        self._xid: str | None = None
        self._relations: dict[int, _RelState] = {}
        self._emitted: dict[TableName, tuple[tuple[Column, ...], tuple[str, ...]]] = {}

    def _where(self, h: bl.Header) -> str:
        return f"{self.file}:{h.offset}" if h.next_pos else f"{self.file} (event type {h.type})"

    def feed(self, buf: bytes) -> list[Event]:
        """The log events completed by one binlog event (often none)."""
        h, body = self.decoder.decode(buf)
        if type(body) is RowsEvent:
            return self._rows(h, body)
        if type(body) is bl.Xid:
            return [self._commit(h)]
        if type(body) is TableMap or type(body) is bl.Ignored:
            return []
        return self._other(h, body)

    def _other(self, h: bl.Header, body: bl.Body) -> list[Event]:  # noqa: PLR0911 - per type
        if isinstance(body, bl.MariadbGtidEvent):
            self._open_check(h)
            self._pending = MariadbGtid(body.domain, body.server, body.seq)
            self._xid = str(self._pending)
            if body.standalone:
                return []
            return [self._begin(h)]
        if isinstance(body, bl.MysqlGtidEvent):
            self._open_check(h)
            if body.sid == _ZERO_SID:
                self._pending, self._xid = None, None
            else:
                sid = uuid.UUID(bytes=body.sid)
                self._pending, self._xid = (sid, body.gno), f"{sid}:{body.gno}"
            return []
        if isinstance(body, bl.Query):
            return self._query(h, body)
        if isinstance(body, bl.Rotate):
            self.file = body.next_file
            return []
        if isinstance(body, bl.Heartbeat):
            self.heartbeat_time = dt.datetime.now(dt.UTC)
            return []
        return []  # FormatDescription: the decoder took its checksum setting

    def _open_check(self, h: bl.Header) -> None:
        if self.in_transaction:
            raise DecodeError(
                "a new transaction starts before the previous one committed",
                position=self._where(h),
            )

    def _pos(self, h: bl.Header) -> BinlogPosition:
        return BinlogPosition(self.file, h.offset)

    def _begin(self, h: bl.Header) -> Begin:
        self.in_transaction = True
        self.begin_position = self._pos(h)
        when = dt.datetime.fromtimestamp(h.timestamp, dt.UTC)
        return Begin(self.source, self.begin_position, self._xid, when)

    def _commit(self, h: bl.Header) -> Commit:
        if not self.in_transaction:
            raise DecodeError("a commit outside any transaction", position=self._where(h))
        pending, self._pending = self._pending, None
        if isinstance(pending, MariadbGtid):
            maria = self.gtid if isinstance(self.gtid, MariadbGtidPos) else MariadbGtidPos(())
            self.gtid = maria.advance(pending)
        elif pending is not None:
            mysql = self.gtid if isinstance(self.gtid, MysqlGtidSet) else MysqlGtidSet(())
            self.gtid = mysql.add(*pending)
        self.last_commit = BinlogPosition(self.file, h.next_pos, self.gtid)
        self.in_transaction = False
        self.begin_position = None
        xid, self._xid = self._xid, None
        when = dt.datetime.fromtimestamp(h.timestamp, dt.UTC)
        return Commit(self.source, self._pos(h), xid, when, self.last_commit)

    def _query(self, h: bl.Header, q: bl.Query) -> list[Event]:
        kind = classify(q.text)
        if kind == "begin":
            return [] if self.in_transaction else [self._begin(h)]
        if kind in ("commit", "rollback"):
            return [self._commit(h)]
        if kind == "savepoint" and self.in_transaction:
            return []  # no row effect: the binlog holds only the rows that stayed
        if kind == "xa":
            raise DecodeError("XA transactions are not supported", position=self._where(h))
        if kind == "dml" and self.statements is not None:
            return self._statement(h, q)
        if kind in {"dml", "savepoint"}:
            self.queries.append(q)
            raise DecodeError(
                f"a statement-based change ({q.text[:60]!r}): the reader needs row events",
                hint="SET GLOBAL binlog_format = 'ROW' (and binlog_format = ROW in my.cnf)",
                position=self._where(h),
            )
        out: list[Event] = []
        alone = not self.in_transaction
        if alone:
            out.append(self._begin(h))
        # DDL is not filtered by --tables: its text may name any database, whatever the
        # session's current one; the translator and applier decide what it touches.
        out.append(Ddl(self.source, self._pos(h), q.text, "mysql", q.schema or None))
        if alone:
            commit = self._commit(h)
            out[0] = Begin(
                self.source, out[0].position, commit.xid, commit.commit_time, commit.commit_position
            )
            out.append(commit)
        return out

    def _statement(self, h: bl.Header, q: bl.Query) -> list[Event]:
        """A DML statement of a statement-based binlog: insert rows or a Statement event."""
        assert self.statements is not None  # noqa: S101 - the caller checked
        context = statement_context(h, q, system_time_zone=self.system_time_zone)
        try:
            prepared = self.statements.prepare(
                q.text, schema=q.schema or None, context=context, position=self._where(h)
            )
        except StatementError as e:
            # Nothing of this transaction may be applied: say where it starts.
            start = self.begin_position if self.in_transaction else None
            e.transaction_start = str(start or self._pos(h))
            raise
        if prepared.kind == "ignored":
            return []
        alone = not self.in_transaction
        out: list[Event] = [self._begin(h)] if alone else []
        out.extend(self._prepared(h, q, context, prepared))
        if alone:
            commit = self._commit(h)
            out[0] = Begin(
                self.source, out[0].position, commit.xid, commit.commit_time, commit.commit_position
            )
            out.append(commit)
        return out

    def _prepared(
        self, h: bl.Header, q: bl.Query, context: StatementContext, prepared: Prepared
    ) -> list[Event]:
        pos = self._pos(h)
        if prepared.tables and all(heartbeat.is_table(t.schema, t.name) for t in prepared.tables):
            # bridge.heartbeat written as a statement: its time is the statement's NOW(6).
            return [Heartbeat(self.source, pos, context.timestamp)]
        if prepared.kind == "statement":
            return [
                Statement(
                    self.source,
                    pos,
                    q.text,
                    "mysql",
                    q.schema or None,
                    prepared.deterministic,
                    context,
                    prepared.tables,
                )
            ]
        table = prepared.table
        assert table is not None  # noqa: S101 - rows always name their table
        shape = (tuple(c.column for c in table.columns), table.key)
        out: list[Event] = []
        if self._emitted.get(table.name) != shape:
            self._emitted[table.name] = shape
            out.append(Relation(self.source, pos, table.name, shape[0], shape[1]))
        names = table.names
        out.extend(
            Insert(self.source, pos, table.name, names, row, table.key) for row in prepared.rows
        )
        return out

    def _rows(self, h: bl.Header, ev: RowsEvent) -> list[Event]:
        if not self.in_transaction:
            raise DecodeError("a row event outside any transaction", position=self._where(h))
        if ev.rows is None:
            return []
        tm = ev.table
        rel = self._relations.get(tm.table_id)
        out: list[Event] = []
        if rel is None or rel.table is not tm:
            rel = self._relation_state(tm)
        if rel.heartbeat:
            return self._heartbeats(h, ev, rel)
        shape = rel.relation
        if self._emitted.get(rel.name) != shape:
            self._emitted[rel.name] = shape
            out.append(Relation(self.source, self._pos(h), rel.name, shape[0], shape[1]))
        pos, src, name, cols, key = self._pos(h), self.source, rel.name, rel.columns, rel.key
        rows: Any = ev.rows  # row tuples, or (before, after) pairs for updates
        if ev.kind == "insert":
            insert = _INSERT
            out.extend([insert(src, pos, name, cols, row, key) for row in rows])
        elif ev.kind == "delete":
            delete = _DELETE
            out.extend([delete(src, pos, name, cols, row, key) for row in rows])
        else:
            update = _UPDATE
            out.extend([update(src, pos, name, cols, b, a, key) for b, a in rows])
        return out

    def _relation_state(self, tm: TableMap) -> _RelState:
        columns, key = self.describe(tm)
        names = tuple(c.name for c in columns)
        prev = self._relations.get(tm.table_id)
        if prev is not None and prev.relation == (columns, key):
            names = prev.columns  # keep sharing one tuple
        beats = heartbeat.is_table(tm.schema, tm.name)
        rel = _RelState(tm, TableName(tm.schema, tm.name), names, key, (columns, key), beats)
        self._relations[tm.table_id] = rel
        return rel

    def _heartbeats(self, h: bl.Header, ev: RowsEvent, rel: _RelState) -> list[Event]:
        """Rows of bridge.heartbeat as Heartbeat events (bridge.heartbeat); deletes are none."""
        if ev.kind == "delete":
            return []
        rows: Any = ev.rows
        images = rows if ev.kind == "insert" else [after for _, after in rows]
        pos = self._pos(h)
        beats = (heartbeat.heartbeat_event(self.source, pos, rel.columns, r) for r in images)
        return [b for b in beats if b is not None]
