"""Catching up on a backlog through SQL decoding, in bulk, instead of the walsender.

A walsender sends each pgoutput message in its own CopyData and flushes the socket after each
one: a send() system call per row change. Measured on PostgreSQL 13 with the 270k-change backlog
of bench/pg_to_pg.py, the walsender spent 1.1-1.4 s of CPU (three quarters of it in the kernel)
to send what the same server decodes in 0.2 s through `pg_logical_slot_get_binary_changes`. That
per-message cost, not decoding, is what bounds native logical replication on a backlog.

So when the slot is far behind (`CATCH_UP_BYTES`), the reader first reads the backlog with SQL:

- `pg_copy_logical_replication_slot` makes a temporary copy of our slot (dropped with its
  session, so a crash leaves nothing behind), advanced to the target's checkpoint.
- `pg_logical_slot_get_binary_changes` consumes the copy `CHUNK_CHANGES` changes at a time; the
  server glues each group of `GROUP_MESSAGES` messages into one bytea (position, length, message,
  …): a few large values instead of a message each.
- A thread runs the queries while the reader decodes the previous chunk's messages.
- Our own slot is never consumed by this: it only moves by `pg_replication_slot_advance` to
  positions the target has committed (`confirm`), between chunks, as the walsender's feedback
  would move it. Exactly-once holds as with the walsender: the target's checkpoint decides where
  to resume, and the slot keeps everything after what the target holds.

Once a chunk comes back short, the backlog is read; the reader starts the walsender right after
the last transaction it delivered, for the live stream.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import struct
import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, cast

import psycopg
from psycopg import sql

from bridge.errors import ConfigError, SourceError
from bridge.log.events import Event
from bridge.positions import Lsn
from bridge.readers import pgoutput as po
from bridge.readers.pgoutput_fast import ROW_TAGS

if TYPE_CHECKING:
    from bridge.readers.postgres import PostgresReader

log = logging.getLogger(__name__)

CATCH_UP_BYTES = 8 << 20
"""Catch up through SQL decoding when the slot is this many WAL bytes behind or more."""
CHUNK_CHANGES = 40_000
"""Changes per `pg_logical_slot_get_binary_changes` call (whole transactions: a call may return
more)."""
GROUP_MESSAGES = 4_000
"""Messages glued into one bytea by the server."""

_ENTRY = struct.Struct("!QI")
"""Each message in a group: its WAL position, its length; then the message."""

_QUERY = sql.SQL(
    "SELECT string_agg(int8send((m.lsn - '0/0')::int8) || int4send(length(m.data)) || m.data,"
    " ''::bytea ORDER BY m.n), count(*)"
    " FROM pg_logical_slot_get_binary_changes({slot}, NULL, {limit}, 'proto_version', '1',"
    " 'publication_names', {publication}) WITH ORDINALITY AS m(lsn, xid, data, n)"
    " GROUP BY m.n / {group} ORDER BY m.n / {group}"
)

_DONE = object()


def catch_up_name(slot: str) -> str:
    """The temporary copy's name (a slot name is at most 63 characters)."""
    return f"{slot[:55]}_catchup"


class CatchUp:
    """Reads a slot's backlog through SQL decoding on a thread; `batches` yields it in order."""

    def __init__(
        self,
        dsn: str,
        *,
        slot: str,
        publication: str,
        start: Lsn,
        options: str,
        chunk_changes: int = CHUNK_CHANGES,
        group_messages: int = GROUP_MESSAGES,
    ) -> None:
        from bridge.readers.postgres import connect_source  # noqa: PLC0415 - import cycle

        self.slot = slot
        self.copy = catch_up_name(slot)
        self.chunk_changes = chunk_changes
        self.conn = connect_source(dsn, options=options)
        try:
            self.conn.execute(
                "SELECT pg_copy_logical_replication_slot(%s, %s, true)", (slot, self.copy)
            )
            # The copy starts where our slot is; the target may hold more (a crash between its
            # commit and our feedback): skip what it holds, as START_REPLICATION would.
            self._advance_slot(self.copy, start)
        except BaseException:
            self.conn.close()
            raise
        self.query = _QUERY.format(
            slot=sql.Literal(self.copy),
            limit=sql.Literal(chunk_changes),
            publication=sql.Literal(sql.Identifier(publication).as_string(self.conn)),
            group=sql.Literal(group_messages),
        ).as_bytes(self.conn)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=32)
        self._stop = threading.Event()
        self._durable: int = start.value
        """The highest position the target has committed: our slot may advance to it."""
        self._advanced = start.value
        self.behind = 0
        """How far (WAL bytes) the source was ahead of `start`."""
        self._thread = threading.Thread(target=self._fetch, name="pg-catch-up", daemon=True)
        self._thread.start()

    def confirm(self, lsn: Lsn) -> None:
        """The target committed up to `lsn`: our slot may move there (done between chunks)."""
        self._durable = max(self._durable, lsn.value)

    def batches(self, timeout: float) -> Iterator[bytes | None]:
        """Groups of messages (each: 8-byte position, 4-byte length, the message) in WAL order;
        None after `timeout` s without one; ends once the backlog is read."""
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                yield None
                continue
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def _fetch(self) -> None:
        try:
            with self.conn.cursor(binary=True) as cur:
                while not self._stop.is_set():
                    self._advance()
                    count = 0
                    for blob, n in cur.stream(self.query):
                        count += cast("int", n)
                        self._put(blob)
                        if self._stop.is_set():
                            return
                    if count < self.chunk_changes:
                        break
            self._advance()
            self._put(_DONE)
        except psycopg.Error as e:
            self._put(SourceError(f"catching up through SQL decoding failed: {e}", retryable=True))
        except BaseException as e:  # noqa: BLE001 - handed to the reader's thread
            self._put(e)

    def _advance(self) -> None:
        """Move our slot to what the target holds, as the walsender's feedback would."""
        durable = self._durable
        if durable > self._advanced:
            self._advance_slot(self.slot, Lsn(durable))
            self._advanced = durable

    def _advance_slot(self, slot: str, lsn: Lsn) -> None:
        """Move `slot` forward to `lsn`; never back (PostgreSQL refuses that). A slot may be
        confirmed past the target's checkpoint: WAL with nothing for us, confirmed while idle."""
        self.conn.execute(
            "SELECT pg_replication_slot_advance(slot_name, %s::pg_lsn) FROM pg_replication_slots"
            " WHERE slot_name = %s AND confirmed_flush_lsn < %s::pg_lsn",
            (str(lsn), slot, str(lsn)),
        )

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return

    def close(self) -> None:
        """Stop the thread and drop the temporary copy (closing its session drops it)."""
        self._stop.set()
        with contextlib.suppress(psycopg.Error):
            self.conn.cancel_safe()  # a query in progress: its thread sees the error and ends
        self._thread.join(timeout=5)
        with contextlib.suppress(psycopg.Error):
            self.conn.close()


