"""CLI surface: --version, --help for every command, usage errors exit 2."""

from __future__ import annotations

import click
import pytest

from bridge import __version__
from bridge.cli import cli, main


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            out.extend(_all_commands(cmd, (*prefix, name)))
        else:
            out.append((*prefix, name))
    return out


COMMANDS = _all_commands(cli)


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    assert isinstance(code, int)
    return code


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dbbridge, version {__version__}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "dbbridge")
def test_help_for_every_command(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: dbbridge")
    assert len(out.splitlines()) > 3


def test_the_contract_commands_that_exist_so_far() -> None:
    assert {" ".join(p) for p in COMMANDS} >= {
        "local start",
        "local stop",
        "local list",
        "local install",
        "demo",
    }


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["no-such-command"]) == 2
    assert _exit_code(["local", "start"]) == 2  # missing ENGINE
    assert _exit_code(["local", "start", "postgres:17", "--port", "70000"]) == 2
    assert _exit_code(["local", "stop"]) == 2  # neither --dir nor --all
    assert _exit_code(["local", "start", "postgres:17", "--set", "novalue"]) == 2
