"""Helpers for MySQL/MariaDB source tests: fresh databases, statements, reading the binlog reader
until it idles."""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bridge.log.events import Event
from bridge.mysqlconn import connect
from bridge.positions import BinlogPosition
from bridge.readers.mysql import MysqlReader

_server_ids = itertools.count(1000 + secrets.randbelow(100000))


def next_server_id() -> int:
    """A replica id no other reader of this test session uses."""
    return next(_server_ids)


@contextlib.contextmanager
def fresh_db(server_dsn: str, prefix: str = "t") -> Iterator[str]:
    """A new database on the server (dropped afterwards); yields a DSN pointing at it."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    execute(server_dsn, f"CREATE DATABASE `{name}`")
    u = urlsplit(server_dsn)
    try:
        yield urlunsplit(u._replace(path=f"/{name}"))
    finally:
        execute(server_dsn, f"DROP DATABASE IF EXISTS `{name}`")


def db_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def execute(dsn: str, *statements: str, autocommit: bool = True) -> None:
    conn: Any = connect(dsn, autocommit=autocommit)
    try:
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
        if not autocommit:
            conn.commit()
    finally:
        conn.close()


def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    conn: Any = connect(dsn, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def read_all(
    dsn: str,
    start: BinlogPosition,
    *,
    tables: list[str] | None = None,
    idle: float = 0.5,
    reader: MysqlReader | None = None,
) -> list[Event]:
    """Every event from `start` until the stream idles for `idle` seconds."""
    own = reader is None
    r = reader or MysqlReader(dsn, server_id=next_server_id(), tables=tables)
    try:
        if own:
            r.open(start)
        out: list[Event] = []
        for ev in r.events(idle_timeout=idle):
            if ev is None:
                return out
            out.append(ev)
        return out
    finally:
        if own:
            r.close()


def head(dsn: str) -> BinlogPosition:
    r = MysqlReader(dsn, server_id=next_server_id())
    try:
        return r.head()
    finally:
        r.close()
