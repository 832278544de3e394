"""Table maps and row events of the binlog: pure decoding with a table-map cache.

Every row event is preceded (once per statement) by a TABLE_MAP event that describes the table:
column types and their metadata, nullability, and with binlog_row_metadata=FULL the names,
signedness, character sets, ENUM/SET labels and primary key. Parsing it and building the column
decoders is most of the decode time when done again for every statement (shared/FACTS.md: ~80 %
in mysql-replication), so `TableCache` keeps, per table id, the table map's bytes and what was
built from them, and reuses both while the same bytes come again (bench/binlog_decode.py).
What is built: one reader per column, and from them one compiled function per table that
decodes whole row images (`binlog_layout`; the column readers remain for partial images).

A table id is only valid until the server reassigns it (after DDL or a table cache flush; table
ids are in-memory on the server), which always comes with a new TABLE_MAP for that id; a row
event for an id with no table map stops the reader with a DecodeError.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from pymysql.charset import charset_by_id

from bridge.errors import DecodeError
from bridge.log.values import ABSENT, UNCHANGED, Value
from bridge.readers import binlog_layout as bll
from bridge.readers import binlogvalues as bv

# Optional metadata field types (MySQL rows_event.h, Table_map_event::Optional_metadata_field_type).
_SIGNEDNESS = 1
_DEFAULT_CHARSET = 2
_COLUMN_CHARSET = 3
_COLUMN_NAME = 4
_SET_STR_VALUE = 5
_ENUM_STR_VALUE = 6
_GEOMETRY_TYPE = 7
_SIMPLE_PRIMARY_KEY = 8
_PRIMARY_KEY_WITH_PREFIX = 9
_ENUM_AND_SET_DEFAULT_CHARSET = 10
_ENUM_AND_SET_COLUMN_CHARSET = 11

STMT_END_F: Final = 0x01
"""Rows event flag: the last rows event of its statement."""


def lenenc(b: bytes, p: int) -> tuple[int, int]:
    """A length-encoded integer at `p`: (value, offset after it)."""
    first = b[p]
    if first < 0xFB:
        return first, p + 1
    if first == 0xFC:
        return int.from_bytes(b[p + 1 : p + 3], "little"), p + 3
    if first == 0xFD:
        return int.from_bytes(b[p + 1 : p + 4], "little"), p + 4
    if first == 0xFE:
        return int.from_bytes(b[p + 1 : p + 9], "little"), p + 9
    raise DecodeError(f"bad length-encoded integer prefix 0x{first:02x}")


@dataclass(frozen=True, slots=True)
class TableMap:
    """A TABLE_MAP event: a table's shape as the binlog describes it."""

    table_id: int
    schema: str
    name: str
    types: tuple[int, ...]
    """Column types, STRING resolved to ENUM/SET/STRING by its real type."""
    metas: tuple[tuple[int, int], ...]
    """Per-column metadata, normalized (see `binlogvalues.column_reader`)."""
    nullable: tuple[bool, ...]
    names: tuple[str, ...] | None
    """Column names (binlog_row_metadata=FULL), else None."""
    unsigned: tuple[bool, ...]
    collations: tuple[int | None, ...]
    """Collation id of each character/ENUM/SET column, None elsewhere or when not sent."""
    labels: tuple[tuple[str, ...], ...]
    """ENUM/SET labels per column, () elsewhere."""
    key: tuple[int, ...] | None
    """Primary key column indexes when the metadata carries them (FULL), else None."""
    full_metadata: bool
    """The map carried column names, i.e. the server logs FULL row metadata."""

    def shape(self) -> tuple[object, ...]:
        """What a Relation depends on (the table id and name aside)."""
        return (
            self.types,
            self.metas,
            self.nullable,
            self.names,
            self.unsigned,
            self.collations,
            self.labels,
            self.key,
        )


@dataclass(frozen=True, slots=True)
class RowsEvent:
    """A rows event, decoded: one tuple per row (insert/delete), or (before, after) (update)."""

    table: TableMap
    kind: str
    """'insert', 'update' or 'delete'."""
    rows: list[tuple[Value, ...]] | list[tuple[tuple[Value, ...], tuple[Value, ...]]] | None
    """None when the table is filtered out (its rows are not decoded)."""
    flags: int


