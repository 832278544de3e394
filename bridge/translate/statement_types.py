"""The statement translator's data types and errors, apart from the translator itself.

The binlog reader and the pipeline name them on every start; the translator (sqlglot, ~0.15 s to
import) is loaded only when a statement-based binlog event first needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.errors import TranslateError
from bridge.log.events import Column, TableName
from bridge.log.values import Value


class StatementError(TranslateError):
    """A statement of a statement-based binlog that bridge cannot turn into rows or a target
    statement; the stream stops before the transaction that holds it."""

    transaction_start: str | None = None
    """Where the transaction holding it starts (set by the reader or the pipeline): nothing
    from there on may be applied."""


class UnsafeStatementError(StatementError):
    """A statement whose effect a statement-based binlog cannot reproduce (UUID(), LIMIT …)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementPolicy:
    """How statements of a statement-based binlog are handled (docs/architecture.md)."""

    unsafe: Literal["error", "target"] = "error"
    """Irreproducible functions (UUID(), SYSDATE(), USER() …) and per-row RAND(): 'error' stops
    the stream before the transaction; 'target' lets the target evaluate them (UUID() becomes
    a new UUID there, SYSDATE() the target's clock): the copy then differs from the source."""
    sysdate_is_now: bool = False
    """The source runs with --sysdate-is-now: SYSDATE() is the statement's time, like NOW()."""


@dataclass(frozen=True, slots=True)
class TableColumn:
    """A column as a statement needs it: the relation column plus what the server fills in."""

    column: Column
    auto_increment: bool = False
    on_update_now: bool = False
    """ON UPDATE CURRENT_TIMESTAMP: an UPDATE that changes the row sets it to the statement's
    time."""
    default_is_expression: bool = True
    """`column.default` is SQL (MariaDB always; MySQL 8 only for DEFAULT_GENERATED, else it is
    the literal's text)."""

    @property
    def name(self) -> str:
        return self.column.name


@dataclass(frozen=True, slots=True)
class TableSchema:
    """A source table's definition, as `information_schema` describes it."""

    name: TableName
    columns: tuple[TableColumn, ...]
    key: tuple[str, ...] = ()
    """The primary key."""
    unique: tuple[tuple[str, ...], ...] = ()
    """Every unique key (the primary key included), by column names."""

    def find(self, name: str) -> TableColumn | None:
        """A column by name; MySQL column names are case-insensitive."""
        low = name.lower()
        return next((c for c in self.columns if c.name.lower() == low), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def not_null_keys(self) -> list[tuple[str, ...]]:
        """Unique keys whose columns are all NOT NULL: each identifies at most one row."""
        out = []
        for key in self.unique:
            cols = [self.find(k) for k in key]
            if all(c is not None and not c.column.nullable for c in cols):
                out.append(key)
        return out


@dataclass(frozen=True, slots=True)
class Prepared:
    """What one statement becomes (see the module docstring)."""

    kind: Literal["rows", "statement", "ignored"]
    deterministic: str = ""
    """The deterministic text (for rows, only when the translator keeps `texts`)."""
    tables: tuple[TableName, ...] = ()
    """The tables it changes."""
    table: TableSchema | None = None
    """For rows: the table inserted into."""
    rows: tuple[tuple[Value, ...], ...] = ()
    """For rows: full rows in the table's column order."""
    note: str | None = None
