"""PostgreSQL applier: the common log into a PostgreSQL target, batched, set-wise, exactly once.

Many source transactions go into one target transaction (the pipeline decides when to commit);
inside it, row events are folded per table and key (`bridge.appliers.changes`) and written with
three set statements per table and chunk: `DELETE … = ANY(array)` (or `IN unnest(…)` for a
composite key), COPY into a temporary table plus one `UPDATE … FROM`, and COPY for new rows. The
checkpoint (the last source commit position) is written in the same target transaction, so after
a crash the target and its checkpoint agree and the reader resumes exactly there.

Events that cannot be folded are written one by one, in order, after flushing what is pending:
updates that change the key, changes to tables without a usable key, TRUNCATE, DDL. If a folded
chunk trips a constraint that only ordering would have avoided (a foreign key without
`session_replication_role = replica`, a unique value moving between rows), the chunk is rolled
back to its savepoint and replayed event by event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from bridge import pgschema
from bridge.appliers import pgadapt, relations
from bridge.appliers.base import CHECKPOINT_COLUMNS, Applier, Checkpoint
from bridge.appliers.changes import Row, TableChanges
from bridge.appliers.pgstatement import execute_statement
from bridge.errors import ApplyError, ConfigError, is_retryable_sqlstate
from bridge.log.events import (
    Column,
    Commit,
    Ddl,
    Event,
    Insert,
    Relation,
    RowEvent,
    SourceId,
    Statement,
    TableName,
    Truncate,
    Update,
)
from bridge.log.values import ABSENT, UNCHANGED, Value
from bridge.pgschema import TableInfo
from bridge.translate.pgstatements import ddl_statements, split_statements
from bridge.translate.types import TypePolicy

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]
TableDdl = Callable[[Relation], Sequence[pgschema.Statement]]
"""Statements that create a table the target lacks (from the source's catalog when it can)."""

# Types with no equality operator: compare their text in a keyless table's WHERE clause.
_NO_EQUALITY = frozenset({"json", "xml", "point", "polygon", "box", "circle", "line", "path"})


def load_checkpoint(conn: Conn, pipeline: str) -> Checkpoint | None:
    row = conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM bridge.checkpoints WHERE pipeline = %s",  # noqa: S608
        (pipeline,),
    ).fetchone()
    return None if row is None else Checkpoint(*row)  # type: ignore[arg-type]


def list_checkpoints(conn: Conn) -> list[Checkpoint]:
    rows = conn.execute(
        f"SELECT {CHECKPOINT_COLUMNS} FROM bridge.checkpoints ORDER BY 1"  # noqa: S608
    ).fetchall()
    return [Checkpoint(*r) for r in rows]  # type: ignore[arg-type]


def connect_target(dsn: str, **kwargs: object) -> Conn:
    """Connect to the target: a refused login is a configuration error, anything else transient.

    psycopg reports no SQLSTATE for a failed connection, so libpq's wording decides.
    """
    try:
        return psycopg.connect(dsn, **kwargs)  # type: ignore[arg-type]
    except psycopg.OperationalError as e:
        reason = " ".join(str(e).split())
        if "password authentication failed" in reason or "no pg_hba.conf entry" in reason:
            raise ConfigError(
                f"the target refused the login: {reason}",
                hint="check the user and password in the --target DSN",
            ) from e
        raise ApplyError(f"cannot connect to the target: {reason}", retryable=True) from e


@dataclass(slots=True)
class _Table:
    info: TableInfo
    ident: sql.Composable
    columns: tuple[str, ...]
    """The column layout of the events being folded (the source's relation)."""
    changes: TableChanges | None
    """None when the table has no key the target enforces: events are written one by one."""
    types: dict[str, str] = field(default_factory=dict)


