"""Folding a chunk of row events per key equals applying them one by one (property-tested)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bridge.appliers.changes import Op, TableChanges, merge
from bridge.log.values import UNCHANGED, Value

Row = tuple[Value, ...]
Event = tuple[str, int, int, int | None]

# (kind, key, value a, value b); value None for b means "unchanged" (TOAST) on updates.
events = st.lists(
    st.tuples(
        st.sampled_from(["insert", "update", "delete"]),
        st.integers(0, 4),
        st.integers(0, 9),
        st.one_of(st.none(), st.integers(0, 9)),
    ),
    max_size=40,
)
initial = st.dictionaries(st.integers(0, 4), st.tuples(st.integers(0, 9), st.integers(0, 9)))


def sequential(table: dict[int, Row], evs: list[Event]) -> None:
    """The reference: each event applied to the table as the source did."""
    for kind, key, a, b in evs:
        if kind == "insert":
            table[key] = (key, a, 0 if b is None else b)
        elif kind == "update" and key in table:
            old = table[key]
            table[key] = (key, a, old[2] if b is None else b)
        elif kind == "delete":
            table.pop(key, None)


def folded(table: dict[int, Row], evs: list[Event]) -> None:
    """The same events folded, then written as the applier does: deletes, updates, inserts."""
    ch = TableChanges(("id", "a", "b"), (0,))
    for kind, key, a, b in evs:
        if kind == "insert":
            ch.insert((key, a, 0 if b is None else b))
        elif kind == "update":
            ch.update((key, a, UNCHANGED if b is None else b))
        else:
            ch.delete((key,))
    for (gone,) in ch.deletes():
        table.pop(gone, None)  # type: ignore[arg-type]
    for idx, rows in ch.updates():
        for row in rows:
            if row[0] in table:
                current = list(table[row[0]])  # type: ignore[index]
                for i, v in zip(idx, row, strict=True):
                    current[i] = v
                table[row[0]] = tuple(current)  # type: ignore[index]
    for row in ch.inserts():
        assert row[0] not in table, "a COPYed row must be new after the deletes"
        table[row[0]] = row  # type: ignore[index]


def possible(table: dict[int, Row], evs: list[Event]) -> list[Event]:
    """Turn `evs` into a stream a source with a primary key can produce: an insert of an
    existing key becomes an update, an update or delete of a missing key an insert."""
    keys = set(table)
    out: list[Event] = []
    for asked, key, a, b in evs:
        kind = asked
        if asked == "insert" and key in keys:
            kind = "update"
        elif asked != "insert" and key not in keys:
            kind = "insert"
        if kind == "insert":
            keys.add(key)
        elif kind == "delete":
            keys.discard(key)
        out.append((kind, key, a, b))
    return out


@given(initial, events)
def test_folding_equals_applying_in_order(
    start: dict[int, tuple[int, int]], raw: list[Event]
) -> None:
    table: dict[int, Row] = {k: (k, *v) for k, v in start.items()}
    evs = possible(table, raw)
    expected = dict(table)
    sequential(expected, evs)
    got = dict(table)
    folded(got, evs)
    assert got == expected


def test_insert_then_delete_leaves_nothing_to_write() -> None:
    ch = TableChanges(("id", "v"), (0,))
    ch.insert((1, "x"))
    ch.delete((1,))
    assert len(ch) == 0


def test_delete_then_insert_replaces_the_row() -> None:
    ch = TableChanges(("id", "v"), (0,))
    ch.delete((1,))
    ch.insert((1, "new"))
    assert ch.ops == {(1,): (Op.UPSERT, (1, "new"))}
    assert ch.deletes() == [(1,)]
    assert ch.inserts() == [(1, "new")]


def test_updates_are_grouped_by_the_columns_they_set() -> None:
    ch = TableChanges(("id", "a", "b"), (0,))
    ch.update((1, "a1", UNCHANGED))
    ch.update((2, "a2", "b2"))
    ch.update((3, "a3", UNCHANGED))
    assert dict(ch.updates()) == {
        (0, 1): [(1, "a1"), (3, "a3")],
        (0, 1, 2): [(2, "a2", "b2")],
    }


def test_merge_keeps_earlier_values_for_unchanged_columns() -> None:
    assert merge((1, "big", 5), (1, UNCHANGED, 6)) == (1, "big", 6)


def test_key_change_is_detected_from_the_old_key() -> None:
    ch = TableChanges(("id", "v"), (0,))
    assert ch.key_changed((1, "x"), (2, "x"))
    assert not ch.key_changed((1, "x"), (1, "y"))
    assert not ch.key_changed(None, (1, "y"))
