"""`dbbridge verify`: one canonical text per column value, the same on PostgreSQL and MySQL.

Verify hashes rows inside each server (`bridge.verify_sides`), so both servers must print equal
values as equal bytes. Each column gets a *canon* from the pair of column types (the source's and
the target's), and each engine renders that canon from its own type, following
docs/type-mapping.md. PostgreSQL -> PostgreSQL needs none of this: both sides print a value with
the same output function (`exact`, the value's own text in the reader's session settings).

| canon    | canonical text                                  | PostgreSQL       | MySQL/MariaDB    |
|----------|-------------------------------------------------|------------------|------------------|
| num      | exact number, no trailing zeros; bool as 1/0    | `trim_scale`     | zeros trimmed    |
| float    | shortest round-trip digits as `0.DIGITSeEXP`    | `float8::text`   | `AS DOUBLE`      |
| text     | the characters                                  | `::text`         | `CONVERT`        |
| char     | the characters, trailing spaces dropped         | `rtrim`          | `TRIM TRAILING`  |
| hex      | bytes as lower-case hex                         | `encode`         | `HEX`            |
| date     | `YYYY-MM-DD`                                    | `::text`         | `AS CHAR`        |
| datetime | `YYYY-MM-DD HH:MM:SS.ffffff`, instants in UTC   | `to_char`        | `DATE_FORMAT`    |
| micros   | a duration (TIME, interval) in microseconds     | `extract(epoch)` | `TIME_TO_SEC`    |
| uuid     | lower-case text                                 | `::text`         | `LOWER`          |
| set      | members sorted by code point, comma-joined      | sorted `unnest`  | `FIND_IN_SET`    |
| bits     | `0`/`1` digits, the column's width              | `::text`         | `LPAD(BIN(…))`   |
| json     | re-rendered in Python: keys sorted, no spaces   | text             | text             |

Floats: both engines print the shortest digits that round-trip (PostgreSQL >= 12 with
extra_float_digits > 0, MariaDB's and MySQL's dtoa), but they disagree on layout ('1e-05' /
'0.00001', '1e+15' / '1e15'); the SQL below rewrites either layout to the same
`[-]0.DIGITSeEXP`, which `float_canon` specifies in Python. A MySQL FLOAT is widened to DOUBLE
first and a PostgreSQL real to float8, so both print the same double.

JSON cannot be normalized by the servers alike (MariaDB's JSON_NORMALIZE spells numbers as
doubles, PostgreSQL has no equivalent), so `json` columns are fetched and compared in Python:
`json_canon` sorts keys, drops spacing and spells numbers as exact decimals.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, TypeAlias

from psycopg import sql
from pymysql.converters import escape_string

from bridge.readers.mysqlschema import parse_labels
from bridge.translate.types import quote_mysql

Canon: TypeAlias = Literal[
    "exact", "num", "float", "text", "char", "hex", "date", "datetime", "micros", "uuid", "set",
    "bits", "json",
]  # fmt: skip
Key: TypeAlias = tuple[str, ...]
"""A row's key as the canonical text of each key column."""

PY_CANONS: Final = frozenset({"json"})
"""Canons compared in Python (the rows' values are fetched)."""
RANGE_CANONS: Final = frozenset({"exact", "num", "text", "char", "hex", "date", "datetime", "uuid"})
"""Canons whose order is the same on both engines (with text compared by code point), so a key
range selects the same rows on each side."""
TEXT_ORDER_CANONS: Final = frozenset({"text", "char", "uuid"})
"""Canons ordered by code point across engines (PostgreSQL COLLATE "C", MySQL binary)."""

# -- column families --------------------------------------------------------------------------

