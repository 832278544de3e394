"""Config files: a command's options in a TOML file (`--config FILE` or `DBBRIDGE_CONFIG`).

A sidecar runs the same long command line for months; a file keeps it reviewable and keeps the
passwords out of the process list (`ps` shows every argument). The file holds top-level keys,
shared by every command that has such an option (`source`, `target`), and one table per command
for the rest. Keys are the long option names without the dashes (`no-snapshot`, `zero-dates`;
underscores work too). Options given on the command line win over the file. `${NAME}` in a string
is replaced by the environment variable NAME, so a password can come from the environment or a
secret store instead of the file.

    source = "mysql://repl:${MYSQL_PASSWORD}@10.0.0.5/shop"
    target = "postgresql://bridge@10.0.0.6/app"

    [run]
    name = "shop"
    tables = ["shop.*"]
    zero-dates = "null"
    metrics-port = 9187

Every mistake is a configuration error (exit 2) naming the file, the key and the fix: a missing
file, invalid TOML (with its line and column), an unknown table or key (with the nearest known
name), a value of the wrong type or outside its choices, an unset environment variable. The whole
file is checked on each use, so a typo in `[verify]` shows up at the first `dbbridge run` already.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from bridge.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

ENV_VAR = "DBBRIDGE_CONFIG"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# scheme://user:password@ — a DSN that carries its password inline.
_INLINE_PASSWORD = re.compile(r"://[^/@:\s]+:[^/@\s]+@")
# Options a file must not set: they steer the config handling or the process itself.
_NOT_FROM_FILE = frozenset({"config", "help"})


def config_option(f: F) -> F:
    """Add `--config FILE` to a command: the file's values become the options' defaults."""
    return click.option(
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_VAR,
        is_eager=True,
        expose_value=False,
        callback=_apply,
        metavar="FILE",
        help=f"TOML file with this command's options (top-level keys and a [COMMAND] table);"
        f" the command line wins. Also ${ENV_VAR}.",
    )(f)


def _apply(ctx: click.Context, _param: click.Parameter, path: Path | None) -> None:
    if path is None:
        return
    root = ctx.find_root().command
    every = root.commands if isinstance(root, click.Group) else {}
    commands = {n: c for n, c in every.items() if any(p.name == "config" for p in c.params)}
    values = load(path, ctx.info_name or "", commands, ctx)
    ctx.default_map = {**(ctx.default_map or {}), **values}


def load(
    path: Path,
    command: str,
    commands: Mapping[str, click.Command],
    ctx: click.Context | None = None,
) -> dict[str, Any]:
    """Read `path` and return `command`'s option values from it, by parameter name.

    `commands` are the CLI's commands by name: every table and key of the file is checked
    against them. With `ctx`, this command's values are also converted by their option types,
    so a bad value is reported against the file rather than as a command-line mistake.
    """
    data = _read(path)
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    sections = {k: v for k, v in data.items() if isinstance(v, dict)}
    for name in sections:
        if name not in commands:
            raise ConfigError(
                f"config file {path}: unknown table [{name}]{_nearest(name, commands)}",
                hint=f"tables are named after commands: {', '.join(sorted(commands))}",
            )
    known_anywhere: dict[str, click.Parameter] = {}
    for cmd in commands.values():
        known_anywhere |= _options(cmd)
    for key in shared:
        if key not in known_anywhere:
            raise ConfigError(
                f"config file {path}: unknown key {key!r}{_nearest(key, known_anywhere)}",
                hint="keys are the long option names of dbbridge COMMAND --help, minus the dashes",
            )
    for name, section in sections.items():
        known = _options(commands[name])
        for key in section:
            if key not in known:
                raise ConfigError(
                    f"config file {path}: unknown key {key!r} in [{name}]{_nearest(key, known)}",
                    hint=f"see dbbridge {name} --help for its options",
                )
    mine = _options(commands[command]) if command in commands else {}
    chosen = {k: v for k, v in shared.items() if k in mine} | sections.get(command, {})
    values: dict[str, Any] = {}
    for key, raw in chosen.items():
        where = f"[{command}] {key}" if key in sections.get(command, {}) else key
        param = mine[key]
        value = _expand(path, where, _shape(path, where, param, raw))
        if ctx is not None:
            try:
                param.type_cast_value(ctx, value)
            except click.BadParameter as e:
                raise ConfigError(
                    f"config file {path}: {where} = {raw!r}: {e.message}",
                    hint=f"see dbbridge {command} --help for the values it takes",
                ) from None
        if param.name is not None:
            values[param.name] = value
    _warn_if_readable(path, chosen.values())
    return values


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist",
            hint=f"check the path given with --config or ${ENV_VAR}",
        ) from None
    except PermissionError:
        raise ConfigError(
            f"config file {path} cannot be read (permission denied)",
            hint="make it readable by the user running dbbridge",
        ) from None
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {e.start})",
            hint="save it as UTF-8",
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            f"config file {path} is not valid TOML: {e}",
            hint="fix the syntax there; strings need quotes, lists need brackets, see toml.io",
        ) from None


def _options(command: click.Command) -> dict[str, click.Parameter]:
    """The file keys a command accepts: long option names without dashes, and parameter names."""
    out: dict[str, click.Parameter] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.name in _NOT_FROM_FILE:
            continue
        for opt in param.opts:
            if opt.startswith("--"):
                out[opt[2:]] = param
        if param.name:
            out[param.name] = param
    return out


def _shape(path: Path, where: str, param: click.Parameter, raw: Any) -> Any:
    """Check a TOML value's shape against the option: a list, a flag, or one scalar."""
    if isinstance(param, click.Option) and param.is_flag:
        if not isinstance(raw, bool):
            raise ConfigError(
                f"config file {path}: {where} = {raw!r} must be true or false",
                hint="write it without quotes: true or false",
            )
        return raw
    if param.multiple:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(
                f"config file {path}: {where} = {raw!r} must be a string or a list of strings",
                hint='e.g. ["app.*", "billing.invoices"]',
            )
        return items
    if isinstance(raw, (dict, list, bool)):
        raise ConfigError(
            f"config file {path}: {where} = {raw!r} must be a single value",
            hint="give a string or a number",
        )
    return raw


def _expand(path: Path, where: str, value: Any) -> Any:
    """Replace `${NAME}` in strings by the environment variable NAME; an unset one is an error."""
    if isinstance(value, list):
        return [_expand(path, where, v) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"config file {path}: {where} uses ${{{name}}}, which is not set",
                hint=f"export {name} before running dbbridge, or write the value in the file",
            )
        return os.environ[name]

    return _ENV_REF.sub(sub, value)


def _warn_if_readable(path: Path, values: Iterable[Any]) -> None:
    """Warn, as libpq does for .pgpass, when a file holding a password is readable by others."""
    if not any(isinstance(v, str) and _INLINE_PASSWORD.search(v) for v in values):
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(
            f"dbbridge: warning: config file {path} holds a password and other users may read"
            f" it: chmod 600 {path}, or write ${{NAME}} and set NAME in the environment",
            err=True,
        )


def _nearest(word: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(names), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
