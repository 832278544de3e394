"""Statement-based binlogs: context decoding, deterministic rewrites, rows, unsafe statements and
the PostgreSQL translation (bridge/translate/statements*.py, bridge/readers/binlogcontext.py).

A captured MariaDB 10.11 statement binlog (tests/data/binlog/capture_statements.py) goes through
the reader's event builder; the insert rows it makes must equal what the server stored. The
PostgreSQL translations are golden: tests/data/statements_pg.txt, regenerated with

    .venv/bin/python -m tests.unit.test_statements --regen

(review the diff: a change there is a change of what the applier runs).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bridge import command
from bridge.errors import TranslateError
from bridge.log.events import (
    Begin,
    Column,
    Insert,
    SourceId,
    Statement,
    StatementContext,
    TableName,
)
from bridge.log.jsonl import decode_event, encode_event
from bridge.log.values import Interval, MysqlSet, ZeroDate
from bridge.positions import BinlogPosition
from bridge.readers import binlog as bl
from bridge.readers.binlogevents import EventBuilder
from bridge.readers.mysqlschema import column_type
from bridge.translate import statement_values as sv
from bridge.translate.mysqlrand import MysqlRand, rand_n
from bridge.translate.statement_explain import cli_context, parse_var
from bridge.translate.statement_types import (
    StatementPolicy,
    TableColumn,
    TableSchema,
    UnsafeStatementError,
)
from bridge.translate.statements import StatementTranslator, postgres_time_zone
from bridge.translate.statements_pg import to_postgres_statements

DATA = Path(__file__).parent.parent / "data"
CAPTURE = DATA / "binlog" / "mariadb-10.11-statements.json"
GOLDEN = DATA / "statements_pg.txt"
SOURCE = SourceId("mariadb", "1", "10.11")
POS = BinlogPosition("mysql-bin.000001", 400)


def col(
    name: str, ctype: str, nullable: bool = True, default: str | None = "NULL", **kw: Any
) -> TableColumn:
    return TableColumn(Column(name, column_type(ctype), nullable, default), **kw)


# The captured table (capture_statements.TABLE), as information_schema describes it.
CAPST = TableSchema(
    TableName("capst", "t"),
    (
        col("id", "bigint(20) unsigned", False, None, auto_increment=True),
        col("ts", "datetime(6)"),
        col("stamp", "timestamp(3)"),
        col("r", "double"),
        col("r7", "double"),
        col("u", "varchar(40)"),
        col("n", "decimal(20,0)"),
        col("d", "decimal(6,2)"),
        col("flag", "tinyint(1)", False, "1"),
        col("note", "varchar(10)", True, "'none'"),
    ),
    key=("id",),
    unique=(("id",),),
)

ITEMS = TableSchema(
    TableName("app", "items"),
    (
        col("id", "bigint(20)", False, None, auto_increment=True),
        col("name", "varchar(40)", False, None),
        col("qty", "int(11)", False, "0"),
        col("price", "decimal(10,2)"),
        col("created", "datetime(6)"),
        col("r1", "double"),
        col("r2", "double"),
        col("flag", "tinyint(1)", False, "1"),
        col("stamp", "timestamp", False, "current_timestamp()", on_update_now=True),
        col("kind", "enum('small','large')"),
        col("tags", "set('a','b')"),
    ),
    key=("id",),
    unique=(("id",),),
)
PAIRS = TableSchema(
    TableName("app", "pairs"),
    (col("a", "int(11)", False, None), col("b", "int(11)", False, None), col("v", "text")),
    key=("a",),
    unique=(("a",), ("b",)),
)
KEYLESS = TableSchema(TableName("app", "bag"), (col("v", "int(11)"),))
SCHEMAS = {s.name: s for s in (CAPST, ITEMS, PAIRS, KEYLESS)}

CONTEXT = StatementContext(
    timestamp=dt.datetime(2024, 2, 29, 22, 30, 0, 123456, tzinfo=dt.UTC),
    time_zone="+02:00",
    insert_id=5_000_000_000,
    last_insert_id=77,
    rand_seeds=(414279177, 398525661),
    user_vars={
        "who": "héllo",
        "n": 42,
        "d": Decimal("1.50"),
        "f": 2.5,
        "z": None,
        "b": b"\x00\xff",
    },
    thread_id=9,
    sql_mode=1411383296,
)


def translator(**policy: Any) -> StatementTranslator:
    return StatementTranslator(SCHEMAS.get, policy=StatementPolicy(**policy))


def prepare(text: str, context: StatementContext = CONTEXT, **policy: Any) -> Any:
    return translator(**policy).prepare(
        text, schema="app", context=context, position="mysql-bin.000001:400"
    )


def to_pg(text: str, context: StatementContext = CONTEXT, **policy: Any) -> str:
    p = prepare(text, context, **policy)
    ev = Statement(SOURCE, POS, text, "mysql", "app", p.deterministic, context, p.tables)
    return to_postgres_statements(
        ev, lookup=SCHEMAS.get, statement_policy=StatementPolicy(**policy)
    )


# ------------------------------------------------------------------------------ captured binlog


@functools.cache
def _capture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CAPTURE.read_text())
    return data


def _build() -> tuple[list[object], UnsafeStatementError, BinlogPosition]:
    d = _capture()
    b = EventBuilder(
        SOURCE,
        file=d["file"],
        statements=StatementTranslator(SCHEMAS.get),
        system_time_zone="UTC",
    )
    out: list[object] = []
    for raw in d["events"]:
        try:
            out.extend(b.feed(bytes.fromhex(raw)))
        except UnsafeStatementError as e:
            begin = b.begin_position
            assert begin is not None
            return out, e, begin
    raise AssertionError("the UUID() statement did not stop the builder")


def _server_row(row: list[Any]) -> tuple[Any, ...]:
    """The captured server row as log values (column types of CAPST)."""
    id_, ts, stamp, r, r7, u, n, d, flag, note = row
    return (
        id_,
        dt.datetime.fromisoformat(ts) if ts else None,
        dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC) if stamp else None,
        r,
        r7,
        u,
        Decimal(n) if n is not None else None,
        Decimal(d) if d is not None else None,
        flag,
        note,
    )


def test_captured_inserts_equal_the_server_rows() -> None:
    """NOW(6)/NOW(3) in +02:00 with MariaDB's microseconds, RAND() twice and RAND(7), @vars of
    every type, INSERT_ID above 2**32 stepped by increment 5 / offset 3, LAST_INSERT_ID(),
    defaults: the insert events hold exactly what the server stored."""
    events, _, _ = _build()
    rows = [e.after for e in events if isinstance(e, Insert)]
    assert rows == [_server_row(r) for r in _capture()["rows"]]


def test_captured_update_is_a_deterministic_statement() -> None:
    events, _, _ = _build()
    (st,) = [e for e in events if isinstance(e, Statement)]
    assert st.text.startswith("UPDATE capst.t SET n = n + 1, u = CONCAT(u, @z)")
    assert "CONCAT(u, NULL)" in st.deterministic
    assert "NOW()" not in st.deterministic
    assert "AS DATETIME)" in st.deterministic
    ctx = st.context
    assert ctx.time_zone == "+02:00"
    assert ctx.user_vars == {"z": None}
    assert ctx.thread_id
    assert ctx.sql_mode is not None
    assert st.tables == (TableName("capst", "t"),)
    # Lossless in the JSON form, and valid against the schema.
    line = encode_event(st)
    assert decode_event(line) == st
    schema = json.loads(
        (Path(bl.__file__).parent.parent / "log" / "log-format.schema.json").read_text()
    )
    jsonschema.validate(json.loads(line), schema)


def test_captured_context_decoding() -> None:
    """User variables of every type (a UserVar event each), the auto-increment status variable
    and the microseconds of the statement's time."""
    d = _capture()
    b = EventBuilder(SOURCE, file=d["file"])
    queries = []
    for raw in d["events"]:
        h, body = b.decoder.decode(bytes.fromhex(raw))
        if isinstance(body, bl.Query) and body.context:
            queries.append((h, body))
    from bridge.readers.binlogcontext import statement_context  # noqa: PLC0415

    h, q = queries[0]
    ctx = statement_context(h, q)
    assert ctx.user_vars == {
        "s": "héllo",
        "i": -7,
        "d": Decimal("1.50"),
        "z": None,
        "u": 18446744073709551615,
        "f": 2.5,
    }
    assert ctx.auto_increment == (5, 3)
    # The first id at or above AUTO_INCREMENT = 5000000000 that is 3 modulo 5.
    assert ctx.insert_id == 5_000_000_003
    assert ctx.rand_seeds is not None
    assert ctx.timestamp.microsecond != 0
    assert ctx.time_zone == "+02:00"