class PostgresApplier(Applier):
    """Applies common-log events to one PostgreSQL target for one pipeline."""

    def __init__(
        self,
        dsn: str,
        pipeline: str,
        *,
        table_ddl: TableDdl | None = None,
        application_name: str = "dbbridge",
        policy: TypePolicy | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.table_ddl = table_ddl
        self.retype_on_relation = True
        self.column_type: Callable[[Column], str] = lambda c: c.type.source_type
        """The target type of a source column (a PostgreSQL source's own declaration)."""
        """Retype columns whose Relation type differs; off for sources of another engine, whose
        Relation types are in their own dialect (their retypes arrive as translated DDL)."""
        self.conn: Conn = connect_target(dsn, application_name=application_name)
        pgadapt.register(self.conn.adapters, policy)
        self.conn.execute(
            "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3"
        )
        # Our DDL capture trigger (sql/postgres/ddl_capture.sql) skips sessions that say this,
        # so changes we apply are not captured again (bidirectional setups).
        self.conn.execute("SELECT set_config('bridge.applying', 'on', false)")
        self.replica_role = self._try_replica_role()
        self.conn.commit()
        self._tables: dict[TableName, _Table] = {}
        self._last: _Table | None = None
        self._last_name: TableName | None = None
        self._chunk: list[RowEvent] = []
        """The folded row events not yet written, kept to replay them in order if needed."""
        self._skip = False
        self._temps: set[str] = set()
        self._known: dict[TableName, relations.Known | None] = {}
        """bridge.relations as this transaction sees it, per source table (None: no record)."""
        self.statement_rows: Callable[[list[RowEvent]], None] = lambda _rows: None
        """Receives the row events a `Statement` caused on the target, in order."""
        self._set_checkpoint(load_checkpoint(self.conn, pipeline))
        self.conn.commit()
        self._last_commit: Commit | None = None
        self._txns = 0
        self._changes = 0
        self.applied_transactions = 0
        self.applied_changes = 0
        self.replayed_chunks = 0
        """Chunks that tripped a constraint set-wise and were replayed in order (metrics)."""

    def _try_replica_role(self) -> bool:
        """Like the native apply worker, skip target triggers and FK checks when allowed.

        It needs superuser (or, from PostgreSQL 15, GRANT SET ON PARAMETER); without it foreign
        keys are checked, and a chunk that trips one is replayed in source order.
        """
        try:
            self.conn.execute("SAVEPOINT bridge_role")
            self.conn.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            self.conn.execute("ROLLBACK TO SAVEPOINT bridge_role")
            return False
        return True

    # -- events ---------------------------------------------------------------------------

    def apply(self, ev: Event) -> None:
        """Take one event; rows are written at the next `flush` or `commit`."""
        kind = type(ev)
        if kind is Insert:
            # The hot path (bulk inserts): an insert into the table of the previous row event,
            # folded as `_dispatch` -> `_row` would, without their calls and checks.
            t = self._last
            ch = t.changes if t is not None else None
            if (
                ch is not None
                and ev.relation is self._last_name  # type: ignore[union-attr]
                and t.columns is ev.columns  # type: ignore[union-attr]
                and not self._skip
            ):
                self._changes += 1
                self._chunk.append(ev)  # type: ignore[arg-type]
                ch.insert(ev.after)  # type: ignore[union-attr]
                return
        elif kind is Statement:
            # A MySQL statement whose rows depend on the target's state: after the rows
            # before it, inside the batch's transaction (bridge/appliers/pgstatement.py).
            if not self._skip:
                self.flush()
                rows = execute_statement(self.conn, ev)  # type: ignore[arg-type]
                self._changes += len(rows)
                self.statement_rows(rows)
            return
        self._dispatch(ev)

    def _row(self, ev: RowEvent) -> None:
        # Events of one relation share its TableName and columns objects: an identity check
        # spares hashing a dataclass per row.
        t = self._last
        if t is None or ev.relation is not self._last_name or t.columns is not ev.columns:
            t = self._tables.get(ev.relation)
            if t is None or t.columns is not ev.columns:
                t = self._layout(ev)
            self._last, self._last_name = t, ev.relation
        self._changes += 1
        ch = t.changes
        kind = type(ev)
        # Not foldable (no key on the target, or the key moves): in order, after the rest.
        moves = kind is Update and ch is not None and ch.key_changed(ev.before, ev.after)  # type: ignore[union-attr]
        if ch is None or moves:
            self.flush()
            self._write_one(t, ev)
            return
        self._chunk.append(ev)
        if kind is Insert:
            ch.insert(ev.after)  # type: ignore[union-attr]
        elif kind is Update:
            ch.update(ev.after)  # type: ignore[union-attr]
        else:
            ch.delete(ch.key_of(ev.before))  # type: ignore[union-attr,arg-type]

    def _layout(self, ev: RowEvent) -> _Table:
        """The table's state for the events' column layout (flushing an older layout first)."""
        t = self._tables.get(ev.relation)
        if t is not None and t.columns == ev.columns:
            t.columns = ev.columns  # the same layout in another tuple: adopt it
            return t
        if t is not None:
            self.flush()
        info = self._target_info(ev.relation)
        relations.lost_columns(ev.relation, str(ev.relation), ev.columns, info.columns)
        changes = None
        key = ev.key
        if key and set(key) == set(info.key) and all(k in ev.columns for k in key):
            changes = TableChanges(ev.columns, tuple(ev.columns.index(k) for k in key))
        t = _Table(
            info,
            sql.Identifier(ev.relation.schema, ev.relation.name),
            ev.columns,
            changes,
            dict(zip(info.columns, info.types, strict=True)),
        )
        self._tables[ev.relation] = t
        self._last = None
        return t

    def _target_info(self, name: TableName) -> TableInfo:
        info = pgschema.table_info(self.conn, name)
        if info is None and self._known_columns(name) is not None:
            raise relations.dropped_table(name, str(name))
        if info is None:
            raise ApplyError(
                f"the target has no table {name} and no definition for it arrived",
                hint="run with the snapshot (without --no-snapshot), or create the table",
                table=str(name),
            )
        return info

    # -- writing ----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write every folded change (inside the open target transaction)."""
        if not self._chunk:
            return
        chunk, self._chunk = self._chunk, []
        tables = [t for t in self._tables.values() if t.changes is not None and len(t.changes)]
        self.conn.execute("SAVEPOINT bridge_chunk")
        try:
            for t in tables:
                self._write_set(t)
        except psycopg.errors.IntegrityError:
            # Set-wise order (deletes, updates, inserts per table) tripped a constraint that the
            # source's order satisfies: replay this chunk exactly in order.
            self.conn.execute("ROLLBACK TO SAVEPOINT bridge_chunk")
            self._temps.clear()
            self.replayed_chunks += 1
            for ev in chunk:
                self._write_one(self._tables[ev.relation], ev)
        except psycopg.Error as e:
            names = ", ".join(str(t.info.name) for t in tables)
            raise self._error(e, f"writing changes to {names}") from e
        finally:
            for t in tables:
                if t.changes is not None:
                    t.changes.ops.clear()
        self.conn.execute("RELEASE SAVEPOINT bridge_chunk")

    def _write_set(self, t: _Table) -> None:
        ch = t.changes
        if ch is None:
            return
        cur = self.conn.cursor()
        deletes = ch.deletes()
        if deletes:
            self._delete_keys(t, ch, deletes)
        for idx, rows in ch.updates():
            if len(idx) > len(ch.key_index):
                self._update_rows(t, ch, idx, rows)
        inserts = ch.inserts()
        if inserts:
            cols = sql.SQL(", ").join(map(sql.Identifier, t.columns))
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(t.ident, cols)) as cp:
                write = cp.write_row
                for row in inserts:
                    write(row)

    def _delete_keys(self, t: _Table, ch: TableChanges, keys: list[tuple[Value, ...]]) -> None:
        names = [t.columns[i] for i in ch.key_index]
        if len(names) == 1:
            query = sql.SQL("DELETE FROM {} WHERE {} = ANY({}::{}[])").format(
                t.ident,
                sql.Identifier(names[0]),
                sql.Placeholder(),
                sql.SQL(t.types[names[0]]),
            )
            self.conn.execute(query, ([k[0] for k in keys],))
            return
        query = sql.SQL("DELETE FROM {} WHERE ({}) IN (SELECT * FROM unnest({}))").format(
            t.ident,
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(
                sql.SQL("{}::{}[]").format(sql.Placeholder(), sql.SQL(t.types[n])) for n in names
            ),
        )
        self.conn.execute(query, [[k[i] for k in keys] for i in range(len(names))])

    def _update_rows(
        self, t: _Table, ch: TableChanges, idx: tuple[int, ...], rows: list[Row]
    ) -> None:
        temp = self._temp_table(t)
        names = [t.columns[i] for i in idx]
        keys = names[: len(ch.key_index)]
        sets = names[len(ch.key_index) :]
        cur = self.conn.cursor()
        cols = sql.SQL(", ").join(map(sql.Identifier, names))
        with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(temp, cols)) as cp:
            for row in rows:
                cp.write_row(row)
        cur.execute(
            sql.SQL("UPDATE {} AS t SET {} FROM {} AS s WHERE {}").format(
                t.ident,
                sql.SQL(", ").join(
                    sql.SQL("{} = s.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in sets
                ),
                temp,
                sql.SQL(" AND ").join(
                    sql.SQL("t.{} = s.{}").format(sql.Identifier(k), sql.Identifier(k))
                    for k in keys
                ),
            )
        )
        cur.execute(sql.SQL("TRUNCATE {}").format(temp))

    def _temp_table(self, t: _Table) -> sql.Composable:
        name = f"bridge_u_{t.info.oid}"
        ident = sql.Identifier(name)
        if name not in self._temps:
            # Column types only (no constraints): an update's columns are a subset of the row.
            self.conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DROP AS SELECT * FROM {}"
                    " WITH NO DATA"
                ).format(ident, t.ident)
            )
            self._temps.add(name)
        return ident

    def _write_one(self, t: _Table, ev: RowEvent) -> None:
        """One event as one statement: the exact, ordered (and slow) path."""
        try:
            if type(ev) is Insert:
                self._insert_one(t, ev.columns, ev.after)
            elif type(ev) is Update:
                sets = [
                    (c, v) for c, v in zip(ev.columns, ev.after, strict=True) if v is not UNCHANGED
                ]
                where = self._where(t, ev.columns, ev.before if ev.before is not None else ev.after)
                query = sql.SQL("UPDATE {} SET {} WHERE {}").format(
                    t.ident,
                    sql.SQL(", ").join(
                        sql.SQL("{} = {}").format(sql.Identifier(c), self._param(t, c))
                        for c, _ in sets
                    ),
                    where[0],
                )
                self.conn.execute(query, [v for _, v in sets] + where[1])
            else:
                where = self._where(t, ev.columns, ev.before)  # type: ignore[union-attr,arg-type]
                query = sql.SQL("DELETE FROM {} WHERE {}").format(t.ident, where[0])
                self.conn.execute(query, where[1])
        except psycopg.Error as e:
            raise self._error(e, f"applying a {type(ev).__name__.lower()}", ev) from e

    def _insert_one(self, t: _Table, columns: tuple[str, ...], row: Row) -> None:
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            t.ident,
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(self._param(t, c) for c in columns),
        )
        self.conn.execute(query, list(row))

    def _param(self, t: _Table, column: str) -> sql.Composable:
        return sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(t.types[column]))

    def _where(
        self, t: _Table, columns: tuple[str, ...], image: Row
    ) -> tuple[sql.Composable, list[Value]]:
        """A WHERE clause that finds the row `image` identifies (key, or every column sent)."""
        key = t.info.key
        if key:
            pairs = [(c, image[columns.index(c)]) for c in key]
            cond = sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier(c), self._param(t, c)) for c, _ in pairs
            )
            return cond, [v for _, v in pairs]
        # No key on the target: match every column the source sent, one row only.
        pairs = [(c, v) for c, v in zip(columns, image, strict=True) if v is not ABSENT]
        terms = []
        for c, _ in pairs:
            typ = t.types[c]
            if typ.split("(")[0] in _NO_EQUALITY:
                terms.append(
                    sql.SQL("{}::text IS NOT DISTINCT FROM {}::text").format(
                        sql.Identifier(c), sql.Placeholder()
                    )
                )
            else:
                terms.append(
                    sql.SQL("{} IS NOT DISTINCT FROM {}").format(
                        sql.Identifier(c), self._param(t, c)
                    )
                )
        cond = sql.SQL("ctid = (SELECT ctid FROM {} WHERE {} LIMIT 1)").format(
            t.ident, sql.SQL(" AND ").join(terms)
        )
        return cond, [v for _, v in pairs]

    # -- schema ------------------------------------------------------------------------------

    def _relation(self, ev: Relation) -> None:
        """Make the target table follow the source's relation: create it, or add, drop and
        retype the columns the source changed (never the target's own: see relations.py)."""
        info = pgschema.table_info(self.conn, ev.relation)
        ident = sql.Identifier(ev.relation.schema, ev.relation.name)
        known = self._known_columns(ev.relation)
        if info is None:
            if known is not None:
                raise relations.dropped_table(ev.relation, str(ev.relation))
            statements = self.table_ddl(ev) if self.table_ddl else pgschema.relation_ddl(ev)
            for stmt in statements:
                self._execute_ddl(stmt, ev)
            record: relations.Known = {c.name: c.type.source_type for c in ev.columns}
        else:
            todo = relations.plan(
                ev.relation,
                str(ev.relation),
                known,
                ev.columns,
                dict(zip(info.columns, info.types, strict=True)),
                same_type=self.retype_on_relation,
            )
            for c in todo.add:
                self._execute_ddl(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        ident, sql.Identifier(c.name), sql.SQL(self.column_type(c))
                    ),
                    ev,
                )
            for c in todo.retype:
                self._execute_ddl(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                        ident,
                        sql.Identifier(c.name),
                        sql.SQL(c.type.source_type),
                        sql.Identifier(c.name),
                        sql.SQL(c.type.source_type),
                    ),
                    ev,
                )
            for name in todo.drop:
                self._execute_ddl(
                    sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(ident, sql.Identifier(name)),
                    ev,
                )
            record = todo.record
        if record != known:
            self.remember({ev.relation: record})
        self._schema_changed(ev.relation)

    # -- bridge.relations ----------------------------------------------------------------------

    def _known_columns(self, name: TableName) -> relations.Known | None:
        if name not in self._known:
            row = self.conn.execute(
                "SELECT columns FROM bridge.relations"
                " WHERE pipeline = %s AND table_schema = %s AND table_name = %s",
                (self.pipeline, name.schema, name.name),
            ).fetchone()
            self._known[name] = None if row is None else relations.loads(str(row[0]))
        return self._known[name]

    def remember(self, tables: dict[TableName, relations.Known]) -> None:
        """Record the source columns replicated into each table, in the open transaction (the
        snapshot records what it copied; a Relation message what it changed)."""
        for name, known in tables.items():
            self.conn.execute(
                "INSERT INTO bridge.relations (pipeline, table_schema, table_name, columns)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (pipeline, table_schema, table_name)"
                " DO UPDATE SET columns = excluded.columns",
                (self.pipeline, name.schema, name.name, relations.dumps(known)),
            )
            self._known[name] = known

    def _forget_known(self) -> None:
        """A DDL event changed the target's tables: their next Relation sets a new baseline."""
        self.conn.execute("DELETE FROM bridge.relations WHERE pipeline = %s", (self.pipeline,))
        self._known.clear()

    def _schema_changed(self, table: TableName | None) -> None:
        """Forget what is known of a target table's shape (of every table when None)."""
        if table is None:
            self._tables.clear()
        else:
            self._tables.pop(table, None)
        self._last = None
        # The update path's temp tables copy a table's shape and live until the commit.
        for name in self._temps:
            self.conn.execute(
                sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(name))
            )
        self._temps.clear()

    def _execute_ddl(self, stmt: pgschema.Statement, ev: Event) -> None:
        try:
            self.conn.execute(stmt)
        except psycopg.Error as e:
            raise self._error(e, f"changing the schema ({stmt.as_string(self.conn)})", ev) from e

    def _truncate(self, ev: Truncate) -> None:
        query = sql.SQL("TRUNCATE {}{}{}").format(
            sql.SQL(", ").join(sql.Identifier(r.schema, r.name) for r in ev.relations),
            sql.SQL(" RESTART IDENTITY" if ev.restart_identity else ""),
            sql.SQL(" CASCADE" if ev.cascade else ""),
        )
        self._execute_ddl(query, ev)

    def _ddl(self, ev: Ddl) -> None:
        if ev.dialect != "postgres" and "postgres" not in ev.translated:
            raise ApplyError(
                f"no PostgreSQL translation for the {ev.dialect} statement {ev.text!r}",
                position=str(ev.position),
            )
        if ev.dialect == "postgres":
            # Captured text may carry DML sent in the same string; the rows arrive as row
            # events (a TRUNCATE as a Truncate event), so only the schema changes run here.
            text = ev.text
            statements = ddl_statements(text)
        else:
            # A translation holds exactly what the source statement does (a MySQL TRUNCATE
            # included, whose rows never arrive as events): all of it runs.
            text = ev.translated["postgres"]
            statements = split_statements(text)
        if ev.schema:
            self.conn.execute(
                "SELECT set_config('search_path', %s, true)",
                (sql.Identifier(ev.schema).as_string(self.conn) + ", public",),
            )
        try:
            for statement in statements:
                self.conn.execute(statement.encode())
        except psycopg.Error as e:
            raise ApplyError(
                f"the target refused the source's DDL {text!r}: {e.diag.message_primary or e}",
                hint="fix the target schema by hand so the statement applies and restart, or make"
                " its change by hand and run again with --skip-ddl POSITION (the one above)",
                position=str(ev.position),
                sqlstate=e.sqlstate,
                retryable=False,
            ) from e
        if ev.schema:
            self.conn.execute("SET LOCAL search_path TO DEFAULT")
        self._forget_known()
        self._schema_changed(None)

    # -- transactions --------------------------------------------------------------------------

    def commit(self) -> Commit | None:
        """Flush, write the checkpoint and commit; returns the last source commit covered."""
        self.flush()
        last = self._last_commit
        try:
            if last is not None:
                self._write_checkpoint(
                    last.source, "streaming", str(last.commit_position), None, last.commit_time
                )
            self.conn.commit()
        except psycopg.Error as e:
            raise self._error(e, "committing a batch") from e
        self._temps.clear()
        self.applied_transactions += self._txns
        self.applied_changes += self._changes
        self._txns = self._changes = 0
        self._last_commit = None
        return last

    def _write_checkpoint(
        self,
        source: SourceId,
        phase: str,
        position: str,
        snapshot_position: str | None,
        commit_time: dt.datetime | None,
    ) -> None:
        self.check_source(source)
        row = self.conn.execute(
            f"INSERT INTO bridge.checkpoints AS c ({CHECKPOINT_COLUMNS})"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s, %s, %s, now(), %s, %s)"
            " ON CONFLICT (pipeline) DO UPDATE SET phase = EXCLUDED.phase,"
            " position = EXCLUDED.position,"
            " snapshot_position = coalesce(EXCLUDED.snapshot_position, c.snapshot_position),"
            " commit_time = coalesce(EXCLUDED.commit_time, c.commit_time), applied_at = now(),"
            " transactions = c.transactions + EXCLUDED.transactions,"
            " changes = c.changes + EXCLUDED.changes"
            f" RETURNING {CHECKPOINT_COLUMNS}",
            (
                self.pipeline,
                source.engine,
                source.system_id,
                phase,
                position,
                snapshot_position,
                commit_time,
                self._txns,
                self._changes,
            ),
        ).fetchone()
        self._set_checkpoint(Checkpoint(*row))  # type: ignore[misc]

    def mark_snapshot(
        self, source: SourceId, position: str, *, done: bool, snapshot_position: str | None = None
    ) -> None:
        """Record the snapshot's consistent point; `done` switches the pipeline to streaming.

        `snapshot_position` defaults to `position`; a MySQL source's copy has one position per
        table, recorded there so a restart still skips what each table's copy holds."""
        self._write_checkpoint(
            source,
            "streaming" if done else "snapshot",
            position,
            snapshot_position or position,
            None,
        )
        self.conn.commit()

    def rollback(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.conn.rollback()
        self._chunk.clear()
        self._temps.clear()
        self._known.clear()
        for t in self._tables.values():
            if t.changes is not None:
                t.changes.ops.clear()
        self._last_commit = None
        self._txns = self._changes = 0
        self._skip = False

    @property
    def uncommitted(self) -> bool:
        """Whether source transactions were applied since the last commit."""
        return self._last_commit is not None

    def close(self) -> None:
        self.conn.close()

    def _error(self, e: psycopg.Error, doing: str, ev: Event | None = None) -> ApplyError:
        sqlstate = e.sqlstate
        message = e.diag.message_primary or str(e).strip()
        retryable = is_retryable_sqlstate(sqlstate) or isinstance(e, psycopg.OperationalError)
        if sqlstate == "53100":
            message = f"the target's disk is full ({message}): free space or grow the volume"
        hint = None
        if not retryable:
            hint = "the target refused the change; see the message above"
            if sqlstate and sqlstate[:2] in {"23", "42"}:  # constraints; undefined objects
                hint = (
                    "the target table differs from the source (changed by hand?): make it match"
                    " the source, then restart; nothing past the last checkpoint was applied"
                )
        return ApplyError(
            f"the target failed {doing}: {message}",
            hint=hint,
            position=str(ev.position) if ev is not None else None,
            table=str(getattr(ev, "relation", "")) or None,
            sqlstate=sqlstate,
            retryable=retryable,
        )
