"""Binlog decoding on captured bytes (tests/data/binlog/, made by its capture.py) and on
hand-made layouts: values, transactions, positions, context events, and every way the decoder
must stop rather than skip a change."""

from __future__ import annotations

import datetime as dt
import functools
import json
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from bridge.errors import DecodeError
from bridge.log.events import Begin, Commit, Ddl, Delete, Insert, Relation, SourceId, Update
from bridge.log.values import BitString, Interval, Json, MysqlSet, ZeroDate
from bridge.positions import BinlogPosition, MariadbGtidPos
from bridge.readers import binlog as bl
from bridge.readers import binlogvalues as bv
from bridge.readers.binlogevents import EventBuilder, classify
from bridge.readers.binlogjson import json_text
from bridge.readers.binlogrows import TableCache

DATA = Path(__file__).parent.parent / "data" / "binlog" / "mariadb-10.11.json"
SOURCE = SourceId("mariadb", "1", "10.11")


@functools.cache
def _capture() -> tuple[str, tuple[bytes, ...]]:
    d = json.loads(DATA.read_text())
    return d["file"], tuple(bytes.fromhex(e) for e in d["events"])


def captured() -> tuple[bytes, ...]:
    return _capture()[1]


def with_type(buf: bytes, etype: int) -> bytes:
    """The event with another type code and a CRC32 that matches."""
    body = buf[:4] + bytes([etype]) + buf[5:-4]
    return body + zlib.crc32(body).to_bytes(4, "little")


def build(gtid: MariadbGtidPos | None = None) -> tuple[EventBuilder, list[object]]:
    file, events = _capture()
    b = EventBuilder(SOURCE, file=file, gtid=gtid)
    out: list[object] = []
    for e in events:
        if e[4] == bl.QUERY and b"INSERT INTO cap.auto" in e:
            with pytest.raises(DecodeError, match="statement-based"):
                b.feed(e)
            continue
        if e[4] == bl.XID and b.in_transaction is False:
            continue  # the statement transaction's commit (its Begin was refused above)
        out.extend(b.feed(e))
    return b, out


def test_captured_stream_events() -> None:
    _, out = build()
    kinds = [type(e).__name__ for e in out]
    assert kinds[:6] == ["Begin", "Ddl", "Commit", "Begin", "Ddl", "Commit"]
    assert kinds[6:10] == ["Begin", "Relation", "Insert", "Commit"]
    assert [type(e).__name__ for e in out if isinstance(e, Insert | Update | Delete)] == [
        "Insert", "Insert", "Update", "Delete"
    ]  # fmt: skip
    assert isinstance(out[-2], Ddl)
    assert out[-2].text == "DROP DATABASE cap"


def test_captured_values() -> None:
    _, out = build()
    first, second = (e for e in out if isinstance(e, Insert))
    v = dict(zip(first.columns, first.after, strict=True))
    assert v["big"] == 18446744073709551615
    assert v["d"] == Decimal("-1.500000000000000000000000000000")
    assert v["b1"] == BitString("1")
    assert v["b64"] == BitString("0" * 60 + "1010")
    assert v["dtm"] == dt.datetime(2024, 2, 29, 10, 11, 12, 123456)
    assert v["ts"] == dt.datetime(2024, 2, 29, 10, 11, 12, 500000, tzinfo=dt.UTC)
    assert v["tm"] == Interval(0, 0, -(838 * 3600 + 59 * 60 + 59) * 10**6 - 990000)
    assert v["bn"] == b"ab\x00\x00"
    assert v["s"] == MysqlSet(frozenset({"x", "z"}))
    assert v["j"] == '{"a":  [1, 2]}'  # no information_schema here: JSON-ness unknown
    assert v["vc"] == "héllo😀"
    assert v["f"] == 1.5
    assert v["bl"] == b"bl\x00b"
    z = dict(zip(second.columns, second.after, strict=True))
    assert z["y"] == 0
    assert z["dd"] == ZeroDate("date", "0000-00-00")
    assert z["dtm"] == ZeroDate("timestamp", "2024-00-01 00:00:00.000000")
    assert z["ts"] == ZeroDate("timestamptz", "0000-00-00 00:00:00.000")


def test_positions_and_gtid_state() -> None:
    file, events = _capture()
    b, out = build(MariadbGtidPos.parse("0-1-5,1-2-3"))
    commits = [e for e in out if isinstance(e, Commit)]
    assert all(isinstance(c.commit_position, BinlogPosition) for c in commits)
    last = commits[-1].commit_position
    assert isinstance(last, BinlogPosition)
    assert last.file == file
    assert last.offset == int.from_bytes(events[-1][13:17], "little")
    assert isinstance(last.gtid, MariadbGtidPos)
    assert str(last.gtid).startswith("0-")
    assert str(last.gtid).endswith(",1-2-3")
    begins = [e for e in out if isinstance(e, Begin)]
    assert begins[0].commit_position == commits[0].commit_position  # DDL: known up front
    rel = next(e for e in out if isinstance(e, Relation))
    assert rel.key == ("id",)
    assert b.last_commit == last


def test_table_map_cache_reuses_identical_maps() -> None:
    tables = TableCache()
    b = EventBuilder(SOURCE, file="mysql-bin.000001", tables=tables)
    maps = [e for e in captured() if e[4] == bl.TABLE_MAP]
    for e in captured():
        if e[4] == bl.QUERY and b"INSERT INTO cap.auto" in e:
            break
        b.feed(e)
    assert len(maps) == 4
    assert tables.parsed == 1


