"""What every applier shares: the checkpoint record, the event dispatch, the guard against a
redelivered transaction and the batch counters the pipeline reads.

Each engine's applier (`postgres.py`, `mysql.py`) subclasses `Applier` and supplies the writing:
`_row`, `_relation`, `_truncate`, `_ddl` and `flush`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from bridge.errors import ConfigError
from bridge.log.events import (
    Begin,
    Commit,
    Ddl,
    Delete,
    Event,
    Heartbeat,
    Insert,
    Relation,
    RowEvent,
    SourceId,
    Truncate,
    Update,
)
from bridge.positions import Position, parse_position


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a pipeline resumes: the last source commit position applied on the target."""

    pipeline: str
    source_engine: str
    source_system_id: str
    phase: str
    """'snapshot' while the initial copy runs, 'streaming' after it."""
    position: str
    snapshot_position: str | None
    commit_time: dt.datetime | None
    applied_at: dt.datetime
    transactions: int
    changes: int


CHECKPOINT_COLUMNS = ", ".join(f.name for f in dataclasses.fields(Checkpoint))
"""The columns of bridge.checkpoints in `Checkpoint`'s field order (on every target engine)."""


class Applier:
    """The engine-independent half of an applier."""

    pipeline: str
    checkpoint: Checkpoint | None
    _resume_after: Position | None
    _skip: bool
    """Inside a transaction the checkpoint already covers: its events are dropped."""
    _chunk: list[Any]
    """The folded row changes not yet written."""
    _changes: int
    """Row changes in the open target transaction."""
    _txns: int
    _last_commit: Commit | None
    applied_transactions: int
    applied_changes: int
    heartbeat: dt.datetime | None = None
    """Source time of the newest heartbeat applied and not yet recorded: the pipeline writes
    it into bridge.heartbeats with the batch that carries it (`bridge.heartbeat`)."""

    @property
    def pending(self) -> int:
        """Row events folded but not yet written (the pipeline flushes past a bound)."""
        return len(self._chunk)

    @property
    def batch_changes(self) -> int:
        """Row changes in the open target transaction, written or pending."""
        return self._changes

    def _dispatch(self, ev: Event) -> None:
        """Take one event; rows are written at the next `flush` or `commit`, anything that
        changes the schema only after the rows before it."""
        kind = type(ev)
        if self._skip and kind is not Begin:
            if kind is Commit:
                self._skip = False
            return
        if kind is Insert or kind is Update or kind is Delete:
            self._row(ev)  # type: ignore[arg-type]
        elif kind is Begin:
            self._begin(ev)  # type: ignore[arg-type]
        elif kind is Commit:
            self._last_commit = ev  # type: ignore[assignment]
            self._txns += 1
        elif kind is Relation:
            self.flush()
            self._relation(ev)  # type: ignore[arg-type]
        elif kind is Truncate:
            self.flush()
            self._truncate(ev)  # type: ignore[arg-type]
        elif kind is Ddl:
            self.flush()
            self._ddl(ev)  # type: ignore[arg-type]
        elif kind is Heartbeat:
            self.heartbeat = ev.time  # type: ignore[union-attr]

    def _begin(self, ev: Begin) -> None:
        # The reader resumes at the checkpoint, so this only guards against a redelivered
        # transaction (a source that sends from an older point): never apply one twice.
        after = self._resume_after
        if after is not None and ev.commit_position is not None:
            try:
                self._skip = bool(ev.commit_position <= after)
            except TypeError:  # positions of another kind: another source, refused at commit
                self._skip = False

    def _set_checkpoint(self, cp: Checkpoint | None) -> None:
        self.checkpoint = cp
        # Parsed once per checkpoint: every Begin compares against it.
        self._resume_after = (
            parse_position(cp.position) if cp is not None and cp.phase == "streaming" else None
        )

    def check_source(self, source: SourceId) -> None:
        """Refuse to mix two sources in one pipeline's checkpoint."""
        cp = self.checkpoint
        if cp is not None and cp.source_system_id != source.system_id:
            raise ConfigError(
                f"pipeline {self.pipeline!r} on this target replicates source system"
                f" {cp.source_system_id}, not {source.system_id}",
                hint="use another --name for another source",
            )

    # -- what each engine supplies ------------------------------------------------------------

    def apply(self, ev: Event) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def commit(self) -> Commit | None:
        """Flush, write the checkpoint and commit; returns the last source commit covered."""
        raise NotImplementedError

    @property
    def uncommitted(self) -> bool:
        """Whether source transactions were applied since the last commit."""
        raise NotImplementedError

    def mark_snapshot(self, source: SourceId, position: str, *, done: bool) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _row(self, ev: RowEvent) -> None:
        raise NotImplementedError

    def _relation(self, ev: Relation) -> None:
        raise NotImplementedError

    def _truncate(self, ev: Truncate) -> None:
        raise NotImplementedError

    def _ddl(self, ev: Ddl) -> None:
        raise NotImplementedError
