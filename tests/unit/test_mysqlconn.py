"""Which PyMySQL errors are retried: one classification for the reader, the target and the
pipeline."""

from __future__ import annotations

import pymysql
import pytest

from bridge.mysqlconn import errno_of, is_transient


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
