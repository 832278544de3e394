"""The `dbbridge` command line: argument parsing, output, and exit codes (DESIGN.md, contract).

Exit codes: 0 ok, 1 verification differences, 2 usage or configuration error, 3 runtime failure.
A `BridgeError` becomes one line on stderr (what is wrong; how to fix it) and its exit code; any
other exception is a bug, reported in one line with exit 3 (set DBBRIDGE_DEBUG=1 for a traceback).
Machine-readable results (a DSN, JSON) go to stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from bridge import __version__, command
from bridge.cli_common import err_console, progress_line
from bridge.cli_local import demo, local
from bridge.config import config_option
from bridge.errors import EXIT_CONFIG, EXIT_RUNTIME, BridgeError
from bridge.log.jsonl import encode_event
from bridge.pipeline import Options, Status
from bridge.translate.types import KNOB_OPTIONS, TypePolicy

F = TypeVar("F", bound=Callable[..., Any])


def _report(e: BaseException) -> int:
    """Print one line for `e` and return the exit code it maps to."""
    if isinstance(e, BridgeError):
        line = f"dbbridge: error: {e}"
        if e.hint:
            line += f" ({e.hint})"
        click.echo(line, err=True)
        return e.exit_code
    click.echo(f"dbbridge: internal error: {type(e).__name__}: {e}", err=True)
    if os.environ.get("DBBRIDGE_DEBUG"):
        traceback.print_exception(e)
    else:
        click.echo("dbbridge: set DBBRIDGE_DEBUG=1 for a traceback, and please report it", err=True)
    return EXIT_RUNTIME


_progress = progress_line


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="dbbridge")
def cli() -> None:
    """Replicate data between PostgreSQL and MySQL/MariaDB, in any direction and across major
    versions, exactly once.

    Exit codes: 0 ok, 1 verification differences, 2 usage or configuration error, 3 runtime
    failure.
    """


# -------------------------------------------------------------------------------------------- log


@cli.command("log")
@config_option
@click.option(
    "--source", required=True, metavar="DSN", help="Source URL (postgresql://… or mysql://…)."
)
@click.option(
    "--slot",
    help="Read this existing logical slot without consuming it [default: a temporary one].",
)
@click.option(
    "--publication",
    default="dbbridge",
    show_default=True,
    help="Publication to read; created for all tables when missing.",
)
@click.option(
    "--from",
    "start",
    metavar="POS",
    help="Start position: an LSN (0/16B3748) or a binlog file:offset [default: now].",
)
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N events.")
def log_command(
    source: str, slot: str | None, publication: str, start: str | None, limit: int | None
) -> None:
    """Print the source's changes as the common log, one JSON object per line.

    Without --slot, a temporary slot shows changes from now on. Ctrl-C or SIGTERM stops it.
    The format is docs/log-format.md.
    """
    events = command.log(
        source, slot=slot, publication=publication, start=start, limit=limit, on_start=_progress
    )
    with _stop_on_signals():
        for event in events:
            click.echo(encode_event(event))
            sys.stdout.flush()


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM behaves as Ctrl-C; either ends a streaming command cleanly with exit 0."""

    def raise_interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


# ---------------------------------------------------------------------------------- type policy

# The opt-in coercions of TypePolicy (docs/type-mapping.md), shared by `run` and `translate`:
# knob, its choices (the default first), help. KNOB_OPTIONS names each knob's option.
_POLICY_KNOBS: list[tuple[str, tuple[str, str], str]] = [
    (
        "zero_dates",
        ("error", "null"),
        "MySQL zero dates: refuse them, or store NULL (date columns lose NOT NULL).",
    ),
    (
        "numeric",
        ("error", "max"),
        "PostgreSQL numeric without precision or past (65,30): refuse, or decimal(65,30).",
    ),
    ("interval", ("error", "text"), "PostgreSQL interval: refuse, or store its text."),
    (
        "unsupported",
        ("error", "text"),
        "Types without a mapping (timetz, inet, geometry…): refuse, or store their text.",
    ),
    (
        "on_update",
        ("drop", "error"),
        "MySQL ON UPDATE CURRENT_TIMESTAMP: drop it with a note, or refuse.",
    ),
]


