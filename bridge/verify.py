"""`dbbridge verify`: does the target hold the source's rows? If not, which keys differ?

Works for each pair the pipelines replicate (PostgreSQL -> PostgreSQL, MySQL/MariaDB ->
PostgreSQL, PostgreSQL -> MySQL/MariaDB), on the tables a pipeline with the same `--tables` would
replicate, at the place that pipeline puts them (a MySQL database is the PostgreSQL schema of the
same name; PostgreSQL `public` is the target DSN's MySQL database, any other schema the database
of its name). Steps:

1. **Plan**: each table's columns on both sides and how each compares (`bridge.verify_norm`).
2. **Chunk**: every `chunk_rows`-th key of the source cuts the table into key ranges.
3. **Checksum**: each chunk's row count and hash sum, computed by each server (`verify_sides`),
   tables and chunks in parallel on `workers` pairs of connections.
4. **Re-check**: a differing chunk may only be replication lag: it is checked again, up to
   `rechecks` times, `recheck_after` seconds apart, before it counts.
5. **Drill down**: a differing chunk's keys and row hashes are fetched from both sides and
   compared: keys missing on the target, extra on the target, or different.
6. **Confirm**: those keys are looked up again by key (not by range) on both sides, which also
   settles a row that different collations put in different chunks.
7. **Repair** (optional, `verify_repair`): the differing rows are copied again, then confirmed.

A table without a primary key (nor a NOT NULL unique key a pipeline would use) is compared as one
multiset of row hashes: the report counts rows only on the source and only on the target, and
repair leaves it alone (without a key, there is no telling which duplicate to replace).
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bridge.appliers.mysql import default_schema_map
from bridge.dsn import Dsn, parse_dsn
from bridge.errors import ConfigError
from bridge.log.events import TableName
from bridge.verify_norm import Key, choose_canon
from bridge.verify_repair import repair
from bridge.verify_sides import (
    Chunk,
    ColumnPlan,
    Digest,
    MySide,
    Side,
    TablePlan,
    TableShape,
    chunks_from_boundaries,
    open_side,
)

CONFIRM_KEYS = 10_000
"""Differing keys of a table looked up again after the drill-down (more are reported as found:
so many differences are no lag)."""


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    """What `dbbridge verify` compares and how hard it tries."""

    tables: tuple[str, ...] = ()
    """Source table patterns, as `dbbridge run --tables`; empty: the pipeline's default set."""
    workers: int = 2
    """Pairs of connections checking chunks in parallel."""
    chunk_rows: int = 20_000
    """Rows per chunk (by the source's key order)."""
    recheck_after: float = 2.0
    """Seconds to wait before checking a differing chunk again (replication lag)."""
    rechecks: int = 2
    """How many times a differing chunk is checked again before it counts."""
    repair: bool = False
    """Copy differing rows from the source again, then confirm them."""


class Observer:
    """What verify reports while it runs (the CLI's progress display); does nothing here."""

    def planned(self, table: str, chunks: int) -> None:
        """`table` will be checked in `chunks` chunks."""

    def checked(self, table: str) -> None:
        """One more chunk of `table` was checked."""

    def notice(self, message: str) -> None:
        """A phase began or something worth telling happened."""


@dataclass(slots=True)
class TableResult:
    """What verify found for one table."""

    table: str
    target_table: str
    key: tuple[str, ...]
    numeric_key: tuple[bool, ...]
    """Per key column: whether its values print as numbers in the JSON report."""
    chunks: int = 0
    differing_chunks: int = 0
    rows_source: int = 0
    rows_target: int = 0
    missing: list[Key] = field(default_factory=list)
    """Keys the source has and the target lacks."""
    extra: list[Key] = field(default_factory=list)
    """Keys the target has and the source lacks."""
    different: list[Key] = field(default_factory=list)
    """Keys both have, with different values."""
    rows_only_source: int = 0
    """Keyless tables: rows (by content) only the source has."""
    rows_only_target: int = 0
    columns_only_source: tuple[str, ...] = ()
    columns_only_target: tuple[str, ...] = ()
    found: dict[str, int] | None = None
    """With --repair: the differences found before repairing (the lists hold what remains)."""
    repaired_keys: int = 0
    """Keys whose rows --repair copied again (or deleted, when the source lacks them)."""
    not_repaired: str | None = None
    """Why differences were left alone, when --repair could not fix this table."""

    @property
    def equal(self) -> bool:
        return not (
            self.missing
            or self.extra
            or self.different
            or self.rows_only_source
            or self.rows_only_target
            or self.columns_only_source
            or self.columns_only_target
        )

    def key_json(self, key: Key) -> Any:
        values = [
            int(v) if n and _integer(v) else v for v, n in zip(key, self.numeric_key, strict=True)
        ]
        return values[0] if len(values) == 1 else values


