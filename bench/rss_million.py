"""Peak memory of `dbbridge run` while it replicates one 1,000,000-row transaction.

Two pairs: PG 13 -> 17 (PG 13 decodes the transaction whole and sends it at commit) and
PG 15 -> 15 (proto 2 streams it while in progress; the reader spills it to disk). The peak is the
process's VmHWM (kernel-tracked high-water mark of resident memory); the baseline is the same
figure just before the transaction. The targets are checked equal to the source at the end.

Usage: .venv/bin/python bench/rss_million.py [--rows 1000000] [--json FILE]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import psycopg
from common import machine, wait_marker, write_report

from bridge.local import servers

MARKER = "CREATE TABLE marker (id int PRIMARY KEY)"


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/PID/status")


def sync(source: str, target: str, token: int, timeout: float = 600) -> None:
    """Write marker `token` on the source; wait until the target has it."""
    with psycopg.connect(source, autocommit=True) as c:
        c.execute("INSERT INTO marker VALUES (%s)", (token,))
    wait_marker(target, token, timeout=timeout)


def one_pair(source_spec: str, target_spec: str, rows: int) -> dict[str, float]:
    src = servers.start(source_spec)
    tgt = src if target_spec == source_spec else servers.start(target_spec)
    proc: subprocess.Popen[bytes] | None = None
    try:
        with psycopg.connect(src.dsn, autocommit=True) as c:
            c.execute("CREATE DATABASE rss_src")
        with psycopg.connect(tgt.dsn, autocommit=True) as c:
            c.execute("CREATE DATABASE rss_tgt")
        source = src.dsn.rsplit("/", 1)[0] + "/rss_src"
        target = tgt.dsn.rsplit("/", 1)[0] + "/rss_tgt"
        with psycopg.connect(source, autocommit=True) as c:
            c.execute(MARKER)
            c.execute("CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL)")
        args = [sys.executable, "-m", "bridge", "run", "--source", source, "--target", target]
        proc = subprocess.Popen([*args, "--name", "rss", "--quiet"])
        sync(source, target, 1, timeout=120)
        baseline = peak_rss_mb(proc.pid)
        started = time.monotonic()
        with psycopg.connect(source, autocommit=True) as c:
            c.execute(
                "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, %s) g", (rows,)
            )
        sync(source, target, 2)
        elapsed = time.monotonic() - started
        peak = peak_rss_mb(proc.pid)
        digest = "SELECT count(*), md5(string_agg(id::text || v, ',' ORDER BY id)) FROM big"
        with psycopg.connect(source) as s, psycopg.connect(target) as t:
            if s.execute(digest).fetchone() != t.execute(digest).fetchone():
                raise AssertionError(f"{source_spec} -> {target_spec}: the target differs")
        return {"baseline_mb": baseline, "peak_mb": peak, "seconds": elapsed}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
        servers.stop(src.directory)
        if tgt is not src:
            servers.stop(tgt.directory)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--json", help="Write the results here too.")
    args = ap.parse_args()
    report: dict[str, object] = {
        "title": f"Peak RSS of dbbridge during a {args.rows:,}-row transaction",
        "machine": machine(),
        "runs": 1,
        "rows": args.rows,
    }
    for label, pair in (
        ("pg13_to_pg17", ("postgres:13", "postgres:17")),
        ("pg15_to_pg15", ("postgres:15", "postgres:15")),
    ):
        r = one_pair(*pair, rows=args.rows)
        for metric, value in r.items():
            report[f"{label}.{metric}"] = {"median": value, "min": value, "max": value}
    write_report(report, args.json)


if __name__ == "__main__":
    main()
