"""DSNs: engine from the scheme, clear errors, never a password in a message."""

from __future__ import annotations

import pytest

from bridge.dsn import parse_dsn, redact
from bridge.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("postgresql://u:p@h:5432/db", "postgres"),
        ("postgres://h/db?sslmode=verify-full", "postgres"),
        ("mysql://u:p@h:3306/db", "mysql"),
        ("MariaDB://u@h/db", "mysql"),
    ],
)
def test_engine_from_scheme(text: str, family: str) -> None:
    assert parse_dsn(text).family == family


@pytest.mark.parametrize(
    "text", ["http://h/db", "postgresql://u:s3cret@h:99999/db", "mysql:///db", "nonsense"]
)
def test_bad_dsns_name_the_problem_without_the_password(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dsn(text, role="--target")
    assert "--target" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_redact() -> None:
    assert redact("postgresql://u:s3cret@h:5432/db?x=1") == "postgresql://u:***@h:5432/db?x=1"
    assert redact("mysql://u@h/db") == "mysql://u@h/db"
