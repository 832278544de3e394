"""A `Statement` event (MySQL, already deterministic) -> PostgreSQL statements with RETURNING.

The PostgreSQL applier runs the result inside its transaction, after the rows before it, so the
statement sees exactly the state the source statement saw (when the target equals the source up
to that point). Every statement RETURNs the rows it changed, as whole rows in the source table's
column order, so the applier can turn them into row events; each one starts with a marker
comment the applier reads: `/* bridge {"kind": …, "table": [schema, name], "columns": […],
"time_zone": …} */`, kind being `update` (old row, then new row), `delete` (old row), `insert`
(new row) or `upsert` (final row, then whether it was inserted).

Shapes (names quoted, a MySQL database is the PostgreSQL schema of the same name):

- UPDATE: `WITH bridge_old AS (SELECT ctid, old values FROM t WHERE … [ORDER BY … LIMIT n])
  UPDATE t SET … FROM bridge_old WHERE t.ctid = bridge_old.bridge_ctid RETURNING old, new`.
  MySQL assigns SET columns left to right (a later expression sees an earlier column's new
  value) where PostgreSQL assigns them all at once: later expressions get the earlier ones
  written in. ON UPDATE CURRENT_TIMESTAMP columns get the statement's time when the row changes.
  Joined tables (inner joins only) move into FROM, their ON conditions into WHERE.
- DELETE: `DELETE FROM t [USING joined] WHERE … RETURNING old` (ORDER BY … LIMIT through ctid).
- INSERT … SELECT: the SELECT, with the columns the INSERT leaves out filled with their
  defaults as the source computes them (never the target's own default expressions).
- INSERT … VALUES that could not become rows, INSERT IGNORE (ON CONFLICT DO NOTHING),
  ON DUPLICATE KEY UPDATE (one INSERT … ON CONFLICT (key) DO UPDATE per row, `VALUES(c)` as
  EXCLUDED.c) and REPLACE (per row: DELETE of every row sharing a unique key, then INSERT).

Expressions go through sqlglot's MySQL -> PostgreSQL generator after our own rewrites for what
the engines compute differently: `/` and `%` on exact numerics (MySQL: a decimal, NULL for a
zero divisor; PostgreSQL: integer division, an error), CONCAT of any types, tinyint(1) columns
(booleans on the target) as numbers inside expressions, SET columns (text arrays), RAND(expr).
"""

from __future__ import annotations

# ruff: noqa: S608 - building SQL text is this module's job: identifiers go through _q, values
# through _str and a cast, expressions through sqlglot's generator.
import datetime as dt
import json
import math
import uuid
from collections.abc import Sequence
from decimal import Decimal

import sqlglot
from sqlglot import exp

from bridge.appliers.pgadapt import interval_text
from bridge.log.events import Statement, TableName
from bridge.log.values import BitString, Interval, Json, MysqlSet, SpecialTemporal, Value, ZeroDate
from bridge.translate import statement_values as sv
from bridge.translate.mysqlrand import postgres_rand_expression
from bridge.translate.statement_types import (
    StatementError,
    StatementPolicy,
    TableColumn,
    TableSchema,
)
from bridge.translate.statements import (
    Analysis,
    Cell,
    SchemaLookup,
    StatementTranslator,
    Target,
    parse,
    postgres_time_zone,
    replace_bottom_up,
)
from bridge.translate.types import TypePolicy, to_postgres

_LOGICAL = (exp.And, exp.Or, exp.Not, exp.Where, exp.Xor)

# What the 'target' policy lets the target compute (values then differ from the source).
_TARGET_FUNCTIONS = {
    "SYSDATE": "CAST(clock_timestamp() AS timestamp(0))",
    "USER": "session_user",
    "SESSION_USER": "session_user",
    "SYSTEM_USER": "session_user",
    "CURRENT_USER": "current_user",
    "UUID_SHORT": "(extract(epoch from clock_timestamp()) * 1000000)::bigint",
    "FOUND_ROWS": "0",
    "ROW_COUNT": "0",
}


