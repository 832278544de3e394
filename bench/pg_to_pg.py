"""PG 13 -> PG 17: dbbridge vs native logical replication (CREATE SUBSCRIPTION), same run.

Two measurements, each repeated (`--runs`), medians with min-max:

1. Backlog: 270k changes (200k inserts in 1,000-row transactions, 50k updates, 20k deletes) are
   written while both consumers' slots exist but neither runs; then each consumer is started alone
   and timed until the target holds a marker row written after the workload. Rows/s = 270k / time.
2. Live burst: with the consumer running and caught up, 100k rows are inserted (1,000-row
   transactions); lag = the time the marker written right after the burst's last commit takes to
   show up on the target.

Usage: .venv/bin/python bench/pg_to_pg.py [--runs 3] [--json FILE]
Servers are throwaway local ones (bridge.local); nothing else on the machine is touched.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import psycopg
from common import machine, summary, wait_marker, write_report
from psycopg import sql

from bridge.local import servers

INSERTS, UPDATES, DELETES, TXN = 200_000, 50_000, 20_000, 1_000
BURST = 100_000
SCHEMA = [
    "CREATE TABLE bench (id int PRIMARY KEY, v int NOT NULL, t text NOT NULL)",
    "CREATE TABLE marker (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())",
]


def connect(dsn: str, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(dsn, autocommit=autocommit)


def with_db(dsn: str, db: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{db}").geturl()


def create_db(server_dsn: str, name: str) -> str:
    with connect(server_dsn) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = with_db(server_dsn, name)
    with connect(dsn) as c:
        for s in SCHEMA:
            c.execute(s)
    return dsn


def backlog_workload(dsn: str) -> None:
    with connect(dsn, autocommit=False) as c:
        for start in range(0, INSERTS, TXN):
            c.execute(
                "INSERT INTO bench SELECT g, g, md5(g::text)"
                " FROM generate_series(%s::int, %s::int) g",
                (start + 1, start + TXN),
            )
            c.commit()
        for start in range(0, UPDATES, TXN):
            c.execute(
                "UPDATE bench SET v = v + 1 WHERE id BETWEEN %s AND %s", (start + 1, start + TXN)
            )
            c.commit()
        for start in range(UPDATES, UPDATES + DELETES, TXN):
            c.execute("DELETE FROM bench WHERE id BETWEEN %s AND %s", (start + 1, start + TXN))
            c.commit()


def burst(dsn: str, first: int) -> None:
    with connect(dsn, autocommit=False) as c:
        for start in range(first, first + BURST, TXN):
            c.execute(
                "INSERT INTO bench SELECT g, g, md5(g::text)"
                " FROM generate_series(%s::int, %s::int) g",
                (start, start + TXN - 1),
            )
            c.commit()


def mark(dsn: str, token: int) -> float:
    with connect(dsn) as c:
        c.execute("INSERT INTO marker (id) VALUES (%s)", (token,))
    return time.time()


def checksum(dsn: str) -> tuple[object, ...]:
    with connect(dsn) as c:
        row = c.execute("SELECT count(*), sum(v), md5(string_agg(t, '' ORDER BY id)) FROM bench")
        return tuple(row.fetchone() or ())


class Native:
    name = "native"

    def __init__(self, source: str, target: str, run: int) -> None:
        self.source, self.target = source, target
        self.sub = f"bench_sub_{run}"
        u = urlsplit(source)
        self.conninfo = (
            f"host={u.hostname} port={u.port} dbname={u.path[1:]} user={u.username}"
            f" password={u.password}"
        )
        with connect(source) as c:
            c.execute(
                sql.SQL("CREATE PUBLICATION {} FOR TABLE bench, marker").format(
                    sql.Identifier(self.sub)
                )
            )

    def prepare(self) -> None:
        """Create the slot (subscription disabled): the backlog accumulates for it."""
        with connect(self.target) as c:
            c.execute(
                sql.SQL(
                    "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}"
                    " WITH (enabled = false, copy_data = false)"
                ).format(
                    sql.Identifier(self.sub), sql.Literal(self.conninfo), sql.Identifier(self.sub)
                )
            )

    def start(self) -> None:
        with connect(self.target) as c:
            c.execute(sql.SQL("ALTER SUBSCRIPTION {} ENABLE").format(sql.Identifier(self.sub)))

    def pause(self) -> None:
        with connect(self.target) as c:
            c.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(sql.Identifier(self.sub)))

    def drop(self) -> None:
        with connect(self.target) as c:
            c.execute(sql.SQL("DROP SUBSCRIPTION {}").format(sql.Identifier(self.sub)))


class Bridge:
    name = "dbbridge"

    def __init__(self, source: str, target: str, run: int) -> None:
        self.source, self.target = source, target
        self.args = [
            sys.executable,
            "-m",
            "bridge",
            "run",
            "--source",
            source,
            "--target",
            target,
            "--name",
            f"bench{run}",
            "--tables",
            "public.bench",
            "--tables",
            "public.marker",
            "--no-snapshot",
            "--quiet",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def prepare(self) -> None:
        """Create the slot and the checkpoint, then stop: the backlog accumulates for it."""
        self.start()
        deadline = time.monotonic() + 60
        with connect(self.target) as c:
            while time.monotonic() < deadline:  # the checkpoint is written once the slot exists
                if (
                    c.execute("SELECT to_regclass('bridge.checkpoints')").fetchone() != (None,)
                    and c.execute(
                        "SELECT 1 FROM bridge.checkpoints WHERE pipeline = %s",
                        (self.args[self.args.index("--name") + 1],),
                    ).fetchone()
                ):
                    break
                time.sleep(0.05)
        self.pause()

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args)

    def drop(self) -> None:
        pass

    def pause(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            if self.proc.wait(60) != 0:
                raise RuntimeError("dbbridge run failed")
            self.proc = None


def one_run(run: int, source_server: str, target_server: str) -> dict[str, dict[str, float]]:
    source = create_db(source_server, f"bsrc{run}")
    targets = {
        "native": create_db(target_server, f"bnat{run}"),
        "dbbridge": create_db(target_server, f"bbri{run}"),
    }
    consumers: dict[str, Native | Bridge] = {
        "native": Native(source, targets["native"], run),
        "dbbridge": Bridge(source, targets["dbbridge"], run),
    }
    for c in consumers.values():
        c.prepare()
    backlog_workload(source)
    token = 1000 + run
    mark(source, token)
    out: dict[str, dict[str, float]] = {}
    for name, consumer in consumers.items():
        started = time.time()
        consumer.start()
        seconds = wait_marker(targets[name], token) - started
        consumer.pause()
        out[name] = {"backlog_seconds": seconds, "backlog_rows_per_s": 270_000 / seconds}
    first_key = INSERTS + 1
    for name, consumer in consumers.items():
        # A live burst with the consumer running and caught up (with the other's burst too).
        token += 1000
        consumer.start()
        mark(source, token)
        wait_marker(targets[name], token)
        burst(source, first_key)
        first_key += BURST
        committed = mark(source, token + 1)
        out[name]["burst_lag_seconds"] = wait_marker(targets[name], token + 1) - committed
        consumer.pause()
    # Both targets must now hold exactly the source's data.
    token += 1000
    mark(source, token)
    for name, consumer in consumers.items():
        consumer.start()
        wait_marker(targets[name], token)
        consumer.pause()
    print(json.dumps({"run": run, **out}), file=sys.stderr)
    expected = checksum(source)
    for name, dsn in targets.items():
        got = checksum(dsn)
        if got != expected:
            raise AssertionError(f"{name} target differs from the source: {got} != {expected}")
    consumers["native"].drop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="Write the results here too.")
    args = ap.parse_args()
    src = servers.start(
        "postgres:13", settings={"max_wal_senders": "20", "max_replication_slots": "20"}
    )
    tgt = servers.start("postgres:17", settings={"max_logical_replication_workers": "8"})
    try:
        results = [one_run(i, src.dsn, tgt.dsn) for i in range(args.runs)]
    finally:
        servers.stop(src.directory)
        servers.stop(tgt.directory)
    report: dict[str, object] = {
        "title": "PostgreSQL 13 -> 17: dbbridge vs native logical replication",
        "machine": machine(),
        "source": f"postgres {src.version}",
        "target": f"postgres {tgt.version}",
        "runs": args.runs,
    }
    for name in ("native", "dbbridge"):
        for metric in ("backlog_rows_per_s", "burst_lag_seconds"):
            report[f"{name}.{metric}"] = summary([r[name][metric] for r in results])
    ratio = [
        r["dbbridge"]["backlog_rows_per_s"] / r["native"]["backlog_rows_per_s"] for r in results
    ]
    report["ratio.backlog_throughput_bridge_over_native"] = summary(ratio)
    write_report(report, args.json)


if __name__ == "__main__":
    main()
