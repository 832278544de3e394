"""Turn the benchmark reports (docs/benchmarks/*.json, see bench/common.py) into
docs/benchmarks/README.md (one table per report, medians with min-max) and PNG plots (one bar
chart per metric with min-max error bars, the peers side by side).

Usage: .venv/bin/python bench/report.py [--dir docs/benchmarks]
Needs matplotlib (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from common import RESULTS

# The order reports appear in, and the title of those that carry none.
ORDER = {
    "pg_to_pg": "PostgreSQL 13 -> 17: dbbridge vs native logical replication",
    "mysql_to_pg": "MariaDB -> PostgreSQL 15: dbbridge vs pg_chameleon and pgloader",
    "binlog_decode": "Binlog decode alone (no server in the loop)",
    "pgoutput_decode": "pgoutput decode alone (no server in the loop)",
    "rss_million": "Peak RSS during a 1,000,000-row transaction",
}


def _fmt(value: float, metric: str) -> str:
    if metric.endswith("_seconds"):
        return f"{value:.2f} s"
    if metric.endswith("_mb"):
        return f"{value:.0f} MB"
    if metric.startswith("ratio") or "_over_" in metric:
        return f"{value:.2f}x"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def metrics(report: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """{metric: {subject: summary}} from the "SUBJECT.METRIC" keys of a report."""
    out: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for key, value in report.items():
        if isinstance(value, dict) and "median" in value and "." in key:
            subject, metric = key.split(".", 1)
            out[metric][subject] = value
    return out


def table(name: str, report: dict[str, Any]) -> list[str]:
    title = report.get("title") or ORDER.get(name, name)
    m = report.get("machine", {})
    lines = [
        f"## {title}",
        "",
        f"`{name}.json`: {report.get('runs', '?')} run(s); {m.get('cpus', '?')} CPUs"
        f" ({m.get('cpu_model') or 'model unknown'}), Python {m.get('python', '?')}"
        + (f"; load at start {m['load_average_at_start']}" if "load_average_at_start" in m else "")
        + ".",
        "",
        "| Metric | Subject | Median | Min | Max |",
        "|---|---|---:|---:|---:|",
    ]
    for metric, subjects in metrics(report).items():
        for subject, s in subjects.items():
            lines.append(
                f"| {metric} | {subject} | {_fmt(s['median'], metric)}"
                f" | {_fmt(s['min'], metric)} | {_fmt(s['max'], metric)} |"
            )
    for note in report.get("notes", []):
        lines.append("")
        lines.append(f"- {note}")
    lines.append("")
    return lines


def plot(name: str, report: dict[str, Any], out_dir: Path) -> list[str]:
    """One PNG per metric that compares two or more subjects; returns the file names."""
    import matplotlib  # noqa: PLC0415 - only the report needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    files = []
    for metric, subjects in metrics(report).items():
        if metric.startswith("ratio") or len(subjects) < 2:
            continue
        labels = list(subjects)
        med = [subjects[s]["median"] for s in labels]
        err = [
            [med[i] - subjects[s]["min"] for i, s in enumerate(labels)],
            [subjects[s]["max"] - med[i] for i, s in enumerate(labels)],
        ]
        fig, ax = plt.subplots(figsize=(6, 3.2))
        colors = ["#2b6cb0" if s in ("dbbridge", "bridge") else "#a0aec0" for s in labels]
        ax.bar(labels, med, yerr=err, capsize=4, color=colors)
        ax.set_title(f"{ORDER.get(name, name)}\n{metric}", fontsize=9)
        ax.set_ylabel(metric.rsplit("_", 1)[-1] if "_per_" not in metric else "rows/s")
        for i, v in enumerate(med):
            ax.annotate(_fmt(v, metric), (i, v), ha="center", va="bottom", fontsize=8)
        fig.tight_layout()
        file = f"{name}.{metric}.png"
        fig.savefig(out_dir / file, dpi=100)
        plt.close(fig)
        files.append(file)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=str(RESULTS))
    args = ap.parse_args()
    out_dir = Path(args.dir)
    reports = {p.stem: json.loads(p.read_text()) for p in sorted(out_dir.glob("*.json"))}
    names = [n for n in ORDER if n in reports] + [n for n in reports if n not in ORDER]
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (bench/all.py, then bench/report.py). Each figure is the median"
        " of repeated runs with min-max; the peers were measured in the same run on the same"
        " machine, so the ratios are what to compare (these machines are shared and noisy).",
        "",
    ]
    for name in names:
        lines += table(name, reports[name])
        for file in plot(name, reports[name], out_dir):
            lines += [f"![{file}]({file})", ""]
    (out_dir / "README.md").write_text("\n".join(lines))
    print(f"wrote {out_dir / 'README.md'} and the plots")


if __name__ == "__main__":
    main()