def to_postgres_statements(
    ev: Statement,
    *,
    lookup: SchemaLookup,
    policy: TypePolicy | None = None,
    statement_policy: StatementPolicy | None = None,
    mariadb: bool = True,
) -> str:
    """PostgreSQL text for a MySQL `Statement` event: statements separated by ';\\n'."""
    translator = StatementTranslator(lookup, policy=statement_policy, mariadb=mariadb)
    parsed = parse(ev.deterministic, position=str(ev.position))
    if parsed is None:
        return ""
    a = Analysis(
        translator,
        parsed,
        schema=ev.schema,
        context=ev.context,
        text=ev.deterministic,
        position=str(ev.position),
    )
    a.substitute()  # idempotent on deterministic text; checks the policy again
    return ";\n".join(_Renderer(a, policy or TypePolicy()).statements())


class _Renderer:
    def __init__(self, a: Analysis, policy: TypePolicy) -> None:
        self.a = a
        self.policy = policy
        self.tz = postgres_time_zone(a.context)
        self._types: dict[TableName, dict[str, str]] = {}
        self._condition: exp.Expr | None = None
        """The root of the condition being rendered (a bare boolean column stays boolean)."""
        self._schemas: dict[str, TableSchema] = {}
        """Known tables by the name (alias) a statement gives them, for column names."""
        ctes = {c.alias_or_name for c in a.tree.find_all(exp.CTE)}
        for node in a.tree.find_all(exp.Table):
            if node.name in ctes and not node.db:
                continue
            name = a.table_name(node)
            s = a.t.lookup(name)
            if s is not None:
                self._schemas.setdefault(node.alias_or_name, s)

    # -- statements ---------------------------------------------------------------------------

    def statements(self) -> list[str]:
        tree = self.a.tree
        if isinstance(tree, exp.Update):
            return [self._update()]
        if isinstance(tree, exp.Delete):
            return [self._delete()]
        if isinstance(tree.expression, exp.Values):
            return self._insert_values()
        return [self._insert_select()]

    def _marker(self, kind: str, schema: TableSchema) -> str:
        meta = {
            "kind": kind,
            "table": [schema.name.schema, schema.name.name],
            "columns": list(schema.names),
            "key": list(schema.key),
            "time_zone": self.tz,
        }
        return "/* bridge " + json.dumps(meta, ensure_ascii=False).replace("*/", "*\\/") + " */ "

    def _written(self) -> tuple[Target, TableSchema]:
        if len(self.a.written) != 1:
            self.a.error("it changes several tables in one statement")
        target = self.a.written[0]
        return target, self.a.table_schema(target)

    def _update(self) -> str:
        a = self.a
        tree = a.tree
        target, schema = self._written()
        alias = _q(target.alias)
        others = [t for t in a.targets if t is not target]
        assignments = self._assignments(tree.expressions, target, schema)
        sets = ", ".join(
            [f"{_q(c.name)} = {self._assigned(e, c, schema)}" for c, e in assignments]
            + self._on_update_now(assignments, schema, alias)
        )
        conds = self._join_conditions(tree.args.get("where"))
        where = " AND ".join(conds) or "TRUE"
        # Joined tables stay in the UPDATE (its SET may read them) with their conditions.
        again = f" AND {where}" if others else ""
        order = self._order_limit(tree)
        old_cols = ", ".join(
            f"{alias}.{_q(c)} AS {_q(f'bridge_{i}')}" for i, c in enumerate(schema.names)
        )
        from_others = "".join(f", {self._table_ref(t)}" for t in others)
        distinct = f"DISTINCT ON ({alias}.ctid) " if others else ""
        returning = ", ".join(
            [f"bridge_old.{_q(f'bridge_{i}')}" for i in range(len(schema.names))]
            + [f"{alias}.{_q(c)}" for c in schema.names]
        )
        return (
            self._marker("update", schema)
            + f"WITH bridge_old AS (SELECT {distinct}{alias}.ctid AS bridge_ctid, {old_cols}"
            f" FROM {self._table_ref(target)}{from_others} WHERE {where}{order})"
            f" UPDATE {self._table_ref(target)} SET {sets} FROM bridge_old{from_others}"
            f" WHERE {alias}.ctid = bridge_old.bridge_ctid{again} RETURNING {returning}"
        )

    def _delete(self) -> str:
        a = self.a
        tree = a.tree
        target, schema = self._written()
        alias = _q(target.alias)
        others = [t for t in a.targets if t is not target]
        where = " AND ".join(self._join_conditions(tree.args.get("where"))) or "TRUE"
        order = self._order_limit(tree)
        if order:
            where = (
                f"{alias}.ctid IN (SELECT {alias}.ctid FROM {self._table_ref(target)}"
                f" WHERE {where}{order})"
            )
        using = " USING " + ", ".join(self._table_ref(t) for t in others) if others else ""
        returning = ", ".join(f"{alias}.{_q(c)}" for c in schema.names)
        return (
            self._marker("delete", schema)
            + f"DELETE FROM {self._table_ref(target)}{using} WHERE {where} RETURNING {returning}"
        )

    def _insert_select(self) -> str:
        a = self.a
        _, schema = self._written()
        given = a.insert_columns(schema)
        select = self._expr(a.tree.expression)
        extra: list[tuple[TableColumn, str]] = []
        for c in schema.columns:
            if c in given:
                continue
            if c.auto_increment:
                extra.append((c, self._auto_numbers()))
                continue
            extra.append((c, self._cell(a.default(c), c, schema)))
        cols = [c.name for c in given] + [c.name for c, _ in extra]
        if extra:
            fill = ", ".join(v for _, v in extra)
            select = f"SELECT bridge_s.*, {fill} FROM ({select}) AS bridge_s"
        return self._insert(schema, cols, select)

    def _auto_numbers(self) -> str:
        ctx = self.a.context
        if ctx.insert_id is None:
            self.a.error("an AUTO_INCREMENT value without INSERT_ID in the binlog")
        increment = (ctx.auto_increment or (1, 1))[0]
        # The SELECT is ordered (checked in `statements`): number its rows in that order.
        return f"{ctx.insert_id} + (row_number() OVER () - 1) * {increment}"

    def _insert_values(self) -> list[str]:
        a = self.a
        target, schema = self._written()
        rows = a.insert_rows(schema)
        cols = list(schema.names)
        rendered = [
            "("
            + ", ".join(self._cell(v, c, schema) for v, c in zip(row, schema.columns, strict=True))
            + ")"
            for row in rows
        ]
        if a.parsed.verb == "replace":
            out = []
            for row, values in zip(rows, rendered, strict=True):
                out += self._replace_row(target, schema, row)
                out.append(self._insert(schema, cols, f"VALUES {values}", conflict=""))
            return out
        if a.tree.args.get("conflict") is not None:
            return [self._insert(schema, cols, f"VALUES {values}") for values in rendered]
        return [self._insert(schema, cols, "VALUES " + ", ".join(rendered))]

    def _replace_row(self, target: Target, schema: TableSchema, row: Sequence[Cell]) -> list[str]:
        """REPLACE: first delete every row that shares a unique key value with the new row."""
        by_name = dict(zip(schema.names, row, strict=True))
        terms = []
        for key in schema.unique:
            cells = [(k, by_name[schema.find(k).name]) for k in key]  # type: ignore[union-attr]
            if any(v is None for _, v in cells):
                continue  # NULL never conflicts
            terms.append(
                "("
                + " AND ".join(
                    f"{_q(schema.find(k).name)} = {self._cell(v, schema.find(k), schema)}"  # type: ignore[arg-type,union-attr]
                    for k, v in cells
                )
                + ")"
            )
        if not terms:
            return []
        returning = ", ".join(_q(c) for c in schema.names)
        return [
            self._marker("delete", schema)
            + f"DELETE FROM {self._table_ref(target)} WHERE {' OR '.join(terms)}"
            f" RETURNING {returning}"
        ]

    def _insert(
        self, schema: TableSchema, cols: list[str], source: str, conflict: str | None = None
    ) -> str:
        a = self.a
        table = _table_sql(schema.name)
        alias = _q(schema.name.name)
        if conflict is None:
            conflict = self._conflict(schema)
        kind = "upsert" if "DO UPDATE" in conflict else "insert"
        returning = ", ".join(f"{alias}.{_q(c)}" for c in schema.names)
        if kind == "upsert":
            returning += ", (xmax = 0) AS bridge_inserted"
        del a
        return (
            self._marker(kind, schema)
            + f"INSERT INTO {table} AS {alias} ({', '.join(_q(c) for c in cols)}) {source}"
            f"{conflict} RETURNING {returning}"
        )

    def _conflict(self, schema: TableSchema) -> str:
        a = self.a
        odku = a.tree.args.get("conflict")
        if a.parsed.verb == "replace":  # … SELECT: one unique key (checked in statements)
            if not schema.unique:
                return ""
            key = schema.unique[0]
            sets = (
                ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in schema.names if c not in key)
                or f"{_q(key[0])} = EXCLUDED.{_q(key[0])}"
            )
            return f" ON CONFLICT ({', '.join(_q(k) for k in key)}) DO UPDATE SET {sets}"
        if odku is not None:
            if not schema.unique:
                return ""
            key = schema.unique[0]
            target = a.targets[0]
            assignments = self._assignments(odku.expressions, target, schema, excluded=True)
            sets = ", ".join(
                f"{_q(c.name)} = {self._assigned(e, c, schema)}" for c, e in assignments
            )
            return f" ON CONFLICT ({', '.join(_q(k) for k in key)}) DO UPDATE SET {sets}"
        if a.parsed.ignore:
            return " ON CONFLICT DO NOTHING"
        return ""

    # -- pieces -------------------------------------------------------------------------------

    def _table_ref(self, t: Target) -> str:
        ref = _table_sql(t.name)
        return ref if t.alias == t.name.name else f"{ref} AS {_q(t.alias)}"

    def _join_conditions(self, where: exp.Expr | None) -> list[str]:
        """WHERE plus the ON conditions of inner joins (joined tables move to FROM/USING)."""
        conds = []
        first = self.a.tree.this
        if isinstance(first, exp.Table):
            for j in first.args.get("joins") or ():
                side = (j.args.get("side") or "").upper()
                kind = (j.args.get("kind") or "").upper()
                if side or kind not in ("", "INNER", "CROSS"):
                    self.a.error(f"{side or kind} JOIN in an UPDATE/DELETE is not supported")
                if j.args.get("on") is not None:
                    conds.append(f"({self._expr(j.args['on'], condition=True)})")
                if j.args.get("using"):
                    self.a.error("JOIN … USING in an UPDATE/DELETE is not supported")
        if where is not None:
            conds.append(f"({self._expr(where.this, condition=True)})")
        return conds

    def _order_limit(self, tree: exp.Expr) -> str:
        limit = tree.args.get("limit")
        if limit is None:
            return ""
        order = tree.args.get("order")
        if order is None:  # allowed by StatementPolicy(unsafe='target'): any rows
            return f" LIMIT {self._expr(limit.expression)}"
        return f" {self._expr(order)} LIMIT {self._expr(limit.expression)}"

    def _assignments(
        self,
        items: Sequence[exp.Expr],
        target: Target,
        schema: TableSchema,
        *,
        excluded: bool = False,
    ) -> list[tuple[TableColumn, exp.Expr]]:
        """(column, expression) in order, each expression with the columns assigned before it
        written in: MySQL assigns left to right, PostgreSQL simultaneously."""
        out: list[tuple[TableColumn, exp.Expr]] = []
        done: dict[str, exp.Expr] = {}
        for item in items:
            col = item.this
            c = schema.find(col.name) if isinstance(col, exp.Column) else None
            if c is None or not isinstance(col, exp.Column):
                self.a.error("an assignment to something that is not one of its columns")
            value = item.expression.copy()
            if excluded:
                value = _values_to_excluded(value, target.alias)
            value = _write_in(value, done, target)
            done[c.name.lower()] = value
            out.append((c, value))
        return out

    def _on_update_now(
        self,
        assignments: list[tuple[TableColumn, exp.Expr]],
        schema: TableSchema,
        alias: str,
    ) -> list[str]:
        """`col = …` for ON UPDATE CURRENT_TIMESTAMP columns not assigned: the statement's
        time when an assigned column changes, else unchanged (as the server does)."""
        assigned = {c.name for c, _ in assignments}
        auto = [c for c in schema.columns if c.on_update_now and c.name not in assigned]
        if not auto or not assignments:
            return []
        old = ", ".join(f"{alias}.{_q(c.name)}" for c, _ in assignments)
        new = ", ".join(
            f"CAST({self._assigned(e, c, schema)} AS {self._pg_type(c, schema)})"
            for c, e in assignments
        )
        out = []
        for c in auto:
            at = self.a.context.timestamp.astimezone(self.a.zone).replace(tzinfo=None)
            fsp = c.column.type.precision or 0
            at = at.replace(microsecond=at.microsecond - at.microsecond % 10 ** (6 - fsp))
            now = self._expr(sv.datetime_literal(at, fsp))
            out.append(
                f"{_q(c.name)} = CASE WHEN ROW({old}, 0) IS DISTINCT FROM ROW({new}, 0)"
                f" THEN {now} ELSE {alias}.{_q(c.name)} END"
            )
        return out

    def _assigned(self, node: exp.Expr, c: TableColumn, schema: TableSchema) -> str:
        """An expression assigned to `c`, converted to the target column's type."""
        text = self._expr(node)
        pg = self._pg_type(c, schema)
        if isinstance(node, exp.Null) or (
            isinstance(node, exp.Var) and node.name.upper() == "DEFAULT"
        ):
            return text
        if pg == "boolean":
            return f"CAST(CAST({text} AS integer) AS boolean)"
        if pg == "text[]":
            return f"string_to_array(CAST({text} AS text), ',')"
        if c.column.type.kind == "enum":
            return f"CAST(CAST({text} AS text) AS {pg})"
        return text

    def _cell(self, cell: Cell, c: TableColumn, schema: TableSchema) -> str:
        if isinstance(cell, exp.Expr):
            if isinstance(cell, exp.Var) and cell.name.upper() == "DEFAULT":
                return "DEFAULT"
            return self._assigned(cell, c, schema)
        return self._literal(cell, c, schema)

    def _literal(self, v: Value, c: TableColumn, schema: TableSchema) -> str:
        pg = self._pg_type(c, schema)
        text = _literal_text(v, pg, self.policy, c.name)
        return f"CAST(NULL AS {pg})" if text is None else f"CAST({_str(text)} AS {pg})"

    def _pg_type(self, c: TableColumn, schema: TableSchema) -> str:
        types = self._types.setdefault(schema.name, {})
        if c.name not in types:
            types[c.name] = to_postgres(
                c.column.type, policy=self.policy, column=c.name, table=schema.name
            )
        return types[c.name]

    # -- expressions --------------------------------------------------------------------------

    def _expr(self, node: exp.Expr, *, condition: bool = False) -> str:
        # Children first: a rewrite (a division, a cast of a boolean column) wraps rewritten
        # operands, and a column sees its original parent.
        root = exp.Paren(this=node.copy())
        self._condition = root if condition else None
        tree = replace_bottom_up(root, self._rewrite)
        self._condition = None
        inner: exp.Expr = tree.this
        return inner.sql("postgres", identify=True)

    def _rewrite(self, node: exp.Expr) -> exp.Expr | None:  # noqa: PLR0911
        if isinstance(node, exp.Table):
            return self._table_node(node)
        if isinstance(node, exp.Column):
            return self._column_node(node)
        if isinstance(node, exp.Div):
            return exp.Div(
                this=exp.Cast(this=node.this, to=exp.DataType.build("DECIMAL")),
                expression=exp.Nullif(this=node.expression, expression=exp.Literal.number(0)),
                typed=True,
                safe=False,
            )
        if isinstance(node, exp.Mod | exp.IntDiv):
            left = exp.Cast(this=node.this, to=exp.DataType.build("DECIMAL"))
            right = exp.Nullif(this=node.expression, expression=exp.Literal.number(0))
            if isinstance(node, exp.Mod):
                return exp.Mod(this=left, expression=right)
            return exp.Anonymous(this="div", expressions=[left, right])
        if isinstance(node, exp.Concat):
            parts = [exp.Cast(this=e, to=exp.DataType.build("TEXT")) for e in node.expressions]
            out: exp.Expr = parts[0]
            for p in parts[1:]:
                out = exp.DPipe(this=out, expression=p)
            return exp.Paren(this=out)
        if isinstance(node, exp.Rand) and node.this is not None:
            arg = node.this.sql("postgres", identify=True)  # rewritten already
            return sqlglot.parse_one(postgres_rand_expression(arg), read="postgres")
        if isinstance(node, exp.HexString):
            return exp.Anonymous(
                this="decode",
                expressions=[exp.Literal.string(node.this), exp.Literal.string("hex")],
            )
        if isinstance(node, exp.Anonymous) and str(node.this).upper() == "FIND_IN_SET":
            # FIND_IN_SET(x, list): x's 1-based place in the comma list, 0 when absent.
            needle, haystack = (e.sql("postgres", identify=True) for e in node.expressions)
            return sqlglot.parse_one(
                f"coalesce(array_position(string_to_array(CAST({haystack} AS text), ','),"
                f" CAST({needle} AS text)), 0)",
                read="postgres",
            )
        if isinstance(node, exp.Anonymous) and str(node.this).upper() in _TARGET_FUNCTIONS:
            return sqlglot.parse_one(_TARGET_FUNCTIONS[str(node.this).upper()], read="postgres")
        return None

    def _table_node(self, node: exp.Table) -> exp.Expr | None:
        ctes = {c.alias_or_name for c in self.a.tree.find_all(exp.CTE)}
        if node.name in ctes and not node.db:
            return None
        name = self.a.table_name(node)
        out = node.copy()
        out.set("db", exp.to_identifier(name.schema))
        out.set("catalog", None)
        return out

    def _column_node(self, node: exp.Column) -> exp.Expr | None:
        schema = self._column_schema(node)
        if schema is None:
            return None
        c = schema.find(node.name)
        if c is None:
            return None
        out = node.copy()
        out.set("this", exp.to_identifier(c.name))
        if out.args.get("db") is not None:  # db.t.col -> t.col (the table is in FROM)
            out.set("db", None)
        pg = self._pg_type(c, schema)
        parent = node.parent
        while isinstance(parent, exp.Paren) and parent.parent is not None:
            parent = parent.parent
        # A boolean (tinyint(1)) column stays boolean where a condition is expected (WHERE
        # flag, NOT flag, a AND flag) and is a number anywhere else, as in MySQL.
        if (
            pg == "boolean"
            and not isinstance(parent, _LOGICAL)
            and not self._condition_root(parent)
        ):
            return exp.Cast(this=out, to=exp.DataType.build("INT"))
        if pg == "text[]":
            return exp.Anonymous(this="array_to_string", expressions=[out, exp.Literal.string(",")])
        return out

    def _condition_root(self, node: exp.Expr | None) -> bool:
        return node is not None and node is self._condition

    def _column_schema(self, node: exp.Column) -> TableSchema | None:
        if node.table:
            return self._schemas.get(node.table)
        found = [s for s in self._schemas.values() if s.find(node.name)]
        return found[0] if len({id(s) for s in found}) == 1 else None


