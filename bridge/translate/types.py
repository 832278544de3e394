"""Column types across engines: MySQL/MariaDB and PostgreSQL type text <-> neutral `ColumnType`.

The translator's type layer. Readers turn a source's declared type text into a neutral
`ColumnType` (`from_mysql`, `from_postgres`); the DDL translator and appliers turn a neutral type
into the target's type text (`to_postgres`, `to_mysql`). Both directions are declared tables, in
the manner of sqlglot's dialects: a small classifier names the rule (`int32`, `uint64`, `bool`,
`text_fixed`…) and the table says what it becomes. docs/type-mapping.md explains every rule.

Whatever has no faithful target goes through the one `unsupported()` path: with the default
`TypePolicy` it raises a `TranslateError` that names the column, the type and the policy knob that
would accept the loss; with the knob set, the fallback is used and a note says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Final, Literal, NoReturn

from bridge.errors import TranslateError
from bridge.log.events import Column, ColumnType, TableName

# --------------------------------------------------------------------------------------- policy


@dataclass(frozen=True, slots=True, kw_only=True)
class TypePolicy:
    """Opt-in coercions. The defaults are strict: a mapping that would lose data is an error."""

    zero_dates: Literal["error", "null"] = "error"
    """MySQL zero dates ('0000-00-00'): 'error' rejects them (at apply time, and a zero-date
    DEFAULT at DDL time); 'null' stores NULL, so date/datetime/timestamp columns lose NOT NULL."""
    numeric: Literal["error", "max"] = "error"
    """PostgreSQL numeric without precision, or beyond MySQL's decimal(65,30): 'max' maps it to
    decimal(65,30) (values with more digits are then rejected or rounded by MySQL)."""
    interval: Literal["error", "text"] = "error"
    """PostgreSQL interval to MySQL: 'text' stores its text in a varchar(64)."""
    unsupported: Literal["error", "text"] = "error"
    """Any type without a mapping (timetz, inet, xml, geometry, bit(n > 64)…): 'text' stores its
    text form (PostgreSQL text, MySQL longtext)."""
    on_update: Literal["drop", "error"] = "drop"
    """MySQL ON UPDATE CURRENT_TIMESTAMP: 'drop' leaves it out with a note (replicated rows carry
    the source's values, so the target needs no trigger); 'error' refuses the statement."""


# The CLI option that sets each knob, named in every error's hint.
KNOB_OPTIONS: Final[Mapping[str, str]] = {
    "zero_dates": "--zero-dates",
    "numeric": "--numeric",
    "interval": "--interval",
    "unsupported": "--unsupported",
    "on_update": "--on-update",
}


def unsupported(what: str, *, knob: str, accept: str, column: str | None = None) -> NoReturn:
    """The one way out for a construct the policy does not accept: a TranslateError whose hint
    names the knob (and the CLI option) that would accept it."""
    where = f"column {column!r}: " if column else ""
    option = KNOB_OPTIONS.get(knob, f"--{knob}")
    raise TranslateError(
        f"{where}{what}",
        hint=f"to accept it, set TypePolicy({knob}={accept!r}) or pass {option} {accept}",
    )


@dataclass(frozen=True, slots=True)
class Mapped:
    """A target type and the note a lossy-but-accepted mapping leaves."""

    sql: str
    note: str | None = None


# ----------------------------------------------------------------------------------- type text

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|''|\\.)*')|(?P<qid>\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`)"
    r"|(?P<num>\d+)|(?P<word>[A-Za-z_][A-Za-z_0-9$]*)|(?P<punct>[(),.\[\]]))"
)


@dataclass(frozen=True, slots=True)
class _Parsed:
    """A type's text split into its name words, its arguments and the words after them."""

    name: str
    args: tuple[str, ...]
    after: tuple[str, ...]
    array_dims: int = 0


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise TranslateError(f"cannot read the type {text!r} (at {text[pos:]!r})")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _split_type(text: str) -> _Parsed:
    """Split 'int(10) unsigned', "enum('a','b')", 'timestamp(3) with time zone', 'text[]'."""
    tokens = _lex(text)
    name: list[str] = []
    args: list[str] = []
    after: list[str] = []
    dims = 0
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if value == "(":
            j = i + 1
            while j < len(tokens) and tokens[j][1] != ")":
                if tokens[j][1] != ",":
                    args.append(_unquote(*tokens[j]))
                j += 1
            i = j + 1
            continue
        if value == "[":
            dims += 1
            i += 2 if i + 1 < len(tokens) and tokens[i + 1][1] == "]" else 3
            continue
        target = after if args else name
        target.append(_unquote(kind, value) if kind in ("qid", "str") else value.lower())
        i += 1
    return _Parsed(" ".join(name), tuple(args), tuple(after), dims)


