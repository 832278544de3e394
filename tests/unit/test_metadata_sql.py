"""The SQL a fresh target gets (bridge/sql/metadata_*.sql) is what the alembic revisions print."""

from __future__ import annotations

from importlib import resources

import pytest

from bridge import metadata

REGENERATE = (
    "a revision changed: regenerate the file with bridge.metadata.head_sql(dialect), e.g."
    " .venv/bin/python -c 'from bridge.metadata import head_sql;"
    ' print(head_sql("postgresql"), end="")\' > bridge/sql/metadata_postgresql.sql'
)


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])
def test_the_shipped_sql_is_the_revisions_offline_output(dialect: str) -> None:
    shipped = resources.files("bridge").joinpath(f"sql/metadata_{dialect}.sql").read_text()
    assert shipped == metadata.head_sql(dialect), REGENERATE


def test_the_statements_end_at_head() -> None:
    statements = metadata._head_statements("postgresql")
    assert statements[0].startswith("CREATE TABLE bridge.alembic_version")
    assert statements[-1].startswith(
        f"UPDATE bridge.alembic_version SET version_num='{metadata.HEAD}'"
    )
    assert not any(s.lstrip().startswith("--") for s in statements)
