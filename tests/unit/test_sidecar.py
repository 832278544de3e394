"""The sidecar's pure parts: sizes, binlog retention, the health rule, the metrics collector and
endpoint, JSON log lines and redaction, heartbeat rows -> events, and `run`'s options."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bridge import heartbeat, logformat
from bridge.cli import main
from bridge.dsn import parse_dsn
from bridge.log.events import Heartbeat, SourceId
from bridge.metrics import Monotonic, PipelineCollector, app, health
from bridge.pipeline import Options, Pipeline, Status
from bridge.positions import BinlogPosition, Lsn
from bridge.sourcewatch import Alarm, binlog_expiry_ratio, binlog_usage, format_size, parse_size

ROOT = Path(__file__).parents[2]
SOURCE = SourceId("postgres", "1", "17.0")


# -- sizes and retention --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("4096", 4096),
        ("1B", 1),
        ("512MB", 512 << 20),
        ("10GB", 10 << 30),
        ("10 gb", 10 << 30),
        ("1.5TB", int(1.5 * (1 << 40))),
        ("64kB", 64 << 10),
        ("2GiB", 2 << 30),
        ("off", 0),
        ("0", 0),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "10XB", "-1GB", "1 2"])
def test_parse_size_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_format_size() -> None:
    assert format_size(248) == "248 B"
    assert format_size(3 << 30) == "3.0 GB"


LOGS = [("mysql-bin.000007", 1000), ("mysql-bin.000008", 500), ("mysql-bin.000009", 300)]


def test_binlog_usage_counts_bytes_across_files() -> None:
    head = BinlogPosition("mysql-bin.000009", 300)
    lag, files = binlog_usage(LOGS, head, BinlogPosition("mysql-bin.000007", 400))
    assert lag == (1000 - 400) + 500 + 300
    assert files == ("mysql-bin.000007", "mysql-bin.000008", "mysql-bin.000009")
    assert binlog_usage(LOGS, head, BinlogPosition("mysql-bin.000009", 120)) == (
        180,
        ("mysql-bin.000009",),
    )


def test_binlog_usage_of_a_purged_file() -> None:
    head = BinlogPosition("mysql-bin.000009", 300)
    assert binlog_usage(LOGS, head, BinlogPosition("mysql-bin.000003", 4)) == (None, ())


def test_binlog_expiry_ratio() -> None:
    now = 1_000_000.0
    ratio = binlog_expiry_ratio(
        needed="b.000001", head="b.000002", expire_seconds=1000, applied_commit_time=now - 850,
        now=now,
    )  # fmt: skip
    assert ratio == pytest.approx(0.85)
    # The file being written is never purged; without an expiry nothing is purged by age.
    assert binlog_expiry_ratio(
        needed="b.000002", head="b.000002", expire_seconds=10, applied_commit_time=0, now=now
    ) == 0.0  # fmt: skip
    assert binlog_expiry_ratio(
        needed="b.000001", head="b.000002", expire_seconds=0, applied_commit_time=0, now=now
    ) is None  # fmt: skip


def test_alarm_fires_on_crossing_then_every_interval_and_rearms() -> None:
    alarm = Alarm(ratio=0.8, every=600)
    assert not alarm.check(0.5, 0)
    assert not alarm.check(None, 1)
    assert alarm.check(0.8, 2)
    assert not alarm.check(0.95, 300)
    assert alarm.check(0.95, 603)
    assert not alarm.check(0.1, 700)
    assert alarm.check(0.9, 701)  # below, then over again: a new warning at once


# -- health and metrics ---------------------------------------------------------------------------


def _status(**changes: Any) -> Status:
    st = Status("p", phase="streaming")
    for k, v in changes.items():
        setattr(st, k, v)
    return st


def test_health() -> None:
    now = time.monotonic()
    assert health(_status(alive_at=now - 1), now).ok
    assert health(_status(phase="snapshot", alive_at=now - 10_000), now).ok
    stale = health(_status(alive_at=now - 400), now, stale_after=300)
    assert not stale.ok
    assert "no progress" in stale.reason
    failing = health(
        _status(failing_since=now - 61, last_error="postgresql://u:secret@h/db down"), now
    )
    assert not failing.ok
    assert "secret" not in failing.reason
    assert health(_status(failing_since=now - 5, alive_at=now - 5), now).ok  # retrying briefly
    assert not health(_status(phase="stopped"), now).ok
    assert not health(_status(phase="failed"), now).ok


def test_monotonic_survives_a_restart_from_zero() -> None:
    m = Monotonic()
    assert [m(0), m(5), m(9), m(2), m(4), m(4)] == [0, 5, 9, 11, 13, 13]


@pytest.fixture
def pipe() -> Pipeline:
    """A pipeline that never runs: the collector only reads its status."""
    return Pipeline(
        parse_dsn("postgresql://u:pw@127.0.0.1:1/src"),
        parse_dsn("mysql://u:pw@127.0.0.1:1/tgt"),
        Options(name="m"),
    )


def _scrape(registry: CollectorRegistry) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_collector_reads_the_status(pipe: Pipeline) -> None:
    st = pipe.status
    st.phase, st.position, st.received = "streaming", "0/16B3748", "0/16B3800"
    st.changes, st.transactions, st.retries = 120, 7, 2
    st.lag_seconds, st.heartbeat_time = 0.25, time.time() - 3
    st.last_error, st.last_error_at = "cannot connect to postgresql://u:hush@h/db", time.time()
    st.source.lag_bytes, st.source.retained_bytes = 4096, 1 << 20
    st.source.retention_limit, st.source.retention_ratio = float(1 << 20), 1.0
    registry = CollectorRegistry()
    registry.register(PipelineCollector(pipe))
    got = _scrape(registry)
    one = (("pipeline", "m"),)
    assert got["dbbridge_changes_total"][one] == 120
    assert got["dbbridge_transactions_total"][one] == 7
    assert got["dbbridge_retries_total"][one] == 2
    assert got["dbbridge_lag_seconds"][one] == 0.25
    assert 2 < got["dbbridge_heartbeat_age_seconds"][one] < 30
    assert got["dbbridge_lag_bytes"][one] == 4096
    assert got["dbbridge_retention_warning"][one] == 1
    assert got["dbbridge_phase"][(("phase", "streaming"), ("pipeline", "m"))] == 1
    assert got["dbbridge_phase"][(("phase", "snapshot"), ("pipeline", "m"))] == 0
    (labels,) = got["dbbridge_position_info"]
    assert ("applied", "0/16B3748") in labels
    (error,) = got["dbbridge_last_error_info"]
    assert "hush" not in str(error)
    assert "dbbridge_binlog_expire_seconds" not in got  # a PostgreSQL source
    st.changes = 3  # a retry built a new applier: its totals start again
    assert _scrape(registry)["dbbridge_changes_total"][one] == 123


def _call(application: Any, path: str) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path}
    setup_testing_defaults(environ)
    seen: list[str] = []
    body = b"".join(application(environ, lambda status, _headers: seen.append(status)))
    return seen[0], body


def test_endpoint_paths(pipe: Pipeline) -> None:
    registry = CollectorRegistry()
    registry.register(PipelineCollector(pipe))
    application = app(pipe, registry)
    pipe.status.phase = "streaming"
    status, body = _call(application, "/healthz")
    assert status.startswith("200")
    assert json.loads(body)["status"] == "ok"
    pipe.status.phase = "failed"
    status, body = _call(application, "/healthz")
    assert status.startswith("503")
    assert json.loads(body) | {"pipeline": "m", "phase": "failed"} == json.loads(body)
    status, body = _call(application, "/metrics")
    assert status.startswith("200")
    assert b"dbbridge_changes_total" in body
    assert _call(application, "/nope")[0].startswith("404")


# -- JSON logs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://bridge:s3cr%40t@db:5432/app", "postgresql://bridge:***@db:5432/app"),
        ("to mysql://root:pw@h/x failed", "to mysql://root:***@h/x failed"),
        ("host=h password=hunter2 dbname=x", "host=h password=*** dbname=x"),
        ("password = 'a b\\'c' user=u", "password = *** user=u"),
        ("no secret here: http://example.com/x", "no secret here: http://example.com/x"),
    ],
)
def test_redact_text(text: str, shown: str) -> None:
    assert logformat.redact_text(text) == shown


def test_json_formatter_keeps_extra_fields_and_redacts() -> None:
    record = logging.LogRecord(
        "bridge.sourcewatch", logging.WARNING, "x", 1, "lost %s", ("mysql://a:b@h/d",), None
    )
    record.retained_bytes = 42
    line = json.loads(logformat.JsonFormatter("p1").format(record))
    assert line["level"] == "warning"
    assert line["pipeline"] == "p1"
    assert line["message"] == "lost mysql://a:***@h/d"
    assert line["retained_bytes"] == 42
    assert line["logger"] == "bridge.sourcewatch"
    assert line["time"].endswith("Z")


def test_json_display_lines() -> None:
    out = io.StringIO()
    display = logformat.JsonDisplay("p2", stream=out, every=0)
    st = Status("p2", phase="streaming", position="0/10")
    display.status(st)
    display.notice("resuming from 0/10")
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert lines[0]["message"] == "status"
    assert lines[0]["phase"] == "streaming"
    assert "lag_seconds" not in lines[0]  # unknown values are left out, not null
    assert lines[1] == lines[1] | {"message": "resuming from 0/10", "position": "0/10"}


def test_warnings_show_when_quiet_and_log_as_warnings() -> None:
    """A notice starting with bridge.pipeline.WARNING (a retry, a --skip-ddl) wants attention:
    --quiet hides the routine ones only, and JSON logs give it level warning."""
    from rich.console import Console  # noqa: PLC0415

    from bridge.pipeline import WARNING  # noqa: PLC0415
    from bridge.progress import RunDisplay  # noqa: PLC0415

    text = io.StringIO()
    quiet = RunDisplay(Console(file=text, width=200), quiet=True)
    quiet.notice("resuming from 0/10")
    quiet.notice(f"{WARNING}transient fault, retrying in 0.5 s: the target failed")
    assert text.getvalue() == "warning: transient fault, retrying in 0.5 s: the target failed\n"
    out = io.StringIO()
    logformat.JsonDisplay("p3", stream=out, every=0).notice(f"{WARNING}skipping the DDL at x")
    (line,) = [json.loads(x) for x in out.getvalue().splitlines()]
    assert line["level"] == "warning"
    assert line["message"] == "skipping the DDL at x"


@pytest.fixture
def bridge_logger() -> Iterator[None]:
    """`run` installs handlers on the `bridge` logger; put it back as it was."""
    logger = logging.getLogger("bridge")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert isinstance(info.value.code, int)
    return info.value.code


def test_run_failure_is_one_json_line_without_the_password(
    capsys: pytest.CaptureFixture[str], bridge_logger: None
) -> None:
    del bridge_logger
    # Nothing listens on port 1: a transient fault, retried, then given up (--retry-for 0).
    dsn = "postgresql://u:topsecret@127.0.0.1:1/"
    argv = ["run", "--source", dsn + "s", "--target", dsn + "t", "--retry-for", "0",
            "--log-format", "json"]  # fmt: skip
    assert _exit_code(argv) == 3
    err = capsys.readouterr().err
    assert "topsecret" not in err
    lines = [json.loads(x) for x in err.splitlines()]
    assert lines[-1]["level"] == "error"
    assert "still failing" in lines[-1]["message"]
    assert all(line["pipeline"] == "default" for line in lines)


def test_run_refuses_a_bad_size(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "--source", "postgresql://h/s", "--target", "postgresql://h/t",
            "--max-retained-wal", "lots"]  # fmt: skip
    assert _exit_code(argv) == 2
    assert "--max-retained-wal" in capsys.readouterr().err


# -- heartbeats -----------------------------------------------------------------------------------


def test_heartbeat_rows_become_events() -> None:
    aware = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    cols = ("pipeline", "beat_time")
    beat = heartbeat.heartbeat_event(SOURCE, Lsn(16), cols, ("a", aware))
    assert beat == Heartbeat(SOURCE, Lsn(16), aware)
    naive = heartbeat.heartbeat_event(SOURCE, Lsn(16), cols, ("a", aware.replace(tzinfo=None)))
    assert naive is not None
    assert naive.time == aware  # a DATETIME column holds UTC
    assert heartbeat.heartbeat_event(SOURCE, Lsn(16), cols, ("a", None)) is None
    assert heartbeat.heartbeat_event(SOURCE, Lsn(16), ("pipeline",), ("a",)) is None


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_heartbeat_sql_files(engine: heartbeat.SqlEngine) -> None:
    shipped = heartbeat.sql_file(engine)
    assert (ROOT / "sql" / engine / "heartbeat.sql").read_text() == shipped
    creates = heartbeat.create_statements(engine)
    assert [s.split()[1] for s in creates] == ["SCHEMA" if engine == "postgres" else "DATABASE",
                                               "TABLE"]  # fmt: skip
    assert all("GRANT" not in s for s in creates)
    assert "bridge.heartbeat" in creates[-1]
    assert heartbeat.TIME_COLUMN in creates[-1]
