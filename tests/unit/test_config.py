"""Config files (bridge/config.py): what a file gives each command, and every mistake's message."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from bridge.cli import cli, main
from bridge.config import load
from bridge.errors import ConfigError

COMMANDS = {n: c for n, c in cli.commands.items() if any(p.name == "config" for p in c.params)}


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_only_the_commands_that_connect_take_a_config_file() -> None:
    assert sorted(COMMANDS) == ["init", "log", "run", "status", "verify"]


def test_shared_keys_go_to_every_command_that_has_the_option(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        'source = "mysql://a@h/db"\ntarget = "postgresql://b@h/db"\n'
        '[run]\nname = "shop"\ntables = "shop.*"\nno-snapshot = true\nzero_dates = "null"\n'
        "[verify]\nworkers = 3\n",
    )
    assert load(path, "run", COMMANDS) == {
        "source": "mysql://a@h/db",
        "target": "postgresql://b@h/db",
        "name": "shop",
        "tables": ["shop.*"],  # one string for a repeatable option is a list of one
        "no_snapshot": True,
        "zero_dates": "null",
    }
    assert load(path, "verify", COMMANDS) == {
        "source": "mysql://a@h/db",
        "target": "postgresql://b@h/db",
        "workers": 3,
    }
    assert load(path, "status", COMMANDS) == {
        "source": "mysql://a@h/db",
        "target": "postgresql://b@h/db",
    }
    assert load(path, "init", COMMANDS) == {"target": "postgresql://b@h/db"}  # no --source


def test_environment_variables_are_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", "s3cr$t")
    path = _file(tmp_path, 'target = "postgresql://u:${PW}@h/db"\n[run]\ntables = ["${PW}.x"]\n')
    assert load(path, "run", COMMANDS) == {
        "target": "postgresql://u:s3cr$t@h/db",
        "tables": ["s3cr$t.x"],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = [1,", "is not valid TOML: "),
        ("[nope]\n", "unknown table [nope]"),
        ("sorce = 'x'\n", "unknown key 'sorce' (did you mean 'source'?)"),
        ("[status]\nworkers = 2\n", "unknown key 'workers' in [status]"),
        ("[run]\nquiet = 'yes'\n", "[run] quiet = 'yes' must be true or false"),
        ("[run]\ntables = [1, 2]\n", "[run] tables = [1, 2] must be a string or a list of strings"),
        ("[run]\nname = ['a']\n", "[run] name = ['a'] must be a single value"),
        ("[run]\nconfig = 'other.toml'\n", "unknown key 'config' in [run]"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path, "run", COMMANDS)
    assert str(info.value).startswith(f"config file {path}")
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_values_are_checked_by_the_options_types(tmp_path: Path) -> None:
    path = _file(tmp_path, "[run]\ncopy-workers = 0\n")
    ctx = click.Context(COMMANDS["run"], info_name="run")
    with pytest.raises(ConfigError, match=r"\[run\] copy-workers = 0: 0 is not in the range x>=1"):
        load(path, "run", COMMANDS, ctx)


def test_the_cli_reports_a_bad_file_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "[run]\nbatch-rows = 'many'\n")
    with pytest.raises(SystemExit) as info:
        main(["run", "--config", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"dbbridge: error: config file {path}: [run] batch-rows = 'many':" in err


def test_an_unusable_pipeline_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--source", "postgresql://a@h/db", "--target", "postgresql://b@h/db",
              "--name", "Shop-1"])  # fmt: skip
    assert info.value.code == 2
    assert (
        "dbbridge: error: pipeline name 'Shop-1' is not usable: it names the replication slot"
        " dbbridge_Shop-1 (use 1 to 54 lowercase letters, digits and underscores (--name))"
    ) in capsys.readouterr().err