_PG_FAMILIES: Final = {
    "int2": "int", "int4": "int", "int8": "int", "oid": "int", "numeric": "numeric",
    "float4": "float4", "float8": "float8", "bool": "bool", "text": "text", "varchar": "text",
    "name": "text", "bpchar": "char", "bytea": "bytes", "date": "date", "timestamp": "timestamp",
    "timestamptz": "timestamptz", "time": "time", "interval": "interval", "uuid": "uuid",
    "json": "json", "jsonb": "jsonb", "bit": "bit", "varbit": "bit",
}  # fmt: skip
_MY_FAMILIES: Final = {
    "tinyint": "int", "smallint": "int", "mediumint": "int", "int": "int", "integer": "int",
    "bigint": "int", "year": "year", "decimal": "numeric", "float": "float4", "double": "float8",
    "char": "char", "varchar": "text", "tinytext": "text", "text": "text", "mediumtext": "text",
    "longtext": "text", "binary": "bytes", "varbinary": "bytes", "tinyblob": "bytes",
    "blob": "bytes", "mediumblob": "bytes", "longblob": "bytes", "date": "date",
    "datetime": "timestamp", "timestamp": "timestamptz", "time": "time", "enum": "enum",
    "set": "set", "bit": "bit", "json": "json", "uuid": "uuid",
}  # fmt: skip
_CLASS: Final[dict[str, Canon]] = {
    "int": "num", "year": "num", "numeric": "num", "bool": "num", "float4": "float",
    "float8": "float", "text": "text", "char": "char", "enum": "text", "other": "text",
    "bytes": "hex", "date": "date", "timestamp": "datetime", "timestamptz": "datetime",
    "time": "micros", "interval": "micros", "uuid": "uuid", "set": "set", "bit": "bits",
    "json": "json", "jsonb": "json", "array": "json",
}  # fmt: skip
"""Each family's canon when the other side's family has the same one."""
_PAIRS: Final[dict[frozenset[str], Canon]] = {
    frozenset({"text", "char"}): "char",  # PostgreSQL pads char(n) values a varchar keeps
    frozenset({"uuid", "text"}): "uuid",
    frozenset({"uuid", "char"}): "uuid",  # uuid -> char(36)
    frozenset({"set", "json"}): "set",  # MySQL SET -> text[] ("array" has class json)
}
"""Canons for pairs of different classes that the type mapping connects."""


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """A column as one side declares it."""

    name: str
    family: str
    """The value family: a key of _CLASS ('int', 'text', 'timestamptz', 'array', …)."""
    sql_type: str
    """PostgreSQL: the type without modifiers (`format_type(oid, NULL)`, for casts that never
    round or truncate); MySQL: COLUMN_TYPE."""
    collation: str | None = None
    """PostgreSQL: the resolved collation of a collatable column (the database's for 'default')."""
    labels: tuple[str, ...] = ()
    """MySQL SET members, in declaration order."""
    bits: int = 0
    """MySQL BIT(n)'s n."""
    element: str | None = None
    """PostgreSQL arrays: the element's family."""


def pg_family(base: str, typtype: str, category: str) -> str:
    """The family of a PostgreSQL type from its base type's name, typtype and typcategory."""
    if category == "A":
        return "array"
    if typtype == "e":
        return "enum"
    return _PG_FAMILIES.get(base, "other")


def mysql_family(data_type: str, column_type: str, *, is_json: bool = False) -> str:
    """The family of a MySQL column from information_schema DATA_TYPE and COLUMN_TYPE."""
    if is_json:
        return "json"
    ctype = column_type.lower().replace(" ", "")
    if data_type == "tinyint" and ctype.startswith("tinyint(1)") and "unsigned" not in ctype:
        return "bool"  # docs/type-mapping.md: tinyint(1) <-> boolean
    return _MY_FAMILIES.get(data_type, "other")


def mysql_labels(column_type: str) -> tuple[str, ...]:
    """The labels of an ENUM/SET COLUMN_TYPE."""
    inner = column_type[column_type.find("(") + 1 : column_type.rfind(")")]
    return parse_labels(inner)


def choose_canon(a: ColumnInfo, b: ColumnInfo, *, same_engine: bool) -> Canon:
    """How to compare a column declared `a` on one side and `b` on the other."""
    if same_engine:
        return "exact"
    ca, cb = _CLASS.get(a.family, "text"), _CLASS.get(b.family, "text")
    if ca == cb:
        return ca
    # A column whose types the mapping does not connect is compared as text: any difference in
    # how the servers print it shows up as a difference, never as a silent match.
    return _PAIRS.get(frozenset({ca, cb}), "text")


# -- PostgreSQL expressions -------------------------------------------------------------------


def pg_ident(name: str) -> str:
    """A quoted PostgreSQL identifier for query text that is executed with parameters."""
    return sql.Identifier(name).as_string(None).replace("%", "%%")


def _pg_float(text: str) -> str:
    u = f"ltrim({text}, '-')"
    mantissa = f"split_part({u}, 'e', 1)"
    exp = f"coalesce(nullif(split_part({u}, 'e', 2), ''), '0')::int"
    whole = f"split_part({mantissa}, '.', 1)"
    digits = f"replace({mantissa}, '.', '')"
    unled = f"ltrim({digits}, '0')"
    sig = f"rtrim({unled}, '0')"
    power = f"(length({whole}) + {exp} - length({digits}) + length({unled}))"
    sign = f"CASE WHEN left({text}, 1) = '-' THEN '-' ELSE '' END"
    return (
        f"CASE WHEN strpos({text}, 'n') > 0 THEN {text} WHEN {sig} = '' THEN '0'"
        f" ELSE {sign} || '0.' || {sig} || 'e' || {power}::text END"
    )


