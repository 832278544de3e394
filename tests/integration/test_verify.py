"""`dbbridge verify` on real servers: PostgreSQL -> PostgreSQL, MariaDB -> PostgreSQL and
PostgreSQL -> MariaDB, on data a pipeline copied (the cross-engine type zoo).

Each pair: equal data verifies equal; a value changed on the target in every column (one row per
column), a deleted and an added row are reported with exactly their keys; --repair fixes them
and a second verify is equal. Plus a single changed byte in 1,000,000 rows, the server-side float
canon against its Python specification, re-checks that wait out lag, and bad input via the CLI.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import struct
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from bridge import mysqlconn
from bridge.local.servers import LocalServer
from bridge.readers.postgres import SESSION_OPTIONS
from bridge.verify import Observer, Report, TableResult, VerifyOptions, verify
from bridge.verify_norm import ColumnInfo, float_canon, my_expr, pg_expr
from tests.integration.crossengine import (
    fresh_mysql_db,
    my_transaction,
    random_changes,
    sync_mysql,
    wait_streaming,
)
from tests.integration.crossengine import random_table as my_random_table
from tests.integration.mypair import db_name
from tests.integration.mypair import execute as my_execute
from tests.integration.mypair import query as my_query
from tests.integration.pgmysql import sync_to_mysql
from tests.integration.pgpair import (
    MARKER,
    TYPES_SQL,
    dbbridge,
    drop_db,
    execute,
    fresh_db,
    pipeline_thread,
    random_table,
    sync,
)
from tests.integration.test_pg_to_mysql import COLUMNS, EVERY, _row

QUICK = VerifyOptions(rechecks=0, chunk_rows=25)
"""Small chunks, so even these small tables have several; no waiting for lag (none here)."""


def _table(report: Report, name: str) -> TableResult:
    return next(t for t in report.tables if t.table.endswith(f".{name}"))


def _ints(keys: list[tuple[str, ...]]) -> set[int]:
    return {int(k[0]) for k in keys}


# -- changing the target by hand ------------------------------------------------------------


def _pg_spoil(dsn: str, table: str, columns: list[str]) -> dict[str, int]:
    """In each column, copy into one row (a different row per column) another row's differing
    value; returns the changed row's id per column."""
    changed: dict[str, int] = {}
    t = sql.Identifier(table)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for col in columns:
            c = sql.Identifier(col)
            row = conn.execute(
                sql.SQL(
                    "SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.id <> b.id"
                    " AND a.{c}::text IS DISTINCT FROM b.{c}::text WHERE NOT a.id = ANY(%s)"
                    " ORDER BY a.id, b.id LIMIT 1"
                ).format(t=t, c=c),
                (list(changed.values()),),
            ).fetchone()
            assert row is not None, f"no two rows differ in {col}"
            conn.execute(
                sql.SQL(
                    "UPDATE {t} SET {c} = b.{c} FROM {t} b WHERE {t}.id = %s AND b.id = %s"
                ).format(t=t, c=c),
                row,
            )
            changed[col] = int(row[0])
    return changed


def _my_spoil(dsn: str, table: str, columns: list[str]) -> dict[str, int]:
    changed: dict[str, int] = {}
    t = f"`{db_name(dsn)}`.`{table}`"
    for col in columns:
        used = ",".join(map(str, changed.values())) or "-1"
        rows = my_query(
            dsn,
            f"SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.id <> b.id AND NOT a.`{col}` <=>"
            f" b.`{col}` WHERE a.id NOT IN ({used}) ORDER BY a.id, b.id LIMIT 1",
        )
        assert rows, f"no two rows differ in {col}"
        a, b = rows[0]
        my_execute(
            dsn, f"UPDATE {t} x JOIN {t} y ON y.id = {b} SET x.`{col}` = y.`{col}` WHERE x.id = {a}"
        )
        changed[col] = int(a)
    return changed


def _check_spoiled_then_repaired(
    source: str, target: str, table: str, changed: dict[str, int], *, deleted: int, added: int
) -> None:
    report = verify(source, target, QUICK)
    t = _table(report, table)
    assert not report.equal
    expected = set(changed.values())
    missed = {col: k for col, k in changed.items() if (str(k),) not in t.different}
    assert not missed, f"changes not seen in columns {missed}"
    assert _ints(t.different) == expected
    assert _ints(t.missing) == {deleted}
    assert _ints(t.extra) == {added}
    fixed = verify(source, target, VerifyOptions(rechecks=0, chunk_rows=25, repair=True))
    t = _table(fixed, table)
    assert t.found == {"missing": 1, "extra": 1, "different": len(expected)}
    assert t.repaired_keys == len(expected) + 2
    assert fixed.equal, fixed.to_json()
    assert verify(source, target, QUICK).equal