# Types whose metadata is one byte: FLOAT/DOUBLE (size), BLOB/GEOMETRY/JSON (length-prefix size),
# the MySQL 5.6 temporals (fractional digits).
_ONE_BYTE_META: Final = frozenset(
    {bv.T_FLOAT, bv.T_DOUBLE, bv.T_BLOB, bv.T_GEOMETRY, bv.T_JSON, bv.T_TIME2, bv.T_DATETIME2,
     bv.T_TIMESTAMP2}
)  # fmt: skip


def parse_meta(types: list[int], b: bytes) -> tuple[list[int], list[tuple[int, int]]]:
    """Resolve STRING's real type and normalize each column's metadata (log_event.cc,
    Table_map_log_event::save_field_metadata of each Field)."""
    out_types, metas = [], []
    p = 0
    for t in types:
        a = c = 0
        if t in _ONE_BYTE_META:
            a = b[p]
            p += 1
        elif t in (bv.T_VARCHAR, bv.T_VAR_STRING):
            a = b[p] | b[p + 1] << 8
            p += 2
        elif t == bv.T_NEWDECIMAL:
            a, c = b[p], b[p + 1]
            p += 2
        elif t == bv.T_BIT:
            a = b[p + 1] * 8 + b[p]  # (bits % 8, bytes)
            p += 2
        elif t in (bv.T_STRING, bv.T_ENUM, bv.T_SET):
            real, length = b[p], b[p + 1]
            p += 2
            if real & 0x30 != 0x30:  # a length >= 256 borrows two bits of the real type
                length |= ((real & 0x30) ^ 0x30) << 4
                real |= 0x30
            out_types.append(real)
            metas.append((length, 0))
            continue
        out_types.append(t)
        metas.append((a, c))
    if p != len(b):
        raise DecodeError(f"table map metadata has {len(b) - p} bytes left over")
    return out_types, metas


def _strings(b: bytes, p: int, end: int) -> list[bytes]:
    out = []
    while p < end:
        n, p = lenenc(b, p)
        out.append(b[p : p + n])
        p += n
    return out


def _label_lists(b: bytes, p: int, end: int) -> list[list[bytes]]:
    out = []
    while p < end:
        count, p = lenenc(b, p)
        labels = []
        for _ in range(count):
            n, p = lenenc(b, p)
            labels.append(b[p : p + n])
            p += n
        out.append(labels)
    return out


def _default_charset(b: bytes, p: int, end: int, count: int) -> list[int]:
    default, p = lenenc(b, p)
    out = [default] * count
    while p < end:
        index, p = lenenc(b, p)
        collation, p = lenenc(b, p)
        out[index] = collation
    return out


@dataclass(slots=True)
class _Optional:
    names: list[str] | None = None
    signed_bits: bytes = b""
    charsets: list[int] | None = None
    enum_set_charsets: list[int] | None = None
    enums: list[list[bytes]] = field(default_factory=list)
    sets: list[list[bytes]] = field(default_factory=list)
    key: list[int] | None = None


def _optional_metadata(b: bytes, p: int, end: int, types: list[int]) -> _Optional:
    n_char = sum(t in bv.CHARACTER_TYPES for t in types)
    n_enum_set = sum(t in (bv.T_ENUM, bv.T_SET) for t in types)
    opt = _Optional()
    while p < end:
        kind = b[p]
        n, p = lenenc(b, p + 1)
        q, p = p, p + n
        if kind == _SIGNEDNESS:
            opt.signed_bits = b[q:p]
        elif kind == _DEFAULT_CHARSET:
            opt.charsets = _default_charset(b, q, p, n_char)
        elif kind == _COLUMN_CHARSET:
            opt.charsets = [lenenc(b, x)[0] for x in _offsets(b, q, p)]
        elif kind == _COLUMN_NAME:
            opt.names = [s.decode() for s in _strings(b, q, p)]
        elif kind == _SET_STR_VALUE:
            opt.sets = _label_lists(b, q, p)
        elif kind == _ENUM_STR_VALUE:
            opt.enums = _label_lists(b, q, p)
        elif kind == _SIMPLE_PRIMARY_KEY:
            opt.key = [lenenc(b, x)[0] for x in _offsets(b, q, p)]
        elif kind == _PRIMARY_KEY_WITH_PREFIX:
            ints = [lenenc(b, x)[0] for x in _offsets(b, q, p)]
            opt.key = ints[0::2]
        elif kind == _ENUM_AND_SET_DEFAULT_CHARSET:
            opt.enum_set_charsets = _default_charset(b, q, p, n_enum_set)
        elif kind == _ENUM_AND_SET_COLUMN_CHARSET:
            opt.enum_set_charsets = [lenenc(b, x)[0] for x in _offsets(b, q, p)]
        # _GEOMETRY_TYPE, COLUMN_VISIBILITY (MySQL 8.0.23) and later fields change no value.
    return opt