def test_captured_uuid_stops_naming_statement_position_and_fix() -> None:
    events, e, begin = _build()
    assert "UUID()" in str(e)
    assert "INSERT INTO capst.t (u) VALUES (UUID())" in str(e)
    assert e.position
    assert e.position.startswith(_capture()["file"])
    assert "binlog_format = MIXED or ROW" in (e.hint or "")
    assert e.transaction_start == str(begin)
    # The transaction's Begin came before its statement; the pipeline stops there.
    assert isinstance(events[-1], Begin)
    assert events[-1].position == begin


# ------------------------------------------------------------------------------------ rewrites


def test_now_family_uses_statement_time_zone_and_precision() -> None:
    p = prepare(
        "INSERT INTO items (name, created, stamp) VALUES (CURDATE(), NOW(6), CURRENT_TIMESTAMP)"
    )
    # 22:30 UTC is the next day in +02:00; NOW() has no fraction, NOW(6) all of it.
    assert p.kind == "rows"
    row = dict(zip(ITEMS.names, p.rows[0], strict=True))
    assert row["name"] == "2024-03-01"
    assert row["created"] == dt.datetime(2024, 3, 1, 0, 30, 0, 123456)
    assert row["stamp"] == dt.datetime(2024, 2, 29, 22, 30, 0, tzinfo=dt.UTC)
    d = prepare("UPDATE items SET created = UTC_TIMESTAMP(3), name = UNIX_TIMESTAMP() WHERE id = 1")
    assert "CAST('2024-02-29 22:30:00.123' AS DATETIME(3))" in d.deterministic
    assert str(int(CONTEXT.timestamp.timestamp())) in d.deterministic


