"""`dbbridge verify`, the parts without servers: canons, key ranges, plans, diffs, the report."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.cli import main
from bridge.errors import ConfigError
from bridge.log.events import TableName
from bridge.verify import (
    Report,
    TableResult,
    diff_multiset,
    diff_rows,
    make_plan,
    sort_key,
    verify,
)
from bridge.verify_norm import (
    ColumnInfo,
    choose_canon,
    decimal_text,
    float_canon,
    json_canon,
    my_expr,
    mysql_family,
    mysql_labels,
    pg_family,
)
from bridge.verify_sides import (
    Chunk,
    MySide,
    PgSide,
    Side,
    TableShape,
    chunks_from_boundaries,
    lexicographic,
)

# -- key ranges ---------------------------------------------------------------------------------


def test_chunks_cover_every_key_between_and_beyond_the_boundaries() -> None:
    assert chunks_from_boundaries([]) == [Chunk(0, None, None)]
    assert chunks_from_boundaries([("10",), ("20",)]) == [
        Chunk(0, None, ("10",)),
        Chunk(1, ("10",), ("20",)),
        Chunk(2, ("20",), None),
    ]


def test_lexicographic_single_column() -> None:
    assert lexicographic(["id"], ["%s"], [5], ">=", expand=True) == ("id >= %s", [5])


def test_lexicographic_row_comparison_for_postgresql() -> None:
    text, params = lexicographic(["a", "b"], ["%s::int", "%s::text"], [1, "x"], "<", expand=False)
    assert (text, params) == ("(a, b) < (%s::int, %s::text)", [1, "x"])


def test_lexicographic_expanded_for_mysql_leads_with_an_index_bound() -> None:
    text, params = lexicographic(["a", "b", "c"], ["%s"] * 3, [1, 2, 3], ">=", expand=True)
    assert text == "a >= %s AND (a > %s OR (a = %s AND (b > %s OR (b = %s AND (c >= %s)))))"
    assert params == [1, 1, 1, 2, 2, 3]
    text, params = lexicographic(["a", "b"], ["%s"] * 2, [1, 2], "<", expand=True)
    assert text == "a <= %s AND (a < %s OR (a = %s AND (b < %s)))"
    assert params == [1, 1, 1, 2]


def _side(cls: type[Side], role: str = "source") -> Side:
    side = cls.__new__(cls)  # no connection: only the SQL rendering is under test
    Side.__init__(side, "dsn", role)  # type: ignore[arg-type]
    return side


def _text_key_plan() -> tuple[PgSide, MySide, object]:
    pg_k = ColumnInfo("k%", "text", "character varying", collation="libc:en_US.UTF-8")
    my_k = ColumnInfo("k%", "text", "varchar(20)")
    pg_n, my_n = ColumnInfo("n", "int", "integer"), ColumnInfo("n", "int", "int(11)")
    plan = make_plan(
        TableName("public", "t"),
        TableName("db", "t"),
        TableShape((pg_k, pg_n), ("k%", "n")),
        TableShape((my_k, my_n), ("k%", "n")),
        same_engine=False,
    )
    pg, my = _side(PgSide, "source"), _side(MySide, "target")
    return pg, my, plan  # type: ignore[return-value]


def test_text_keys_are_ranged_by_code_point_on_both_engines() -> None:
    pg, my, plan = _text_key_plan()
    chunk = Chunk(1, ("a", "1"), ("b", "2"))
    where, params = pg.chunk_where(plan, chunk)  # type: ignore[arg-type]
    assert where == (
        ' WHERE (("k%%" COLLATE "C", "n") >= (%s::character varying, %s::integer))'
        ' AND (("k%%" COLLATE "C", "n") < (%s::character varying, %s::integer))'
    )
    assert params == ["a", "1", "b", "2"]
    where, params = my.chunk_where(plan, chunk)  # type: ignore[arg-type]
    assert "CAST(`k%%` AS BINARY) >= CAST(%s AS BINARY)" in where
    assert params[:2] == ["a", "a"]
    assert params[-1] == 2  # a number: MySQL compares an int column with text as doubles


def test_keys_are_looked_up_natively() -> None:
    _, my, plan = _text_key_plan()
    where, params = my.keys_where(plan, [("a", "1"), ("b", "2")])  # type: ignore[arg-type]
    assert where == " WHERE (`k%%`, `n`) IN ((%s, %s), (%s, %s))"
    assert params == ["a", 1, "b", 2]


# -- canons -------------------------------------------------------------------------------------


def _col(family: str, name: str = "c") -> ColumnInfo:
    return ColumnInfo(name, family, "")


@pytest.mark.parametrize(
    ("a", "b", "canon"),
    [
        ("bool", "bool", "num"),  # tinyint(1) -> boolean
        ("int", "numeric", "num"),  # bigint unsigned -> numeric(20,0)
        ("float4", "float4", "float"),
        ("float8", "float8", "float"),
        ("char", "text", "char"),  # PostgreSQL pads char(n); a MySQL varchar keeps the spaces
        ("uuid", "char", "uuid"),  # uuid -> char(36)
        ("set", "array", "set"),  # SET -> text[]
        ("json", "jsonb", "json"),
        ("array", "json", "json"),  # arrays -> JSON
        ("time", "interval", "micros"),
        ("timestamptz", "timestamptz", "datetime"),
        ("timestamp", "timestamp", "datetime"),
        ("enum", "enum", "text"),
        ("bit", "bit", "bits"),
        ("bytes", "bytes", "hex"),
        ("other", "text", "text"),  # unsupported types stored as text
        ("int", "date", "text"),  # unconnected: compared as text, so a difference shows
    ],
)
def test_canon_per_pair_of_families(a: str, b: str, canon: str) -> None:
    assert choose_canon(_col(a), _col(b), same_engine=False) == canon
    assert choose_canon(_col(b), _col(a), same_engine=False) == canon
    assert choose_canon(_col(a), _col(b), same_engine=True) == "exact"


def test_families() -> None:
    assert mysql_family("tinyint", "tinyint(1)") == "bool"
    assert mysql_family("tinyint", "tinyint(1) unsigned") == "int"
    assert mysql_family("tinyint", "tinyint(4)") == "int"
    assert mysql_family("longtext", "longtext", is_json=True) == "json"
    assert mysql_family("timestamp", "timestamp(6)") == "timestamptz"
    assert mysql_family("geometry", "geometry") == "other"
    assert mysql_labels("set('a','it''s','c d')") == ("a", "it's", "c d")
    assert pg_family("int4", "b", "A") == "array"
    assert pg_family("mood", "e", "E") == "enum"
    assert pg_family("bpchar", "b", "S") == "char"
    assert pg_family("inet", "b", "I") == "other"


def test_mysql_set_members_sorted_by_code_point_and_percent_escaped() -> None:
    expr = my_expr("set", ColumnInfo("s", "set", "", labels=("b", "a%", "B")))
    assert expr.index("'B'") < expr.index("'a%%'") < expr.index("'b'")


@pytest.mark.parametrize(
    ("postgres", "mysql"),
    [
        ("1e-05", "0.00001"),
        ("1e+15", "1e15"),
        ("1.7976931348623157e+308", "1.7976931348623157e308"),
        ("5e-324", "5e-324"),
        ("1.5e-07", "0.00000015"),
        ("123456.789", "123456.789"),
        ("-0.1", "-0.1"),
        ("-0", "0"),
        ("100", "100"),
    ],
)
def test_float_layouts_of_both_engines_agree(postgres: str, mysql: str) -> None:
    assert float_canon(postgres) == float_canon(mysql)


def test_float_canon_keeps_specials_and_spells_exponents() -> None:
    assert float_canon("NaN") == "NaN"
    assert float_canon("-Infinity") == "-Infinity"
    assert float_canon("0.00125") == "0.125e-2"
    assert float_canon("-1250") == "-0.125e4"


@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(-3, 3))
def test_float_canon_is_one_text_per_value(x: float, shift: int) -> None:
    text = repr(x)
    mantissa, _, exp = text.partition("e")
    # The same value spelled with the decimal point moved: every layout maps to one canon.
    moved = f"{mantissa}e{int(exp or 0)}" if shift == 0 else _shift(text, shift)
    assert float(moved) == x
    assert float_canon(moved) == float_canon(text)
    canon = float_canon(text)
    assert canon == "0" or float(canon) == x  # the canon is the value itself


def _shift(text: str, shift: int) -> str:
    mantissa, _, exp = text.partition("e")
    sign = "-" if mantissa.startswith("-") else ""
    whole, _, frac = mantissa.lstrip("-").partition(".")
    digits = whole + frac
    point = len(whole) + shift
    if point <= 0:
        digits, point = "0" * (1 - point) + digits, 1
    digits = digits.ljust(point, "0")
    return f"{sign}{digits[:point]}.{digits[point:] or '0'}e{int(exp or 0) - shift}"


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False))
def test_float_canon_tells_values_apart(x: float, y: float) -> None:
    if x != y:
        assert float_canon(repr(x)) != float_canon(repr(y))


def test_float32_widened_prints_the_same_on_both_sides() -> None:
    f = struct.unpack("f", struct.pack("f", 0.1))[0]
    assert float_canon(repr(f)) == float_canon("0.10000000149011612")
    assert not math.isclose(f, 0.1, rel_tol=1e-12)


def test_decimal_text() -> None:
    from decimal import Decimal  # noqa: PLC0415

    assert decimal_text(Decimal("1.50")) == "1.5"
    assert decimal_text(Decimal("1E+3")) == "1000"
    assert decimal_text(Decimal("-0.000")) == "0"
    assert decimal_text(Decimal("100")) == "100"
    assert decimal_text(Decimal("-12.3400")) == "-12.34"
    assert decimal_text(Decimal("123456789012345678901234567890.5")) == (
        "123456789012345678901234567890.5"
    )


def test_json_canon_ignores_key_order_spacing_and_number_spelling() -> None:
    a = '{"b": [1, 2.50, null], "a": {"y": 1e3, "x": "ü 🐘"}}'
    b = '{"a":{"x":"ü 🐘","y":1000},"b":[1,2.5,null]}'
    assert json_canon(a) == json_canon(b) == '{"a":{"x":"ü 🐘","y":1000},"b":[1,2.5,null]}'
    assert json_canon('"x"') != json_canon('["x"]')
    assert json_canon("null") == "null"
    assert json_canon(None) is None  # SQL NULL is not JSON null


def test_json_canon_spells_postgres_array_times_as_the_mysql_applier() -> None:
    pg = '["2024-01-01T10:00:00.5+00:00", null, "2024-01-01T12:00:00+02:00"]'
    mysql = '["2024-01-01 10:00:00.500000", null, "2024-01-01 10:00:00"]'
    assert json_canon(pg, element="timestamptz") == json_canon(mysql)
    assert json_canon('["10:00:00.5"]', element="time") == json_canon('["10:00:00.500000"]')
    assert json_canon(pg) != json_canon(mysql)  # only for temporal elements


# -- plans and diffs ----------------------------------------------------------------------------


def test_plan_compares_common_columns_and_notes_the_rest() -> None:
    src = TableShape((_col("int", "id"), _col("text", "a"), _col("float8", "gone")), ("id",))
    tgt = TableShape((_col("text", "a"), _col("int", "id"), _col("int", "new")), ("id",))
    plan = make_plan(TableName("s", "t"), TableName("s", "t"), src, tgt, same_engine=False)
    assert [c.name for c in plan.columns] == ["id", "a"]
    assert plan.key == (0,)
    assert (plan.only_source, plan.only_target) == (("gone",), ("new",))
    assert plan.rangeable


def test_plan_ranges_only_keys_ordered_alike_on_both_engines() -> None:
    def plan(family_a: str, family_b: str) -> bool:
        src = TableShape((_col(family_a, "k"),), ("k",))
        tgt = TableShape((_col(family_b, "k"),), ("k",))
        return make_plan(
            TableName("s", "t"), TableName("s", "t"), src, tgt, same_engine=False
        ).rangeable

    assert plan("int", "numeric")
    assert plan("text", "text")
    assert plan("uuid", "char")
    assert plan("timestamptz", "timestamptz")
    assert not plan("enum", "enum")  # PostgreSQL orders enums by label position
    assert not plan("float8", "float8")
    keyless = make_plan(
        TableName("s", "t"),
        TableName("s", "t"),
        TableShape((_col("int", "k"),), ()),
        TableShape((_col("int", "k"),), ()),
        same_engine=False,
    )
    assert not keyless.rangeable


def test_postgres_text_key_with_different_collations_is_compared_by_code_point() -> None:
    def col(coll: str) -> ColumnInfo:
        return ColumnInfo("k", "text", "text", collation=coll)

    same = make_plan(
        TableName("s", "t"),
        TableName("s", "t"),
        TableShape((col("libc:C.UTF-8"),), ("k",)),
        TableShape((col("libc:C.UTF-8"),), ("k",)),
        same_engine=True,
    )
    other = make_plan(
        TableName("s", "t"),
        TableName("s", "t"),
        TableShape((col("libc:C.UTF-8"),), ("k",)),
        TableShape((col("icu:und"),), ("k",)),
        same_engine=True,
    )
    assert not same.columns[0].binary_order
    assert other.columns[0].binary_order


def test_diffs() -> None:
    src = [(("1",), ("h1",)), (("2",), ("h2",)), (("10",), ("h10",))]
    tgt = [(("2",), ("X",)), (("10",), ("h10",)), (("11",), ("h11",))]
    assert diff_rows(src, tgt) == ([("1",)], [("11",)], [("2",)])
    rows = [((), ("a",)), ((), ("a",)), ((), ("b",))]
    assert diff_multiset(rows, [((), ("a",)), ((), ("c",))]) == (2, 1)
    assert sorted([("10",), ("9",), ("b",), ("-1",), ("²",)], key=sort_key) == [
        ("-1",),
        ("9",),
        ("10",),
        ("b",),
        ("²",),
    ]


def test_json_report_lists_keys_as_numbers_or_text() -> None:
    t = TableResult("s.t", "s.t", ("id",), (True,), chunks=2, rows_source=3, rows_target=3)
    t.missing = [("1",), ("2",)]
    u = TableResult("s.u", "s.u", ("k", "n"), (False, True))
    u.different = [("007", "3")]
    doc = Report("src", "tgt", [t, u]).to_json(max_keys=1)
    assert doc["equal"] is False
    assert doc["tables"][0]["missing"] == [1]
    assert doc["tables"][0]["missing_count"] == 2
    assert doc["tables"][1]["different"] == [["007", 3]]
    assert doc["totals"]["missing"] == 2
    assert doc["totals"]["different"] == 1


# -- bad input ---------------------------------------------------------------------------------


def test_mysql_to_mysql_and_bad_dsns_are_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="MySQL/MariaDB -> MySQL/MariaDB"):
        verify("mysql://u@h/a", "mysql://u@h/b")
    with pytest.raises(ConfigError, match="malformed --target"):
        verify("postgresql://u@h/a", "oracle://u:secret@h/b")


def test_cli_bad_dsn_exits_2_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["verify", "--source", "pg://u:hunter2@h/db", "--target", "postgresql://h/db"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "malformed --source" in err
    assert "hunter2" not in err
