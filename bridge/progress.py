"""What `dbbridge run` shows on stderr: a bar per table during the copy, then a status line.

On a terminal the display is live (rich); otherwise (a log file, CI) it prints a line per finished
table and a status line every `plain_every` seconds, so logs stay readable.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from bridge.pipeline import Status
from bridge.snapshot.postgres import TableProgress


def status_line(st: Status) -> str:
    lag = "—" if st.lag_seconds is None else f"{st.lag_seconds:.3f} s"
    elapsed = max(time.monotonic() - st.started, 1e-9)
    parts = [
        st.phase,
        f"{st.transactions:,} txns",
        f"{st.changes:,} changes ({st.changes / elapsed:,.0f}/s)",
        f"lag {lag}",
        f"applied {st.position or '—'}",
        f"received {st.received or '—'}",
    ]
    if st.retries:
        parts.append(f"{st.retries} retries")
    return " · ".join(parts)


class RunDisplay:
    def __init__(self, console: Console, *, quiet: bool = False, plain_every: float = 10.0) -> None:
        self.console = console
        self.quiet = quiet
        self.live_mode = console.is_terminal and not quiet
        self.plain_every = plain_every
        self._last_plain = 0.0
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._line = Text("starting…")
        self._live = Live(Group(self.bars, self._line), console=console, refresh_per_second=4)

    def __enter__(self) -> RunDisplay:
        if self.live_mode:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.live_mode:
            self._live.__exit__(exc_type, exc, tb)

    def copy(self, p: TableProgress) -> None:
        name = str(p.table)
        if self.live_mode:
            task = self._tasks.get(name)
            total = max(p.estimate, p.rows) or None
            if task is None:
                task = self._tasks[name] = self.bars.add_task(name, total=total)
            self.bars.update(task, completed=p.rows, total=max(p.rows, total or 0) or None)
            if p.done:
                self.bars.update(task, total=p.rows, completed=p.rows)
        elif p.done and not self.quiet:
            self.console.print(f"copied {name}: {p.rows:,} rows in {p.seconds:.1f} s")

    def status(self, st: Status) -> None:
        line = status_line(st)
        if self.live_mode:
            self._line.plain = line
            return
        now = time.monotonic()
        if not self.quiet and now - self._last_plain >= self.plain_every:
            self._last_plain = now
            self.console.print(line)

    def notice(self, message: str) -> None:
        if message.startswith("warning: "):  # bridge.pipeline.WARNING: shown even when quiet
            self.console.print(f"[yellow]{message}[/yellow]")
        elif not self.quiet:
            self.console.print(f"[dim]{message}[/dim]")