_INTEGER = re.compile(r"-?[0-9]+")


def _integer(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None


@dataclass(slots=True)
class Report:
    """The outcome of one verify run."""

    source: str
    target: str
    tables: list[TableResult]
    seconds: float = 0.0
    repair: bool = False

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)

    def to_json(self, *, max_keys: int | None = None) -> dict[str, Any]:
        """The machine-readable report (`--json`); `max_keys` caps each key list."""

        def keys(t: TableResult, found: list[Key]) -> list[Any]:
            return [t.key_json(k) for k in found[:max_keys]]

        tables = [
            {
                "table": t.table,
                "target_table": t.target_table,
                "equal": t.equal,
                "key": list(t.key),
                "chunks": t.chunks,
                "differing_chunks": t.differing_chunks,
                "rows_source": t.rows_source,
                "rows_target": t.rows_target,
                "missing": keys(t, t.missing),
                "extra": keys(t, t.extra),
                "different": keys(t, t.different),
                "missing_count": len(t.missing),
                "extra_count": len(t.extra),
                "different_count": len(t.different),
                "rows_only_source": t.rows_only_source,
                "rows_only_target": t.rows_only_target,
                "columns_only_source": list(t.columns_only_source),
                "columns_only_target": list(t.columns_only_target),
                "found_before_repair": t.found,
                "repaired_keys": t.repaired_keys,
                "not_repaired": t.not_repaired,
            }
            for t in self.tables
        ]
        return {
            "equal": self.equal,
            "source": self.source,
            "target": self.target,
            "seconds": round(self.seconds, 3),
            "repair": self.repair,
            "tables": tables,
            "totals": {
                "tables": len(self.tables),
                "differing_tables": sum(not t.equal for t in self.tables),
                "chunks": sum(t.chunks for t in self.tables),
                "rows_source": sum(t.rows_source for t in self.tables),
                "rows_target": sum(t.rows_target for t in self.tables),
                "missing": sum(len(t.missing) for t in self.tables),
                "extra": sum(len(t.extra) for t in self.tables),
                "different": sum(len(t.different) for t in self.tables),
                "repaired_keys": sum(t.repaired_keys for t in self.tables),
            },
        }


# -- planning -------------------------------------------------------------------------------


def make_plan(
    source: TableName, target: TableName, src: TableShape, tgt: TableShape, *, same_engine: bool
) -> TablePlan:
    """How to compare one table: the columns both sides have, in the source's order."""
    theirs = {c.name: c for c in tgt.columns}
    columns = []
    for c in src.columns:
        other = theirs.get(c.name)
        if other is None:
            continue
        # PostgreSQL on both sides compares a text key natively only under the same collation.
        binary = (
            same_engine
            and c.name in src.key
            and None not in (c.collation, other.collation)
            and c.collation != other.collation
        )
        columns.append(
            ColumnPlan(choose_canon(c, other, same_engine=same_engine), c, other, binary)
        )
    names = [c.name for c in columns]
    key = tuple(names.index(k) for k in src.key) if set(src.key) <= set(names) else ()
    ours = {c.name for c in src.columns}
    return TablePlan(
        source,
        target,
        tuple(columns),
        key,
        only_source=tuple(c.name for c in src.columns if c.name not in theirs),
        only_target=tuple(c.name for c in tgt.columns if c.name not in ours),
    )


def _target_name(target: Side) -> Callable[[TableName], TableName]:
    """Where the pipelines put a source table on this target."""
    if isinstance(target, MySide):
        return default_schema_map(target.database)
    return lambda t: t  # PostgreSQL: same schema and name (a MySQL database is a schema)


def plan_tables(source: Side, target: Side, patterns: Sequence[str]) -> list[TablePlan]:
    """Plans for the source's tables matching `patterns`; ConfigError when none match or the
    target lacks some."""
    names = source.list_tables(patterns)
    if not names:
        raise ConfigError(
            "the source has no table to verify",
            hint="check the database in the --source DSN, or name tables with --tables",
        )
    where = _target_name(target)
    plans, missing = [], []
    for name in names:
        src = source.describe(name)
        if src is None:
            continue  # dropped since it was listed
        tgt = target.describe(where(name))
        if tgt is None:
            missing.append(str(where(name)))
            continue
        same = source.engine == target.engine
        plans.append(make_plan(name, where(name), src, tgt, same_engine=same))
    if missing:
        raise ConfigError(
            f"the target lacks table {', '.join(missing)}",
            hint="run the pipeline (dbbridge run) first, or leave the table out with --tables",
        )
    return plans


