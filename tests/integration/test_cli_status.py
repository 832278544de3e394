"""`dbbridge init` and `dbbridge status` on real servers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import psycopg
import pytest

from bridge import metadata
from bridge.local.servers import LocalServer
from tests.integration.pgpair import MARKER, dbbridge, execute, fresh_db, pipeline_thread, sync


@pytest.fixture
def pair(pg13_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    with fresh_db(pg13_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, MARKER)
        yield source, target


def test_head_is_the_newest_migration() -> None:
    revisions = sorted(
        p.name.split("_")[0]
        for p in (metadata.MIGRATIONS / "versions").glob("*.py")
        if p.name[0].isdigit()
    )
    assert revisions[-1] == metadata.HEAD


def test_init_creates_then_finds_the_metadata_schema(pair: tuple[str, str]) -> None:
    _, target = pair
    first = dbbridge("init", "--target", target)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert out.strip() == f"metadata schema: none -> {metadata.HEAD}"
    again = dbbridge("init", "--target", target)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert out.strip() == f"current ({metadata.HEAD})"
    with psycopg.connect(target) as conn:
        tables = conn.execute(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables"
            " WHERE schemaname = 'bridge'"
        ).fetchone()
    assert tables == ("alembic_version,checkpoints,heartbeats,relations",)


def test_status_shows_each_pipeline_with_position_and_lag(pair: tuple[str, str]) -> None:
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY)")
    with pipeline_thread(source, target, name="shown") as running:
        sync(source, target, running=running)  # streaming now, past the copy
        execute(source, "INSERT INTO t SELECT generate_series(1, 10)")
        sync(source, target, running=running)
        proc = dbbridge("status", "--target", target, "--source", source, "--json")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (row,) = json.loads(out)
    with psycopg.connect(target) as conn:
        position = conn.execute(
            "SELECT position FROM bridge.checkpoints WHERE pipeline = 'shown'"
        ).fetchone()
    assert row["pipeline"] == "shown"
    assert row["phase"] == "streaming"
    assert position == (row["position"],)
    assert row["source_engine"] == "postgres"
    assert row["behind_bytes"] >= 0
    assert 0 <= row["lag_seconds"] < 60
    assert row["changes"] >= 10
    assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", row["source_head"])
    text = dbbridge("status", "--target", target)
    out, err = text.communicate(timeout=60)
    assert text.returncode == 0, err
    assert "shown" in out
    assert "streaming" in out


def test_status_of_a_target_without_pipelines(pair: tuple[str, str]) -> None:
    _, target = pair
    proc = dbbridge("status", "--target", target)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "no pipelines on this target"
