"""Connections to MySQL/MariaDB servers from `mysql://` / `mariadb://` DSNs (PyMySQL).

One place turns a DSN into PyMySQL arguments (TLS options included) and a failed connection into
our errors: a refused login is a configuration error (exit 2, never retried), a server that
cannot be reached is transient (retried with backoff by the pipeline).
"""

from __future__ import annotations

import contextlib
import os
import ssl
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql
import pymysql.connections
import pymysql.converters

from bridge.dsn import redact
from bridge.errors import ConfigError, SourceError, is_retryable_mysql_errno

RAW_CONVERSIONS: dict[Any, Any] = {
    k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)
}
"""PyMySQL conversions with the encoders only: results come back as the server's text (str) or
bytes (binary columns), so our code decides each value's exact type (PyMySQL's own decoders turn
zero dates into strings, FLOAT text into 6-digit floats and TIME into timedelta)."""

_ACCESS_DENIED = {1044, 1045, 1142, 1227, 1698}
_TLS_PARAMS = {"ssl_ca": "ca", "ssl_cert": "cert", "ssl_key": "key"}


def connect_args(dsn: str) -> dict[str, Any]:
    """PyMySQL keyword arguments for `dsn` (query parameters: ssl_ca, ssl_cert, ssl_key,
    ssl_verify_cert, ssl_verify_identity, connect_timeout)."""
    parts = urlsplit(dsn)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    args: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "charset": "utf8mb4",
        "connect_timeout": float(query.get("connect_timeout", 10)),
    }
    database = parts.path.lstrip("/")
    if database:
        args["database"] = unquote(database)
    ssl = {ours: query[k] for k, ours in _TLS_PARAMS.items() if k in query}
    if ssl or query.get("ssl") in ("true", "1", "required"):
        args["ssl"] = ssl
        args["ssl_verify_cert"] = query.get("ssl_verify_cert", "false") in ("true", "1")
        args["ssl_verify_identity"] = query.get("ssl_verify_identity", "false") in ("true", "1")
    return args


_SSL_CONTEXTS: dict[tuple[tuple[str, str], ...], ssl.SSLContext] = {}


class Connection(pymysql.connections.Connection):
    """PyMySQL's connection, with one TLS context per TLS configuration instead of one per
    connection.

    PyMySQL >= 1.1 tries TLS on every connection by default (PREFERRED) and builds a new
    SSLContext each time, loading the system's CA store: ~25 ms per connection, a tenth of a
    second for a pipeline's start (tests/unit/test_mysqlconn.py pins it). A context holds no
    per-connection state. Its key includes the certificate files' modification times, so a
    rotated certificate is read again.
    """

    def _create_ssl_ctx(self, sslp: dict[str, Any]) -> ssl.SSLContext:
        stamps = []
        for name in ("ca", "cert", "key", "capath"):
            path = sslp.get(name)
            if isinstance(path, str):
                with contextlib.suppress(OSError):
                    stamps.append((name, str(os.stat(path).st_mtime_ns)))
        key = tuple(sorted((str(k), repr(v)) for k, v in sslp.items())) + tuple(stamps)
        ctx = _SSL_CONTEXTS.get(key)
        if ctx is None:
            ctx = _SSL_CONTEXTS[key] = super()._create_ssl_ctx(sslp)  # type: ignore[misc]
        return ctx


def connect(dsn: str, *, role: str = "source", raw: bool = False, **kwargs: Any) -> Any:
    """An open PyMySQL connection (session time zone UTC, utf8mb4); `raw` returns values as the
    server's text (see RAW_CONVERSIONS)."""
    args = connect_args(dsn) | kwargs
    if raw:
        args["conv"] = RAW_CONVERSIONS
    try:
        conn = Connection(**args, init_command="SET time_zone = '+00:00'")
    except pymysql.err.OperationalError as e:
        code = e.args[0] if e.args else 0
        message = e.args[1] if len(e.args) > 1 else str(e)
        if code in _ACCESS_DENIED:
            raise ConfigError(
                f"the {role} {redact(dsn)} refused the login: {message}",
                hint="check the user and password in the DSN (see sql/mysql/grants.sql)",
            ) from e
        raise SourceError(
            f"cannot connect to the {role} {redact(dsn)}: {message}", retryable=True
        ) from e
    return conn


def errno_of(e: BaseException) -> int | None:
    """The MySQL error number of a PyMySQL exception, if it carries one."""
    args = getattr(e, "args", ())
    if args and isinstance(args[0], int):
        return int(args[0])
    return None


def is_transient(e: BaseException) -> bool:
    """Whether a PyMySQL error names a fault that retrying can cure: a lost or refused
    connection, a server going away or restarting, a deadlock or lock wait timeout. PyMySQL
    reports a connection that is already closed as InterfaceError with errno 0."""
    errno = errno_of(e)
    return (
        isinstance(e, pymysql.err.InterfaceError) or errno == 0 or is_retryable_mysql_errno(errno)
    )
