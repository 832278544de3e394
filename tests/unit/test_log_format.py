"""Property tests: every value kind and event survives the JSON Lines form exactly, and every line
matches the published JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from importlib import resources
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import DecodeError
from bridge.log import (
    ABSENT,
    UNCHANGED,
    Begin,
    BitString,
    Column,
    ColumnType,
    Commit,
    Ddl,
    Delete,
    Event,
    Heartbeat,
    Insert,
    Interval,
    Json,
    MysqlSet,
    Relation,
    SourceId,
    SpecialTemporal,
    Statement,
    StatementContext,
    TableName,
    Truncate,
    Update,
    ZeroDate,
)
from bridge.log.jsonl import decode_event, decode_value, encode_event, encode_value, read_events
from bridge.positions import BinlogPosition, Lsn, MariadbGtid, MariadbGtidPos, MysqlGtidSet

SCHEMA = json.loads(
    resources.files("bridge.log").joinpath("log-format.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
VALUE_VALIDATOR = jsonschema.Draft202012Validator(
    {"$ref": "#/$defs/value", "$defs": SCHEMA["$defs"]}
)

# ---------------------------------------------------------------------------------- strategies

offsets = st.integers(min_value=-(24 * 3600 - 1), max_value=24 * 3600 - 1).map(
    lambda s: dt.timezone(dt.timedelta(seconds=s))
)
json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
).map(lambda doc: json.dumps(doc, ensure_ascii=False))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    # unsigned 64-bit and beyond JavaScript's safe range, both signs
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(places=30, min_value=Decimal(-(10**35)), max_value=Decimal(10**35)),
    st.text(),
    st.binary(),
    st.dates(),
    st.times(),
    st.times(timezones=offsets),
    st.datetimes(),
    st.datetimes(timezones=offsets),
    st.uuids(),
    json_docs.map(Json),
    st.text(alphabet="01").map(BitString),
    st.builds(
        Interval,
        st.integers(-(2**31), 2**31 - 1),
        st.integers(-(2**31), 2**31 - 1),
        st.integers(-(2**63), 2**63 - 1),
    ),
    st.builds(
        ZeroDate,
        st.sampled_from(["date", "timestamp", "timestamptz"]),
        st.sampled_from(["0000-00-00", "2024-00-15", "2024-05-00", "0000-00-00 00:00:00.000000"]),
    ),
    st.builds(
        SpecialTemporal,
        st.sampled_from(["date", "time", "timestamp", "timestamptz"]),
        st.sampled_from(
            ["infinity", "-infinity", "0044-03-15 BC", "12000-01-01 00:00:00+00", "24:00:00"]
        ),
    ),
    st.frozensets(st.text(min_size=1, max_size=8)).map(MysqlSet),
)
values = st.recursive(scalars, lambda children: st.lists(children, max_size=4), max_leaves=6)


def same(a: Any, b: Any) -> bool:
    """Exact equality: types, NaN, signed zero, decimal exponents and UTC offsets included."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, dt.datetime | dt.time):
        return bool(
            a == b
            and a.utcoffset() == b.utcoffset()
            and a.replace(tzinfo=None) == b.replace(tzinfo=None)
        )
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


lsns = st.integers(min_value=0, max_value=2**64 - 1).map(Lsn)
mariadb_gtids = st.builds(
    MariadbGtid, st.integers(0, 2**32 - 1), st.integers(1, 2**32 - 1), st.integers(1, 2**64 - 1)
)
mariadb_positions = st.lists(mariadb_gtids, max_size=4).map(MariadbGtidPos.of)
gtid_sets = st.dictionaries(
    st.uuids(),
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(0, 1000)).map(lambda t: (t[0], t[0] + t[1])),
        min_size=1,
        max_size=4,
    ),
    max_size=3,
).map(MysqlGtidSet.of)
binlog_files = st.integers(1, 10**7).map(lambda n: f"mysql-bin.{n:06d}")
binlog_positions = st.builds(
    BinlogPosition,
    binlog_files,
    st.integers(4, 2**32),
    st.none()
    | mariadb_positions.filter(lambda p: bool(p.gtids))
    | gtid_sets.filter(lambda s: bool(s.intervals)),
)
positions = lsns | binlog_positions
sources = st.builds(
    SourceId,
    st.sampled_from(["postgres", "mysql", "mariadb"]),
    st.text(min_size=1, max_size=20),
    st.sampled_from(["13.23", "17.10", "10.11.19", "8.4.3"]),
)
tables = st.builds(TableName, st.text(min_size=1, max_size=10), st.text(min_size=1, max_size=10))
utc_times = st.datetimes(timezones=st.just(dt.UTC))
names = st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True).map(tuple)