# -- comparing rows -----------------------------------------------------------------------------


def sort_key(key: Key) -> tuple[tuple[int, int, str], ...]:
    """Keys in a readable order: integers by value (2 before 10), then text."""
    return tuple((0, int(v), "") if _integer(v) else (1, 0, v) for v in key)


def diff_rows(
    source: Sequence[tuple[Key, Digest]], target: Sequence[tuple[Key, Digest]]
) -> tuple[list[Key], list[Key], list[Key]]:
    """(missing on the target, extra on the target, different) keys, each sorted."""
    src, tgt = dict(source), dict(target)
    missing = sorted((k for k in src if k not in tgt), key=sort_key)
    extra = sorted((k for k in tgt if k not in src), key=sort_key)
    different = sorted((k for k, d in src.items() if k in tgt and tgt[k] != d), key=sort_key)
    return missing, extra, different


def diff_multiset(
    source: Sequence[tuple[Key, Digest]], target: Sequence[tuple[Key, Digest]]
) -> tuple[int, int]:
    """Rows (by content) only on the source and only on the target, duplicates counted."""
    src, tgt = collections.Counter(d for _, d in source), collections.Counter(d for _, d in target)
    return sum((src - tgt).values()), sum((tgt - src).values())


@dataclass(slots=True)
class _ChunkState:
    """One chunk's latest check: row counts on each side and whether they are equal."""

    table: int
    """Index into the run's plans."""
    chunk: Chunk
    source_rows: int = 0
    target_rows: int = 0
    equal: bool = False


class _Sides:
    """One (source, target) pair of sides per worker thread, all closed at the end."""

    def __init__(self, source: Dsn, target: Dsn) -> None:
        self.source, self.target = source, target
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Side] = []

    def get(self) -> tuple[Side, Side]:
        pair: tuple[Side, Side] | None = getattr(self._local, "pair", None)
        if pair is None:
            src = open_side(self.source.url, self.source.family, "source")
            with self._lock:
                self._open.append(src)
            tgt = open_side(self.target.url, self.target.family, "target")
            with self._lock:
                self._open.append(tgt)
            pair = self._local.pair = (src, tgt)
        return pair

    def close(self) -> None:
        for side in self._open:
            with contextlib.suppress(Exception):
                side.close()


