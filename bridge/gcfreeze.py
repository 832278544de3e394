"""Keeping CPython's cyclic garbage collector off the objects start-up made."""

from __future__ import annotations

import gc

_gc_frozen = False


def freeze_startup_objects() -> None:
    """Move every object alive now (modules, classes, connections: what start-up made) out of
    the cyclic garbage collector's reach, once per process.

    Streaming allocates a few tracked objects per row (event, row tuple, folded entry); every
    so many allocations CPython runs a collection, and its full ones walk the whole heap,
    start-up objects included (sqlglot, SQLAlchemy, psycopg…: ~100k objects, tens of ms per
    full collection). Measured on bench/mysql_to_pg.py's live burst (1,000-row insert
    transactions) decoded and applied in one process: such collections were about half of its
    CPU; with the start-up heap frozen, a tenth of that. Rows and events form no reference
    cycles, so nothing waits on the collector; frozen objects are still freed by reference
    counting (only a cycle among them would never be).
    """
    global _gc_frozen  # noqa: PLW0603 - once per process
    if not _gc_frozen:
        _gc_frozen = True
        gc.freeze()
