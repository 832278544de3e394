"""Per-table row decoders compiled from a table map: the binlog reader's hot path.

`binlogrows.TableCache` builds, once per table map, one reader function per column
(`binlogvalues.column_reader`). Running them column after column costs a Python call, a tuple
and a NULL-bit test per value. This module turns a table's layout into the source of one
function that decodes a whole row image (and one that decodes every row of an event), compiled
once when the table map is first seen:

- the NULL bitmap is read once; a row without NULLs takes a branch where runs of fixed-width
  columns (integers, FLOAT, DOUBLE) are read with one precompiled `struct.Struct` per run and
  short strings are sliced and decoded inline;
- a row with NULLs takes a branch with one bit test per column, the same inline reads per column;
- every other type (DECIMAL, temporals, BIT, ENUM/SET, JSON, BINARY(n), long blobs) calls its
  `binlogvalues` reader, bound in the function's namespace.

The values are those of the column readers exactly: the inline reads are the readers' own
operations (struct formats of `binlogvalues._fixed`, `string_reader`'s slicing and decoding),
and `tests/unit/test_binlog_layout.py` compares both paths on captured rows with every NULL
pattern. Only full row images are compiled; partial ones (binlog_row_image MINIMAL/NOBLOB on
update and delete) keep the per-column path in `binlogrows`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bridge.log.values import Value
from bridge.readers import binlogvalues as bv

RowDecoder = Callable[[bytes, int], tuple[tuple[Value, ...], int]]
"""Reads one full row image (NULL bitmap and values) at an offset: (row, offset after it)."""
RowsDecoder = Callable[[bytes, int, int, list[tuple[Value, ...]]], int]
"""Appends the full row images in b[p:end] to a list; returns the offset where it stopped."""

# struct format characters of the fixed-width types, as `binlogvalues` reads them.
_FIXED: Final = {
    (bv.T_TINY, False): "b",
    (bv.T_TINY, True): "B",
    (bv.T_SHORT, False): "h",
    (bv.T_SHORT, True): "H",
    (bv.T_LONG, False): "i",
    (bv.T_LONG, True): "I",
    (bv.T_LONGLONG, False): "q",
    (bv.T_LONGLONG, True): "Q",
}
_FLOATS: Final = {bv.T_FLOAT: "f", bv.T_DOUBLE: "d"}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """How one column is read: `fmt` (a struct character), an inline string (`len_bytes` 1 or
    2, `codec` None for bytes), or else its reader."""

    reader: bv.Reader
    fmt: str = ""
    len_bytes: int = 0
    codec: str | None = None


def column_spec(
    ctype: int,
    meta: tuple[int, int],
    reader: bv.Reader,
    *,
    unsigned: bool,
    codec: str | None,
    json: bool,
) -> ColumnSpec:
    """The spec of a column whose reader `binlogvalues.column_reader` built from these facts."""
    fmt = _FIXED.get((ctype, unsigned)) or _FLOATS.get(ctype, "")
    if fmt:
        return ColumnSpec(reader, fmt=fmt)
    if ctype in (bv.T_VARCHAR, bv.T_VAR_STRING) or (ctype == bv.T_STRING and codec is not None):
        # column_reader: string_reader(1 if max length < 256 else 2, codec); BINARY(n) (STRING
        # without a codec) is re-padded by its reader.
        return ColumnSpec(reader, len_bytes=1 if meta[0] < 256 else 2, codec=codec)
    if ctype == bv.T_BLOB and not json and meta[0] in (1, 2):
        return ColumnSpec(reader, len_bytes=meta[0], codec=codec)
    return ColumnSpec(reader)


@dataclass(frozen=True, slots=True)
class Compiled:
    row: RowDecoder
    rows: RowsDecoder
    source: str
    """The generated code (for tests and debugging)."""


def compile_layout(specs: Sequence[ColumnSpec]) -> Compiled:
    """The row decoders of a table whose columns read as `specs` (full row images)."""
    ns: dict[str, object] = {}
    nbytes = (len(specs) + 7) // 8
    body = _row_body(specs, ns, nbytes)
    values = ", ".join(f"c{i}" for i in range(len(specs)))
    row_tuple = f"({values},)" if len(specs) == 1 else f"({values})"
    src = [
        "def row(b, p):",
        *("    " + line for line in body),
        f"    return {row_tuple}, p",
        "",
        "def rows(b, p, end, out):",
        "    append = out.append",
        "    while p < end:",
        *("        " + line for line in body),
        f"        append({row_tuple})",
        "    return p",
    ]
    source = "\n".join(src) + "\n"
    exec(compile(source, "<binlog row decoder>", "exec"), ns)  # noqa: S102 - our own code text
    return Compiled(ns["row"], ns["rows"], source)  # type: ignore[arg-type]


def _row_body(specs: Sequence[ColumnSpec], ns: dict[str, object], nbytes: int) -> list[str]:
    # The server sets the bitmap's unused high bits (MariaDB: 0xf0 after 20 columns): masked,
    # so that a row without NULLs takes the fast branch.
    mask = "" if len(specs) % 8 == 0 else f" & {(1 << len(specs)) - 1}"
    if nbytes == 1:
        lines = [f"nulls = b[p]{mask}", "p += 1"]
    else:
        lines = [f"nulls = int.from_bytes(b[p : p + {nbytes}], 'little'){mask}", f"p += {nbytes}"]
    for i, s in enumerate(specs):
        ns[f"r{i}"] = s.reader
        if s.codec is not None:
            ns[f"k{i}"] = s.codec
    lines.append("if nulls:")
    for i, s in enumerate(specs):
        lines.append(f"    if nulls & {1 << i}:")
        lines.append(f"        c{i} = None")
        lines.append("    else:")
        lines.extend("        " + x for x in _read_one(i, s, ns))
    lines.append("else:")
    lines.extend("    " + x for x in _read_all(specs, ns))
    return lines


def _read_one(i: int, s: ColumnSpec, ns: dict[str, object]) -> list[str]:
    if s.fmt:
        return _read_run([(i, s)], ns, f"s{i}")
    if s.len_bytes:
        return _read_string(i, s)
    return [f"c{i}, p = r{i}(b, p)"]


def _read_all(specs: Sequence[ColumnSpec], ns: dict[str, object]) -> list[str]:
    """Every column, without NULLs: runs of fixed-width columns in one unpack each."""
    lines: list[str] = []
    run: list[tuple[int, ColumnSpec]] = []
    for i, s in enumerate(specs):
        if s.fmt:
            run.append((i, s))
            continue
        if run:
            lines.extend(_read_run(run, ns, f"u{run[0][0]}"))
            run = []
        lines.extend(_read_one(i, s, ns))
    if run:
        lines.extend(_read_run(run, ns, f"u{run[0][0]}"))
    return lines


def _read_run(run: list[tuple[int, ColumnSpec]], ns: dict[str, object], name: str) -> list[str]:
    if len(run) == 1 and run[0][1].fmt == "B":
        return [f"c{run[0][0]} = b[p]", "p += 1"]
    st = struct.Struct("<" + "".join(s.fmt for _, s in run))
    ns[name] = st.unpack_from
    targets = ", ".join(f"c{i}" for i, _ in run)
    return [f"{targets}, = {name}(b, p)", f"p += {st.size}"]


def _read_string(i: int, s: ColumnSpec) -> list[str]:
    """string_reader's slicing and decoding, inline (1- or 2-byte length prefix)."""
    n = "b[p]" if s.len_bytes == 1 else "b[p] | b[p + 1] << 8"
    value = f"b[p + {s.len_bytes} : q]"
    if s.codec is not None:
        value += f".decode(k{i})"
    return [f"q = p + {s.len_bytes} + ({n})", f"c{i} = {value}", "p = q"]