def policy_options(f: Callable[..., None]) -> Callable[..., None]:
    """Add the TypePolicy options to a command, which receives them as one `policy` argument."""

    @functools.wraps(f)
    def command_with_policy(*args: Any, **kwargs: Any) -> None:
        values = {knob: kwargs.pop(knob) for knob, _, _ in _POLICY_KNOBS}
        f(*args, policy=TypePolicy(**values), **kwargs)

    decorated: Callable[..., None] = command_with_policy
    for knob, choices, text in reversed(_POLICY_KNOBS):
        decorated = click.option(
            KNOB_OPTIONS[knob],
            knob,
            type=click.Choice(choices),
            default=choices[0],
            show_default=True,
            help=text,
        )(decorated)
    return decorated


# -------------------------------------------------------------------------------------------- run


@cli.command()
@config_option
@click.option("--source", required=True, metavar="DSN", help="Source URL (postgresql://…).")
@click.option("--target", required=True, metavar="DSN", help="Target URL (postgresql://…).")
@click.option(
    "--tables",
    multiple=True,
    metavar="PATTERN",
    help="SCHEMA.TABLE to replicate, * and ? allowed, repeatable [default: every user table,"
    " and tables created later].",
)
@click.option("--no-snapshot", is_flag=True, help="Skip the initial copy: changes from now on.")
@click.option(
    "--name",
    default="default",
    show_default=True,
    help="Pipeline name: the checkpoint on the target, slot and publication dbbridge_NAME.",
)
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Rows per target transaction (many source transactions each).",
)
@click.option(
    "--copy-workers",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Tables copied in parallel during the snapshot.",
)
@click.option(
    "--retry-for",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to keep retrying transient faults (a server restart, a dropped connection).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option(
    "--heartbeat-interval",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Write a heartbeat row on the source this often (lag while idle); 0: never.",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Serve Prometheus metrics on /metrics and a health check on /healthz.",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the metrics endpoint listens on (0.0.0.0: every interface).",
)
@click.option(
    "--max-retained-wal",
    metavar="SIZE",
    help="Warn when the slot retains 80 % of this much WAL (10GB, 512MB; off) [default: the"
    " source's max_slot_wal_keep_size when set].",
)
@click.option(
    "--catch-up-above",
    metavar="SIZE",
    default="8MB",
    show_default=True,
    help="A PostgreSQL source this far behind (WAL) is first read through SQL decoding, in bulk:"
    " several times less work on the source than its walsender (off: always the walsender).",
)
@click.option(
    "--skip-ddl",
    multiple=True,
    metavar="POSITION",
    help="Do not apply the source DDL statement at POSITION (made by hand on the target after"
    " the translator refused it), repeatable.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line on stderr (time, level, pipeline, message, fields).",
)
@policy_options
def run(  # noqa: PLR0917 - click passes each option as an argument
    source: str,
    target: str,
    tables: tuple[str, ...],
    no_snapshot: bool,
    name: str,
    batch_rows: int,
    copy_workers: int,
    retry_for: float,
    quiet: bool,
    heartbeat_interval: float,
    metrics_port: int | None,
    metrics_host: str,
    max_retained_wal: str | None,
    catch_up_above: str,
    skip_ddl: tuple[str, ...],
    log_format: str,
    policy: TypePolicy,
) -> None:
    """Replicate SOURCE into TARGET: copy the tables (unless --no-snapshot), then stream changes
    until stopped. SIGTERM or Ctrl-C finishes the batch, records the checkpoint and exits 0.

    Each target transaction records the source position it reached, so a restart (even after
    kill -9) resumes exactly there: no change is lost or applied twice.
    """
    from bridge import logformat, progress  # noqa: PLC0415 - only this command needs them

    options = Options(
        name=name,
        tables=tables,
        snapshot=not no_snapshot,
        batch_rows=batch_rows,
        chunk_rows=min(20_000, batch_rows),
        copy_workers=copy_workers,
        retry_for=retry_for,
        policy=policy,
        heartbeat_interval=heartbeat_interval,
        max_retained_wal=_size_option(max_retained_wal, "--max-retained-wal"),
        catch_up_bytes=_size_option(catch_up_above, "--catch-up-above") or None,
        skip_ddl=skip_ddl,
    )
    display: progress.RunDisplay | logformat.JsonDisplay
    if log_format == "json":
        display = logformat.JsonDisplay(name)
        logformat.install(name)
    else:
        display = progress.RunDisplay(err_console, quiet=quiet)
        logformat.install_notices(display.notice)
    try:
        final = _run_pipeline(
            source, target, options, display, metrics_host=metrics_host, metrics_port=metrics_port
        )
    except Exception as e:
        if not isinstance(display, logformat.JsonDisplay):
            raise
        # One JSON line for the failure too, instead of main()'s plain one.
        fields = {"hint": e.hint, "position": e.position} if isinstance(e, BridgeError) else {}
        display.emit("error", str(e), **fields)
        raise SystemExit(e.exit_code if isinstance(e, BridgeError) else EXIT_RUNTIME) from e
    message = (
        f"stopped at {final.position or 'the start'}: {final.transactions} transactions,"
        f" {final.changes} changes applied this run"
    )
    if isinstance(display, logformat.JsonDisplay):
        display.emit("info", message, position=final.position)
    else:
        _progress(message)


def _size_option(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    from bridge.sourcewatch import parse_size  # noqa: PLC0415

    try:
        return parse_size(text)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=option) from None


def _run_pipeline(
    source: str,
    target: str,
    options: Options,
    display: Any,
    *,
    metrics_host: str,
    metrics_port: int | None,
) -> Status:
    """Run the pipeline until a signal stops it, with the metrics endpoint when asked."""
    pipe = command.pipeline(
        source,
        target,
        options,
        on_status=display.status,
        on_copy=display.copy,
        on_notice=display.notice,
    )
    server = None
    if metrics_port is not None:
        from bridge.metrics import MetricsServer  # noqa: PLC0415 - only with --metrics-port

        server = MetricsServer(pipe, host=metrics_host, port=metrics_port)
        display.notice(f"metrics on http://{metrics_host}:{server.port}/metrics and /healthz")

    def stop(_signum: int, _frame: object) -> None:
        pipe.stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with display:
            return pipe.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if server is not None:
            server.close()


@cli.command()
@config_option
@click.option("--target", required=True, metavar="DSN", help="Target URL.")
def init(target: str) -> None:
    """Create or upgrade bridge's metadata schema (schema `bridge`) on the target.

    `dbbridge run` does this itself; run it ahead to grant less at run time.
    """
    before, after = command.init(target)
    click.echo(f"metadata schema: {before} -> {after}" if before != after else f"current ({after})")


@cli.command()
@config_option
@click.option("--target", required=True, metavar="DSN", help="Target URL.")
@click.option("--source", metavar="DSN", help="Also show how far behind the source's head each is.")
@click.option("--name", help="Only this pipeline.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(target: str, source: str | None, name: str | None, as_json: bool) -> None:
    """Pipelines replicating into TARGET: positions, lag, heartbeats, counts.

    With --source: how far behind the source's head each is, and the WAL its slot retains
    (PostgreSQL) or the binlog files it still needs (MySQL/MariaDB).
    """
    found = command.status(target, source=source, name=name)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "pipeline": p.checkpoint.pipeline,
                        "source_engine": p.checkpoint.source_engine,
                        "source_system_id": p.checkpoint.source_system_id,
                        "phase": p.checkpoint.phase,
                        "position": p.checkpoint.position,
                        "source_head": p.source_head,
                        "behind_bytes": p.behind_bytes,
                        "commit_time": _iso(p.checkpoint.commit_time),
                        "applied_at": _iso(p.checkpoint.applied_at),
                        "lag_seconds": p.lag_seconds,
                        "idle_seconds": p.idle_seconds,
                        "heartbeat_time": _iso(p.heartbeat_time),
                        "heartbeat_lag_seconds": p.heartbeat_lag_seconds,
                        "heartbeat_age_seconds": p.heartbeat_age_seconds,
                        "retained_bytes": p.retained_bytes,
                        "wal_status": p.wal_status,
                        "needed_binlog_files": list(p.needed_files) if source else None,
                        "transactions": p.checkpoint.transactions,
                        "changes": p.checkpoint.changes,
                        **_stats_json(p),
                    }
                    for p in found
                ],
                indent=2,
            )
        )
        return
    if not found:
        click.echo("no pipelines on this target")
        return
    table = Table(
        "pipeline",
        "phase",
        "position",
        "behind",
        "lag",
        "heartbeat",
        "retained",
        "applied",
        "txns",
        "changes",
        "rows/s",
        "batch",
        "retries",
        "last error",
    )
    for p in found:
        retained = "" if p.retained_bytes is None else f"{p.retained_bytes} B WAL"
        if p.needed_files:
            retained = f"binlog {p.needed_files[0]}" + (
                f" (+{len(p.needed_files) - 1})" if len(p.needed_files) > 1 else ""
            )
        table.add_row(
            p.checkpoint.pipeline,
            p.checkpoint.phase,
            p.checkpoint.position,
            "" if p.behind_bytes is None else f"{p.behind_bytes} B",
            "" if p.lag_seconds is None else f"{p.lag_seconds:.3f} s",
            "" if p.heartbeat_age_seconds is None else f"{p.heartbeat_age_seconds:.1f} s ago",
            retained,
            f"{p.idle_seconds:.1f} s ago",
            str(p.checkpoint.transactions),
            str(p.checkpoint.changes),
            *_stats_cells(p),
        )
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=200)  # a pipe or a file: never cut a position
    console.print(table)


