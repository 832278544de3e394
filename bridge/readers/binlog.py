"""Binlog event decoding: pure functions over the bytes of one event, no I/O.

The reader (`bridge.readers.mysql`) receives events from the server's binlog dump and hands each
one, as bytes, to `BinlogDecoder.decode`; `tests/unit/test_binlog*.py` feed it captured bytes.
The layouts follow the server sources (MySQL `libbinlogevents`, MariaDB `sql/log_event.cc`) and
the protocol documentation (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_replication_binlog_event.html,
https://mariadb.com/kb/en/replication-protocol/).

We decode events ourselves rather than through mysql-replication 1.0.17, whose decoders lose
data (shared/FACTS.md; pinned in tests/unit/test_binlog_library.py): IntvarEvent reads its value
as 32 bits, unknown event codes are silently dropped (`NotImplementedEvent` is filtered out by
default), zero dates become None, an empty SET becomes None, YEAR 0000 becomes 1900, and every
TableMapEvent is re-parsed before the rows that follow it. Row decoding lives in
`bridge.readers.binlogrows` with a table-map cache.

Every event type is listed in `EVENT_NAMES`; `decode` returns a small object for the events the
reader acts on and raises `DecodeError` naming the position for anything it cannot faithfully
pass on (compressed events, transaction payloads, partial JSON updates, unknown codes): the
stream stops there rather than skipping a change.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

from bridge.errors import DecodeError
from bridge.readers.binlogrows import RowsEvent, TableCache, TableMap

# Event type codes (MySQL binlog_event.h, MariaDB log_event.h).
QUERY: Final = 2
STOP: Final = 3
ROTATE: Final = 4
INTVAR: Final = 5
RAND: Final = 13
USER_VAR: Final = 14
FORMAT_DESCRIPTION: Final = 15
XID: Final = 16
TABLE_MAP: Final = 19
WRITE_ROWS_V1: Final = 23
UPDATE_ROWS_V1: Final = 24
DELETE_ROWS_V1: Final = 25
HEARTBEAT: Final = 27
ROWS_QUERY: Final = 29
WRITE_ROWS_V2: Final = 30
UPDATE_ROWS_V2: Final = 31
DELETE_ROWS_V2: Final = 32
MYSQL_GTID: Final = 33
ANONYMOUS_GTID: Final = 34
PREVIOUS_GTIDS: Final = 35
TRANSACTION_CONTEXT: Final = 36
VIEW_CHANGE: Final = 37
HEARTBEAT_V2: Final = 41
MARIADB_ANNOTATE_ROWS: Final = 160
MARIADB_BINLOG_CHECKPOINT: Final = 161
MARIADB_GTID: Final = 162
MARIADB_GTID_LIST: Final = 163
MARIADB_START_ENCRYPTION: Final = 164

EVENT_NAMES: Final = {
    0: "UNKNOWN",
    1: "START_V3",
    2: "QUERY",
    3: "STOP",
    4: "ROTATE",
    5: "INTVAR",
    6: "LOAD",
    7: "SLAVE",
    8: "CREATE_FILE",
    9: "APPEND_BLOCK",
    10: "EXEC_LOAD",
    11: "DELETE_FILE",
    12: "NEW_LOAD",
    13: "RAND",
    14: "USER_VAR",
    15: "FORMAT_DESCRIPTION",
    16: "XID",
    17: "BEGIN_LOAD_QUERY",
    18: "EXECUTE_LOAD_QUERY",
    19: "TABLE_MAP",
    20: "PRE_GA_WRITE_ROWS",
    21: "PRE_GA_UPDATE_ROWS",
    22: "PRE_GA_DELETE_ROWS",
    23: "WRITE_ROWS_V1",
    24: "UPDATE_ROWS_V1",
    25: "DELETE_ROWS_V1",
    26: "INCIDENT",
    27: "HEARTBEAT",
    28: "IGNORABLE",
    29: "ROWS_QUERY",
    30: "WRITE_ROWS_V2",
    31: "UPDATE_ROWS_V2",
    32: "DELETE_ROWS_V2",
    33: "GTID",
    34: "ANONYMOUS_GTID",
    35: "PREVIOUS_GTIDS",
    36: "TRANSACTION_CONTEXT",
    37: "VIEW_CHANGE",
    38: "XA_PREPARE",
    39: "PARTIAL_UPDATE_ROWS",
    40: "TRANSACTION_PAYLOAD",
    41: "HEARTBEAT_V2",
    42: "GTID_TAGGED",
    160: "MARIADB_ANNOTATE_ROWS",
    161: "MARIADB_BINLOG_CHECKPOINT",
    162: "MARIADB_GTID",
    163: "MARIADB_GTID_LIST",
    164: "MARIADB_START_ENCRYPTION",
    165: "MARIADB_QUERY_COMPRESSED",
    166: "MARIADB_WRITE_ROWS_COMPRESSED_V1",
    167: "MARIADB_UPDATE_ROWS_COMPRESSED_V1",
    168: "MARIADB_DELETE_ROWS_COMPRESSED_V1",
    169: "MARIADB_WRITE_ROWS_COMPRESSED",
    170: "MARIADB_UPDATE_ROWS_COMPRESSED",
    171: "MARIADB_DELETE_ROWS_COMPRESSED",
}

# Events that carry nothing a row-based reader needs: replication bookkeeping (STOP, the GTID
# lists, checkpoints), informational text (ROWS_QUERY, ANNOTATE_ROWS), MySQL group replication
# context. MariaDB's dump thread decrypts an encrypted binlog before sending it, so
# START_ENCRYPTION only marks where encryption began in the file.
_IGNORED: Final = frozenset(
    {
        STOP,
        PREVIOUS_GTIDS,
        ROWS_QUERY,
        TRANSACTION_CONTEXT,
        VIEW_CHANGE,
        MARIADB_ANNOTATE_ROWS,
        MARIADB_BINLOG_CHECKPOINT,
        MARIADB_START_ENCRYPTION,
    }
)

# Events we refuse with the setting that avoids them: the stream stops at them.
_REFUSED: Final = {
    **dict.fromkeys(
        range(165, 172),
        "MariaDB compressed binlog events are not supported: SET GLOBAL log_bin_compress = OFF"
        " (and remove log_bin_compress from my.cnf)",
    ),
    40: "MySQL compressed transaction payloads are not supported:"
    " SET GLOBAL binlog_transaction_compression = OFF",
    39: "MySQL partial JSON updates are not supported: SET GLOBAL binlog_row_value_options = ''",
    26: "the server wrote an INCIDENT event: changes are missing from the binlog here;"
    " take a new snapshot",
    38: "XA transactions are not supported",
    17: "LOAD DATA in a statement-based binlog is not supported: use binlog_format = ROW",
    18: "LOAD DATA in a statement-based binlog is not supported: use binlog_format = ROW",
}

ROW_EVENTS: Final = {
    WRITE_ROWS_V1: "insert",
    UPDATE_ROWS_V1: "update",
    DELETE_ROWS_V1: "delete",
    WRITE_ROWS_V2: "insert",
    UPDATE_ROWS_V2: "update",
    DELETE_ROWS_V2: "delete",
}

LOG_EVENT_ARTIFICIAL_F: Final = 0x20
"""Header flag of events the dump thread makes up (the Rotate that opens a stream)."""

HEADER: Final = struct.Struct("<IBIIIH")
HEADER_SIZE: Final = 19
BINLOG_MAGIC: Final = b"\xfebin"

# MariaDB GTID event flags (log_event.h, Gtid_log_event).
GTID_FL_STANDALONE: Final = 0x01
GTID_FL_GROUP_COMMIT_ID: Final = 0x02
GTID_FL_PREPARED_XA: Final = 0x40
GTID_FL_COMPLETED_XA: Final = 0x80

INTVAR_LAST_INSERT_ID: Final = 1
INTVAR_INSERT_ID: Final = 2


@dataclass(frozen=True, slots=True)
class Header:
    """The 19-byte common header of every event."""

    type: int
    timestamp: int
    """Seconds since the epoch (UTC) when the statement started."""
    server_id: int
    size: int
    """The event's size in bytes, header and checksum included."""
    next_pos: int
    """Offset just past this event in its binlog file; 0 for events the dump thread made up."""
    flags: int

    @property
    def offset(self) -> int:
        """The event's own offset in its binlog file (meaningful when `next_pos` is not 0)."""
        return self.next_pos - self.size


