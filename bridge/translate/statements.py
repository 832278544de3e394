"""Statement-based (and MIXED) MySQL binlogs -> deterministic statements and row events.

A statement-based binlog holds the statement a client ran plus what a replica needs to run it
again to the same effect: the start time, RAND() seeds, INSERT_ID / LAST_INSERT_ID, the
@variables read, sql_mode and time_zone (`StatementContext`, decoded by
`bridge.readers.binlogcontext`). `StatementTranslator.prepare` turns one such statement into:

- **rows**: `INSERT … VALUES` / `INSERT … SET` whose values are all constants once the context
  is written in become insert row events, with every column filled as the server fills it:
  defaults from the table's definition, AUTO_INCREMENT values from INSERT_ID (64-bit), stepped
  by auto_increment_increment/offset as a replica steps them (`statement_values` computes the
  stored values);
- **statement**: anything whose rows depend on the target's state (UPDATE/DELETE … WHERE,
  INSERT … SELECT, REPLACE, INSERT IGNORE, ON DUPLICATE KEY UPDATE, or values only the target
  can compute) becomes a `Statement` event: its text with every nondeterministic function
  replaced by the value the source used (`deterministic`), plus the context.
  `bridge.translate.statements_pg` translates it for a PostgreSQL applier, which runs it inside
  its transaction with RETURNING so the rows it changed are known;
- **ignored**: statements without a data effect (SET, DO).

What cannot be reproduced stops with `UnsafeStatementError` naming the statement, its position
and the fix: UUID(), UUID_SHORT(), SYSDATE() (unless the source runs with --sysdate-is-now),
USER() and friends, LOAD_FILE(), FOUND_ROWS(), ROW_COUNT(), locks, sequences, UPDATE/DELETE …
LIMIT without an ORDER BY on a NOT NULL unique key, and RAND() evaluated once per row of a
multi-row UPDATE/DELETE/INSERT … SELECT (its values follow the order the source visited the
rows in). `StatementPolicy(unsafe="target")` is the documented opt-in that lets the target
evaluate such functions itself (values then differ from the source's).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from bridge.errors import TranslateError
from bridge.log.events import StatementContext, TableName
from bridge.log.values import Value
from bridge.translate import statement_values as sv
from bridge.translate.mysqlrand import MysqlRand, rand_n
from bridge.translate.statement_types import (
    Prepared,
    StatementError,
    StatementPolicy,
    TableColumn,
    TableSchema,
    UnsafeStatementError,
)
from bridge.translate.statement_values import postgres_time_zone, session_zone

__all__ = ["postgres_time_zone", "session_zone"]  # part of this module's interface

# sql_mode bits (MariaDB sql_class.h / MySQL system_variables.h; the same for these).
MODE_PIPES_AS_CONCAT: Final = 1 << 1
MODE_ANSI_QUOTES: Final = 1 << 2
MODE_NO_AUTO_VALUE_ON_ZERO: Final = 1 << 19
MODE_NO_BACKSLASH_ESCAPES: Final = 1 << 20

_HEAD_RE = re.compile(
    r"^(?P<lead>(?:\s+|/\*(?!!).*?\*/|#[^\n]*\n|--\s[^\n]*\n)*)"
    r"(?P<verb>INSERT|REPLACE|UPDATE|DELETE)\b"
    r"(?P<mods>(?:\s+(?:LOW_PRIORITY|HIGH_PRIORITY|DELAYED|QUICK|IGNORE)\b)*)",
    re.IGNORECASE | re.DOTALL,
)
_NO_EFFECT_RE = re.compile(
    r"^(?:\s+|/\*(?!!).*?\*/|#[^\n]*\n|--\s[^\n]*\n)*(?:SET|DO)\b", re.IGNORECASE | re.DOTALL
)

# Functions whose value a statement-based binlog does not carry: (why, the binlog format that
# avoids the problem). MIXED logs the statements MySQL itself calls unsafe as rows.
_MIXED = "binlog_format = MIXED or ROW"
_UNSAFE_NAMES: Final = {
    "UUID": _MIXED,
    "UUID_SHORT": _MIXED,
    "SYS_GUID": _MIXED,
    "SYSDATE": _MIXED,
    "USER": _MIXED,
    "SESSION_USER": _MIXED,
    "SYSTEM_USER": _MIXED,
    "CURRENT_USER": _MIXED,
    "CURRENT_ROLE": _MIXED,
    "LOAD_FILE": _MIXED,
    "FOUND_ROWS": _MIXED,
    "ROW_COUNT": _MIXED,
    "GET_LOCK": _MIXED,
    "RELEASE_LOCK": _MIXED,
    "RELEASE_ALL_LOCKS": _MIXED,
    "IS_FREE_LOCK": _MIXED,
    "IS_USED_LOCK": _MIXED,
    "MASTER_POS_WAIT": _MIXED,
    "MASTER_GTID_WAIT": _MIXED,
    "SOURCE_POS_WAIT": _MIXED,
    "NEXTVAL": _MIXED,
    "LASTVAL": _MIXED,
    "SETVAL": _MIXED,
}
_UNSAFE_NODES: Final[dict[type[exp.Expr], str]] = {
    exp.Uuid: "UUID",
    exp.CurrentUser: "CURRENT_USER",
    exp.SessionUser: "SESSION_USER",
}


SchemaLookup = Callable[[TableName], TableSchema | None]
"""A table's current definition on the source, or None when it does not exist."""

