"""Events of the common logical log: the one interface between readers and appliers.

The log is a sequence of events in source commit order: `Begin`, row changes (`Insert`, `Update`,
`Delete`), `Truncate`, `Ddl` and `Relation` events, then `Commit`. A `Heartbeat` comes inside the
source transaction that wrote the heartbeat row (`bridge.heartbeat`). Readers that receive
interleaved in-progress transactions (PostgreSQL streaming) reorder them before they enter the log,
so a transaction's events are contiguous.

Row images are tuples aligned with the event's `columns` (a tuple shared by every event of one
relation, so the per-row cost is one reference): `after[i]` is the value of `columns[i]`. In a
`before` image, columns the source did not send are `ABSENT`; in an `after` image, columns left
unchanged (PostgreSQL unchanged TOAST) are `UNCHANGED`. Neither is ever NULL.

Every event carries the log format version (`FORMAT_VERSION`), its source (`SourceId`) and its
position. Events are frozen, slotted dataclasses with no I/O; `bridge.log.jsonl` serializes them.

A `Statement` is the one event that is not a row image: a statement of a statement-based (or
MIXED) MySQL binlog whose rows depend on the target's state (UPDATE/DELETE … WHERE, INSERT …
SELECT, REPLACE, INSERT IGNORE …). Its text is already deterministic (NOW(), RAND(), @vars,
LAST_INSERT_ID() replaced by the values the source used) and it keeps the context that made it
so; an applier evaluates it inside its transaction (docs/architecture.md, "Statement-based
binlogs").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from bridge.log.values import ABSENT, UNCHANGED, Value
from bridge.positions import Position

FORMAT_VERSION = 1
"""Version of the log format; bumped on any incompatible change (docs/log-format.md)."""

Engine: TypeAlias = Literal["postgres", "mysql", "mariadb"]
Dialect: TypeAlias = Literal["postgres", "mysql"]


@dataclass(frozen=True, slots=True)
class SourceId:
    """Which server produced an event."""

    engine: Engine
    """'postgres', 'mysql' or 'mariadb'."""
    system_id: str
    """PostgreSQL system identifier, MySQL server_uuid or MariaDB server_id."""
    version: str
    """Server version, e.g. '17.2' or '10.11.9-MariaDB'."""


@dataclass(frozen=True, slots=True, order=True)
class TableName:
    """A qualified table name: PostgreSQL schema or MySQL database, and table."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True, slots=True)
class ColumnType:
    """An engine-neutral column type, with the source's own declaration kept beside it.

    `kind` is one of: bool, int, uint, decimal, float, text, bytes, date, time, timetz,
    timestamp, timestamptz, interval, uuid, json, enum, set, bits, array, other.
    """

    kind: str
    """The neutral kind (see the class docstring)."""
    source_type: str
    """The type as the source declares it, e.g. 'int(10) unsigned' or 'timestamp(3)'."""
    size: int | None = None
    """Bits for int/uint/float/bits, characters for text, bytes for bytes, when bounded."""
    precision: int | None = None
    """Decimal digits (decimal) or fractional-second digits (time, timestamp, interval)."""
    scale: int | None = None
    """Digits after the point (decimal)."""
    labels: tuple[str, ...] = ()
    """Members of an enum or set, in definition order."""
    element: ColumnType | None = None
    """Element type of an array."""
    fixed: bool = False
    """Fixed-length text/bytes/bits (char(n), binary(n), bit(n))."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a relation."""

    name: str
    type: ColumnType
    nullable: bool = True
    default: str | None = None
    """The default expression in the source's dialect, when known."""


@dataclass(frozen=True, slots=True)
class Begin:
    """Start of a source transaction."""

    source: SourceId
    position: Position
    xid: str | None
    """Transaction id: PostgreSQL xid or the GTID, as text."""
    commit_time: dt.datetime | None = None
    """Commit timestamp (UTC, microseconds) when the source announces it up front (PostgreSQL)."""
    commit_position: Position | None = None
    """Commit position when known up front (PostgreSQL final LSN)."""
    origin: str | None = None
    """Replication origin the transaction came from, for loop prevention."""


@dataclass(frozen=True, slots=True)
class Commit:
    """End of a source transaction; `commit_position` is where a consumer resumes after it."""

    source: SourceId
    position: Position
    xid: str | None
    commit_time: dt.datetime | None
    """Commit timestamp, UTC with microseconds."""
    commit_position: Position
    """The position just past the commit: the checkpoint an applier stores."""
    origin: str | None = None


@dataclass(frozen=True, slots=True)
class Insert:
    """A row inserted."""

    source: SourceId
    position: Position
    relation: TableName
    columns: tuple[str, ...]
    after: tuple[Value, ...]
    key: tuple[str, ...] = ()
    """Primary key (or replica identity) column names, empty when the table has none."""


