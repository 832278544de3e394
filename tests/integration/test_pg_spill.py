"""Large streamed transactions (pgoutput protocol 2) replicate whole with bounded reader memory.

A tiny `logical_decoding_work_mem` on the walsender's session makes the server stream a
transaction while it runs; a small `spill_events` makes the reader spill it to disk. Only
PostgreSQL >= 14 streams, so these run on 15 and 17.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from bridge.local.servers import LocalServer
from bridge.log import Begin, Commit, Event, Insert, Relation, SourceId, TableName
from bridge.positions import Lsn
from bridge.readers.postgres import SESSION_OPTIONS, PostgresReader
from bridge.testing.pytest_plugin import ServerPool
from tests.integration.test_pg_reader import collect

ROWS = 200_000
SPILL_EVENTS = 2000


@pytest.fixture(
    params=[
        pytest.param(15, id="pg15", marks=pytest.mark.pg15),
        pytest.param(17, id="pg17", marks=pytest.mark.pg17),
    ]
)
def streaming_dsn(request: pytest.FixtureRequest, local_servers: ServerPool) -> Iterator[str]:
    """A fresh database on a PostgreSQL that streams in-progress transactions."""
    server: LocalServer = local_servers.get(f"postgres:{request.param}")
    name = f"spill_{secrets.token_hex(4)}"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield urlunsplit(urlsplit(server.dsn)._replace(path=f"/{name}"))
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def open_reader(dsn: str) -> PostgresReader:
    reader = PostgresReader(
        dsn,
        slot=f"sp_{secrets.token_hex(4)}",
        publication="bridge",
        temporary_slot=True,
        session_options=SESSION_OPTIONS + " -c logical_decoding_work_mem=64kB",
    )
    reader.builder.spill_events = SPILL_EVENTS
    reader.open()
    return reader


def held_bytes_per_event() -> float:
    """What one received Insert costs while held in memory (event, row tuple, values)."""
    source = SourceId("postgres", "1", "17")
    table, columns = TableName("public", "big"), ("id", "pad")
    tracemalloc.start()
    try:
        held = [
            Insert(source, Lsn(1 << 30 | i), table, columns, (1 << 20 | i, "x" * 20), ("id",))
            for i in range(10_000)
        ]
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(held) == 10_000
    return size / 10_000


# The reader runs in a child process so that its peak RSS (ru_maxrss) is its own: tracemalloc
# would slow the reader down sixfold, and the test process's RSS mixes in every earlier test.
CONSUMER = """
import json, resource, sys
from bridge.log import Commit, Insert
from bridge.positions import Lsn
from bridge.readers.postgres import SESSION_OPTIONS, PostgresReader

dsn, spill_events = sys.argv[1], int(sys.argv[2])
reader = PostgresReader(dsn, slot="spill_child", publication="bridge", temporary_slot=True,
    session_options=SESSION_OPTIONS + " -c logical_decoding_work_mem=64kB")
reader.builder.spill_events = spill_events
reader.open()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("ready", flush=True)
rows, in_order, kinds, last = 0, True, [], Lsn(0)
for ev in reader.events(idle_timeout=0.5):
    if ev is None:
        continue
    in_order = in_order and ev.position >= last  # positions never go back
    last = ev.position
    if isinstance(ev, Insert):
        in_order = in_order and ev.after == (rows + 1, "x" * 20)
        rows += 1
    else:
        kinds.append(type(ev).__name__)
    if isinstance(ev, Commit):
        break
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "rows": rows, "in_order": in_order, "kinds": kinds, "growth": (peak - base) * 1024,
    "streamed": reader.builder.streamed_transactions,
    "spilled": reader.builder.spilled_transactions,
}), flush=True)
reader.close()
"""


def test_a_large_streamed_transaction_replicates_whole_in_bounded_memory(
    streaming_dsn: str,
) -> None:
    with psycopg.connect(streaming_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, pad text)")
        child = subprocess.Popen(
            [sys.executable, "-c", CONSUMER, streaming_dsn, str(SPILL_EVENTS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            conn.execute(
                "INSERT INTO big SELECT g, repeat('x', 20) FROM generate_series(1, %s::int) g",
                (ROWS,),
            )
            out, _ = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert child.returncode == 0
    result = json.loads(out)
    assert (result["rows"], result["in_order"]) == (ROWS, True)
    # pgoutput may announce a table again at any time (a relcache invalidation by autovacuum).
    kinds = result["kinds"]
    assert (kinds[0], kinds[1], kinds[-1], set(kinds[1:-1])) == (
        "Begin",
        "Relation",
        "Commit",
        {"Relation"},
    )
    assert (result["streamed"], result["spilled"]) == (1, 1)
    holding_all = ROWS * held_bytes_per_event()  # about 40 MB
    growth = result["growth"]
    assert growth < holding_all / 5, (
        f"RSS grew {growth} B; holding every event: {holding_all:.0f} B"
    )


def test_a_savepoint_rolled_back_in_a_spilled_transaction_loses_only_its_rows(
    streaming_dsn: str,
) -> None:
    kept, doomed = 3 * SPILL_EVENTS, 3 * SPILL_EVENTS + SPILL_EVENTS // 2
    with psycopg.connect(streaming_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, pad text)")
        conn.execute("CREATE TABLE other (id int PRIMARY KEY)")
        reader = open_reader(streaming_dsn)
        try:
            with conn.transaction():
                conn.execute(
                    "INSERT INTO big SELECT g, 'kept' FROM generate_series(1, %s::int) g", (kept,)
                )
                conn.execute("SAVEPOINT s")
                # Spilled, then dropped: part on disk, part in memory when the abort comes.
                conn.execute(
                    "INSERT INTO big SELECT -g, 'rolled back' FROM generate_series(1, %s::int) g",
                    (doomed,),
                )
                # The transaction's first change to `other`: if streamed, its Relation goes with
                # the savepoint, and pgoutput sends it again before the next change to `other`.
                conn.execute("INSERT INTO other VALUES (-1)")
                conn.execute("ROLLBACK TO SAVEPOINT s")
                conn.execute("INSERT INTO other VALUES (1)")
                conn.execute(
                    "INSERT INTO big SELECT g, 'kept' FROM generate_series(%s::int, %s::int) g",
                    (kept + 1, kept + 10),
                )
            events: list[Event] = collect(reader, commits=1)
            builder = reader.builder
        finally:
            reader.close()
    assert (builder.streamed_transactions, builder.spilled_transactions) == (1, 1)
    # The premise: the savepoint's rows were streamed and spilled before its Stream Abort.
    assert builder.spilled_events >= kept + doomed - SPILL_EVENTS
    assert isinstance(events[0], Begin)
    assert isinstance(events[-1], Commit)
    positions = [e.position for e in events]
    assert positions == sorted(positions)
    rows = [(e.relation.name, e.after[0]) for e in events if isinstance(e, Insert)]
    assert rows == [
        *(("big", i) for i in range(1, kept + 1)),
        ("other", 1),
        *(("big", i) for i in range(kept + 1, kept + 11)),
    ]
    # Each row follows an announcement of its table. other's first one went with the savepoint
    # when streamed; after a Stream Abort pgoutput announces every table again before its next row.
    announced = set()
    for e in events:
        if isinstance(e, Relation):
            announced.add(e.relation.name)
        elif isinstance(e, Insert):
            assert e.relation.name in announced
