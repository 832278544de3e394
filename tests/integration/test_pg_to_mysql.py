"""PostgreSQL 17 -> MariaDB: snapshot, live changes (unchanged TOAST included), bad values.

Every comparison is a normalized value-by-value comparison of both sides (pgmysql.py).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import psycopg
import pytest

from bridge.dsn import parse_dsn
from bridge.errors import ConfigError, TranslateError
from bridge.local.servers import LocalServer
from bridge.pipeline import Options, Pipeline
from bridge.readers.postgres import ddl_capture_sql
from bridge.translate.types import TypePolicy
from tests.integration.crossengine import fresh_mysql_db
from tests.integration.mypair import db_name as database
from tests.integration.mypair import query as my_query
from tests.integration.pgmysql import assert_same, sync_to_mysql
from tests.integration.pgpair import (
    MARKER,
    bridge_run,
    dbbridge,
    execute,
    fresh_db,
    pipeline_thread,
    wait_for,
)
from tests.integration.workload import kill_9_under_load, pg_step


@pytest.fixture
def pg_to_mysql(mariadb_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_db(pg17_server, "src") as source, fresh_mysql_db(mariadb_server, "tgt") as target:
        yield source, target


EVERY = """CREATE TABLE public.every (
    id int PRIMARY KEY,
    i2 int2, i4 int4, i8 int8,
    n numeric(20,5),
    r real, d double precision,
    t text, v varchar(40),
    b bytea,
    flag bool,
    day date,
    ts timestamp(6),
    tstz timestamptz(6),
    u uuid,
    j jsonb,
    arr int[],
    m mood
)"""

COLUMNS = "id, i2, i4, i8, n, r, d, t, v, b, flag, day, ts, tstz, u, j, arr, m"


def _row(i: int) -> str:
    return (
        f"({i}, {i % 300 - 150}, {i * 1000 - 7}, {i * 10_000_000_000 + 3},"
        f" {i * 1234}.{i % 100000:05}, {i}.25, {i}.125e10,"
        f" 'text {i} 🐘🐬 ünï', 'v{i} 😀',"
        f" '\\x00ff{i % 256:02x}'::bytea, {'true' if i % 2 else 'false'},"
        f" date '2024-01-01' + {i}, timestamp '2024-02-29 12:34:56.123456' + interval '{i} h',"
        f" timestamptz '2024-03-01 10:00:00.654321+05:30' + interval '{i} min',"
        f" '{i:08x}-1234-4abc-8def-0123456789ab',"
        f""" '{{"k": {i}, "s": "é🐘", "a": [1, 2, {{"x": null}}]}}',"""
        f" ARRAY[{i}, {i + 1}, NULL], '{('sad', 'ok', 'happy')[i % 3]}')"
    )


def test_snapshot_and_live_changes(pg_to_mysql: tuple[str, str]) -> None:
    source, target = pg_to_mysql
    big = "x" * 200_000 + "🐘"
    execute(
        source,
        MARKER,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
        EVERY,
        "CREATE TABLE public.toasty (id int PRIMARY KEY, note int, body text)",
        "ALTER TABLE public.toasty ALTER COLUMN body SET STORAGE EXTERNAL",
        f"INSERT INTO public.every ({COLUMNS}) VALUES " + ", ".join(_row(i) for i in range(1, 21)),
        "INSERT INTO public.every (id) VALUES (100)",  # every other column NULL
        f"INSERT INTO public.toasty VALUES (1, 0, '{big}'), (2, 0, 'small')",
    )
    name = f"pgmy_{secrets.token_hex(3)}"
    with pipeline_thread(
        source, target, name=name, tables=("public.*",), batch_seconds=0.05
    ) as running:
        sync_to_mysql(source, target, running=running)
        assert_same(source, target, ["every", "toasty"])
        execute(
            source,
            f"INSERT INTO public.every ({COLUMNS}) VALUES "
            + ", ".join(_row(i) for i in range(21, 31)),
            "UPDATE public.every SET t = t || ' upd', j = '{\"new\": true}', arr = '{}',"
            " n = -n, tstz = tstz - interval '1 day', flag = NOT flag WHERE id % 3 = 0",
            "UPDATE public.every SET m = 'happy', u = NULL WHERE id = 100",
            "DELETE FROM public.every WHERE id IN (2, 5, 25)",
            "UPDATE public.toasty SET note = note + 1",  # body unchanged: UNCHANGED TOAST
            f"INSERT INTO public.toasty VALUES (3, 7, '{big}')",
        )
        execute(
            source,
            "BEGIN; UPDATE public.every SET i4 = i4 + 1 WHERE id = 1;"
            " DELETE FROM public.toasty WHERE id = 2; COMMIT",
        )
        sync_to_mysql(source, target, running=running)
        assert_same(source, target, ["every", "toasty"])
        body = my_query(target, f"SELECT body FROM `{database(target)}`.toasty WHERE id = 1")
        assert body == [(big,)]


@pytest.mark.parametrize(
    ("column", "decl", "bad"),
    [("x", "numeric(20,5)", "'NaN'"), ("x", "timestamp(6)", "'infinity'")],
    ids=["numeric-nan", "timestamp-infinity"],
)
def test_value_mysql_cannot_hold_stops_the_pipeline(
    pg_to_mysql: tuple[str, str], column: str, decl: str, bad: str
) -> None:
    source, target = pg_to_mysql
    db = database(target)
    execute(
        source,
        MARKER,
        f"CREATE TABLE public.odd (id int PRIMARY KEY, {column} {decl})",
        "CREATE TABLE public.fine (id int PRIMARY KEY)",
        "INSERT INTO public.fine VALUES (1)",
    )
    name = f"pgmy_{secrets.token_hex(3)}"
    with (  # noqa: PT012 - the error surfaces when the thread is joined
        pytest.raises(TranslateError) as info,
        pipeline_thread(
            source, target, name=name, tables=("public.*",), batch_seconds=0.05
        ) as running,
    ):
        sync_to_mysql(source, target, running=running)
        before = my_query(
            target, f"SELECT position FROM bridge.checkpoints WHERE pipeline = '{name}'"
        )
        execute(
            source,
            "BEGIN; INSERT INTO public.fine VALUES (2);"
            f" INSERT INTO public.odd VALUES (1, {bad}); COMMIT",
        )
        wait_for(lambda: bool(running.errors), 30, "the pipeline to fail", None)
    err = info.value
    assert "odd" in str(err) + str(err.table), err
    assert column in str(err), err
    # Nothing of the failing transaction reached the target; the checkpoint did not move.
    assert my_query(target, f"SELECT id FROM `{db}`.fine ORDER BY id") == [(1,)]
    assert my_query(target, f"SELECT count(*) FROM `{db}`.odd") == [(0,)]
    after = my_query(target, f"SELECT position FROM bridge.checkpoints WHERE pipeline = '{name}'")
    assert after == before


def test_ddl_arrives_in_order_with_the_rows(pg_to_mysql: tuple[str, str]) -> None:
    """Captured PostgreSQL DDL is translated to MariaDB and runs between the right rows."""
    source, target = pg_to_mysql
    execute(
        source,
        ddl_capture_sql(),
        MARKER,
        "CREATE TABLE t (id int PRIMARY KEY, x text)",
        "INSERT INTO t VALUES (1, 'before')",
    )
    name = f"pgmy_{secrets.token_hex(3)}"
    with pipeline_thread(source, target, name=name, batch_seconds=0.05) as running:
        sync_to_mysql(source, target, running=running)
        execute(
            source,
            "INSERT INTO t VALUES (2, 'still two columns')",
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 7",
            "INSERT INTO t VALUES (3, 'three columns', 3)",
            "BEGIN; UPDATE t SET c = 8 WHERE id = 1; ALTER TABLE t DROP COLUMN x;"
            " INSERT INTO t VALUES (4, 4); COMMIT",
            "CREATE TABLE t2 (k varchar(10) PRIMARY KEY, at timestamptz DEFAULT now())",
            "INSERT INTO t2 (k) VALUES ('new table')",
            "ALTER TABLE t2 ALTER COLUMN k TYPE varchar(20)",
            "INSERT INTO t2 (k) VALUES ('retyped longer')",
        )
        sync_to_mysql(source, target, running=running)
    db = database(target)
    assert my_query(target, f"SELECT id, c FROM `{db}`.t ORDER BY id") == [
        (1, 8),
        (2, 7),
        (3, 3),
        (4, 4),
    ]
    assert [r[0] for r in my_query(target, f"SELECT k FROM `{db}`.t2 ORDER BY k")] == [
        "new table",
        "retyped longer",
    ]


def test_kill_9_five_times_under_load(pg_to_mysql: tuple[str, str]) -> None:
    """PostgreSQL -> MariaDB: five kill -9 of `dbbridge run` at random moments under a live
    workload, each followed by a restart: no change lost or applied twice (the keyless audit
    table would show a duplicate or a loss as a row too many or too few)."""
    source, target = pg_to_mysql
    execute(
        source,
        MARKER,
        "CREATE TABLE accounts (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " balance int NOT NULL, note text)",
        "CREATE TABLE audit (seq int, at timestamptz)",
        "ALTER TABLE audit REPLICA IDENTITY FULL",
        "INSERT INTO accounts (balance, note) SELECT g, 'seed' FROM generate_series(1, 2000) g",
    )
    args = ("run", "--source", source, "--target", target, "--name", "k9", "-q")
    kill_9_under_load(args, source, pg_step, seed=11)
    with bridge_run(source, target, "k9"):
        sync_to_mysql(source, target, timeout=90)
    assert_same(source, target, ["accounts"])
    with psycopg.connect(source) as conn:
        expected = [r[0] for r in conn.execute("SELECT seq FROM audit ORDER BY seq")]
    got = [
        r[0] for r in my_query(target, f"SELECT seq FROM `{database(target)}`.audit ORDER BY seq")
    ]
    assert len(got) == len(expected) > 50
    assert got == expected


def test_interval_and_unsupported_types_as_text_by_policy(pg_to_mysql: tuple[str, str]) -> None:
    """--interval text / --unsupported text: such columns become text columns holding the
    PostgreSQL text form, in the copy and in live changes (without them: a clear error)."""
    source, target = pg_to_mysql
    execute(
        source,
        MARKER,
        "CREATE TABLE odd (id int PRIMARY KEY, iv interval, addr inet, tz timetz)",
        "INSERT INTO odd VALUES (1, '1 year 2 mons 3 days 04:05:06.5', '10.0.0.1/8', '12:00+02'),"
        " (2, '-7 days', '::1', NULL)",
    )
    policy = TypePolicy(interval="text", unsupported="text")
    name = f"pgmy_{secrets.token_hex(3)}"
    with pipeline_thread(source, target, name=name, batch_seconds=0.05, policy=policy) as running:
        sync_to_mysql(source, target, running=running)
        execute(
            source,
            "INSERT INTO odd VALUES (3, '36:00:00', '2001:db8::/32', '23:59:59.999999-11')",
            "UPDATE odd SET iv = iv + interval '1 minute', addr = '192.168.1.1' WHERE id = 2",
        )
        sync_to_mysql(source, target, running=running)
    got = my_query(target, f"SELECT id, iv, addr, tz FROM `{database(target)}`.odd ORDER BY id")
    with psycopg.connect(source) as conn:
        expected = conn.execute(
            "SELECT id, iv::text, format('%s', addr), tz::text FROM odd ORDER BY id"
        )
        # The interval's text is ours (months, days, h:mm:ss.ffffff): PostgreSQL must read it
        # back as the same interval, months, days and time kept apart.
        reread = [
            (i, conn.execute("SELECT %s::interval::text", (iv,)).fetchone()[0], a, tz)  # type: ignore[index]
            for i, iv, a, tz in got
        ]
        assert reread == expected.fetchall()


def test_mysql_to_mysql_is_refused() -> None:
    with pytest.raises(ConfigError, match="MySQL/MariaDB -> MySQL/MariaDB"):
        Pipeline(parse_dsn("mysql://u@h/a"), parse_dsn("mysql://u@h/b"), Options())


def test_status_reads_a_mariadb_target(pg_to_mysql: tuple[str, str]) -> None:
    source, target = pg_to_mysql
    execute(source, MARKER, "CREATE TABLE s (id int PRIMARY KEY)")
    with bridge_run(source, target, "shown"):
        sync_to_mysql(source, target)
        execute(source, "INSERT INTO s VALUES (1), (2)")
        sync_to_mysql(source, target)
    proc = dbbridge("status", "--target", target, "--source", source, "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (row,) = [r for r in json.loads(out) if r["pipeline"] == "shown"]
    assert row["phase"] == "streaming"
    assert row["source_engine"] == "postgres"
    assert my_query(target, "SELECT position FROM bridge.checkpoints WHERE pipeline = 'shown'") == [
        (row["position"],)
    ]
    assert row["behind_bytes"] >= 0
    assert row["changes"] >= 2


def test_a_partitioned_table_arrives_whole(pg_to_mysql: tuple[str, str]) -> None:
    source, target = pg_to_mysql
    execute(
        source,
        MARKER,
        "CREATE TABLE m (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
        "CREATE TABLE m_a PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
        "CREATE TABLE m_b PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        "INSERT INTO m SELECT g, date '2024-06-01' + g FROM generate_series(1, 300) g",
    )
    with bridge_run(source, target, "parts"):
        sync_to_mysql(source, target)
        execute(source, "INSERT INTO m VALUES (1000, '2025-05-05')", "DELETE FROM m WHERE id < 10")
        sync_to_mysql(source, target)
    assert_same(source, target, ["m"])
    tables = my_query(
        target,
        "SELECT table_name FROM information_schema.tables"
        f" WHERE table_schema = '{database(target)}' AND table_name LIKE 'm%'",
    )
    assert tables == [("m",)]
