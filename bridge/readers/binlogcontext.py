"""A statement's binlog context -> `StatementContext`: pure decoding, no I/O.

A statement-based (or MIXED) binlog writes, before a Query event, the events that make its
statement deterministic on a replica: Intvar (INSERT_ID / LAST_INSERT_ID, 64-bit), Rand (the
session generator's seeds) and UserVar (each @variable the statement reads). The Query event
itself carries the start time (header seconds plus MariaDB's Q_HRNOW microseconds), and status
variables: sql_mode, auto_increment_increment/offset and, when the statement used it, the
session's time_zone (MySQL `Query_log_event::write`, MariaDB `sql/log_event_server.cc`).
`bridge.readers.binlog` collects them on `Query.context`; this module turns them into the log's
`StatementContext`, which `bridge.translate.statements` uses to write the values in.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Final

from bridge.errors import DecodeError
from bridge.log.events import StatementContext
from bridge.log.values import Value
from bridge.readers import binlog as bl
from bridge.readers.binlogrows import _codec
from bridge.readers.binlogvalues import decimal_reader

# Query event status variable codes (log_event.h).
Q_SQL_MODE: Final = 1
Q_AUTO_INCREMENT: Final = 3
Q_TIME_ZONE: Final = 5
Q_HRNOW: Final = 128  # MariaDB: microseconds of the statement's start

# Item_result of a UserVar event.
_STRING, _REAL, _INT, _DECIMAL = 0, 1, 2, 4
_BINARY_COLLATION: Final = 63


def statement_context(
    header: bl.Header, query: bl.Query, *, system_time_zone: str | None = None
) -> StatementContext:
    """The context of `query` as its binlog recorded it."""
    status = query.status
    micro = int.from_bytes(status[Q_HRNOW], "little") if Q_HRNOW in status else 0
    when = dt.datetime.fromtimestamp(header.timestamp, dt.UTC).replace(microsecond=micro)
    sql_mode = int.from_bytes(status[Q_SQL_MODE], "little") if Q_SQL_MODE in status else None
    auto = None
    if Q_AUTO_INCREMENT in status:
        increment, offset = struct.unpack("<HH", status[Q_AUTO_INCREMENT])
        auto = (increment, offset)
    tz = None
    if Q_TIME_ZONE in status:
        raw = status[Q_TIME_ZONE]
        tz = raw[1 : 1 + raw[0]].decode("ascii", errors="replace")
    insert_id = last_insert_id = None
    seeds = None
    user_vars: dict[str, Value] = {}
    for ev in query.context:
        if isinstance(ev, bl.Intvar):
            if ev.kind == bl.INTVAR_INSERT_ID:
                insert_id = ev.value
            else:
                last_insert_id = ev.value
        elif isinstance(ev, bl.Rand):
            seeds = (ev.seed1, ev.seed2)
        else:
            # MySQL user variable names are case-insensitive: keep the lower-case form.
            user_vars[ev.name.lower()] = user_var_value(ev)
    return StatementContext(
        timestamp=when,
        time_zone=tz,
        sql_mode=sql_mode,
        insert_id=insert_id,
        last_insert_id=last_insert_id,
        rand_seeds=seeds,
        user_vars=user_vars,
        auto_increment=auto,
        thread_id=query.thread_id or None,
        system_time_zone=system_time_zone if tz == "SYSTEM" else None,
    )


def user_var_value(ev: bl.UserVar) -> Value:
    """A UserVar event's value: str (in its character set), bytes (binary), int, float,
    Decimal, or None."""
    raw = ev.value
    if raw is None:
        return None
    if ev.type == _INT:
        return int.from_bytes(raw[:8], "little", signed=not ev.unsigned)
    if ev.type == _REAL:
        return float(struct.unpack("<d", raw[:8])[0])
    if ev.type == _DECIMAL:
        # Precision and scale, then the value in the binary DECIMAL format of row events.
        return decimal_reader(raw[0], raw[1])(raw, 2)[0]
    if ev.type == _STRING:
        codec = None if ev.charset == _BINARY_COLLATION else _codec(ev.charset)
        return raw if codec is None else raw.decode(codec)
    raise DecodeError(f"user variable @{ev.name} has an unknown value type {ev.type}")