@dataclass(frozen=True, slots=True)
class Update:
    """A row updated. `before` is None when the source sent no old image (key unchanged)."""

    source: SourceId
    position: Position
    relation: TableName
    columns: tuple[str, ...]
    before: tuple[Value, ...] | None
    after: tuple[Value, ...]
    key: tuple[str, ...] = ()

    @property
    def unchanged(self) -> tuple[str, ...]:
        """Columns the source left out because they did not change (PostgreSQL TOAST)."""
        return tuple(c for c, v in zip(self.columns, self.after, strict=True) if v is UNCHANGED)


@dataclass(frozen=True, slots=True)
class Delete:
    """A row deleted; `before` holds the key or the full old row, ABSENT elsewhere."""

    source: SourceId
    position: Position
    relation: TableName
    columns: tuple[str, ...]
    before: tuple[Value, ...]
    key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Truncate:
    """One or more tables emptied in one statement."""

    source: SourceId
    position: Position
    relations: tuple[TableName, ...]
    cascade: bool = False
    restart_identity: bool = False


@dataclass(frozen=True, slots=True)
class Ddl:
    """A schema change, in order with the rows around it."""

    source: SourceId
    position: Position
    text: str
    """The statement as the source ran it."""
    dialect: Dialect
    """The dialect of `text`."""
    schema: str | None = None
    """The default schema/database the statement ran in."""
    translated: Mapping[str, str] = field(default_factory=dict)
    """Translations by target dialect, e.g. {'postgres': '…'}; filled by the translator."""


@dataclass(frozen=True, slots=True)
class StatementContext:
    """What a statement-based binlog records beside a statement to make it deterministic."""

    timestamp: dt.datetime
    """When the statement started on the source (UTC, microseconds when the server logs them):
    the value of NOW() and its relatives."""
    time_zone: str | None = None
    """The session's time_zone ('+02:00', 'Europe/Paris', 'SYSTEM') when the statement used it."""
    sql_mode: int | None = None
    """The session's sql_mode bits."""
    insert_id: int | None = None
    """The first AUTO_INCREMENT value the statement generated (Intvar INSERT_ID, 64-bit)."""
    last_insert_id: int | None = None
    """The session's LAST_INSERT_ID() when the statement read it (Intvar LAST_INSERT_ID)."""
    rand_seeds: tuple[int, int] | None = None
    """The session's RAND() generator seeds before the statement (Rand event)."""
    user_vars: Mapping[str, Value] = field(default_factory=dict)
    """The @variables the statement read (UserVar events): int, float, Decimal, str, bytes or
    None."""
    auto_increment: tuple[int, int] | None = None
    """(auto_increment_increment, auto_increment_offset) when not (1, 1)."""
    thread_id: int | None = None
    """The source session's id: CONNECTION_ID()."""
    system_time_zone: str | None = None
    """What the source's time_zone 'SYSTEM' stands for (its system zone), when known."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A change the source logged as a statement whose rows only the target's state can give.

    `deterministic` is `text` with every value the source's session supplied written in (the
    `context`), in the same dialect; `translated` holds it for each target dialect. An applier
    runs the translation inside its transaction, after the rows before it.
    """

    source: SourceId
    position: Position
    text: str
    """The statement as the source ran it."""
    dialect: Dialect
    schema: str | None
    """The session's default database."""
    deterministic: str
    """`text` with NOW(), RAND(), @variables, LAST_INSERT_ID() … replaced by their values."""
    context: StatementContext
    tables: tuple[TableName, ...] = ()
    """The tables it changes."""
    translated: Mapping[str, str] = field(default_factory=dict)
    """Translations by target dialect, e.g. {'postgres': '…'}; filled by the translator."""


@dataclass(frozen=True, slots=True)
class Relation:
    """A table's shape at this point of the stream.

    It precedes the table's first row event and follows every change of its shape.
    """

    source: SourceId
    position: Position
    relation: TableName
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Proof of progress while the source is idle; `time` is the source's clock (UTC)."""

    source: SourceId
    position: Position
    time: dt.datetime


RowEvent: TypeAlias = Insert | Update | Delete
Event: TypeAlias = (
    Begin | Commit | Insert | Update | Delete | Truncate | Ddl | Statement | Relation | Heartbeat
)

__all__ = [
    "ABSENT",
    "FORMAT_VERSION",
    "UNCHANGED",
    "Begin",
    "Column",
    "ColumnType",
    "Commit",
    "Ddl",
    "Delete",
    "Event",
    "Heartbeat",
    "Insert",
    "Relation",
    "RowEvent",
    "SourceId",
    "Statement",
    "StatementContext",
    "TableName",
    "Truncate",
    "Update",
]
