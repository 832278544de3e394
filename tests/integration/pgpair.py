"""Helpers for PostgreSQL -> PostgreSQL tests: fresh databases, a pipeline in a thread, data
comparison and a random schema over the types in common use."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bridge.dsn import parse_dsn
from bridge.local.servers import LocalServer
from bridge.pipeline import Options, Pipeline, Status

# The walsender's formatting: equal data prints equal text on any major.
from bridge.readers.postgres import SESSION_OPTIONS


@contextlib.contextmanager
def fresh_db(server: LocalServer, prefix: str = "db") -> Iterator[str]:
    """A new database on `server` (dropped afterwards, slots included); yields its DSN."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    u = urlsplit(server.dsn)
    dsn = urlunsplit(u._replace(path=f"/{name}"))
    try:
        yield dsn
    finally:
        drop_db(server, name)


def drop_db(server: LocalServer, name: str) -> None:
    deadline = time.monotonic() + 20
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        while True:
            try:
                for (slot,) in conn.execute(
                    "SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)
                ).fetchall():
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            except psycopg.errors.ObjectInUse:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            else:
                return


def execute(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in statements:
            conn.execute(s.encode())


@dataclass
class Running:
    pipeline: Pipeline
    thread: threading.Thread
    errors: list[BaseException]
    statuses: list[Status]


@contextlib.contextmanager
def pipeline_thread(source: str, target: str, **options: object) -> Iterator[Running]:
    """`dbbridge run` in a thread; stopped (and its error raised) on exit."""
    statuses: list[Status] = []
    pipe = Pipeline(
        parse_dsn(source),
        parse_dsn(target),
        Options(**options),  # type: ignore[arg-type]
        on_status=statuses.append,
    )
    errors: list[BaseException] = []

    def target_fn() -> None:
        try:
            pipe.run()
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            errors.append(e)

    thread = threading.Thread(target=target_fn, daemon=True)
    thread.start()
    running = Running(pipe, thread, errors, statuses)
    try:
        yield running
    finally:
        pipe.stop()
        thread.join(30)
    assert not thread.is_alive(), "the pipeline did not stop within 30 s"
    if errors:
        raise errors[0]


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, running: Running | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running is not None and running.errors:
            raise running.errors[0]
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


MARKER = "CREATE TABLE IF NOT EXISTS public.zz_marker (id int PRIMARY KEY)"


def streaming(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether every pipeline with a checkpoint on this target has finished its initial copy."""
    if conn.execute("SELECT to_regclass('bridge.checkpoints')").fetchone() == (None,):
        return False
    row = conn.execute("SELECT bool_and(phase = 'streaming') FROM bridge.checkpoints").fetchone()
    return bool(row and row[0])


def sync(source: str, target: str, timeout: float = 60, running: Running | None = None) -> None:
    """Write a marker row on the source and wait until the target has it: caught up."""
    token = secrets.randbelow(2**31)
    execute(source, f"INSERT INTO public.zz_marker VALUES ({token})")

    def arrived() -> bool:
        with psycopg.connect(target, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('public.zz_marker')").fetchone() == (None,):
                return False
            if conn.execute("SELECT 1 FROM public.zz_marker WHERE id = %s", (token,)).fetchone():
                # The marker may have come with the initial copy, whose tables commit one by
                # one: the target is whole once every pipeline on it streams.
                return streaming(conn)
            return False

    wait_for(arrived, timeout, "the target to catch up", running)


def table_rows(dsn: str, table: str, order_by: str = "1") -> list[str]:
    """Every row of `table` as PostgreSQL's own text, in key order."""
    with psycopg.connect(dsn, autocommit=True, options=SESSION_OPTIONS) as conn:
        rows = conn.execute(
            sql.SQL("SELECT t::text FROM {} AS t ORDER BY {}").format(
                sql.SQL(table), sql.SQL(order_by)
            )
        ).fetchall()
    return [str(r[0]) for r in rows]


def assert_same(source: str, target: str, tables: Sequence[str], order_by: str = "1") -> None:
    for t in tables:
        src, tgt = table_rows(source, t, order_by), table_rows(target, t, order_by)
        if src != tgt:
            missing = sorted(set(src) - set(tgt))[:5]
            extra = sorted(set(tgt) - set(src))[:5]
            raise AssertionError(
                f"{t} differs: source {len(src)} rows, target {len(tgt)};"
                f" only on source {missing}; only on target {extra}"
            )


# ------------------------------------------------------------------------------- random schema


def _text(rng: random.Random) -> str:
    alphabet = "abcXYZ 019_'\"\\,{}\t\néü✓🚀漢"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))


def _float(rng: random.Random) -> str:
    return rng.choice(["Infinity", "-Infinity", "NaN", repr(rng.uniform(-1e12, 1e12)), "0", "-0"])


def _numeric(rng: random.Random) -> str:
    return rng.choice(
        ["NaN", f"{rng.randrange(-(10**12), 10**12)}.{rng.randrange(10**6):06d}", "0"]
    )


