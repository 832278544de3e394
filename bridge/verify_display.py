"""What `dbbridge verify` shows: a bar per table while chunks are checked (on a terminal, on
stderr), then the report: a table of results and the differing keys (stdout)."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from bridge.verify import Observer, Report, TableResult


class VerifyDisplay(Observer):
    """Progress bars on a terminal; on anything else only the notices (a log stays short)."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live_mode = console.is_terminal and not quiet
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("chunks"),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()  # chunks finish on worker threads

    def __enter__(self) -> VerifyDisplay:
        if self.live_mode:
            self.bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live_mode:
            self.bars.stop()

    def planned(self, table: str, chunks: int) -> None:
        if self.live_mode:
            with self._lock:
                self._tasks[table] = self.bars.add_task(escape(table), total=chunks)

    def checked(self, table: str) -> None:
        if self.live_mode:
            with self._lock:
                task = self._tasks.get(table)
            if task is not None:
                self.bars.advance(task)

    def notice(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"[dim]{escape(message)}[/dim]")


def _keys(t: TableResult, keys: list[tuple[str, ...]], limit: int) -> str:
    shown = ", ".join(str(t.key_json(k)) for k in keys[:limit])
    return shown + (f" … ({len(keys)} in all)" if len(keys) > limit else "")


def print_report(console: Console, report: Report, *, max_listed: int = 20) -> None:
    """The report as a table, then one line per kind of difference and table."""
    table = Table()
    headers = ("table", "rows source", "rows target", "chunks", "missing", "extra", "different")
    for header in (*headers, "result"):
        table.add_column(header, overflow="fold")  # narrow terminals wrap, never cut
    for t in report.tables:
        if t.key:
            counts = [str(len(t.missing)), str(len(t.extra)), str(len(t.different))]
        else:  # keyless: rows by content
            counts = [str(t.rows_only_source), str(t.rows_only_target), "—"]
        verdict = "[green]equal[/green]" if t.equal else "[red]DIFFERENT[/red]"
        if t.repaired_keys:
            verdict += f" ({t.repaired_keys} keys repaired)"
        name = t.table if t.table == t.target_table else f"{t.table} → {t.target_table}"
        rows = [f"{t.rows_source:,}", f"{t.rows_target:,}", str(t.chunks)]
        table.add_row(escape(name), *rows, *counts, verdict)
    console.print(table)
    for t in report.tables:
        for line in _details(t, max_listed):
            console.print(f"{escape(t.table)}: {escape(line)}", soft_wrap=True)
    verdict = "equal" if report.equal else "DIFFERENT"
    total = sum(t.rows_source for t in report.tables)
    console.print(
        f"{verdict}: {len(report.tables)} table(s), {total:,} source rows compared in"
        f" {report.seconds:.1f} s",
        highlight=False,
    )


def _details(t: TableResult, max_listed: int) -> list[str]:
    """What differs in one table, one line per kind."""
    lines = []
    if t.columns_only_source:
        lines.append(f"columns missing on the target: {', '.join(t.columns_only_source)}")
    if t.columns_only_target:
        lines.append(f"columns only on the target: {', '.join(t.columns_only_target)}")
    for label, keys in (
        ("missing on the target", t.missing),
        ("extra on the target", t.extra),
        ("different", t.different),
    ):
        if keys:
            lines.append(f"{label} ({', '.join(t.key)}): {_keys(t, keys, max_listed)}")
    if t.rows_only_source or t.rows_only_target:
        lines.append(
            f"no key; rows (by content) only on the source: {t.rows_only_source},"
            f" only on the target: {t.rows_only_target}"
        )
    if t.found:
        found = ", ".join(f"{n} {kind}" for kind, n in t.found.items() if n)
        lines.append(f"found before repairing: {found}")
    if t.not_repaired:
        lines.append(f"not repaired: {t.not_repaired}")
    return lines