# -- PostgreSQL -> PostgreSQL ---------------------------------------------------------------


@pytest.fixture
def pg_pair(pg13_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_db(pg13_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, MARKER)
        yield source, target


def test_pg_to_pg_random_schema(pg_pair: tuple[str, str]) -> None:
    source, target = pg_pair
    rng = random.Random(6)
    table = random_table(rng, "r0")
    table.columns = sorted({*table.columns, "f8", "ts", "ia", "jsb", "mood", "txt"})
    execute(
        source,
        TYPES_SQL,
        table.create(),
        # A composite text key: chunks cut by text, compared in the same order on 13 and 17.
        'CREATE TABLE kv (k text COLLATE "C", part int, v text, PRIMARY KEY (k, part))',
        "INSERT INTO kv SELECT md5(g::text), g % 3, repeat('v', g % 7)"
        " FROM generate_series(1, 300) g",
    )
    with psycopg.connect(source) as conn:
        for k in range(1, 121):
            conn.execute(*table.row(rng, k))
    with pipeline_thread(source, target, name="verify") as running:
        sync(source, target, running=running)
        # While the pipeline runs: a burst, verified at once; re-checks wait out the lag.
        execute(
            source, "UPDATE kv SET v = v || 'live' WHERE part = 1", "DELETE FROM kv WHERE part = 0"
        )
        live = verify(source, target, VerifyOptions(chunk_rows=25, recheck_after=0.5, rechecks=10))
        assert live.equal, live.to_json()
        assert running.errors == []
    report = verify(source, target, QUICK)
    assert report.equal, report.to_json()
    assert _table(report, "kv").chunks == 8  # 200 rows left
    assert _table(report, "r0").rows_source == 120
    changed = _pg_spoil(target, "r0", table.columns)
    execute(target, "DELETE FROM r0 WHERE id = 100", "INSERT INTO r0 (id) VALUES (5000)")
    _check_spoiled_then_repaired(source, target, "r0", changed, deleted=100, added=5000)
    execute(target, "UPDATE kv SET v = v || 'x' WHERE k = md5('77') AND part = 2")
    kv = _table(verify(source, target, QUICK), "kv")
    assert kv.different == [(md5_text(77), "2")]


def md5_text(n: int) -> str:
    import hashlib  # noqa: PLC0415

    return hashlib.md5(str(n).encode()).hexdigest()  # noqa: S324 - test data, not security


def test_one_changed_byte_in_a_million_rows(pg17_server: LocalServer) -> None:
    """A million rows, copied as a template database; one byte of one row changed there."""
    with fresh_db(pg17_server, "src") as source:
        execute(
            source,
            "CREATE TABLE big AS SELECT g::int8 AS id, md5(g::text) AS t, g * 0.25 AS n,"
            " timestamptz '2024-01-01' + g * interval '1 s' AS at"
            " FROM generate_series(1, 1000000) g",
            "ALTER TABLE big ADD PRIMARY KEY (id)",
        )
        name = f"tgt_{secrets.token_hex(4)}"
        execute(
            pg17_server.dsn,
            f"CREATE DATABASE {name} TEMPLATE {db_name(source)} STRATEGY FILE_COPY",
        )
        target = source.rsplit("/", 1)[0] + f"/{name}"
        try:
            execute(
                target, "UPDATE big SET t = overlay(t placing 'X' from 9 for 1) WHERE id = 654321"
            )
            report = verify(source, target, VerifyOptions(rechecks=0))
        finally:
            drop_db(pg17_server, name)
    big = _table(report, "big")
    assert (big.rows_source, big.rows_target, big.chunks, big.differing_chunks) == (
        1_000_000,
        1_000_000,
        50,
        1,
    )
    assert (big.different, big.missing, big.extra) == ([("654321",)], [], [])


# -- MariaDB -> PostgreSQL ------------------------------------------------------------------


@pytest.fixture
def my_pair(mariadb_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        yield source, target


def test_mariadb_to_pg_type_zoo(my_pair: tuple[str, str]) -> None:
    source, target = my_pair
    rng = random.Random(4)
    every = my_random_table(rng, "every_type", every_type=True)
    keys: list[int] = []
    db = db_name(source)
    my_execute(
        source,
        every.create(),
        "CREATE TABLE tk (k varchar(20) PRIMARY KEY, d double, c char(4), b binary(3))",
        "CREATE TABLE kl (a int, b varchar(5))",  # keyless
        "CREATE TABLE zz_marker (id int PRIMARY KEY)",
    )
    # The rows arrive by streaming: the MariaDB snapshot copy sometimes copies nothing of a
    # table (seen at HEAD as well; verify reports it as missing rows, rightly).
    with pipeline_thread(source, target, name="verify", tables=(f"{db}.*",)) as running:
        wait_streaming(target, "verify")
        my_execute(
            source,
            "INSERT INTO tk VALUES ('b', 1.5, 'ab', 'x'), ('A', 1e-7, 'x', ''), ('é', 3e300,"
            " NULL, NULL), ('a b', -0.1, '', 'abc'), ('Z', 0, ' z', 'z')",
            "INSERT INTO kl VALUES (1, 'x'), (1, 'x'), (2, NULL)",
        )
        my_transaction(source, random_changes(rng, every, keys, 400))
        sync_mysql(source, target, running=running)
    report = verify(source, target, VerifyOptions(rechecks=0, chunk_rows=2))
    assert report.equal, report.to_json()
    assert _table(report, "tk").chunks == 3  # text keys cut by code point on both engines
    columns = [name for name, _, _ in every.columns]
    changed = _pg_spoil(_in_schema(target, db), "every_type", columns)
    victim = next(k for k in keys if k not in changed.values())
    execute(
        _in_schema(target, db),
        f"DELETE FROM every_type WHERE id = {victim}",
        "INSERT INTO every_type (id) VALUES (99999)",
    )
    _check_spoiled_then_repaired(source, target, "every_type", changed, deleted=victim, added=99999)
    execute(
        _in_schema(target, db),
        "UPDATE tk SET d = 3.000000000000001e300 WHERE k = 'é'",
        "DELETE FROM kl WHERE b IS NULL",
    )
    report = verify(source, target, QUICK)
    assert _table(report, "tk").different == [("é",)]
    kl = _table(report, "kl")
    assert (kl.rows_only_source, kl.rows_only_target, kl.key) == (1, 0, ())


def _in_schema(dsn: str, schema: str) -> str:
    """The DSN with search_path set to `schema` (MySQL tables land in a schema of that name)."""
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"


# -- PostgreSQL -> MariaDB ------------------------------------------------------------------


@pytest.fixture
def to_my(mariadb_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_db(pg17_server, "src") as source, fresh_mysql_db(mariadb_server, "tgt") as target:
        yield source, target


def test_pg_to_mariadb_type_zoo(to_my: tuple[str, str]) -> None:
    source, target = to_my
    execute(
        source,
        MARKER,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        EVERY,
        f"INSERT INTO public.every ({COLUMNS}) VALUES " + ", ".join(_row(i) for i in range(1, 61)),
        "INSERT INTO public.every (id) VALUES (100)",
        "CREATE TABLE public.tk (k varchar(20) PRIMARY KEY, f float8, r real, ch char(5))",
        "INSERT INTO public.tk VALUES ('b', 1.5, 0.1, 'ab'), ('A', 1e-7, 3.4e38, 'x'),"
        " ('é', 3e300, 1e-45, NULL), ('a b', -0.1, -0, '')",
    )
    name = f"v{secrets.token_hex(3)}"
    with pipeline_thread(source, target, name=name, batch_seconds=0.05) as running:
        sync_to_mysql(source, target, running=running)
    report = verify(source, target, QUICK)
    assert report.equal, report.to_json()
    assert _table(report, "every").target_table == f"{db_name(target)}.every"
    columns = [c.strip() for c in COLUMNS.split(",")][1:]
    changed = _my_spoil(target, "every", columns)
    my_execute(
        target,
        f"DELETE FROM `{db_name(target)}`.every WHERE id = 60",
        f"INSERT INTO `{db_name(target)}`.every (id) VALUES (4242)",
    )
    _check_spoiled_then_repaired(source, target, "every", changed, deleted=60, added=4242)


# -- the float canon on the servers ---------------------------------------------------------


def _f32(x: float) -> float:
    return float(struct.unpack("f", struct.pack("f", x))[0])


def test_float_canon_is_the_same_on_both_engines(
    mariadb_server: LocalServer, pg13_server: LocalServer
) -> None:
    """The SQL renderings of the float canon equal `float_canon` of Python's shortest repr."""
    rng = random.Random(3)
    doubles = [0.0, 0.1, -1.5, 1e-5, 1e15, 1e16, 5e-324, 1.7976931348623157e308, 123456.789]
    doubles += [rng.uniform(-1e6, 1e6) for _ in range(200)]
    doubles += [struct.unpack("d", rng.randbytes(8))[0] for _ in range(300)]
    doubles = [d for d in doubles if math.isfinite(d)]
    floats = [_f32(d) for d in doubles if abs(d) < 3.4e38]
    expected = [float_canon(repr(d)) for d in doubles] + [float_canon(repr(f)) for f in floats]
    d_col, f_col = ColumnInfo("d", "float8", "double"), ColumnInfo("f", "float4", "float")
    with fresh_db(pg13_server, "fl") as pg, fresh_mysql_db(mariadb_server, "fl") as my:
        execute(pg, "CREATE TABLE t (n int, d float8, f real)")
        my_execute(my, "CREATE TABLE t (n int, d double, f float)")
        values: list[tuple[int, float | None, float | None]]
        values = [(i, d, None) for i, d in enumerate(doubles)]
        values += [(len(doubles) + i, None, f) for i, f in enumerate(floats)]
        with psycopg.connect(pg, options=SESSION_OPTIONS) as conn:
            conn.cursor().executemany("INSERT INTO t VALUES (%s, %s, %s)", values)
            got_pg = conn.execute(
                f"SELECT coalesce({pg_expr('float', d_col)}, {pg_expr('float', f_col)})"
                " FROM t ORDER BY n"
            ).fetchall()
        conn_my = mysqlconn.connect(my, raw=True, autocommit=True)
        try:
            with conn_my.cursor() as cur:
                cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", values)
                cur.execute(
                    f"SELECT COALESCE({my_expr('float', d_col)}, {my_expr('float', f_col)})"
                    " FROM t ORDER BY n",
                    (),
                )
                got_my = cur.fetchall()
        finally:
            conn_my.close()
    assert [r[0] for r in got_pg] == expected
    assert [r[0] for r in got_my] == expected


# -- lag, and the CLI ---------------------------------------------------------------------------


class _FixAfterFirstCheck(Observer):
    """Plays replication catching up: the target gets the missing row once the first check has
    seen it missing."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.notices: list[str] = []
        self.fixed = False

    def checked(self, table: str) -> None:
        if table.endswith(".t") and not self.fixed:
            self.fixed = True
            execute(self.target, "INSERT INTO t VALUES (3, 'late')")

    def notice(self, message: str) -> None:
        self.notices.append(message)


def test_a_lagging_row_is_rechecked_not_reported(pg17_server: LocalServer) -> None:
    with fresh_db(pg17_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, "CREATE TABLE t (id int PRIMARY KEY, v text)")
        execute(target, "CREATE TABLE t (id int PRIMARY KEY, v text)")
        execute(source, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'late')")
        execute(target, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        observer = _FixAfterFirstCheck(target)
        options = VerifyOptions(recheck_after=0.2, rechecks=3)
        report = verify(source, target, options, observer=observer)
        assert report.equal
        assert any("checking again" in n for n in observer.notices), observer.notices
        execute(target, "DELETE FROM t WHERE id = 2")
        proc = dbbridge("verify", "--source", source, "--target", target, "--json",
                        "--recheck-after", "0.1", "--rechecks", "1")  # fmt: skip
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        doc = json.loads(out)
        assert doc["equal"] is False
        assert doc["tables"][0]["missing"] == [2]
        assert doc["totals"]["missing"] == 1


def _run_cli(*args: str) -> tuple[int, str, str]:
    proc = dbbridge("verify", *args, "-q")
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_bad_input_is_one_line_and_exit_2(
    pg17_server: LocalServer, mariadb_server: LocalServer
) -> None:
    pg, my = pg17_server.dsn, mariadb_server.dsn
    pg_pw = pg.split(":")[2].split("@")[0]
    my_pw = my.split(":")[2].split("@")[0]
    bad_pg = pg.replace(pg_pw, "wrong-secret")
    bad_my = my.replace(my_pw, "wrong-secret")
    with fresh_db(pg17_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, "CREATE TABLE t (id int PRIMARY KEY)", "CREATE TABLE only_here (id int)")
        execute(target, "CREATE TABLE t (id int PRIMARY KEY)")
        cases = {
            "malformed": (("--source", "postgresql://u:wrong-secret@h:port/db", "--target", target),
                          "malformed --source"),
            "password": (("--source", bad_pg, "--target", target), "refused the login"),
            "mariadb password": (("--source", bad_my, "--target", target), "refused the login"),
            "no match": (("--source", source, "--target", target, "--tables", "public.nope"),
                         "matches no table"),
            "missing on target": (("--source", source, "--target", target), "only_here"),
            "mysql to mysql": (("--source", my, "--target", my), "MySQL/MariaDB -> MySQL/MariaDB"),
        }  # fmt: skip
        for case, (args, expected) in cases.items():
            code, out, err = _run_cli(*args)
            assert code == 2, f"{case}: {err}"
            lines = err.strip().splitlines()
            assert len(lines) == 1, f"{case}: {err}"
            assert lines[0].startswith("dbbridge: error:"), f"{case}: {err}"
            assert expected in err, f"{case}: {err}"
            for secret in ("wrong-secret", pg_pw, my_pw):
                assert secret not in err + out, f"{case} printed a password"
