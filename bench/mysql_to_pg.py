"""MariaDB 10.11 -> PostgreSQL 15: dbbridge vs pg_chameleon (replication) and pgloader (copy).

One run measures everything on the same servers and data; `--runs N` repeats it, and the report
gives medians with min-max and the ratios. The MariaDB database `benchdb` (tables
`bench(id int primary key, v int, t varchar(64))` and `marker(id int primary key)`) is replicated
into the PostgreSQL schema `benchdb`, each consumer into its own target database.

1. Replication, dbbridge (`dbbridge run --source mysql://…/benchdb --target postgresql://…
   --name liveN --quiet`) vs pg_chameleon, each running alone (the other is stopped):
   - backlog: 270k changes (200k inserts, 50k updates, 20k deletes, 1,000-row transactions) are
     written while both consumers are stopped, then a marker row; each consumer is started and
     timed until the marker shows on its target (start-up included). Rows/s = 270k / that time.
   - live burst: with the consumer running and caught up (a marker seen), 100k rows are inserted
     (1,000-row transactions), then a marker. Rows/s = 100k / (marker seen - burst start);
     lag = marker seen - marker commit.
   - restart: a stopped, caught-up consumer is started and timed until one new marker row shows
     (the start-up cost included in the backlog figure).
   The order of the two consumers alternates between runs. At the end both consumers catch up
   and each target must equal the source (checksum).
2. Snapshot of 1,000,000 rows into an empty target database:
   - dbbridge: `dbbridge run` from process start until its checkpoint (bridge.checkpoints) says
     `streaming`. That row is written right after the copy transaction commits, so every row is
     visible then and streaming could begin: the moment a user gets a usable replica. The table is
     created with its primary key before the copy (as bridge does).
   - pgloader: `pgloader mysql://…/benchdb postgresql://…`, process start to exit (creates the
     table, copies, builds the primary key after the copy).
   - raw COPY (the physical limit of moving these rows): the native clients piped,
     `mariadb --batch --quick -e 'SELECT id, v, t FROM bench' | psql -c 'COPY … FROM STDIN'`,
     into the same table definition bridge creates (primary key present); no Python involved.
   Each target must equal the source (checksum) or its figure is reported INVALID.

Checksum: count, sum(v) and a hash of the rows `id:v:t` in key order (per 20k-key chunk), the
same on both engines.

pg_chameleon is installed by bench/peers.py (versions pinned there) into its own venv and runs as
the unprivileged user bridge.local uses (`dbbridge`; it refuses root), HOME=PEERS_DIR/
chameleon-home. Commands, as that user, per run (by hand, as root:
`runuser -u dbbridge -- env HOME=/opt/bench-peers/chameleon-home
/opt/bench-peers/chameleon-venv/bin/chameleon …`):
    chameleon set_configuration_files        # once: creates ~/.pg_chameleon/configuration/
    (write ~/.pg_chameleon/configuration/default.yml: pg_conn = the target database, sources.mysql
     = the MariaDB server, schema_mappings benchdb: benchdb; the rest as the shipped example:
     replica_batch_size 10000, replay_max_rows 10000, sleep_loop 1, copy_mode file)
    chameleon create_replica_schema
    chameleon add_source --source mysql
    chameleon init_replica --source mysql --debug  # copies benchdb (empty then); without
                                                   # --debug it daemonizes and returns at once
    chameleon start_replica --source mysql     # daemonizes: a read and a replay process
    chameleon stop_replica --source mysql      # SIGINT to the daemon, waits until it exits
MariaDB is bridge.local's (binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL);
its user has ALL PRIVILEGES, so REPLICATION SLAVE/CLIENT too.

Usage: .venv/bin/python bench/mysql_to_pg.py [--runs 3] [--json docs/benchmarks/mysql_to_pg.json]
       [--only snapshot]  (the snapshot part alone: dbbridge, pgloader, raw COPY)
Servers are throwaway local ones (bridge.local); nothing else on the machine is touched. As root
it may apt-get install pgloader and pip install pg_chameleon (bench/peers.py) on first use.
Takes ~2.5 minutes per run on 2 cores (most of it pg_chameleon catching up); exit 1 when a
target differed from the source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import peers  # bench/peers.py, beside this script
import psycopg
from common import RESULTS, machine, summary, write_report
from common import wait_marker as common_wait_marker
from psycopg import sql

import bridge
from bridge import mysqlconn
from bridge.local import servers

DB = "benchdb"
INSERTS, UPDATES, DELETES, TXN = 200_000, 50_000, 20_000, 1_000
BACKLOG = INSERTS + UPDATES + DELETES
BURST = 100_000
SNAPSHOT_ROWS, SNAPSHOT_TXN = 1_000_000, 100_000
CHUNK = 20_000  # keys per checksum chunk
BENCH_DDL = "CREATE TABLE bench (id int PRIMARY KEY, v int NOT NULL, t varchar(64) NOT NULL)"
MARKER_DDL = "CREATE TABLE marker (id int PRIMARY KEY)"
Checksum = tuple[int, int, str]


def log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def with_db(dsn: str, db: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{db}").geturl()


# ----------------------------------------------------------------------------------- MariaDB side


def my_connect(dsn: str) -> Any:
    return mysqlconn.connect(dsn)


def reset_source(server_dsn: str, tables: tuple[str, ...]) -> str:
    """A fresh `benchdb` holding `tables`; its DSN."""
    conn = my_connect(server_dsn)
    try:
        cur = conn.cursor()
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"USE {DB}")
        for ddl in tables:
            cur.execute(ddl)
    finally:
        conn.close()
    return with_db(server_dsn, DB)


def insert_range(cur: Any, first: int, last: int) -> None:
    """Rows first..last (MariaDB's sequence engine: no data crosses the client connection)."""
    cur.execute(f"INSERT INTO bench SELECT seq, seq, md5(seq) FROM seq_{first}_to_{last}")  # noqa: S608 - ints


def fill(dsn: str, rows: int, txn: int) -> None:
    conn = my_connect(dsn)
    try:
        cur = conn.cursor()
        for start in range(1, rows + 1, txn):
            insert_range(cur, start, min(start + txn - 1, rows))
            conn.commit()
    finally:
        conn.close()


def backlog_workload(dsn: str) -> None:
    conn = my_connect(dsn)
    try:
        cur = conn.cursor()
        for start in range(1, INSERTS + 1, TXN):
            insert_range(cur, start, start + TXN - 1)
            conn.commit()
        for start in range(0, UPDATES, TXN):
            cur.execute(
                "UPDATE bench SET v = v + 1 WHERE id BETWEEN %s AND %s", (start + 1, start + TXN)
            )
            conn.commit()
        for start in range(UPDATES, UPDATES + DELETES, TXN):
            cur.execute("DELETE FROM bench WHERE id BETWEEN %s AND %s", (start + 1, start + TXN))
            conn.commit()
    finally:
        conn.close()


def burst(dsn: str, first: int) -> None:
    conn = my_connect(dsn)
    try:
        cur = conn.cursor()
        for start in range(first, first + BURST, TXN):
            insert_range(cur, start, start + TXN - 1)
            conn.commit()
    finally:
        conn.close()


def mark(dsn: str, token: int) -> float:
    """Insert marker `token`; the wall-clock time its commit returned."""
    conn = my_connect(dsn)
    try:
        conn.cursor().execute("INSERT INTO marker (id) VALUES (%s)", (token,))
        conn.commit()
        return time.time()
    finally:
        conn.close()


def my_checksum(dsn: str) -> Checksum:
    conn = my_connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute("SET SESSION group_concat_max_len = 4294967295")
        rows_hash = "md5(group_concat(concat_ws(':', id, v, t) ORDER BY id SEPARATOR ','))"
        chunk = f"id DIV {CHUNK}"
        query = f"SELECT count(*), sum(v), {rows_hash} FROM bench GROUP BY {chunk} ORDER BY {chunk}"  # noqa: S608 - constants
        cur.execute(query)
        rows = cur.fetchall()
        cur.execute("SHOW WARNINGS")
        if warnings := cur.fetchall():
            raise RuntimeError(f"the source checksum is unreliable: {warnings}")
    finally:
        conn.close()
    return _combine(rows)


def _combine(rows: Any) -> Checksum:
    digest = hashlib.sha256(",".join(str(r[2]) for r in rows).encode()).hexdigest()
    return (sum(int(r[0]) for r in rows), sum(int(r[1]) for r in rows), digest)


# -------------------------------------------------------------------------------- PostgreSQL side


def pg_connect(dsn: str) -> psycopg.Connection[tuple[Any, ...]]:
    return psycopg.connect(dsn, autocommit=True)


def create_pg_db(server_dsn: str, name: str) -> str:
    with pg_connect(server_dsn) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_db(server_dsn, name)


def drop_pg_db(server_dsn: str, name: str) -> None:
    with pg_connect(server_dsn) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def wait_marker(dsn: str, token: int, timeout: float = 300) -> float:
    return common_wait_marker(dsn, token, schema=DB, timeout=timeout)


def pg_checksum(dsn: str) -> Checksum:
    with pg_connect(dsn) as c:
        rows = c.execute(
            sql.SQL(
                "SELECT count(*), sum(v),"
                " md5(string_agg(concat_ws(':', id, v, t), ',' ORDER BY id))"
                " FROM {} GROUP BY id / {} ORDER BY id / {}"
            ).format(sql.Identifier(DB, "bench"), CHUNK, CHUNK)
        ).fetchall()
    return _combine(rows)


# ------------------------------------------------------------------------------------- consumers


class Consumer(Protocol):
    name: str

    def start(self) -> None: ...
    def pause(self) -> None: ...


class Bridge:
    """`dbbridge run` as a child process; SIGTERM stops it cleanly (checkpoint recorded)."""

    name = "dbbridge"

    def __init__(self, source: str, target: str, pipeline: str, logdir: Path) -> None:
        self.target, self.pipeline = target, pipeline
        self.args = [
            *(sys.executable, "-m", "bridge", "run", "--source", source, "--target", target),
            *("--name", pipeline, "--quiet"),
        ]
        self.logfile = logdir / f"{pipeline}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.logfile.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)

    def pause(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(120)
        self.proc = None
        if code != 0:
            raise RuntimeError(f"dbbridge run exited {code}: {self.log_tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def wait_streaming(self, timeout: float = 900) -> float:
        """Wait until the checkpoint says `streaming` (the copy is committed); returns
        time.monotonic() then."""
        deadline = time.monotonic() + timeout
        with pg_connect(self.target) as c:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"dbbridge run exited early: {self.log_tail()}")
                found = c.execute("SELECT to_regclass('bridge.checkpoints')").fetchone()
                if (
                    found != (None,)
                    and c.execute(
                        "SELECT 1 FROM bridge.checkpoints"
                        " WHERE pipeline = %s AND phase = 'streaming'",
                        (self.pipeline,),
                    ).fetchone()
                ):
                    return time.monotonic()
                time.sleep(0.01)
        raise TimeoutError(f"dbbridge pipeline {self.pipeline} never reached streaming")

    def log_tail(self) -> str:
        return self.logfile.read_text(errors="replace")[-2000:]


class ChameleonConsumer:
    name = "pg_chameleon"

    def __init__(self, cham: peers.Chameleon) -> None:
        self.cham = cham

    def start(self) -> None:
        self.cham.start()

    def pause(self) -> None:
        self.cham.stop()


# ---------------------------------------------------------------------------------- measurements


def measure_backlog(consumer: Consumer, target: str, token: int) -> dict[str, float]:
    """Start `consumer` (stopped with a backlog ending in marker `token`), time the catch-up."""
    started = time.time()
    consumer.start()
    seconds = wait_marker(target, token) - started
    consumer.pause()
    log(f"  {consumer.name}: backlog {seconds:.2f} s, {BACKLOG / seconds:,.0f} rows/s")
    return {"backlog_seconds": seconds, "backlog_rows_per_s": BACKLOG / seconds}


def measure_burst(
    consumer: Consumer, source: str, target: str, first: int, token: int
) -> dict[str, float]:
    """Start `consumer`, let it catch up (marker token - 1), then time a burst from key `first`
    followed by marker `token`."""
    consumer.start()
    mark(source, token - 1)
    wait_marker(target, token - 1)  # running and caught up
    started = time.time()
    burst(source, first)
    written = time.time()
    committed = mark(source, token)
    seen = wait_marker(target, token)
    consumer.pause()
    log(
        f"  {consumer.name}: burst {BURST / (seen - started):,.0f} rows/s end to end,"
        f" lag {seen - committed:.2f} s (source writes took {written - started:.2f} s)"
    )
    return {
        "burst_rows_per_s": BURST / (seen - started),
        "burst_seconds": seen - started,
        "burst_lag_seconds": seen - committed,
        "burst_write_seconds": written - started,
    }


def replication(
    run: int, my_server: str, pg_server: str, cham: peers.Chameleon, logdir: Path
) -> dict[str, dict[str, Any]]:
    source = reset_source(my_server, (BENCH_DDL, MARKER_DDL))
    targets = {
        "dbbridge": create_pg_db(pg_server, f"repl_bridge_{run}"),
        "pg_chameleon": create_pg_db(pg_server, f"repl_chameleon_{run}"),
    }
    bridge_c = Bridge(source, targets["dbbridge"], f"live{run}", logdir)
    consumers: dict[str, Consumer] = {"dbbridge": bridge_c, "pg_chameleon": ChameleonConsumer(cham)}
    if run % 2:  # alternate who goes first
        consumers = dict(reversed(consumers.items()))
    out: dict[str, dict[str, Any]] = {name: {} for name in consumers}
    try:
        log("replication: preparing both consumers (empty tables)")
        bridge_c.start()
        bridge_c.wait_streaming()
        bridge_c.pause()
        cham.configure(my_server, targets["pg_chameleon"], {DB: DB})
        cham.init()

        log(f"replication: backlog workload ({BACKLOG:,} changes) with both consumers stopped")
        backlog_workload(source)
        token = 1
        mark(source, token)
        for name, consumer in consumers.items():
            out[name] |= measure_backlog(consumer, targets[name], token)
        first = INSERTS + 1
        for name, consumer in consumers.items():
            token += 2
            out[name] |= measure_burst(consumer, source, targets[name], first, token)
            first += BURST

        token += 1
        mark(source, token)
        for name, consumer in consumers.items():  # each catches up with the other's burst
            consumer.start()
            wait_marker(targets[name], token)
            consumer.pause()
        for name, consumer in consumers.items():  # start-up cost: nothing else to apply
            token += 1
            mark(source, token)
            started = time.time()
            consumer.start()
            out[name]["restart_seconds"] = wait_marker(targets[name], token) - started
            consumer.pause()
            log(f"  {name}: restart to one marker row applied {out[name]['restart_seconds']:.2f} s")
        expected = my_checksum(source)
        for name, dsn in targets.items():
            got = pg_checksum(dsn)
            out[name]["valid"] = got == expected
            if got != expected:
                log(f"  INVALID: {name}'s target differs from the source: {got} != {expected}")
    finally:
        bridge_c.kill()
        try:
            cham.stop()
        except RuntimeError as e:
            log(f"  chameleon stop_replica failed: {e}")
    return out


def raw_copy(source: str, target: str) -> float:
    """mariadb --batch --quick | psql COPY FROM STDIN into the table bridge would create."""
    with pg_connect(target) as c:
        c.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(DB)))
        c.execute(f"SET search_path = {DB}")
        c.execute(BENCH_DDL)
    my = urlsplit(source)
    mariadb = shutil.which("mariadb") or "mysql"
    psql = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
    dump = [
        *(mariadb, "--host", str(my.hostname), "--port", str(my.port)),
        *("--user", unquote(my.username or ""), "--database", DB),
        *("--batch", "--quick", "--skip-column-names", "-e", "SELECT id, v, t FROM bench"),
    ]
    load = [psql, target, "-q", "-v", "ON_ERROR_STOP=1", "-c", f"COPY {DB}.bench FROM STDIN"]
    env = {**os.environ, "MYSQL_PWD": unquote(my.password or "")}
    started = time.monotonic()
    reader = subprocess.Popen(dump, stdout=subprocess.PIPE, env=env)
    writer = subprocess.Popen(load, stdin=reader.stdout)
    assert reader.stdout is not None  # noqa: S101 - Popen with PIPE
    reader.stdout.close()
    if writer.wait() != 0 or reader.wait() != 0:
        raise RuntimeError(
            f"raw copy failed: mariadb {reader.returncode}, psql {writer.returncode}"
        )
    return time.monotonic() - started


