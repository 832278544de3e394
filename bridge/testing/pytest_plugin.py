"""pytest plugin: real local servers as session fixtures, built on `bridge.local.servers`.

Load it with `pytest_plugins = ["bridge.testing.pytest_plugin"]` (our tests/conftest.py does) or
`-p bridge.testing.pytest_plugin`. Fixtures:

- `mariadb_server`: MariaDB with a ROW binlog (full row image and metadata);
- `pg13_server` … `pg18_server`: PostgreSQL of that major with wal_level=logical;
- `pg_server`: parametrized over `--pg-majors` (default 13,15,17); each parameter carries the marker
  `pgNN`, so `-m pg17` selects one version;
- `local_servers`: the session's pool, to start extra servers with their own settings.

Each server starts on first use and is stopped and removed at the end of the session. A missing
binary fails the test with the message naming the package (never a skip: a skipped test shows
nothing). The header lists the server binaries found; the summary lists the servers actually run.
"""

from __future__ import annotations

import os

import pytest

from bridge.errors import LocalServerError
from bridge.local import binaries, servers
from bridge.local.servers import EngineSpec, LocalServer

PG_MAJORS = tuple(sorted(binaries.EMBEDDED_PG_VERSIONS))
DEFAULT_PG_MAJORS = "13,15,17"


class ServerPool:
    """Servers started for this session, one per (spec, settings), stopped at session end."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, tuple[tuple[str, str], ...]], LocalServer] = {}
        self._history: list[LocalServer] = []  # kept after stop, for the terminal summary

    def get(self, spec: str, settings: dict[str, str] | None = None) -> LocalServer:
        key = (str(EngineSpec.parse(spec)), tuple(sorted((settings or {}).items())))
        if key not in self._servers:
            try:
                self._servers[key] = servers.start(spec, settings=settings)
                self._history.append(self._servers[key])
            except LocalServerError as e:
                pytest.fail(f"cannot start {spec}: {e}" + (f" ({e.hint})" if e.hint else ""))
        return self._servers[key]

    def started(self) -> list[LocalServer]:
        """Every server this session started, including stopped ones."""
        return list(self._history)

    def stop_all(self) -> None:
        errors = []
        for server in self._servers.values():
            try:
                servers.stop(server.directory)
            except LocalServerError as e:
                errors.append(str(e))
        self._servers.clear()
        if errors:
            raise LocalServerError("; ".join(errors))


_pool = ServerPool()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pg-majors",
        default=os.environ.get("DBBRIDGE_TEST_PG_MAJORS", DEFAULT_PG_MAJORS),
        help=f"PostgreSQL majors the pg_server fixture runs on (default {DEFAULT_PG_MAJORS})",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "mariadb: uses a local MariaDB server")
    for major in PG_MAJORS:
        config.addinivalue_line("markers", f"pg{major}: runs on a local PostgreSQL {major}")


def _selected_majors(config: pytest.Config) -> list[int]:
    text = str(config.getoption("--pg-majors"))
    try:
        majors = [int(m) for m in text.split(",") if m.strip()]
    except ValueError:
        raise pytest.UsageError(f"--pg-majors takes majors like 13,15,17, not {text!r}") from None
    unknown = [m for m in majors if m not in PG_MAJORS]
    if unknown:
        raise pytest.UsageError(f"--pg-majors: no local server for PostgreSQL {unknown}")
    return majors


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_major" in metafunc.fixturenames:
        params = [
            pytest.param(m, id=f"pg{m}", marks=getattr(pytest.mark, f"pg{m}"))
            for m in _selected_majors(metafunc.config)
        ]
        metafunc.parametrize("pg_major", params, scope="session")


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for major in _selected_majors(config):
        bindir = binaries.postgres_bindir(major)
        found = binaries.postgres_binary_version(bindir) if bindir else "NOT INSTALLED"
        lines.append(
            f"postgres {major}: {found} ({bindir or binaries.postgres_package_hint(major)})"
        )
    maria = binaries.mariadb_binaries()
    found = binaries.mariadb_binary_version(maria.server) if maria else "NOT INSTALLED"
    lines.append(f"mariadb: {found} ({maria.server if maria else 'Debian mariadb-server'})")
    return ["dbbridge local servers: " + "; ".join(lines)]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    started = _pool.started()
    if started:
        terminalreporter.write_sep("-", "dbbridge local servers used")
        for s in started:
            terminalreporter.write_line(
                f"{s.engine} {s.version} on 127.0.0.1:{s.port} ({s.directory})"
            )


def pytest_sessionfinish() -> None:
    _pool.stop_all()


@pytest.fixture(scope="session")
def local_servers() -> ServerPool:
    return _pool


@pytest.fixture(scope="session")
def mariadb_server(local_servers: ServerPool) -> LocalServer:
    return local_servers.get("mariadb")


@pytest.fixture(scope="session")
def pg_server(local_servers: ServerPool, pg_major: int) -> LocalServer:
    return local_servers.get(f"postgres:{pg_major}")


def _pg_fixture(major: int) -> object:
    @pytest.fixture(scope="session", name=f"pg{major}_server")
    def fixture(local_servers: ServerPool) -> LocalServer:
        return local_servers.get(f"postgres:{major}")

    return fixture


for _major in PG_MAJORS:
    globals()[f"pg{_major}_server"] = _pg_fixture(_major)
