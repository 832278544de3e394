"""One plain, typed function per CLI command (alembic's `command.py` pattern).

The CLI layer (`bridge.cli`) only parses arguments, prints, and maps `BridgeError` to exit codes;
tests call these functions directly. Nothing here calls `sys.exit` or prints to stdout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from bridge.dsn import parse_dsn
from bridge.errors import ConfigError
from bridge.local import servers
from bridge.local.servers import EngineSpec, LocalServer
from bridge.log.events import Event
from bridge.positions import Lsn
from bridge.readers.postgres import PostgresReader

DEFAULT_INSTALL = ("mariadb", "postgres:13", "postgres:15", "postgres:16", "postgres:17")


def parse_settings(items: Sequence[str]) -> dict[str, str]:
    """Turn repeated `--set name=value` options into a dict."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set takes name=value, not {item!r}")
        out[name.strip()] = value.strip()
    return out


def log(
    source: str,
    *,
    slot: str | None = None,
    publication: str = "dbbridge",
    start: str | None = None,
    limit: int | None = None,
    on_start: Callable[[str], None] = lambda _: None,
) -> Iterator[Event]:
    """The source's changes as common-log events, from now (a temporary slot) or from `slot`.

    A viewer: it never confirms a position, so it consumes nothing from a named slot.
    """
    dsn = parse_dsn(source, role="--source")
    if dsn.family != "postgres":
        raise ConfigError(
            "reading MySQL/MariaDB sources is not available yet in this version",
            hint="see the README's status table",
        )
    try:
        start_lsn = Lsn.parse(start) if start else None
    except ValueError as e:
        raise ConfigError(f"--from: {e}") from None
    reader = PostgresReader(
        dsn.url,
        slot=slot or f"dbbridge_log_{os.getpid()}",
        publication=publication,
        temporary_slot=slot is None,
    )
    try:
        begin = reader.open(start_lsn)
        on_start(f"streaming {dsn} from {begin} (slot {reader.slot}, publication {publication})")
        count = 0
        for event in reader.events(idle_timeout=1.0):
            if event is None:
                continue
            yield event
            count += 1
            if limit is not None and count >= limit:
                return
    finally:
        reader.close()


def local_start(
    spec: str,
    *,
    port: int | None = None,
    directory: str | None = None,
    database: str = "app",
    settings: Mapping[str, str] | None = None,
) -> LocalServer:
    return servers.start(spec, port=port, directory=directory, database=database, settings=settings)


def local_stop(*, directory: str | None = None, stop_all: bool = False) -> list[LocalServer]:
    if stop_all:
        return servers.stop_all()
    if directory is None:
        raise ConfigError("say which server to stop: --dir D (see dbbridge local list) or --all")
    return [servers.stop(directory)]


def local_list() -> list[LocalServer]:
    return servers.list_servers()


def local_install(specs: Sequence[str]) -> list[str]:
    parsed = [EngineSpec.parse(s) for s in (specs or DEFAULT_INSTALL)]
    return servers.install(parsed)


@dataclass(frozen=True, slots=True)
class DemoServers:
    """The demo's servers: a PostgreSQL 13 source, a PostgreSQL 17 target, a MariaDB source."""

    pg_source: LocalServer
    pg_target: LocalServer
    mariadb: LocalServer

    def all(self) -> tuple[LocalServer, ...]:
        return (self.pg_source, self.pg_target, self.mariadb)


def demo_start(progress: Callable[[str], None]) -> DemoServers:
    """Start the demo's servers; on failure, stop the ones already started."""
    started: list[LocalServer] = []
    try:
        for spec in ("postgres:13", "postgres:17", "mariadb"):
            progress(f"starting {spec} …")
            started.append(servers.start(spec))
    except BaseException:
        for s in started:
            servers.stop(s.directory)
        raise
    return DemoServers(*started)


def demo_stop(demo: DemoServers) -> None:
    for s in demo.all():
        servers.stop(s.directory)


def wait(seconds: float | None) -> None:
    """Sleep `seconds`, or until interrupted when None."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        time.sleep(0.2)
