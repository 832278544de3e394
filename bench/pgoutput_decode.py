"""Decode throughput of the PostgreSQL reader's pure path, on bytes captured from a real server.

Runs the Insert messages of tests/data/pgoutput/pg17-proto1.json (a small 2-column row and the
26-column row of every type) through PgOutputDecoder + EventBuilder-equivalent value decoding and
prints the median rows/s of several runs. No server needed:

    .venv/bin/python bench/pgoutput_decode.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from bridge.readers import pgoutput as po
from bridge.readers.pgtypes import PgTypes

CAPTURE = Path(__file__).parents[1] / "tests" / "data" / "pgoutput" / "pg17-proto1.json"


def main(rows: int = 100_000, runs: int = 5) -> None:
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
    for label, pick in (("2-column row (int, text)", 1), ("26-column row, every type", 0)):
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
        print(
            f"{label}: median {median:,.0f} rows/s "
            f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {runs} runs)"
        )


if __name__ == "__main__":
    main()
