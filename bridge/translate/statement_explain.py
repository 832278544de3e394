"""`dbbridge translate` for statements of a statement-based binlog: show the rewrite.

Given a MySQL DML statement and the binlog context it would come with (timestamp, time zone,
RAND seeds, INSERT_ID, LAST_INSERT_ID, @variables), show what the statement translator makes
of it: the deterministic MySQL text, and — when the table definitions are available from a
source server — what the PostgreSQL applier would run (or that it becomes insert row events).
"""

from __future__ import annotations

from bridge.errors import ConfigError
from bridge.log.events import SourceId, Statement, StatementContext
from bridge.positions import BinlogPosition
from bridge.translate.ddl import Translation
from bridge.translate.statement_types import StatementPolicy
from bridge.translate.statements import Analysis, SchemaLookup, StatementTranslator, parse
from bridge.translate.statements_pg import to_postgres_statements
from bridge.translate.types import TypePolicy

_NOWHERE = BinlogPosition("mysql-bin.000001", 4)


def explain_statement(
    text: str,
    *,
    context: StatementContext,
    schema: str | None,
    target: str,
    lookup: SchemaLookup | None = None,
    policy: TypePolicy | None = None,
    statement_policy: StatementPolicy | None = None,
    position: str | None = None,
) -> Translation:
    """The rewrite of one DML statement (see the module docstring)."""
    if lookup is None:
        # No table definitions: the deterministic text only.
        translator = StatementTranslator(lambda _name: None, policy=statement_policy)
        parsed = parse(text, position=position)
        if parsed is None:
            return Translation((), (), "ignored", "no data effect")
        a = Analysis(
            translator, parsed, schema=schema, context=context, text=text, position=position
        )
        a.substitute()
        tables = tuple(t.name for t in a.written)
        note = "deterministic MySQL text"
        if target == "postgres":
            note += "; the PostgreSQL form needs the table definitions: pass --source DSN"
        return Translation((parsed.mysql(),), tables, "statement", note)
    translator = StatementTranslator(lookup, policy=statement_policy)
    translator.texts = True
    prepared = translator.prepare(text, schema=schema, context=context, position=position)
    if prepared.kind == "ignored":
        return Translation((), prepared.tables, "ignored", prepared.note)
    if target == "mysql":
        return Translation((prepared.deterministic,), prepared.tables, "statement", None)
    ev = Statement(
        SourceId("mysql", "", ""),
        _NOWHERE,
        text,
        "mysql",
        schema,
        prepared.deterministic,
        context,
        prepared.tables,
    )
    pg = to_postgres_statements(ev, lookup=lookup, policy=policy, statement_policy=statement_policy)
    note = f"deterministic MySQL text: {prepared.deterministic}"
    if prepared.kind == "rows":
        note += f"; the reader makes {len(prepared.rows)} insert row event(s) of it"
    return Translation(tuple(pg.split(";\n")), prepared.tables, prepared.kind, note)


def parse_var(item: str) -> tuple[str, object]:
    """`--var name=value`: an integer, a decimal, a float (with an exponent), NULL, or a
    string (quotes optional)."""
    from decimal import Decimal  # noqa: PLC0415

    name, sep, value = item.partition("=")
    name = name.strip().lstrip("@").lower()
    if not sep or not name:
        raise ConfigError(f"--var takes name=value, not {item!r}")
    v = value.strip()
    if v.upper() == "NULL":
        return name, None
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return name, v[1:-1]
    try:
        if "e" in v.lower():
            return name, float(v)
        if "." in v:
            return name, Decimal(v)
        return name, int(v)
    except ValueError:
        return name, v


def cli_context(
    *,
    timestamp: str | None,
    time_zone: str | None,
    rand_seeds: str | None,
    insert_id: int | None,
    last_insert_id: int | None,
    variables: tuple[str, ...],
    auto_increment: str | None,
    thread_id: int | None = None,
) -> StatementContext | None:
    """A binlog context from `dbbridge translate` options (None when none is given)."""
    import datetime as dt  # noqa: PLC0415

    given = (timestamp, time_zone, rand_seeds, insert_id, last_insert_id, auto_increment)
    if all(v is None for v in given) and not variables and thread_id is None:
        return None
    when = dt.datetime.now(dt.UTC)
    if timestamp is not None:
        try:
            when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(f"--timestamp takes an ISO time, not {timestamp!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    return StatementContext(
        timestamp=when,
        time_zone=time_zone,
        rand_seeds=_pair(rand_seeds, "--rand-seeds") if rand_seeds else None,
        insert_id=insert_id,
        last_insert_id=last_insert_id,
        user_vars=dict(parse_var(v) for v in variables),  # type: ignore[misc]
        auto_increment=_pair(auto_increment, "--auto-increment") if auto_increment else None,
        thread_id=thread_id,
    )


def _pair(text: str, option: str) -> tuple[int, int]:
    try:
        a, b = (int(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"{option} takes two integers, N,M, not {text!r}") from None
    return a, b