def open_catch_up(reader: PostgresReader, start: Lsn, threshold: int) -> CatchUp | None:
    """A `CatchUp` when the source's WAL is at least `threshold` bytes past `start`; None when
    it is not, or when the source cannot (no free slot for the copy: the walsender it is)."""
    row = reader.sql.execute(
        "SELECT CASE WHEN pg_is_in_recovery() THEN NULL"
        " ELSE (pg_current_wal_lsn() - %s::pg_lsn)::int8 END",
        (str(start),),
    ).fetchone()
    if row is None or row[0] is None or int(str(row[0])) < threshold:
        return None
    try:
        cu = CatchUp(
            reader.dsn,
            slot=reader.slot,
            publication=reader.publication,
            start=start,
            options=reader.session_options,
        )
    except psycopg.errors.DuplicateObject as e:
        raise ConfigError(
            f"replication slot {reader.slot!r} is in use: another run of this pipeline is"
            f" catching up ({catch_up_name(reader.slot)!r} exists)",
            hint="stop the other consumer of this slot, or use another pipeline name",
            sqlstate="55006",
            retryable=False,
        ) from e
    except psycopg.Error as e:
        log.warning(
            "warning: reading the backlog through the walsender: cannot copy slot %s (%s)",
            reader.slot,
            e.diag.message_primary or e,
        )
        return None
    cu.behind = int(str(row[0]))
    return cu


def catch_up_events(
    reader: PostgresReader, cu: CatchUp, idle_timeout: float
) -> Generator[Event | None, None, int]:
    """The backlog's events, as `PostgresReader.events` yields them; returns the position the
    walsender should start at (the end of the last transaction delivered)."""
    builder = reader.builder
    decoders = builder.row_decoders
    decode = reader.decoder.decode
    repl = reader.repl
    unpack = _ENTRY.unpack_from
    end_of_last = reader.last_lsn
    for blob in cu.batches(idle_timeout):
        if blob is None:
            yield None
            continue
        pos, size = 0, len(blob)
        lsn = reader.last_lsn
        while pos < size:
            at, length = unpack(blob, pos)
            pos += 12
            end = pos + length
            lsn = at or lsn  # as in `events`: a message without a position takes the last one
            if blob[pos] in ROW_TAGS:  # protocol 1 here: never inside a stream
                # The relation's compiled decoder (pgoutput_fast): this runs once per row change.
                change = decoders.get(int.from_bytes(blob[pos + 1 : pos + 5], "big"))
                if change is not None:
                    try:
                        ev = change(blob, pos, end, lsn)
                    except (IndexError, ValueError, UnicodeDecodeError):
                        pass  # the general path below says what is wrong
                    else:
                        if builder.held_begin is not None:
                            yield builder.held_begin
                            builder.held_begin = None
                        yield ev
                        pos = end
                        continue
            msg = decode(blob[pos:end], lsn=lsn)
            pos = end
            if type(msg) is po.Commit:
                end_of_last = max(end_of_last, msg.end_lsn)
            yield from builder.feed(msg, lsn)
        reader.last_lsn = lsn
        repl.received = max(repl.received, lsn)
    return end_of_last