def test_rand_several_per_statement_and_rand_n_per_row() -> None:
    p = prepare(
        "INSERT INTO items (name, r1, r2) VALUES ('a', RAND(), RAND(7)), ('b', RAND(), RAND(7))"
    )
    g = MysqlRand(*CONTEXT.rand_seeds)  # type: ignore[misc]
    first, second = g.next(), g.next()
    rows = [dict(zip(ITEMS.names, r, strict=True)) for r in p.rows]
    assert [r["r1"] for r in rows] == [first, second]
    assert [r["r2"] for r in rows] == [rand_n(7), rand_n(7)]  # each row's RAND(7) is its own


def test_rand_per_row_in_update_is_unsafe_unless_one_row() -> None:
    with pytest.raises(UnsafeStatementError, match="RAND"):
        prepare("UPDATE items SET r1 = RAND() WHERE qty > 1")
    with pytest.raises(UnsafeStatementError, match="RAND"):
        prepare("UPDATE items SET r1 = RAND(7)")
    one = prepare("UPDATE items SET r1 = RAND(), r2 = RAND(7) WHERE id = 5")
    g = MysqlRand(*CONTEXT.rand_seeds)  # type: ignore[misc]
    assert repr(g.next()) in one.deterministic
    assert repr(rand_n(7)) in one.deterministic
    per_row = prepare("UPDATE items SET r1 = RAND(id) WHERE qty > 1")  # deterministic per row
    assert "RAND(id)" in per_row.deterministic


def test_variables_last_insert_id_connection_id_database() -> None:
    p = prepare(
        "UPDATE items SET name = CONCAT(@who, @n, @d, @z, CONNECTION_ID(), DATABASE()),"
        " qty = LAST_INSERT_ID(), price = LAST_INSERT_ID(qty + 1), r1 = @f WHERE id = 1"
    )
    assert "CONCAT('héllo', 42, 1.50, NULL, 9, 'app')" in p.deterministic
    assert "qty = 77" in p.deterministic
    assert "price = (qty + 1)" in p.deterministic
    assert "CAST(2.5e0 AS DOUBLE)" in p.deterministic


