"""The pgoutput decoder on bytes captured from real PostgreSQL 13 and 17 (tests/data/pgoutput)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, cast

import pytest

from bridge.errors import DecodeError
from bridge.readers import pgoutput as po
from tests.data.pgoutput.capture import describe

GOLDEN = sorted((Path(__file__).parents[1] / "data" / "pgoutput").glob("*.json"))


def _load(name: str) -> dict[str, Any]:
    path = Path(__file__).parents[1] / "data" / "pgoutput" / name
    return cast(dict[str, Any], json.loads(path.read_text()))


def _decode_all(capture: dict[str, Any]) -> list[po.PgMessage]:
    decoder = po.PgOutputDecoder(capture["proto_version"])
    return [decoder.decode(bytes.fromhex(m["hex"])) for m in capture["messages"]]


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_captures_decode_as_recorded(path: Path) -> None:
    capture = json.loads(path.read_text())
    decoded = _decode_all(capture)
    assert [describe(m) for m in decoded] == [m["decoded"] for m in capture["messages"]]


@pytest.mark.parametrize("name", ["pg13-proto1.json", "pg17-proto1.json", "pg17-proto2.json"])
def test_protocol_facts_in_the_captures(name: str) -> None:
    msgs = _decode_all(_load(name))
    rel = next(m for m in msgs if isinstance(m, po.Relation) and m.name == "kinds")
    cols = [c.name for c in rel.columns]
    assert rel.namespace == "public"
    assert rel.replica_identity == "d"
    assert [c.name for c in rel.columns if c.is_key] == ["id"]
    types = {m.oid: (m.namespace, m.name) for m in msgs if isinstance(m, po.Type)}
    oid_of = {c.name: c.type_oid for c in rel.columns}
    assert types[oid_of["m"]] == ("public", "mood")  # user types are announced before use
    # A domain is announced with its own OID but its base type's name (proto.c, getBaseType).
    assert types[oid_of["p"]] == ("", "int4")
    assert oid_of["p"] != 23

    inserts = [m for m in msgs if isinstance(m, po.Insert) and m.relation_oid == rel.oid]
    first = dict(zip(cols, inserts[0].new, strict=True))
    assert first["t"] == "héllo ✓ 🚀".encode()
    assert first["b"] == b"\\x00ff10"
    assert first["nn"] == b"NaN"
    assert first["arr"] == b"{1,NULL,3}"
    big = first["big"]
    assert isinstance(big, bytes)
    assert len(big) == 3200
    assert dict(zip(cols, inserts[1].new, strict=True))["t"] is None  # NULL

    updates = [m for m in msgs if isinstance(m, po.Update) and m.relation_oid == rel.oid]
    toast = dict(zip(cols, updates[0].new, strict=True))
    assert toast["t"] == b"changed"
    assert toast["big"] is po.UNCHANGED_TOAST  # not NULL
    assert updates[0].old is None  # key unchanged: no old image under REPLICA IDENTITY DEFAULT
    assert updates[1].old_kind == "K"
    assert updates[1].old is not None
    assert updates[1].old[cols.index("id")] == b"2"
    assert updates[1].new[cols.index("id")] == b"3"

    full = next(m for m in msgs if isinstance(m, po.Update) and m.relation_oid != rel.oid)
    assert full.old_kind == "O"
    assert full.old == (b"1", b"one")
    delete = next(m for m in msgs if isinstance(m, po.Delete) and m.relation_oid == rel.oid)
    assert delete.old_kind == "K"
    assert delete.old[cols.index("id")] == b"3"

    truncate = next(m for m in msgs if isinstance(m, po.Truncate))
    assert truncate.cascade
    assert truncate.restart_identity
    assert rel.oid in truncate.relation_oids
    assert len(truncate.relation_oids) == 2

    assert any(isinstance(m, po.Origin) and m.name == "golden_origin" for m in msgs)
    begins = [m for m in msgs if isinstance(m, po.Begin)]
    commits = [m for m in msgs if isinstance(m, po.Commit)]
    assert len(begins) == len(commits)
    for b, c in zip(begins, commits, strict=True):
        assert b.final_lsn == c.commit_lsn
        assert c.end_lsn > c.commit_lsn
        assert b.commit_time == c.commit_time
        assert abs(c.commit_time - dt.datetime.now(dt.UTC)) < dt.timedelta(days=3650)


def test_messages_and_streaming_on_protocol_2() -> None:
    capture = _load("pg17-proto2.json")
    msgs = _decode_all(capture)
    contents = {(m.transactional, m.prefix, m.content) for m in msgs if isinstance(m, po.Message)}
    assert contents == {(True, "bridge", b"in txn"), (False, "bridge", b"no txn")}
    starts = [m for m in msgs if isinstance(m, po.StreamStart)]
    assert starts
    assert starts[0].first_segment
    assert not any(s.first_segment for s in starts[1:])
    xid = starts[0].xid
    assert {s.xid for s in starts} == {xid}
    streamed = [m for m in msgs if isinstance(m, po.Insert | po.Relation) and m.xid is not None]
    assert streamed
    assert {m.xid for m in streamed} == {xid}
    commit = next(m for m in msgs if isinstance(m, po.StreamCommit))
    assert commit.xid == xid
    assert commit.end_lsn > commit.commit_lsn
    assert capture["streamed_rows"] == 3000  # all rows arrived, in segments
    # outside a stream, messages carry no xid
    assert all(m.xid is None for m in msgs[: msgs.index(starts[0])] if isinstance(m, po.Insert))


def test_timestamps_count_from_2000() -> None:
    assert po.pg_timestamp(0) == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert po.pg_timestamp(-1) == dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    assert po.pg_timestamp(86_400_000_001) == dt.datetime(2000, 1, 2, 0, 0, 0, 1, tzinfo=dt.UTC)


def test_unknown_message_type_stops_with_the_position() -> None:
    with pytest.raises(DecodeError, match="unknown pgoutput message type 'P'") as info:
        po.PgOutputDecoder(3).decode(b"P\x00\x00", lsn=0x1_0000_0010)
    assert info.value.position == "1/10"


@pytest.mark.parametrize(
    "data",
    [
        b"B\x00\x00",  # truncated begin
        b"I\x00\x00\x40\x00N\x00\x01t\x00\x00\x00\x09abc",  # column longer than the message
        b"I\x00\x00\x40\x00N\x00\x01x",  # unknown column kind
        b"I\x00\x00\x40\x00X\x00\x00",  # insert without 'N'
        b"C\x00" + b"\x00" * 24 + b"extra",  # trailing bytes
        b"",
    ],
)
def test_malformed_messages_are_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        po.PgOutputDecoder().decode(data)
