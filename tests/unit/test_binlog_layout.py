"""The compiled row decoders (bridge/readers/binlog_layout.py) give exactly the values of the
column-by-column path, on captured rows and hand-made layouts, with every kind of NULL pattern;
the fast row-event constructors (binlog_rowevents.py) make events equal to the classes' own."""

from __future__ import annotations

import dataclasses
import pickle
import random
import struct
from typing import Any

import pytest

from bridge.log.events import Delete, Insert, SourceId, TableName, Update
from bridge.log.values import ABSENT, Json, Value
from bridge.positions import BinlogPosition
from bridge.readers import binlog as bl
from bridge.readers import binlog_layout as bll
from bridge.readers import binlogvalues as bv
from bridge.readers.binlog_rowevents import fast_constructor
from bridge.readers.binlogevents import EventBuilder
from bridge.readers.binlogrows import (
    TableCache,
    TableMap,
    _row,
    column_specs,
    compile_readers,
    compiled_layout,
    lenenc,
)
from tests.unit.test_binlog import SOURCE, _capture, captured

UTF8MB4 = 45
BINARY = 63


def _types_sent(v: object) -> object:
    """A value with its exact type, so 1 == 1.0 == True cannot hide a difference."""
    if isinstance(v, tuple):
        return tuple(_types_sent(x) for x in v)
    return (type(v), v)


def _both(tm: TableMap, buf: bytes, json: frozenset[int] = frozenset()) -> None:
    """Decode one full row image at 0 both ways; they must agree on values, types and end."""
    readers = compile_readers(tm, json)
    full = (1 << len(readers)) - 1
    want, want_end = _row(buf, 0, readers, full, full, ABSENT)
    compiled = bll.compile_layout(column_specs(tm, json))
    got, got_end = compiled.row(buf, 0)
    assert _types_sent(got) == _types_sent(want)
    assert got_end == want_end == len(buf)
    rows: list[tuple[Value, ...]] = []
    assert compiled.rows(buf * 3, 0, len(buf) * 3, rows) == len(buf) * 3
    assert [_types_sent(r) for r in rows] == [_types_sent(want)] * 3


def _spans(tm: TableMap, buf: bytes, p: int, json: frozenset[int]) -> list[bytes]:
    """The bytes of each column of a row without NULLs whose values start at `p`."""
    out = []
    for read in compile_readers(tm, json):
        _, end = read(buf, p)
        out.append(buf[p:end])
        p = end
    return out


def _with_nulls(spans: list[bytes], mask: int) -> bytes:
    """A row image: the NULL bitmap (unused high bits set, as the server sends them), the
    values of the other columns."""
    nbytes = (len(spans) + 7) // 8
    values = b"".join(s for i, s in enumerate(spans) if not mask >> i & 1)
    unused = (1 << nbytes * 8) - (1 << len(spans))
    return (mask | unused).to_bytes(nbytes, "little") + values


def _null_masks(count: int) -> list[int]:
    rng = random.Random(count)
    full = (1 << count) - 1
    singles = [1 << i for i in range(count)]
    return [0, full, *singles, *(full ^ s for s in singles)] + [
        rng.getrandbits(count) for _ in range(200)
    ]


def _captured_kinds() -> tuple[TableMap, bytes, int]:
    """The captured `cap.kinds` table map and its first insert's row bytes (no NULLs)."""
    tables = TableCache()
    dec = bl.BinlogDecoder(checksum=True, tables=tables)
    tm: TableMap | None = None
    for e in captured():
        if e[4] == bl.TABLE_MAP:
            tm = dec.decode(e)[1]  # type: ignore[assignment]
        elif e[4] == bl.WRITE_ROWS_V1 and tm is not None:
            p = bl.HEADER_SIZE + 8  # table id, flags
            count, p = lenenc(e, p)
            p += (count + 7) // 8  # columns present
            return tm, e[: len(e) - 4], p
    raise AssertionError("no insert in the capture")


def test_captured_row_every_null_pattern() -> None:
    tm, buf, p = _captured_kinds()
    assert tm.name == "kinds"
    nbytes = (len(tm.types) + 7) // 8
    nulls = int.from_bytes(buf[p : p + nbytes], "little")
    assert nulls == (1 << nbytes * 8) - (1 << len(tm.types))  # no NULLs, unused bits set
    spans = _spans(tm, buf, p + nbytes, frozenset())
    for mask in _null_masks(len(tm.types)):
        _both(tm, _with_nulls(spans, mask))
    json = frozenset({tm.names.index("j")} if tm.names else ())
    for mask in _null_masks(len(tm.types))[:40]:
        _both(tm, _with_nulls(_spans(tm, buf, p + nbytes, json), mask), json)


