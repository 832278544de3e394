"""Which PyMySQL errors are retried: one classification for the reader, the target and the
pipeline."""

from __future__ import annotations

from typing import Any

import pymysql
import pymysql.connections
import pytest

from bridge.mysqlconn import Connection, errno_of, is_transient


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (pymysql.err.InterfaceError(0, ""), True),  # PyMySQL: the connection is already closed
        (pymysql.err.OperationalError(2013, "Lost connection to server during query"), True),
        (pymysql.err.OperationalError(2003, "Can't connect"), True),
        (pymysql.err.OperationalError(1213, "Deadlock found"), True),
        (pymysql.err.ProgrammingError(1146, "Table 'x.t' doesn't exist"), False),
        (pymysql.err.IntegrityError(1062, "Duplicate entry"), False),
        (pymysql.err.OperationalError(1045, "Access denied"), False),
    ],
)
def test_transient_errors(error: pymysql.err.Error, transient: bool) -> None:
    assert is_transient(error) is transient


def test_errno_of() -> None:
    assert errno_of(pymysql.err.OperationalError(2013, "lost")) == 2013
    assert errno_of(ValueError("no number")) is None


def test_pymysql_builds_a_tls_context_per_connection_and_ours_reuses_it() -> None:
    """PyMySQL's default (TLS PREFERRED) loads the CA store for every connection (~25 ms);
    bridge.mysqlconn.Connection keeps one context per TLS configuration."""
    plain: list[Any] = [pymysql.connections.Connection(defer_connect=True) for _ in range(2)]
    assert plain[0].ctx is not plain[1].ctx  # the library's behaviour, pinned
    ours: list[Any] = [Connection(defer_connect=True) for _ in range(2)]
    assert ours[0].ctx is ours[1].ctx
    verified: Any = Connection(defer_connect=True, ssl_verify_cert=True)
    assert verified.ctx is not ours[0].ctx  # another configuration, another context
