"""Decode throughput of the PostgreSQL reader's pure path, on bytes captured from a real server.

Runs the Insert messages of tests/data/pgoutput/pg17-proto1.json (a small 2-column row and the
26-column row of every type) through PgOutputDecoder + EventBuilder-equivalent value decoding and
prints the median rows/s of several runs. No server needed:

    .venv/bin/python bench/pgoutput_decode.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from common import machine, summary, write_report

from bridge.readers import pgoutput as po
from bridge.readers.pgtypes import PgTypes

CAPTURE = Path(__file__).parents[1] / "tests" / "data" / "pgoutput" / "pg17-proto1.json"


def main(rows: int = 100_000, runs: int = 5, json_path: str | None = None) -> None:
    report: dict[str, object] = {
        "title": "pgoutput decode alone: rows/s from captured messages (no server in the loop)",
        "machine": machine(),
        "runs": runs,
        "rows": rows,
    }
    capture = json.loads(CAPTURE.read_text())
    decoder = po.PgOutputDecoder(1)
    msgs = [
        (bytes.fromhex(m["hex"]), decoder.decode(bytes.fromhex(m["hex"])))
        for m in capture["messages"]
    ]
    relations = {m.oid: m for _, m in msgs if isinstance(m, po.Relation)}
    types = PgTypes()
    for rel in relations.values():
        for c in rel.columns:
            if c.type_oid >= 16384:  # the enum and the domain of the capture
                types.register_enum(c.type_oid) if c.name == "m" else types.register_domain(
                    c.type_oid, 23
                )
    for label, key, pick in (
        ("2-column row (int, text)", "two_column_rows_per_s", 1),
        ("26-column row, every type", "every_type_row_rows_per_s", 0),
    ):
        inserts = [raw for raw, m in msgs if isinstance(m, po.Insert)]
        if pick == 1:
            inserts = [raw for raw, m in msgs if isinstance(m, po.Insert) and len(m.new) == 2]
        raw = inserts[0]
        rel = relations[decoder.decode(raw).relation_oid]  # type: ignore[union-attr]
        decoders = [types.decoder(c.type_oid) for c in rel.columns]
        rates = []
        for _ in range(runs):
            start = time.perf_counter()
            for _ in range(rows):
                msg = decoder.decode(raw)
                new = msg.new  # type: ignore[union-attr]
                [d(v) if isinstance(v, bytes) else v for d, v in zip(decoders, new, strict=True)]
            rates.append(rows / (time.perf_counter() - start))
        median = statistics.median(rates)
        report[f"dbbridge.{key}"] = summary(rates)
        print(
            f"{label}: median {median:,.0f} rows/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {runs} runs)"
        )
    if json_path:
        write_report(report, json_path)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="Write the results here too (bench/common.py format).")
    args = ap.parse_args()
    main(args.rows, args.runs, args.json)