@dataclass(frozen=True, slots=True)
class FormatDescription:
    binlog_version: int
    server_version: str
    checksum: bool
    """Events after this one end with a CRC32."""


@dataclass(frozen=True, slots=True)
class Rotate:
    next_file: str
    position: int


@dataclass(frozen=True, slots=True)
class Intvar:
    """INSERT_ID or LAST_INSERT_ID for the next statement (statement-based binlogs)."""

    kind: int
    """INTVAR_LAST_INSERT_ID (1) or INTVAR_INSERT_ID (2)."""
    value: int
    """An unsigned 64-bit value (mysql-replication 1.0.17 reads it as 32 bits)."""


@dataclass(frozen=True, slots=True)
class Rand:
    """The RAND() seeds of the next statement."""

    seed1: int
    seed2: int


@dataclass(frozen=True, slots=True)
class UserVar:
    """A user variable (@name) the next statement reads."""

    name: str
    value: bytes | None
    """The raw value: text in `charset`, or a little-endian int / double / decimal by `type`."""
    type: int = 0
    """Item_result: 0 STRING, 1 REAL, 2 INT, 4 DECIMAL."""
    charset: int = 0
    unsigned: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A statement: BEGIN/COMMIT markers, DDL, or DML of a statement-based binlog."""

    schema: str
    """The session's current database, '' when none."""
    text: str
    error_code: int
    status: dict[int, bytes]
    """Status variables by code, raw (Q_SQL_MODE_CODE 1, Q_CHARSET_CODE 4, Q_TIME_ZONE_CODE 5,
    MariaDB Q_HRNOW 128 …), for a later statement translator."""
    context: tuple[Intvar | Rand | UserVar, ...] = field(default=())
    """The Intvar/Rand/UserVar events that preceded it: what makes a statement deterministic."""
    thread_id: int = 0
    """The id of the session that ran it (CONNECTION_ID(), the scope of temporary tables)."""


