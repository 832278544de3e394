"""DDL capture on a PostgreSQL source: sql/postgres/ddl_capture.sql and the reader's Ddl events."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from bridge.errors import ConfigError
from bridge.local.servers import LocalServer
from bridge.log import (
    Ddl,
    Delete,
    Event,
    Insert,
    Relation,
    TableName,
    Truncate,
    Update,
)
from bridge.readers.pgpublication import ensure_publication
from bridge.readers.postgres import (
    SESSION_OPTIONS,
    PostgresReader,
    ddl_capture_sql,
    first_schema,
)
from tests.integration.test_pg_reader import collect

ROOT = Path(__file__).parents[2]


@pytest.fixture
def capture_dsn(pg_server: LocalServer) -> Iterator[str]:
    """A fresh database with DDL capture installed (the servers' `postgres` is a superuser)."""
    name = f"ddl_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = urlunsplit(urlsplit(pg_server.dsn)._replace(path=f"/{name}"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl_capture_sql())
    yield dsn
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        # Roles are cluster-wide: tests name theirs after the database (see `role`).
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (name,)
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(str(role))))


def role(dsn: str, suffix: str) -> str:
    """A role name the `capture_dsn` fixture drops afterwards."""
    return f"{urlsplit(dsn).path.lstrip('/')}_{suffix}"


def shape(events: list[Event]) -> list[tuple[object, ...]]:
    """Events as comparable tuples: kind, then what matters for this test.

    pgoutput may announce a relation again unchanged at any point (a relcache invalidation from,
    say, autovacuum clears its "schema sent" flag), so a Relation event that repeats the table's
    previous shape is left out.
    """
    out: list[tuple[object, ...]] = []
    shapes: dict[str, tuple[str, ...]] = {}
    for e in events:
        if isinstance(e, Ddl):
            out.append(("ddl", e.text, e.schema))
        elif isinstance(e, Relation):
            columns = tuple(c.name for c in e.columns)
            if shapes.get(str(e.relation)) != columns:
                out.append(("relation", str(e.relation), columns))
            shapes[str(e.relation)] = columns
        elif isinstance(e, Insert):
            out.append(("insert", str(e.relation), *e.after))
        elif isinstance(e, Update | Delete):
            out.append((type(e).__name__.lower(), str(e.relation)))
        elif isinstance(e, Truncate):
            out.append(("truncate", *map(str, e.relations)))
        else:
            out.append((type(e).__name__.lower(),))
    return out


def test_the_sql_file_is_the_packaged_one() -> None:
    assert (ROOT / "sql" / "postgres" / "ddl_capture.sql").read_text() == ddl_capture_sql()
    assert "CREATE EVENT TRIGGER bridge_ddl_capture ON ddl_command_end" in ddl_capture_sql()


