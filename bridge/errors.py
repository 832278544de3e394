"""One exception tree for the whole pipeline, with the exit codes the CLI contract promises.

Every error a user can meet derives from `BridgeError` and carries structured context (the
position, table, SQLSTATE or MySQL errno it concerns) plus a `hint` that says how to fix it. Whether
a fault is transient (worth a retry with backoff) is decided by one table per engine below, never ad
hoc at the raise site, so readers and appliers agree on what "transient" means.

Exit codes (DESIGN.md, contract): 0 ok, 1 verification differences, 2 usage or configuration error,
3 runtime failure.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_DIFFERENCES = 1
EXIT_CONFIG = 2
EXIT_RUNTIME = 3

# SQLSTATE classes and codes after which the same operation may succeed on a new attempt.
# Class 08: connection exceptions; 57P01-57P03: admin/crash shutdown and "cannot connect now"
# (a restarting server); 40001/40P01: serialization failure and deadlock; 53300: too many
# connections; 55006: object in use (e.g. a replication slot still held by a dying walsender);
# 53100/53200: disk full, out of memory (an operator frees space, the batch applies);
# 57014/55P03: statement cancelled (statement_timeout, pg_cancel_backend) or lock_timeout on a
# slow or busy target. The batch is rolled back each time, so a retry never doubles anything.
_RETRYABLE_SQLSTATE_CLASSES = frozenset({"08"})
_RETRYABLE_SQLSTATES = frozenset(
    {"57P01", "57P02", "57P03", "40001", "40P01", "53300", "55006", "53100", "53200", "57014"}
    | {"55P03"}
)

# MySQL/MariaDB client and server errnos that describe a transient condition: 2002/2003 can't
# connect, 2006/2013 server gone / lost connection, 1040 too many connections, 1205 lock wait
# timeout, 1213 deadlock, 1053 server shutdown in progress, 1927 connection killed (MariaDB),
# 1021 disk full, 1114 table full (a full volume or innodb_data_file_path's limit), 3024
# max_statement_time exceeded (MySQL), 1969 max_statement_time exceeded (MariaDB), 1412 table
# definition changed since the transaction's consistent snapshot ("please retry transaction": a
# DDL during the initial copy, which then starts again).
_RETRYABLE_MYSQL_ERRNOS = frozenset(
    {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055, 1021, 1114, 1969, 3024, 1412}
)


def is_retryable_sqlstate(sqlstate: str | None) -> bool:
    """Tell whether a PostgreSQL SQLSTATE names a transient fault."""
    if not sqlstate:
        return False
    return sqlstate in _RETRYABLE_SQLSTATES or sqlstate[:2] in _RETRYABLE_SQLSTATE_CLASSES


def is_retryable_mysql_errno(errno: int | None) -> bool:
    """Tell whether a MySQL/MariaDB error number names a transient fault."""
    return errno is not None and errno in _RETRYABLE_MYSQL_ERRNOS


class BridgeError(Exception):
    """Base of every error bridge raises on purpose.

    The message names what is wrong; `hint` says how to fix it. The CLI prints both on one line
    each and exits with `exit_code`.
    """

    exit_code: ClassVar[int] = EXIT_RUNTIME

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        position: str | None = None,
        table: str | None = None,
        sqlstate: str | None = None,
        errno: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        #: How to fix it, in one sentence, or None.
        self.hint = hint
        #: The source position the error concerns, in its serialized form, or None.
        self.position = position
        #: The qualified table the error concerns, or None.
        self.table = table
        #: PostgreSQL SQLSTATE of the underlying server error, or None.
        self.sqlstate = sqlstate
        #: MySQL/MariaDB error number of the underlying server error, or None.
        self.errno = errno
        if retryable is None:
            retryable = is_retryable_sqlstate(sqlstate) or is_retryable_mysql_errno(errno)
        #: Whether retrying the same operation after a backoff may succeed.
        self.retryable = retryable

    def __str__(self) -> str:
        parts = [self.message]
        if self.position:
            parts.append(f"at position {self.position}")
        if self.table:
            parts.append(f"table {self.table}")
        return ", ".join(parts)


class ConfigError(BridgeError):
    """Bad usage or configuration: a DSN, an option, a server setting, a missing binary."""

    exit_code = EXIT_CONFIG


class SourceError(BridgeError):
    """The source database failed or refused what the reader needs."""


class DecodeError(BridgeError):
    """A change-stream message could not be decoded; the reader stops at its position."""


class TranslateError(BridgeError):
    """A statement or type has no faithful translation under the configured policy."""

    exit_code = EXIT_CONFIG


class ApplyError(BridgeError):
    """The target database refused or failed a batch."""


class SchemaDriftError(ConfigError):
    """A target table no longer has the shape replication gave it: someone changed it by hand.

    Stopping is the only safe move: re-creating a dropped column leaves it empty, and guessing
    loses data silently. The batch is rolled back, so nothing past the last checkpoint is applied.
    """


class Interrupted(BridgeError):
    """A stop request (SIGTERM/SIGINT) ended a step that cannot stop half way (the initial copy);
    nothing of it is recorded, so the next run does it again."""


class LocalServerError(ConfigError):
    """A throwaway local server could not be installed, started or stopped."""
