"""Telling a source schema change from a target changed by hand (bridge/appliers/relations.py)."""

from __future__ import annotations

import pytest

from bridge.appliers.relations import dumps, loads, plan
from bridge.errors import SchemaDriftError
from bridge.log.events import Column, ColumnType, TableName

T = TableName("app", "t")


def cols(**types: str) -> list[Column]:
    return [Column(n, ColumnType("other", t)) for n, t in types.items()]


def test_a_column_added_on_the_source_is_added() -> None:
    p = plan(T, "app.t", {"id": None, "v": None}, cols(id="integer", v="text", w="bigint"),
             {"id": "integer", "v": "text"})  # fmt: skip
    assert [c.name for c in p.add] == ["w"]
    assert p.drop == []
    assert p.retype == []
    assert p.record == {"id": "integer", "v": "text", "w": "bigint"}


def test_a_column_dropped_on_the_source_is_dropped_but_the_targets_own_stay() -> None:
    p = plan(T, "app.t", {"id": None, "v": None, "old": None}, cols(id="integer", v="text"),
             {"id": "integer", "v": "text", "old": "text", "mine": "text"})  # fmt: skip
    assert p.drop == ["old"]
    assert p.add == []


def test_a_replicated_column_missing_on_the_target_is_drift() -> None:
    with pytest.raises(SchemaDriftError, match="has lost column\\(s\\) v") as info:
        plan(T, "app.t", {"id": None, "v": None}, cols(id="integer", v="text"),
             {"id": "integer"})  # fmt: skip
    assert info.value.exit_code == 2


def test_without_a_record_only_shared_columns_are_known() -> None:
    # No record (an older pipeline): the target's extra column is neither dropped nor an error,
    # and a source column the target lacks is taken as added.
    p = plan(T, "app.t", None, cols(id="integer", w="text"), {"id": "integer", "mine": "text"})
    assert [c.name for c in p.add] == ["w"]
    assert p.drop == []


def test_retypes_follow_the_source_declaration_not_the_targets() -> None:
    known: dict[str, str | None] = {"id": "integer", "v": "integer"}
    target = {"id": "integer", "v": "bigint"}  # widened by hand on the target: left alone
    assert plan(T, "app.t", known, cols(id="integer", v="integer"), target).retype == []
    changed = plan(T, "app.t", known, cols(id="integer", v="numeric"), target)
    assert [c.name for c in changed.retype] == ["v"]
    assert plan(T, "app.t", known, cols(id="integer", v="numeric"), target,
                same_type=False).retype == []  # fmt: skip


def test_the_record_round_trips_in_order() -> None:
    known = {"b": "text", "a": None}
    assert loads(dumps(known)) == known
    assert list(loads(dumps(known))) == ["b", "a"]
