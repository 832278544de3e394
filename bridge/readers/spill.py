"""Bounded memory for one streamed (in-progress) transaction: events past a limit go to disk.

PostgreSQL streams a large transaction while it is still running (pgoutput protocol 2): its changes
arrive in segments, interleaved with other transactions, and only a Stream Commit says they count.
The log wants each transaction whole and contiguous, so the reader holds them until then. A
`SpillBuffer` keeps the newest `memory_events` in a list; when the list is full it is pickled as
one chunk onto an anonymous temporary file (`tempfile.TemporaryFile`, in `$TMPDIR`, gone when
closed or when the process dies). `replay()` reads the file back one chunk at a time, so replaying
costs at most two chunks of memory however large the transaction.

Each event is stored with the xid of the subtransaction that made it. A Stream Abort of a
subtransaction (ROLLBACK TO SAVEPOINT) drops its events from memory and records the subxid, whose
events already on disk are skipped at replay; an abort of the whole transaction closes the file.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Generator, Iterable
from typing import IO

from bridge.log.events import Event

DEFAULT_MEMORY_EVENTS = 5000
"""Events of one transaction held in memory before they spill (a few MB for typical rows)."""


class SpillBuffer:
    """Events of one streamed transaction in arrival order, tagged by subtransaction xid."""

    def __init__(
        self, xid: int, *, memory_events: int = DEFAULT_MEMORY_EVENTS, directory: str | None = None
    ) -> None:
        if memory_events < 1:
            raise ValueError(f"memory_events must be at least 1, not {memory_events}")
        self.xid = xid
        """The top-level transaction's xid."""
        self.memory_events = memory_events
        self.directory = directory
        """Where the spill file goes; None for tempfile's default ($TMPDIR, else /tmp)."""
        self._memory: list[tuple[int, Event]] = []
        self._file: IO[bytes] | None = None
        self._chunks = 0
        self._aborted: set[int] = set()
        self._closed = False
        self.appended = 0
        """Events appended, aborted ones included."""
        self.spilled_events = 0
        """Events written to the spill file."""
        self.spilled_bytes = 0
        """Size of the spill file."""

    @property
    def spilled(self) -> bool:
        return self._chunks > 0

    @property
    def closed(self) -> bool:
        return self._closed

    def append(self, subxid: int, event: Event) -> None:
        self._check_open()
        self._memory.append((subxid, event))
        self.appended += 1
        if len(self._memory) >= self.memory_events:
            self._spill()

    def extend(self, subxid: int, events: Iterable[Event]) -> None:
        for event in events:
            self.append(subxid, event)

    def abort(self, subxid: int) -> None:
        """Drop a subtransaction's events; `subxid == xid` drops the whole transaction."""
        if subxid == self.xid:
            self.close()
            return
        self._check_open()
        self._aborted.add(subxid)
        self._memory = [(x, e) for x, e in self._memory if x != subxid]

    def replay(self) -> Generator[Event, None, None]:
        """The kept events in arrival order, read back chunk by chunk; closes the buffer after.

        The buffer can be replayed once: the iterator owns it from here on, and closing or
        abandoning the iterator closes the file.
        """
        self._check_open()
        return self._replay()

    def _replay(self) -> Generator[Event, None, None]:
        try:
            if self._file is not None:
                self._file.flush()
                self._file.seek(0)
                aborted = self._aborted
                for _ in range(self._chunks):
                    chunk: list[tuple[int, Event]] = pickle.load(self._file)  # noqa: S301 - our own file
                    if aborted:
                        yield from (e for x, e in chunk if x not in aborted)
                    else:
                        yield from (e for _, e in chunk)
                    del chunk
            memory, self._memory = self._memory, []
            yield from (e for _, e in memory)
        finally:
            self.close()

    def close(self) -> None:
        """Forget every event and remove the spill file (idempotent)."""
        self._closed = True
        self._memory = []
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> SpillBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        """Events held in memory (spilled ones are on disk)."""
        return len(self._memory)

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 - kept open
        data = pickle.dumps(self._memory, protocol=pickle.HIGHEST_PROTOCOL)
        self._file.write(data)
        self._chunks += 1
        self.spilled_events += len(self._memory)
        self.spilled_bytes += len(data)
        self._memory = []

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the buffer of transaction {self.xid} is closed")