def _unquote(kind: str, value: str) -> str:
    if kind == "str":
        body = value[1:-1].replace("''", "'")
        return re.sub(r"\\(.)", r"\1", body)
    if kind == "qid":
        return value[1:-1].replace(value[0] * 2, value[0])
    return value


def _int_arg(p: _Parsed, index: int, default: int | None) -> int | None:
    return int(p.args[index]) if len(p.args) > index else default


# --------------------------------------------------------------------------- MySQL -> neutral

# MySQL/MariaDB type names (COLUMN_TYPE and DDL spellings) -> (kind, bits or None, fixed).
# INT8 is MySQL's BIGINT and REAL its DOUBLE (default sql_mode); sqlglot reads both wrong.
MYSQL_NAMES: Final[Mapping[str, tuple[str, int | None, bool]]] = {
    "tinyint": ("int", 8, False),
    "int1": ("int", 8, False),
    "smallint": ("int", 16, False),
    "int2": ("int", 16, False),
    "year": ("int", 16, False),
    "mediumint": ("int", 24, False),
    "middleint": ("int", 24, False),
    "int3": ("int", 24, False),
    "int": ("int", 32, False),
    "integer": ("int", 32, False),
    "int4": ("int", 32, False),
    "bigint": ("int", 64, False),
    "int8": ("int", 64, False),
    "decimal": ("decimal", None, False),
    "dec": ("decimal", None, False),
    "numeric": ("decimal", None, False),
    "fixed": ("decimal", None, False),
    "float": ("float", 32, False),
    "float4": ("float", 32, False),
    "double": ("float", 64, False),
    "double precision": ("float", 64, False),
    "real": ("float", 64, False),
    "float8": ("float", 64, False),
    "bit": ("bits", None, True),
    "date": ("date", None, False),
    "datetime": ("timestamp", None, False),
    "timestamp": ("timestamptz", None, False),
    "time": ("interval", None, False),
    "char": ("text", None, True),
    "nchar": ("text", None, True),
    "national char": ("text", None, True),
    "character": ("text", None, True),
    "varchar": ("text", None, False),
    "nvarchar": ("text", None, False),
    "national varchar": ("text", None, False),
    "character varying": ("text", None, False),
    "tinytext": ("text", None, False),
    "text": ("text", None, False),
    "mediumtext": ("text", None, False),
    "long": ("text", None, False),
    "long varchar": ("text", None, False),
    "longtext": ("text", None, False),
    "binary": ("bytes", None, True),
    "varbinary": ("bytes", None, False),
    "tinyblob": ("bytes", None, False),
    "blob": ("bytes", None, False),
    "mediumblob": ("bytes", None, False),
    "long varbinary": ("bytes", None, False),
    "longblob": ("bytes", None, False),
    "enum": ("enum", None, False),
    "set": ("set", None, False),
    "json": ("json", None, False),
    "uuid": ("uuid", None, False),
}

# DDL shorthands MySQL expands before storing: what information_schema shows instead.
MYSQL_ALIASES: Final[Mapping[str, str]] = {
    "bool": "tinyint(1)",
    "boolean": "tinyint(1)",
    "serial": "bigint(20) unsigned",
}


@dataclass(frozen=True, slots=True)
class _Spec:
    """What a builder gets: the table's kind, bits and fixedness, the text and its parts."""

    kind: str
    text: str
    p: _Parsed
    bits: int | None
    fixed: bool


Builder = Callable[[_Spec], ColumnType]


def _my_int(s: _Spec) -> ColumnType:
    unsigned = "unsigned" in s.text.split()
    return ColumnType("uint" if unsigned else "int", s.text, size=s.bits)


def _my_float(s: _Spec) -> ColumnType:
    # FLOAT(p) with p > 24 is a DOUBLE; FLOAT(m,d) stays single precision.
    double = s.p.name.startswith("float") and len(s.p.args) == 1 and int(s.p.args[0]) > 24
    return ColumnType("float", s.text, size=64 if double else s.bits)


