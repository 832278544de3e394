"""PostgreSQL DDL -> MySQL/MariaDB DDL: a walk over sqlglot's AST with our own type mapping.

Statement nodes and ALTER TABLE actions have one function each in declared tables (`STATEMENTS`,
`ALTER_ACTIONS`). Decisions (docs/type-mapping.md):

- serial/bigserial/smallserial, identity columns and `nextval(…)` defaults become AUTO_INCREMENT;
  MySQL wants such a column to lead a key, so one is added when the table declares none.
- Created tables get `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4` (transactions, every character).
- Unnamed UNIQUE constraints are named as PostgreSQL names them (`<table>_<cols>_key`), so a
  later `DROP CONSTRAINT` finds them; `DROP CONSTRAINT <table>_pkey` drops the primary key.
- PostgreSQL ALTER COLUMN … TYPE / SET|DROP NOT NULL become MODIFY, which restates the whole
  column: that needs the table's current columns (`columns` lookup), else a TranslateError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

from sqlglot import exp

from bridge.log.events import Column, ColumnType, TableName
from bridge.translate.ddl_common import Job, identifier, key_part, mysql_table, table_name
from bridge.translate.types import from_postgres, map_to_mysql, quote_mysql

_SERIAL: Final = frozenset({"SERIAL", "BIGSERIAL", "SMALLSERIAL"})
_TIMESTAMP_DEFAULTS: Final = (exp.CurrentTimestamp, exp.Localtimestamp)


@dataclass(slots=True)
class MyColumn:
    """A PostgreSQL column definition translated for MySQL."""

    name: str
    type: ColumnType
    type_sql: str
    nullable: bool = True
    default: str | None = None
    auto_increment: bool = False
    primary_key: bool = False
    unique: bool = False

    def definition(self) -> str:
        parts = [quote_mysql(self.name), self.type_sql]
        parts.append("NULL" if self.nullable and not self.primary_key else "NOT NULL")
        if self.default is not None:
            parts.append(f"DEFAULT {self.default}")
        if self.auto_increment:
            parts.append("AUTO_INCREMENT")
        if self.primary_key:
            parts.append("PRIMARY KEY")
        return " ".join(parts)


def _type_text(dtype: exp.DataType) -> str:
    # sqlglot writes interval(3) as 'INTERVAL 3'; every other type's PostgreSQL text reads back.
    if dtype.this == exp.DataType.Type.INTERVAL and dtype.expressions:
        return "interval"
    return dtype.sql(dialect="postgres")


def column(job: Job, table: TableName, coldef: exp.ColumnDef) -> MyColumn:
    name = identifier(coldef.this)
    dtype = coldef.args.get("kind")
    if not isinstance(dtype, exp.DataType):
        job.fail(f"column {name!r} has no type")
    text = _type_text(dtype)
    known = (job.lookup(table) or {}).get(name)
    ctype = from_postgres(text)
    if ctype.kind == "other" and known is not None:
        ctype = known.type  # a user type (enum, domain): the reader's Relation knows it
    elif ctype.kind == "other" and dtype.this == exp.DataType.Type.USERDEFINED:
        job.fail(
            f"column {name!r} has the user type {text!r}, whose definition is unknown",
            hint="give translate_ddl a columns lookup (the reader's Relation carries enum labels)",
        )
    mapped = map_to_mysql(ctype, policy=job.policy, column=name)
    if mapped.note:
        job.note(mapped.note)
    out = MyColumn(name, ctype, mapped.sql, auto_increment=dtype.this.name in _SERIAL)
    if out.auto_increment:
        out.nullable = False
    for constraint in coldef.args.get("constraints") or []:
        _apply_constraint(job, out, constraint.args["kind"])
    return out


def _apply_constraint(job: Job, col: MyColumn, kind: exp.Expression) -> None:
    if isinstance(kind, exp.NotNullColumnConstraint):
        col.nullable = bool(kind.args.get("allow_null"))
    elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
        col.primary_key = True
        col.nullable = False
    elif isinstance(kind, exp.UniqueColumnConstraint):
        col.unique = True
    elif isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
        col.auto_increment = True
        col.nullable = False
    elif isinstance(kind, exp.DefaultColumnConstraint):
        col.default = mysql_default(job, col, kind.this)
    elif not isinstance(kind, exp.CheckColumnConstraint):  # checks: see _column_checks
        job.fail(f"column {col.name!r}: {kind.sql(dialect='postgres')} is not supported")


def mysql_default(_job: Job, col: MyColumn, node: exp.Expression) -> str | None:  # noqa: PLR0911 - one return per kind of default
    """A PostgreSQL DEFAULT as MySQL text; None when it means AUTO_INCREMENT (nextval)."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this  # 'x'::character varying -> 'x'
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "nextval":
        col.auto_increment = True
        return None
    if isinstance(node, _TIMESTAMP_DEFAULTS):
        # MySQL wants the column's own fractional digits here.
        fsp = col.type_sql.partition("(")[2].rstrip(")")
        return f"CURRENT_TIMESTAMP({fsp})" if fsp else "CURRENT_TIMESTAMP"
    if isinstance(node, exp.Boolean):
        return "1" if node.this else "0"
    if isinstance(node, exp.Null):
        return "NULL"
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "'" + str(node.this).replace("\\", "\\\\").replace("'", "''") + "'"
        return str(node.this)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return f"-{node.this.this}"
    if isinstance(node, exp.BitString):
        return f"b'{node.this}'"
    return f"({node.sql(dialect='mysql', identify=True)})"


