"""Splitting captured PostgreSQL text into statements, and keeping the DDL among them."""

from __future__ import annotations

import pytest

from bridge.translate.pgstatements import ddl_statements, split_statements


def test_splits_on_semicolons_outside_quotes_comments_and_dollar_bodies() -> None:
    text = (
        "INSERT INTO t VALUES ('a;b', E'c\\';d', \"we;ird\");"
        " -- a comment; with a semicolon\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;"
        " /* nested /* ; */ still; */ ALTER TABLE t ADD COLUMN x int;"
        " DO $$ BEGIN PERFORM 1; END $$;"
    )
    assert split_statements(text) == [
        "INSERT INTO t VALUES ('a;b', E'c\\';d', \"we;ird\")",
        "-- a comment; with a semicolon\n"
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$",
        "/* nested /* ; */ still; */ ALTER TABLE t ADD COLUMN x int",
        "DO $$ BEGIN PERFORM 1; END $$",
    ]


def test_doubled_quotes_and_parameters_do_not_confuse_it() -> None:
    assert split_statements("SELECT 'it''s;' , $1; SELECT a$b$c") == [
        "SELECT 'it''s;' , $1",
        "SELECT a$b$c",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALTER TABLE t ADD c int", ["ALTER TABLE t ADD c int"]),
        (
            "BEGIN; UPDATE t SET c = 8; ALTER TABLE t DROP COLUMN x; INSERT INTO t VALUES (4);"
            " COMMIT",
            ["ALTER TABLE t DROP COLUMN x"],
        ),
        (
            "create index i on t (a); truncate t; grant select on t to r",
            [
                "create index i on t (a)",
                "grant select on t to r",
            ],
        ),
        (
            "/* migration 7 */ CREATE TABLE a (id int);",
            ["/* migration 7 */ CREATE TABLE a (id int)"],
        ),
        ("SELECT 1; ; ;", []),
    ],
)
def test_ddl_statements_keep_only_schema_changes(text: str, expected: list[str]) -> None:
    assert ddl_statements(text) == expected