@dataclass(frozen=True, slots=True)
class Xid:
    xid: int


@dataclass(frozen=True, slots=True)
class MariadbGtidEvent:
    domain: int
    server: int
    seq: int
    flags: int

    @property
    def standalone(self) -> bool:
        """A statement outside any transaction follows (DDL): no COMMIT/XID will."""
        return bool(self.flags & GTID_FL_STANDALONE)


@dataclass(frozen=True, slots=True)
class MysqlGtidEvent:
    sid: bytes
    """The source server's UUID, 16 bytes (all zero for an anonymous GTID)."""
    gno: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    file: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event with nothing for the log (see `_IGNORED`)."""


Body = (
    FormatDescription
    | Rotate
    | Intvar
    | Rand
    | UserVar
    | Query
    | Xid
    | MariadbGtidEvent
    | MysqlGtidEvent
    | Heartbeat
    | Ignored
    | TableMap
    | RowsEvent
)

_QUERY_POST = struct.Struct("<IIBHH")
_MARIADB_GTID = struct.Struct("<QIB")
_UINT64 = struct.Struct("<Q")
_INTVAR = struct.Struct("<BQ")
_RAND = struct.Struct("<QQ")


class BinlogDecoder:
    """Decodes a stream of events; keeps the state that spans events (checksums, table maps).

    `checksum` says whether events carry a CRC32 before the first FormatDescription tells
    (the Rotate the dump thread sends first): pass the server's binlog_checksum != NONE.
    `where` names the current position in error messages.
    """

    def __init__(
        self,
        *,
        checksum: bool,
        tables: TableCache | None = None,
        where: Callable[[Header], str] | None = None,
    ) -> None:
        self.checksum = checksum
        self.verify = True
        """Check each event's CRC32 (zlib's C code: cheap next to the decoding)."""
        self.tables = tables if tables is not None else TableCache()
        self._where = where or (lambda h: f"offset {h.offset}")
        self._context: list[Intvar | Rand | UserVar] = []

    def header(self, buf: bytes) -> Header:
        if len(buf) < HEADER_SIZE:
            raise DecodeError(f"a binlog event of {len(buf)} bytes is shorter than its header")
        ts, etype, server_id, size, next_pos, flags = HEADER.unpack_from(buf)
        if size != len(buf):
            raise DecodeError(
                f"binlog event of type {etype} says {size} bytes but {len(buf)} arrived"
            )
        return Header(etype, ts, server_id, size, next_pos, flags)

    def decode(self, buf: bytes) -> tuple[Header, Body]:
        """The event's header and body; DecodeError for what cannot be passed on faithfully."""
        h = self.header(buf)
        if h.type == FORMAT_DESCRIPTION:
            fde = self._format_description(buf, h)
            self.checksum = fde.checksum
            self.tables.mariadb = "MariaDB" in fde.server_version
            return h, fde
        end = len(buf)
        if self.checksum:
            end -= 4
            if self.verify and zlib.crc32(memoryview(buf)[:end]) != _crc(buf, end):
                raise DecodeError(
                    f"binlog event {EVENT_NAMES.get(h.type, h.type)} fails its CRC32 check",
                    position=self._where(h),
                )
        try:
            return h, self._body(buf, h, end)
        except DecodeError as e:
            if e.position is None:
                e.position = self._where(h)
            raise
        except (struct.error, IndexError, ValueError, UnicodeDecodeError) as e:
            name = EVENT_NAMES.get(h.type, str(h.type))
            raise DecodeError(f"malformed binlog event {name}: {e}", position=self._where(h)) from e

    def _body(self, buf: bytes, h: Header, end: int) -> Body:  # noqa: PLR0911 - one per type
        t = h.type
        kind = ROW_EVENTS.get(t)
        if kind is not None:
            return self.tables.rows(buf, HEADER_SIZE, end, kind, t >= WRITE_ROWS_V2)
        if t == TABLE_MAP:
            return self.tables.table_map(buf, HEADER_SIZE, end)
        if t == QUERY:
            return self._query(buf, end)
        if t == XID:
            return Xid(_UINT64.unpack_from(buf, HEADER_SIZE)[0])
        if t == MARIADB_GTID:
            seq, domain, flags = _MARIADB_GTID.unpack_from(buf, HEADER_SIZE)
            if flags & (GTID_FL_PREPARED_XA | GTID_FL_COMPLETED_XA):
                raise DecodeError("XA transactions are not supported")
            return MariadbGtidEvent(domain, h.server_id, seq, flags)
        if t in (MYSQL_GTID, ANONYMOUS_GTID):
            sid = buf[HEADER_SIZE + 1 : HEADER_SIZE + 17]
            gno = _UINT64.unpack_from(buf, HEADER_SIZE + 17)[0]
            return MysqlGtidEvent(sid, gno)
        if t == ROTATE:
            pos = _UINT64.unpack_from(buf, HEADER_SIZE)[0]
            return Rotate(buf[HEADER_SIZE + 8 : end].decode(), pos)
        if t in (INTVAR, RAND, USER_VAR):
            self._context.append(_context_event(buf, t, end))
            return Ignored()
        if t in (HEARTBEAT, HEARTBEAT_V2):
            return Heartbeat(buf[HEADER_SIZE:end].decode(errors="replace"))
        if t in _IGNORED or t == MARIADB_GTID_LIST:
            return Ignored()
        refused = _REFUSED.get(t)
        if refused is not None:
            raise DecodeError(f"binlog event {EVENT_NAMES[t]}: {refused}")
        raise DecodeError(
            f"unknown binlog event type {t} ({EVENT_NAMES.get(t, 'not in our table')}):"
            " the reader stops rather than skip a change",
            hint="report the server version; this event type needs support in bridge",
        )

    def _query(self, buf: bytes, end: int) -> Query:
        thread_id, _, db_len, error_code, status_len = _QUERY_POST.unpack_from(buf, HEADER_SIZE)
        pos = HEADER_SIZE + _QUERY_POST.size
        status = _status_vars(buf[pos : pos + status_len])
        pos += status_len
        schema = buf[pos : pos + db_len].decode()
        pos += db_len + 1  # the name's NUL terminator
        # The statement's bytes are in the session's character_set_client (Q_CHARSET_CODE);
        # clients that send other than UTF-8 statements are decoded leniently, never dropped.
        text = buf[pos:end].decode("utf-8", errors="surrogateescape")
        context, self._context = tuple(self._context), []
        return Query(schema, text, error_code, status, context, thread_id)

    @staticmethod
    def _format_description(buf: bytes, h: Header) -> FormatDescription:
        version = struct.unpack_from("<H", buf, HEADER_SIZE)[0]
        server = buf[HEADER_SIZE + 2 : HEADER_SIZE + 52].rstrip(b"\0").decode()
        # Since MySQL 5.6.1 / MariaDB 5.3 the FDE ends with the checksum algorithm (1 byte:
        # 0 off, 1 CRC32) and its own CRC32, whatever the algorithm.
        alg = buf[h.size - 5] if _has_checksum_alg(server) else 0
        return FormatDescription(version, server, alg == 1)


