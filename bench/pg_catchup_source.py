"""What reading a backlog costs the source: walsender vs SQL decoding (readers/pgcatchup.py).

The 270k-change backlog of pg_to_pg.py is written on a PostgreSQL 13 server while slots made
beforehand wait. Each run then reads it twice, each time from its own slot, and only reads (no
target):

- walsender: START_REPLICATION through `ReplicationConnection.read_raw` until the last commit.
- sql: `CatchUp` (a temporary copy of the slot, `pg_logical_slot_get_binary_changes` in groups)
  until the backlog is read.

It prints the wall time and the CPU time of the server process doing the work (the walsender, or
the backend of the catch-up's connection), user and kernel, from /proc (Linux; the servers are
local). Medians with min-max; the ratios are walsender over SQL.

Usage: .venv/bin/python bench/pg_catchup_source.py [--runs 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import psycopg
from common import machine, summary, write_report
from pg_to_pg import backlog_workload, create_db

from bridge.local import servers
from bridge.positions import Lsn
from bridge.readers.pgcatchup import CatchUp
from bridge.readers.postgres import SESSION_OPTIONS, XLOG_BODY, ReplicationConnection

_TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid: int) -> tuple[float, float]:
    """(user, kernel) CPU seconds of a local process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICK, int(fields[12]) / _TICK


def slot_pid(dsn: str, slot: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as c:
        row = c.execute(
            "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot,)
        ).fetchone()
    if row is None or row[0] is None:
        raise RuntimeError(f"slot {slot} is not active")
    return int(str(row[0]))


def walsender(dsn: str, slot: str, end: int) -> dict[str, float]:
    repl = ReplicationConnection(dsn)
    try:
        started = time.perf_counter()
        repl.start(slot, Lsn(0), publication="bench_pub", proto_version=1)
        pid = slot_pid(dsn, slot)
        while True:
            buf = repl.read_raw(10)
            if buf is None:
                raise RuntimeError("the walsender went quiet before the end of the backlog")
            # The last transaction's Commit: its end LSN (bytes 10-17 of the message) reaches
            # `end`.
            body = buf[XLOG_BODY:]
            if body[0] == 0x43 and int.from_bytes(body[10:18]) >= end:
                break
        seconds = time.perf_counter() - started
        user, kernel = cpu(pid)
    finally:
        repl.close()
    return {"seconds": seconds, "cpu_user_seconds": user, "cpu_kernel_seconds": kernel}


def sql_decoding(dsn: str, slot: str) -> dict[str, float]:
    started = time.perf_counter()
    cu = CatchUp(dsn, slot=slot, publication="bench_pub", start=Lsn(0), options=SESSION_OPTIONS)
    try:
        pid = cu.conn.info.backend_pid
        groups = sum(1 for blob in cu.batches(10) if blob is not None)
        if not groups:
            raise RuntimeError("SQL decoding returned nothing")
        seconds = time.perf_counter() - started
        user, kernel = cpu(pid)
    finally:
        cu.close()
    return {"seconds": seconds, "cpu_user_seconds": user, "cpu_kernel_seconds": kernel}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="Write the results here too.")
    args = ap.parse_args()
    server = servers.start("postgres:13", settings={"max_replication_slots": "20"})
    try:
        dsn = create_db(server.dsn, "catchup_bench")
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("CREATE PUBLICATION bench_pub FOR TABLE bench, marker")
            for i in range(args.runs):
                for kind in ("w", "s"):
                    c.execute(
                        "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (f"{kind}{i}",)
                    )
        backlog_workload(dsn)
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("INSERT INTO marker (id) VALUES (1)")
            end = Lsn.parse(str(c.execute("SELECT pg_current_wal_lsn()").fetchone()[0])).value  # type: ignore[index]
        results = {"walsender": [], "sql": []}  # type: dict[str, list[dict[str, float]]]
        for i in range(args.runs):
            results["walsender"].append(walsender(dsn, f"w{i}", end))
            results["sql"].append(sql_decoding(dsn, f"s{i}"))
    finally:
        servers.stop(server.directory)
    report: dict[str, object] = {
        "title": "PostgreSQL 13 source: reading a 270k-change backlog, walsender vs SQL decoding",
        "machine": machine(),
        "source": f"postgres {server.version}",
        "runs": args.runs,
    }
    for name, rows in results.items():
        for metric in ("seconds", "cpu_user_seconds", "cpu_kernel_seconds"):
            report[f"{name}.{metric}"] = summary([r[metric] for r in rows])
    pairs = list(zip(results["walsender"], results["sql"], strict=True))
    report["ratio.source_cpu_walsender_over_sql"] = summary(
        [
            (w["cpu_user_seconds"] + w["cpu_kernel_seconds"])
            / max(s["cpu_user_seconds"] + s["cpu_kernel_seconds"], 0.01)
            for w, s in pairs
        ]
    )
    report["ratio.time_walsender_over_sql"] = summary(
        [w["seconds"] / s["seconds"] for w, s in pairs]
    )
    write_report(report, args.json)


if __name__ == "__main__":
    main()
