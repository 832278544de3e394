"""Capture real pgoutput bytes from local servers into golden files for the decoder's unit tests.

Run from the project root when the decoder or the workload changes, and review the diff:

    .venv/bin/python -m tests.data.pgoutput.capture

For each server it runs a workload that produces every message kind (Relation, Type, Insert,
Update with and without old key, unchanged TOAST, Delete, Truncate, Message, Origin, and on
protocol 2 a streamed transaction), reads the slot with pg_logical_slot_peek_binary_changes, and
writes the raw messages (hex) with their decoding (`describe`) to `pg<major>-proto<N>.json`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import psycopg

from bridge.local import servers
from bridge.readers.pgoutput import UNCHANGED_TOAST, PgOutputDecoder

HERE = Path(__file__).parent

SETUP = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TABLE kinds (
    id int8 PRIMARY KEY, i2 int2, i4 int4, n numeric(20,4), nn numeric, f4 float4, f8 float8,
    t text, vc varchar(10), b bytea, ok bool, d date, tm time, ts timestamp, tstz timestamptz,
    iv interval, u uuid, j json, jb jsonb, arr int4[], tarr text[], m mood, p positive,
    bits bit(4), vbits varbit, big text
);
-- Out of line without compression, so a 3 kB value is TOASTed and an update leaves it unsent.
ALTER TABLE kinds ALTER big SET STORAGE EXTERNAL;
CREATE TABLE full_row (k int, v text);
ALTER TABLE full_row REPLICA IDENTITY FULL;
CREATE PUBLICATION golden FOR TABLE kinds, full_row;
"""

WORKLOAD = [
    """INSERT INTO kinds VALUES (1, -32768, 2147483647, 12345678901234.5678, 'NaN', 'Infinity',
       -1.5e300, 'héllo ✓ 🚀', 'short', '\\x00ff10', true, '2024-02-29', '23:59:59.999999',
       'infinity', '2024-03-10 02:30:00.123456+00', '1 year 2 mons 3 days 04:05:06.789',
       'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2]}', '{"b": 1, "a": null}',
       '{1,NULL,3}', '{"a,b","c\\"d",NULL}', 'happy', 7, B'1010', B'10',
       (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100) g))""",
    "INSERT INTO kinds (id) VALUES (2)",
    "UPDATE kinds SET t = 'changed' WHERE id = 1",  # big stays unchanged TOAST
    "UPDATE kinds SET id = 3 WHERE id = 2",  # key change sends the old key
    "DELETE FROM kinds WHERE id = 3",
    "INSERT INTO full_row VALUES (1, 'one')",
    "UPDATE full_row SET v = 'uno' WHERE k = 1",  # FULL sends the whole old row
    "DELETE FROM full_row",
    "SELECT pg_logical_emit_message(true, 'bridge', 'in txn')",
    "SELECT pg_logical_emit_message(false, 'bridge', 'no txn')",
    "TRUNCATE full_row, kinds RESTART IDENTITY CASCADE",
]


def describe(msg: Any) -> Any:
    """A JSON form of a decoded message, for golden comparison."""
    if dataclasses.is_dataclass(msg) and not isinstance(msg, type):
        return {"type": type(msg).__name__} | {
            f.name: describe(getattr(msg, f.name)) for f in dataclasses.fields(msg)
        }
    if isinstance(msg, tuple | list):
        return [describe(x) for x in msg]
    if isinstance(msg, bytes):
        return msg.decode("utf-8", "backslashreplace")
    if isinstance(msg, dt.datetime):
        return "<time>"  # commit times differ per capture; the decoder's arithmetic is unit-tested
    if msg is UNCHANGED_TOAST:
        return "<unchanged toast>"
    return msg


def capture(major: int, proto: int) -> dict[str, Any]:
    with (
        servers.running(f"postgres:{major}") as server,
        psycopg.connect(server.dsn, autocommit=True) as conn,
    ):
        conn.execute(SETUP)
        conn.execute("SELECT pg_create_logical_replication_slot('golden', 'pgoutput')")
        for statement in WORKLOAD:
            conn.execute(statement)
        # A transaction replayed under a replication origin makes pgoutput send an Origin message.
        conn.execute("SELECT pg_replication_origin_create('golden_origin')")
        conn.execute("SELECT pg_replication_origin_session_setup('golden_origin')")
        with conn.transaction():
            conn.execute("SELECT pg_replication_origin_xact_setup('0/ABCDEF', now())")
            conn.execute("INSERT INTO full_row VALUES (9, 'from origin')")
        conn.execute("SELECT pg_replication_origin_session_reset()")
        if proto >= 2:
            # Larger than logical_decoding_work_mem: decoded as a streamed transaction.
            with conn.transaction():
                conn.execute("INSERT INTO full_row SELECT g, 's' FROM generate_series(1, 3000) g")
            conn.execute("SET logical_decoding_work_mem = '64kB'")
        options = ["proto_version", str(proto), "publication_names", "golden"]
        if major >= 14:  # the messages option arrived in 14
            options += ["messages", "true"]
        if proto >= 2:
            options += ["streaming", "on"]
        rows = conn.execute(
            "SELECT lsn::text, data"
            " FROM pg_logical_slot_peek_binary_changes('golden', NULL, NULL, VARIADIC %s)",
            (options,),
        ).fetchall()
        version = server.version
    decoder = PgOutputDecoder(proto)
    messages = []
    streamed_rows = 0
    for lsn, data in rows:
        msg = decoder.decode(bytes(data))
        entry = {"lsn": lsn, "hex": bytes(data).hex(), "decoded": describe(msg)}
        # Keep the streamed transaction's skeleton, not its 3,000 rows.
        if decoder.in_stream and type(msg).__name__ == "Insert":
            streamed_rows += 1
            if streamed_rows > 3:
                continue
        messages.append(entry)
    return {
        "server_version": version,
        "proto_version": proto,
        "streamed_rows": streamed_rows,
        "messages": messages,
    }


def main() -> None:
    for major, proto in ((13, 1), (17, 1), (17, 2)):
        out = HERE / f"pg{major}-proto{proto}.json"
        out.write_text(json.dumps(capture(major, proto), indent=1, ensure_ascii=False) + "\n")
        print(out)


if __name__ == "__main__":
    main()
