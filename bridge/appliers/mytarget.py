"""A MySQL/MariaDB target: connection, apply session, errors, table shapes and checkpoints.

The pieces the MySQL applier (`bridge.appliers.mysql`), its bulk copy and `bridge.metadata` share:

- `connect_mysql` opens a PyMySQL connection from a `mysql://` / `mariadb://` DSN; a refused login
  is a configuration error, an unreachable server a transient one.
- `prepare_session` sets what the applier relies on: utf8mb4, UTC, strict sql_mode with
  NO_AUTO_VALUE_ON_ZERO (a replicated 0 in an AUTO_INCREMENT column stays 0), zero dates allowed
  (they are replicated as such), backslash escapes on (the literals use them), READ COMMITTED,
  `foreign_key_checks = 0` (the source already checked; like PostgreSQL's
  session_replication_role = replica), and `sql_log_bin = 0` only when asked (see `Session`).
- `mysql_error` maps a server error to our tree: access denied -> ConfigError naming the grant,
  deadlocks / lock waits / lost connections -> retryable ApplyError (bridge.errors' errno table).
- `read_table` reads a target table's columns and primary key from information_schema.
- Checkpoints live in `bridge.checkpoints` (database `bridge`), the same columns as on PostgreSQL;
  times are DATETIME(6) holding UTC, returned as aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final, TypeAlias

import pymysql
import pymysql.cursors

from bridge.appliers.base import CHECKPOINT_COLUMNS, Checkpoint
from bridge.appliers.myadapt import TargetColumn
from bridge.dsn import redact
from bridge.errors import ApplyError, BridgeError, ConfigError
from bridge.log.events import SourceId, TableName
from bridge.mysqlconn import Connection, connect_args, errno_of, is_transient

log = logging.getLogger(__name__)

# Generic in the stubs only: the alias is a string so it is never subscripted at run time.
Conn: TypeAlias = "pymysql.connections.Connection[pymysql.cursors.Cursor]"

SQL_MODE: Final = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION"
"""Strict (errors, not warnings, on bad data), NO_AUTO_VALUE_ON_ZERO, and nothing else: no
NO_ZERO_DATE (zero dates are replicated), no NO_BACKSLASH_ESCAPES (our literals escape with
backslashes), no ANSI_QUOTES (we quote identifiers with backticks)."""

# Access denied (database, login, table, column, routine), "you need the X privilege".
_ACCESS_ERRNOS: Final = frozenset({1044, 1045, 1142, 1143, 1227, 1370, 1698})
_CONNECT_TIMEOUT: Final = 10
_CLIENT_MAX_PACKET: Final = 1 << 30


def quote_ident(*parts: str) -> str:
    """`db`.`table` with backticks doubled inside names."""
    return ".".join("`" + p.replace("`", "``") + "`" for p in parts)


def table_ident(name: TableName) -> str:
    return quote_ident(name.schema, name.name)


def mysql_error(
    e: pymysql.Error, doing: str, *, position: str | None = None, table: str | None = None
) -> BridgeError:
    """Our error for a PyMySQL one: access -> ConfigError, transient -> retryable ApplyError."""
    errno = errno_of(e)
    args: tuple[object, ...] = getattr(e, "args", ())
    message = str(args[1]) if len(args) > 1 else str(e) or type(e).__name__
    if errno in _ACCESS_ERRNOS:
        return ConfigError(
            f"the target refused {doing}: {message}",
            hint="grant the target user SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP and"
            " INDEX on the replicated databases and on `bridge`.* (GRANT … ON db.* TO user)",
            position=position,
            table=table,
            errno=errno,
        )
    retryable = is_transient(e)
    return ApplyError(
        f"the target failed {doing}: {message}",
        hint=None if retryable else "the target refused the change; see the message above",
        position=position,
        table=table,
        errno=errno,
        retryable=retryable,
    )


def connect_mysql(dsn: str, *, autocommit: bool = False, local_infile: bool = False) -> Conn:
    """Connect to a MySQL/MariaDB target from its DSN (TLS query options as
    `bridge.mysqlconn.connect_args` reads them)."""
    try:
        return Connection(
            **connect_args(dsn)
            | {
                "autocommit": autocommit,
                "connect_timeout": _CONNECT_TIMEOUT,
                "local_infile": local_infile,
                # The client refuses statements past its own limit; the server's is what counts.
                "max_allowed_packet": _CLIENT_MAX_PACKET,
            }
        )
    except pymysql.Error as e:
        errno = errno_of(e)
        if errno in _ACCESS_ERRNOS or errno == 1049:  # 1049: unknown database
            raise ConfigError(
                f"the target refused the login ({redact(dsn)}): {e.args[-1]}",
                hint="check the user, password and database in the --target DSN",
                errno=errno,
            ) from e
        raise ApplyError(
            f"cannot connect to the target {redact(dsn)}: {e.args[-1]}",
            errno=errno,
            retryable=True,
        ) from e


@dataclass(frozen=True, slots=True)
class Session:
    """What `prepare_session` found and set."""

    flavor: str
    """'mariadb' or 'mysql'."""
    version: str
    max_packet: int
    """The server's max_allowed_packet: no statement may be longer."""
    fk_checks_off: bool
    """Whether foreign_key_checks = 0 took (it does for any user on current servers)."""
    binlog_off: bool
    """Whether sql_log_bin = 0 was asked for and took. It needs SUPER / BINLOG ADMIN and hides
    our changes from the target's own replicas and from any reader of its binlog, so it is off
    by default; turn it on only to stop a reverse pipeline from replicating our changes back."""