def _offsets(b: bytes, p: int, end: int) -> list[int]:
    """Start offsets of the length-encoded integers packed in b[p:end]."""
    out = []
    while p < end:
        out.append(p)
        p = lenenc(b, p)[1]
    return out


def parse_table_map(b: bytes, p: int, end: int, *, mariadb: bool = False) -> TableMap:
    """A TABLE_MAP event body at b[p:end] (after the common header, before the checksum).

    MariaDB counts YEAR among the numeric columns of the signedness bitmap, MySQL does not.
    """
    table_id = int.from_bytes(b[p : p + 6], "little")
    p += 8  # table id, flags
    schema = b[p + 1 : p + 1 + b[p]].decode()
    p += b[p] + 2
    name = b[p + 1 : p + 1 + b[p]].decode()
    p += b[p] + 2
    count, p = lenenc(b, p)
    raw_types = list(b[p : p + count])
    p += count
    meta_len, p = lenenc(b, p)
    types, metas = parse_meta(raw_types, b[p : p + meta_len])
    p += meta_len
    nbytes = (count + 7) // 8
    null_bits = int.from_bytes(b[p : p + nbytes], "little")
    p += nbytes
    opt = _optional_metadata(b, p, end, types)
    numeric = bv.NUMERIC_TYPES | {bv.T_YEAR} if mariadb else bv.NUMERIC_TYPES
    unsigned, collations, labels = _per_column(types, opt, numeric)
    names = tuple(opt.names) if opt.names is not None and len(opt.names) == count else None
    return TableMap(
        table_id,
        schema,
        name,
        tuple(types),
        tuple(metas),
        tuple(bool(null_bits >> i & 1) for i in range(count)),
        names,
        unsigned,
        collations,
        labels,
        tuple(opt.key) if opt.key is not None else (() if names is not None else None),
        names is not None,
    )


def _per_column(
    types: list[int], opt: _Optional, numeric_types: frozenset[int]
) -> tuple[tuple[bool, ...], tuple[int | None, ...], tuple[tuple[str, ...], ...]]:
    """Spread the optional metadata's per-kind lists over the columns."""
    unsigned, collations, labels = [], [], []
    numeric = char = enum_set = enums = sets = 0
    for t in types:
        is_unsigned = False
        collation: int | None = None
        names: tuple[str, ...] = ()
        if t in numeric_types:
            byte = numeric // 8
            if byte < len(opt.signed_bits):
                is_unsigned = bool(opt.signed_bits[byte] & (0x80 >> (numeric % 8)))
            numeric += 1
        elif t in bv.CHARACTER_TYPES:
            if opt.charsets is not None and char < len(opt.charsets):
                collation = opt.charsets[char]
            char += 1
        elif t in (bv.T_ENUM, bv.T_SET):
            if opt.enum_set_charsets is not None and enum_set < len(opt.enum_set_charsets):
                collation = opt.enum_set_charsets[enum_set]
            enum_set += 1
            codec = _codec(collation) if collation is not None else "utf-8"
            lists, i = (opt.enums, enums) if t == bv.T_ENUM else (opt.sets, sets)
            if i < len(lists):
                names = tuple(x.decode(codec or "utf-8") for x in lists[i])
            if t == bv.T_ENUM:
                enums += 1
            else:
                sets += 1
        unsigned.append(is_unsigned)
        collations.append(collation)
        labels.append(names)
    return tuple(unsigned), tuple(collations), tuple(labels)


_EXTRA_CHARSETS: dict[int, str] = {}


def register_collations(collations: Mapping[int, str]) -> None:
    """Teach the decoder the server's collation ids (information_schema.COLLATIONS: id ->
    character set), for ids PyMySQL's table does not know (MariaDB's UCA 14.0 collations)."""
    _EXTRA_CHARSETS.update(collations)


