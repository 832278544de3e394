"""How far into one source transaction a MySQL/MariaDB target got before a DDL statement.

MySQL commits implicitly before and after DDL, so a source transaction that holds DDL reaches
the target in pieces: the rows before the statement commit with it, the rest with the batch.
A crash between the pieces used to replay the whole transaction from its checkpoint: the rows
before the DDL a second time (a duplicate in a keyless table) and the DDL again (an error such as
"duplicate column"). The applier now writes, in the same target transaction as each early piece,
the source transaction's commit position and how many of its data events (rows, TRUNCATE, DDL,
statements) are durable (`bridge.in_flight`). On replay those events are skipped, counted in
the same order; the row goes away with the checkpoint that covers the whole transaction.
Relation and heartbeat events are not counted: a restarted stream sends them at other places.
"""

from __future__ import annotations

from typing import Any

from bridge.log.events import Ddl, Delete, Insert, Statement, Truncate, Update

DATA_EVENTS: frozenset[type] = frozenset({Insert, Update, Delete, Truncate, Ddl, Statement})


class InFlight:
    """One pipeline's progress inside the source transaction being applied."""

    def __init__(self, conn: Any, pipeline: str) -> None:
        self.pipeline = pipeline
        with conn.cursor() as cur:
            cur.execute(
                "SELECT commit_position, events FROM bridge.in_flight WHERE pipeline = %s",
                (pipeline,),
            )
            row = cur.fetchone()
        self.saved: tuple[str, int] | None = None if row is None else (str(row[0]), int(row[1]))
        """What an earlier run made durable: (transaction's commit position, data events)."""
        self.txn: str | None = None
        self.done = 0
        """Data events of the open source transaction taken so far."""
        self._skip = 0
        self._stale = False
        """The row on the target is for a transaction now complete: delete it with the next
        checkpoint."""

    def begin(self, commit_position: object) -> None:
        """A source transaction starts (`commit_position`: where it will commit, or None)."""
        self.txn = None if commit_position is None else str(commit_position)
        self.done = 0
        saved = self.saved
        self._skip = saved[1] if saved is not None and saved[0] == self.txn else 0

    def take(self) -> bool:
        """Count a data event of the open transaction; True when it is already on the target."""
        self.done += 1
        if self._skip:
            self._skip -= 1
            return True
        return False

    def commit_seen(self) -> None:
        """The open transaction's Commit: its row (if any) goes with the next checkpoint."""
        if self.saved is not None and self.saved[0] == self.txn:
            self._stale = True
        self.txn = None

    def record(self, cur: Any, *, minus: int = 0) -> None:
        """Write the progress (less `minus` events not yet durable) in the open transaction."""
        if self.txn is None:
            return
        events = self.done - minus
        cur.execute(
            "INSERT INTO bridge.in_flight (pipeline, commit_position, events) VALUES (%s, %s, %s)"
            " ON DUPLICATE KEY UPDATE commit_position = VALUES(commit_position),"
            " events = VALUES(events)",
            (self.pipeline, self.txn, events),
        )
        self.saved = (self.txn, events)
        self._stale = False

    def clear_if_done(self, cur: Any) -> None:
        """With a checkpoint: delete the row once its transaction is complete."""
        if self._stale:
            cur.execute("DELETE FROM bridge.in_flight WHERE pipeline = %s", (self.pipeline,))
            self.saved, self._stale = None, False