def test_auto_increment_steps_like_a_replica() -> None:
    ctx = StatementContext(
        timestamp=CONTEXT.timestamp, insert_id=5_000_000_003, auto_increment=(5, 3)
    )
    p = prepare(
        "INSERT INTO items (id, name) VALUES (NULL, 'a'), (0, 'b'), (5000000100, 'c'), (NULL, 'd')",
        ctx,
    )
    assert [r[0] for r in p.rows] == [5_000_000_003, 5_000_000_008, 5_000_000_100, 5_000_000_103]
    no_auto_zero = StatementContext(timestamp=CONTEXT.timestamp, insert_id=9, sql_mode=1 << 19)
    p = prepare("INSERT INTO items (id, name) VALUES (0, 'z'), (NULL, 'y')", no_auto_zero)
    assert [r[0] for r in p.rows] == [0, 9]
    with pytest.raises(TranslateError, match="INSERT_ID"):
        prepare(
            "INSERT INTO items (name) VALUES ('x')", StatementContext(timestamp=CONTEXT.timestamp)
        )


def test_defaults_fill_every_column() -> None:
    p = prepare("INSERT INTO items SET name = 'x'")
    row = dict(zip(ITEMS.names, p.rows[0], strict=True))
    assert row["qty"] == 0
    assert row["flag"] == 1
    assert row["price"] is None
    assert row["stamp"] == dt.datetime(2024, 2, 29, 22, 30, tzinfo=dt.UTC)  # current_timestamp()
    p = prepare("INSERT INTO items VALUES ()")
    assert dict(zip(ITEMS.names, p.rows[0], strict=True))["name"] == ""  # implicit default


def test_values_the_target_must_compute_make_a_statement() -> None:
    p = prepare("INSERT INTO items (name, qty) VALUES (UPPER('x'), 1 + 1)")
    assert p.kind == "statement"
    for text in (
        "INSERT IGNORE INTO items (name) VALUES ('x')",
        "REPLACE INTO items (id, name) VALUES (1, 'x')",
        "INSERT INTO items (id, name) VALUES (1, 'x') ON DUPLICATE KEY UPDATE qty = qty + 1",
    ):
        assert prepare(text).kind == "statement"


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("INSERT INTO items (name) VALUES (UUID())", "UUID"),
        ("INSERT INTO items (name) VALUES (UUID_SHORT())", "UUID_SHORT"),
        ("UPDATE items SET created = SYSDATE() WHERE id = 1", "SYSDATE"),
        ("INSERT INTO items (name) VALUES (USER())", "USER"),
        ("INSERT INTO items (name) VALUES (CURRENT_USER())", "CURRENT_USER"),
        ("INSERT INTO items (name) VALUES (LOAD_FILE('/etc/passwd'))", "LOAD_FILE"),
        ("INSERT INTO items (qty) VALUES (FOUND_ROWS())", "FOUND_ROWS"),
        ("UPDATE items SET qty = 1 LIMIT 2", "LIMIT"),
        ("DELETE FROM items ORDER BY name LIMIT 2", "LIMIT"),
        ("DELETE FROM bag ORDER BY v LIMIT 1", "LIMIT"),
        ("INSERT INTO items (name) SELECT name FROM items", "AUTO_INCREMENT"),
        ("INSERT INTO pairs VALUES (1, 2, 'x') ON DUPLICATE KEY UPDATE v = 'y'", "several unique"),
    ],
)
def test_unsafe_statements_stop_with_the_fix(text: str, what: str) -> None:
    with pytest.raises(UnsafeStatementError) as e:
        prepare(text)
    assert what in str(e.value)
    assert text[:40] in str(e.value)
    assert e.value.position == "mysql-bin.000001:400"
    assert "binlog_format" in (e.value.hint or "")
    assert "unsafe='target'" in (e.value.hint or "")


def test_limit_with_a_key_order_is_safe() -> None:
    assert prepare("DELETE FROM items WHERE qty > 1 ORDER BY id LIMIT 2").kind == "statement"


def test_opt_in_policies() -> None:
    """unsafe='target' lets the target compute; sysdate_is_now makes SYSDATE() NOW()."""
    pg = to_pg("INSERT INTO items (name, created) VALUES (UUID(), SYSDATE())", unsafe="target")
    assert "gen_random_uuid()" in pg.lower()
    assert "clock_timestamp()" in pg.lower()
    p = prepare("UPDATE items SET created = SYSDATE(6) WHERE id = 1", sysdate_is_now=True)
    assert "CAST('2024-03-01 00:30:00.123456' AS DATETIME(6))" in p.deterministic