def _my_decimal_type(s: _Spec) -> ColumnType:
    # MySQL's DECIMAL alone is DECIMAL(10,0).
    return ColumnType(s.kind, s.text, precision=_int_arg(s.p, 0, 10), scale=_int_arg(s.p, 1, 0))


def _labelled(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, labels=s.p.args)


def _my_bits_type(s: _Spec) -> ColumnType:
    return ColumnType("bits", s.text, size=_int_arg(s.p, 0, 1), fixed=True)


def _my_fsp(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, precision=_int_arg(s.p, 0, 0))


def _my_sized(s: _Spec) -> ColumnType:
    # char/binary default to 1; varchar/varbinary carry a length; the text/blob family has none.
    unbounded = s.p.name.endswith(("text", "blob")) or s.p.name.startswith("long")
    size = None if unbounded else _int_arg(s.p, 0, 1 if s.fixed else None)
    return ColumnType(s.kind, s.text, size=size, fixed=s.fixed)


def _plain(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, size=s.bits)


MYSQL_BUILDERS: Final[Mapping[str, Builder]] = {
    "int": _my_int,
    "float": _my_float,
    "decimal": _my_decimal_type,
    "enum": _labelled,
    "set": _labelled,
    "bits": _my_bits_type,
    "timestamp": _my_fsp,
    "timestamptz": _my_fsp,
    "interval": _my_fsp,
    "text": _my_sized,
    "bytes": _my_sized,
}

_MYSQL_MODIFIERS = ("unsigned", "signed", "zerofill", "binary", "ascii", "unicode")


def from_mysql(column_type: str, *, is_json: bool = False) -> ColumnType:
    """The neutral type of a MySQL/MariaDB column, from information_schema's COLUMN_TYPE or a DDL
    spelling. `is_json`: the column is MariaDB JSON (a longtext with a json_valid check)."""
    text = " ".join(column_type.strip().lower().split())
    text = MYSQL_ALIASES.get(text, text)
    p = _split_type(text)
    first, *rest = p.name.split() or [""]
    base = " ".join([first, *(w for w in rest if w not in _MYSQL_MODIFIERS)])
    if base not in MYSQL_NAMES:
        return ColumnType("other", text)
    kind, bits, fixed = MYSQL_NAMES[base]
    if is_json and kind == "text":
        return ColumnType("json", text)
    builder = MYSQL_BUILDERS.get(kind, _plain)
    return builder(_Spec(kind, text, dataclasses.replace(p, name=base), bits, fixed))


# ------------------------------------------------------------------------ PostgreSQL -> neutral

# format_type() names and DDL spellings -> (kind, bits or None, fixed).
POSTGRES_NAMES: Final[Mapping[str, tuple[str, int | None, bool]]] = {
    "boolean": ("bool", None, False),
    "bool": ("bool", None, False),
    "smallint": ("int", 16, False),
    "int2": ("int", 16, False),
    "smallserial": ("int", 16, False),
    "serial2": ("int", 16, False),
    "integer": ("int", 32, False),
    "int": ("int", 32, False),
    "int4": ("int", 32, False),
    "serial": ("int", 32, False),
    "serial4": ("int", 32, False),
    "bigint": ("int", 64, False),
    "int8": ("int", 64, False),
    "bigserial": ("int", 64, False),
    "serial8": ("int", 64, False),
    "numeric": ("decimal", None, False),
    "decimal": ("decimal", None, False),
    "real": ("float", 32, False),
    "float4": ("float", 32, False),
    "double precision": ("float", 64, False),
    "float8": ("float", 64, False),
    "double": ("float", 64, False),
    "float": ("float", 64, False),
    "text": ("text", None, False),
    "character varying": ("text", None, False),
    "varchar": ("text", None, False),
    "character": ("text", None, True),
    "char": ("text", None, True),
    "bpchar": ("text", None, True),
    "name": ("text", None, False),
    "bytea": ("bytes", None, False),
    "uuid": ("uuid", None, False),
    "json": ("json", None, False),
    "jsonb": ("json", None, False),
    "date": ("date", None, False),
    "time": ("time", None, False),
    "time without time zone": ("time", None, False),
    "time with time zone": ("timetz", None, False),
    "timetz": ("timetz", None, False),
    "timestamp": ("timestamp", None, False),
    "timestamp without time zone": ("timestamp", None, False),
    "timestamp with time zone": ("timestamptz", None, False),
    "timestamptz": ("timestamptz", None, False),
    "interval": ("interval", None, False),
    "bit": ("bits", None, True),
    "bit varying": ("bits", None, False),
    "varbit": ("bits", None, False),
}