# ------------------------------------------------------------------------------ CREATE TABLE


def create(job: Job, node: exp.Create) -> None:
    kind = str(node.args.get("kind") or "").upper()
    if kind == "INDEX":
        create_index(job, node)
        return
    schema = node.this
    if kind != "TABLE" or not isinstance(schema, exp.Schema):
        job.fail("only CREATE TABLE with a column list is translated")
    table = table_name(schema.this)
    job.tables.append(table)
    job.kind = "create_table"
    defs: list[str] = []
    cols: list[MyColumn] = []
    keys: list[list[str]] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            col = column(job, table, item)
            cols.append(col)
            defs.append(col.definition())
            for check in _column_checks(item):
                defs.append(f"CHECK ({check})")
            if col.unique:
                keys.append([col.name])
                defs.append(_unique(table, [col.name]))
            if col.primary_key:
                keys.append([col.name])
        else:
            defs.append(_table_constraint(job, table, item, keys))
    for col in cols:
        if col.auto_increment and not any(k and k[0] == col.name for k in keys):
            defs.append(f"KEY ({quote_mysql(col.name)})")  # MySQL's rule for auto columns
    exists = "IF NOT EXISTS " if node.args.get("exists") else ""
    job.emit(
        f"CREATE TABLE {exists}{mysql_table(table)} ({', '.join(defs)})"
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    )


def _column_checks(coldef: exp.ColumnDef) -> list[str]:
    return [
        c.args["kind"].this.sql(dialect="mysql", identify=True)
        for c in coldef.args.get("constraints") or []
        if isinstance(c.args["kind"], exp.CheckColumnConstraint)
    ]


def _unique(table: TableName, cols: list[str], name: str | None = None) -> str:
    # PostgreSQL's default name for an unnamed unique constraint, so DROP CONSTRAINT finds it.
    name = name or f"{table.name}_{'_'.join(cols)}_key"
    return f"UNIQUE KEY {quote_mysql(name)} ({', '.join(quote_mysql(c) for c in cols)})"


def _names(nodes: list[exp.Expression]) -> list[str]:
    return [key_part(n)[0] for n in nodes]


def _table_constraint(
    job: Job, table: TableName, item: exp.Expression, keys: list[list[str]]
) -> str:
    name = identifier(item.this) if isinstance(item, exp.Constraint) else None
    inner = item.expressions[0] if isinstance(item, exp.Constraint) else item
    if isinstance(inner, exp.PrimaryKey):
        keys.append(_names(inner.expressions))
        return f"PRIMARY KEY ({', '.join(quote_mysql(c) for c in keys[-1])})"
    if isinstance(inner, exp.UniqueColumnConstraint):
        cols = _names(inner.this.expressions)
        keys.append(cols)
        return _unique(table, cols, name)
    if isinstance(inner, exp.CheckColumnConstraint):
        check = f"CHECK ({inner.this.sql(dialect='mysql', identify=True)})"
        return f"CONSTRAINT {quote_mysql(name)} {check}" if name else check
    if isinstance(inner, exp.ForeignKey):
        cols = _names(inner.expressions)
        ref = inner.args["reference"].this
        options = "".join(f" {o}" for o in inner.args["reference"].args.get("options") or [])
        fk = (
            f"FOREIGN KEY ({', '.join(quote_mysql(c) for c in cols)}) REFERENCES"
            f" {mysql_table(table_name(ref.this))}"
            f" ({', '.join(quote_mysql(identifier(c)) for c in ref.expressions)}){options}"
        )
        return f"CONSTRAINT {quote_mysql(name or f'{table.name}_{cols[0]}_fkey')} {fk}"
    raise job.error(f"table constraint {item.sql(dialect='postgres')!r} is not supported")