def _codec(collation: int) -> str | None:
    name = _EXTRA_CHARSETS.get(collation)
    if name is None:
        try:
            name = str(charset_by_id(collation).name)  # type: ignore[attr-defined]
        except KeyError:
            raise DecodeError(f"unknown collation id {collation}") from None
    return bv.codec_for(name)


ColumnHints = Callable[[TableMap], frozenset[int]]
"""Given a new table map, the indexes of its JSON columns the binlog shows as LONGTEXT
(MariaDB); the reader answers from information_schema."""


@dataclass(slots=True)
class _Entry:
    raw: bytes
    table: TableMap
    readers: tuple[bv.Reader, ...] | None
    """None for a table filtered out."""
    compiled: bll.Compiled | None = None
    """The table's full-row decoders (binlog_layout); None for a table filtered out, or with
    `TableCache.compiled` off."""


def compile_readers(
    tm: TableMap, json_columns: frozenset[int] = frozenset()
) -> tuple[bv.Reader, ...]:
    return tuple(s.reader for s in column_specs(tm, json_columns))


def column_specs(
    tm: TableMap, json_columns: frozenset[int] = frozenset()
) -> tuple[bll.ColumnSpec, ...]:
    """Each column's reader, and how `binlog_layout` may read it inline."""
    out = []
    for i, t in enumerate(tm.types):
        collation = tm.collations[i]
        codec = _codec(collation) if collation is not None else None
        if codec is None and collation is None and t in (bv.T_VARCHAR, bv.T_VAR_STRING):
            codec = "utf-8"  # no charset metadata (not FULL): the common case
        unsigned, meta, json = tm.unsigned[i], tm.metas[i], i in json_columns
        try:
            reader = bv.column_reader(
                t, meta, unsigned=unsigned, codec=codec, labels=tm.labels[i], json=json
            )
        except DecodeError as e:
            e.table = f"{tm.schema}.{tm.name}"
            raise
        out.append(bll.column_spec(t, meta, reader, unsigned=unsigned, codec=codec, json=json))
    return tuple(out)


_COMPILED: dict[tuple[object, ...], tuple[tuple[bv.Reader, ...], bll.Compiled]] = {}
"""Compiled layouts by what they depend on, so a table map parsed again (a new table id for
the same table, `reuse` off) does not compile again."""


def compiled_layout(
    tm: TableMap, json_columns: frozenset[int] = frozenset()
) -> tuple[tuple[bv.Reader, ...], bll.Compiled]:
    """The column readers and the compiled full-row decoders of a table map."""
    key = (tm.types, tm.metas, tm.unsigned, tm.collations, tm.labels, json_columns)
    found = _COMPILED.get(key)
    if found is None:
        specs = column_specs(tm, json_columns)
        found = tuple(s.reader for s in specs), bll.compile_layout(specs)
        if len(_COMPILED) >= 256:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


class TableCache:
    """Table maps by table id, with their compiled row decoders.

    `want(schema, table)` filters tables (their rows are not decoded); `hints` gives JSON
    columns (see `ColumnHints`). With `reuse` off every table map is parsed again, as
    mysql-replication does (bench/binlog_decode.py compares both); `compiled` off decodes
    column by column instead of through `binlog_layout`.
    """

    def __init__(
        self,
        *,
        want: Callable[[str, str], bool] | None = None,
        hints: ColumnHints | None = None,
        reuse: bool = True,
        compiled: bool = True,
    ) -> None:
        self.want = want
        self.hints = hints
        self.reuse = reuse
        self.compiled = compiled
        """Decode full row images with the compiled layouts (binlog_layout); off, column by
        column (the same values, slower: bench/binlog_decode.py compares both)."""
        self.mariadb = False
        """The binlog comes from MariaDB (set from the FormatDescription event)."""
        self._by_id: dict[int, _Entry] = {}
        self.parsed = 0
        """Table maps parsed (not reused), for tests and the benchmark."""

    def clear(self) -> None:
        self._by_id.clear()

    def table_map(self, b: bytes, p: int, end: int) -> TableMap:
        table_id = int.from_bytes(b[p : p + 6], "little")
        raw = b[p:end]
        entry = self._by_id.get(table_id)
        if entry is not None and self.reuse and entry.raw == raw:
            return entry.table
        tm = parse_table_map(b, p, end, mariadb=self.mariadb)
        self.parsed += 1
        entry = _Entry(raw, tm, None)
        if self.want is None or self.want(tm.schema, tm.name):
            hints = self.hints(tm) if self.hints is not None else frozenset()
            entry.readers, entry.compiled = compiled_layout(tm, hints)
            if not self.compiled:
                entry.compiled = None
        self._by_id[table_id] = entry
        return tm

    def rows(self, b: bytes, p: int, end: int, kind: str, v2: bool) -> RowsEvent:
        table_id = int.from_bytes(b[p : p + 6], "little")
        entry = self._by_id.get(table_id)
        if entry is None:
            raise DecodeError(
                f"a {kind} rows event for table id {table_id} without its table map",
                hint="start the stream at a transaction boundary (a commit position)",
            )
        flags = b[p + 6] | b[p + 7] << 8
        p += 8
        if v2:
            p += b[p] | b[p + 1] << 8  # extra data, its 2-byte length included
        if entry.readers is None:
            return RowsEvent(entry.table, kind, None, flags)
        try:
            rows = _decode_rows(b, p, end, kind, entry.readers, entry.compiled)
        except DecodeError as e:
            e.table = f"{entry.table.schema}.{entry.table.name}"
            raise
        return RowsEvent(entry.table, kind, rows, flags)


