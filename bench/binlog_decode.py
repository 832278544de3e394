"""Binlog decode speed: rows/s of bridge's decoder with and without the table-map cache and the
compiled row layouts, and of mysql-replication 1.0.17, on the same binlog file.

    .venv/bin/python bench/binlog_decode.py [--rows 50000] [--runs 5] [--json FILE]

Starts a local MariaDB (bridge.local), writes three workloads to its binlog — multi-row inserts
(50 rows per event), single-row updates (one row per event, one table map each), and the
live-burst transactions of bench/mysql_to_pg.py (1,000-row `INSERT … SELECT` into
`bench(id int primary key, v int, t varchar(64))`) — reads the binlog file from the data
directory and decodes it in this process, from bytes (no network), into log events. Prints the
median rows/s of `--runs` runs per decoder and workload.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import machine, summary, write_report

from bridge.local import servers
from bridge.log.events import SourceId
from bridge.mysqlconn import connect
from bridge.readers import binlog as bl
from bridge.readers.binlogevents import EventBuilder
from bridge.readers.binlogrows import TableCache

SOURCE = SourceId("mariadb", "1", "bench")


def workload(dsn: str, rows: int) -> tuple[bytes, bytes, bytes]:
    """(binlog bytes of the multi-row inserts, of the single-row updates, of the bursts)."""
    conn: Any = connect(dsn, autocommit=True)
    out = []
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE b (id int PRIMARY KEY, n bigint, s varchar(40), d datetime(6),"
                    " x decimal(12,2))")  # fmt: skip
        cur.execute("CREATE TABLE bench (id int PRIMARY KEY, v int, t varchar(64))")
        cur.execute("SELECT @@datadir")
        datadir = cur.fetchone()[0]
        for phase in ("insert", "update", "burst"):
            cur.execute("FLUSH BINARY LOGS")
            cur.execute("SHOW MASTER STATUS")
            file = cur.fetchone()[0]
            if phase == "insert":
                for start in range(0, rows, 50):
                    values = ",".join(
                        f"({i}, {i * 7}, 'row {i}', '2024-01-01 00:00:00.{i % 999999:06d}', {i}.5)"
                        for i in range(start, start + 50)
                    )
                    cur.execute(f"INSERT INTO b VALUES {values}")  # noqa: S608 - our numbers
            elif phase == "update":
                cur.execute("BEGIN")
                for i in range(rows // 5):
                    cur.execute("UPDATE b SET n = n + 1 WHERE id = %s", (i,))
                cur.execute("COMMIT")
            else:
                for start in range(1, rows * 2 + 1, 1000):
                    cur.execute(  # as bench/mysql_to_pg.py's burst (MariaDB's sequence engine)
                        f"INSERT INTO bench SELECT seq, seq, md5(seq) FROM seq_{start}_to_{start + 999}"  # noqa: S608, E501 - our numbers
                    )
            cur.execute("FLUSH BINARY LOGS")
            out.append(Path(os.path.join(datadir, file)).read_bytes())
    conn.close()
    return out[0], out[1], out[2]


def ours(data: bytes, *, reuse: bool, compiled: bool = True) -> int:
    tables = TableCache(reuse=reuse, compiled=compiled)
    b = EventBuilder(SOURCE, file="mysql-bin.000001", tables=tables)
    n = 0
    for ev in bl.file_events(data):
        n += sum(1 for e in b.feed(ev) if type(e).__name__ in ("Insert", "Update", "Delete"))
    return n


def library(data: bytes) -> int:
    """mysql-replication's decoders on the same bytes (its packet wrapper, no server)."""
    from types import SimpleNamespace  # noqa: PLC0415

    from pymysql.protocol import MysqlPacket  # noqa: PLC0415
    from pymysqlreplication.packet import BinLogPacketWrapper  # noqa: PLC0415
    from pymysqlreplication.row_event import (  # noqa: PLC0415
        TableMapEvent,
        UpdateRowsEvent,
        WriteRowsEvent,
    )

    ctl = SimpleNamespace(charset="utf8", _get_dbms=lambda: "mariadb")
    allowed = frozenset({TableMapEvent, WriteRowsEvent, UpdateRowsEvent})
    table_map: dict[int, Any] = {}
    n = 0
    for ev in bl.file_events(data):
        w = BinLogPacketWrapper(MysqlPacket(b"\x00" + ev, "utf8"), table_map, ctl, (10, 11, 0),
                                True, allowed, None, None, None, None, False, False, False, True,
                                False)  # fmt: skip
        e = w.event
        if isinstance(e, TableMapEvent):
            table_map[e.table_id] = e.get_table()
        elif e is not None:
            n += len(e.rows)
    return n


def median_rate(fn: Callable[[], int], runs: int) -> float:
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="Write the results here too (bench/common.py format).")
    args = ap.parse_args()
    server = servers.start("mariadb")
    try:
        inserts, updates, bursts = workload(server.dsn, args.rows)
    finally:
        servers.stop(server.directory)
    print(
        f"rows/s, median of {args.runs} runs ({args.rows} inserted, {args.rows // 5} updated,"
        f" {args.rows * 2} in bursts)"
    )
    print(f"{'decoder':36} {'50-row inserts':>15} {'1-row updates':>15} {'burst inserts':>15}")
    cases: list[tuple[str, str, Callable[[bytes], int]]] = [
        ("mysql-replication", "mysql-replication 1.0.17", library),
        ("bridge_no_cache", "bridge, table maps re-parsed", lambda d: ours(d, reuse=False)),
        (
            "bridge_per_column",
            "bridge, cache, column by column",
            lambda d: ours(d, reuse=True, compiled=False),
        ),
        ("dbbridge", "bridge, cache, compiled layouts", lambda d: ours(d, reuse=True)),
    ]
    report: dict[str, object] = {
        "title": "Binlog decode alone: rows/s from binlog bytes (no server in the loop)",
        "machine": machine(),
        "runs": args.runs,
        "rows": args.rows,
    }
    for key, name, fn in cases:
        ins = median_rate(lambda fn=fn: fn(inserts), args.runs)  # type: ignore[misc]
        upd = median_rate(lambda fn=fn: fn(updates), args.runs)  # type: ignore[misc]
        bur = median_rate(lambda fn=fn: fn(bursts), args.runs)  # type: ignore[misc]
        report[f"{key}.multi_row_insert_rows_per_s"] = summary(ins)
        report[f"{key}.single_row_update_rows_per_s"] = summary(upd)
        report[f"{key}.burst_insert_rows_per_s"] = summary(bur)
        print(
            f"{name:36} {statistics.median(ins):15,.0f} {statistics.median(upd):15,.0f}"
            f" {statistics.median(bur):15,.0f}"
        )
    if args.json:
        write_report(report, args.json)


if __name__ == "__main__":
    main()
