"""Pure decoder of PostgreSQL's pgoutput messages (protocols 1 and 2): bytes in, messages out.

No I/O here: `bridge.readers.postgres` receives XLogData payloads over the replication protocol and
hands each to `PgOutputDecoder.decode`. Layouts follow the PostgreSQL docs, "Logical Replication
Message Formats". Inside a streamed transaction (protocol 2, between Stream Start and Stream Stop)
Relation, Type, Insert, Update, Delete, Truncate and Message carry the transaction's xid first; the
decoder tracks that state, which is why it is a small object rather than a function.

Column values stay as the server sent them: `None` for NULL, `UNCHANGED_TOAST` for an unchanged
TOASTed value, `bytes` for text or binary data. Turning text into typed values is
`bridge.readers.pgtypes`' job, where type information lives.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from bridge.errors import DecodeError
from bridge.positions import Lsn

PG_EPOCH: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class _UnchangedToast:
    """Tuple column kind 'u': a TOASTed value that did not change and was not sent."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNCHANGED_TOAST"


UNCHANGED_TOAST: Final = _UnchangedToast()

RawValue: TypeAlias = bytes | _UnchangedToast | None
"""A column as sent: text/binary bytes, None for NULL, UNCHANGED_TOAST."""


def pg_timestamp(microseconds: int) -> dt.datetime:
    """A protocol timestamp (microseconds since 2000-01-01 UTC) as an aware datetime."""
    return PG_EPOCH + dt.timedelta(microseconds=microseconds)


@dataclass(frozen=True, slots=True)
class Begin:
    final_lsn: int
    """LSN of the transaction's commit record."""
    commit_time: dt.datetime
    xid: int


@dataclass(frozen=True, slots=True)
class Commit:
    flags: int
    commit_lsn: int
    end_lsn: int
    """Where the transaction ends: the position to confirm once applied."""
    commit_time: dt.datetime


@dataclass(frozen=True, slots=True)
class Origin:
    commit_lsn: int
    name: str


@dataclass(frozen=True, slots=True)
class RelationColumn:
    name: str
    type_oid: int
    type_modifier: int
    is_key: bool
    """Part of the replica identity (primary key or the chosen index; every column when FULL)."""


@dataclass(frozen=True, slots=True)
class Relation:
    xid: int | None
    oid: int
    namespace: str
    """Schema name; pgoutput sends '' for pg_catalog."""
    name: str
    replica_identity: str
    """'d' default (primary key), 'n' nothing, 'f' full, 'i' index."""
    columns: tuple[RelationColumn, ...]


@dataclass(frozen=True, slots=True)
class Type:
    xid: int | None
    oid: int
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Insert:
    xid: int | None
    relation_oid: int
    new: tuple[RawValue, ...]


@dataclass(frozen=True, slots=True)
class Update:
    xid: int | None
    relation_oid: int
    old_kind: str | None
    """'K' old key only, 'O' full old row (REPLICA IDENTITY FULL), None when not sent."""
    old: tuple[RawValue, ...] | None
    new: tuple[RawValue, ...]


@dataclass(frozen=True, slots=True)
class Delete:
    xid: int | None
    relation_oid: int
    old_kind: str
    old: tuple[RawValue, ...]


@dataclass(frozen=True, slots=True)
class Truncate:
    xid: int | None
    cascade: bool
    restart_identity: bool
    relation_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """A logical decoding message (pg_logical_emit_message)."""

    xid: int | None
    transactional: bool
    lsn: int
    prefix: str
    content: bytes


@dataclass(frozen=True, slots=True)
class StreamStart:
    xid: int
    first_segment: bool


@dataclass(frozen=True, slots=True)
class StreamStop:
    pass


@dataclass(frozen=True, slots=True)
class StreamCommit:
    xid: int
    flags: int
    commit_lsn: int
    end_lsn: int
    commit_time: dt.datetime


@dataclass(frozen=True, slots=True)
class StreamAbort:
    xid: int
    subxid: int
    """Equal to `xid` when the whole transaction aborted, else the aborted subtransaction."""


PgMessage: TypeAlias = (
    Begin
    | Commit
    | Origin
    | Relation
    | Type
    | Insert
    | Update
    | Delete
    | Truncate
    | Message
    | StreamStart
    | StreamStop
    | StreamCommit
    | StreamAbort
)

