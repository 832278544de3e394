"""Connection strings as the CLI takes them (DESIGN.md, contract): URLs naming the engine.

`postgresql://user:pw@host:port/db` (or `postgres://`), `mysql://…` and `mariadb://…`. Query
parameters pass through (e.g. `sslmode=verify-full&sslrootcert=…` for PostgreSQL). `redact`
gives the form safe for messages and logs: never a password.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from bridge.errors import ConfigError

EngineFamily = Literal["postgres", "mysql"]

_SCHEMES: dict[str, EngineFamily] = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}


@dataclass(frozen=True, slots=True)
class Dsn:
    """A parsed connection URL."""

    url: str
    family: EngineFamily

    def __str__(self) -> str:
        return redact(self.url)


def parse_dsn(text: str, *, role: str = "DSN") -> Dsn:
    """Parse and check a DSN; ConfigError names what is wrong (never echoing a password)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port  # raises ValueError when not a number or out of range
    except ValueError as e:
        raise ConfigError(f"malformed {role} {redact(text)!r}: {e}") from None
    family = _SCHEMES.get(parts.scheme.lower())
    if family is None:
        raise ConfigError(
            f"malformed {role} {redact(text)!r}: unknown scheme {parts.scheme!r}",
            hint="use postgresql://user:password@host:port/db or mysql://user:password@host:port/db",
        )
    if not parts.hostname and family == "mysql":
        raise ConfigError(f"malformed {role} {redact(text)!r}: no host")
    del port
    return Dsn(text.strip(), family)


def redact(text: str) -> str:
    """The DSN with its password replaced by '***'."""
    try:
        parts = urlsplit(text)
        if parts.password is None:
            return text
        host = parts.hostname or ""
        if parts.port is not None:
            host += f":{parts.port}"
        netloc = f"{parts.username or ''}:***@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable DSN>"
