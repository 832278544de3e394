"""Capture binlog events from a local MariaDB for the unit tests (tests/unit/test_binlog*.py).

    .venv/bin/python -m tests.data.binlog.capture DSN tests/data/binlog/mariadb-10.11.json

Runs `STATEMENTS` on a fresh database of the server at DSN (which must be a local server whose
data directory this process can read), then stores the events of the binlog file they went to,
from its first GTID event on, as hex strings with the server version.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bridge.mysqlconn import connect
from bridge.readers.binlog import file_events

STATEMENTS = [
    "CREATE DATABASE cap",
    "CREATE TABLE cap.kinds (id int unsigned PRIMARY KEY, big bigint unsigned,"
    " d decimal(65,30), b1 bit(1), b64 bit(64), y year, dd date, dtm datetime(6),"
    " ts timestamp(3) NULL, tm time(2), c char(5), bn binary(4), e enum('a','b'),"
    " s set('x','y','z'), j json, f float, db double, vc varchar(300), t text, bl blob)",
    "SET time_zone = '+00:00'",
    "SET sql_mode = ''",
    "INSERT INTO cap.kinds VALUES (1, 18446744073709551615, -1.5, b'1', b'1010', 2024,"
    " '2024-02-29', '2024-02-29 10:11:12.123456', '2024-02-29 10:11:12.5', '-838:59:59.99',"
    " 'ab', 'ab', 'b', 'x,z', '{\"a\":  [1, 2]}', 1.5, 2.25, 'héllo😀', 'txt', 'bl\\0b')",
    "INSERT INTO cap.kinds (id, y, dd, dtm, ts) VALUES (2, 0, '0000-00-00', '2024-00-01 00:00:00',"
    " '0000-00-00 00:00:00')",
    "UPDATE cap.kinds SET vc = 'x' WHERE id = 1",
    "DELETE FROM cap.kinds WHERE id = 2",
    "CREATE TABLE cap.auto (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, r double, u varchar(9))",
    "SET SESSION binlog_format = 'STATEMENT'",
    "SET INSERT_ID = 5000000000",
    "SET @who = 'me'",
    "INSERT INTO cap.auto (r, u) VALUES (RAND(), @who)",
    "SET SESSION binlog_format = 'ROW'",
    "DROP DATABASE cap",
]


def capture(dsn: str) -> dict[str, Any]:
    conn: Any = connect(dsn, autocommit=True)
    with conn.cursor() as cur:
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW MASTER STATUS")
        file = cur.fetchone()[0]
        for s in STATEMENTS:
            cur.execute(s)
        cur.execute("SELECT @@datadir, VERSION()")
        datadir, version = cur.fetchone()
    conn.close()
    data = Path(os.path.join(datadir, file)).read_bytes()
    events = [e.hex() for e in file_events(data)]
    return {"version": version, "file": file, "events": events}


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(capture(sys.argv[1]), indent=1) + "\n")