def _crc(buf: bytes, end: int) -> int:
    return int.from_bytes(buf[end : end + 4], "little")


def _has_checksum_alg(server_version: str) -> bool:
    parts = server_version.split("-", 1)[0].split(".")
    try:
        major, minor, patch = (int(p) for p in parts[:3])
    except ValueError:
        return True
    if "MariaDB" in server_version:
        return (major, minor) >= (5, 3)
    return (major, minor, patch) >= (5, 6, 1)


# Sizes of the Query event status variables (log_event.cc, Query_log_event's constructor):
# fixed sizes, then the codes whose size is in their first bytes.
_STATUS_FIXED: Final = {
    0: 4,  # Q_FLAGS2_CODE
    1: 8,  # Q_SQL_MODE_CODE
    3: 4,  # Q_AUTO_INCREMENT
    4: 6,  # Q_CHARSET_CODE
    7: 2,  # Q_LC_TIME_NAMES_CODE
    8: 2,  # Q_CHARSET_DATABASE_CODE
    9: 8,  # Q_TABLE_MAP_FOR_UPDATE_CODE
    10: 4,  # Q_MASTER_DATA_WRITTEN_CODE
    13: 1,  # Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP
    14: 8,  # Q_DDL_LOGGED_WITH_XID
    15: 2,  # Q_DEFAULT_COLLATION_FOR_UTF8MB4
    16: 1,  # Q_SQL_REQUIRE_PRIMARY_KEY
    17: 1,  # Q_DEFAULT_TABLE_ENCRYPTION
    128: 3,  # MariaDB Q_HRNOW (microseconds of the statement's time)
    129: 8,  # MariaDB Q_XID
}