def test_statements_without_data_effect_are_ignored() -> None:
    assert prepare("SET @a = 1").kind == "ignored"
    assert prepare("DO RELEASE_LOCK('x')").kind == "ignored"


def test_tables_not_replicated_are_ignored_before_any_check() -> None:
    t = StatementTranslator(SCHEMAS.get, want=lambda schema, _table: schema != "app")
    p = t.prepare("INSERT INTO items (name) VALUES (UUID())", schema="app", context=CONTEXT)
    assert p.kind == "ignored"


def test_sql_modes_that_change_parsing_are_refused() -> None:
    ansi = StatementContext(timestamp=CONTEXT.timestamp, sql_mode=1 << 2)
    with pytest.raises(TranslateError, match="ANSI_QUOTES"):
        prepare('UPDATE items SET name = "x" WHERE id = 1', ansi)


# ---------------------------------------------------------------------------------- PostgreSQL

GOLDEN_STATEMENTS = [
    "UPDATE items SET qty = qty * 2 + 1, price = price / 3, name = CONCAT(name, '-', qty)"
    " WHERE qty > 5 AND name LIKE 'c%'",
    "UPDATE items SET flag = NOT flag, qty = qty DIV 2, price = price % 7 WHERE flag",
    "UPDATE items AS x SET x.qty = x.qty + 1 WHERE x.id > 3 ORDER BY x.id DESC LIMIT 2",
    "UPDATE items SET kind = 'large', tags = 'a,b' WHERE FIND_IN_SET('a', tags) = 0",
    "UPDATE items JOIN pairs ON pairs.a = items.qty SET items.name = pairs.v WHERE pairs.b > 1",
    "UPDATE items SET r1 = RAND(id) WHERE id > 1",
    "DELETE FROM items WHERE created < NOW(6) - INTERVAL 1 DAY",
    "DELETE FROM app.items WHERE qty > 1 ORDER BY id LIMIT 3",
    "DELETE items FROM items JOIN pairs ON pairs.a = items.qty WHERE pairs.v IS NULL",
    "INSERT INTO pairs (a, b, v) SELECT qty, id, name FROM items WHERE qty > 0",
    "INSERT IGNORE INTO items (id, name) VALUES (1, 'x'), (NULL, @who)",
    "INSERT INTO items (id, name) VALUES (1, 'x'), (2, 'y')"
    " ON DUPLICATE KEY UPDATE qty = qty + 1, name = CONCAT(name, VALUES(name))",
    "REPLACE INTO pairs VALUES (1, 2, 'x')",
    "INSERT INTO items (name, qty) VALUES (UPPER(@who), 1 + 1)",
]


def _golden_text() -> str:
    blocks = []
    for text in GOLDEN_STATEMENTS:
        blocks.append(text + "\n" + "\n".join("  -> " + s for s in to_pg(text).split(";\n")))
    return "\n\n".join(blocks) + "\n"


def test_postgres_translations_golden() -> None:
    assert _golden_text() == GOLDEN.read_text(), (
        "PostgreSQL translations changed: regenerate with"
        " `.venv/bin/python -m tests.unit.test_statements --regen` and review the diff"
    )


def test_postgres_time_zone_names() -> None:
    def tz(name: str) -> str:
        return postgres_time_zone(
            StatementContext(
                timestamp=CONTEXT.timestamp, time_zone=name, system_time_zone="Europe/Paris"
            )
        )

    assert tz("+02:00") == "Etc/GMT-2"
    assert tz("-05:00") == "Etc/GMT+5"
    assert tz("+05:30") == "<+0530>-05:30"
    assert tz("Europe/Berlin") == "Europe/Berlin"
    assert tz("SYSTEM") == "Europe/Paris"
    with pytest.raises(TranslateError, match="unknown"):
        tz("Mars/Olympus")