def snapshot(
    run: int, my_server: str, pg_server: str, pgloader: str, logdir: Path
) -> dict[str, dict[str, Any]]:
    source = reset_source(my_server, (BENCH_DDL,))
    log(f"snapshot: filling {SNAPSHOT_ROWS:,} rows")
    fill(source, SNAPSHOT_ROWS, SNAPSHOT_TXN)
    expected = my_checksum(source)

    def bridge_copy(target: str) -> float:
        b = Bridge(source, target, f"snap{run}", logdir)
        started = time.monotonic()
        b.start()
        try:
            return b.wait_streaming() - started
        finally:
            b.pause()

    tools: dict[str, Callable[[str], float]] = {
        "raw_copy": lambda target: raw_copy(source, target),
        "pgloader": lambda target: peers.run_pgloader(pgloader, source, target),
        "dbbridge": bridge_copy,
    }
    names = list(tools)
    order = names[run % len(names) :] + names[: run % len(names)]  # rotate: spread warm-up noise
    out: dict[str, dict[str, Any]] = {}
    for name in order:
        db = f"snap_{name}_{run}"
        target = create_pg_db(pg_server, db)
        seconds = tools[name](target)
        got = pg_checksum(target)
        out[name] = {
            "seconds": seconds,
            "rows_per_s": SNAPSHOT_ROWS / seconds,
            "valid": got == expected,
        }
        log(f"  {name}: {seconds:.2f} s, {SNAPSHOT_ROWS / seconds:,.0f} rows/s")
        if got != expected:
            log(f"  INVALID: {name}'s target differs from the source: {got} != {expected}")
        drop_pg_db(pg_server, db)
    return out