@st.composite
def row_events(draw: st.DrawFn) -> Event:
    columns = draw(names)
    key = tuple(c for c in columns if draw(st.booleans()))
    common: dict[str, Any] = {
        "source": draw(sources),
        "position": draw(positions),
        "relation": draw(tables),
        "key": key,
    }
    full = tuple(draw(values) for _ in columns)
    kind = draw(st.sampled_from(["insert", "update", "delete"]))
    if kind == "insert":
        return Insert(**common, columns=columns, after=full)
    # key-only before images mark the other columns ABSENT; TOAST leaves some UNCHANGED
    before = tuple(v if draw(st.booleans()) else ABSENT for v in full)
    if kind == "delete":
        return Delete(**common, columns=columns, before=before)
    after = tuple(draw(values) if draw(st.booleans()) else UNCHANGED for _ in columns)
    return Update(**common, columns=columns, before=draw(st.none() | st.just(before)), after=after)


column_types = st.builds(
    ColumnType,
    kind=st.sampled_from(["int", "uint", "decimal", "text", "enum", "set", "bits", "timestamptz"]),
    source_type=st.text(min_size=1, max_size=30),
    size=st.none() | st.integers(1, 64),
    precision=st.none() | st.integers(0, 65),
    scale=st.none() | st.integers(0, 30),
    labels=st.lists(st.text(max_size=5), max_size=4).map(tuple),
    element=st.none() | st.builds(ColumnType, kind=st.just("int"), source_type=st.just("integer")),
    fixed=st.booleans(),
)


u64 = st.integers(min_value=0, max_value=2**64 - 1)
statement_contexts = st.builds(
    StatementContext,
    timestamp=utc_times,
    time_zone=st.none() | st.sampled_from(["+02:00", "SYSTEM", "Europe/Paris"]),
    sql_mode=st.none() | u64,
    insert_id=st.none() | u64,
    last_insert_id=st.none() | u64,
    rand_seeds=st.none() | st.tuples(u64, u64),
    user_vars=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.none()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.decimals(allow_nan=False)
        | st.text()
        | st.binary(),
        max_size=3,
    ),
    auto_increment=st.none() | st.tuples(st.integers(1, 65535), st.integers(1, 65535)),
    thread_id=st.none() | st.integers(0, 2**32 - 1),
    system_time_zone=st.none() | st.just("UTC"),
)


@st.composite
def other_events(draw: st.DrawFn) -> Event:  # noqa: PLR0911 - one return per event type
    common: dict[str, Any] = {"source": draw(sources), "position": draw(positions)}
    kinds = ["begin", "commit", "truncate", "ddl", "statement", "relation", "heartbeat"]
    kind = draw(st.sampled_from(kinds))
    xid = draw(st.none() | st.text(max_size=40))
    if kind == "begin":
        return Begin(
            **common,
            xid=xid,
            commit_time=draw(st.none() | utc_times),
            commit_position=draw(st.none() | positions),
            origin=draw(st.none() | st.text(max_size=10)),
        )
    if kind == "commit":
        return Commit(
            **common,
            xid=xid,
            commit_time=draw(st.none() | utc_times),
            commit_position=draw(positions),
        )
    if kind == "truncate":
        return Truncate(
            **common,
            relations=tuple(draw(st.lists(tables, min_size=1, max_size=3))),
            cascade=draw(st.booleans()),
            restart_identity=draw(st.booleans()),
        )
    if kind == "ddl":
        return Ddl(
            **common,
            text=draw(st.text()),
            dialect=draw(st.sampled_from(["postgres", "mysql"])),
            schema=draw(st.none() | st.text(max_size=10)),
            translated=draw(st.dictionaries(st.sampled_from(["postgres", "mysql"]), st.text())),
        )
    if kind == "statement":
        return Statement(
            **common,
            text=draw(st.text()),
            dialect="mysql",
            schema=draw(st.none() | st.text(max_size=10)),
            deterministic=draw(st.text()),
            context=draw(statement_contexts),
            tables=tuple(draw(st.lists(tables, max_size=2))),
            translated=draw(st.dictionaries(st.just("postgres"), st.text())),
        )
    if kind == "relation":
        cols = tuple(
            Column(
                n, draw(column_types), draw(st.booleans()), draw(st.none() | st.text(max_size=10))
            )
            for n in draw(names)
        )
        return Relation(**common, relation=draw(tables), columns=cols, key=(cols[0].name,))
    return Heartbeat(**common, time=draw(utc_times))


