"""Pipeline retries: transient faults are retried with backoff, --retry-for counts per run of
faults (progress in between starts a new run), and PyMySQL's lost-connection errors count as
transient."""

from __future__ import annotations

import time
from collections.abc import Callable

import pymysql
import pytest

from bridge.dsn import parse_dsn
from bridge.errors import BridgeError, SourceError
from bridge.pipeline import Options, Pipeline


class Scripted(Pipeline):
    """A pipeline whose runs follow a script: each step raises or returns (nothing connects)."""

    def __init__(self, retry_for: float, steps: list[Callable[[Pipeline], None]]) -> None:
        super().__init__(
            parse_dsn("postgresql://u:pw@127.0.0.1:1/src"),
            parse_dsn("postgresql://u:pw@127.0.0.1:1/tgt"),
            Options(name="retry", retry_for=retry_for),
            on_notice=self._noted,
        )
        self.notices: list[str] = []
        self.steps = steps
        self.runs = 0

    def _noted(self, message: str) -> None:
        self.notices.append(message)

    def _run_once(self) -> None:
        step = self.steps[self.runs]
        self.runs += 1
        step(self)


def fault(_p: Pipeline) -> None:
    raise SourceError("the source went away", retryable=True)


def progress_then_fault(p: Pipeline) -> None:
    p.status.alive_at = time.monotonic()  # a commit went through before the next fault
    raise SourceError("the source went away again", retryable=True)


def done(_p: Pipeline) -> None:
    return None


def test_faults_with_progress_between_are_separate_runs() -> None:
    # Each run of faults lasts 0 s; counted from the first fault they would exceed 0.3 s.
    p = Scripted(0.3, [fault, progress_then_fault, progress_then_fault, done])
    p._run_retrying()
    assert p.runs == 4
    assert p.status.retries == 3
    # …each with the backoff from its start, not one that kept doubling
    assert [n.split(":")[1].strip() for n in p.notices] == [
        "transient fault, retrying in 0.5 s"
    ] * 3
    assert all(n.startswith("warning: ") for n in p.notices)  # shown even with --quiet


def test_a_run_of_faults_gives_up_after_retry_for() -> None:
    p = Scripted(0.3, [fault, fault, fault, done])
    with pytest.raises(BridgeError, match="still failing after") as info:
        p._run_retrying()
    assert not info.value.retryable
    assert p.runs == 2  # 0.5 s of backoff after the first fault is past the 0.3 s budget


def test_a_lost_mysql_connection_is_retried() -> None:
    def lost(_p: Pipeline) -> None:
        raise pymysql.err.InterfaceError(0, "")

    p = Scripted(10, [lost, done])
    p._run_retrying()
    assert p.runs == 2
    assert p.status.last_error is not None


def test_a_mysql_error_that_is_not_transient_stops() -> None:
    def missing(_p: Pipeline) -> None:
        raise pymysql.err.ProgrammingError(1146, "Table 'db.t' doesn't exist")

    p = Scripted(10, [missing, done])
    with pytest.raises(BridgeError, match="doesn't exist"):
        p._run_retrying()
    assert p.runs == 1
