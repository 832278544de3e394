"""SpillBuffer: a streamed transaction's events past the memory limit go to a temporary file."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest

from bridge.log.events import Begin, Delete, Event, Insert, Relation, SourceId, TableName, Update
from bridge.log.values import ABSENT, UNCHANGED, Interval, Json
from bridge.positions import Lsn
from bridge.readers.spill import SpillBuffer

SOURCE = SourceId("postgres", "7301234567890123456", "17.2")
TABLE = TableName("public", "t")
COLUMNS = ("id", "v")
TOP = 700


def insert(i: int) -> Insert:
    return Insert(SOURCE, Lsn(1000 + i), TABLE, COLUMNS, (i, f"row {i}"), ("id",))


def ids(events: list[Event]) -> list[object]:
    return [e.after[0] for e in events if isinstance(e, Insert)]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_below_the_limit_nothing_spills() -> None:
    buf = SpillBuffer(TOP, memory_events=10)
    buf.extend(TOP, [insert(i) for i in range(9)])
    assert not buf.spilled
    assert len(buf) == 9
    assert ids(list(buf.replay())) == list(range(9))
    assert buf.closed


def test_spilled_events_replay_in_arrival_order(tmp_path: os.PathLike[str]) -> None:
    buf = SpillBuffer(TOP, memory_events=4, directory=str(tmp_path))
    for i in range(23):
        buf.append(TOP if i % 2 else TOP + 1, insert(i))
    assert buf.spilled
    assert (buf.spilled_events, len(buf), buf.appended) == (20, 3, 23)
    assert buf.spilled_bytes > 0
    assert os.listdir(tmp_path) == []  # anonymous: unlinked as soon as it is created
    assert ids(list(buf.replay())) == list(range(23))


def test_values_and_markers_survive_the_round_trip() -> None:
    when = dt.datetime(2024, 3, 10, 2, 30, tzinfo=dt.UTC)
    events: list[Event] = [
        Begin(SOURCE, Lsn(1), str(TOP), when, Lsn(99)),
        Relation(SOURCE, Lsn(2), TABLE, ()),
        Update(
            SOURCE,
            Lsn(3),
            TABLE,
            COLUMNS,
            (1, ABSENT),
            (Decimal("1.50"), UNCHANGED),
            ("id",),
        ),
        Insert(SOURCE, Lsn(4), TABLE, COLUMNS, (Interval(1, 2, 3), Json('{"b":1,"a":2}'))),
        Delete(SOURCE, Lsn(5), TABLE, COLUMNS, (2, ABSENT), ("id",)),
    ]
    buf = SpillBuffer(TOP, memory_events=2)
    buf.extend(TOP, events)
    out = list(buf.replay())
    assert out == events
    update = out[2]
    assert isinstance(update, Update)
    assert update.before is not None
    assert update.before[1] is ABSENT  # the singletons come back as themselves
    assert update.after[1] is UNCHANGED


def test_a_subtransaction_abort_drops_its_events_on_both_sides_of_the_spill() -> None:
    sub, other = TOP + 1, TOP + 2
    buf = SpillBuffer(TOP, memory_events=7)
    buf.extend(TOP, [insert(i) for i in range(3)])  # 0-2
    buf.extend(sub, [insert(i) for i in range(3, 9)])  # 3-8: 3-6 spill, 7-8 stay in memory
    buf.extend(other, [insert(i) for i in range(9, 11)])  # 9-10
    buf.extend(sub, [insert(i) for i in range(11, 13)])  # 11-12, still in memory
    assert (buf.spilled_events, len(buf)) == (7, 6)
    buf.abort(sub)
    assert len(buf) == 2  # 9, 10 stay in memory; 11, 12 are gone
    buf.extend(TOP, [insert(13)])
    assert ids(list(buf.replay())) == [0, 1, 2, 9, 10, 13]


def test_aborting_the_top_transaction_closes_the_file() -> None:
    before = open_fds()
    buf = SpillBuffer(TOP, memory_events=3)
    buf.extend(TOP, [insert(i) for i in range(10)])
    assert buf.spilled
    assert open_fds() == before + 1
    buf.abort(TOP)
    assert buf.closed
    assert len(buf) == 0
    assert open_fds() == before
    with pytest.raises(ValueError, match="closed"):
        buf.append(TOP, insert(11))
    with pytest.raises(ValueError, match="closed"):
        buf.replay()


def test_replay_reads_one_chunk_at_a_time_and_closes_the_file() -> None:
    before = open_fds()
    buf = SpillBuffer(TOP, memory_events=100)
    buf.extend(TOP, [insert(i) for i in range(1050)])
    replay = buf.replay()
    first = next(replay)
    assert ids([first]) == [0]
    assert not buf.closed
    assert sum(1 for _ in replay) == 1049
    assert buf.closed
    assert open_fds() == before


def test_an_abandoned_replay_closes_the_file() -> None:
    before = open_fds()
    buf = SpillBuffer(TOP, memory_events=10)
    buf.extend(TOP, [insert(i) for i in range(50)])
    replay = buf.replay()
    next(replay)
    replay.close()
    assert buf.closed
    assert open_fds() == before


def test_the_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SpillBuffer(TOP, memory_events=0)