def same_event(a: Event, b: Event) -> bool:
    if type(a) is not type(b):
        return False
    for field in a.__dataclass_fields__:
        x, y = getattr(a, field), getattr(b, field)
        if field in ("after", "before") and x is not None and y is not None:
            if not same(x, y):
                return False
        elif x != y:
            return False
    return True


# ---------------------------------------------------------------------------------------- tests


@given(values)
@settings(max_examples=400)
def test_every_value_kind_round_trips(v: Any) -> None:
    encoded = json.loads(json.dumps(encode_value(v), allow_nan=False))
    VALUE_VALIDATOR.validate(encoded)
    assert same(decode_value(encoded), v)


@given(st.one_of(row_events(), other_events()))
@settings(max_examples=300)
def test_every_event_round_trips_and_matches_the_schema(ev: Event) -> None:
    line = encode_event(ev)
    assert "\n" not in line
    VALIDATOR.validate(json.loads(line))
    assert same_event(decode_event(line), ev)


def test_edge_values_exactly() -> None:
    cases: list[tuple[Any, Any]] = [
        (2**64 - 1, {"$int": "18446744073709551615"}),
        (2**53 - 1, 2**53 - 1),
        (-(2**53), {"$int": "-9007199254740992"}),
        (Decimal("1.10"), {"$decimal": "1.10"}),
        (Decimal("NaN"), {"$decimal": "NaN"}),
        (float("-inf"), {"$float": "-Infinity"}),
        (ZeroDate("date", "0000-00-00"), {"$date": "0000-00-00", "zero": True}),
        (SpecialTemporal("timestamptz", "infinity"), {"$timestamptz": "infinity", "special": True}),
        (BitString("0010"), {"$bits": "0010"}),
        (MysqlSet(frozenset({"b", "a"})), {"$set": ["a", "b"]}),
        (Interval(1, 2, -3), {"$interval": [1, 2, -3]}),
        (b"\x00\xff", {"$bytes": "AP8="}),
        ([1, None, [2]], [1, None, [2]]),
        (uuid.UUID(int=1), {"$uuid": "00000000-0000-0000-0000-000000000001"}),
    ]
    for value, expected in cases:
        assert encode_value(value) == expected
        assert same(decode_value(expected), value)


def test_null_and_unchanged_are_distinct() -> None:
    src = SourceId("postgres", "1", "17.10")
    ev = Update(
        src,
        Lsn(1),
        TableName("public", "t"),
        ("id", "doc", "note"),
        None,
        (1, UNCHANGED, None),
        ("id",),
    )
    j = json.loads(encode_event(ev))
    assert j["after"] == {"id": 1, "note": None}
    assert j["unchanged"] == ["doc"]
    back = decode_event(encode_event(ev))
    assert isinstance(back, Update)
    assert back.after == (1, UNCHANGED, None)
    assert back.unchanged == ("doc",)


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[1]",
        '{"v": 2, "type": "heartbeat"}',
        '{"v":1,"type":"insert","source":{"engine":"postgres","system_id":"1","version":"1"},'
        '"position":{"lsn":"0/1"},"table":{"schema":"s","name":"t"},"key":[],"columns":["a","b"],'
        '"after":{"a":1}}',
        '{"v":1,"type":"heartbeat","source":{"engine":"postgres","system_id":"1","version":"1"},'
        '"position":{"lsn":"0/1"},"time":"2024-01-01T00:00:00Z","x":{"$nope":1}}',
        '{"v":1,"type":"insert","source":{"engine":"postgres","system_id":"1","version":"1"},'
        '"position":{"lsn":"0/1"},"table":{"schema":"s","name":"t"},"key":[],"columns":["a"],'
        '"after":{"a":{"$bogus":1}}}',
    ],
)
def test_malformed_lines_raise_decode_error(line: str) -> None:
    if line.endswith('"x":{"$nope":1}}'):
        # unknown top-level fields are tolerated by the reader (forward compatibility) …
        decode_event(line)
        # … but the schema, which documents format version 1 exactly, rejects them
        assert not VALIDATOR.is_valid(json.loads(line))
        return
    with pytest.raises(DecodeError):
        decode_event(line)