_I8 = struct.Struct("!b")
_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")
_BEGIN = struct.Struct("!QqI")
_COMMIT = struct.Struct("!BQQq")
_STREAM_COMMIT = struct.Struct("!IBQQq")
_REL_HEAD = struct.Struct("!I")
_U64 = struct.Struct("!Q")
_COL_TAIL = struct.Struct("!Ii")


class _Cursor:
    """Reads big-endian fields from one message; every read is bounds-checked by struct/index."""

    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes, pos: int = 1) -> None:
        self.buf = buf
        self.pos = pos

    def unpack(self, s: struct.Struct) -> tuple[int, ...]:
        values = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return values

    def u32(self) -> int:
        (v,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(v)

    def byte(self) -> int:
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def string(self) -> str:
        end = self.buf.index(0, self.pos)
        s = self.buf[self.pos : end].decode("utf-8")
        self.pos = end + 1
        return s

    def tuple_data(self) -> tuple[RawValue, ...]:
        buf = self.buf
        (ncols,) = _I16.unpack_from(buf, self.pos)
        pos = self.pos + 2
        out: list[RawValue] = []
        append = out.append
        for _ in range(ncols):
            kind = buf[pos]
            pos += 1
            if kind == 0x74 or kind == 0x62:  # noqa: PLR1714 - 't' text, 'b' binary: hot loop
                (length,) = _I32.unpack_from(buf, pos)
                pos += 4
                end = pos + length
                if end > len(buf):
                    raise IndexError("column data runs past the message")
                append(buf[pos:end])
                pos = end
            elif kind == 0x6E:  # 'n' NULL
                append(None)
            elif kind == 0x75:  # 'u' unchanged TOAST
                append(UNCHANGED_TOAST)
            else:
                raise ValueError(f"unknown tuple column kind {chr(kind)!r}")
        self.pos = pos
        return tuple(out)

    def done(self) -> None:
        if self.pos != len(self.buf):
            raise ValueError(f"{len(self.buf) - self.pos} unexpected trailing bytes")


class PgOutputDecoder:
    """Decodes one pgoutput message at a time; tracks whether a streamed transaction is open."""

    __slots__ = ("in_stream", "proto_version")

    def __init__(self, proto_version: int = 1) -> None:
        self.proto_version = proto_version
        #: True between Stream Start and Stream Stop, where messages carry an xid first.
        self.in_stream = False

    def decode(self, data: bytes, lsn: int | None = None) -> PgMessage:
        """Decode one message. `lsn` (of its XLogData) only names the place in errors."""
        if not data:
            raise DecodeError("empty pgoutput message", position=_lsn_text(lsn))
        tag = data[0]
        handler = _HANDLERS.get(tag)
        if handler is None:
            raise DecodeError(
                f"unknown pgoutput message type {chr(tag)!r} (0x{tag:02x})",
                hint="this server sends a protocol feature bridge does not support; "
                "the reader stops here rather than skip it",
                position=_lsn_text(lsn),
            )
        cur = _Cursor(bytes(data))
        try:
            msg = handler(self, cur)
            cur.done()
        except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
            raise DecodeError(
                f"malformed pgoutput {chr(tag)!r} message ({e}): {bytes(data[:64]).hex()}",
                position=_lsn_text(lsn),
            ) from e
        return msg

    def _xid(self, cur: _Cursor) -> int | None:
        return cur.u32() if self.in_stream else None

    def _begin(self, cur: _Cursor) -> Begin:
        final_lsn, ts, xid = cur.unpack(_BEGIN)
        return Begin(final_lsn, pg_timestamp(ts), xid)

    def _commit(self, cur: _Cursor) -> Commit:
        flags, commit_lsn, end_lsn, ts = cur.unpack(_COMMIT)
        return Commit(flags, commit_lsn, end_lsn, pg_timestamp(ts))

    def _origin(self, cur: _Cursor) -> Origin:
        (lsn,) = cur.unpack(_U64)
        return Origin(lsn, cur.string())

    def _relation(self, cur: _Cursor) -> Relation:
        xid = self._xid(cur)
        (oid,) = cur.unpack(_REL_HEAD)
        namespace = cur.string()
        name = cur.string()
        identity = chr(cur.byte())
        (ncols,) = cur.unpack(_I16)
        cols = []
        for _ in range(ncols):
            flags = cur.byte()
            col_name = cur.string()
            type_oid, typmod = cur.unpack(_COL_TAIL)
            cols.append(RelationColumn(col_name, type_oid, typmod, bool(flags & 1)))
        return Relation(xid, oid, namespace, name, identity, tuple(cols))

    def _type(self, cur: _Cursor) -> Type:
        xid = self._xid(cur)
        oid = cur.u32()
        return Type(xid, oid, cur.string(), cur.string())

    def _insert(self, cur: _Cursor) -> Insert:
        xid = self._xid(cur)
        oid = cur.u32()
        if cur.byte() != 0x4E:  # 'N'
            raise ValueError("insert without a new tuple")
        return Insert(xid, oid, cur.tuple_data())

    def _update(self, cur: _Cursor) -> Update:
        xid = self._xid(cur)
        oid = cur.u32()
        kind = cur.byte()
        old_kind = None
        old = None
        if kind in (0x4B, 0x4F):  # 'K' key, 'O' old row
            old_kind = chr(kind)
            old = cur.tuple_data()
            kind = cur.byte()
        if kind != 0x4E:
            raise ValueError("update without a new tuple")
        return Update(xid, oid, old_kind, old, cur.tuple_data())

    def _delete(self, cur: _Cursor) -> Delete:
        xid = self._xid(cur)
        oid = cur.u32()
        kind = cur.byte()
        if kind not in (0x4B, 0x4F):
            raise ValueError("delete without an old key or row")
        return Delete(xid, oid, chr(kind), cur.tuple_data())

    def _truncate(self, cur: _Cursor) -> Truncate:
        xid = self._xid(cur)
        count = cur.u32()
        options = cur.byte()
        oids = struct.unpack_from(f"!{count}I", cur.buf, cur.pos)
        cur.pos += 4 * count
        return Truncate(xid, bool(options & 1), bool(options & 2), tuple(oids))

    def _message(self, cur: _Cursor) -> Message:
        xid = self._xid(cur)
        flags = cur.byte()
        (lsn,) = cur.unpack(_U64)
        prefix = cur.string()
        length = cur.u32()
        content = cur.buf[cur.pos : cur.pos + length]
        if len(content) != length:
            raise IndexError("message content runs past the message")
        cur.pos += length
        return Message(xid, bool(flags & 1), lsn, prefix, content)

    def _stream_start(self, cur: _Cursor) -> StreamStart:
        xid = cur.u32()
        first = cur.byte()
        self.in_stream = True
        return StreamStart(xid, bool(first))

    def _stream_stop(self, cur: _Cursor) -> StreamStop:  # noqa: ARG002 - no body
        self.in_stream = False
        return StreamStop()

    def _stream_commit(self, cur: _Cursor) -> StreamCommit:
        xid, flags, commit_lsn, end_lsn, ts = cur.unpack(_STREAM_COMMIT)
        return StreamCommit(xid, flags, commit_lsn, end_lsn, pg_timestamp(ts))

    def _stream_abort(self, cur: _Cursor) -> StreamAbort:
        xid = cur.u32()
        subxid = cur.u32()
        if cur.pos < len(cur.buf):  # protocol 4 (parallel apply) adds abort LSN and time
            cur.pos += 16
        return StreamAbort(xid, subxid)


_HANDLERS: dict[int, Callable[[PgOutputDecoder, _Cursor], PgMessage]] = {
    ord("B"): PgOutputDecoder._begin,
    ord("C"): PgOutputDecoder._commit,
    ord("O"): PgOutputDecoder._origin,
    ord("R"): PgOutputDecoder._relation,
    ord("Y"): PgOutputDecoder._type,
    ord("I"): PgOutputDecoder._insert,
    ord("U"): PgOutputDecoder._update,
    ord("D"): PgOutputDecoder._delete,
    ord("T"): PgOutputDecoder._truncate,
    ord("M"): PgOutputDecoder._message,
    ord("S"): PgOutputDecoder._stream_start,
    ord("E"): PgOutputDecoder._stream_stop,
    ord("c"): PgOutputDecoder._stream_commit,
    ord("A"): PgOutputDecoder._stream_abort,
}


def _lsn_text(lsn: int | None) -> str | None:
    return None if lsn is None else str(Lsn(lsn))
