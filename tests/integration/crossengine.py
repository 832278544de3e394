"""Helpers for MariaDB <-> PostgreSQL tests: fresh databases, a marker to wait for, a random
schema over the MySQL types of issue 4, and a normalized cross-engine data comparison.

The comparison reads each side with its own driver and brings both values to one canonical
Python form per column (a PostgreSQL boolean from tinyint(1) compares as 0/1, a SET as a set of
members, JSON as the parsed document, TIME as microseconds, timestamps as UTC instants), so equal
data compares equal and any changed value shows up with its key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import secrets
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from bridge import mysqlconn
from bridge.local.servers import LocalServer
from bridge.log.events import TableName
from bridge.log.values import BitString, Interval, Json, MysqlSet, ZeroDate
from bridge.snapshot import mysql as mysnapshot
from tests.integration.mypair import db_name as database
from tests.integration.mypair import execute as my_execute
from tests.integration.mypair import fresh_db
from tests.integration.pgpair import Running, streaming, wait_for


@contextlib.contextmanager
def fresh_mysql_db(server: LocalServer, prefix: str = "my") -> Iterator[str]:
    """A new database on a MariaDB `server` (dropped afterwards); yields its DSN."""
    with fresh_db(server.dsn, prefix) as dsn:
        yield dsn


def my_transaction(dsn: str, statements: Sequence[str]) -> None:
    my_execute(dsn, *statements, autocommit=False)


def sync_mysql(
    source: str, target: str, timeout: float = 60, running: Running | None = None
) -> None:
    """Write a marker row on the MariaDB source; wait until the PostgreSQL target has it."""
    db = database(source)
    token = secrets.randbelow(2**31)
    my_execute(source, "CREATE TABLE IF NOT EXISTS zz_marker (id int PRIMARY KEY)")
    my_execute(source, f"INSERT INTO zz_marker VALUES ({token})")
    table = sql.Identifier(db, "zz_marker")

    def arrived() -> bool:
        with psycopg.connect(target, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass(%s)", (f'"{db}".zz_marker',)).fetchone() == (None,):
                return False
            query = sql.SQL("SELECT 1 FROM {} WHERE id = %s").format(table)
            if conn.execute(query, (token,)).fetchone() is None:
                return False
            # The marker may have come with the initial copy, whose tables commit one by one:
            # the target is whole once every pipeline on it streams.
            return streaming(conn)

    wait_for(arrived, timeout, "the target to catch up", running)


def wait_streaming(target: str, pipeline: str, timeout: float = 60) -> None:
    """Wait until the pipeline's initial copy is done (its checkpoint says 'streaming')."""

    def streaming() -> bool:
        with psycopg.connect(target, autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('bridge.checkpoints')").fetchone() == (None,):
                return False
            row = conn.execute(
                "SELECT phase FROM bridge.checkpoints WHERE pipeline = %s", (pipeline,)
            ).fetchone()
            return row == ("streaming",)

    wait_for(streaming, timeout, f"pipeline {pipeline!r} to finish its copy")


# -- the random schema ------------------------------------------------------------------------

Gen = Callable[[random.Random], str]


def _q(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


_TEXTS = ["plain", "ünïcödé", "emoji 🐘🐬", "tab\there", "new\nline", "quote ' and \\", "", " pad"]


def _text(rng: random.Random) -> str:
    return _q(rng.choice(_TEXTS) + str(rng.randrange(1000)))


def _fsp(rng: random.Random, digits: int) -> str:
    return "." + "".join(rng.choice("0123456789") for _ in range(digits)) if digits else ""


def _datetime(rng: random.Random, digits: int) -> str:
    y = rng.choice([1000, 1970, 1999, 2024, 2037, 9999])
    clock = f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02}"
    return _q(f"{y:04}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02} {clock}{_fsp(rng, digits)}")


def _timestamp(rng: random.Random, digits: int) -> str:
    y = rng.choice([1971, 1999, 2024, 2037])
    clock = f"{rng.randint(0, 23):02}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02}"
    return _q(f"{y:04}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02} {clock}{_fsp(rng, digits)}")


def _time(rng: random.Random, digits: int) -> str:
    hours = rng.choice([0, 5, 23, 24, 100, 838])
    sign = rng.choice(["", "-"])
    return _q(f"{sign}{hours}:{rng.randint(0, 59):02}:{rng.randint(0, 59):02}{_fsp(rng, digits)}")


def _decimal(rng: random.Random) -> str:
    return rng.choice(
        [
            "0",
            "-1.5",
            "12345678901234567890123456789012345.123456789012345678901234567890",
            "-99999999999999999999999999999999999.999999999999999999999999999999",
        ]
    )


def _float(rng: random.Random) -> str:
    return rng.choice(["0", "-1.5", "3.4028234e38", "1.17549435e-38", "0.1", "123456.789"])


def _double(rng: random.Random) -> str:
    return rng.choice(["0", "-2.5", "1.7976931348623157e308", "5e-324", "0.1", "3.141592653589793"])


def _json(rng: random.Random) -> str:
    doc: object = rng.choice(
        [{"a": 1, "b": [1, 2, None]}, [], {"k": "ü 🐘", "n": 1.5}, "s", 42, None]
    )
    return _q(json.dumps(doc))


COLUMN_TYPES: list[tuple[str, Gen]] = [
    ("tinyint(1)", lambda r: r.choice(["0", "1"])),
    ("tinyint", lambda r: str(r.choice([-128, 0, 127]))),
    ("tinyint unsigned", lambda r: str(r.choice([0, 255]))),
    ("smallint unsigned", lambda r: str(r.choice([0, 65535]))),
    ("mediumint", lambda r: str(r.choice([-8388608, 8388607]))),
    ("mediumint unsigned", lambda r: str(r.choice([0, 16777215]))),
    ("int", lambda r: str(r.choice([-2147483648, 0, 2147483647]))),
    ("int unsigned", lambda r: str(r.choice([0, 4294967295]))),
    ("bigint", lambda r: str(r.choice([-9223372036854775808, 9223372036854775807]))),
    ("bigint unsigned", lambda r: str(r.choice([0, 18446744073709551615]))),
    ("decimal(65,30)", _decimal),
    ("decimal(10,2)", lambda r: r.choice(["0.00", "-12345678.90", "99999999.99"])),
    ("float", _float),
    ("double", _double),
    ("bit(1)", lambda r: r.choice(["b'0'", "b'1'"])),
    ("bit(13)", lambda r: f"b'{r.getrandbits(13):b}'"),
    ("bit(64)", lambda r: r.choice(["b'0'", f"b'{(1 << 64) - 1:b}'"])),
    ("year", lambda r: str(r.choice([1901, 2024, 2155]))),
    ("date", lambda r: _q(f"{r.choice([1000, 2024, 9999])}-0{r.randint(1, 9)}-1{r.randint(0, 9)}")),
    ("datetime", lambda r: _datetime(r, 0)),
    ("datetime(6)", lambda r: _datetime(r, 6)),
    ("datetime(3)", lambda r: _datetime(r, 3)),
    ("timestamp(6) NULL", lambda r: _timestamp(r, 6)),
    ("time", lambda r: _time(r, 0)),
    ("time(6)", lambda r: _time(r, 6)),
    ("varchar(40)", _text),
    ("text", _text),
    ("longtext", _text),
    ("varbinary(20)", lambda r: "x'" + secrets.token_hex(r.randint(0, 20)) + "'"),
    ("binary(6)", lambda r: "x'" + secrets.token_hex(r.randint(1, 6)) + "'"),
    ("blob", lambda r: "x'" + secrets.token_hex(r.randint(0, 200)) + "'"),
    ("enum('small','medium','large x')", lambda r: _q(r.choice(["small", "medium", "large x"]))),
    ("set('a','b','c d')", lambda r: _q(",".join(r.sample(["a", "b", "c d"], r.randint(0, 3))))),
    ("json", _json),
]


@dataclass
class MyTable:
    name: str
    columns: list[tuple[str, str, Gen]]
    """(name, MySQL type, value generator)."""

    def create(self) -> str:
        cols = ", ".join(f"`{n}` {t}" for n, t, _ in self.columns)
        return f"CREATE TABLE `{self.name}` (id bigint NOT NULL PRIMARY KEY, {cols})"

    def values(self, rng: random.Random) -> list[str]:
        return ["NULL" if rng.random() < 0.1 else g(rng) for _, _, g in self.columns]

    def insert(self, rng: random.Random, key: int) -> str:
        return f"INSERT INTO `{self.name}` VALUES ({key}, {', '.join(self.values(rng))})"

    def update(self, rng: random.Random, key: int) -> str:
        picked = rng.sample(self.columns, k=min(3, len(self.columns)))
        sets = ", ".join(
            f"`{n}` = {'NULL' if rng.random() < 0.1 else g(rng)}" for n, _, g in picked
        )
        return f"UPDATE `{self.name}` SET {sets} WHERE id = {key}"


def random_table(rng: random.Random, name: str, every_type: bool = False) -> MyTable:
    chosen = COLUMN_TYPES if every_type else rng.sample(COLUMN_TYPES, k=8)
    return MyTable(name, [(f"c{i}", t, g) for i, (t, g) in enumerate(chosen)])


def random_changes(rng: random.Random, table: MyTable, keys: list[int], n: int) -> list[str]:
    """`n` random statements; `keys` (the live keys) is kept current."""
    out = []
    next_key = max(keys, default=0) + 1
    for _ in range(n):
        op = rng.random()
        if op < 0.45 or not keys:
            out.append(table.insert(rng, next_key))
            keys.append(next_key)
            next_key += 1
        elif op < 0.8:
            out.append(table.update(rng, rng.choice(keys)))
        else:
            key = keys.pop(rng.randrange(len(keys)))
            out.append(f"DELETE FROM `{table.name}` WHERE id = {key}")
    return out


# -- the comparison ---------------------------------------------------------------------------


def _norm(value: Any) -> Any:  # noqa: PLR0911 - one case per value kind
    """One canonical form for a value read from either side."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value.normalize()
    if isinstance(value, Json):
        return json.loads(value.text)
    if isinstance(value, BitString):
        return value.bits
    if isinstance(value, Interval):
        return (value.months * 30 + value.days) * 86_400_000_000 + value.microseconds
    if isinstance(value, dt.timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    if isinstance(value, MysqlSet):
        return sorted(value.members)
    if isinstance(value, ZeroDate):
        return ("zero", value.text)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC)
    if isinstance(value, list):
        return sorted(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _f32(value: float) -> float:
    return float(struct.unpack("f", struct.pack("f", value))[0])


def mysql_rows(dsn: str, table: str) -> dict[object, tuple[Any, ...]]:
    """Rows of a MariaDB table by key, as the log's values (the snapshot's own conversion)."""
    db = database(dsn)
    conn = mysqlconn.connect(dsn, raw=True)
    try:
        cur = conn.cursor()
        info = mysnapshot.table_info(cur, TableName(db, table))
        convs = [mysnapshot.converter(c) for c in info.columns]
        select = ", ".join(mysnapshot.select_expr(c) for c in info.columns)
        cur.execute(f"SELECT {select} FROM `{db}`.`{table}`")
        rows = list(mysnapshot.convert_rows(cur.fetchall(), convs))
        names = [c.name for c in info.columns]
    finally:
        conn.close()
    key = names.index(info.key[0] if info.key else names[0])
    return _by_key([(r[key], (names, tuple(_norm(v) for v in r))) for r in rows], table)


def _by_key(rows: list[tuple[object, Any]], table: str) -> dict[object, Any]:
    """Rows by key; a key seen twice (a keyless table holding a duplicate) fails the test."""
    out = dict(rows)
    assert len(out) == len(rows), f"{table}: {len(rows) - len(out)} duplicate row(s)"
    return out


def pg_rows(dsn: str, schema: str, table: str, key: str = "id") -> dict[object, tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        cur = conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
        names = [d.name for d in cur.description or ()]
        types = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (sql.Identifier(schema, table).as_string(conn),),
        ).fetchall()
        fixed_char = {str(n) for n, t in types if str(t).startswith("character(")}
        # psycopg parses float4 text ('3.4028235e+38') as a double: back to the stored float4.
        real = {str(n) for n, t in types if str(t) == "real"}
        out: list[tuple[object, Any]] = []
        for row in cur.fetchall():
            values = tuple(
                v.rstrip(" ")
                if n in fixed_char and isinstance(v, str)
                else _f32(v)
                if n in real and v is not None
                else _norm(v)
                for n, v in zip(names, row, strict=True)
            )
            out.append((_norm(row[names.index(key)]), (names, values)))
    return _by_key(out, table)


def assert_same_rows(source: str, target: str, tables: Sequence[str]) -> None:
    """The MariaDB tables equal the PostgreSQL ones, value by value, key by key."""
    db = database(source)
    for table in tables:
        expected = mysql_rows(source, table)
        some = next(iter(expected.values()), None)
        got = pg_rows(target, db, table, key=_key_name(source, table) if some else "id")
        assert set(got) == set(expected), f"{table}: keys differ"
        for key, (names, values) in expected.items():
            got_names, got_values = got[key]
            assert list(got_names) == list(names), f"{table}: columns {got_names} != {names}"
            for n, a, b in zip(names, values, got_values, strict=True):
                assert a == b, f"{table} id={key} column {n}: source {a!r} != target {b!r}"


def _key_name(dsn: str, table: str) -> str:
    conn = mysqlconn.connect(dsn, raw=True)
    try:
        info = mysnapshot.table_info(conn.cursor(), TableName(database(dsn), table))
    finally:
        conn.close()
    return info.key[0] if info.key else info.columns[0].name


def wait_rows(source: str, target: str, table: str, timeout: float = 60) -> None:
    db = database(source)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if len(pg_rows(target, db, table)) == len(mysql_rows(source, table)):
                return
        except psycopg.Error:
            pass
        time.sleep(0.1)