def create_index(job: Job, node: exp.Create) -> None:
    index = node.this
    table = table_name(index.args["table"])
    job.tables.append(table)
    job.kind = "create_index"
    params = index.args.get("params")
    using = str(params.args.get("using") or "btree").lower() if params else "btree"
    if using != "btree":
        job.fail(f"index method {using} has no MySQL equivalent")
    if params and params.args.get("where") is not None:
        job.fail("a partial index (WHERE …) has no MySQL equivalent")
    parts = []
    for part in params.args.get("columns") or [] if params else []:
        try:
            name, desc, _ = key_part(part)
        except TypeError as e:
            job.fail(f"{e} (MariaDB indexes columns only)")
        parts.append(quote_mysql(name) + (" DESC" if desc else ""))
    unique = "UNIQUE " if node.args.get("unique") else ""
    job.emit(
        f"CREATE {unique}INDEX {quote_mysql(identifier(index.this))} ON"
        f" {mysql_table(table)} ({', '.join(parts)})"
    )


# ------------------------------------------------------------------------ DROP, TRUNCATE, ALTER


def drop(job: Job, node: exp.Drop) -> None:
    kind = str(node.args.get("kind") or "").upper()
    if kind == "INDEX":
        drop_index(job, node)
        return
    if kind != "TABLE":
        job.fail(f"DROP {kind} is not a table change")
    tables = [table_name(t) for t in node.args["tables"]]
    job.tables.extend(tables)
    job.kind = "drop_table"
    if node.args.get("cascade"):
        job.note("CASCADE dropped: MySQL drops no dependent objects")
    exists = "IF EXISTS " if node.args.get("exists") else ""
    job.emit(f"DROP TABLE {exists}{', '.join(mysql_table(t) for t in tables)}")


def drop_index(job: Job, node: exp.Drop) -> None:
    job.kind = "drop_index"
    for written in node.args["tables"]:
        index = table_name(written)
        table = job.index_table(index) if job.index_table else None
        if table is None:
            job.fail(
                f"MySQL's DROP INDEX needs the table of index {index.name!r}",
                hint="give translate_ddl an index_table lookup",
            )
        job.tables.append(table)
        job.emit(f"DROP INDEX {quote_mysql(index.name)} ON {mysql_table(table)}")


def truncate(job: Job, node: exp.TruncateTable) -> None:
    job.kind = "truncate"
    for written in node.expressions:
        table = table_name(written)
        job.tables.append(table)
        job.emit(f"TRUNCATE TABLE {mysql_table(table)}")  # MySQL truncates one table at a time


def alter(job: Job, node: exp.Alter) -> None:
    table = table_name(node.this)
    job.tables.append(table)
    job.kind = "alter_table"
    pending: dict[str, Column] = {}
    for action in node.args.get("actions") or []:
        handler = ALTER_ACTIONS.get(type(action))
        if handler is None:
            job.fail(f"ALTER TABLE action {action.sql(dialect='postgres')!r} is not supported")
        handler(job, table, action, pending)
    for col in pending.values():
        mapped = map_to_mysql(col.type, policy=job.policy, column=col.name)
        my = MyColumn(col.name, col.type, mapped.sql, nullable=col.nullable)
        if col.default is not None:
            my.default = mysql_default(job, my, _parse_default(job, col.default))
        job.emit(f"ALTER TABLE {mysql_table(table)} MODIFY COLUMN {my.definition()}")


def _parse_default(job: Job, text: str) -> exp.Expression:
    from sqlglot import parse_one  # noqa: PLC0415

    try:
        tree = parse_one(text, read="postgres")
    except Exception:  # noqa: BLE001 - any parse failure is the same error
        tree = None
    if not isinstance(tree, exp.Expression):
        job.fail(f"cannot read the column default {text!r}")
    return tree


Pending = dict[str, Column]


