"""The pipeline's part in statement-based MySQL binlogs (STATEMENT or MIXED).

Two jobs, called from `bridge.pipeline_mysql`:

- `with_translations`: fill `Statement.translated["postgres"]` (as `Ddl.translated` is filled),
  from the source's table definitions the reader already knows.
- `apply_before_unsafe`: a statement that cannot be reproduced (`UnsafeStatementError`) stops
  the pipeline, but the transactions before it in the same target batch were good: roll the
  batch back, read the binlog again from the checkpoint up to the failing transaction's start,
  apply and commit exactly that, then let the error stop the pipeline. The target then holds
  every transaction before the failing one and nothing of it or after it, and a restart (after
  the source is fixed, or with the opt-in policy) resumes right there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from bridge.appliers.postgres import PostgresApplier
from bridge.log.events import Begin, Event, Statement
from bridge.positions import BinlogPosition, Position
from bridge.readers.mysql import MysqlReader
from bridge.translate.statement_types import StatementError
from bridge.translate.types import TypePolicy

if TYPE_CHECKING:
    from bridge.pipeline import Pipeline


def with_translations(
    events: Iterator[Event | None], reader: MysqlReader, policy: TypePolicy
) -> Iterator[Event | None]:
    """The events, each `Statement` with its PostgreSQL translation."""
    begin: str | None = None
    for ev in events:
        if type(ev) is Statement:
            try:
                from bridge.translate.statements_pg import (  # noqa: PLC0415 - sqlglot
                    to_postgres_statements,
                )

                text = to_postgres_statements(
                    ev,
                    lookup=reader.table_schema,
                    policy=policy,
                    statement_policy=reader.statement_policy,
                    mariadb=reader.mariadb,
                )
            except StatementError as e:
                e.transaction_start = e.transaction_start or begin
                raise
            yield dataclasses.replace(ev, translated={**ev.translated, "postgres": text})
        else:
            if type(ev) is Begin:
                begin = str(ev.position)
            yield ev


def stream_until_unsafe(
    p: Pipeline,
    applier: PostgresApplier,
    events: Iterator[Event | None],
    *,
    start: BinlogPosition,
    reopen: Callable[[BinlogPosition], Iterator[Event | None]],
    confirm: Callable[[Position], None],
    received: Callable[[], str | None],
    idle: Callable[[], None],
) -> None:
    """`p.stream` the events; a `StatementError` (an unsafe or untranslatable statement) first
    commits the transactions before its own (`apply_before_unsafe`), then stops the pipeline."""
    try:
        p.stream(events, applier, confirm=confirm, received=received, idle=idle)
    except StatementError as e:
        apply_before_unsafe(p, applier, e, start=start, reopen=reopen, confirm=confirm)
        raise


def apply_before_unsafe(
    p: Pipeline,
    applier: PostgresApplier,
    error: StatementError,
    *,
    start: BinlogPosition,
    reopen: Callable[[BinlogPosition], Iterator[Event | None]],
    confirm: Callable[[Position], None],
) -> None:
    """Apply and commit every transaction before the one `error` stopped in (see the module
    docstring). `reopen(position)` streams the pipeline's events from a position again."""
    applier.rollback()
    if error.transaction_start is None:
        return
    stop = BinlogPosition.parse(error.transaction_start)
    cp = applier.checkpoint
    resume = BinlogPosition.parse(cp.position) if cp is not None else start
    if not resume < stop:
        return  # the checkpoint is already right before it
    try:
        p.stream(
            _until(reopen(resume), stop),
            applier,
            confirm=confirm,
            received=lambda: str(stop),
            idle=lambda: None,
        )
    except StatementError as again:
        # A statement outside any transaction has no Begin to stop at: the same error comes
        # again, with only whole transactions applied before it.
        if again.transaction_start != error.transaction_start:
            raise
    if applier.uncommitted:
        p._commit(applier, confirm)
    p.notice(f"stopped before the transaction at {stop}: every transaction before it is applied")


def _until(events: Iterator[Event | None], stop: BinlogPosition) -> Iterator[Event | None]:
    """The events of the transactions that begin before `stop`."""
    for ev in events:
        if type(ev) is Begin and not ev.position < stop:
            return
        yield ev
