"""Chaos: a mixed workload on the source while the bridge, the source server and the target
server are killed and restarted at random (at least 10 faults), for PG 13 -> 17 and
MariaDB -> PG 17; afterwards the target equals the source by a data comparison.

Bounded in time (about a minute of faults per pair) and on loopback only. Every fault is one of:
kill -9 of `dbbridge run` (restarted at once), a crash of the source or of the target server
(SIGQUIT/SIGKILL: no clean shutdown), a clean restart of either server. The workload reconnects
after its connection drops; `dbbridge run` retries with backoff and resumes from its checkpoint,
and a supervisor restarts it if it ever exits. The keyless audit table would show a duplicated
or lost change as a row too many or too few.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bridge.local import servers
from bridge.local.servers import LocalServer
from tests.integration.crossengine import assert_same_rows, sync_mysql
from tests.integration.mypair import execute as my_execute
from tests.integration.pgpair import MARKER, assert_same, execute, sync
from tests.integration.workload import Step, Workload, my_step, pg_step

FAULTS = 10


class Bridge:
    """`dbbridge run` kept running: restarted after a kill -9, or if it ever exits. Its stderr
    goes to a file (a pipe nobody reads would fill up and block it)."""

    def __init__(self, source: str, target: str, log: Path) -> None:
        self.args = [sys.executable, "-m", "bridge", "run", "--source", source, "--target", target]
        self.args += ["--name", "chaos", "-q", "--retry-for", "120"]
        self.log = log
        self.exits: list[int] = []
        self.proc = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as err:
            return subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=err)

    def ensure_running(self) -> None:
        if self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            self.proc = self._start()

    def kill_9(self) -> None:
        self.ensure_running()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = self._start()

    def stop(self) -> None:
        self.ensure_running()
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(60) == 0, self.log.read_text()[-3000:]


def _faults(bridge: Bridge, source: LocalServer, target: LocalServer, seed: int) -> list[str]:
    rng = random.Random(seed)
    kinds = ["kill -9 bridge", "crash source", "crash target", "restart source", "restart target"]
    # Every kind at least once, then at random.
    plan = kinds + [rng.choice(kinds) for _ in range(FAULTS - len(kinds))]
    rng.shuffle(plan)
    done = []
    for kind in plan:
        time.sleep(rng.uniform(1.0, 3.5))
        bridge.ensure_running()
        if kind == "kill -9 bridge":
            bridge.kill_9()
        else:
            what, which = kind.split()
            server = source if which == "source" else target
            servers.restart(server.directory, crash=what == "crash", down_for=rng.uniform(0, 1.5))
        done.append(kind)
    return done


def _verify(source: str, target: str) -> None:
    """`dbbridge verify` agrees, by its own chunked checksums: exit 0."""
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "verify", "--source", source, "--target", target],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@contextlib.contextmanager
def _pair(source_spec: str, target_spec: str) -> Iterator[tuple[LocalServer, LocalServer]]:
    source = servers.start(source_spec)
    try:
        target = servers.start(target_spec)
        try:
            yield source, target
        finally:
            servers.stop(target.directory)
    finally:
        servers.stop(source.directory)


def _survive(
    src: LocalServer,
    tgt: LocalServer,
    step: Step,
    seeds: tuple[int, int],
    *,
    sync_to: Callable[..., None],
    log: Path,
) -> None:
    """A live workload on `src` while the faults hit; then the pipeline catches up and stops."""
    work = Workload(src.dsn, step, seed=seeds[0], reconnect=True)
    work.start()
    bridge = Bridge(src.dsn, tgt.dsn, log)
    try:
        done = _faults(bridge, src, tgt, seed=seeds[1])
    finally:
        work.halt.set()
        work.join(15)
    bridge.ensure_running()
    sync_to(src.dsn, tgt.dsn, timeout=180)
    bridge.stop()
    print(
        f"\nfaults: {done}; bridge exits: {bridge.exits}; workload: {work.transactions}"
        f" transactions, {work.reconnects} reconnects"
    )
    assert work.reconnects > 0  # the server faults did cut the workload off
    assert work.transactions > 100


@pytest.mark.slow
def test_chaos_pg13_to_pg17(tmp_path: Path) -> None:
    with _pair("postgres:13", "postgres:17") as (src, tgt):
        execute(
            src.dsn,
            MARKER,
            "CREATE TABLE accounts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " balance int NOT NULL, note text)",
            "CREATE TABLE audit (seq int, at timestamptz)",
            "ALTER TABLE audit REPLICA IDENTITY FULL",
            "INSERT INTO accounts (balance, note) SELECT g, 'seed' FROM generate_series(1, 3000) g",
        )
        _survive(src, tgt, pg_step, (5, 21), sync_to=sync, log=tmp_path / "bridge.log")
        assert_same(src.dsn, tgt.dsn, ["accounts"])
        assert_same(src.dsn, tgt.dsn, ["audit"], order_by="seq, at")
        _verify(src.dsn, tgt.dsn)


@pytest.mark.slow
def test_chaos_mariadb_to_pg17(tmp_path: Path) -> None:
    with _pair("mariadb", "postgres:17") as (src, tgt):
        my_execute(
            src.dsn,
            "CREATE TABLE accounts (id int AUTO_INCREMENT PRIMARY KEY, balance int NOT NULL,"
            " note varchar(50))",
            "CREATE TABLE audit (seq int NOT NULL, at datetime(6))",
            "INSERT INTO accounts (balance, note) SELECT seq, 'seed' FROM seq_1_to_3000",
        )
        _survive(src, tgt, my_step, (6, 22), sync_to=sync_mysql, log=tmp_path / "bridge.log")
        assert_same_rows(src.dsn, tgt.dsn, ["accounts", "audit"])
        _verify(src.dsn, tgt.dsn)