Cell = Value | exp.Expr
"""One value of an INSERT row: computed, or an expression only the target can evaluate."""


@dataclass(slots=True)
class Parsed:
    """A DML statement parsed, with the modifiers sqlglot does not read kept aside."""

    verb: str
    """insert, replace, update or delete."""
    modifiers: tuple[str, ...]
    tree: exp.Expr

    @property
    def ignore(self) -> bool:
        return "IGNORE" in self.modifiers

    def mysql(self) -> str:
        """The statement as MySQL text again (REPLACE and modifiers put back)."""
        text = self.tree.sql("mysql")
        first, rest = text.split(" ", 1)
        verb = "REPLACE" if self.verb == "replace" else first
        return " ".join([verb, *self.modifiers, rest])


def parse(text: str, *, position: str | None = None) -> Parsed | None:
    """The statement's tree; None for statements without a data effect (SET, DO)."""
    m = _HEAD_RE.match(text)
    if m is None:
        if _NO_EFFECT_RE.match(text):
            return None
        raise StatementError(
            f"a statement-based change {_short(text)!r} that bridge cannot reproduce as rows",
            hint="switch the source to binlog_format = ROW",
            position=position,
        )
    verb = m.group("verb").upper()
    mods = tuple(w.upper() for w in m.group("mods").split())
    body = m.group("lead") + ("INSERT" if verb == "REPLACE" else verb) + text[m.end() :]
    try:
        tree = sqlglot.parse_one(body, read="mysql")
    except ParseError as e:
        raise StatementError(
            f"cannot parse the statement {_short(text)!r}: {str(e).splitlines()[0]}",
            hint="switch the source to binlog_format = ROW",
            position=position,
        ) from e
    if not isinstance(tree, exp.Insert | exp.Update | exp.Delete):
        raise StatementError(
            f"cannot parse the statement {_short(text)!r}",
            hint="switch the source to binlog_format = ROW",
            position=position,
        )
    return Parsed(verb.lower(), mods, tree)


def _short(text: str, n: int = 120) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


# ---------------------------------------------------------------------------------- translator


@dataclass(frozen=True, slots=True)
class Target:
    """A table a statement names, with the name it goes by inside the statement."""

    name: TableName
    alias: str
    """The alias, or the table's own name."""
    node: exp.Table


