"""Value kinds of the common logical log: the Python types a row value may take.

Readers produce these, appliers consume them, and `bridge.log.jsonl` serializes them without loss.
Plain Python types cover most values (int of any size, bool, float, Decimal, str, bytes, date, time,
datetime, UUID, list for arrays); the small classes below cover what Python's types cannot hold or
would hold ambiguously:

- `UNCHANGED`: a column the source did not send because it did not change (PostgreSQL unchanged
  TOAST). It is not NULL: the applier must keep the target's value.
- `ABSENT`: a column missing from a `before` image that carries only the key (replica identity
  DEFAULT, MySQL binlog_row_image=MINIMAL).
- `Json`: a JSON document kept as its text, so key order, duplicate keys and number spelling
  survive.
- `BitString`: bit(n) / varbit / MySQL BIT(n), as a string of '0' and '1' whose length counts.
- `Interval`: PostgreSQL interval (months, days and microseconds are independent quantities) and
  MySQL TIME, which may exceed 24 hours or be negative.
- `ZeroDate`: a MySQL zero or partly zero date ('0000-00-00', '2024-00-15'), flagged and kept as
  written: never silently turned into NULL or a real date.
- `SpecialTemporal`: a date, time or timestamp Python cannot represent (PostgreSQL 'infinity',
  '-infinity', BC dates, years past 9999, the time '24:00:00'), kept as the server's text.
- `MysqlSet`: a MySQL SET value, the set of its members.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, TypeAlias


class _Marker:
    """A named singleton; compares equal only to itself."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        # Pickle (used between pipeline processes) must give back the same singleton.
        return self._name


UNCHANGED: Final = _Marker("UNCHANGED")
ABSENT: Final = _Marker("ABSENT")


@dataclass(frozen=True, slots=True)
class Json:
    """A JSON document, kept as the source's text."""

    text: str
    """The document's text, exactly as the source produced it."""


@dataclass(frozen=True, slots=True)
class BitString:
    """A bit string; its length is part of the value ('0101' is not '101')."""

    bits: str
    """Only the characters '0' and '1', most significant first."""

    def __post_init__(self) -> None:
        if self.bits.strip("01"):
            raise ValueError(f"a bit string holds only '0' and '1', not {self.bits!r}")

    def to_int(self) -> int:
        return int(self.bits, 2) if self.bits else 0


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A duration with independent month, day and microsecond parts (PostgreSQL's model).

    MySQL TIME values ('-838:59:59' … '838:59:59.000000') are `Interval(0, 0, microseconds)`.
    Ordering compares the parts in sequence; it is a total order for storage, not calendar math.
    """

    months: int
    """Whole months (a year is 12)."""
    days: int
    """Whole days, not folded into months."""
    microseconds: int
    """The time part, in microseconds; may exceed a day and may be negative."""

    @classmethod
    def from_timedelta(cls, value: dt.timedelta) -> Interval:
        return cls(0, 0, (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds)


TemporalKind: TypeAlias = Literal["date", "time", "timestamp", "timestamptz"]


@dataclass(frozen=True, slots=True)
class ZeroDate:
    """A MySQL zero or partly zero date/datetime, kept exactly as the server wrote it."""

    kind: TemporalKind
    """'date', 'timestamp' (MySQL DATETIME) or 'timestamptz' (MySQL TIMESTAMP)."""
    text: str
    """The server's text, e.g. '0000-00-00' or '2024-00-15 10:00:00'."""


@dataclass(frozen=True, slots=True)
class SpecialTemporal:
    """A temporal value outside Python's range: infinity, BC, year > 9999, '24:00:00'."""

    kind: TemporalKind
    """'date', 'time', 'timestamp' (without zone) or 'timestamptz'."""
    text: str
    """The server's text in ISO style, e.g. 'infinity' or '0044-03-15 BC'."""


@dataclass(frozen=True, slots=True)
class MysqlSet:
    """A MySQL SET value: which of the column's members are present."""

    members: frozenset[str]
    """The members present; the column definition (relation event) gives their order."""


Scalar: TypeAlias = (
    bool
    | int
    | float
    | Decimal
    | str
    | bytes
    | dt.date
    | dt.time
    | dt.datetime
    | uuid.UUID
    | Json
    | BitString
    | Interval
    | ZeroDate
    | SpecialTemporal
    | MysqlSet
    | None
)
# Arrays nest: a PostgreSQL int[][] is a list of lists of int or None.
Value: TypeAlias = Scalar | list["Value"] | _Marker