def _add_column(job: Job, table: TableName, node: exp.Expression, _p: Pending) -> None:
    assert isinstance(node, exp.ColumnDef)  # noqa: S101 - the ALTER_ACTIONS table's key
    col = column(job, table, node)
    extra = f", ADD KEY ({quote_mysql(col.name)})" if col.auto_increment else ""
    extra += "".join(f", ADD CHECK ({check})" for check in _column_checks(node))
    job.emit(f"ALTER TABLE {mysql_table(table)} ADD COLUMN {col.definition()}{extra}")


def _drop_action(job: Job, table: TableName, node: exp.Expression, _p: Pending) -> None:
    kind = str(node.args.get("kind") or "").upper()
    name = identifier(node.args["tables"][0])
    if kind == "COLUMN":
        job.emit(f"ALTER TABLE {mysql_table(table)} DROP COLUMN {quote_mysql(name)}")
    elif kind == "CONSTRAINT" and name == f"{table.name}_pkey":
        job.emit(f"ALTER TABLE {mysql_table(table)} DROP PRIMARY KEY")
    elif kind == "CONSTRAINT":
        job.emit(f"ALTER TABLE {mysql_table(table)} DROP CONSTRAINT {quote_mysql(name)}")
    else:
        job.fail(f"DROP {kind} in ALTER TABLE is not supported")


def _rename_column(job: Job, table: TableName, node: exp.Expression, _p: Pending) -> None:
    old, new = identifier(node.this), identifier(node.args["to"])
    job.emit(
        f"ALTER TABLE {mysql_table(table)} RENAME COLUMN {quote_mysql(old)} TO {quote_mysql(new)}"
    )


def _rename_table(job: Job, table: TableName, node: exp.Expression, _p: Pending) -> None:
    new = TableName(table.schema, table_name(node.this).name)  # PostgreSQL keeps the schema
    job.tables.append(new)
    job.kind = "rename_table"
    job.emit(f"RENAME TABLE {mysql_table(table)} TO {mysql_table(new)}")


def _add_constraint(job: Job, table: TableName, node: exp.Expression, _p: Pending) -> None:
    for item in node.expressions:
        definition = _table_constraint(job, table, item, [])
        job.emit(f"ALTER TABLE {mysql_table(table)} ADD {definition}")


def _alter_column(job: Job, table: TableName, node: exp.Expression, pending: Pending) -> None:
    name = identifier(node.this)
    t, c = mysql_table(table), quote_mysql(name)
    if node.args.get("default") is not None:
        shell = MyColumn(name, ColumnType("other", ""), "")
        default = mysql_default(job, shell, node.args["default"])
        job.emit(f"ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}")
        return
    if node.args.get("drop") and node.args.get("allow_null") is None:
        job.emit(f"ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")
        return
    # TYPE and SET/DROP NOT NULL: MySQL's MODIFY restates the whole column.
    current = pending.get(name) or (job.lookup(table) or {}).get(name)
    if current is None:
        job.fail(
            f"MySQL restates the whole column {name!r} (MODIFY), and its current definition"
            " is unknown without a columns lookup",
            hint="give translate_ddl a columns lookup for the table",
        )
    dtype = node.args.get("dtype")
    if isinstance(dtype, exp.DataType):
        current = replace(current, type=from_postgres(_type_text(dtype)))
    if node.args.get("allow_null") is not None:
        current = replace(current, nullable=bool(node.args.get("drop")))
    pending[name] = current


ALTER_ACTIONS: Final[
    Mapping[type[exp.Expression], Callable[[Job, TableName, exp.Expression, Pending], None]]
] = {
    exp.ColumnDef: _add_column,
    exp.Drop: _drop_action,
    exp.RenameColumn: _rename_column,
    exp.AlterRename: _rename_table,
    exp.AddConstraint: _add_constraint,
    exp.AlterColumn: _alter_column,
}

STATEMENTS: Final[Mapping[type[exp.Expression], Callable[[Job, exp.Expression], None]]] = {
    exp.Create: create,  # type: ignore[dict-item]
    exp.Drop: drop,  # type: ignore[dict-item]
    exp.TruncateTable: truncate,  # type: ignore[dict-item]
    exp.Alter: alter,  # type: ignore[dict-item]
}


def translate(job: Job) -> None:
    """Translate the job's PostgreSQL statement for MySQL/MariaDB."""
    tree = job.parse()
    handler = STATEMENTS.get(type(tree))
    if handler is None:
        job.fail(
            f"the translator does not support this statement (sqlglot parses it as"
            f" {type(tree).__name__})",
        )
    handler(job, tree)
