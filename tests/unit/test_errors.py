"""The error tree maps to the contract's exit codes; transient faults are told apart by a table."""

from __future__ import annotations

import pytest

from bridge import errors
from bridge.errors import (
    ApplyError,
    BridgeError,
    ConfigError,
    DecodeError,
    LocalServerError,
    SourceError,
    TranslateError,
)


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (ConfigError, 2),
        (LocalServerError, 2),
        (TranslateError, 2),
        (SourceError, 3),
        (DecodeError, 3),
        (ApplyError, 3),
        (BridgeError, 3),
    ],
)
def test_exit_codes(cls: type[BridgeError], code: int) -> None:
    assert cls("x").exit_code == code


@pytest.mark.parametrize(
    ("sqlstate", "retryable"),
    [
        ("08006", True),  # connection failure
        ("08P01", True),
        ("57P01", True),  # admin shutdown (server restart)
        ("57P03", True),  # cannot connect now (starting up)
        ("40001", True),
        ("40P01", True),
        ("55006", True),  # slot in use by a dying walsender
        ("23505", False),  # unique violation: retrying changes nothing
        ("42P01", False),  # undefined table
        ("28P01", False),  # wrong password
        (None, False),
    ],
)
def test_retryable_sqlstates(sqlstate: str | None, retryable: bool) -> None:
    assert errors.is_retryable_sqlstate(sqlstate) is retryable
    assert ApplyError("x", sqlstate=sqlstate).retryable is retryable


@pytest.mark.parametrize(
    ("errno", "retryable"),
    [
        (2013, True),
        (2006, True),
        (2003, True),
        (1213, True),
        (1205, True),
        (1412, True),
        (1045, False),
        (1146, False),
    ],
)
def test_retryable_mysql_errnos(errno: int, retryable: bool) -> None:
    assert errors.is_retryable_mysql_errno(errno) is retryable
    assert SourceError("x", errno=errno).retryable is retryable


def test_explicit_retryable_wins_and_context_is_kept() -> None:
    e = ApplyError("disk full", sqlstate="53100", retryable=False, table="public.t", position="0/1")
    assert e.retryable is False
    assert str(e) == "disk full, at position 0/1, table public.t"
    assert ConfigError("bad", hint="fix it").hint == "fix it"