def test_ddl_arrives_as_events_in_order_with_the_rows(capture_dsn: str, pg_major: int) -> None:
    n = 3000  # enough for the tiny decoding budget below to stream the transaction (PG >= 14)
    with psycopg.connect(capture_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, x text)")
        reader = PostgresReader(
            capture_dsn,
            slot=f"d_{secrets.token_hex(4)}",
            publication="bridge",
            temporary_slot=True,
            session_options=SESSION_OPTIONS + " -c logical_decoding_work_mem=64kB",
        )
        try:
            reader.open()
            with conn.transaction():
                conn.execute("INSERT INTO t SELECT g, 'a' FROM generate_series(1, %s::int) g", (n,))
                conn.execute("ALTER TABLE t ADD COLUMN c int DEFAULT 7")
                conn.execute("INSERT INTO t VALUES (-1, 'b', 8)")
                conn.execute("ALTER TABLE t DROP COLUMN x")
                conn.execute("CREATE TABLE t2 (id int PRIMARY KEY, v text)")
                conn.execute("INSERT INTO t2 VALUES (1, 'z')")
            # Two DDL commands in one query string: one event, with the whole string.
            conn.execute("CREATE TABLE t3 (id int); CREATE INDEX t3_id ON t3 (id)")
            conn.execute("DROP TABLE t2")
            # The log's own maintenance never reaches the stream.
            with conn.transaction():
                conn.execute("UPDATE bridge.ddl_log SET command_tag = lower(command_tag)")
                conn.execute("DELETE FROM bridge.ddl_log WHERE query LIKE 'DROP%%'")
                conn.execute("INSERT INTO t VALUES (-2)")
            conn.execute("TRUNCATE bridge.ddl_log, t")
            events = collect(reader, commits=5)
            streamed = reader.builder.streamed_transactions
        finally:
            reader.close()

    assert streamed == (1 if pg_major >= 14 else 0)
    assert not [e for e in events if getattr(e, "relation", None) == TableName("bridge", "ddl_log")]
    assert shape(events) == [
        ("begin",),
        ("relation", "public.t", ("id", "x")),
        *(("insert", "public.t", i, "a") for i in range(1, n + 1)),
        ("ddl", "ALTER TABLE t ADD COLUMN c int DEFAULT 7", "public"),
        ("relation", "public.t", ("id", "x", "c")),
        ("insert", "public.t", -1, "b", 8),
        ("ddl", "ALTER TABLE t DROP COLUMN x", "public"),
        ("ddl", "CREATE TABLE t2 (id int PRIMARY KEY, v text)", "public"),
        ("relation", "public.t2", ("id", "v")),
        ("insert", "public.t2", 1, "z"),
        ("commit",),
        ("begin",),
        ("ddl", "CREATE TABLE t3 (id int); CREATE INDEX t3_id ON t3 (id)", "public"),
        ("commit",),
        ("begin",),
        ("ddl", "DROP TABLE t2", "public"),
        ("commit",),
        ("begin",),
        ("relation", "public.t", ("id", "c")),
        ("insert", "public.t", -2, 7),
        ("commit",),
        ("begin",),
        ("truncate", "public.t"),
        ("commit",),
    ]
    ddl = next(e for e in events if isinstance(e, Ddl))
    assert ddl.dialect == "postgres"
    positions = [e.position for e in events]
    assert positions == sorted(positions)


def test_what_the_capture_records_and_skips(capture_dsn: str) -> None:
    owner = role(capture_dsn, "owner")
    with psycopg.connect(capture_dsn, autocommit=True) as conn:
        for statement in [
            "CREATE TABLE kept (id int)",
            "CREATE TEMP TABLE scratch (id int)",  # temporary objects: skipped
            "DROP TABLE scratch",
            "CREATE TABLE bridge.mine (id int)",  # bridge's own schema: skipped
            "DROP TABLE bridge.mine",
            "CREATE TABLE IF NOT EXISTS kept (id int)",  # no-ops: skipped
            "DROP TABLE IF EXISTS missing",
            "SET bridge.applying = on",  # bridge's apply sessions: skipped
            "CREATE TABLE echoed (id int)",
            "SET bridge.applying = off",
            'CREATE SCHEMA "App S"',
            'SET search_path = nosuch, "$user", "App S", public',
            "CREATE TABLE in_app (id int)",  # recorded with the search_path that resolved
            "BEGIN",
            "SAVEPOINT s",
            "CREATE TABLE undone (id int)",  # rolled back with its savepoint
            "ROLLBACK TO SAVEPOINT s",
            "CREATE TABLE twice (id int)",  # the same text twice in one transaction: two rows
            "DROP TABLE twice",
            "CREATE TABLE twice (id int)",
            "COMMIT",
            "RESET search_path",
            # A role that is not a superuser keeps running DDL, and it is recorded.
            f"CREATE ROLE {owner}",
            f"GRANT CREATE, USAGE ON SCHEMA public TO {owner}",
            f"SET ROLE {owner}",
            "CREATE TABLE owned (id int)",
            "ALTER TABLE owned ADD COLUMN v text",
        ]:
            conn.execute(statement)
        # ... but may neither write the log nor call the recording function.
        for forged in [
            "INSERT INTO bridge.ddl_log (query) VALUES ('DROP TABLE kept')",
            "SELECT bridge.ddl_capture_record('DROP TABLE', 'public.kept')",
        ]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(forged)
        conn.execute("RESET ROLE")
        conn.execute(ddl_capture_sql())  # idempotent: installs again, records nothing
        rows = conn.execute(
            "SELECT command_tag, object_identity, search_path, query FROM bridge.ddl_log"
            " ORDER BY id"
        ).fetchall()
        txids = conn.execute(
            "SELECT count(DISTINCT txid) FROM bridge.ddl_log WHERE query LIKE '%%twice%%'"
        ).fetchone()
    assert rows == [
        ("CREATE TABLE", "public.kept", "public", "CREATE TABLE kept (id int)"),
        ("CREATE SCHEMA", '"App S"', "public", 'CREATE SCHEMA "App S"'),
        ("CREATE TABLE", '"App S".in_app', '"App S", public', "CREATE TABLE in_app (id int)"),
        ("CREATE TABLE", '"App S".twice', '"App S", public', "CREATE TABLE twice (id int)"),
        ("DROP TABLE", '"App S".twice', '"App S", public', "DROP TABLE twice"),
        ("CREATE TABLE", '"App S".twice', '"App S", public', "CREATE TABLE twice (id int)"),
        ("GRANT", None, "public", f"GRANT CREATE, USAGE ON SCHEMA public TO {owner}"),
        ("CREATE TABLE", "public.owned", "public", "CREATE TABLE owned (id int)"),
        ("ALTER TABLE", "public.owned", "public", "ALTER TABLE owned ADD COLUMN v text"),
    ]
    assert txids == (1,)
    assert first_schema('"App S", public') == "App S"