def test_read_events_skips_blank_lines() -> None:
    hb = Heartbeat(
        SourceId("mariadb", "7", "10.11.19"),
        BinlogPosition("mysql-bin.000001", 4),
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    assert list(read_events(["\n", encode_event(hb) + "\n", "  "])) == [hb]


# ------------------------------------------------------------------------------------ positions


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_lsn_order_and_text(a: int, b: int) -> None:
    la, lb = Lsn(a), Lsn(b)
    assert (la < lb) == (a < b)
    assert (la == lb) == (a == b)
    assert Lsn.parse(str(la)) == la


def test_lsn_text_matches_postgres() -> None:
    assert str(Lsn(0x16_B374D848)) == "16/B374D848"
    assert Lsn.parse("0/16B3748").value == 0x16B3748
    with pytest.raises(ValueError, match="LSN"):
        Lsn.parse("16-B374D848")


@given(binlog_positions, binlog_positions, binlog_positions)
def test_binlog_positions_are_totally_ordered(
    a: BinlogPosition, b: BinlogPosition, c: BinlogPosition
) -> None:
    def key(p: BinlogPosition) -> tuple[int, int]:
        return (int(p.file.rsplit(".", 1)[1]), p.offset)

    assert (a < b) == (key(a) < key(b))
    assert (a <= b) or (b <= a)  # total
    if a <= b <= c:
        assert a <= c  # transitive
    assert BinlogPosition.parse(str(a)) == a


def test_binlog_file_numbers_compare_numerically() -> None:
    assert BinlogPosition("mysql-bin.999999", 900) < BinlogPosition("mysql-bin.1000000", 4)
    assert BinlogPosition("mysql-bin.000002", 4) > BinlogPosition("mysql-bin.000001", 10**9)
    with pytest.raises(TypeError):
        assert Lsn(1) < BinlogPosition("mysql-bin.000001", 4)


@given(gtid_sets, gtid_sets, gtid_sets)
def test_gtid_set_algebra(a: MysqlGtidSet, b: MysqlGtidSet, c: MysqlGtidSet) -> None:
    assert a.union(b) == b.union(a)
    assert a.union(b).union(c) == a.union(b.union(c))
    assert a.issubset(a.union(b))
    assert MysqlGtidSet.parse(str(a)) == a
    for sid, ivs in a.intervals:
        first, last = ivs[0]
        assert a.contains(sid, first)
        assert a.contains(sid, last)
        assert a.add(sid, last + 1).contains(sid, last + 1)


def test_gtid_set_text_matches_mysql() -> None:
    s = MysqlGtidSet.parse(
        "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7, 3E11FA47-71CA-11E1-9E33-C80AA9429562:6"
    )
    assert str(s) == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-7"


@given(mariadb_positions, mariadb_gtids)
def test_mariadb_gtid_positions(pos: MariadbGtidPos, gtid: MariadbGtid) -> None:
    after = pos.advance(gtid)
    assert after.covers(gtid)
    assert MariadbGtidPos.parse(str(after)) == after
    if pos.covers(gtid):
        assert after == pos  # an older GTID does not move a domain back
    else:
        assert pos.issubset(after)
        assert not after.issubset(pos)


def test_mariadb_gtid_text() -> None:
    pos = MariadbGtidPos.parse("1-2-50,0-1-100")
    assert str(pos) == "0-1-100,1-2-50"
    assert pos.covers(MariadbGtid(0, 9, 99))
    assert not pos.covers(MariadbGtid(2, 1, 1))