# --------------------------------------------------------------------------------------- report

# Report key (bench/common.py: SUBJECT.METRIC) -> (phase, consumer, field of the per-run result).
METRICS = {
    "dbbridge.backlog_rows_per_s": ("replication", "dbbridge", "backlog_rows_per_s"),
    "pg_chameleon.backlog_rows_per_s": ("replication", "pg_chameleon", "backlog_rows_per_s"),
    "dbbridge.burst_rows_per_s": ("replication", "dbbridge", "burst_rows_per_s"),
    "pg_chameleon.burst_rows_per_s": ("replication", "pg_chameleon", "burst_rows_per_s"),
    "dbbridge.burst_lag_seconds": ("replication", "dbbridge", "burst_lag_seconds"),
    "pg_chameleon.burst_lag_seconds": ("replication", "pg_chameleon", "burst_lag_seconds"),
    "dbbridge.restart_seconds": ("replication", "dbbridge", "restart_seconds"),
    "pg_chameleon.restart_seconds": ("replication", "pg_chameleon", "restart_seconds"),
    "dbbridge.snapshot_rows_per_s": ("snapshot", "dbbridge", "rows_per_s"),
    "pgloader.snapshot_rows_per_s": ("snapshot", "pgloader", "rows_per_s"),
    "raw_copy.snapshot_rows_per_s": ("snapshot", "raw_copy", "rows_per_s"),
}
# Report key -> (numerator key, denominator key), both from METRICS, per run.
RATIOS = {
    "ratio.burst_throughput_bridge_over_chameleon": (
        "dbbridge.burst_rows_per_s",
        "pg_chameleon.burst_rows_per_s",
    ),
    "ratio.backlog_throughput_bridge_over_chameleon": (
        "dbbridge.backlog_rows_per_s",
        "pg_chameleon.backlog_rows_per_s",
    ),
    "ratio.burst_lag_chameleon_over_bridge": (
        "pg_chameleon.burst_lag_seconds",
        "dbbridge.burst_lag_seconds",
    ),
    "ratio.snapshot_bridge_over_pgloader": (
        "dbbridge.snapshot_rows_per_s",
        "pgloader.snapshot_rows_per_s",
    ),
    "ratio.snapshot_bridge_over_raw_copy": (
        "dbbridge.snapshot_rows_per_s",
        "raw_copy.snapshot_rows_per_s",
    ),
}
GOALS: dict[str, tuple[str, Callable[[float], bool]]] = {
    # goal: (report key, test of its median)
    "dbbridge burst throughput >= 5x pg_chameleon": (
        "ratio.burst_throughput_bridge_over_chameleon",
        lambda v: v >= 5,
    ),
    "dbbridge burst lag <= 0.5 s": ("dbbridge.burst_lag_seconds", lambda v: v <= 0.5),
    "dbbridge snapshot >= 2x pgloader": ("ratio.snapshot_bridge_over_pgloader", lambda v: v >= 2),
}
Results = list[dict[str, dict[str, dict[str, Any]]]]