_PG_ZONE_WORDS = ("with time zone", "without time zone")


def _pg_decimal_type(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, precision=_int_arg(s.p, 0, None), scale=_int_arg(s.p, 1, 0))


def _pg_fsp(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, precision=_int_arg(s.p, 0, None))


def _pg_bits(s: _Spec) -> ColumnType:
    return ColumnType(s.kind, s.text, size=_int_arg(s.p, 0, 1 if s.fixed else None), fixed=s.fixed)


def _pg_text(s: _Spec) -> ColumnType:
    default = 1 if s.fixed else (63 if s.p.name == "name" else None)
    return ColumnType(s.kind, s.text, size=_int_arg(s.p, 0, default), fixed=s.fixed)


def _pg_float(s: _Spec) -> ColumnType:
    real = s.p.name == "float" and bool(s.p.args) and int(s.p.args[0]) <= 24  # float(1..24)
    return ColumnType(s.kind, s.text, size=32 if real else s.bits)


POSTGRES_BUILDERS: Final[Mapping[str, Builder]] = {
    "decimal": _pg_decimal_type,
    "time": _pg_fsp,
    "timetz": _pg_fsp,
    "timestamp": _pg_fsp,
    "timestamptz": _pg_fsp,
    "interval": _pg_fsp,
    "bits": _pg_bits,
    "text": _pg_text,
    "float": _pg_float,
}


def from_postgres(type_sql: str, *, labels: tuple[str, ...] | None = None) -> ColumnType:
    """The neutral type of a PostgreSQL column from its format_type() text (or a DDL spelling).

    A user enum type needs its `labels` (from pg_enum); any other unknown name is kind 'other'.
    """
    text = " ".join(type_sql.strip().split())
    p = _split_type(text)
    name = p.name
    if p.after and " ".join(p.after) in _PG_ZONE_WORDS:
        name = f"{name} {' '.join(p.after)}"  # 'timestamp(3) with time zone'
    if name.startswith("interval"):
        name = "interval"  # 'interval year to month', 'interval second(3)'
    if p.array_dims:
        element = from_postgres(_without_array(text), labels=labels)
        return ColumnType("array", text.lower(), element=element)
    if labels is not None:
        return ColumnType("enum", text, labels=tuple(labels))
    if name not in POSTGRES_NAMES:
        return ColumnType("other", text)
    kind, bits, fixed = POSTGRES_NAMES[name]
    builder = POSTGRES_BUILDERS.get(kind, _plain)
    return builder(_Spec(kind, text.lower(), dataclasses.replace(p, name=name), bits, fixed))


def _without_array(text: str) -> str:
    out = text.rstrip()
    while out.endswith("]"):
        out = out[: out.rindex("[")].rstrip()
    return out


# ------------------------------------------------------------------------ enum type naming

_PG_NAME_MAX = 63


def pg_enum_name(table: TableName | None, column: str | None, labels: tuple[str, ...]) -> str:
    """Name of the PostgreSQL enum type that stands for a MySQL enum column (unquoted).

    `<table>_<column>_<hash of the labels>`: deterministic, so replaying a statement finds the
    same type, and collision-safe, because the same name always means the same labels (a MODIFY
    that changes the labels makes a new type). Cut to PostgreSQL's 63-byte identifier limit.
    """
    digest = hashlib.sha256("\x00".join(labels).encode()).hexdigest()[:8]
    stem = "_".join(x for x in ((table.name if table else ""), column or "") if x) or "enum"
    room = _PG_NAME_MAX - len(digest) - 1
    stem_bytes = stem.encode()[:room].decode(errors="ignore")
    return f"{stem_bytes}_{digest}"


# --------------------------------------------------------------------------- neutral -> target