_PG_DATETIME: Final = "'YYYY-MM-DD HH24:MI:SS.US'"


def pg_expr(canon: Canon, col: ColumnInfo) -> str:  # noqa: PLR0911 - one rendering per canon
    """The canonical text of `col` on PostgreSQL, as SQL (NULL stays NULL)."""
    c = pg_ident(col.name)
    fam = col.family
    if canon == "num":
        if fam == "numeric":
            return f"trim_scale({c})::text"
        return f"{c}::int::text" if fam == "bool" else f"{c}::text"
    if canon == "float":
        return _pg_float(f"{c}::float8::text")
    if canon == "char":
        return f"rtrim({c}::text, ' ')"
    if canon == "hex":
        return f"encode({c}, 'hex')"
    if canon == "datetime":
        # to_char prints infinity as ''; the plain text keeps it distinct.
        utc = f"{c} AT TIME ZONE 'UTC'" if fam == "timestamptz" else c
        return f"CASE WHEN isfinite({c}) THEN to_char({utc}, {_PG_DATETIME}) ELSE {c}::text END"
    if canon == "micros":
        # extract gives a double before PostgreSQL 14 and numeric since: round() suits both.
        return f"round(extract(epoch FROM {c}) * 1000000)::bigint::text"
    if canon == "uuid":
        return f"lower({c}::text)"
    if canon == "set" and fam == "array":
        return (
            f"CASE WHEN {c} IS NULL THEN NULL ELSE array_to_string(ARRAY(SELECT x::text"  # noqa: S608 - quoted
            f" FROM unnest({c}) AS x ORDER BY x::text COLLATE \"C\"), ',') END"
        )
    if canon == "json" and fam == "array":
        return f"to_jsonb({c})::text"
    return f"{c}::text"


# -- MySQL expressions --------------------------------------------------------------------------


def my_ident(name: str) -> str:
    """A quoted MySQL identifier for query text that is executed with parameters."""
    return quote_mysql(name).replace("%", "%%")


def my_literal(text: str) -> str:
    """A MySQL string literal for query text that is executed with parameters."""
    return "'" + escape_string(text).replace("%", "%%") + "'"


def _my_float(text: str) -> str:
    u = f"TRIM(LEADING '-' FROM {text})"
    mantissa = f"SUBSTRING_INDEX({u}, 'e', 1)"
    exp = f"IF(LOCATE('e', {u}) > 0, CAST(SUBSTRING_INDEX({u}, 'e', -1) AS SIGNED), 0)"
    whole = f"SUBSTRING_INDEX({mantissa}, '.', 1)"
    digits = f"REPLACE({mantissa}, '.', '')"
    unled = f"TRIM(LEADING '0' FROM {digits})"
    sig = f"TRIM(TRAILING '0' FROM {unled})"
    power = f"(CHAR_LENGTH({whole}) + {exp} - CHAR_LENGTH({digits}) + CHAR_LENGTH({unled}))"
    return (
        f"CASE WHEN LOCATE('n', {text}) > 0 THEN {text} WHEN {sig} = '' THEN '0'"
        f" ELSE CONCAT(IF(LEFT({text}, 1) = '-', '-', ''), '0.', {sig}, 'e', {power}) END"
    )


def _my_trim_zeros(text: str) -> str:
    return (
        f"IF(LOCATE('.', {text}) > 0,"
        f" TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {text})), {text})"
    )


