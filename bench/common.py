"""What every benchmark script shares: the machine's details, median/min/max summaries, and the
JSON report format that bench/report.py turns into tables and plots.

A report is a JSON object: {"title": …, "machine": {…}, "runs": N, "notes": […], and metrics
named "SUBJECT.METRIC" (e.g. "dbbridge.backlog_rows_per_s", "ratio.throughput_bridge_over_native"),
each {"median": …, "min": …, "max": …}}. Units are in the metric's name (_rows_per_s, _seconds,
_mb).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

RESULTS = Path(__file__).parents[1] / "docs" / "benchmarks"


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def machine() -> dict[str, Any]:
    """The details a reader needs to weigh the figures: cores, CPU model, memory, load."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem_gib = round(pages / 2**30, 1)
    except (OSError, ValueError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_report(report: dict[str, Any], path: str | os.PathLike[str] | None) -> None:
    """Print the report as JSON and write it to `path` when given."""
    text = json.dumps(report, indent=2)
    print(text)
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n")


def wait_marker(
    dsn: str, token: int, *, schema: str | None = None, table: str = "marker", timeout: float = 600
) -> float:
    """The wall-clock time the row `id = token` of the marker table became visible on the
    PostgreSQL `dsn` (polled every 5 ms; the table may not exist yet: a pipeline creates it)."""
    name = sql.Identifier(schema, table) if schema else sql.Identifier(table)
    query = sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(name)
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as c:
        while time.monotonic() < deadline:
            try:
                if c.execute(query, (token,)).fetchone():
                    return time.time()
            except psycopg.errors.UndefinedTable:
                pass
            time.sleep(0.005)
    raise TimeoutError(f"marker {token} never arrived in {dsn.rsplit('/', 1)[-1]}")
