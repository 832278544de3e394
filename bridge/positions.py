"""Source positions: where in a source's change stream an event sits, and where to resume.

Positions are totally ordered within one source and serialize to short text:

- `Lsn`: a PostgreSQL WAL location, '16/B374D848'.
- `BinlogPosition`: a MySQL/MariaDB binlog (file, offset), ordered by the file's sequence number
  then the offset, optionally carrying the GTID state reached there, 'mysql-bin.000003:1234' or
  'mysql-bin.000003:1234@0-1-100'. (file, offset) orders events of one server; the GTID state is
  what survives a failover or a binlog purge check.
- `MariadbGtidPos`: MariaDB's GTID position, the last domain-server-seq per replication domain.
- `MysqlGtidSet`: a MySQL GTID set, server UUIDs with transaction-number intervals.

GTID states are only partially ordered (two domains can advance independently), so they compare with
`issubset`/`covers` rather than `<`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

_LSN_RE = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_MARIADB_GTID_RE = re.compile(r"^(\d+)-(\d+)-(\d+)$")
_UINT32 = 0xFFFFFFFF
_UINT64 = 0xFFFFFFFFFFFFFFFF


class _Ordered:
    """Rich comparisons from a `_key` tuple; positions of different kinds do not compare."""

    __slots__ = ()

    def _key(self) -> tuple[int, ...]:
        raise NotImplementedError

    def __lt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() >= other._key()


@dataclass(frozen=True, slots=True, order=True)
class Lsn:
    """A PostgreSQL log sequence number (a byte position in the WAL)."""

    value: int
    """The 64-bit WAL location."""

    def __post_init__(self) -> None:
        if not 0 <= self.value <= _UINT64:
            raise ValueError(f"an LSN is an unsigned 64-bit number, not {self.value}")

    def __str__(self) -> str:
        return f"{self.value >> 32:X}/{self.value & _UINT32:X}"

    @classmethod
    def parse(cls, text: str) -> Lsn:
        m = _LSN_RE.match(text.strip())
        if not m:
            raise ValueError(f"not an LSN (expected like '16/B374D848'): {text!r}")
        return cls((int(m.group(1), 16) << 32) | int(m.group(2), 16))


@dataclass(frozen=True, slots=True, order=True)
class MariadbGtid:
    """One MariaDB global transaction id, domain-server-seq."""

    domain: int
    server: int
    seq: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"

    @classmethod
    def parse(cls, text: str) -> MariadbGtid:
        m = _MARIADB_GTID_RE.match(text.strip())
        if not m:
            raise ValueError(f"not a MariaDB GTID (expected domain-server-seq): {text!r}")
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)))


@dataclass(frozen=True, slots=True)
class MariadbGtidPos:
    """A MariaDB GTID position: the last GTID applied in each replication domain."""

    gtids: tuple[MariadbGtid, ...]
    """One GTID per domain, sorted by domain."""

    def __post_init__(self) -> None:
        domains = [g.domain for g in self.gtids]
        if domains != sorted(set(domains)):
            raise ValueError("a MariaDB GTID position holds one GTID per domain, sorted by domain")

    def __str__(self) -> str:
        return ",".join(str(g) for g in self.gtids)

    @classmethod
    def of(cls, gtids: Iterable[MariadbGtid]) -> MariadbGtidPos:
        """Build a position from GTIDs in any order; the highest seq per domain wins."""
        last: dict[int, MariadbGtid] = {}
        for g in gtids:
            if g.domain not in last or g.seq > last[g.domain].seq:
                last[g.domain] = g
        return cls(tuple(last[d] for d in sorted(last)))

    @classmethod
    def parse(cls, text: str) -> MariadbGtidPos:
        items = [s for s in text.replace(" ", "").split(",") if s]
        return cls.of(MariadbGtid.parse(s) for s in items)

    def advance(self, gtid: MariadbGtid) -> MariadbGtidPos:
        """The position after `gtid` has been applied."""
        return MariadbGtidPos.of((*self.gtids, gtid))

    def covers(self, gtid: MariadbGtid) -> bool:
        """Tell whether `gtid` is at or before this position in its domain."""
        for g in self.gtids:
            if g.domain == gtid.domain:
                return g.seq >= gtid.seq
        return False

    def issubset(self, other: MariadbGtidPos) -> bool:
        """Tell whether every domain of self is at or behind `other` (partial order)."""
        return all(other.covers(g) for g in self.gtids)


@dataclass(frozen=True, slots=True)
class MysqlGtidSet:
    """A MySQL GTID set: per server UUID, the executed transaction numbers as closed intervals."""

    intervals: tuple[tuple[uuid.UUID, tuple[tuple[int, int], ...]], ...]
    """(server UUID, ((first, last), …)) by UUID; intervals sorted, disjoint, not adjacent."""

    def __str__(self) -> str:
        parts = []
        for sid, ivs in self.intervals:
            ranges = ":".join(f"{a}" if a == b else f"{a}-{b}" for a, b in ivs)
            parts.append(f"{sid}:{ranges}")
        return ",".join(parts)

    @classmethod
    def of(cls, items: Mapping[uuid.UUID, Iterable[tuple[int, int]]]) -> MysqlGtidSet:
        """Build a normalized set (intervals merged) from any intervals."""
        out = []
        for sid in sorted(items):
            merged: list[tuple[int, int]] = []
            for a, b in sorted(items[sid]):
                if a < 1 or b < a:
                    raise ValueError(f"bad GTID interval {a}-{b} for {sid}")
                if merged and a <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            if merged:
                out.append((sid, tuple(merged)))
        return cls(tuple(out))

    @classmethod
    def parse(cls, text: str) -> MysqlGtidSet:
        items: dict[uuid.UUID, list[tuple[int, int]]] = {}
        for part in text.replace("\n", "").replace(" ", "").split(","):
            if not part:
                continue
            sid_text, *ranges = part.split(":")
            if not ranges:
                raise ValueError(f"not a MySQL GTID set (expected uuid:ranges): {text!r}")
            sid = uuid.UUID(sid_text)
            for r in ranges:
                first, _, last = r.partition("-")
                items.setdefault(sid, []).append((int(first), int(last or first)))
        return cls.of(items)

    def _as_dict(self) -> dict[uuid.UUID, list[tuple[int, int]]]:
        return {sid: list(ivs) for sid, ivs in self.intervals}

    def union(self, other: MysqlGtidSet) -> MysqlGtidSet:
        merged = self._as_dict()
        for sid, ivs in other.intervals:
            merged.setdefault(sid, []).extend(ivs)
        return MysqlGtidSet.of(merged)

    def add(self, sid: uuid.UUID, gno: int) -> MysqlGtidSet:
        """The set after transaction `sid:gno` has been executed."""
        return self.union(MysqlGtidSet.of({sid: [(gno, gno)]}))

    def contains(self, sid: uuid.UUID, gno: int) -> bool:
        for s, ivs in self.intervals:
            if s == sid:
                return any(a <= gno <= b for a, b in ivs)
        return False

    def issubset(self, other: MysqlGtidSet) -> bool:
        return other.union(self) == other


GtidState: TypeAlias = MariadbGtidPos | MysqlGtidSet


def parse_gtid_state(text: str) -> GtidState:
    """Parse either GTID flavour, told apart by their syntax."""
    text = text.strip()
    if ":" in text:
        return MysqlGtidSet.parse(text)
    return MariadbGtidPos.parse(text)


_FILE_SEQ_RE = re.compile(r"\.(\d+)$")


@dataclass(frozen=True, slots=True, eq=True)
class BinlogPosition(_Ordered):
    """A MySQL/MariaDB binlog position, ordered by (file sequence number, offset)."""

    file: str
    """Binlog file name, e.g. 'mysql-bin.000003'."""
    offset: int
    """Byte offset of the event in that file."""
    gtid: GtidState | None = None
    """The GTID state reached at this position, when the server uses GTIDs; not in the order."""

    def __post_init__(self) -> None:
        if not _FILE_SEQ_RE.search(self.file) or self.offset < 0:
            raise ValueError(f"not a binlog position: {self.file}:{self.offset}")

    def _key(self) -> tuple[int, int]:
        # Compare the numeric suffix, not the name: 'mysql-bin.1000000' follows 'mysql-bin.999999'.
        m = _FILE_SEQ_RE.search(self.file)
        return (int(m.group(1)) if m else -1, self.offset)

    def __str__(self) -> str:
        base = f"{self.file}:{self.offset}"
        return f"{base}@{self.gtid}" if self.gtid is not None else base

    @classmethod
    def parse(cls, text: str) -> BinlogPosition:
        head, _, gtid = text.strip().partition("@")
        file, sep, offset = head.rpartition(":")
        if not sep or not offset.isdigit():
            raise ValueError(f"not a binlog position (expected file:offset[@gtid]): {text!r}")
        return cls(file, int(offset), parse_gtid_state(gtid) if gtid else None)


Position: TypeAlias = Lsn | BinlogPosition


def parse_position(text: str) -> Position:
    """Parse a position's text form: '16/B374D848' or 'mysql-bin.000003:1234[@gtid]'."""
    text = text.strip()
    if _LSN_RE.match(text):
        return Lsn.parse(text)
    try:
        return BinlogPosition.parse(text)
    except ValueError:
        raise ValueError(
            f"not a position: {text!r} (expected an LSN like '16/B374D848' "
            "or a binlog position like 'mysql-bin.000003:1234')"
        ) from None
