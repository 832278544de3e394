"""Fixtures shared by the integration tests (the servers come from bridge's pytest plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.local.servers import LocalServer
from tests.integration.pgpair import MARKER, execute, fresh_db


@pytest.fixture
def pg13_to_17(pg13_server: LocalServer, pg17_server: LocalServer) -> Iterator[tuple[str, str]]:
    """(source DSN, target DSN): fresh databases on PostgreSQL 13 and 17, the marker table made."""
    with fresh_db(pg13_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        execute(source, MARKER)
        yield source, target
