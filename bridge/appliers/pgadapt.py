"""psycopg dumpers for the log's value classes, so COPY and parameters take them as they are.

Plain Python values (int, Decimal, str, bytes, datetime, UUID, list…) use psycopg's own C dumpers.
The log's own classes are dumped as PostgreSQL input text with the "unknown" type, so the server
parses them as the column's type (json, bit, interval, infinity timestamps…).
"""

from __future__ import annotations

from psycopg import adapt
from psycopg.adapt import AdaptersMap

from bridge.errors import TranslateError
from bridge.log.values import BitString, Interval, Json, MysqlSet, SpecialTemporal, ZeroDate
from bridge.translate.types import TypePolicy

_US_PER_HOUR = 3_600_000_000


class _JsonDumper(adapt.Dumper):
    def dump(self, obj: Json) -> bytes:
        return obj.text.encode()


class _BitsDumper(adapt.Dumper):
    def dump(self, obj: BitString) -> bytes:
        return obj.bits.encode()


class _SpecialDumper(adapt.Dumper):
    def dump(self, obj: SpecialTemporal) -> bytes:
        return obj.text.encode()


def interval_text(obj: Interval) -> str:
    """PostgreSQL interval input; microseconds as h:mm:ss.ffffff (a bare microsecond count
    overflows the 32-bit field parser of PostgreSQL before 15)."""
    us = obj.microseconds
    sign = "-" if us < 0 else ""
    us = abs(us)
    hours, rest = divmod(us, _US_PER_HOUR)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micro = divmod(rest, 1_000_000)
    return f"{obj.months} mons {obj.days} days {sign}{hours}:{minutes:02}:{seconds:02}.{micro:06}"


class _IntervalDumper(adapt.Dumper):
    def dump(self, obj: Interval) -> bytes:
        return interval_text(obj).encode()


class _SetDumper(adapt.Dumper):
    def dump(self, obj: MysqlSet) -> bytes:
        # A MySQL SET becomes a PostgreSQL text array (pgloader's rule).
        items = ",".join(
            '"' + m.replace("\\", "\\\\").replace('"', '\\"') + '"' for m in sorted(obj.members)
        )
        return ("{" + items + "}").encode()


class _ZeroDateDumper(adapt.Dumper):
    def dump(self, obj: ZeroDate) -> bytes:
        raise TranslateError(
            f"the MySQL zero date {obj.text!r} has no PostgreSQL equivalent",
            hint="to store NULL instead, run with --zero-dates null (see docs/type-mapping.md)",
        )


class _ZeroDateNullDumper(adapt.Dumper):
    """TypePolicy(zero_dates='null'): a zero date is stored as NULL (psycopg writes a dumped
    None as NULL, in COPY too)."""

    def dump(self, obj: ZeroDate) -> None:  # noqa: ARG002 - every value dumps to NULL
        return None


def register(adapters: AdaptersMap, policy: TypePolicy | None = None) -> None:
    """Register the dumpers on a connection's (or a context's) adapters; `policy` decides what
    the opt-in coercions (zero dates) write."""
    adapters.register_dumper(Json, _JsonDumper)
    adapters.register_dumper(BitString, _BitsDumper)
    adapters.register_dumper(SpecialTemporal, _SpecialDumper)
    adapters.register_dumper(Interval, _IntervalDumper)
    adapters.register_dumper(MysqlSet, _SetDumper)
    zero_null = policy is not None and policy.zero_dates == "null"
    adapters.register_dumper(ZeroDate, _ZeroDateNullDumper if zero_null else _ZeroDateDumper)