def _values_to_excluded(node: exp.Expr, alias: str) -> exp.Expr:
    def fix(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Anonymous) and str(n.this).upper() == "VALUES" and n.expressions:
            return exp.column(n.expressions[0].name, table="excluded")
        if isinstance(n, exp.Column) and not n.table and n.find_ancestor(exp.Select) is None:
            # In DO UPDATE SET a bare name could be the existing or the proposed row.
            return exp.column(n.name, table=alias)
        return n

    return node.transform(fix, copy=False)


def _write_in(node: exp.Expr, done: dict[str, exp.Expr], target: Target) -> exp.Expr:
    """Replace references to target columns assigned earlier by their new values."""
    if not done:
        return node

    def fix(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Column) and n.table in ("", target.alias):
            new = done.get(n.name.lower())
            if new is not None and n.find_ancestor(exp.Select) is None:
                return exp.Paren(this=new.copy())
        return n

    return node.transform(fix, copy=False)


def _q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _str(text: str) -> str:
    if "\0" in text:
        raise StatementError("a text value with a NUL character has no PostgreSQL form")
    return "'" + text.replace("'", "''") + "'"


def _table_sql(name: TableName) -> str:
    return f"{_q(name.schema)}.{_q(name.name)}"


def _literal_text(v: Value, pg: str, policy: TypePolicy, column: str) -> str | None:  # noqa: PLR0911, PLR0912
    """The PostgreSQL input text of a log value (None for NULL), cast to `pg` by the caller."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        if pg == "boolean":
            if v not in (0, 1):
                raise StatementError(
                    f"column {column!r}: {v} does not fit a boolean (tinyint(1) -> boolean)"
                )
            return "true" if v else "false"
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return repr(v)
    if isinstance(v, Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, Interval):
        return interval_text(v)
    if isinstance(v, Json):
        return v.text
    if isinstance(v, BitString):
        return v.bits
    if isinstance(v, MysqlSet):
        items = ",".join(
            '"' + m.replace("\\", "\\\\").replace('"', '\\"') + '"' for m in sorted(v.members)
        )
        return "{" + items + "}"
    if isinstance(v, SpecialTemporal):
        return v.text
    if isinstance(v, ZeroDate):
        if policy.zero_dates == "null":
            return None
        raise StatementError(
            f"column {column!r}: the MySQL zero date {v.text!r} has no PostgreSQL equivalent",
            hint="to store NULL instead, run with --zero-dates null (see docs/type-mapping.md)",
        )
    raise StatementError(f"column {column!r}: no PostgreSQL literal for {type(v).__name__}")