def test_rows_without_table_map_stop() -> None:
    row = next(e for e in captured() if e[4] == bl.WRITE_ROWS_V1)
    dec = bl.BinlogDecoder(checksum=True)
    with pytest.raises(DecodeError, match="without its table map") as e:
        dec.decode(row)
    assert e.value.position is not None


@pytest.mark.parametrize("etype", [165, 166, 169, 171, 40, 39, 26, 99, 200])
def test_refused_and_unknown_events_stop(etype: int) -> None:
    buf = with_type(next(e for e in captured() if e[4] == bl.XID), etype)
    b = EventBuilder(SOURCE, file="mysql-bin.000007")
    with pytest.raises(DecodeError) as e:
        b.feed(buf)
    assert e.value.position == f"mysql-bin.000007:{int.from_bytes(buf[13:17], 'little') - len(buf)}"
    if etype in range(165, 172):
        assert "log_bin_compress = OFF" in str(e.value)


def test_bad_checksum_stops() -> None:
    buf = bytearray(next(e for e in captured() if e[4] == bl.XID))
    buf[20] ^= 1
    with pytest.raises(DecodeError, match="CRC32"):
        bl.BinlogDecoder(checksum=True).decode(bytes(buf))


def test_classify() -> None:
    assert classify("BEGIN") == "begin"
    assert classify("COMMIT") == "commit"
    assert classify("ROLLBACK") == "rollback"
    assert classify("ROLLBACK TO SAVEPOINT a") == "savepoint"
    assert classify("/* c */ insert into t values (1)") == "dml"
    assert classify("  TRUNCATE TABLE t") == "ddl"
    assert classify("DROP TABLE `t` /* generated by server */") == "ddl"
    assert classify("XA START 'x'") == "xa"


def _decimal_bytes(text: str, precision: int, scale: int) -> bytes:
    """MySQL's decimal2bin, written independently for the test (digits in groups of nine)."""
    neg = text.startswith("-")
    ip, _, fp = text.lstrip("-").partition(".")
    ip = ip.zfill(precision - scale)
    fp = fp.ljust(scale, "0")
    sizes = bv._DIG2BYTES
    out = bytearray()
    lead = len(ip) % 9
    if lead:
        out += int(ip[:lead]).to_bytes(sizes[lead], "big")
    for i in range(lead, len(ip), 9):
        out += int(ip[i : i + 9]).to_bytes(4, "big")
    for i in range(0, len(fp) - len(fp) % 9, 9):
        out += int(fp[i : i + 9]).to_bytes(4, "big")
    if len(fp) % 9:
        out += int(fp[len(fp) - len(fp) % 9 :]).to_bytes(sizes[len(fp) % 9], "big")
    out[0] ^= 0x80
    if neg:
        out = bytearray(x ^ 0xFF for x in out)
    return bytes(out)


@pytest.mark.parametrize(
    ("text", "precision", "scale"),
    [("0.00", 5, 2), ("-1.10", 10, 2), ("1234567890.123456789", 19, 9), ("-99999", 5, 0),
     ("12345678901234567890123456789012345.123456789012345678901234567890", 65, 30),
     ("0.000000001", 10, 9)],
)  # fmt: skip
def test_decimal_reader(text: str, precision: int, scale: int) -> None:
    raw = _decimal_bytes(text, precision, scale)
    value, end = bv.decimal_reader(precision, scale)(raw, 0)
    assert value == Decimal(text)
    assert isinstance(value, Decimal)
    assert value.as_tuple().exponent == -scale  # the scale is kept
    assert end == len(raw)


def test_time2_negative_fractions() -> None:
    # '-00:00:00.000001' with fsp 6: 6 bytes offset-binary, one microsecond below zero.
    raw = (0x800000000000 - 1).to_bytes(6, "big")
    assert bv.time2_reader(6)(raw, 0) == (Interval(0, 0, -1), 6)
    # '-01:00:00.25' with fsp 2: intpart -(1 << 12) - 1 and a fraction counting backwards.
    intpart = 0x800000 - (1 << 12) - 1
    raw = intpart.to_bytes(3, "big") + bytes([0x100 - 25])
    assert bv.time2_reader(2)(raw, 0) == (Interval(0, 0, -(3600 * 10**6 + 250000)), 4)


def test_mysql_binary_json() -> None:
    # {"a": [1, true, "x"]} in MySQL's binary form (small object, small array).
    arr = (
        (3).to_bytes(2, "little") + (0).to_bytes(2, "little")
        + bytes([5]) + (1).to_bytes(2, "little")
        + bytes([4]) + (1).to_bytes(2, "little")
        + bytes([12]) + (13).to_bytes(2, "little")
        + bytes([1]) + b"x"
    )  # fmt: skip
    arr = arr[:2] + len(arr).to_bytes(2, "little") + arr[4:]
    obj_head = 4 + 4 + 3
    obj = (
        (1).to_bytes(2, "little") + (obj_head + 1 + len(arr)).to_bytes(2, "little")
        + obj_head.to_bytes(2, "little") + (1).to_bytes(2, "little")
        + bytes([2]) + (obj_head + 1).to_bytes(2, "little") + b"a" + arr
    )  # fmt: skip
    assert json_text(bytes([0]) + obj) == '{"a": [1, true, "x"]}'
    assert json_text(b"") == "null"


def test_json_hint_makes_json_values() -> None:
    tables = TableCache(hints=lambda tm: frozenset({tm.names.index("j")} if tm.names else ()))
    b = EventBuilder(SOURCE, file="mysql-bin.000001", tables=tables)
    out = []
    for e in captured()[:13]:
        out.extend(b.feed(e))
    ins = next(e for e in out if isinstance(e, Insert))
    assert ins.after[ins.columns.index("j")] == Json('{"a":  [1, 2]}')