def value(result: dict[str, dict[str, dict[str, Any]]], key: str) -> float | None:
    """METRICS[key] of one run, or None when that consumer's target was wrong (invalid)."""
    phase, consumer, field = METRICS[key]
    got = result.get(phase, {}).get(consumer)
    return float(got[field]) if got is not None and got["valid"] else None


def figures(results: Results) -> tuple[dict[str, Any], list[str]]:
    """Summaries over the valid runs, and which (run, phase, consumer) were invalid."""
    out: dict[str, Any] = {}
    for key in METRICS:
        values = [v for r in results if (v := value(r, key)) is not None]
        if values:
            out[key] = summary(values)
    for key, (num, den) in RATIOS.items():
        pairs = [(value(r, num), value(r, den)) for r in results]
        ratios = [n / d for n, d in pairs if n is not None and d is not None]
        if ratios:
            out[key] = summary(ratios)
    invalid = sorted(
        {
            f"run {i} {phase} {consumer}"
            for i, r in enumerate(results)
            for phase, consumer, _ in METRICS.values()
            if phase in r and not r[phase][consumer]["valid"]
        }
    )
    return out, invalid


def goals(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for goal, (key, ok) in GOALS.items():
        s = report.get(key)
        median = None if s is None else float(s["median"])
        out[goal] = {"metric": key, "median": median, "met": None if median is None else ok(median)}
    return out


def fmt(key: str, s: dict[str, float] | None) -> str:
    if s is None:
        return "INVALID (no valid run)"
    if key.startswith("ratio."):
        return f"{s['median']:.2f}x ({s['min']:.2f}-{s['max']:.2f})"
    if key.endswith("_seconds"):
        return f"{s['median']:.2f} s ({s['min']:.2f}-{s['max']:.2f})"
    return f"{s['median']:,.0f} rows/s ({s['min']:,.0f}-{s['max']:,.0f})"


def print_table(report: dict[str, Any]) -> None:
    lines = ["", f"median (min-max) over {report['runs']} run(s), valid ones only:"]
    for key in [*METRICS, *RATIOS]:
        lines.append(f"  {key:48} {fmt(key, report.get(key))}")
    for goal, g in report["goals"].items():
        state = {True: "met", False: "NOT met", None: "unknown"}[g["met"]]
        lines.append(f"  goal: {goal:46} {state}")
    if report["invalid"]:
        lines.append(f"  INVALID (target != source): {', '.join(report['invalid'])}")
    print("\n".join(lines), file=sys.stderr)


NOTES = [
    "Replication: MariaDB database benchdb -> PostgreSQL schema benchdb, each consumer alone"
    " (the other stopped). backlog = 200k inserts + 50k updates + 20k deletes written while"
    " stopped, timed from the consumer's start to a marker row on the target;"
    " burst = 100k inserts (1,000-row transactions) with the consumer running and caught up,"
    " rows/s = 100k / (marker seen - burst start), lag = marker seen - marker commit.",
    "Snapshot of 1,000,000 rows into an empty database: dbbridge from process start until its"
    " checkpoint says streaming (written right after the copy commits); pgloader from start to"
    " exit; raw_copy = mariadb --batch --quick | psql COPY FROM STDIN into the same table"
    " definition (primary key present), the native clients' limit.",
    "restart = start a stopped, caught-up consumer and time one marker row: the start-up cost"
    " inside the backlog figure (dbbridge: Python imports, metadata check, connections;"
    " pg_chameleon: daemon start, sleep loops).",
    "pg_chameleon runs with its shipped example settings (replica_batch_size 10000,"
    " replay_max_rows 10000, sleep_loop 1 s): its sleep loop adds up to ~1-2 s of lag by design.",
    "Every figure counts only if the target equals the source afterwards (count, sum, hash of"
    " the rows in key order); invalid ones are listed under 'invalid'.",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument(
        "--json",
        default=str(RESULTS / "mysql_to_pg.json"),
        help="Write the report here ('' for nowhere) [default: %(default)s].",
    )
    ap.add_argument(
        "--only",
        choices=("snapshot",),
        help="Run only this part (the snapshot: dbbridge, pgloader and the raw COPY).",
    )
    args = ap.parse_args()
    started = time.monotonic()
    log("peers: pg_chameleon and pgloader (installed on first use)")
    cham = None if args.only == "snapshot" else peers.chameleon()
    pgloader = peers.pgloader()
    host = machine()  # the load average before our servers start
    src = servers.start("mariadb")
    tgt = servers.start("postgres:15")
    logdir = Path(tempfile.mkdtemp(prefix="bench-mysql-to-pg-"))
    log(f"servers: MariaDB {src.version}, PostgreSQL {tgt.version}; dbbridge logs in {logdir}")
    results: Results = []
    try:
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}")
            result = {}
            if cham is not None:
                result["replication"] = replication(run, src.dsn, tgt.dsn, cham, logdir)
            result["snapshot"] = snapshot(run, src.dsn, tgt.dsn, pgloader, logdir)
            print(json.dumps({"run": run, **result}), file=sys.stderr, flush=True)
            results.append(result)
    finally:
        try:
            if cham is not None:
                cham.stop()
        finally:
            servers.stop(src.directory)
            servers.stop(tgt.directory)
    host["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    summaries, invalid = figures(results)
    report: dict[str, Any] = {
        "title": "MariaDB -> PostgreSQL 15: dbbridge vs pg_chameleon and pgloader",
        "machine": host,
        "versions": {
            "source": f"mariadb {src.version}",
            "target": f"postgres {tgt.version}",
            "dbbridge": bridge.__version__,
            "pg_chameleon": cham.version() if cham is not None else None,
            "pgloader": peers.pgloader_version(pgloader),
        },
        "runs": args.runs,
        "seconds": round(time.monotonic() - started),
        "notes": NOTES,
        **summaries,
        "invalid": invalid,
        "per_run": results,
    }
    report["goals"] = goals(report)
    write_report(report, args.json)
    print_table(report)
    shutil.rmtree(logdir, ignore_errors=True)
    if invalid:
        sys.exit(1)


if __name__ == "__main__":
    main()