# -------------------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("value", "ctype", "expected"),
    [
        (Decimal("2.5"), "int(11)", 3),
        (2.5, "int(11)", 2),  # a double is cut with rint()
        (-2.5, "int(11)", -2),
        (1.15, "decimal(5,1)", Decimal("1.2")),  # through the double's shortest text
        (Decimal("1.25"), "decimal(5,1)", Decimal("1.3")),
        ("7", "bigint(20) unsigned", 7),
        (0.1, "float", 0.10000000149011612),
        ("2024-01-01 10:00:00.999999", "datetime", dt.datetime(2024, 1, 1, 10)),
        ("2024-01-01 10:00:00.96", "datetime(1)", dt.datetime(2024, 1, 1, 10, 0, 0, 900000)),
        ("0000-00-00", "date", ZeroDate("date", "0000-00-00")),
        ("-838:59:59", "time", Interval(0, 0, -3020399000000)),
        ("B", "enum('a','b')", "b"),
        (2, "enum('a','b')", "b"),
        ("b,A", "set('a','b')", MysqlSet(frozenset({"a", "b"}))),
        ("ab", "binary(4)", b"ab\0\0"),
        ("69", "year", 2069),
        (70, "year", 1970),
        (0.9065021936842261, "varchar(40)", "0.9065021936842261"),
        (100.0, "varchar(40)", "100"),
    ],
)
def test_store_as_the_server_does(value: sv.Plain, ctype: str, expected: object) -> None:
    got = sv.store(value, Column("c", column_type(ctype)), zone=dt.UTC, mariadb=True)
    assert got == expected


def test_store_timestamp_from_the_session_zone() -> None:
    zone = dt.timezone(dt.timedelta(hours=2))
    got = sv.store(
        "2024-03-01 00:30:00", Column("c", column_type("timestamp")), zone=zone, mariadb=True
    )
    assert got == dt.datetime(2024, 2, 29, 22, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "ctype"),
    [("abc", "int(11)"), (300, "tinyint(4)"), ("x" * 41, "varchar(40)"), (1e300, "varchar(9)")],
)
def test_store_leaves_doubtful_values_to_the_target(value: sv.Plain, ctype: str) -> None:
    with pytest.raises(sv.NotConstant):
        sv.store(value, Column("c", column_type(ctype)), zone=dt.UTC, mariadb=True)


# ------------------------------------------------------------------------------------------ CLI


def test_translate_command_shows_the_rewrite() -> None:
    context = cli_context(
        timestamp="2024-02-29T22:30:00.123456Z",
        time_zone="+02:00",
        rand_seeds="414279177,398525661",
        insert_id=None,
        last_insert_id=5,
        variables=("who='x y'", "n=42"),
        auto_increment=None,
    )
    (result,) = command.translate(
        "UPDATE items SET name = @who, qty = LAST_INSERT_ID(), created = NOW(6) WHERE id = @n",
        source="mysql",
        target="mysql",
        context=context,
        schema="app",
    )
    assert result.statements == (
        "UPDATE items SET name = 'x y', qty = 5,"
        " created = CAST('2024-03-01 00:30:00.123456' AS DATETIME(6)) WHERE id = 42",
    )


def test_translate_cli_options(capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.cli import main  # noqa: PLC0415

    args = [
        "translate", "--from", "mariadb", "--to", "postgres", "--schema", "app",
        "--timestamp", "2024-02-29T22:30:00.5", "--time-zone", "+02:00",
        "--rand-seeds", "414279177,398525661", "--insert-id", "5000000000",
        "--var", "who=héllo",
        "INSERT INTO t (a, b, c) VALUES (NOW(6), RAND(), @who)",
    ]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    assert "CAST('2024-03-01 00:30:00.500000' AS DATETIME(6))" in out
    assert "CAST(0.5286385952761756e0 AS DOUBLE)" in out
    assert "'héllo'" in out
    assert "--source DSN" in out  # no table definitions: the MySQL text only
    with pytest.raises(SystemExit) as bad:
        main([*args[:-1], "--rand-seeds", "x", args[-1]])
    assert bad.value.code == 2


def test_parse_var() -> None:
    assert parse_var("@A=1.5") == ("a", Decimal("1.5"))
    assert parse_var("b=1e3") == ("b", 1000.0)
    assert parse_var("c=NULL") == ("c", None)
    assert parse_var("d=word") == ("d", "word")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regen"]:
        GOLDEN.write_text(_golden_text())
    else:
        sys.exit("usage: python -m tests.unit.test_statements --regen")
