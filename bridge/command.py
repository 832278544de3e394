"""One plain, typed function per CLI command (alembic's `command.py` pattern).

The CLI layer (`bridge.cli`) only parses arguments, prints, and maps `BridgeError` to exit codes;
tests call these functions directly. Nothing here calls `sys.exit` or prints to stdout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bridge import metadata
from bridge.appliers.base import Checkpoint
from bridge.dsn import Dsn, parse_dsn, redact
from bridge.errors import ConfigError
from bridge.local import servers
from bridge.local.servers import EngineSpec, LocalServer
from bridge.log.events import Event, StatementContext
from bridge.pipeline import Options, Pipeline
from bridge.positions import Lsn
from bridge.readers.postgres import PostgresReader, connect_source
from bridge.translate.types import TypePolicy

if TYPE_CHECKING:
    from bridge.pipestats import PipelineStats
    from bridge.sourcewatch import SourceStats
    from bridge.translate.ddl import Translation

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
    if dsn.family == "mysql":
        yield from _log_mysql(dsn.url, start=start, limit=limit, on_start=on_start)
        return
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
        yield from _first(reader.events(idle_timeout=1.0), limit)
    finally:
        reader.close()


def _first(events: Iterator[Event | None], limit: int | None) -> Iterator[Event]:
    """The events (idle markers dropped), stopping after `limit` of them."""
    count = 0
    for event in events:
        if event is None:
            continue
        yield event
        count += 1
        if limit is not None and count >= limit:
            return


def _log_mysql(
    url: str, *, start: str | None, limit: int | None, on_start: Callable[[str], None]
) -> Iterator[Event]:
    """A MySQL/MariaDB source's binlog as events, from `start` (file:offset) or its head."""
    from bridge.pipeline_mysql import default_patterns, server_id  # noqa: PLC0415
    from bridge.positions import BinlogPosition  # noqa: PLC0415
    from bridge.readers.mysql import MysqlReader  # noqa: PLC0415

    try:
        begin = BinlogPosition.parse(start) if start else None
    except ValueError as e:
        raise ConfigError(f"--from: {e}") from None
    reader = MysqlReader(
        url, server_id=server_id(f"log-{os.getpid()}"), tables=default_patterns(url, ())
    )
    try:
        reader.check_source()
        begin = begin or reader.head()
        reader.open(begin)
        on_start(f"streaming {redact(url)} from {begin}")
        yield from _first(reader.events(idle_timeout=1.0), limit)
    finally:
        reader.close()


def pipeline(source: str, target: str, options: Options, **callbacks: object) -> Pipeline:
    """A pipeline ready to `run()` (`callbacks`: on_status, on_copy, on_notice)."""
    src = parse_dsn(source, role="--source")
    tgt = parse_dsn(target, role="--target")
    return Pipeline(src, tgt, options, **callbacks)  # type: ignore[arg-type]


def init(target: str) -> tuple[str, str]:
    """Create or upgrade bridge's metadata schema on the target; returns (before, after)."""
    tgt = parse_dsn(target, role="--target")
    return metadata.upgrade(tgt.url), metadata.HEAD


@dataclass(frozen=True, slots=True)
class PipelineStatus:
    """One pipeline as `dbbridge status` shows it."""

    checkpoint: Checkpoint
    source_head: str | None
    """The source's current WAL position, when --source was given."""
    behind_bytes: int | None
    """WAL bytes between the checkpoint and the source head."""
    lag_seconds: float | None
    """Target commit time minus source commit time of the last applied transaction."""
    idle_seconds: float
    """Seconds since the pipeline last committed on the target."""
    heartbeat_time: dt.datetime | None = None
    """Source time of the newest heartbeat applied (bridge.heartbeats); None without heartbeats."""
    heartbeat_lag_seconds: float | None = None
    """That heartbeat's target commit time minus its source time: the lag, even when idle."""
    heartbeat_age_seconds: float | None = None
    """The target's clock now minus that heartbeat's source time: the lag is at most this."""
    retained_bytes: int | None = None
    """With --source, PostgreSQL: WAL the pipeline's slot keeps on the source."""
    wal_status: str | None = None
    """With --source, PostgreSQL: the slot's wal_status (reserved, extended, unreserved, lost)."""
    needed_files: tuple[str, ...] = ()
    """With --source, MySQL: the binlog files the pipeline still needs (empty: they are gone)."""
    stats: PipelineStats | None = None
    """What the running pipeline last wrote: rate, batch size, retries, last error."""
    stats_age_seconds: float | None = None
    """How old `stats` is."""


def status(
    target: str, *, source: str | None = None, name: str | None = None
) -> list[PipelineStatus]:
    from bridge.pipestats import read_target  # noqa: PLC0415

    tgt = parse_dsn(target, role="--target")
    view = read_target(tgt.url)
    if view is None:
        return []
    found, beats, now = view.checkpoints, view.heartbeats, view.now
    if name is not None:
        found = [c for c in found if c.pipeline == name]
    stats = _source_stats(parse_dsn(source, role="--source"), found) if source else {}
    out = []
    for c in found:
        st = stats.get(c.pipeline)
        behind = None if st is None else st.lag_bytes
        if st is not None and st.head is not None and c.source_engine == "postgres":
            behind = max(0, Lsn.parse(st.head).value - Lsn.parse(c.position).value)
        lag = None
        if c.commit_time is not None:
            lag = max(0.0, (c.applied_at - c.commit_time).total_seconds())
        idle = max(0.0, (now - c.applied_at).total_seconds())
        beat = beats.get(c.pipeline)
        out.append(
            PipelineStatus(
                c,
                None if st is None else st.head,
                behind,
                lag,
                idle,
                heartbeat_time=None if beat is None else beat[0],
                heartbeat_lag_seconds=(
                    None if beat is None else max(0.0, (beat[1] - beat[0]).total_seconds())
                ),
                heartbeat_age_seconds=(
                    None if beat is None else max(0.0, (now - beat[0]).total_seconds())
                ),
                retained_bytes=None if st is None else st.retained_bytes,
                wal_status=None if st is None else st.wal_status,
                needed_files=() if st is None else st.needed_files,
                stats=view.stats.get(c.pipeline),
                stats_age_seconds=(
                    max(0.0, (now - view.stats[c.pipeline].updated_at).total_seconds())
                    if c.pipeline in view.stats
                    else None
                ),
            )
        )
    return out