class _Run:
    """One verify run over planned tables: the steps of the module docstring, on a pool of
    `workers` threads that each hold their own pair of sides."""

    def __init__(
        self, plans: list[TablePlan], sides: _Sides, options: VerifyOptions, observer: Observer
    ) -> None:
        self.plans = plans
        self.sides = sides
        self.options = options
        self.observer = observer
        self.pool = ThreadPoolExecutor(max_workers=max(1, options.workers))
        self.results = [
            TableResult(
                str(p.source),
                str(p.target),
                p.key_names,
                tuple(p.columns[i].canon in ("num", "exact") for i in p.key),
                columns_only_source=p.only_source,
                columns_only_target=p.only_target,
            )
            for p in plans
        ]

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        return list(self.pool.map(fn, items))

    def run(self) -> None:
        try:
            states = self._chunk_all()
            self._map(self._check, states)
            self._recheck([s for s in states if not s.equal])
            for s in states:
                r = self.results[s.table]
                r.rows_source += s.source_rows
                r.rows_target += s.target_rows
                r.differing_chunks += not s.equal
            self._drill([s for s in states if not s.equal])
            if self.options.repair:
                self._repair()
        finally:
            self.pool.shutdown(wait=True)

    def _chunk_all(self) -> list[_ChunkState]:
        def chunks(i: int) -> list[_ChunkState]:
            plan = self.plans[i]
            if plan.rangeable:
                source, _ = self.sides.get()
                found = chunks_from_boundaries(source.boundaries(plan, self.options.chunk_rows))
            else:
                found = [Chunk(0, None, None)]
            self.results[i].chunks = len(found)
            self.observer.planned(self.results[i].table, len(found))
            return [_ChunkState(i, c) for c in found]

        per_table = self._map(chunks, range(len(self.plans)))
        return [s for states in per_table for s in states]

    def _check(self, state: _ChunkState, *, report: bool = True) -> None:
        plan = self.plans[state.table]
        source, target = self.sides.get()
        if plan.python:  # values compared in Python: the digests are the checksum
            a = source.digests(plan, chunk=state.chunk)
            b = target.digests(plan, chunk=state.chunk)
            state.source_rows, state.target_rows = len(a), len(b)
            state.equal = collections.Counter(a) == collections.Counter(b)
        else:
            (state.source_rows, ha), (state.target_rows, hb) = (
                source.checksum(plan, state.chunk),
                target.checksum(plan, state.chunk),
            )
            state.equal = state.source_rows == state.target_rows and ha == hb
        if report:
            self.observer.checked(self.results[state.table].table)

    def _recheck(self, differing: list[_ChunkState]) -> None:
        for attempt in range(1, self.options.rechecks + 1):
            if not differing:
                return
            self.observer.notice(
                f"{len(differing)} chunk(s) differ; checking again in"
                f" {self.options.recheck_after:g} s ({attempt}/{self.options.rechecks})"
            )
            time.sleep(self.options.recheck_after)
            self._map(lambda s: self._check(s, report=False), differing)
            differing = [s for s in differing if not s.equal]

    def _drill(self, differing: list[_ChunkState]) -> None:
        if not differing:
            return
        self.observer.notice(f"finding the differing rows of {len(differing)} chunk(s)")

        def drill(state: _ChunkState) -> tuple[int, list[tuple[Key, Digest]], Any]:
            plan = self.plans[state.table]
            source, target = self.sides.get()
            a = source.digests(plan, chunk=state.chunk)
            b = target.digests(plan, chunk=state.chunk)
            return state.table, a, b

        # Rows of all differing chunks of a table are compared together: a key that the two
        # sides' orders put in different chunks is then still compared with itself.
        found: dict[int, tuple[list[tuple[Key, Digest]], list[tuple[Key, Digest]]]] = {}
        for table, a, b in self._map(drill, differing):
            mine = found.setdefault(table, ([], []))
            mine[0].extend(a)
            mine[1].extend(b)
        for table, (a, b) in found.items():
            r = self.results[table]
            if not self.plans[table].key:
                r.rows_only_source, r.rows_only_target = diff_multiset(a, b)
            else:
                r.missing, r.extra, r.different = diff_rows(a, b)
        self._map(self._confirm, [t for t in found if self.plans[t].key])

    def _confirm(self, table: int) -> None:
        """Look the differing keys up again on both sides, when there are few: a last chance
        for replication lag to explain them."""
        plan, r = self.plans[table], self.results[table]
        keys = sorted({*r.missing, *r.extra, *r.different}, key=sort_key)
        if not keys or len(keys) > CONFIRM_KEYS:
            return
        source, target = self.sides.get()
        r.missing, r.extra, r.different = diff_rows(
            source.digests(plan, keys=keys), target.digests(plan, keys=keys)
        )

    def _repair(self) -> None:
        todo = [i for i, r in enumerate(self.results) if not r.equal]
        if not todo:
            return
        self.observer.notice(f"repairing {len(todo)} table(s)")

        def fix(i: int) -> None:
            plan, r = self.plans[i], self.results[i]
            if not plan.key or r.columns_only_source or r.columns_only_target:
                r.not_repaired = "no key to tell rows apart" if not plan.key else "columns differ"
                return
            r.found = {"missing": len(r.missing), "extra": len(r.extra)}
            r.found["different"] = len(r.different)
            keys = sorted({*r.missing, *r.extra, *r.different}, key=sort_key)
            source, target = self.sides.get()
            step = self.options.chunk_rows
            for start in range(0, len(keys), step):  # one target transaction each
                part = keys[start : start + step]
                repair(plan, part, source=source, target=target)
                r.repaired_keys += len(part)
            r.missing, r.extra, r.different = diff_rows(
                source.digests(plan, keys=keys), target.digests(plan, keys=keys)
            )

        self._map(fix, todo)


def verify(
    source: str,
    target: str,
    options: VerifyOptions | None = None,
    *,
    observer: Observer | None = None,
) -> Report:
    """Compare the source's tables with the target's; see the module docstring."""
    opts = options or VerifyOptions()
    src = parse_dsn(source, role="--source")
    tgt = parse_dsn(target, role="--target")
    if src.family == "mysql" and tgt.family == "mysql":
        raise ConfigError(
            "MySQL/MariaDB -> MySQL/MariaDB is not a pipeline bridge runs, so there is nothing"
            " to verify",
            hint="verify PostgreSQL -> PostgreSQL, MySQL/MariaDB -> PostgreSQL or PostgreSQL ->"
            " MySQL/MariaDB",
        )
    started = time.monotonic()
    obs = observer or Observer()
    sides = _Sides(src, tgt)
    try:
        first_source, first_target = sides.get()
        plans = plan_tables(first_source, first_target, opts.tables)
        run = _Run(plans, sides, opts, obs)
        run.run()
    finally:
        sides.close()
    return Report(str(src), str(tgt), run.results, time.monotonic() - started, opts.repair)
