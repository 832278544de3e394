"""Every type mapping rule and every policy error of bridge.translate.types."""

from __future__ import annotations

import pytest

from bridge.errors import TranslateError
from bridge.log.events import Column, ColumnType, TableName
from bridge.translate.types import (
    TypePolicy,
    from_mysql,
    from_postgres,
    is_zero_date_literal,
    map_to_mysql,
    pg_create_enum,
    pg_enum_name,
    pg_not_null,
    to_mysql,
    to_postgres,
)

MYSQL_TO_PG = [
    ("tinyint(1)", "boolean"),
    ("bool", "boolean"),
    ("tinyint(4)", "smallint"),
    ("tinyint(1) unsigned", "smallint"),
    ("tinyint(3) unsigned", "smallint"),
    ("smallint(6)", "smallint"),
    ("smallint(5) unsigned", "integer"),
    ("smallint(5) unsigned zerofill", "integer"),
    ("mediumint(9)", "integer"),
    ("mediumint(8) unsigned", "bigint"),
    ("int(11)", "integer"),
    ("integer", "integer"),
    ("INT UNSIGNED", "bigint"),
    ("int(10) unsigned", "bigint"),
    ("bigint(20)", "bigint"),
    ("int8", "bigint"),
    ("bigint(20) unsigned", "numeric(20,0)"),
    ("serial", "numeric(20,0)"),
    ("decimal(10,2)", "numeric(10,2)"),
    ("decimal(65,30)", "numeric(65,30)"),
    ("decimal", "numeric(10,0)"),
    ("numeric(5)", "numeric(5,0)"),
    ("float", "real"),
    ("float(30)", "double precision"),
    ("double", "double precision"),
    ("real", "double precision"),
    ("bit(5)", "bit(5)"),
    ("bit(1)", "bit(1)"),
    ("bit", "bit(1)"),
    ("year(4)", "smallint"),
    ("year", "smallint"),
    ("date", "date"),
    ("datetime", "timestamp(0)"),
    ("datetime(6)", "timestamp(6)"),
    ("timestamp", "timestamptz(0)"),
    ("timestamp(3)", "timestamptz(3)"),
    ("time", "interval(0)"),
    ("time(6)", "interval(6)"),
    ("char(3)", "char(3)"),
    ("char", "char(1)"),
    ("varchar(255)", "varchar(255)"),
    ("tinytext", "text"),
    ("text", "text"),
    ("mediumtext", "text"),
    ("longtext", "text"),
    ("binary(16)", "bytea"),
    ("varbinary(64)", "bytea"),
    ("tinyblob", "bytea"),
    ("blob", "bytea"),
    ("mediumblob", "bytea"),
    ("longblob", "bytea"),
    ("set('x','y')", "text[]"),
    ("json", "jsonb"),
]


@pytest.mark.parametrize(("mysql", "pg"), MYSQL_TO_PG)
def test_mysql_to_postgres(mysql: str, pg: str) -> None:
    assert to_postgres(from_mysql(mysql)) == pg


def test_mysql_parse_keeps_conventions() -> None:
    assert from_mysql("int(10) unsigned") == ColumnType("uint", "int(10) unsigned", size=32)
    assert from_mysql("tinyint(1)").source_type == "tinyint(1)"
    assert from_mysql("datetime(6)").precision == 6
    assert from_mysql("decimal(65,30)") == ColumnType(
        "decimal", "decimal(65,30)", precision=65, scale=30
    )
    assert from_mysql("enum('a','b''c')").labels == ("a", "b'c")
    assert from_mysql("set('x','y')").labels == ("x", "y")
    assert from_mysql("char(3)") == ColumnType("text", "char(3)", size=3, fixed=True)
    assert from_mysql("binary(16)") == ColumnType("bytes", "binary(16)", size=16, fixed=True)
    assert from_mysql("bit(5)") == ColumnType("bits", "bit(5)", size=5, fixed=True)
    assert from_mysql("longtext", is_json=True).kind == "json"
    assert from_mysql("longtext").kind == "text"
    assert from_mysql("geometry").kind == "other"


def test_mysql_enum_becomes_a_named_pg_type() -> None:
    col = from_mysql("enum('a','b')")
    sql = to_postgres(col, column="state", table=TableName("shop", "orders"))
    assert sql == f'"shop"."{pg_enum_name(TableName("shop", "orders"), "state", ("a", "b"))}"'
    assert pg_enum_name(None, "c", ("a",)) != pg_enum_name(None, "c", ("a", "b"))
    assert pg_enum_name(None, "c", ("a",)) == pg_enum_name(None, "c", ("a",))
    assert len(pg_enum_name(TableName("", "t" * 80), "c" * 80, ("a",))) <= 63
    create = pg_create_enum('"e"', ("it's", "$bridge$"))
    assert "'it''s'" in create
    assert create.startswith("DO $bridge1$")