def _hand_table() -> tuple[TableMap, list[bytes], frozenset[int]]:
    """A layout with what the capture lacks: signed small ints, MEDIUMINT, a 2-byte VARBINARY,
    TINYTEXT, a MariaDB JSON LONGTEXT, BINARY(n) and runs of fixed-width columns."""
    cols: list[tuple[int, tuple[int, int], bool, int | None, tuple[str, ...], bytes]] = [
        (bv.T_TINY, (0, 0), False, None, (), b"\xff"),
        (bv.T_TINY, (0, 0), True, None, (), b"\xff"),
        (bv.T_SHORT, (0, 0), False, None, (), (-2).to_bytes(2, "little", signed=True)),
        (bv.T_INT24, (0, 0), False, None, (), (-3).to_bytes(3, "little", signed=True)),
        (bv.T_LONG, (0, 0), True, None, (), (4_000_000_000).to_bytes(4, "little")),
        (bv.T_LONGLONG, (0, 0), False, None, (), (-5).to_bytes(8, "little", signed=True)),
        (bv.T_FLOAT, (4, 0), False, None, (), struct.pack("<f", 1.1)),
        (bv.T_DOUBLE, (8, 0), False, None, (), struct.pack("<d", 2.2)),
        (bv.T_VARCHAR, (300, 0), False, BINARY, (), (3).to_bytes(2, "little") + b"\0\1\2"),
        (bv.T_VARCHAR, (20, 0), False, UTF8MB4, (), bytes([6]) + "héllo".encode()),
        (bv.T_BLOB, (1, 0), False, UTF8MB4, (), bytes([3]) + b"abc"),
        (bv.T_BLOB, (4, 0), False, UTF8MB4, (), (7).to_bytes(4, "little") + b'{"a":1}'),
        (bv.T_YEAR, (0, 0), False, None, (), bytes([124])),
        (bv.T_STRING, (4, 0), False, BINARY, (), bytes([2]) + b"ab"),
        (bv.T_ENUM, (1, 0), False, UTF8MB4, ("x", "y"), bytes([2])),
        (bv.T_LONG, (0, 0), False, None, (), (-7).to_bytes(4, "little", signed=True)),
        (bv.T_SHORT, (0, 0), True, None, (), (65535).to_bytes(2, "little")),
        (bv.T_STRING, (20, 0), False, UTF8MB4, (), bytes([2]) + b"zz"),
    ]
    tm = TableMap(
        7,
        "s",
        "hand",
        tuple(c[0] for c in cols),
        tuple(c[1] for c in cols),
        (True,) * len(cols),
        tuple(f"c{i}" for i in range(len(cols))),
        tuple(c[2] for c in cols),
        tuple(c[3] for c in cols),
        tuple(c[4] for c in cols),
        (0,),
        True,
    )
    return tm, [c[5] for c in cols], frozenset({11})


def test_hand_layout_every_null_pattern() -> None:
    tm, spans, json = _hand_table()
    for mask in _null_masks(len(spans)):
        _both(tm, _with_nulls(spans, mask), json)
    row, _ = bll.compile_layout(column_specs(tm, json)).row(_with_nulls(spans, 0), 0)
    assert row[:8] == (-1, 255, -2, -3, 4_000_000_000, -5, struct.unpack("<f", spans[6])[0], 2.2)
    assert row[8:] == (b"\0\1\2", "héllo", "abc", Json('{"a":1}'), 2024, b"ab\0\0", "y", -7,
                       65535, "zz")  # fmt: skip


@pytest.mark.parametrize("count", [1, 8, 9, 64])
def test_widths(count: int) -> None:
    """One column; a bitmap of exactly one byte; of two; many fixed columns in one run."""
    tm = TableMap(1, "s", "w", (bv.T_LONG,) * count, ((0, 0),) * count, (True,) * count,
                  None, (False,) * count, (None,) * count, ((),) * count, None, False)  # fmt: skip
    spans = [i.to_bytes(4, "little") for i in range(count)]
    for mask in _null_masks(count)[:60]:
        _both(tm, _with_nulls(spans, mask))


def _feed_all(tables: TableCache) -> list[object]:
    file, events = _capture()
    b = EventBuilder(SOURCE, file=file, tables=tables)
    out: list[object] = []
    for e in events:
        if e[4] == bl.QUERY and b"INSERT INTO cap.auto" in e:
            break
        out.extend(b.feed(e))
    return out


def test_captured_events_identical_both_ways() -> None:
    compiled = _feed_all(TableCache())
    per_column = _feed_all(TableCache(compiled=False))
    assert compiled == per_column
    assert [type(e) for e in compiled] == [type(e) for e in per_column]
    rows = [e for e in compiled if isinstance(e, Insert | Update | Delete)]
    assert [type(e).__name__ for e in rows] == ["Insert", "Insert", "Update", "Delete"]
    for e in rows:
        images = [e.after] if isinstance(e, Insert) else [e.before]
        if isinstance(e, Update):
            images.append(e.after)
        assert all(_types_sent(a) == _types_sent(a) for a in images)


def test_compiled_layouts_are_shared() -> None:
    tm, _, _ = _captured_kinds()
    again = dataclasses.replace(tm, table_id=tm.table_id + 1)
    assert compiled_layout(tm)[1] is compiled_layout(again)[1]
    assert compiled_layout(tm)[1] is not compiled_layout(tm, frozenset({14}))[1]


# -- fast row-event constructors ------------------------------------------------------------

_SRC = SourceId("mariadb", "1", "10.11")
_POS = BinlogPosition("mysql-bin.000001", 4)
_NAME = TableName("s", "t")


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (Insert, (_SRC, _POS, _NAME, ("a", "b"), (1, "x"), ("a",))),
        (Update, (_SRC, _POS, _NAME, ("a", "b"), (1, "x"), (1, "y"), ("a",))),
        (Delete, (_SRC, _POS, _NAME, ("a", "b"), (1, None), ())),
    ],
)
def test_fast_constructor_makes_the_same_event(cls: type[Any], args: tuple[object, ...]) -> None:
    new: Any = fast_constructor(cls)
    assert new is not cls  # the row events qualify
    made, want = new(*args), cls(*args)
    assert type(made) is cls
    assert made == want
    assert hash(made) == hash(want)
    assert repr(made) == repr(want)
    assert pickle.loads(pickle.dumps(made)) == want  # noqa: S301 - our own bytes
    assert dataclasses.astuple(made) == dataclasses.astuple(want)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.key = ()


def test_fast_constructor_falls_back() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    assert fast_constructor(NoSlots) is NoSlots
    assert fast_constructor(Checked) is Checked
    assert fast_constructor(Derived) is Derived
    assert fast_constructor(int) is int