def my_expr(canon: Canon, col: ColumnInfo) -> str:  # noqa: PLR0911 - one rendering per canon
    """The canonical text of `col` on MySQL/MariaDB, as SQL (NULL stays NULL)."""
    c = my_ident(col.name)
    fam = col.family
    if canon == "num":
        if fam == "numeric":
            return _my_trim_zeros(f"CAST({c} AS CHAR)")
        return f"CAST({c} + 0 AS CHAR)" if fam == "year" else f"CAST({c} AS CHAR)"
    if canon == "float":
        return _my_float(f"CAST(CAST({c} AS DOUBLE) AS CHAR)")
    if canon == "char":
        return f"TRIM(TRAILING ' ' FROM CONVERT({c} USING utf8mb4))"
    if canon == "hex":
        return f"LOWER(HEX({c}))"
    if canon == "datetime":
        return f"DATE_FORMAT({c}, '%%Y-%%m-%%d %%H:%%i:%%s.%%f')"
    if canon == "micros":
        return f"CAST(CAST(TIME_TO_SEC({c}) * 1000000 AS SIGNED) AS CHAR)"
    if canon == "uuid":
        return f"LOWER(CONVERT({c} USING utf8mb4))"
    if canon == "set" and fam == "set":
        members = ", ".join(
            f"IF(FIND_IN_SET({my_literal(m)}, {c}) > 0, {my_literal(m)}, NULL)"
            for m in sorted(col.labels)
        )
        return f"IF({c} IS NULL, NULL, CONCAT_WS(',', {members}))"
    if canon == "bits":
        return f"LPAD(BIN({c} + 0), {max(col.bits, 1)}, '0')"
    if canon in ("date", "json"):
        return f"CAST({c} AS CHAR)"
    return f"CONVERT({c} USING utf8mb4)"


# -- row hashes ---------------------------------------------------------------------------------
# A row's text is its canonical values joined by '|', each prefixed with 'v' after escaping '~'
# and '|' (NULL is 'N'): injective, so two rows hash alike only when every value is equal, and
# NULL never equals '' or 'N'.


def pg_row_text(exprs: Sequence[str]) -> str:
    fields = [f"coalesce('v' || replace(replace({e}, '~', '~~'), '|', '~p'), 'N')" for e in exprs]
    return f"concat_ws('|', {', '.join(fields)})" if fields else "''"


def my_row_text(exprs: Sequence[str]) -> str:
    fields = [
        f"COALESCE(CONCAT('v', REPLACE(REPLACE({e}, '~', '~~'), '|', '~p')), 'N')" for e in exprs
    ]
    return f"CONCAT_WS('|', {', '.join(fields)})" if fields else "''"


# -- Python references ----------------------------------------------------------------------


def float_canon(text: str) -> str:
    """The `float` canon of a float's shortest round-trip text (either engine's layout); the SQL
    renderings above compute exactly this."""
    if "n" in text.lower():  # NaN, Infinity, -Infinity
        return text
    sign = "-" if text.startswith("-") else ""
    mantissa, _, exp = text.lstrip("-").lower().partition("e")
    whole = mantissa.partition(".")[0]
    digits = mantissa.replace(".", "")
    unled = digits.lstrip("0")
    sig = unled.rstrip("0")
    if not sig:
        return "0"
    power = len(whole) + int(exp or "0") - len(digits) + len(unled)
    return f"{sign}0.{sig}e{power}"


def decimal_text(value: Decimal) -> str:
    """An exact number without trailing fraction zeros or exponent (1.50 -> 1.5, 1E+3 -> 1000)."""
    if not value.is_finite():
        return str(value)
    # String work, not normalize(): Decimal arithmetic rounds to the context's 28 digits.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_TEMPORAL_ELEMENTS: Final = frozenset({"timestamp", "timestamptz", "time", "date"})


def json_canon(text: str | None, *, element: str | None = None) -> str | None:
    """JSON text in one spelling: keys sorted, no spaces, numbers as exact decimals.

    `element` is the element family of a PostgreSQL array rendered by `to_jsonb`: its dates and
    times are re-spelled the way the MySQL applier writes array elements (ISO with a space,
    six fraction digits when there is a fraction, instants in UTC).
    """
    if text is None:
        return None
    doc = json.loads(text, parse_float=Decimal)
    return _render(doc, element if element in _TEMPORAL_ELEMENTS else None)


def _render(v: object, temporal: str | None) -> str:  # noqa: PLR0911 - one case per JSON kind
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, Decimal | float):
        return decimal_text(Decimal(str(v)))
    if isinstance(v, str):
        return json.dumps(_temporal(v) if temporal else v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(_render(x, temporal) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items())
        pairs = (json.dumps(k, ensure_ascii=False) + ":" + _render(x, temporal) for k, x in items)
        return "{" + ",".join(pairs) + "}"
    return json.dumps(str(v))


def _temporal(text: str) -> str:
    """A PostgreSQL to_jsonb date/time string as the MySQL applier spells it."""
    try:
        if len(text) <= 10 and text.count("-") == 2:
            return dt.date.fromisoformat(text).isoformat()
        if "-" not in text[:5]:
            return dt.time.fromisoformat(text).isoformat()
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(" ")
