"""Every benchmark in one run (`make bench`), then the report (docs/benchmarks/README.md + PNGs).

Each script starts its own throwaway servers (bridge.local) and writes its JSON report to
docs/benchmarks/; a failing script is reported and the others still run (exit 1 at the end).
Budget: under 15 minutes on a 2-core machine with the default --runs 3 (--runs 1: ~6 minutes).

Usage: .venv/bin/python bench/all.py [--runs 3] [--only NAME …]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS

HERE = Path(__file__).parent


def plan(runs: int) -> dict[str, list[str]]:
    """The scripts and their arguments, fastest first."""
    return {
        "pgoutput_decode": ["--runs", "5"],
        "binlog_decode": ["--rows", "50000", "--runs", "5"],
        "rss_million": [],
        "pg_catchup_source": ["--runs", str(runs)],
        "pg_to_pg": ["--runs", str(runs)],
        "mysql_to_pg": ["--runs", str(runs)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="Repeats of the end-to-end benchmarks.")
    ap.add_argument("--only", nargs="*", help="Run only these scripts (names without .py).")
    args = ap.parse_args()
    failed = []
    started = time.monotonic()
    for name, extra in plan(args.runs).items():
        if args.only and name not in args.only:
            continue
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        cmd = [
            sys.executable,
            str(HERE / f"{name}.py"),
            *extra,
            "--json",
            str(RESULTS / f"{name}.json"),
        ]
        result = subprocess.run(cmd, cwd=HERE, check=False)
        took = time.monotonic() - t0
        print(
            f"== {name}: {'ok' if result.returncode == 0 else 'FAILED'} in {took:.0f} s", flush=True
        )
        if result.returncode != 0:
            failed.append(name)
    subprocess.run([sys.executable, str(HERE / "report.py")], cwd=HERE, check=True)
    print(f"all benchmarks: {time.monotonic() - started:.0f} s; failed: {failed or 'none'}")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