def _status_size(code: int, b: bytes, p: int) -> int | None:
    """The size of the status variable `code` whose value starts at `p`; None if unknown."""
    fixed = _STATUS_FIXED.get(code)
    if fixed is not None:
        return fixed
    if code in (5, 6):  # Q_TIME_ZONE_CODE, Q_CATALOG_NZ_CODE: length-prefixed
        return 1 + b[p]
    if code == 2:  # Q_CATALOG_CODE (old): length, name, NUL
        return 2 + b[p]
    if code == 11:  # Q_INVOKER: user, host, each length-prefixed
        return 2 + b[p] + b[p + 1 + b[p]]
    if code == 12:  # Q_UPDATED_DB_NAMES
        return _updated_db_names_size(b, p)
    return None


def _updated_db_names_size(b: bytes, p: int) -> int:
    count = b[p]
    end = p + 1
    if count != 254:  # OVER_MAX_DBS_IN_EVENT_MTS: no names follow
        for _ in range(count):
            end = b.index(0, end) + 1
    return end - p


def _status_vars(raw: bytes) -> dict[int, bytes]:
    """Status variables by code; stops (keeping what it read) at a code it cannot size.

    Only a statement translator needs them, and the database name and statement text sit after
    the block (its length is in the post-header), so an unknown code never misplaces those.
    """
    out: dict[int, bytes] = {}
    pos = 0
    while pos < len(raw):
        code = raw[pos]
        size = _status_size(code, raw, pos + 1)
        if size is None:
            break  # a code we cannot size: keep what came before
        out[code] = raw[pos + 1 : pos + 1 + size]
        pos += 1 + size
    return out


def _context_event(buf: bytes, t: int, end: int) -> Intvar | Rand | UserVar:
    p = HEADER_SIZE
    if t == INTVAR:
        # One type byte and an unsigned 64-bit value (mysql-replication reads 32 bits of it).
        kind, value = _INTVAR.unpack_from(buf, p)
        return Intvar(kind, value)
    if t == RAND:
        s1, s2 = _RAND.unpack_from(buf, p)
        return Rand(s1, s2)
    name_len = int.from_bytes(buf[p : p + 4], "little")
    name = buf[p + 4 : p + 4 + name_len].decode()
    p += 4 + name_len
    if buf[p]:  # is_null
        return UserVar(name, None)
    vtype, charset, vlen = struct.unpack_from("<BII", buf, p + 1)
    p += 10
    value = buf[p : p + vlen]
    p += vlen
    unsigned = p < end and bool(buf[p] & 1)
    return UserVar(name, value, vtype, charset, unsigned)


def file_events(data: bytes) -> Iterator[bytes]:
    """The events of a binlog file's bytes (after its 4-byte magic), each as bytes."""
    if data[:4] != BINLOG_MAGIC:
        raise DecodeError("not a binlog file (no \\xfebin magic)")
    pos = 4
    while pos + HEADER_SIZE <= len(data):
        size = int.from_bytes(data[pos + 9 : pos + 13], "little")
        if size < HEADER_SIZE or pos + size > len(data):
            break  # a partly written last event
        yield data[pos : pos + size]
        pos += size
