"""A live workload for the fault tests: small mixed transactions on `accounts` (int key,
balance, note), each also appending to the keyless `audit` table (seq, time) — there a change
applied twice or lost shows as a row too many or too few."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from bridge import mysqlconn

PG_SCHEMA = (
    "CREATE TABLE accounts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " balance int NOT NULL, note text)",
    # No key: a duplicate or a lost insert shows as a row too many or too few.
    "CREATE TABLE audit (seq int, at timestamptz)",
    "ALTER TABLE audit REPLICA IDENTITY FULL",
    "INSERT INTO accounts (balance, note) SELECT g, 'seed' FROM generate_series(1, 2000) g",
)
"""The tables `pg_step` writes to, on a PostgreSQL source."""

Step = Callable[[Any, random.Random, int], None]
"""One statement group of a transaction on a cursor; `seq` numbers the audit row."""


def pg_step(cur: Any, rng: random.Random, seq: int) -> None:
    roll = rng.random()
    if roll < 0.5:
        cur.execute(
            "INSERT INTO accounts (balance, note) VALUES (%s, %s)", (rng.randrange(1000), f"n{seq}")
        )
    elif roll < 0.8:
        cur.execute(
            "UPDATE accounts SET balance = balance + 1, note = %s"
            " WHERE id = (SELECT id FROM accounts ORDER BY random() LIMIT 1)",
            (f"u{seq}",),
        )
    elif roll < 0.9:
        cur.execute(
            "DELETE FROM accounts WHERE id = (SELECT id FROM accounts ORDER BY random() LIMIT 1)"
        )
    cur.execute("INSERT INTO audit VALUES (%s, now())", (seq,))


def my_step(cur: Any, rng: random.Random, seq: int) -> None:
    roll = rng.random()
    if roll < 0.5:
        cur.execute(
            "INSERT INTO accounts (balance, note) VALUES (%s, %s)",
            (rng.randrange(1000), f"n{seq} 🐬"),
        )
    elif roll < 0.8:
        cur.execute(
            "UPDATE accounts SET balance = balance + 1, note = %s ORDER BY rand() LIMIT 1",
            (f"u{seq}",),
        )
    elif roll < 0.9:
        cur.execute("DELETE FROM accounts ORDER BY rand() LIMIT 1")
    cur.execute("INSERT INTO audit VALUES (%s, now(6))", (seq,))


class Workload(threading.Thread):
    """Transactions of 1-5 steps until `halt` is set. Without `reconnect`, the first error ends
    it (kept in `error` for the test); with it, a lost connection is reopened after a pause (the
    chaos test restarts the servers under it)."""

    def __init__(self, dsn: str, step: Step, seed: int, *, reconnect: bool = False) -> None:
        super().__init__(daemon=True)
        self.dsn, self.step, self.reconnect = dsn, step, reconnect
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.transactions = 0
        self.reconnects = 0
        self.error: BaseException | None = None

    def _connect(self) -> Any:
        if self.dsn.startswith(("mysql:", "mariadb:")):
            return mysqlconn.connect(self.dsn, autocommit=False)
        return psycopg.connect(self.dsn, connect_timeout=3)

    def run(self) -> None:
        seq = 0  # never reused, even when a commit's fate is unknown
        while not self.halt.is_set():
            conn = None
            try:
                conn = self._connect()
                cur = conn.cursor()
                while not self.halt.is_set():
                    for _ in range(self.rng.randrange(1, 6)):
                        seq += 1
                        self.step(cur, self.rng, seq)
                    conn.commit()
                    self.transactions += 1
                    time.sleep(0.002)
            except Exception as e:  # noqa: BLE001 - reported by the test, or retried
                if not self.reconnect:
                    self.error = e
                    return
                self.reconnects += 1
                time.sleep(0.2)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()


def kill_9_under_load(args: Sequence[str], source: str, step: Step, *, seed: int) -> Workload:
    """`dbbridge ARGS` killed with -9 five times while a workload writes to `source`; returns
    the finished workload, which must have run without error."""
    from tests.integration.pgpair import kill_9_repeatedly  # noqa: PLC0415 - pgpair is heavier

    work = Workload(source, step, seed=seed)
    work.start()
    try:
        kill_9_repeatedly(args)
    finally:
        work.halt.set()
        work.join(10)
    assert work.error is None, work.error
    assert work.transactions > 50
    return work
