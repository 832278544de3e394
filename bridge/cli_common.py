"""What every `dbbridge` command module shares: the stderr console and its progress line."""

from __future__ import annotations

from rich.console import Console

err_console = Console(stderr=True, highlight=False)


def progress_line(message: str) -> None:
    """Print a dim progress message on stderr (stdout is for machine-readable results)."""
    err_console.print(f"[dim]{message}[/dim]")
