"""The PostgreSQL reader on live servers: exact typed events in commit order from a logical slot."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from bridge.errors import ConfigError
from bridge.local.servers import LocalServer
from bridge.log import (
    ABSENT,
    UNCHANGED,
    Begin,
    Commit,
    Delete,
    Event,
    Insert,
    Relation,
    Truncate,
    Update,
)
from bridge.positions import Lsn
from bridge.readers.postgres import SESSION_OPTIONS, PostgresReader
from bridge.testing.pytest_plugin import ServerPool
from tests.unit.test_pgtypes import EXPECTED_FIRST_ROW

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TABLE kinds (
    id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,4), f4 float4, f8 float8,
    t text, vc varchar(10), b bytea, ok bool, d date, tm time, ts timestamp, tstz timestamptz,
    iv interval, u uuid, j json, jb jsonb, arr int4[], tarr text[], m mood, p positive,
    bits bit(4), vbits varbit, big text NOT NULL DEFAULT ''
);
ALTER TABLE kinds ALTER big SET STORAGE EXTERNAL;
"""
ROW = """INSERT INTO kinds VALUES (1, -32768, 2147483647, 12345678901234.5678, 'Infinity',
    -1.5e300, 'héllo ✓ 🚀', 'short', '\\x00ff10', true, '2024-02-29', '23:59:59.999999',
    'infinity', '2024-03-10 02:30:00.123456+00', '1 year 2 mons 3 days 04:05:06.789',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2]}', '{"b": 1, "a": null}',
    '{1,NULL,3}', '{"a,b","c\\"d",NULL}', 'happy', 7, B'1010', B'10',
    (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100) g))"""


@pytest.fixture
def source_dsn(pg_server: LocalServer) -> Iterator[str]:
    """A fresh database on the session's server (publications are per database)."""
    name = f"src_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    u = urlsplit(pg_server.dsn)
    yield urlunsplit(u._replace(path=f"/{name}"))
    with psycopg.connect(pg_server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def drop_slot(dsn: str, slot: str) -> None:
    """Drop a slot, waiting for the walsender of a closed connection to let go of it."""
    deadline = time.monotonic() + 15
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            try:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
            else:
                return


def collect(reader: PostgresReader, commits: int, timeout: float = 60) -> list[Event]:
    out: list[Event] = []
    deadline = time.monotonic() + timeout
    seen = 0
    for ev in reader.events(idle_timeout=0.5):
        if ev is not None:
            out.append(ev)
            seen += isinstance(ev, Commit)
        if seen >= commits:
            return out
        if time.monotonic() > deadline:
            raise AssertionError(f"only {seen} of {commits} commits arrived: {out[-3:]}")
    return out


def check_relation(rel: Relation) -> None:
    assert (rel.relation.schema, rel.relation.name, rel.key) == ("public", "kinds", ("id",))
    types = {c.name: c.type for c in rel.columns}
    assert (types["id"].kind, types["id"].size) == ("int", 64)
    assert (types["n"].kind, types["n"].precision, types["n"].scale) == ("decimal", 20, 4)
    assert (types["vc"].kind, types["vc"].size, types["vc"].source_type) == (
        "text",
        10,
        "character varying(10)",
    )
    assert (types["m"].kind, types["m"].labels) == ("enum", ("sad", "ok", "happy"))
    assert (types["p"].kind, types["p"].source_type) == ("int", "positive")
    assert types["arr"].kind == "array"
    assert types["arr"].element is not None
    assert types["arr"].element.kind == "int"
    assert (types["bits"].kind, types["bits"].size, types["bits"].fixed) == ("bits", 4, True)
    nullable = {c.name: c.nullable for c in rel.columns}
    assert (nullable["id"], nullable["big"], nullable["t"]) == (False, False, True)


def test_typed_events_in_commit_order(source_dsn: str) -> None:
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO kinds (id, p) VALUES (2, 1)")  # before the slot: not streamed
        reader = PostgresReader(
            source_dsn, slot=f"t_{secrets.token_hex(4)}", publication="bridge", temporary_slot=True
        )
        try:
            reader.open()
            conn.execute(ROW)
            conn.execute("UPDATE kinds SET t = 'changed' WHERE id = 1")  # big: unchanged TOAST
            conn.execute("UPDATE kinds SET id = 3 WHERE id = 2")
            conn.execute("DELETE FROM kinds WHERE id = 3")
            conn.execute("TRUNCATE kinds")
            events = collect(reader, commits=5)
        finally:
            reader.close()

    check_relation(next(e for e in events if isinstance(e, Relation)))

    insert = next(e for e in events if isinstance(e, Insert))
    row = dict(zip(insert.columns, insert.after, strict=True))
    assert len(row.pop("big")) == 3200  # type: ignore[arg-type]
    assert row == EXPECTED_FIRST_ROW

    first, second = (e for e in events if isinstance(e, Update))
    changed = dict(zip(first.columns, first.after, strict=True))
    assert changed["t"] == "changed"
    assert changed["big"] is UNCHANGED  # never NULL
    assert first.unchanged == ("big",)
    assert first.before is None
    assert second.before is not None
    old = dict(zip(second.columns, second.before, strict=True))
    assert old["id"] == 2
    assert all(v is ABSENT for k, v in old.items() if k != "id")
    assert dict(zip(second.columns, second.after, strict=True))["id"] == 3

    delete = next(e for e in events if isinstance(e, Delete))
    assert dict(zip(delete.columns, delete.before, strict=True))["id"] == 3
    truncate = next(e for e in events if isinstance(e, Truncate))
    assert [str(t) for t in truncate.relations] == ["public.kinds"]

    # Positions never go back within the stream; commits carry their transaction's xid.
    positions = [e.position for e in events]
    assert all(isinstance(p, Lsn) and p.value > 0 for p in positions)
    assert positions == sorted(positions)
    # Transactions are contiguous and in commit order.
    bounds = [e for e in events if isinstance(e, Begin | Commit)]
    assert [type(e) for e in bounds] == [Begin, Commit] * 5
    commits = [e for e in bounds if isinstance(e, Commit)]
    assert all(isinstance(c.commit_position, Lsn) for c in commits)
    assert [c.commit_position for c in commits] == sorted({c.commit_position for c in commits})
    for b, c in zip(bounds[::2], bounds[1::2], strict=True):
        assert isinstance(b, Begin)
        assert isinstance(b.commit_position, Lsn)
        assert isinstance(c.commit_position, Lsn)
        assert b.commit_position < c.commit_position
        assert b.xid is not None
        assert c.xid == b.xid


def test_streamed_transaction_arrives_whole_and_in_order(source_dsn: str, pg_major: int) -> None:
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, pad text)")
        reader = PostgresReader(
            source_dsn,
            slot=f"s_{secrets.token_hex(4)}",
            publication="bridge",
            temporary_slot=True,
            # A tiny decoding budget makes the server stream the transaction (protocol 2, PG >= 14).
            session_options=SESSION_OPTIONS + " -c logical_decoding_work_mem=64kB",
        )
        try:
            reader.open()
            assert reader.proto_version == (2 if pg_major >= 14 else 1)
            with conn.transaction():
                conn.execute(
                    "INSERT INTO big SELECT g, repeat('x', 50) FROM generate_series(1, 5000) g"
                )
                conn.execute("SAVEPOINT s")
                conn.execute("INSERT INTO big VALUES (-1, 'rolled back')")
                conn.execute("ROLLBACK TO SAVEPOINT s")
                conn.execute("INSERT INTO big VALUES (5001, 'last')")
            events = collect(reader, commits=1)
            streamed = reader.builder.streamed_transactions
        finally:
            reader.close()
    assert streamed == (1 if pg_major >= 14 else 0)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Begin"
    assert kinds[-1] == "Commit"
    positions = [e.position for e in events]
    assert positions == sorted(positions)  # the whole reassembled transaction is ordered
    ids = [e.after[0] for e in events if isinstance(e, Insert)]
    assert ids == [*range(1, 5001), 5001]  # the aborted subtransaction's row is gone


