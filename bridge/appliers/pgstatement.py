"""Run a `Statement` event's PostgreSQL translation and report the rows it changed.

The PostgreSQL applier (`bridge.appliers.postgres`) hands a `Statement` here after flushing the
rows before it, inside its open transaction. Each translated statement starts with a marker
comment written by `bridge.translate.statements_pg` that says what its RETURNING holds; the
rows become row events (insert / update / delete) whose values are the target's, as psycopg
reads them back, converted to the log's value classes. The applier passes them to its
`statement_rows` hook, so a consumer downstream sees rows, not statements.

The session's TimeZone is set to the source session's for the statement (a naive literal
compared with or stored into a timestamptz means the source's local time, as in MySQL), then
put back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import psycopg

from bridge.errors import ApplyError, is_retryable_sqlstate
from bridge.log.events import Delete, Insert, RowEvent, Statement, TableName, Update
from bridge.log.values import BitString, Interval, Json, Value
from bridge.translate.pgstatements import split_statements

_MARKER = re.compile(r"^\s*/\* bridge (\{.*?\}) \*/", re.DOTALL)
_JSON_OIDS = frozenset({114, 3802})
_BIT_OIDS = frozenset({1560, 1562})
_INTERVAL_OID = 1186

Conn = psycopg.Connection[tuple[Any, ...]]


def execute_statement(conn: Conn, ev: Statement) -> list[RowEvent]:
    """Run `ev.translated['postgres']` in the open transaction; the row events it caused."""
    text = ev.translated.get("postgres")
    if text is None:
        raise ApplyError(
            f"no PostgreSQL translation for the statement {ev.text!r}",
            position=str(ev.position),
        )
    out: list[RowEvent] = []
    saved: str | None = None
    for statement in split_statements(text):
        m = _MARKER.match(statement)
        meta: dict[str, Any] = json.loads(m.group(1)) if m else {}
        tz = meta.get("time_zone")
        if tz and saved is None:
            saved = str(conn.execute("SELECT current_setting('TimeZone')").fetchone()[0])  # type: ignore[index]
            conn.execute("SELECT set_config('TimeZone', %s, true)", (tz,))
        try:
            cur = conn.execute(statement.encode())
            rows = cur.fetchall() if cur.description else []
        except psycopg.Error as e:
            raise ApplyError(
                f"the target refused the source's statement {ev.text!r} (run as"
                f" {_short(statement)!r}): {e.diag.message_primary or e}",
                hint="the target's data or schema differs from the source's at this point;"
                " compare them (dbbridge verify) and fix the target, then restart",
                position=str(ev.position),
                sqlstate=e.sqlstate,
                retryable=is_retryable_sqlstate(e.sqlstate),
            ) from e
        if meta:
            oids = [d.type_code for d in cur.description or ()]
            out.extend(_events(ev, meta, [_values(r, oids) for r in rows]))
    if saved is not None:
        conn.execute("SELECT set_config('TimeZone', %s, true)", (saved,))
    return out


def _events(ev: Statement, meta: dict[str, Any], rows: list[tuple[Value, ...]]) -> list[RowEvent]:
    table = TableName(*meta["table"])
    columns = tuple(meta["columns"])
    key = tuple(meta.get("key", ()))
    n = len(columns)
    src, pos = ev.source, ev.position
    kind = meta["kind"]
    if kind == "insert":
        return [Insert(src, pos, table, columns, r, key) for r in rows]
    if kind == "delete":
        return [Delete(src, pos, table, columns, r, key) for r in rows]
    if kind == "update":
        # MySQL reports (and a ROW binlog holds) only the rows an UPDATE changed.
        return [Update(src, pos, table, columns, r[:n], r[n:], key) for r in rows if r[:n] != r[n:]]
    out: list[RowEvent] = []
    for r in rows:  # upsert: the final row, and whether it was inserted
        if r[n]:
            out.append(Insert(src, pos, table, columns, r[:n], key))
        else:
            out.append(Update(src, pos, table, columns, None, r[:n], key))
    return out


def _values(row: Sequence[Any], oids: Sequence[int]) -> tuple[Value, ...]:
    """psycopg's values -> the log's value classes where they differ."""
    out: list[Value] = []
    for v, oid in zip(row, oids, strict=True):
        if v is None:
            out.append(None)
        elif oid in _JSON_OIDS:
            out.append(Json(json.dumps(v, ensure_ascii=False)))
        elif oid in _BIT_OIDS:
            out.append(BitString(str(v)))
        elif oid == _INTERVAL_OID and isinstance(v, dt.timedelta):
            out.append(Interval(0, v.days, v.seconds * 1_000_000 + v.microseconds))
        else:
            out.append(v)
    return tuple(out)


def _short(text: str, n: int = 300) -> str:
    body = _MARKER.sub("", text).strip()
    return body if len(body) <= n else body[: n - 1] + "…"