def _source_stats(src: Dsn, found: Sequence[Checkpoint]) -> dict[str, SourceStats]:
    """Per pipeline: the source's head, and the WAL its slot retains or the binlog files it
    still needs (bridge.sourcewatch)."""
    from bridge.sourcewatch import mysql_stats, postgres_stats  # noqa: PLC0415

    out: dict[str, SourceStats] = {}
    # Pipelines of the target that read another engine's source have nothing to measure here.
    found = [c for c in found if (c.source_engine == "postgres") == (src.family == "postgres")]
    if not found:
        return out
    if src.family == "postgres":
        with connect_source(src.url) as conn:
            for c in found:
                slot = Options(name=c.pipeline).slot
                out[c.pipeline] = postgres_stats(conn, slot, max_retained=0)
        return out
    from bridge.mysqlconn import connect  # noqa: PLC0415
    from bridge.positions import BinlogPosition  # noqa: PLC0415

    conn = connect(src.url, autocommit=True)
    try:
        for c in found:
            try:
                needed = BinlogPosition.parse(c.position)
            except ValueError:  # another engine's checkpoint on this target
                needed = None
            when = None if c.commit_time is None else c.commit_time.timestamp()
            out[c.pipeline] = mysql_stats(conn, needed, when)
    finally:
        conn.close()
    return out


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
    """The demo's servers: a source and a target."""

    source: LocalServer
    target: LocalServer

    def all(self) -> tuple[LocalServer, ...]:
        return (self.source, self.target)


def demo_start(
    progress: Callable[[str], None], specs: Sequence[str] = ("postgres:13", "postgres:17")
) -> DemoServers:
    """Start the demo's servers; on failure, stop the ones already started."""
    started: list[LocalServer] = []
    try:
        for spec in specs:
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


def wait(seconds: float | None, until: Callable[[], bool] = lambda: False) -> None:
    """Sleep `seconds` (forever when None), or until interrupted or `until()` holds."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while (deadline is None or time.monotonic() < deadline) and not until():
        time.sleep(0.2)


TRANSLATE_DIALECTS: Mapping[str, Literal["mysql", "postgres"]] = {
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgres": "postgres",
}


def translate(
    sql_text: str,
    *,
    source: str,
    target: str,
    policy: TypePolicy | None = None,
    context: StatementContext | None = None,
    schema: str | None = None,
    tables_from: str | None = None,
    unsafe: str = "error",
) -> list[Translation]:
    """Translate every DDL statement of `sql_text` from `source`'s dialect to `target`'s; a
    MySQL DML statement shows its statement-based-binlog rewrite with the binlog `context`
    (bridge/translate/statement_explain.py), table definitions read from `tables_from`.

    Stops at the first statement that has no translation (TranslateError, exit 2).
    """
    from bridge.translate.ddl import split_statements, translate_ddl  # noqa: PLC0415

    src, tgt = TRANSLATE_DIALECTS.get(source), TRANSLATE_DIALECTS.get(target)
    if src is None or tgt is None:
        raise ConfigError(f"--from/--to take mysql, mariadb or postgres, not {source}/{target}")
    out = []
    with _statement_lookup(tables_from) as lookup:
        for n, statement in enumerate(split_statements(sql_text, source=src), start=1):
            if src == "mysql" and _is_dml(statement):
                out.append(_explain(statement, n, tgt, policy, context, schema, lookup, unsafe))
                continue
            out.append(
                translate_ddl(
                    statement,
                    source=src,
                    target=tgt,
                    policy=policy or TypePolicy(),
                    position=f"statement {n}",
                )
            )
    return out


def _is_dml(statement: str) -> bool:
    from bridge.readers.binlogevents import classify  # noqa: PLC0415

    return classify(statement) == "dml"


def _explain(  # noqa: PLR0917 - the translate options, passed on
    statement: str,
    n: int,
    target: str,
    policy: TypePolicy | None,
    context: StatementContext | None,
    schema: str | None,
    lookup: object,
    unsafe: str,
) -> Translation:
    from bridge.translate.statement_explain import explain_statement  # noqa: PLC0415
    from bridge.translate.statement_types import StatementPolicy  # noqa: PLC0415

    return explain_statement(
        statement,
        context=context or StatementContext(timestamp=dt.datetime.now(dt.UTC)),
        schema=schema,
        target=target,
        lookup=lookup,  # type: ignore[arg-type]
        policy=policy,
        statement_policy=StatementPolicy(unsafe=unsafe),  # type: ignore[arg-type]
        position=f"statement {n}",
    )


@contextlib.contextmanager
def _statement_lookup(dsn: str | None) -> Iterator[object]:
    """Table definitions from a MySQL/MariaDB server, for DML rewrites (None without one)."""
    if dsn is None:
        yield None
        return
    from bridge.readers.mysql import MysqlReader  # noqa: PLC0415

    reader = MysqlReader(parse_dsn(dsn, role="--source").url, server_id=1)
    try:
        yield reader.table_schema
    finally:
        reader.close()