def test_confirm_advances_the_slot_only_that_far(source_dsn: str) -> None:
    slot = f"c_{secrets.token_hex(4)}"
    with psycopg.connect(source_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        reader = PostgresReader(source_dsn, slot=slot, publication="bridge")
        try:
            start = reader.open()
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("INSERT INTO t VALUES (2)")
            commits = [e for e in collect(reader, commits=2) if isinstance(e, Commit)]
            reader.confirm(commits[0].commit_position)  # type: ignore[arg-type]
            deadline = time.monotonic() + 10
            while True:
                row = conn.execute(
                    "SELECT confirmed_flush_lsn::text FROM pg_replication_slots"
                    " WHERE slot_name = %s",
                    (slot,),
                ).fetchone()
                assert row is not None
                confirmed = Lsn.parse(str(row[0]))
                if confirmed != start or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert confirmed == commits[0].commit_position
            assert confirmed < commits[1].commit_position  # the second stays in the slot
        finally:
            reader.close()
    drop_slot(source_dsn, slot)


def test_a_slot_in_use_is_refused_with_the_fix(source_dsn: str) -> None:
    slot = f"u_{secrets.token_hex(4)}"
    first = PostgresReader(source_dsn, slot=slot, publication="bridge", temporary_slot=False)
    try:
        first.open()
        second = PostgresReader(source_dsn, slot=slot, publication="bridge", slot_wait=1)
        try:
            with pytest.raises(ConfigError, match="in use") as info:
                second.open()
            assert info.value.exit_code == 2
            assert info.value.hint
        finally:
            second.close()
    finally:
        first.close()
    drop_slot(source_dsn, slot)


def test_a_source_without_logical_wal_is_refused_with_the_fix(local_servers: ServerPool) -> None:
    server = local_servers.get("postgres:15", {"wal_level": "replica"})
    with pytest.raises(ConfigError, match="wal_level = replica") as info:
        PostgresReader(server.dsn, slot="never", publication="bridge")
    assert info.value.hint is not None
    assert "wal_level = logical" in info.value.hint