def _stats_cells(p: command.PipelineStatus) -> tuple[str, str, str, str]:
    s = p.stats
    if s is None:
        return "", "", "", ""
    error = ""
    if s.last_error:
        at = "" if s.last_error_at is None else f" ({s.last_error_at:%Y-%m-%d %H:%M:%S} UTC)"
        error = f"{s.last_error}{at}"
    return (
        "" if s.rows_per_second is None else f"{s.rows_per_second:,.0f}",
        "" if s.batch_rows is None else f"{s.batch_rows:,.0f}",
        str(s.retries),
        error,
    )


def _stats_json(p: command.PipelineStatus) -> dict[str, Any]:
    s = p.stats
    return {
        "rows_per_second": None if s is None else s.rows_per_second,
        "batch_rows": None if s is None else s.batch_rows,
        "retries": None if s is None else s.retries,
        "last_error": None if s is None else s.last_error,
        "last_error_at": None if s is None else _iso(s.last_error_at),
        "stats_age_seconds": p.stats_age_seconds,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# ----------------------------------------------------------------------------------------- verify


@cli.command("verify")
@config_option
@click.option(
    "--source", required=True, metavar="DSN", help="Source URL (postgresql://… or mysql://…)."
)
@click.option(
    "--target", required=True, metavar="DSN", help="Target URL (postgresql://… or mysql://…)."
)
@click.option(
    "--tables",
    multiple=True,
    metavar="PATTERN",
    help="Source tables, as for `dbbridge run`, repeatable [default: the tables a pipeline"
    " replicates].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--repair",
    is_flag=True,
    help="Copy the differing rows from the source again, then check them. Racy for rows that"
    " change while a pipeline runs.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Connection pairs checking chunks in parallel.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=10),
    default=20_000,
    show_default=True,
    help="Rows per checksummed key range.",
)
@click.option(
    "--recheck-after",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="Wait before checking a differing chunk again (replication lag).",
)
@click.option(
    "--rechecks",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Times a differing chunk is checked again before it counts.",
)
@click.option(
    "--max-keys",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Differing keys listed per table and kind (the counts are always complete).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def verify_command(  # noqa: PLR0917 - click passes each option as an argument
    source: str,
    target: str,
    tables: tuple[str, ...],
    as_json: bool,
    repair: bool,
    workers: int,
    chunk_rows: int,
    recheck_after: float,
    rechecks: int,
    max_keys: int,
    quiet: bool,
) -> int:
    """Compare TARGET's tables with SOURCE's, chunk by chunk, with checksums the servers compute.

    Lists the keys missing on the target, extra on the target, or different. Exit 0 when equal,
    1 when they differ (after --repair: when the repaired rows still differ). Equal means equal
    per docs/type-mapping.md across engines (README: "Verifying").
    """
    from bridge import verify_display  # noqa: PLC0415 - only this command needs them
    from bridge.errors import EXIT_DIFFERENCES, EXIT_OK  # noqa: PLC0415
    from bridge.verify import VerifyOptions, verify  # noqa: PLC0415

    options = VerifyOptions(
        tables=tables,
        workers=workers,
        chunk_rows=chunk_rows,
        recheck_after=recheck_after,
        rechecks=rechecks,
        repair=repair,
    )
    with verify_display.VerifyDisplay(err_console, quiet=quiet) as display:
        report = verify(source, target, options, observer=display)
    if as_json:
        click.echo(json.dumps(report.to_json(max_keys=max_keys), indent=2))
    else:
        console = Console(soft_wrap=True, highlight=False)
        if not console.is_terminal:
            console = Console(soft_wrap=True, highlight=False, width=200)
        verify_display.print_report(console, report, max_listed=min(max_keys, 20))
    return EXIT_OK if report.equal else EXIT_DIFFERENCES


# -------------------------------------------------------------------------------------- translate


@cli.command()
@click.option(
    "--from",
    "source",
    type=click.Choice(["mysql", "mariadb", "postgres"]),
    required=True,
    help="Dialect of the input.",
)
@click.option(
    "--to",
    "target",
    type=click.Choice(["mysql", "mariadb", "postgres"]),
    required=True,
    help="Dialect to write.",
)
@policy_options
@click.option(
    "--timestamp",
    metavar="TIME",
    help="DML: the binlog statement time (ISO, UTC unless it has an offset), for NOW() & co."
    " [default: now].",
)
@click.option("--time-zone", metavar="TZ", help="DML: the session time_zone ('+02:00', 'SYSTEM').")
@click.option("--rand-seeds", metavar="S1,S2", help="DML: the RAND event's seeds.")
@click.option("--insert-id", type=int, metavar="N", help="DML: the Intvar INSERT_ID.")
@click.option("--last-insert-id", type=int, metavar="N", help="DML: the Intvar LAST_INSERT_ID.")
@click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="DML: a @variable (repeatable)."
)
@click.option("--auto-increment", metavar="INC,OFF", help="DML: auto_increment_increment,_offset.")
@click.option("--schema", metavar="DB", help="DML: the session's default database.")
@click.option(
    "--source",
    "tables_from",
    metavar="DSN",
    help="DML: read the tables' definitions from this MySQL/MariaDB server (needed for the"
    " PostgreSQL form).",
)
@click.option(
    "--unsafe",
    type=click.Choice(["error", "target"]),
    default="error",
    show_default=True,
    help="DML: UUID(), SYSDATE(), LIMIT without a key order…: refuse, or let the target compute.",
)
@click.argument("sql", default="-")
def translate(  # noqa: PLR0917 - click passes each option as an argument
    source: str,
    target: str,
    sql: str,
    timestamp: str | None,
    time_zone: str | None,
    rand_seeds: str | None,
    insert_id: int | None,
    last_insert_id: int | None,
    variables: tuple[str, ...],
    auto_increment: str | None,
    schema: str | None,
    tables_from: str | None,
    unsafe: str,
    policy: TypePolicy,
) -> None:
    """Translate DDL statements (SQL, or - for stdin) from one dialect to the other.

    Prints each translated statement on one line ending in ';', and notes as '-- ' comments.
    A statement without a faithful translation stops it with exit 2. docs/type-mapping.md
    describes every rule and option.

    A MySQL INSERT/UPDATE/DELETE/REPLACE shows what bridge makes of it in a statement-based
    binlog, with the binlog context the DML options give: the deterministic MySQL text, and
    with --source the PostgreSQL statements the applier would run.
    """
    from bridge.translate.statement_explain import cli_context  # noqa: PLC0415

    context = cli_context(
        timestamp=timestamp,
        time_zone=time_zone,
        rand_seeds=rand_seeds,
        insert_id=insert_id,
        last_insert_id=last_insert_id,
        variables=variables,
        auto_increment=auto_increment,
    )
    text = sys.stdin.read() if sql == "-" else sql
    results = command.translate(
        text,
        source=source,
        target=target,
        policy=policy,
        context=context,
        schema=schema,
        tables_from=tables_from,
        unsafe=unsafe,
    )
    for result in results:
        if result.note:
            click.echo(f"-- {result.note}")
        for statement in result.statements:
            click.echo(f"{statement};")


cli.add_command(local)
cli.add_command(demo)

# ------------------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the CLI and exit with the contract's code."""
    try:
        # Non-standalone mode returns the exit code of --help/--version instead of exiting.
        rv = cli.main(args=argv, prog_name="dbbridge", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_CONFIG)
    except click.exceptions.Abort:
        click.echo("dbbridge: aborted", err=True)
        sys.exit(EXIT_RUNTIME)
    except Exception as e:  # noqa: BLE001 - the one place every error becomes an exit code
        sys.exit(_report(e))
    sys.exit(rv if isinstance(rv, int) else 0)