def prepare_session(conn: Conn, *, binlog: bool = True) -> Session:
    """Set up an apply session (see the module docstring); commits nothing."""
    with conn.cursor() as cur:
        cur.execute("SET NAMES utf8mb4")
        cur.execute(f"SET SESSION time_zone = '+00:00', sql_mode = '{SQL_MODE}'")
        cur.execute("SELECT VERSION(), @@max_allowed_packet, @@log_bin, @@binlog_format")
        row = cur.fetchone()
        if row is None:
            raise ApplyError("the target did not report its version and settings")
        version, packet, log_bin, binlog_format = str(row[0]), int(row[1]), row[2], row[3]
        # READ COMMITTED takes no gap locks (fewer deadlocks with the target's own writers), but
        # a statement-format binlog refuses InnoDB writes under it: keep the default there.
        if not (log_bin and str(binlog_format).upper() == "STATEMENT"):
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        fk_off = _try(cur, "SET SESSION foreign_key_checks = 0")
        if not binlog:
            try:
                cur.execute("SET SESSION sql_log_bin = 0")
            except pymysql.Error as e:
                raise ConfigError(
                    f"the target user may not set sql_log_bin: {e.args[-1]}",
                    hint="grant SUPER (MySQL 5.7), SYSTEM_VARIABLES_ADMIN (MySQL 8) or BINLOG"
                    " ADMIN (MariaDB), or leave the target's binlog on",
                    errno=errno_of(e),
                ) from e
    flavor = "mariadb" if "mariadb" in version.lower() else "mysql"
    return Session(flavor, version, packet, fk_off, not binlog)


def _try(cur: pymysql.cursors.Cursor, statement: str) -> bool:
    try:
        cur.execute(statement)
    except pymysql.err.OperationalError as e:
        log.info("the target refused %r: %s; foreign keys stay checked", statement, e)
        return False
    return True


# -- table shapes --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetTable:
    """A target table: its columns by name (in order) and its primary key."""

    name: TableName
    columns: dict[str, TargetColumn]
    key: tuple[str, ...]


