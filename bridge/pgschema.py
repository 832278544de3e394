"""PostgreSQL schema introspection: which tables a pipeline covers, and how to recreate them.

Used on the source (table selection, replica identity checks, definitions for tables the target
lacks) and on the target (column lists, keys). Every identifier that comes from a catalog is
quoted with `psycopg.sql.Identifier`; type names and expressions come from the server's own
`format_type` / `pg_get_expr` / `pg_get_constraintdef`, which quote as needed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bridge.errors import ConfigError
from bridge.log.events import Relation, TableName

Conn = psycopg.Connection[tuple[object, ...]]
Statement = sql.SQL | sql.Composed
"""A statement psycopg can execute."""

# Schemas that never hold user tables to replicate. `bridge` holds our own metadata, and its
# ddl_log reaches the reader through the publication, not as a table to copy.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast", "bridge")


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table's columns (in attnum order, generated columns excluded) and key."""

    name: TableName
    oid: int
    columns: tuple[str, ...]
    types: tuple[str, ...]
    """Each column's type as `format_type` prints it (usable in a cast)."""
    key: tuple[str, ...]
    """Primary key columns; empty when there is none."""
    replica_identity: str
    """'d' default (primary key), 'f' full, 'i' index, 'n' nothing."""
    identity_key: tuple[str, ...]
    """Replica identity columns: the primary key, the identity index, or every column (full)."""
    partitioned: bool = False
    """A partitioned table: its rows are in its partitions (read it without ONLY)."""

    @property
    def select_from(self) -> sql.Composable:
        """`ONLY t` for an ordinary table (inheritance children are tables of their own), `t` for
        a partitioned one, whose own heap is empty."""
        ident = sql.Identifier(self.name.schema, self.name.name)
        return ident if self.partitioned else sql.SQL("ONLY {}").format(ident)


def parse_patterns(patterns: Sequence[str]) -> list[tuple[str, str]]:
    """`schema.table` patterns with shell wildcards; a bare `table` means `public.table`."""
    out = []
    for p in patterns:
        schema, dot, table = p.partition(".")
        if not dot:
            schema, table = "public", p
        if not schema or not table:
            raise ConfigError(
                f"--tables {p!r} is not a table pattern", hint="write SCHEMA.TABLE, e.g. 'public.*'"
            )
        out.append((schema, table))
    return out