class StatementTranslator:
    """Prepares the statements of one source (see the module docstring)."""

    def __init__(
        self,
        lookup: SchemaLookup,
        *,
        policy: StatementPolicy | None = None,
        mariadb: bool = True,
        want: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.lookup = lookup
        self.policy = policy or StatementPolicy()
        self.mariadb = mariadb
        self.want = want
        """Which tables are replicated (schema, table); statements changing none are ignored
        before anything else is checked."""
        self.texts = False
        """Also write the deterministic text of statements that became rows (for display)."""

    def prepare(
        self,
        text: str,
        *,
        schema: str | None,
        context: StatementContext,
        position: str | None = None,
    ) -> Prepared:
        parsed = parse(text, position=position)
        if parsed is None:
            return Prepared("ignored", note="no data effect")
        a = Analysis(self, parsed, schema=schema, context=context, text=text, position=position)
        want = self.want
        if want is not None and not any(want(t.name.schema, t.name.name) for t in a.written):
            return Prepared("ignored", note="changes no replicated table")
        return a.prepare()


class Analysis:
    """One statement being made deterministic (shared with `statements_pg`)."""

    def __init__(
        self,
        translator: StatementTranslator,
        parsed: Parsed,
        *,
        schema: str | None,
        context: StatementContext,
        text: str,
        position: str | None,
    ) -> None:
        self.t = translator
        self.parsed = parsed
        self.tree = parsed.tree
        self.schema = schema
        self.context = context
        self.text = text
        self.position = position
        self._zone: dt.tzinfo | None = None
        self._defaults: dict[str, Cell] = {}
        self._check_sql_mode()
        self.targets = self._targets()
        self.written = self._written()

    @property
    def zone(self) -> dt.tzinfo:
        """The session's time zone (looked up only when a value needs it: a statement on a
        table that is not replicated never fails on it)."""
        if self._zone is None:
            try:
                self._zone = session_zone(self.context)
            except TranslateError as e:
                self.error(e.message, hint=e.hint or "")
        return self._zone

    # -- errors -------------------------------------------------------------------------------

    def error(
        self, what: str, *, hint: str = "switch the source to binlog_format = ROW"
    ) -> NoReturn:
        raise StatementError(
            f"the statement {_short(self.text)!r}: {what}", hint=hint, position=self.position
        )

    def unsafe(self, why: str, fix: str = _MIXED) -> None:
        if self.t.policy.unsafe == "target":
            return
        raise UnsafeStatementError(
            f"a statement-based binlog cannot reproduce {_short(self.text)!r}: {why}",
            hint=f"switch the source to {fix} (SET GLOBAL binlog_format, and in my.cnf), then"
            " restart; or let the target compute such values: StatementPolicy(unsafe='target'),"
            " see docs/architecture.md",
            position=self.position,
        )

    def _check_sql_mode(self) -> None:
        mode = self.context.sql_mode or 0
        text = self.text
        for bit, char, name in (
            (MODE_ANSI_QUOTES, '"', "ANSI_QUOTES"),
            (MODE_NO_BACKSLASH_ESCAPES, "\\", "NO_BACKSLASH_ESCAPES"),
            (MODE_PIPES_AS_CONCAT, "||", "PIPES_AS_CONCAT"),
        ):
            if mode & bit and char in text:
                self.error(f"sql_mode {name} changes how it reads, and bridge reads it without")

    # -- tables -------------------------------------------------------------------------------

    def table_name(self, node: exp.Table) -> TableName:
        db = node.db or self.schema
        if not db:
            self.error(
                f"no database for table {node.name!r}",
                hint="name the session's database (dbbridge translate: --schema DB)",
            )
        return TableName(str(db), node.name)

    def _targets(self) -> list[Target]:
        tree = self.tree
        first = tree.this
        if isinstance(first, exp.Schema):
            first = first.this
        if not isinstance(first, exp.Table):
            self.error("its target is not a table")
        tables = [first, *(j.this for j in first.args.get("joins") or ())]
        using = tree.args.get("using")
        if isinstance(using, list):
            for u in using:
                tables.extend([u, *(j.this for j in u.args.get("joins") or ())])
        out = []
        for node in tables:
            if not isinstance(node, exp.Table):
                self.error("it reads a subquery or a derived table in its table list")
            out.append(Target(self.table_name(node), node.alias_or_name, node))
        return out

    def target(self, qualifier: str | None) -> Target | None:
        """The table a column qualifier (alias, name or 'db.t') names."""
        if qualifier is None:
            return self.targets[0] if len(self.targets) == 1 else None
        return next((t for t in self.targets if t.alias == qualifier), None)

    def _written(self) -> list[Target]:
        tree = self.tree
        if isinstance(tree, exp.Delete):
            names = tree.args.get("tables")
            if not names:
                return [self.targets[0]]
            out = []
            for n in names:
                t = self.target(n.name)
                if t is None:
                    self.error(f"it deletes from {n.name!r}, which it does not join")
                out.append(t)
            return out
        if isinstance(tree, exp.Update):
            out = []
            for assignment in tree.expressions:
                col = assignment.this
                t = self.column_target(col) if isinstance(col, exp.Column) else None
                if t is None:
                    self.error("cannot tell which table one of its SET columns belongs to")
                if t not in out:
                    out.append(t)
            return out
        return [self.targets[0]]

    def column_target(self, col: exp.Column) -> Target | None:
        if col.table:
            return self.target(col.table)
        if len(self.targets) == 1:
            return self.targets[0]
        found = [t for t in self.targets if (s := self.schema_of(t)) and s.find(col.name)]
        return found[0] if len(found) == 1 else None

    def schema_of(self, target: Target) -> TableSchema | None:
        return self.t.lookup(target.name)

    def table_schema(self, target: Target) -> TableSchema:
        s = self.t.lookup(target.name)
        if s is None:
            self.error(f"the table {target.name} is not on the source (any more)")
        return s

    # -- deterministic values -----------------------------------------------------------------

    def substitute(self) -> None:
        """Write the context's values into the tree; stop at what cannot be reproduced."""
        self._check_unsafe()
        self._rand()
        self.tree = replace_bottom_up(self.tree, lambda n: self._value_of(n, self.context))
        self.parsed.tree = self.tree

    def _check_unsafe(self) -> None:
        for node in self.tree.walk():
            name = _UNSAFE_NODES.get(type(node))
            if name is None and isinstance(node, exp.Anonymous):
                name = str(node.this).upper()
                if name == "SYSDATE" and self.t.policy.sysdate_is_now:
                    continue
                if name not in _UNSAFE_NAMES:
                    continue
            if name is not None:
                self.unsafe(f"{name}() has a value the binlog does not record")

    def _value_of(self, node: exp.Expr, ctx: StatementContext) -> exp.Expr | None:  # noqa: PLR0911
        if isinstance(node, exp.Parameter):  # @variable
            name = node.name.lower()
            return sv.value_literal(ctx.user_vars.get(name))  # type: ignore[arg-type]
        now = self._time_value(node, ctx)
        if now is not None:
            return now
        if isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
            if name == "LAST_INSERT_ID":
                if node.expressions:
                    return exp.Paren(this=node.expressions[0].copy())
                if ctx.last_insert_id is None:
                    self.error("LAST_INSERT_ID() without its value in the binlog")
                return exp.Literal.number(ctx.last_insert_id)
            if name == "CONNECTION_ID" and ctx.thread_id is not None:
                return exp.Literal.number(ctx.thread_id)
            if name == "SLEEP":
                return exp.Literal.number(0)  # the statement waited on the source already
            if name == "UNIX_TIMESTAMP" and not node.expressions:
                return exp.Literal.number(int(ctx.timestamp.timestamp()))
        if isinstance(node, exp.CurrentSchema) and self.schema:
            return exp.Literal.string(self.schema)
        return None

    def _time_value(  # noqa: PLR0912 - one branch per function of the NOW() family
        self, node: exp.Expr, ctx: StatementContext
    ) -> exp.Expr | None:
        kind: str | None = None
        fsp_node: exp.Expr | None = None
        if isinstance(node, exp.CurrentTimestamp | exp.Localtimestamp | exp.Localtime):
            kind, fsp_node = "now", node.this
        elif isinstance(node, exp.UtcTimestamp):
            kind, fsp_node = "utc_now", node.this
        elif isinstance(node, exp.CurrentDate):
            kind = "today"
        elif isinstance(node, exp.UtcDate):
            kind = "utc_today"
        elif isinstance(node, exp.CurrentTime):
            kind, fsp_node = "time", node.this
        elif isinstance(node, exp.UtcTime):
            kind, fsp_node = "utc_time", node.this
        elif isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
            sysdate = name == "SYSDATE" and self.t.policy.sysdate_is_now
            if name in ("NOW", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP") or sysdate:
                kind = "now"
            elif name in ("CURTIME", "CURRENT_TIME"):
                kind = "time"
            elif name in ("CURDATE", "CURRENT_DATE"):
                kind = "today"
            elif name == "UTC_TIME":
                kind = "utc_time"
            fsp_node = node.expressions[0] if node.expressions else None
        if kind is None:
            return None
        fsp = 0
        if isinstance(fsp_node, exp.Literal) and not fsp_node.is_string:
            fsp = min(6, int(fsp_node.this))
        # The statement's time: the header's seconds plus MariaDB's microseconds, cut to the
        # precision asked for (NOW() has none; NOW(6) all of them).
        utc = ctx.timestamp.astimezone(dt.UTC)
        at = utc if kind.startswith("utc") else utc.astimezone(self.zone)
        local = at.replace(tzinfo=None)
        local = local.replace(microsecond=local.microsecond - local.microsecond % 10 ** (6 - fsp))
        if kind.endswith("today"):
            return sv.date_literal(local.date())
        if kind.endswith("time"):
            return sv.time_literal(local.time(), fsp)
        return sv.datetime_literal(local, fsp)

    def _rand(self) -> None:
        """RAND() from the session seeds, RAND(N) from N: literals where each call is evaluated
        once; RAND(expr) of a per-row value stays (it is deterministic per row)."""
        calls = [n for n in self.tree.walk(bfs=False) if isinstance(n, exp.Rand)]
        if not calls:
            return
        constant: list[tuple[exp.Rand, int | None]] = []
        for call in calls:
            if call.this is None:
                constant.append((call, None))
                continue
            try:
                seed = sv.evaluate(call.this)
            except sv.NotConstant:
                continue  # RAND(col): re-seeded on every row, a function of the row
            constant.append((call, sv.seed_int(seed)))
        if not constant:
            return
        if not self._each_call_once(constant):
            self.unsafe(
                "RAND() is drawn once per row, in the order the source visited the rows",
                fix="binlog_format = ROW",
            )
            return
        session: MysqlRand | None = None
        for call, seed in constant:
            if seed is None:
                if self.context.rand_seeds is None:
                    self.error("RAND() without its seeds in the binlog")
                if session is None:
                    session = MysqlRand(*self.context.rand_seeds)
                value = session.next()
            else:
                value = rand_n(seed)
            call.replace(sv.double_literal(value))

    def _each_call_once(self, calls: Sequence[tuple[exp.Rand, int | None]]) -> bool:
        """Whether each RAND call is evaluated exactly once: INSERT … VALUES rows, or a
        single-table UPDATE/DELETE that pins one row by a unique key (RAND() in SET only)."""
        tree = self.tree
        if isinstance(tree, exp.Insert):
            values = tree.expression
            conflict = tree.args.get("conflict")
            inside_values = all(c.find_ancestor(exp.Values) is values for c, _ in calls)
            return isinstance(values, exp.Values) and inside_values and conflict is None
        if isinstance(tree, exp.Update) and len(self.targets) == 1:
            where = tree.args.get("where")
            if where is not None and any(c.find_ancestor(exp.Where) for c, _ in calls):
                return False
            return self.pins_one_row(where)
        return False

    def pins_one_row(self, where: exp.Expr | None) -> bool:
        """Whether WHERE fixes every column of a NOT NULL unique key to a constant."""
        if where is None or len(self.targets) != 1:
            return False
        schema = self.schema_of(self.targets[0])
        if schema is None:
            return False
        fixed = set()
        for term in _conjuncts(where.this if isinstance(where, exp.Where) else where):
            if not isinstance(term, exp.EQ):
                continue
            for col, other in ((term.this, term.expression), (term.expression, term.this)):
                if isinstance(col, exp.Column) and _is_constant(other):
                    fixed.add(col.name.lower())
        return any(all(k.lower() in fixed for k in key) for key in schema.not_null_keys())

    # -- the statement kinds ------------------------------------------------------------------

    def prepare(self) -> Prepared:
        self.substitute()
        tables = tuple(t.name for t in self.written)
        tree = self.tree
        if isinstance(tree, exp.Update | exp.Delete):
            self._check_limit()
            return Prepared("statement", self.parsed.mysql(), tables)
        values = tree.expression
        if (
            isinstance(values, exp.Values)
            and self.parsed.verb == "insert"
            and not (self.parsed.ignore or tree.args.get("conflict"))
        ):
            schema = self.table_schema(self.targets[0])
            rows = self.insert_rows(schema)
            if all(not isinstance(c, exp.Expr) for row in rows for c in row):
                # The rows are the result; their text only for who shows it (a fifth of
                # the time of a multi-row INSERT goes into writing SQL back out).
                text = self.parsed.mysql() if self.t.texts else ""
                return Prepared("rows", text, tables, schema, rows)  # type: ignore[arg-type]
        elif not isinstance(values, exp.Values):
            self._check_insert_select()
        elif tree.args.get("conflict") is not None and (
            len(self.table_schema(self.targets[0]).unique) > 1
        ):
            self.unsafe(
                "ON DUPLICATE KEY UPDATE on a table with several unique keys depends on"
                " which key conflicts first"
            )
        return Prepared("statement", self.parsed.mysql(), tables)

    def _check_limit(self) -> None:
        tree = self.tree
        if tree.args.get("limit") is None:
            return
        if self.ordered_by_key(tree.args.get("order")) is None:
            self.unsafe(
                "LIMIT without an ORDER BY on a NOT NULL unique key picks rows in an order only"
                " the source knew"
            )

    def ordered_by_key(self, order: exp.Expr | None) -> TableSchema | None:
        """The target's schema when ORDER BY is a total order both engines agree on: plain
        columns, none of them text (collations order text differently), covering a NOT NULL
        unique key."""
        if order is None or len(self.targets) != 1:
            return None
        schema = self.schema_of(self.targets[0])
        if schema is None:
            return None
        names = set()
        for o in order.expressions:
            col = o.this if isinstance(o, exp.Ordered) else o
            if not isinstance(col, exp.Column):
                return None
            c = schema.find(col.name)
            if c is None or c.column.type.kind in ("text", "enum", "set", "json", "bytes"):
                return None
            names.add(c.name.lower())
        keys = schema.not_null_keys()
        return schema if any(all(k.lower() in names for k in key) for key in keys) else None

    def _check_insert_select(self) -> None:
        """INSERT … SELECT that makes AUTO_INCREMENT values depends on the order of the rows it
        reads; REPLACE/ON DUPLICATE KEY UPDATE … SELECT on the order conflicts resolve in."""
        schema = self.table_schema(self.targets[0])
        auto = next((c for c in schema.columns if c.auto_increment), None)
        given = self.insert_columns(schema)
        if auto is not None and auto not in given:
            select = self.tree.expression
            order = select.args.get("order") if isinstance(select, exp.Select) else None
            if order is None:
                self.unsafe(
                    "INSERT … SELECT generates AUTO_INCREMENT values in the order the source"
                    " read the rows (add ORDER BY on a unique key, or log rows)"
                )
        replaces = self.parsed.verb == "replace" or self.tree.args.get("conflict") is not None
        if replaces and len(schema.unique) > 1:
            self.unsafe(
                "REPLACE / ON DUPLICATE KEY UPDATE on a table with several unique keys"
                " depends on which key conflicts first"
            )

    # -- INSERT rows --------------------------------------------------------------------------

    def insert_columns(self, schema: TableSchema) -> list[TableColumn]:
        """The columns an INSERT names, in its order (every column when it names none)."""
        target = self.tree.this
        if not isinstance(target, exp.Schema) or not target.expressions:
            return list(schema.columns)
        out = []
        for ident in target.expressions:
            c = schema.find(ident.name)
            if c is None:
                self.error(f"the table {schema.name} has no column {ident.name!r}")
            out.append(c)
        return out

    def insert_rows(self, schema: TableSchema) -> tuple[tuple[Cell, ...], ...]:
        """Full rows (the table's column order) of INSERT … VALUES, as the server fills them."""
        given = self.insert_columns(schema)
        values = self.tree.expression
        rows = []
        for tup in values.expressions:
            items = tup.expressions if isinstance(tup, exp.Tuple) else [tup]
            named: dict[str, exp.Expr] = {}
            if items:  # VALUES () gives every column its default
                if len(items) != len(given):
                    self.error("its column count does not match its value count")
                named = {c.name: e for c, e in zip(given, items, strict=True)}
            rows.append(self._row(schema, named))
        return self._auto_increment(schema, rows)

    def _row(self, schema: TableSchema, named: dict[str, exp.Expr]) -> list[Cell]:
        row: list[Cell] = []
        for c in schema.columns:
            node = named.get(c.name)
            if node is None or (isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"):
                row.append(self.default(c))
                continue
            try:
                row.append(self.store(sv.evaluate(node), c))
            except sv.NotConstant:
                row.append(node)
        return row

    def store(self, value: sv.Plain, column: TableColumn) -> Value:
        return sv.store(value, column.column, zone=self.zone, mariadb=self.t.mariadb)

    def default(self, column: TableColumn) -> Cell:
        """The value an INSERT that leaves `column` out stores (computed once per statement:
        it depends on the column and the statement's context only)."""
        if column.name not in self._defaults:
            self._defaults[column.name] = self._default(column)
        cell = self._defaults[column.name]
        return cell.copy() if isinstance(cell, exp.Expr) else cell

    def _default(self, column: TableColumn) -> Cell:  # noqa: PLR0911 - one return per source
        c = column.column
        if column.auto_increment:
            return None  # generated below
        text = c.default
        if text is None or text.upper() == "NULL":
            if c.nullable:
                return None
            try:
                return sv.implicit_default(c)
            except sv.NotConstant:
                return exp.Var(this="DEFAULT")
        if not column.default_is_expression:
            return self.store(text, column)
        try:
            node = sqlglot.parse_one(text, read="mysql")
        except ParseError:
            return exp.Var(this="DEFAULT")
        holder = replace_bottom_up(exp.Paren(this=node), lambda n: self._value_of(n, self.context))
        inner: exp.Expr = holder.this
        try:
            return self.store(sv.evaluate(inner), column)
        except sv.NotConstant:
            return inner

    def _auto_increment(
        self, schema: TableSchema, rows: list[list[Cell]]
    ) -> tuple[tuple[Cell, ...], ...]:
        """AUTO_INCREMENT values as a replica makes them: INSERT_ID for the first row that
        needs one, then each next one after the last value (explicit values above it move
        it), stepped by auto_increment_increment/offset."""
        index = next((i for i, c in enumerate(schema.columns) if c.auto_increment), None)
        if index is None:
            return tuple(tuple(r) for r in rows)
        zero_is_auto = not (self.context.sql_mode or 0) & MODE_NO_AUTO_VALUE_ON_ZERO
        increment, offset = self.context.auto_increment or (1, 1)
        next_id: int | None = None
        for row in rows:
            v = row[index]
            if v is None or (zero_is_auto and v == 0 and not isinstance(v, bool)):
                nr = next_id if next_id is not None else self.context.insert_id
                if nr is None:
                    self.error("an AUTO_INCREMENT value without INSERT_ID in the binlog")
                row[index] = nr
                next_id = sv.next_insert_id(nr, increment, offset)
            elif isinstance(v, int) and next_id is not None and v >= next_id:
                next_id = sv.next_insert_id(v, increment, offset)
        return tuple(tuple(r) for r in rows)


def replace_bottom_up(tree: exp.Expr, value_of: Callable[[exp.Expr], exp.Expr | None]) -> exp.Expr:
    """`tree` with nodes replaced by `value_of`, children before their parents (so that
    LAST_INSERT_ID(NOW()) keeps the literal NOW() became)."""
    for node in reversed(list(tree.walk(bfs=False))):
        new = value_of(node)
        if new is not None:
            if node is tree:
                return new
            node.replace(new)
    return tree


def _conjuncts(node: exp.Expr) -> Iterator[exp.Expr]:
    if isinstance(node, exp.Paren):
        yield from _conjuncts(node.this)
    elif isinstance(node, exp.And):
        yield from _conjuncts(node.this)
        yield from _conjuncts(node.expression)
    else:
        yield node


def _is_constant(node: exp.Expr) -> bool:
    try:
        sv.evaluate(node)
    except sv.NotConstant:
        return False
    return True
