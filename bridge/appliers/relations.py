"""Telling a source schema change from a target changed by hand (drift).

A Relation message says what the source's table looks like now; the target table says what it
looks like now. Their difference alone cannot tell "the source added column w" from "someone
dropped w on the target", nor "the source dropped x" from "someone added their own x on the
target" — and guessing wrong either re-creates a column empty (silently losing its values) or
drops a user's column with its data. So each applier records, per pipeline and source table,
the columns it last replicated (table `bridge.relations`, written in the same target transaction
as the rows), and compares three sets:

- source columns the record lacks: added on the source -> add them on the target;
- recorded columns the source lacks: dropped on the source -> drop them on the target;
- recorded columns the source still has but the target lacks: the target was changed by hand ->
  stop with `SchemaDriftError` (exit 2), nothing of the batch applied;
- target columns neither the source nor the record knows: the user's own -> left alone.

A table with no record (a pipeline from before the record existed, or a table created after a
DDL event, which resets the record) takes the columns both sides share as its baseline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bridge.errors import SchemaDriftError
from bridge.log.events import Column, TableName

Known = dict[str, str | None]
"""Recorded columns of one source table: name -> the source's type declaration (None: unknown)."""


@dataclass
class RelationPlan:
    """What to do on the target for one Relation message."""

    add: list[Column] = field(default_factory=list)
    """Source columns the target lacks because the source added them."""
    drop: list[str] = field(default_factory=list)
    """Target columns the source dropped."""
    retype: list[Column] = field(default_factory=list)
    """Source columns whose declared type changed since the record (same-engine sources)."""
    record: Known = field(default_factory=dict)
    """What to record for the table once the plan is carried out."""


def plan(
    table: TableName,
    target_table: str,
    known: Known | None,
    source: Sequence[Column],
    target: Mapping[str, str],
    *,
    same_type: bool = True,
) -> RelationPlan:
    """Compare the source's relation with the record and the target table's columns.

    `target` maps the target's column names to their types; `same_type` says the source's types
    are the target's dialect (PostgreSQL -> PostgreSQL), so a changed declaration is a retype.
    """
    wanted = {c.name: c for c in source}
    if known is None:
        known = {name: None for name in wanted if name in target}
    lost = [name for name in wanted if name in known and name not in target]
    if lost:
        raise SchemaDriftError(
            f"the target table {target_table} has lost column(s) {', '.join(lost)}, which"
            f" were replicated from {table} and which the source still has: the target was"
            " changed by hand",
            hint="add them back on the target (then `dbbridge verify --repair` re-copies their"
            " values), or drop the target table and start a new pipeline that copies it;"
            " nothing past the last checkpoint was applied",
            table=str(table),
        )
    out = RelationPlan()
    for name, col in wanted.items():
        if name not in known:
            if name not in target:
                out.add.append(col)
        elif same_type and name in target:
            before = known[name]
            now = col.type.source_type
            if _bare(before if before is not None else target[name]) != _bare(now):
                out.retype.append(col)
    out.drop = [name for name in known if name not in wanted and name in target]
    out.record = {name: col.type.source_type for name, col in wanted.items()}
    return out


def lost_columns(
    table: TableName, target_table: str, columns: Sequence[str], target: Sequence[str]
) -> None:
    """Rows of `table` carry `columns`; the target table must have each of them."""
    missing = [c for c in columns if c not in target]
    if missing:
        raise SchemaDriftError(
            f"the target table {target_table} has no column {', '.join(missing)}, which the"
            f" source's rows of {table} carry",
            hint="add the column(s) on the target (then `dbbridge verify --repair` re-copies"
            " their values), or drop the target table and start a new pipeline that copies it;"
            " nothing past the last checkpoint was applied",
            table=str(table),
        )


def dropped_table(table: TableName, target_table: str) -> SchemaDriftError:
    """The target table of a replicated source table is gone."""
    return SchemaDriftError(
        f"the target table {target_table} is gone, but {table} was replicated into it and the"
        " source still has it: the target was changed by hand",
        hint="restore the table on the target, or start a new pipeline that copies it; nothing"
        " past the last checkpoint was applied",
        table=str(table),
    )


def dumps(known: Known) -> str:
    return json.dumps([[name, type_] for name, type_ in known.items()])


def loads(text: str) -> Known:
    return {str(name): type_ for name, type_ in json.loads(text)}


def _bare(type_name: str) -> str:
    """A type name without its schema qualification and quotes, for comparing declarations."""
    return type_name.rsplit(".", 1)[-1].replace('"', "")