def _ts(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(["infinity", "-infinity"])
    return (
        f"{rng.randrange(1900, 2100)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        f" {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        f".{rng.randrange(10**6):06d}"
    )


def _tstz(rng: random.Random) -> str:
    ts = _ts(rng)
    return ts if "infinity" in ts else ts + rng.choice(["+00", "+05:30", "-08"])


def _json(rng: random.Random) -> str:
    return rng.choice(
        ['{"a": 1, "b": [1, 2.50, null]}', '"x"', "[]", '{"é": "🚀", "n": 1e3}', "null"]
    )


# name -> (declaration, generator of a value's text)
TYPES: dict[str, tuple[str, Callable[[random.Random], str]]] = {
    "i2": ("int2", lambda r: str(r.randrange(-32768, 32768))),
    "i4": ("int4", lambda r: str(r.randrange(-(2**31), 2**31))),
    "i8": ("int8", lambda r: str(r.randrange(-(2**63), 2**63))),
    "num": ("numeric", _numeric),
    "num2": ("numeric(18,6)", _numeric),
    "f4": ("float4", _float),
    "f8": ("float8", _float),
    "txt": ("text", _text),
    "vc": ("varchar(30)", _text),
    "bin": ("bytea", lambda r: "\\x" + r.randbytes(r.randrange(0, 20)).hex()),
    "flag": ("bool", lambda r: r.choice(["t", "f"])),
    "d": ("date", lambda r: r.choice(["infinity", "2024-02-29", "1999-12-31", "0044-03-15 BC"])),
    "tm": ("time", lambda r: r.choice(["00:00:00", "23:59:59.999999", "24:00:00", "12:34:56.5"])),
    "ts": ("timestamp", _ts),
    "tstz": ("timestamptz", _tstz),
    "iv": (
        "interval",
        lambda r: r.choice(
            ["1 year 2 mons 3 days 04:05:06.789", "-1 days +02:00", "00:00:00", "123456:00:00"]
        ),
    ),
    "u": ("uuid", lambda r: str(uuid.UUID(int=r.getrandbits(128)))),
    "js": ("json", _json),
    "jsb": ("jsonb", _json),
    "ia": ("int4[]", lambda r: r.choice(["{}", "{1,NULL,3}", "{{1,2},{3,4}}"])),
    "ta": ("text[]", lambda r: r.choice(["{}", '{"a,b","c\\"d",NULL}', "{é,🚀}"])),
    "mood": ("mood", lambda r: r.choice(["sad", "ok", "happy"])),
    "pos": ("positive", lambda r: str(r.randrange(1, 1000))),
}
TYPES_SQL = (
    "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
    " CREATE DOMAIN positive AS int CHECK (VALUE > 0);"
)


@dataclass
class RandomTable:
    name: str
    columns: list[str]

    def create(self) -> str:
        cols = ", ".join(f"{c} {TYPES[c][0]}" for c in self.columns)
        return f"CREATE TABLE {self.name} (id int8 PRIMARY KEY, {cols})"

    def row(self, rng: random.Random, key: int) -> tuple[str, list[str | None]]:
        values: list[str | None] = [str(key)]
        for c in self.columns:
            values.append(None if rng.random() < 0.1 else TYPES[c][1](rng))
        casts = ", ".join(["%s::int8"] + [f"%s::{TYPES[c][0]}" for c in self.columns])
        return f"INSERT INTO {self.name} (id, {', '.join(self.columns)}) VALUES ({casts})", values


def random_table(rng: random.Random, name: str) -> RandomTable:
    return RandomTable(name, rng.sample(sorted(TYPES), rng.randrange(6, len(TYPES))))


def random_changes(
    dsn: str, table: RandomTable, rng: random.Random, keys: list[int], n: int
) -> None:
    """`n` random inserts, updates (incl. key changes) and deletes, in small transactions."""
    next_key = max(keys, default=0) + 1
    with psycopg.connect(dsn) as conn:
        for i in range(n):
            roll = rng.random()
            if roll < 0.5 or not keys:
                q, v = table.row(rng, next_key)
                conn.execute(q, v)
                keys.append(next_key)
                next_key += 1
            elif roll < 0.8:
                key = rng.choice(keys)
                col = rng.choice(table.columns)
                value = TYPES[col][1](rng)
                conn.execute(
                    f"UPDATE {table.name} SET {col} = %s::{TYPES[col][0]} WHERE id = %s",
                    (value, key),
                )
            elif roll < 0.9:
                key = keys.pop(rng.randrange(len(keys)))
                conn.execute(f"DELETE FROM {table.name} WHERE id = %s", (key,))
            else:
                key = keys.pop(rng.randrange(len(keys)))
                conn.execute(f"UPDATE {table.name} SET id = %s WHERE id = %s", (next_key, key))
                keys.append(next_key)
                next_key += 1
            if i % 7 == 6:
                conn.commit()
        conn.commit()


def dbbridge(*args: str, stdout: int | None = subprocess.PIPE) -> subprocess.Popen[str]:
    """`dbbridge ARGS` as a subprocess (stderr captured as text; stdout too unless told)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DBBRIDGE_DEBUG": "1"},
    )


def kill_9_repeatedly(args: Sequence[str], *, times: int = 5, seed: int = 99) -> None:
    """Start `dbbridge ARGS` and kill -9 it at a random moment, `times` times."""
    rng = random.Random(seed)
    for _ in range(times):
        proc = dbbridge(*args)
        time.sleep(rng.uniform(0.8, 2.5))
        assert proc.poll() is None, f"dbbridge run died: {proc.communicate()[1]}"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


@dataclass
class BridgeRun:
    """A `dbbridge run` process; `stderr` is filled once it has stopped."""

    proc: subprocess.Popen[str]
    stderr: str = ""


@contextlib.contextmanager
def bridge_run(
    source: str,
    target: str,
    name: str,
    *extra: str,
    stop_with: signal.Signals = signal.SIGTERM,
) -> Iterator[BridgeRun]:
    """`dbbridge run [EXTRA…]` as a process, stopped with `stop_with` on exit, which must exit 0."""
    args = ("run", "--source", source, "--target", target, "--name", name, "-q", *extra)
    run = BridgeRun(dbbridge(*args))
    try:
        yield run
    finally:
        run.proc.send_signal(stop_with)
        _, run.stderr = run.proc.communicate(timeout=60)
    assert run.proc.returncode == 0, run.stderr
