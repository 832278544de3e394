"""Capture a statement-based binlog from a local MariaDB for tests/unit/test_statements.py.

    .venv/bin/python -m tests.data.binlog.capture_statements DSN \
        tests/data/binlog/mariadb-10.11-statements.json

Like capture.py (the server must be local: its binlog file is read from the data directory),
but every statement is logged as a statement, with the context events that make it
deterministic (time zone, auto_increment_increment/offset, user variables of every type,
RAND seeds, a 64-bit INSERT_ID), and the rows the server stored after the inserts are kept
beside the events, so the test compares what the translator computes with the server's own.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.mysqlconn import connect
from bridge.readers.binlog import file_events

TABLE = (
    "CREATE TABLE capst.t (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, ts datetime(6),"
    " stamp timestamp(3) NULL, r double, r7 double, u varchar(40), n decimal(20,0),"
    " d decimal(6,2), flag tinyint(1) NOT NULL DEFAULT 1, note varchar(10) DEFAULT 'none')"
    " AUTO_INCREMENT = 5000000000"
)
STATEMENTS = [
    "CREATE DATABASE capst",
    TABLE,
    "SET SESSION binlog_format = 'STATEMENT'",
    "SET time_zone = '+02:00'",
    "SET auto_increment_increment = 5, auto_increment_offset = 3",
    "SET @s = 'héllo', @i = -7, @u = CAST(18446744073709551615 AS UNSIGNED), @f = 2.5e0,"
    " @d = 1.50, @z = NULL",
    "INSERT INTO capst.t (ts, stamp, r, r7, u, n, d) VALUES"
    " (NOW(6), NOW(3), RAND(), RAND(7), @s, @i, @d),"
    " (NOW(6), NULL, RAND(), RAND(7), @z, @u, @f)",
    "INSERT INTO capst.t (n, note) VALUES (LAST_INSERT_ID(), CONCAT('x', @s))",
]
AFTER = [
    "UPDATE capst.t SET n = n + 1, u = CONCAT(u, @z), ts = NOW() WHERE id > 5000000003",
    "INSERT INTO capst.t (u) VALUES (UUID())",
    "SET SESSION binlog_format = 'ROW'",
    "DROP DATABASE capst",
]


def _json(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def capture(dsn: str) -> dict[str, Any]:
    conn: Any = connect(dsn, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW MASTER STATUS")
        file = cur.fetchone()[0]
        for s in STATEMENTS:
            cur.execute(s)
        # TIMESTAMP columns read in UTC, as the log carries them.
        cur.execute("SET time_zone = '+00:00'")
        cur.execute("SELECT * FROM capst.t ORDER BY id")
        rows = [[_json(v) for v in r] for r in cur.fetchall()]
        cur.execute("SET time_zone = '+02:00'")
        for s in AFTER:
            cur.execute(s)
        cur.execute("SELECT @@datadir, VERSION()")
        datadir, version = cur.fetchone()
    conn.close()
    data = Path(os.path.join(datadir, file)).read_bytes()
    events = [e.hex() for e in file_events(data)]
    return {"version": version, "file": file, "table": TABLE, "rows": rows, "events": events}


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(capture(sys.argv[1]), indent=1) + "\n")
