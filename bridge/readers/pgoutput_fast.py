"""One compiled decoder per relation for pgoutput's Insert, Update and Delete messages.

A backlog is hundreds of thousands of row messages of a handful of relations. The general path
(`pgoutput.PgOutputDecoder` then `EventBuilder.feed`) builds a message object, dispatches on it and
loops over the columns; here each relation gets one function, generated for its column count,
its decoders and its key, that goes from the message bytes to the row event in one pass with the
loop unrolled: about half the time per row. `binlog_layout.py` does the same for the binlog.

The function reads the message in `buf[pos:end]` (the replication stream's buffer with its
header, or a slice of a catch-up batch: no copy either way) and returns the event. Anything
unusual — a binary or unknown column kind, a column count that differs, a value its decoder
refuses, trailing or missing bytes — raises IndexError, ValueError or UnicodeDecodeError, and the
caller takes the general path, whose checks and error messages apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bridge.log.events import Delete, Event, Insert, SourceId, TableName, Update
from bridge.log.values import ABSENT, UNCHANGED
from bridge.positions import Lsn
from bridge.readers.binlog_rowevents import fast_constructor
from bridge.readers.pgtypes import TextDecoder, _text

ROW_TAGS = frozenset(b"IUD")
"""The first byte of the messages these decoders take: Insert, Update, Delete."""

ChangeDecoder = Callable[[bytes, int, int, int], Event]
"""(buffer, message start, message end, WAL position) -> the Insert, Update or Delete."""

_NAMESPACE: dict[str, Any] = {
    "INSERT": fast_constructor(Insert),
    "UPDATE": fast_constructor(Update),
    "DELETE": fast_constructor(Delete),
    # Positions come from 8 protocol bytes: always valid, so not checked again per row.
    "LSN": fast_constructor(Lsn, valid=(1,)),
    "ABSENT": ABSENT,
    "UNCHANGED": UNCHANGED,
    "FROM_BYTES": int.from_bytes,
}


def _tuple_code(prefix: str, decoders: Sequence[TextDecoder], unchanged: str) -> list[str]:
    """Lines that read one TupleData at `p` into locals prefix0..prefixN-1, advancing `p`."""
    n = len(decoders)
    lines = [f"if buf[p] != {n >> 8} or buf[p + 1] != {n & 0xFF}: raise IndexError", "p += 2"]
    for i, decode in enumerate(decoders):
        # Text and integers (most columns) call the builtin directly: no Python frame per value.
        if decode is _text:
            value = "buf[s:p].decode()"
        elif decode is int:
            value = "int(buf[s:p])"
        else:
            value = f"D{i}(buf[s:p])"
        lines += [
            "c = buf[p]",
            "if c == 116:",  # 't' text
            "    s = p + 5",
            # Unsigned: a bad length can only overshoot, which the end check catches.
            "    p = s + FROM_BYTES(buf[p + 1 : s], 'big')",
            f"    {prefix}{i} = {value}",
            "elif c == 110:",  # 'n' null
            f"    {prefix}{i} = None",
            "    p += 1",
            "elif c == 117:",  # 'u' unchanged TOAST
            f"    {prefix}{i} = {unchanged}",
            "    p += 1",
            "else:",
            "    raise IndexError",
        ]
    return lines


def compile_change(  # noqa: PLR0917 - one call site, each argument a relation property
    source: SourceId,
    relation: TableName,
    names: tuple[str, ...],
    key: tuple[str, ...],
    decoders: Sequence[TextDecoder],
    key_mask: Sequence[bool],
) -> ChangeDecoder:
    """The decoder of one relation's Insert, Update and Delete messages (see the module doc)."""
    n = len(decoders)
    old = ", ".join(f"o{i}" for i in range(n))
    new = ", ".join(f"v{i}" for i in range(n))
    key_only = ", ".join(f"o{i}" if k else "ABSENT" for i, k in enumerate(key_mask))
    comma = "," if n == 1 else ""
    body = [
        "tag = buf[pos]",
        "p = pos + 5",  # tag and relation OID
        "before = None",
        "if tag != 73:",  # not 'I': an old image may come first
        "    if tag != 85 and tag != 68: raise IndexError",  # nor 'U' nor 'D'
        "    k = buf[p]",
        "    if k == 75 or k == 79:",  # 'K' key only, 'O' whole old row
        "        p += 1",
        *("        " + line for line in _tuple_code("o", decoders, "ABSENT")),
        f"        before = ({key_only}{comma}) if k == 75 else ({old}{comma})",
        "if tag == 68:",  # 'D'
        "    if before is None or p != end: raise IndexError",
        "    return DELETE(SOURCE, LSN(lsn), RELATION, NAMES, before, KEY)",
        "if buf[p] != 78: raise IndexError",  # 'N' new tuple
        "p += 1",
        *_tuple_code("v", decoders, "UNCHANGED"),
        "if p != end: raise IndexError",
        "if tag == 73:",
        f"    return INSERT(SOURCE, LSN(lsn), RELATION, NAMES, ({new}{comma}), KEY)",
        f"return UPDATE(SOURCE, LSN(lsn), RELATION, NAMES, before, ({new}{comma}), KEY)",
    ]
    code = "def change(buf, pos, end, lsn):\n" + "".join(f"    {line}\n" for line in body)
    namespace = dict(_NAMESPACE)
    namespace.update(SOURCE=source, RELATION=relation, NAMES=names, KEY=key)
    namespace.update({f"D{i}": d for i, d in enumerate(decoders)})
    exec(compile(code, f"<pgoutput {relation}>", "exec"), namespace)  # noqa: S102
    change: ChangeDecoder = namespace["change"]
    return change