def list_tables(conn: Conn, patterns: Sequence[str] = ()) -> list[TableName]:
    """Ordinary and partitioned user tables matching `patterns` (all user tables when empty)."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_temp\\_%%'"
        " AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'"
        " ORDER BY 1, 2",
        (list(SYSTEM_SCHEMAS),),
    ).fetchall()
    tables = [TableName(str(s), str(t)) for s, t in rows]
    if not patterns:
        return tables
    parsed = parse_patterns(patterns)

    def matches(t: TableName, s: str, n: str) -> bool:
        return fnmatch.fnmatchcase(t.schema, s) and fnmatch.fnmatchcase(t.name, n)

    chosen = [t for t in tables if any(matches(t, s, n) for s, n in parsed)]
    unmatched = [f"{s}.{n}" for s, n in parsed if not any(matches(t, s, n) for t in tables)]
    if unmatched:
        raise ConfigError(
            f"--tables {', '.join(unmatched)} matches no table on the source",
            hint="check the spelling; patterns are SCHEMA.TABLE with * and ? wildcards",
        )
    return chosen


def table_info(conn: Conn, table: TableName) -> TableInfo | None:
    """Columns, key and replica identity of `table`, or None when it does not exist."""
    row = conn.execute(
        "SELECT c.oid::int8, c.relreplident::text, c.relkind = 'p' FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s"
        " AND c.relkind IN ('r', 'p')",
        (table.schema, table.name),
    ).fetchone()
    if row is None:
        return None
    oid, ident, partitioned = int(str(row[0])), str(row[1]), bool(row[2])
    cols = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
        " ORDER BY a.attnum",
        (oid,),
    ).fetchall()
    key = _index_columns(conn, oid, "i.indisprimary")
    if ident == "f":
        identity = tuple(str(c[0]) for c in cols)
    elif ident == "i":
        identity = _index_columns(conn, oid, "i.indisreplident")
    elif ident == "d":
        identity = key
    else:
        identity = ()
    return TableInfo(
        table,
        oid,
        tuple(str(c[0]) for c in cols),
        tuple(str(c[1]) for c in cols),
        key,
        ident,
        identity,
        partitioned,
    )


def _index_columns(conn: Conn, oid: int, which: str) -> tuple[str, ...]:
    rows = conn.execute(
        sql.SQL(
            "SELECT a.attname FROM pg_index i"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE i.indrelid = %s AND {} ORDER BY k.ord"
        ).format(sql.SQL(which)),
        (oid,),
    ).fetchall()
    return tuple(str(r[0]) for r in rows)


def check_replica_identity(conn: Conn, tables: Sequence[TableName]) -> None:
    """Refuse tables whose updates and deletes the source could not publish.

    PostgreSQL fails UPDATE/DELETE on the *source* for a published table with neither a primary
    key nor a replica identity, so replicating such a table would break the source's own writes.
    """
    bad = []
    for t in tables:
        info = table_info(conn, t)
        if info is not None and not info.identity_key:
            bad.append(str(t))
    if bad:
        first = bad[0]
        raise ConfigError(
            f"table {', '.join(bad)} has neither a primary key nor a replica identity, so its"
            " updates and deletes cannot be replicated",
            hint=f"add a primary key, or run ALTER TABLE {first} REPLICA IDENTITY FULL on the"
            " source, or leave the table out with --tables",
        )


def _ident(name: TableName) -> sql.Composable:
    return sql.Identifier(name.schema, name.name)


def table_ddl(conn: Conn, table: TableName) -> list[Statement]:
    """Statements that recreate `table` (and the enums, domains and sequences it uses) elsewhere.

    Secondary indexes are separate (`index_ddl`): creating them after a bulk copy is faster.
    Identity columns become `GENERATED BY DEFAULT` so the applier can write the source's values.
    """
    info = table_info(conn, table)
    if info is None:
        raise ConfigError(f"table {table} does not exist on the source")
    out: list[Statement] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(table.schema))
    ]
    out.extend(_type_ddl(conn, info.oid))
    cols = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,"
        " pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
        "   a.attname)"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (info.oid,),
    ).fetchall()
    parts: list[sql.Composable] = []
    for name, typ, notnull, default, identity, generated, serial_seq in cols:
        col: list[sql.Composable] = [sql.Identifier(str(name)), sql.SQL(str(typ))]
        if generated == "s":
            col.append(sql.SQL("GENERATED ALWAYS AS ({}) STORED").format(sql.SQL(str(default))))
        elif identity in ("a", "d"):
            col.append(sql.SQL("GENERATED BY DEFAULT AS IDENTITY"))
        elif default is not None:
            if serial_seq is not None:
                seq = sql.SQL(str(serial_seq))
                out.append(sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(seq))
            col.append(sql.SQL("DEFAULT {}").format(sql.SQL(str(default))))
        if notnull:
            col.append(sql.SQL("NOT NULL"))
        parts.append(sql.SQL(" ").join(col))
    for (cdef,) in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s AND contype IN ('p', 'u', 'c') ORDER BY contype DESC, conname",
        (info.oid,),
    ).fetchall():
        parts.append(sql.SQL(str(cdef)))
    out.append(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            _ident(table), sql.SQL(", ").join(parts)
        )
    )
    if info.replica_identity == "f":
        out.append(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(_ident(table)))
    return out


def index_ddl(conn: Conn, table: TableName) -> list[Statement]:
    """CREATE INDEX statements for the secondary indexes that no constraint owns."""
    rows = conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        (table.schema, table.name),
    ).fetchall()
    return [
        sql.SQL(
            str(r[0])
            .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
            .replace("CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1)
        )
        for r in rows
    ]


def _type_ddl(conn: Conn, relid: int) -> list[Statement]:
    """CREATE TYPE / DOMAIN statements for the user types the table's columns use."""
    out: list[Statement] = []
    rows = conn.execute(
        "SELECT DISTINCT t.oid, n.nspname, t.typname, t.typtype::text,"
        " format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault"
        " FROM pg_attribute a"
        " JOIN pg_type t ON t.oid = a.atttypid OR (t.typarray = a.atttypid)"
        " JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped"
        " AND t.typtype IN ('e', 'd') AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        (relid,),
    ).fetchall()
    for oid, schema, name, typtype, base, notnull, default in rows:
        ident = sql.Identifier(str(schema), str(name))
        schema_stmt = sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(str(schema)))
        if typtype == "e":
            labels = conn.execute(
                "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = %s ORDER BY enumsortorder",
                (oid,),
            ).fetchall()
            body = sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
                ident, sql.SQL(", ").join(sql.Literal(str(lab[0])) for lab in labels)
            )
        else:
            checks = conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = %s"
                " ORDER BY conname",
                (oid,),
            ).fetchall()
            pieces: list[sql.Composable] = [
                sql.SQL("CREATE DOMAIN {} AS {}").format(ident, sql.SQL(str(base)))
            ]
            if default is not None:
                pieces.append(sql.SQL("DEFAULT {}").format(sql.SQL(str(default))))
            if notnull:
                pieces.append(sql.SQL("NOT NULL"))
            pieces.extend(sql.SQL(str(c[0])) for c in checks)
            body = sql.SQL(" ").join(pieces)
        out.append(schema_stmt)
        out.append(_create_type_once(str(schema), str(name), body))
    return out


def relation_ddl(rel: Relation) -> list[Statement]:
    """CREATE TABLE from a Relation event alone (a PostgreSQL source's declared types).

    The fallback when the source's catalog cannot be asked (the table is gone there already):
    enum types are recreated from the labels the event carries; other user types must exist.
    """
    out: list[Statement] = [
        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(rel.relation.schema))
    ]
    parts: list[sql.Composable] = []
    for c in rel.columns:
        typ = c.type
        if typ.kind == "enum" and typ.labels:
            body = sql.SQL("CREATE TYPE {} AS ENUM ({})").format(
                sql.SQL(typ.source_type), sql.SQL(", ").join(sql.Literal(x) for x in typ.labels)
            )
            # format_type quotes only when needed and qualifies only outside the search path
            schema, _, name = typ.source_type.rpartition(".")
            out.append(_create_type_once(schema.strip('"') or rel.relation.schema, name, body))
        col: list[sql.Composable] = [sql.Identifier(c.name), sql.SQL(typ.source_type)]
        if not c.nullable:
            col.append(sql.SQL("NOT NULL"))
        parts.append(sql.SQL(" ").join(col))
    if rel.key:
        parts.append(
            sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, rel.key)))
        )
    out.append(
        sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            _ident(rel.relation), sql.SQL(", ").join(parts)
        )
    )
    return out


def _create_type_once(schema: str, name: str, body: sql.Composable) -> Statement:
    """`body` (CREATE TYPE/DOMAIN) run only when the type is missing: they have no IF NOT EXISTS."""
    return sql.SQL(
        "DO $bridge$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n"
        " ON n.oid = t.typnamespace WHERE n.nspname = {} AND t.typname = {})"
        " THEN EXECUTE {}; END IF; END $bridge$"
    ).format(sql.Literal(schema), sql.Literal(name), sql.Literal(body.as_string(None)))