def test_a_table_list_publication_carries_the_ddl_log(capture_dsn: str) -> None:
    with psycopg.connect(capture_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("CREATE TABLE other (id int PRIMARY KEY)")
        reader = PostgresReader(
            capture_dsn,
            slot=f"l_{secrets.token_hex(4)}",
            publication="listed",
            tables=[TableName("public", "t")],
            temporary_slot=True,
        )
        try:
            reader.open()
            conn.execute("ALTER TABLE t ADD COLUMN v text")
            with conn.transaction():
                conn.execute("INSERT INTO other VALUES (1)")  # not published
                conn.execute("INSERT INTO t VALUES (1, 'a')")
            events = collect(reader, commits=2)
        finally:
            reader.close()
        # A publication found without the log gets it added.
        conn.execute("CREATE PUBLICATION older FOR TABLE t")
        ensure_publication(conn, "older", [TableName("public", "t")])
        published = conn.execute(
            "SELECT pubname, schemaname || '.' || tablename FROM pg_publication_tables"
            " WHERE pubname IN ('listed', 'older') ORDER BY 1, 2"
        ).fetchall()
    assert shape(events) == [
        ("begin",),
        ("ddl", "ALTER TABLE t ADD COLUMN v text", "public"),
        ("commit",),
        ("begin",),
        ("relation", "public.t", ("id", "v")),
        ("insert", "public.t", 1, "a"),
        ("commit",),
    ]
    assert published == [
        ("listed", "bridge.ddl_log"),
        ("listed", "public.t"),
        ("older", "bridge.ddl_log"),
        ("older", "public.t"),
    ]


def test_a_publication_bridge_may_not_alter_is_refused_with_the_fix(capture_dsn: str) -> None:
    with psycopg.connect(capture_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        conn.execute("CREATE PUBLICATION theirs FOR TABLE t")
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role(capture_dsn, "r"))))
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role(capture_dsn, "r"))))
        with pytest.raises(ConfigError, match=r"lacks bridge\.ddl_log") as info:
            ensure_publication(conn, "theirs", None)
        conn.execute("RESET ROLE")
    assert (
        info.value.hint
        == "run ALTER PUBLICATION theirs ADD TABLE bridge.ddl_log as the publication's owner"
    )
