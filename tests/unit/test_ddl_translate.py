"""Golden tests of DDL translation: tests/data/ddl/*.txt, one case per block.

A block is the input statement, a line `---`, then the expected translation: `kind:`, `tables:`,
`note:` lines and the target statements one per line, or a single `error: <substring>` line.
Lines before the input starting with `# ` set the case up:
`# policy: zero_dates=null`, `# column: <table> <column> <null|notnull> <type…>` (the `columns`
lookup, in the source's type spelling) and `# index: <index> <table>` (the `index_table` lookup).
Blocks are separated by a line `====`.

After a deliberate change, regenerate the expectations and review the diff:
    .venv/bin/python -m tests.unit.test_ddl_translate --regen
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from bridge.errors import TranslateError
from bridge.log.events import Column, TableName
from bridge.translate.ddl import Translation, split_statements, translate_ddl
from bridge.translate.types import TypePolicy, from_mysql, from_postgres

DATA = Path(__file__).resolve().parents[1] / "data" / "ddl"
FILES = {
    "mysql_to_postgres.txt": ("mysql", "postgres"),
    "postgres_to_mysql.txt": ("postgres", "mysql"),
}
Dialect = Literal["mysql", "postgres"]


def _table(text: str) -> TableName:
    schema, _, name = text.rpartition(".")
    return TableName(schema, name)


@dataclass
class Case:
    """One golden block."""

    setup: list[str]
    sql: str
    expected: list[str]
    source: Dialect
    target: Dialect
    policy: TypePolicy = field(default_factory=TypePolicy)
    columns: dict[TableName, list[Column]] = field(default_factory=dict)
    indexes: dict[str, TableName] = field(default_factory=dict)

    def run(self) -> Translation:
        return translate_ddl(
            self.sql,
            source=self.source,
            target=self.target,
            policy=self.policy,
            position="test:1",
            columns=self.columns.get,
            index_table=lambda i: self.indexes.get(i.name),
        )

    def actual(self) -> list[str]:
        try:
            t = self.run()
        except TranslateError as e:
            return [f"error: {e}" + (f" ({e.hint})" if e.hint else "")]
        out = [f"kind: {t.kind}", "tables: " + ", ".join(_show(x) for x in t.tables)]
        if t.note:
            out.append(f"note: {t.note}")
        return out + list(t.statements)


def _show(t: TableName) -> str:
    return f"{t.schema}.{t.name}" if t.schema else t.name


def _setup(case: Case, line: str) -> None:
    key, _, value = line[2:].partition(":")
    value = value.strip()
    if key == "policy":
        opts = dict(item.split("=") for item in value.split())
        case.policy = TypePolicy(**opts)  # type: ignore[arg-type]
    elif key == "column":
        table, name, null, type_text = value.split(None, 3)
        type_text, _, labels = type_text.partition(" labels=")
        if labels:
            ctype = from_postgres(type_text, labels=tuple(labels.split(",")))
        else:
            ctype = (from_mysql if case.source == "mysql" else from_postgres)(type_text)
        col = Column(name, ctype, nullable=null == "null")
        case.columns.setdefault(_table(table), []).append(col)
    elif key == "index":
        index, table = value.split()
        case.indexes[index] = _table(table)


def load(name: str) -> list[Case]:
    source, target = FILES[name]
    cases = []
    for block in (DATA / name).read_text().split("\n====\n"):
        if not block.strip():
            continue
        head, _, expected = block.partition("\n---\n")
        lines = head.strip().splitlines()
        setup = [x for x in lines if x.startswith("# ")]
        sql = "\n".join(x for x in lines if not x.startswith("# "))
        case = Case(setup, sql, expected.strip().splitlines(), source, target)  # type: ignore[arg-type]
        for line in setup:
            _setup(case, line)
        cases.append(case)
    return cases


def _ids(cases: Sequence[Case]) -> list[str]:
    return [" ".join(c.sql.split())[:60] for c in cases]


ALL = [(name, case) for name in FILES for case in load(name)]


@pytest.mark.parametrize(("name", "case"), ALL, ids=[f"{n}:{i}" for n, c in ALL for i in _ids([c])])
def test_golden(name: str, case: Case) -> None:
    expected = case.expected
    if len(expected) == 1 and expected[0].startswith("error: "):
        with pytest.raises(TranslateError) as info:
            case.run()
        full = f"{info.value}" + (f" ({info.value.hint})" if info.value.hint else "")
        assert expected[0].removeprefix("error: ") in full
        assert info.value.position == "test:1"
    else:
        assert case.actual() == expected


def test_golden_files_cover_every_kind() -> None:
    kinds = {line for _, case in ALL for line in case.expected if line.startswith("kind: ")}
    for kind in ("create_table", "alter_table", "rename_table", "drop_table", "truncate",
                 "create_index", "drop_index", "ignored"):  # fmt: skip
        assert f"kind: {kind}" in kinds


def test_split_statements_keeps_quoted_semicolons() -> None:
    text = "CREATE TABLE a (b varchar(3) DEFAULT ';'); DROP TABLE a;\n"
    assert split_statements(text, source="mysql") == [
        "CREATE TABLE a (b varchar(3) DEFAULT ';')",
        "DROP TABLE a",
    ]


def test_without_columns_lookup_modify_is_an_error() -> None:
    with pytest.raises(TranslateError, match="columns lookup"):
        translate_ddl(
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL", source="postgres", target="mysql"
        )


def test_same_dialect_is_an_error() -> None:
    with pytest.raises(TranslateError, match="nothing to translate"):
        translate_ddl("DROP TABLE t", source="mysql", target="mysql")


def regenerate() -> None:
    """Rewrite the expected part of every block from the current translator."""
    for name in FILES:
        blocks = []
        for case in load(name):
            head = "\n".join([*case.setup, case.sql])
            blocks.append(head + "\n---\n" + "\n".join(case.actual()))
        (DATA / name).write_text("\n====\n".join(blocks) + "\n")


if __name__ == "__main__":
    if "--regen" in sys.argv:
        regenerate()
    else:
        print(__doc__)