def _decode_rows(  # noqa: PLR0917 - the hot path takes positions
    b: bytes,
    p: int,
    end: int,
    kind: str,
    readers: tuple[bv.Reader, ...],
    compiled: bll.Compiled | None = None,
) -> list[tuple[Value, ...]] | list[tuple[tuple[Value, ...], tuple[Value, ...]]]:
    """The rows of one event; full row images through `compiled` when given (identical
    values, binlog_layout), the rest column by column."""
    count, p = lenenc(b, p)
    if count != len(readers):
        raise DecodeError(f"rows event has {count} columns, its table map {len(readers)}")
    nbytes = (count + 7) // 8
    full = (1 << count) - 1
    present = int.from_bytes(b[p : p + nbytes], "little")
    p += nbytes
    if kind == "update":
        present_after = int.from_bytes(b[p : p + nbytes], "little")
        p += nbytes
        pairs = []
        if compiled is not None and present == full and present_after == full:
            image = compiled.row
            while p < end:
                before, p = image(b, p)
                after, p = image(b, p)
                pairs.append((before, after))
            return pairs
        while p < end:
            before, p = _row(b, p, readers, present, full, ABSENT)
            after, p = _row(b, p, readers, present_after, full, UNCHANGED)
            pairs.append((before, after))
        return pairs
    if kind == "insert" and present != full:
        raise DecodeError("an insert without every column: set binlog_row_image = FULL")
    rows: list[tuple[Value, ...]] = []
    if compiled is not None and present == full:
        p = compiled.rows(b, p, end, rows)
    else:
        while p < end:
            row, p = _row(b, p, readers, present, full, ABSENT)
            rows.append(row)
    if p != end:
        raise DecodeError("rows event overruns its length")
    return rows


def _row(  # noqa: PLR0917 - the hot path takes positions
    b: bytes, p: int, readers: tuple[bv.Reader, ...], present: int, full: int, missing: Value
) -> tuple[tuple[Value, ...], int]:
    """One row image: the NULL bitmap (one bit per present column), then the values."""
    if present == full:
        nbytes = (len(readers) + 7) >> 3
        nulls = int.from_bytes(b[p : p + nbytes], "little")
        p += nbytes
        out: list[Value] = []
        append = out.append
        if not nulls:
            for read in readers:
                v, p = read(b, p)
                append(v)
            return tuple(out), p
        for read in readers:
            if nulls & 1:
                append(None)
            else:
                v, p = read(b, p)
                append(v)
            nulls >>= 1
        return tuple(out), p
    nbytes = (present.bit_count() + 7) >> 3
    nulls = int.from_bytes(b[p : p + nbytes], "little")
    p += nbytes
    out = []
    for i, read in enumerate(readers):
        if not present >> i & 1:
            out.append(missing)
            continue
        if nulls & 1:
            out.append(None)
        else:
            v, p = read(b, p)
            out.append(v)
        nulls >>= 1
    return tuple(out), p