def read_table(conn: Conn, name: TableName) -> TargetTable | None:
    """The table's shape from information_schema, or None when the table does not exist."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION,"
            " NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_SET_NAME, EXTRA"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
            " ORDER BY ORDINAL_POSITION",
            (name.schema, name.name),
        )
        rows = cur.fetchall()
        if not rows:
            return None
        cur.execute(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s"
            " AND TABLE_NAME = %s AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (name.schema, name.name),
        )
        key = tuple(str(r[0]) for r in cur.fetchall())
    columns = {}
    for r in rows:
        col = TargetColumn(
            name=str(r[0]),
            data_type=str(r[1]),
            column_type=str(r[2]),
            nullable=r[3] == "YES",
            precision=None if r[4] is None else int(r[4]),
            scale=None if r[5] is None else int(r[5]),
            fsp=None if r[6] is None else int(r[6]),
            charset=None if r[7] is None else str(r[7]),
            auto_increment="auto_increment" in str(r[8]).lower(),
        )
        columns[col.name] = col
    return TargetTable(name, columns, key)


# -- checkpoints -------------------------------------------------------------------------------

_UTC = dt.UTC


def _checkpoint(row: tuple[object, ...]) -> Checkpoint:
    values = list(row)
    for i in (7, 8):  # commit_time, applied_at: DATETIME(6) holding UTC
        v = values[i - 1]
        if isinstance(v, dt.datetime):
            values[i - 1] = v.replace(tzinfo=_UTC)
    return Checkpoint(*values)  # type: ignore[arg-type]


def load_checkpoint(conn: Conn, pipeline: str) -> Checkpoint | None:
    """The pipeline's checkpoint, or None; ConfigError when the metadata schema is missing."""
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"SELECT {CHECKPOINT_COLUMNS} FROM bridge.checkpoints"  # noqa: S608
                " WHERE pipeline = %s",
                (pipeline,),
            )
            row = cur.fetchone()
    except pymysql.err.ProgrammingError as e:
        if errno_of(e) in (1049, 1146):  # unknown database / table
            raise ConfigError(
                "the target has no bridge metadata schema (bridge.checkpoints)",
                hint="run `dbbridge init --target …` first",
                errno=errno_of(e),
            ) from e
        raise
    return None if row is None else _checkpoint(row)


def list_checkpoints(conn: Conn) -> list[Checkpoint]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {CHECKPOINT_COLUMNS} FROM bridge.checkpoints ORDER BY 1")  # noqa: S608
        return [_checkpoint(r) for r in cur.fetchall()]


def write_checkpoint(
    conn: Conn,
    pipeline: str,
    source: SourceId,
    *,
    phase: str,
    position: str,
    snapshot_position: str | None,
    commit_time: dt.datetime | None,
    transactions: int,
    changes: int,
) -> Checkpoint:
    """Upsert the pipeline's checkpoint row (in the open transaction) and return it."""
    if commit_time is not None and commit_time.tzinfo is not None:
        commit_time = commit_time.astimezone(_UTC).replace(tzinfo=None)
    with conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO bridge.checkpoints ({CHECKPOINT_COLUMNS})"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6), %s, %s)"
            " ON DUPLICATE KEY UPDATE phase = VALUES(phase), position = VALUES(position),"
            " snapshot_position = COALESCE(VALUES(snapshot_position), snapshot_position),"
            " commit_time = COALESCE(VALUES(commit_time), commit_time),"
            " applied_at = VALUES(applied_at),"
            " transactions = transactions + VALUES(transactions),"
            " changes = changes + VALUES(changes)",
            (
                pipeline,
                source.engine,
                source.system_id,
                phase,
                position,
                snapshot_position,
                commit_time,
                transactions,
                changes,
            ),
        )
        cur.execute(
            f"SELECT {CHECKPOINT_COLUMNS} FROM bridge.checkpoints"  # noqa: S608
            " WHERE pipeline = %s",
            (pipeline,),
        )
        row = cur.fetchone()
    if row is None:
        raise ApplyError(f"the checkpoint of pipeline {pipeline!r} vanished as it was written")
    return _checkpoint(row)
