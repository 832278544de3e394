"""Small helpers shared by the integration tests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import WriteRowsEvent


def mysql_connect(dsn: str) -> pymysql.Connection:
    """An autocommit PyMySQL connection from a mysql:// DSN."""
    u = urlsplit(dsn)
    return pymysql.connect(
        host=u.hostname,
        port=u.port or 3306,
        user=u.username,
        password=u.password or "",
        database=u.path.lstrip("/") or None,
        autocommit=True,
    )


def binlog_inserted_rows(dsn: str, log_file: str, log_pos: int, table: str) -> list[dict[str, Any]]:
    """Rows inserted into `table` from (log_file, log_pos) to the binlog's current end."""
    u = urlsplit(dsn)
    stream = BinLogStreamReader(
        connection_settings={
            "host": u.hostname,
            "port": u.port,
            "user": u.username,
            "passwd": u.password,
        },
        server_id=4242,
        log_file=log_file,
        log_pos=log_pos,
        resume_stream=True,
        blocking=False,
        only_events=[WriteRowsEvent],
        only_tables=[table],
    )
    try:
        return [row["values"] for event in stream for row in event.rows]
    finally:
        stream.close()
