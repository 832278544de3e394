"""The compiled per-relation decoders (pgoutput_fast) against the general decoder: the same events
from real captures (tests/data/pgoutput) and from generated messages; on anything else they raise,
so the reader takes the general path."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import DecodeError
from bridge.log.events import Delete, Event, Insert, SourceId, TableName, Update
from bridge.log.values import ABSENT, UNCHANGED, Value
from bridge.positions import Lsn
from bridge.readers import pgoutput as po
from bridge.readers.pgoutput_fast import compile_change
from bridge.readers.pgtypes import PgTypes, TextDecoder

SOURCE = SourceId("postgres", "1", "17")
TABLE = TableName("public", "t")
GOLDEN = sorted((Path(__file__).parents[1] / "data" / "pgoutput").glob("*.json"))
FALLBACK = (IndexError, ValueError, UnicodeDecodeError)


def _values(
    decoders: list[TextDecoder], raw: tuple[po.RawValue, ...], unchanged: Value
) -> tuple[Value, ...]:
    out: list[Value] = []
    for decode, v in zip(decoders, raw, strict=True):
        if v is None:
            out.append(None)
        elif v is po.UNCHANGED_TOAST:
            out.append(unchanged)
        else:
            assert isinstance(v, bytes)
            out.append(decode(v))
    return tuple(out)


def reference(
    msg: po.PgMessage,
    decoders: list[TextDecoder],
    names: tuple[str, ...],
    mask: list[bool],
    lsn: int,
) -> Event:
    """What EventBuilder's general path makes of a decoded Insert, Update or Delete."""
    key = tuple(n for n, k in zip(names, mask, strict=True) if k)

    def before(kind: str | None, raw: tuple[po.RawValue, ...]) -> tuple[Value, ...]:
        values = _values(decoders, raw, ABSENT)
        if kind == "K":
            values = tuple(v if k else ABSENT for v, k in zip(values, mask, strict=True))
        return values

    if isinstance(msg, po.Insert):
        return Insert(SOURCE, Lsn(lsn), TABLE, names, _values(decoders, msg.new, UNCHANGED), key)
    if isinstance(msg, po.Update):
        old = None if msg.old is None else before(msg.old_kind, msg.old)
        new = _values(decoders, msg.new, UNCHANGED)
        return Update(SOURCE, Lsn(lsn), TABLE, names, old, new, key)
    assert isinstance(msg, po.Delete)
    return Delete(SOURCE, Lsn(lsn), TABLE, names, before(msg.old_kind, msg.old), key)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_real_captures_decode_as_the_general_path_does(path: Path) -> None:
    capture = json.loads(path.read_text())
    decoder = po.PgOutputDecoder(capture["proto_version"])
    types = PgTypes()
    compiled = {}
    checked = 0
    for i, m in enumerate(capture["messages"]):
        data = bytes.fromhex(m["hex"])
        msg = decoder.decode(data)
        if isinstance(msg, po.Relation):
            decoders = [types.decoder(c.type_oid) for c in msg.columns]
            names = tuple(c.name for c in msg.columns)
            mask = [c.is_key for c in msg.columns]
            key = tuple(n for n, k in zip(names, mask, strict=True) if k)
            change = compile_change(SOURCE, TABLE, names, key, decoders, mask)
            compiled[msg.oid] = (change, decoders, names, mask)
        elif isinstance(msg, po.Insert | po.Update | po.Delete) and not decoder.in_stream:
            change, decoders, names, mask = compiled[msg.relation_oid]
            try:
                expected = reference(msg, decoders, names, mask, 1000 + i)
            except FALLBACK:  # a value the decoders refuse: both paths must refuse it
                with pytest.raises(FALLBACK):
                    change(data, 0, len(data), 1000 + i)
                continue
            # Inside a larger buffer, as the stream and catch-up hand it over.
            framed = b"w" * 25 + data + b"junk"
            assert same(change(framed, 25, 25 + len(data), 1000 + i), expected)
            checked += 1
    assert checked >= 3


_KINDS = st.sampled_from(["t", "n", "u"])
_TEXT = st.text(max_size=12)


def _tuple(cols: list[tuple[str, str]]) -> bytes:
    out = struct.pack("!h", len(cols))
    for kind, text in cols:
        out += kind.encode()
        if kind == "t":
            data = text.encode()
            out += struct.pack("!I", len(data)) + data
    return out


@st.composite
def messages(draw: st.DrawFn) -> tuple[int, bytes]:
    n = draw(st.integers(1, 5))
    tag = draw(st.sampled_from("IUD"))

    def cols() -> list[tuple[str, str]]:
        return [(draw(_KINDS), draw(_TEXT)) for _ in range(n)]

    body = tag.encode() + struct.pack("!I", 7)
    if tag == "I":
        body += b"N" + _tuple(cols())
    elif tag == "U":
        old = draw(st.sampled_from(["", "K", "O"]))
        if old:
            body += old.encode() + _tuple(cols())
        body += b"N" + _tuple(cols())
    else:
        body += draw(st.sampled_from(["K", "O"])).encode() + _tuple(cols())
    if draw(st.booleans()):  # damage it: a byte changed, or the message cut short or extended
        how = draw(st.sampled_from(["flip", "cut", "extend"]))
        at = draw(st.integers(0, len(body) - 1))
        if how == "flip":
            body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
        elif how == "cut":
            body = body[:at]
        else:
            body += b"\x00"
    return n, body


@settings(max_examples=400, deadline=None)
@given(messages(), st.data())
def test_generated_messages_decode_as_the_general_path_or_fall_back(
    case: tuple[int, bytes], data: st.DataObject
) -> None:
    n, body = case
    mask = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    decoders: list[TextDecoder] = [
        data.draw(st.sampled_from([po_text, int, _upper])) for _ in range(n)
    ]
    names = tuple(f"c{i}" for i in range(n))
    key = tuple(c for c, k in zip(names, mask, strict=True) if k)
    change = compile_change(SOURCE, TABLE, names, key, decoders, mask)
    expected = general_path(body, decoders, names, mask)
    if expected is None:
        with pytest.raises(FALLBACK):
            change(body, 0, len(body), 5)
    else:
        assert same(change(body, 0, len(body), 5), expected)


def general_path(
    body: bytes, decoders: list[TextDecoder], names: tuple[str, ...], mask: list[bool]
) -> Event | None:
    """The general path's event for `body`; None where it refuses the message."""
    try:
        msg = po.PgOutputDecoder(1).decode(body)
    except DecodeError:
        return None
    if not isinstance(msg, po.Insert | po.Update | po.Delete):
        return None
    try:
        return reference(msg, decoders, names, mask, 5)
    except FALLBACK:  # a column count that differs, a value a decoder refuses
        return None


def same(got: Event, expected: Event) -> bool:
    """Equal events; NaN (numeric NaN is in the captures) is not equal to itself, its repr is."""
    return type(got) is type(expected) and (got == expected or repr(got) == repr(expected))


def po_text(b: bytes) -> str:
    return b.decode("utf-8")


def _upper(b: bytes) -> str:
    return b.decode("utf-8").upper()
