"""`dbbridge init` and `dbbridge status` on real servers."""

from __future__ import annotations

import json
import re
import time

import psycopg
import pytest

from bridge import metadata, pipestats
from bridge.local.servers import LocalServer
from tests.integration.pgpair import dbbridge, execute, fresh_db, pipeline_thread, sync


@pytest.fixture
def pair(pg13_to_17: tuple[str, str]) -> tuple[str, str]:
    return pg13_to_17


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
    assert tables == ("alembic_version,checkpoints,heartbeats,in_flight,pipeline_stats,relations",)


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


def test_status_shows_rate_retries_and_the_last_error(pair: tuple[str, str]) -> None:
    """The running pipeline's own figures (bridge.pipeline_stats): a dropped target connection
    is retried, and `status` shows the retry and its error with the rate and batch size."""
    source, target = pair
    execute(source, "CREATE TABLE t (id int PRIMARY KEY)")
    with pipeline_thread(source, target, name="busy") as running:
        sync(source, target, running=running)
        execute(source, "INSERT INTO t SELECT generate_series(1, 3000)")
        sync(source, target, running=running)
        # A dropped connection: the applier's backend is terminated on the target.
        execute(
            target,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name = 'dbbridge'",
        )
        execute(source, "INSERT INTO t SELECT generate_series(3001, 6000)")
        sync(source, target, timeout=90, running=running)
        assert running.pipeline.status.retries >= 1
        time.sleep(pipestats.INTERVAL)
        execute(source, "INSERT INTO t VALUES (6001)")
        sync(source, target, running=running)  # a commit past the interval writes the stats
        proc = dbbridge("status", "--target", target, "--json")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (row,) = json.loads(out)
    assert row["retries"] >= 1
    assert "terminating connection due to administrator command" in row["last_error"]
    assert row["last_error_at"] is not None
    assert row["rows_per_second"] > 0
    assert row["batch_rows"] > 0
    assert 0 <= row["stats_age_seconds"] < 60
    text = dbbridge("status", "--target", target)
    out, _ = text.communicate(timeout=60)
    assert "terminating connection" in " ".join(out.split())


def _columns(dsn: str) -> list[tuple[str, ...]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = 'bridge' ORDER BY 1, 2"
        ).fetchall()
    return [tuple(str(v) for v in r) for r in rows]


def test_a_fresh_target_gets_the_same_schema_as_alembic_makes(
    pg17_server: LocalServer,
) -> None:
    """The shipped SQL (no alembic import) and the revisions run by alembic, from scratch and
    from the first revision, give the same tables and columns."""
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415
    from sqlalchemy import create_engine  # noqa: PLC0415
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    with fresh_db(pg17_server, "fast") as fast, fresh_db(pg17_server, "old") as old:
        assert metadata.upgrade(fast) == "none"  # the shipped SQL
        engine = create_engine(
            "postgresql+psycopg://", creator=lambda: psycopg.connect(old), poolclass=NullPool
        )
        execute(old, "CREATE SCHEMA bridge")
        cfg = Config()
        cfg.set_main_option("script_location", str(metadata.MIGRATIONS))
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "0001")
        engine.dispose()
        assert metadata.upgrade(old) == "0001"  # the rest by alembic
        with psycopg.connect(old) as conn:
            assert metadata.current_revision(conn) == metadata.HEAD
        assert _columns(fast) == _columns(old)
