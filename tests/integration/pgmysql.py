"""Helpers for PostgreSQL -> MariaDB tests: a marker to wait for and a normalized comparison.

Each side is read with its own driver (psycopg's Python values on PostgreSQL; on MariaDB the
snapshot's conversion to the log's values, `crossengine.mysql_rows`), then brought to one
canonical form per value: booleans as 0/1, timestamptz as naive UTC, uuid as text, jsonb and
arrays as the parsed JSON document, real as the stored float4.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from bridge.log.values import Json
from tests.integration.crossengine import _f32, mysql_rows
from tests.integration.mypair import db_name as database
from tests.integration.mypair import query as my_query
from tests.integration.pgpair import Running, execute, wait_for


def sync_to_mysql(
    source: str, target: str, timeout: float = 60, running: Running | None = None
) -> None:
    """Write a marker row on the PostgreSQL source; wait until the MariaDB target has it.

    A marker can come with the initial copy, whose tables commit one by one, so a second one is
    written once the first is there: it can only arrive by streaming, which starts after the
    whole copy (the `bridge` database, where the phases are, is shared by every test here)."""
    db = database(target)
    for _ in range(2):
        token = secrets.randbelow(2**31)
        execute(source, f"INSERT INTO public.zz_marker VALUES ({token})")

        def arrived(token: int = token) -> bool:
            try:
                rows = my_query(target, f"SELECT 1 FROM `{db}`.zz_marker WHERE id = {token}")
            except Exception:  # noqa: BLE001 - the table is not there yet
                return False
            return bool(rows)

        wait_for(arrived, timeout, "the target to catch up", running)


def norm(value: Any) -> Any:  # noqa: PLR0911 - one case per value kind
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, Json):
        return json.loads(value.text)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, list):
        return [norm(v) for v in value]
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    return value


def pg_rows(dsn: str, table: str) -> dict[object, dict[str, Any]]:
    """Rows of public.`table` by id, as {column: normalized value}."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        real = {
            str(n)
            for n, t in conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (f"public.{table}",),
            ).fetchall()
            if t == "real"
        }
        cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier("public", table)))
        names = [d.name for d in cur.description or ()]
        out: dict[object, dict[str, Any]] = {}
        for row in cur.fetchall():
            values = {
                n: _f32(v) if n in real and v is not None else norm(v)
                for n, v in zip(names, row, strict=True)
            }
            out[values["id"]] = values
    return out


def target_rows(dsn: str, table: str) -> dict[object, dict[str, Any]]:
    out: dict[object, dict[str, Any]] = {}
    for _key, (names, values) in mysql_rows(dsn, table).items():
        row = {n: _target_norm(v) for n, v in zip(names, values, strict=True)}
        out[row["id"]] = row
    return out


def _target_norm(value: Any) -> Any:
    value = norm(value)
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return value


def assert_same(source: str, target: str, tables: list[str]) -> None:
    """The MariaDB tables hold the PostgreSQL rows, value by value."""
    for table in tables:
        expected = pg_rows(source, table)
        got = target_rows(target, table)
        assert set(got) == set(expected), f"{table}: keys differ: {set(got) ^ set(expected)}"
        for key, row in expected.items():
            assert list(got[key]) == list(row), f"{table}: columns {list(got[key])} != {list(row)}"
            for n, a in row.items():
                b = got[key][n]
                assert a == b, f"{table} id={key} column {n}: source {a!r} != target {b!r}"
