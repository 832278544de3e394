"""Decode throughput of the PostgreSQL reader's pure path, on bytes captured from a real server.

Runs the Insert messages of tests/data/pgoutput/pg17-proto1.json (a small 2-column row and the
26-column row of every type) through PgOutputDecoder + EventBuilder-equivalent value decoding (the
general path), then through the relation's compiled decoder (pgoutput_fast, the reader's hot path,
which also builds the Insert event), and prints the median rows/s of several runs. No server
needed:

    .venv/bin/python bench/pgoutput_decode.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from common import machine, summary, write_report

from bridge.log.events import SourceId, TableName
from bridge.readers import pgoutput as po
from bridge.readers.pgoutput_fast import compile_change
from bridge.readers.pgtypes import PgTypes

SOURCE = SourceId("postgres", "bench", "17")

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
        # The reader's hot path: the relation's compiled decoder, from bytes to the Insert event.
        names = tuple(c.name for c in rel.columns)
        mask = [c.is_key for c in rel.columns]
        key_names = tuple(n for n, k in zip(names, mask, strict=True) if k)
        change = compile_change(
            SOURCE, TableName("public", rel.name), names, key_names, decoders, mask
        )
        end = len(raw)
        fast = []
        for _ in range(runs):
            start = time.perf_counter()
            for _ in range(rows):
                change(raw, 0, end, 1)
            fast.append(rows / (time.perf_counter() - start))
        report[f"dbbridge_compiled.{key}"] = summary(fast)
        report[f"ratio.{key}_compiled_over_general"] = summary(
            [f / g for f, g in zip(fast, rates, strict=True)]
        )
        print(
            f"{label}, compiled decoder to events: median {statistics.median(fast):,.0f} rows/s"
            f" ({statistics.median(fast) / median:.1f}x the general path)"
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
