"""What both DDL directions share: the parse, the job a statement's translation fills, names.

`bridge.translate.ddl` is the entry point; `ddl_to_postgres` (MySQL/MariaDB source) and
`ddl_to_mysql` (PostgreSQL source) walk sqlglot's AST of one statement and append target
statements to a `Job`. Output SQL is written here, identifier by identifier, always quoted:
sqlglot's own generator is used only for expressions (defaults, checks), never for types
(shared/FACTS.md lists what its transpile gets wrong).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, NoReturn

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError

from bridge.errors import TranslateError
from bridge.log.events import Column, TableName
from bridge.translate.types import TypePolicy, quote_mysql, quote_pg

DialectName = Literal["mysql", "postgres"]
ColumnsLookup = Callable[[TableName], Sequence[Column] | None]
IndexLookup = Callable[[TableName], TableName | None]


class BridgeMysql(MySQL):
    """MySQL as the server reads it: sqlglot reads INT8 as TINYINT and REAL as FLOAT, but for
    MySQL INT8 is BIGINT and REAL is DOUBLE (unless sql_mode has REAL_AS_FLOAT)."""

    class Tokenizer(MySQL.Tokenizer):
        KEYWORDS = {  # noqa: RUF012 - sqlglot's own convention for dialect tables
            **MySQL.Tokenizer.KEYWORDS,
            "INT8": TokenType.BIGINT,
            "REAL": TokenType.DOUBLE,
            "INT3": TokenType.MEDIUMINT,
            "MIDDLEINT": TokenType.MEDIUMINT,
        }


READ_DIALECTS: dict[str, type[sqlglot.Dialect] | str] = {
    "mysql": BridgeMysql,
    "postgres": "postgres",
}


class _DropFallbackWarning(logging.Filter):
    """sqlglot logs a warning when it falls back to a raw Command; we report those ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    logger = logging.getLogger("sqlglot")
    quiet = _DropFallbackWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


BY_HAND = (
    "make the same change on the target by hand, then run again with --skip-ddl POSITION (the"
    " position above) to go past exactly this statement"
)
"""How a user gets past a statement the translator refuses, without skipping it silently."""


def shorten(sql: str, limit: int = 80) -> str:
    """One line of at most `limit` characters, for messages."""
    one = " ".join(sql.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


@dataclass(slots=True)
class Job:
    """One statement's translation in progress: what it produced and what it needs."""

    sql: str
    source: DialectName
    policy: TypePolicy
    position: str | None = None
    columns: ColumnsLookup | None = None
    index_table: IndexLookup | None = None
    statements: list[str] = field(default_factory=list)
    tables: list[TableName] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "ignored"

    def parse(self) -> exp.Expression:
        """The statement's AST; a parse error is a TranslateError naming the statement."""
        try:
            with _quiet_sqlglot():
                trees = [t for t in sqlglot.parse(self.sql, read=READ_DIALECTS[self.source]) if t]
        except (ParseError, TokenError) as e:
            self.fail(f"cannot parse it as {self.source}: {str(e).splitlines()[0]}")
        if len(trees) != 1:
            self.fail(f"expected one statement, found {len(trees)}")
        tree = trees[0]
        if not isinstance(tree, exp.Expression):
            self.fail(
                f"the translator does not support it (sqlglot parses it as {type(tree).__name__})"
            )
        return tree

    def fail(self, reason: str, *, hint: str | None = None) -> NoReturn:
        raise self.error(reason, hint=hint)

    def error(self, reason: str, *, hint: str | None = None) -> TranslateError:
        """The TranslateError for this statement: what, where, and how to fix it."""
        return TranslateError(
            f"cannot translate {shorten(self.sql)!r}: {reason}",
            hint=hint or BY_HAND,
            position=self.position,
            table=_display(self.tables[0]) if self.tables else None,
        )

    def emit(self, statement: str) -> None:
        self.statements.append(statement)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def lookup(self, table: TableName) -> dict[str, Column] | None:
        """The table's current columns by name, when the caller gave a lookup that knows it."""
        found = self.columns(table) if self.columns else None
        return None if found is None else {c.name: c for c in found}


# ------------------------------------------------------------------------------------- names


def _display(t: TableName) -> str:
    return f"{t.schema}.{t.name}" if t.schema else t.name


def table_name(node: exp.Expression) -> TableName:
    """The name as written: schema '' when unqualified."""
    if isinstance(node, exp.Table):
        return TableName(node.db or "", node.name)
    return TableName("", node.name)


def pg_table(t: TableName) -> str:
    return f"{quote_pg(t.schema)}.{quote_pg(t.name)}" if t.schema else quote_pg(t.name)


def mysql_table(t: TableName) -> str:
    return f"{quote_mysql(t.schema)}.{quote_mysql(t.name)}" if t.schema else quote_mysql(t.name)


_PG_NAME_MAX = 63


def pg_index_name(table: TableName, index: str) -> str:
    """PostgreSQL name of MySQL index `index` of `table` (unquoted).

    MySQL index names are per table, PostgreSQL's per schema, so every index gets its table's
    name as a prefix: `<table>_<index>`. Past PostgreSQL's 63 bytes, the name is cut and ends in
    a hash of the whole name, so it stays deterministic and DROP INDEX finds it again.
    """
    full = f"{table.name}_{index}"
    if len(full.encode()) <= _PG_NAME_MAX:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    head = full.encode()[: _PG_NAME_MAX - 9].decode(errors="ignore")
    return f"{head}_{digest}"


def pg_qualified(table: TableName, name: str) -> str:
    """An object `name` in `table`'s schema (indexes and types live there)."""
    return pg_table(TableName(table.schema, name))


def identifier(node: exp.Expression | None) -> str:
    """The name an Identifier/Column/Table node stands for."""
    if node is None:
        return ""
    if isinstance(node, exp.Identifier):
        return str(node.this)
    return node.name


def column_names(nodes: Sequence[exp.Expression]) -> list[str]:
    """Column names of an index or key list (Ordered, Column, Identifier; prefix lengths)."""
    return [key_part(node)[0] for node in nodes]


def key_part(node: exp.Expression) -> tuple[str, bool, bool]:
    """(column, descending, had a prefix length) of one key part: `a`, `a DESC`, `b(10)`."""
    desc = isinstance(node, exp.Ordered) and bool(node.args.get("desc"))
    inner = node.this if isinstance(node, exp.Ordered) else node
    if isinstance(inner, exp.ColumnPrefix):
        return identifier(inner.this), desc, True
    args = inner.expressions if isinstance(inner, exp.Anonymous) else []
    if len(args) == 1 and isinstance(args[0], exp.Literal) and args[0].is_int:
        return str(inner.this), desc, True  # `name(10)` in CREATE INDEX reads as a call
    if not isinstance(inner, exp.Column | exp.Identifier):
        raise TypeError(f"an expression key part: {inner.sql()}")
    return identifier(inner), desc, False