def _rule_key(col: ColumnType) -> str:
    """The table key of a neutral type: its kind plus what decides the rule."""
    if col.kind == "int" and col.size == 8 and col.source_type.startswith("tinyint(1)"):
        return "bool"  # MySQL's boolean convention (pgloader: tinyint(1) -> boolean)
    if col.kind in ("int", "uint", "float"):
        return f"{col.kind}{col.size}"
    if col.kind in ("text", "bytes", "bits") and col.fixed:
        return f"{col.kind}_fixed"
    if col.kind == "interval" and col.source_type.startswith("time"):
        return "mysql_time"
    return col.kind


def _fsp(col: ColumnType) -> str:
    # PostgreSQL's default precision is microseconds; MySQL's is whole seconds. Say it always.
    return f"({6 if col.precision is None else col.precision})"


def _q(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _pg_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_pg(name: str) -> str:
    """A PostgreSQL identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_mysql(name: str) -> str:
    """A MySQL identifier, always quoted."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    """What a rule needs besides the type: the policy, the column and its table."""

    policy: TypePolicy
    column: str | None = None
    table: TableName | None = None
    notes: list[str] = field(default_factory=list)


Rule = Callable[[ColumnType, _Context], str]


def _pg_numeric(col: ColumnType, _ctx: _Context) -> str:
    if col.precision is None:
        return "numeric"
    return f"numeric({col.precision},{col.scale or 0})"


def _pg_enum(col: ColumnType, ctx: _Context) -> str:
    name = pg_enum_name(ctx.table, ctx.column, col.labels)
    if ctx.table is not None and ctx.table.schema:
        return f"{quote_pg(ctx.table.schema)}.{quote_pg(name)}"
    return quote_pg(name)


def _pg_array(col: ColumnType, ctx: _Context) -> str:
    element = col.element or ColumnType("other", col.source_type)
    return f"{PostgresTypes.map(element, ctx)}[]"


def _pg_other(col: ColumnType, ctx: _Context) -> str:
    return _fallback(col, ctx, "text", "has no PostgreSQL type")


def _fallback(col: ColumnType, ctx: _Context, target: str, why: str) -> str:
    if ctx.policy.unsupported != "text":
        unsupported(
            f"type {col.source_type!r} {why}", knob="unsupported", accept="text", column=ctx.column
        )
    ctx.notes.append(f"column {ctx.column or '?'}: {col.source_type} stored as its text ({target})")
    return target


class PostgresTypes:
    """Neutral type -> PostgreSQL type text (MySQL sources, and PostgreSQL ones unchanged)."""

    RULES: ClassVar[dict[str, Rule]] = {
        "bool": lambda _c, _x: "boolean",
        "int8": lambda _c, _x: "smallint",  # PostgreSQL has no one-byte integer
        "int16": lambda _c, _x: "smallint",
        "int24": lambda _c, _x: "integer",
        "int32": lambda _c, _x: "integer",
        "int64": lambda _c, _x: "bigint",
        # Unsigned widens one size, so every value fits (pgloader's rule).
        "uint8": lambda _c, _x: "smallint",
        "uint16": lambda _c, _x: "integer",
        "uint24": lambda _c, _x: "bigint",
        "uint32": lambda _c, _x: "bigint",
        "uint64": lambda _c, _x: "numeric(20,0)",
        "decimal": _pg_numeric,
        "float32": lambda _c, _x: "real",
        "float64": lambda _c, _x: "double precision",
        "bits_fixed": lambda c, _x: f"bit({c.size or 1})",
        "bits": lambda c, _x: f"varbit({c.size})" if c.size else "varbit",
        "date": lambda _c, _x: "date",
        "timestamp": lambda c, _x: f"timestamp{_fsp(c)}",
        "timestamptz": lambda c, _x: f"timestamptz{_fsp(c)}",
        # MySQL TIME is a duration (-838:59:59 … 838:59:59), not a time of day.
        "mysql_time": lambda c, _x: f"interval{_fsp(c)}",
        "interval": lambda c, _x: f"interval{_fsp(c)}",
        "time": lambda c, _x: f"time{_fsp(c)}",
        "timetz": lambda c, _x: f"timetz{_fsp(c)}",
        "text_fixed": lambda c, _x: f"char({c.size or 1})",
        "text": lambda c, _x: f"varchar({c.size})" if c.size else "text",
        "bytes_fixed": lambda _c, _x: "bytea",
        "bytes": lambda _c, _x: "bytea",
        "enum": _pg_enum,
        "set": lambda _c, _x: "text[]",
        "json": lambda _c, _x: "jsonb",
        "uuid": lambda _c, _x: "uuid",
        "array": _pg_array,
        "other": _pg_other,
    }

    @classmethod
    def map(cls, col: ColumnType, ctx: _Context) -> str:
        rule = cls.RULES.get(_rule_key(col), _pg_other)
        return rule(col, ctx)


def _my_decimal(col: ColumnType, ctx: _Context) -> str:
    p, s = col.precision, col.scale or 0
    if p is not None and p <= 65 and s <= 30:
        return f"decimal({p},{s})"
    if ctx.policy.numeric != "max":
        what = "without a precision" if p is None else f"({p},{s}) beyond decimal(65,30)"
        unsupported(
            f"type {col.source_type!r}: numeric {what} has no MySQL equivalent",
            knob="numeric",
            accept="max",
            column=ctx.column,
        )
    ctx.notes.append(f"column {ctx.column or '?'}: {col.source_type} narrowed to decimal(65,30)")
    return "decimal(65,30)"


# MySQL's longest varchar in utf8mb4 (65,535 bytes / 4 bytes a character); past it, longtext.
MYSQL_VARCHAR_MAX: Final = 16383
MYSQL_CHAR_MAX: Final = 255
MYSQL_BIT_MAX: Final = 64


def _my_varchar(col: ColumnType, _ctx: _Context) -> str:
    if col.size is not None and col.size <= MYSQL_VARCHAR_MAX:
        return f"varchar({col.size})"
    return "longtext"


def _my_char(col: ColumnType, ctx: _Context) -> str:
    size = col.size or 1
    if size <= MYSQL_CHAR_MAX:
        return f"char({size})"
    # PostgreSQL sends char(n) values padded; a varchar keeps them as sent.
    return _my_varchar(col, ctx)


def _my_bits(col: ColumnType, ctx: _Context) -> str:
    if col.size is not None and col.size <= MYSQL_BIT_MAX:
        return f"bit({col.size})"
    return _fallback(col, ctx, "longtext", "is longer than MySQL's bit(64)")


def _my_interval(col: ColumnType, ctx: _Context) -> str:
    if ctx.policy.interval != "text":
        unsupported(
            f"type {col.source_type!r}: MySQL has no interval type (TIME holds no months or days)",
            knob="interval",
            accept="text",
            column=ctx.column,
        )
    ctx.notes.append(f"column {ctx.column or '?'}: interval stored as its text")
    return "varchar(64)"


def _my_enum(col: ColumnType, ctx: _Context) -> str:
    if not col.labels:
        return _fallback(col, ctx, "longtext", "is an enum whose labels are unknown")
    return f"enum({','.join(_q(x) for x in col.labels)})"


def _my_uint(col: ColumnType, _ctx: _Context) -> str:
    return f"{MysqlTypes.INTS[col.size or 32]} unsigned"


def _my_other(col: ColumnType, ctx: _Context) -> str:
    return _fallback(col, ctx, "longtext", "has no MySQL type")


class MysqlTypes:
    """Neutral type -> MySQL/MariaDB type text (PostgreSQL sources, and MySQL ones unchanged)."""

    INTS: ClassVar[dict[int, str]] = {
        8: "tinyint",
        16: "smallint",
        24: "mediumint",
        32: "int",
        64: "bigint",
    }

    RULES: ClassVar[dict[str, Rule]] = {
        "bool": lambda _c, _x: "tinyint(1)",
        "int8": lambda _c, _x: "tinyint",
        "int16": lambda _c, _x: "smallint",
        "int24": lambda _c, _x: "mediumint",
        "int32": lambda _c, _x: "int",
        "int64": lambda _c, _x: "bigint",
        "uint8": _my_uint,
        "uint16": _my_uint,
        "uint24": _my_uint,
        "uint32": _my_uint,
        "uint64": _my_uint,
        "decimal": _my_decimal,
        "float32": lambda _c, _x: "float",
        "float64": lambda _c, _x: "double",
        "bits_fixed": _my_bits,
        # varbit(n) becomes bit(n): MySQL pads a shorter value with leading zeros.
        "bits": _my_bits,
        "date": lambda _c, _x: "date",
        "timestamp": lambda c, _x: f"datetime{_fsp(c)}",
        # The instant is kept, as UTC: the applier writes timestamptz values converted to UTC.
        "timestamptz": lambda c, _x: f"datetime{_fsp(c)}",
        "time": lambda c, _x: f"time{_fsp(c)}",
        "mysql_time": lambda c, _x: f"time{_fsp(c)}",
        "timetz": lambda c, x: _fallback(
            c, x, "varchar(64)", "(time with time zone) has no MySQL type"
        ),
        "interval": _my_interval,
        "text_fixed": _my_char,
        "text": _my_varchar,
        "bytes_fixed": lambda c, _x: f"binary({c.size or 1})",
        "bytes": lambda c, _x: f"varbinary({c.size})" if c.size else "longblob",
        "enum": _my_enum,
        "set": lambda c, _x: f"set({','.join(_q(v) for v in c.labels)})",
        "json": lambda _c, _x: "json",
        "uuid": lambda _c, _x: "char(36)",
        # Arrays become JSON arrays: MySQL has no array type.
        "array": lambda _c, _x: "json",
        "other": _my_other,
    }

    @classmethod
    def map(cls, col: ColumnType, ctx: _Context) -> str:
        rule = cls.RULES.get(_rule_key(col), _my_other)
        return rule(col, ctx)


def map_to_postgres(
    col: ColumnType,
    *,
    policy: TypePolicy,
    column: str | None = None,
    table: TableName | None = None,
) -> Mapped:
    """`to_postgres` with the note an accepted lossy mapping leaves."""
    ctx = _Context(policy=policy, column=column, table=table)
    sql = PostgresTypes.map(col, ctx)
    return Mapped(sql, "; ".join(ctx.notes) or None)


def map_to_mysql(col: ColumnType, *, policy: TypePolicy, column: str | None = None) -> Mapped:
    """`to_mysql` with the note an accepted lossy mapping leaves."""
    ctx = _Context(policy=policy, column=column)
    sql = MysqlTypes.map(col, ctx)
    return Mapped(sql, "; ".join(ctx.notes) or None)


def to_postgres(
    col: ColumnType,
    *,
    policy: TypePolicy = TypePolicy(),
    column: str | None = None,
    table: TableName | None = None,
) -> str:
    """PostgreSQL type text for `col`. A MySQL enum names its enum type after `table` and
    `column` (see `pg_enum_name`); the type itself is created by `pg_create_enum`."""
    return map_to_postgres(col, policy=policy, column=column, table=table).sql


def to_mysql(
    col: ColumnType, *, policy: TypePolicy = TypePolicy(), column: str | None = None
) -> str:
    """MySQL/MariaDB type text for `col`."""
    return map_to_mysql(col, policy=policy, column=column).sql


def pg_create_enum(type_sql: str, labels: tuple[str, ...]) -> str:
    """A statement creating the enum type `type_sql` (quoted) unless it exists.

    PostgreSQL has no CREATE TYPE IF NOT EXISTS; a DO block ignoring duplicate_object does it, and
    is safe because the name (`pg_enum_name`) always means the same labels.
    """
    create = f"CREATE TYPE {type_sql} AS ENUM ({', '.join(_pg_str(x) for x in labels)})"
    tag, n = "$bridge$", 0
    while tag in create:  # a dollar quote must not occur in what it quotes
        n += 1
        tag = f"$bridge{n}$"
    return f"DO {tag} BEGIN {create}; EXCEPTION WHEN duplicate_object THEN NULL; END {tag}"


# Kinds that can hold a MySQL zero date.
ZERO_DATE_KINDS: Final = frozenset({"date", "timestamp", "timestamptz"})


def holds_zero_dates(col: ColumnType) -> bool:
    """Whether a MySQL column of this type may hold zero dates ('0000-00-00…')."""
    return col.kind in ZERO_DATE_KINDS


def pg_not_null(column: Column, *, policy: TypePolicy) -> bool:
    """Whether the PostgreSQL column keeps NOT NULL: under zero_dates='null' a MySQL date column
    must accept the NULL a zero date becomes."""
    if column.nullable:
        return False
    return not (policy.zero_dates == "null" and holds_zero_dates(column.type))


def is_zero_date_literal(text: str) -> bool:
    """'0000-00-00', '0000-00-00 00:00:00', '2024-00-10': a date MySQL accepts and others don't."""
    date = text.strip().split(" ")[0]
    parts = date.split("-")
    return len(parts) == 3 and all(p.isdigit() for p in parts) and any(int(p) == 0 for p in parts)