PG_TO_MYSQL = [
    ("smallint", "smallint"),
    ("integer", "int"),
    ("bigint", "bigint"),
    ("int8", "bigint"),
    ("numeric(10,2)", "decimal(10,2)"),
    ("numeric(65,30)", "decimal(65,30)"),
    ("real", "float"),
    ("double precision", "double"),
    ("boolean", "tinyint(1)"),
    ("text", "longtext"),
    ("character varying(20)", "varchar(20)"),
    ("character varying(16383)", "varchar(16383)"),
    ("character varying(16384)", "longtext"),
    ("character varying", "longtext"),
    ("character(3)", "char(3)"),
    ("character(300)", "varchar(300)"),
    ("bytea", "longblob"),
    ("uuid", "char(36)"),
    ("json", "json"),
    ("jsonb", "json"),
    ("text[]", "json"),
    ("integer[][]", "json"),
    ("timestamp(3) with time zone", "datetime(3)"),
    ("timestamp with time zone", "datetime(6)"),
    ("timestamp(0) without time zone", "datetime(0)"),
    ("timestamp without time zone", "datetime(6)"),
    ("date", "date"),
    ("time without time zone", "time(6)"),
    ("time(3) without time zone", "time(3)"),
    ("bit(5)", "bit(5)"),
    ("bit(64)", "bit(64)"),
    ("bit varying(8)", "bit(8)"),
]


@pytest.mark.parametrize(("pg", "mysql"), PG_TO_MYSQL)
def test_postgres_to_mysql(pg: str, mysql: str) -> None:
    assert to_mysql(from_postgres(pg)) == mysql


def test_postgres_enum_needs_labels() -> None:
    assert to_mysql(from_postgres("mood", labels=("sad", "it's"))) == "enum('sad','it''s')"
    assert from_postgres("public.mood").kind == "other"


POLICY_ERRORS = [
    # (type text, source dialect, message part, knob hint)
    ("numeric", "postgres", "numeric without a precision", "numeric='max'"),
    ("numeric(70,2)", "postgres", "beyond decimal(65,30)", "--numeric max"),
    ("numeric(10,31)", "postgres", "beyond decimal(65,30)", "numeric='max'"),
    ("interval", "postgres", "MySQL has no interval type", "interval='text'"),
    ("time with time zone", "postgres", "time with time zone", "unsupported='text'"),
    ("bit(65)", "postgres", "longer than MySQL's bit(64)", "--unsupported text"),
    ("bit varying", "postgres", "bit(64)", "unsupported='text'"),
    ("inet", "postgres", "has no MySQL type", "unsupported='text'"),
    ("mood", "postgres", "has no MySQL type", "unsupported='text'"),
]


@pytest.mark.parametrize(("text", "source", "message", "hint"), POLICY_ERRORS)
def test_policy_errors_name_column_type_and_knob(
    text: str, source: str, message: str, hint: str
) -> None:
    col = from_postgres(text)
    with pytest.raises(TranslateError) as info:
        to_mysql(col, column="c")
    assert "column 'c'" in str(info.value)
    assert message in str(info.value)
    assert info.value.hint is not None
    assert hint in info.value.hint


def test_unknown_mysql_type_to_postgres() -> None:
    with pytest.raises(TranslateError, match="'geometry' has no PostgreSQL type") as info:
        to_postgres(from_mysql("geometry"), column="g")
    assert info.value.hint is not None
    assert "unsupported='text'" in info.value.hint
    assert to_postgres(from_mysql("geometry"), policy=TypePolicy(unsupported="text")) == "text"


ACCEPTED = [
    ("numeric", TypePolicy(numeric="max"), "decimal(65,30)"),
    ("interval", TypePolicy(interval="text"), "varchar(64)"),
    ("time with time zone", TypePolicy(unsupported="text"), "varchar(64)"),
    ("bit(65)", TypePolicy(unsupported="text"), "longtext"),
    ("inet", TypePolicy(unsupported="text"), "longtext"),
]


@pytest.mark.parametrize(("text", "policy", "mysql"), ACCEPTED)
def test_opt_ins_map_with_a_note(text: str, policy: TypePolicy, mysql: str) -> None:
    mapped = map_to_mysql(from_postgres(text), policy=policy, column="c")
    assert mapped.sql == mysql
    assert mapped.note is not None
    assert "column c" in mapped.note


def test_zero_dates_policy_drops_not_null_for_date_kinds() -> None:
    strict, lenient = TypePolicy(), TypePolicy(zero_dates="null")
    for text in ("date", "datetime(6)", "timestamp"):
        col = Column("d", from_mysql(text), nullable=False)
        assert pg_not_null(col, policy=strict)
        assert not pg_not_null(col, policy=lenient)
    other = Column("n", from_mysql("int"), nullable=False)
    assert pg_not_null(other, policy=lenient)


def test_zero_date_literals() -> None:
    assert is_zero_date_literal("0000-00-00")
    assert is_zero_date_literal("0000-00-00 00:00:00")
    assert is_zero_date_literal("2024-00-10")
    assert not is_zero_date_literal("2024-01-10 00:00:00")
    assert not is_zero_date_literal("abc")


def test_postgres_parse() -> None:
    assert from_postgres("timestamp(3) with time zone") == ColumnType(
        "timestamptz", "timestamp(3) with time zone", precision=3
    )
    assert from_postgres("numeric(10,2)").scale == 2
    arr = from_postgres("text[]")
    assert arr.kind == "array"
    assert arr.element is not None
    assert arr.element.kind == "text"
    assert from_postgres("interval year to month").kind == "interval"
    assert from_postgres('"char"').size == 1
