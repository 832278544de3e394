"""DDL translation between MySQL/MariaDB and PostgreSQL: the translator's entry point for `Ddl`
events and for `dbbridge translate`.

`translate_ddl` classifies one statement by its leading keywords (declared tables below): a table
change is parsed with sqlglot and handed to the direction's module (`ddl_to_postgres` for MySQL
sources, `ddl_to_mysql` for PostgreSQL sources); a statement with no effect on replicated tables
(GRANT, CREATE DATABASE, CREATE VIEW, ANALYZE…) comes back as kind 'ignored' with the reason, so
the caller decides; anything else is a TranslateError naming the statement and its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from sqlglot import Token, TokenType

from bridge.errors import TranslateError
from bridge.log.events import TableName
from bridge.translate import ddl_to_mysql, ddl_to_postgres
from bridge.translate.ddl_common import (
    READ_DIALECTS,
    ColumnsLookup,
    DialectName,
    IndexLookup,
    Job,
)
from bridge.translate.types import TypePolicy


@dataclass(frozen=True, slots=True)
class Translation:
    """One source statement translated for the target."""

    statements: tuple[str, ...]
    """Target-dialect SQL, in order, each runnable alone (no trailing ';')."""
    tables: tuple[TableName, ...]
    """Tables the statement creates, changes or drops, as written (schema '' when unqualified)."""
    kind: str
    """create_table, alter_table, rename_table, drop_table, truncate, create_index, drop_index,
    or ignored (no statements; `note` says why)."""
    note: str | None = None
    """What the translation left out or changed on purpose, for the operator."""


# Statement forms we translate, by (verb, object); object None: the verb alone decides.
TRANSLATED: Final = frozenset(
    {
        ("CREATE", "TABLE"),
        ("ALTER", "TABLE"),
        ("RENAME", "TABLE"),
        ("DROP", "TABLE"),
        ("TRUNCATE", None),
        ("CREATE", "INDEX"),
        ("DROP", "INDEX"),
    }
)

# The words that name what CREATE/ALTER/DROP act on (modifiers such as UNIQUE, TEMPORARY,
# OR REPLACE, DEFINER=… come before them and are skipped).
OBJECT_WORDS: Final = frozenset(
    {
        "TABLE", "INDEX", "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "DATABASE",
        "SCHEMA", "USER", "ROLE", "SEQUENCE", "TYPE", "EXTENSION", "SERVER", "TABLESPACE",
        "DOMAIN", "POLICY", "RULE", "PUBLICATION", "SUBSCRIPTION", "AGGREGATE", "OPERATOR",
        "COLLATION", "STATISTICS", "LOGFILE", "PACKAGE", "MATERIALIZED",
    }
)  # fmt: skip

# Why each other statement form has no table effect to replicate, by verb or (verb, object).
IGNORED: Final[Mapping[tuple[str, str | None], str]] = {
    ("GRANT", None): "privileges are not replicated",
    ("REVOKE", None): "privileges are not replicated",
    ("FLUSH", None): "server maintenance",
    ("ANALYZE", None): "statistics are the target's own",
    ("OPTIMIZE", None): "storage maintenance",
    ("REPAIR", None): "storage maintenance",
    ("CHECK", None): "storage maintenance",
    ("VACUUM", None): "storage maintenance",
    ("REINDEX", None): "storage maintenance",
    ("CLUSTER", None): "storage maintenance",
    ("SET", None): "session settings",
    ("USE", None): "the applier sets the default schema itself",
    ("COMMENT", None): "comments on objects are not replicated",
    ("SECURITY", None): "security labels are not replicated",
    ("INSTALL", None): "server plugins",
    ("UNINSTALL", None): "server plugins",
}
IGNORED_OBJECTS: Final[Mapping[str, str]] = {
    "DATABASE": "databases/schemas are created on the target by the operator",
    "SCHEMA": "databases/schemas are created on the target by the operator",
    "VIEW": "views hold no replicated rows; recreate them on the target",
    "MATERIALIZED": "materialized views hold no replicated rows; recreate them on the target",
    "TRIGGER": "triggers do not run for replicated rows; recreate them on the target if needed",
    "PROCEDURE": "routines are not translated",
    "FUNCTION": "routines are not translated",
    "AGGREGATE": "routines are not translated",
    "EVENT": "scheduled events are not replicated",
    "USER": "accounts are not replicated",
    "ROLE": "accounts are not replicated",
    "SEQUENCE": "sequences are not replicated; set identities at cutover",
    "TYPE": "types are created with the columns that use them",
    "DOMAIN": "domains are translated as their base types with the columns that use them",
    "EXTENSION": "extensions are the target's own",
    "SERVER": "server objects are not replicated",
    "TABLESPACE": "storage objects are not replicated",
    "LOGFILE": "storage objects are not replicated",
    "POLICY": "row security is not replicated",
    "RULE": "rules are not replicated",
    "PUBLICATION": "replication objects are the source's own",
    "SUBSCRIPTION": "replication objects are the source's own",
    "OPERATOR": "operators are not translated",
    "COLLATION": "collations are not translated",
    "STATISTICS": "statistics are the target's own",
    "PACKAGE": "routines are not translated",
}

_WORD: Final = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_LEADING_COMMENTS: Final = re.compile(r"\A(?:\s+|/\*.*?\*/|--[^\n]*\n?|#[^\n]*\n?)*", re.S)


def _tokens(sql: str, source: DialectName) -> list[Token]:
    dialect = READ_DIALECTS[source]
    tokenizer = dialect.tokenizer_class() if not isinstance(dialect, str) else None
    if tokenizer is None:
        from sqlglot.dialects.dialect import Dialect  # noqa: PLC0415 - only for the name form

        tokenizer = Dialect.get_or_raise(dialect).tokenizer_class()
    return tokenizer.tokenize(sql)


def classify(sql: str) -> tuple[str, str | None]:
    """(verb, object) of a statement: ('CREATE', 'TABLE'), ('TRUNCATE', None), ('GRANT', None)."""
    # Words, not sqlglot tokens: its tokenizer folds the rest of RENAME/GRANT… into one string.
    words = [w.upper() for w in _WORD.findall(_LEADING_COMMENTS.sub("", sql)[:300])]
    if not words:
        return "", None
    verb = words[0]
    if verb in ("CREATE", "ALTER", "DROP", "RENAME"):
        for word in words[1:12]:
            if word in OBJECT_WORDS:
                return verb, word
    return verb, None


def split_statements(text: str, *, source: DialectName) -> list[str]:
    """The statements of `text` (for `dbbridge translate` input), split at `;` tokens."""
    out: list[str] = []
    start = 0
    for token in _tokens(text, source):
        if token.token_type == TokenType.SEMICOLON:
            out.append(text[start : token.start])
            start = token.end + 1
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


DEFAULT_POLICY: Final = TypePolicy()


def translate_ddl(
    sql_text: str,
    *,
    source: Literal["mysql", "postgres"],
    target: Literal["mysql", "postgres"],
    policy: TypePolicy = DEFAULT_POLICY,
    position: str | None = None,
    columns: ColumnsLookup | None = None,
    index_table: IndexLookup | None = None,
) -> Translation:
    """Translate one DDL statement from `source`'s dialect to `target`'s.

    `columns(table)` returns a table's current columns (the reader's last Relation) or None; it
    is needed where the target restates a whole column (PostgreSQL ALTER COLUMN … TYPE / SET NOT
    NULL -> MySQL MODIFY) and helps elsewhere. `index_table(index)` names the table of a
    PostgreSQL index, which MySQL's DROP INDEX needs.
    """
    job = Job(sql_text.strip().rstrip(";").strip(), source, policy, position, columns, index_table)
    if source == target:
        job.fail(f"source and target are both {source}: nothing to translate")
    verb, obj = classify(job.sql)
    form = (verb, obj if (verb, obj) in TRANSLATED else None)
    if form not in TRANSLATED:
        reason = IGNORED.get((verb, None)) or (IGNORED_OBJECTS.get(obj) if obj else None)
        if reason is None:
            job.fail("not a statement bridge translates (tables and indexes only)")
        return Translation((), (), "ignored", f"{verb} {obj or ''}".strip() + f": {reason}")
    if _is_temporary(job.sql):
        return Translation((), (), "ignored", "temporary tables are not replicated")
    try:
        if source == "mysql":
            _to_postgres(job, form)
        else:
            ddl_to_mysql.translate(job)
    except TranslateError as e:
        if e.message.startswith("cannot translate"):
            raise
        job.fail(e.message, hint=e.hint)
    return Translation(
        tuple(job.statements),
        tuple(dict.fromkeys(job.tables)),
        job.kind,
        "; ".join(job.notes) or None,
    )


def _is_temporary(sql: str) -> bool:
    head = sql.upper().split("(")[0].split()
    return "TEMPORARY" in head[:4] or "TEMP" in head[:4]


def _to_postgres(job: Job, form: tuple[str, str | None]) -> None:
    if form == ("RENAME", "TABLE"):
        ddl_to_postgres.rename_tables(job, _rename_pairs(job))
        return
    if form == ("CREATE", "INDEX") and {"FULLTEXT", "SPATIAL"} & set(job.sql.upper().split()[:3]):
        job.kind = "ignored"
        job.note("FULLTEXT/SPATIAL index skipped: PostgreSQL's differ; create one by hand")
        return
    tree = job.parse()
    handler = ddl_to_postgres.STATEMENTS.get(type(tree))
    if handler is None:
        job.fail(
            f"the translator does not support this statement (sqlglot parses it as"
            f" {type(tree).__name__})",
        )
    handler(job, tree)


def _rename_pairs(job: Job) -> list[tuple[TableName, TableName]]:
    """RENAME TABLE a TO b, db.c TO d: sqlglot keeps it as raw text, so read its tokens."""
    names: list[list[str]] = [[]]
    pairs: list[tuple[TableName, TableName]] = []
    tables: list[TableName] = []
    rest = job.sql.split(None, 1)[1] if len(job.sql.split(None, 1)) > 1 else ""
    for token in _tokens(rest, "mysql")[1:]:  # after TABLE
        if token.token_type == TokenType.COMMA or token.text.upper() == "TO":
            tables.append(_name(job, names[-1]))
            names.append([])
        elif token.token_type != TokenType.DOT:
            names[-1].append(token.text)
    tables.append(_name(job, names[-1]))
    if len(tables) % 2:
        job.fail("RENAME TABLE needs pairs of names")
    for i in range(0, len(tables), 2):
        pairs.append((tables[i], tables[i + 1]))
    return pairs


def _name(job: Job, parts: list[str]) -> TableName:
    if len(parts) == 1:
        return TableName("", parts[0])
    if len(parts) == 2:
        return TableName(parts[0], parts[1])
    raise job.error(f"cannot read the table name {'.'.join(parts)!r}")


__all__ = ["Translation", "classify", "split_statements", "translate_ddl"]
