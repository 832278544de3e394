"""Lifecycle of throwaway local servers, shared by the tests, the demo and `dbbridge local`.

`start()` makes a fresh instance in its own directory (a temp dir unless told otherwise), on
127.0.0.1 and a free port, running as an unprivileged user, and returns a `LocalServer` with its
DSN.
`stop()` stops it by the PID we recorded (after checking the PID is still that server) and removes
its directory. Instances are remembered in our cache directory so `list_servers()` finds them from
another process. Nothing here touches a system-wide server: we never use standard ports, shared
sockets or system data directories.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bridge.errors import LocalServerError
from bridge.local import binaries
from bridge.local.engines import ALIASES, DEFAULT_MAJOR, ENGINES, Engine, InstanceDirs

START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """ENGINE[:MAJOR] as given on the command line, e.g. 'postgres:17' or 'mariadb'."""

    engine: str
    major: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.major}" if self.major else self.engine

    @classmethod
    def parse(cls, text: str) -> EngineSpec:
        name, _, major = text.strip().lower().partition(":")
        name = ALIASES.get(name, name)
        if name == "mysql":
            raise LocalServerError(
                "no MySQL server binaries can be installed here (Debian ships MariaDB)",
                hint="use 'mariadb', or docker/compose.yaml where a Docker engine runs",
            )
        if name not in ENGINES:
            known = ", ".join(sorted(ENGINES))
            raise LocalServerError(f"unknown engine {text!r} (known: {known}, as ENGINE[:MAJOR])")
        if name == "postgres":
            major = major or DEFAULT_MAJOR[name]
            if not major.isdigit():
                raise LocalServerError(
                    f"bad PostgreSQL major version in {text!r} (e.g. postgres:17)"
                )
            binaries.check_postgres_major(int(major))
        return cls(name, major)

    def engine_impl(self) -> Engine:
        return ENGINES[self.engine](self.major)


@dataclass(frozen=True, slots=True)
class LocalServer:
    """A running local server, as recorded in its state file."""

    engine: str
    major: str
    version: str
    port: int
    pid: int
    directory: str
    dsn: str
    user: str
    """The OS account the server runs as."""
    settings: dict[str, str] = field(default_factory=dict)
    """The settings it was started with (kept across `restart`)."""

    @property
    def spec(self) -> EngineSpec:
        return EngineSpec(self.engine, self.major)

    @property
    def dirs(self) -> InstanceDirs:
        return InstanceDirs(Path(self.directory))

    def is_running(self) -> bool:
        return _is_server_process(self.pid, self.directory)


# --------------------------------------------------------------------------------------- registry


def _registry_dir() -> Path:
    d = binaries.home_dir() / "run"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _registry_entry(directory: Path) -> Path:
    digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:16]
    return _registry_dir() / f"{digest}.json"


def _save(server: LocalServer) -> None:
    state = server.dirs.state
    state.write_text(json.dumps(asdict(server), indent=2))
    state.chmod(0o600)  # it holds the password
    _registry_entry(Path(server.directory)).write_text(json.dumps({"directory": server.directory}))


def load(directory: str | os.PathLike[str]) -> LocalServer:
    """The server recorded in `directory`; LocalServerError when there is none."""
    state = InstanceDirs(Path(directory)).state
    try:
        return LocalServer(**json.loads(state.read_text()))
    except FileNotFoundError:
        raise LocalServerError(
            f"no local server is recorded in {directory}",
            hint="see running ones with: dbbridge local list",
        ) from None
    except (ValueError, TypeError) as e:
        raise LocalServerError(f"the state file {state} is damaged: {e}") from None


def list_servers() -> list[LocalServer]:
    """Servers started by `start()` whose directories still exist (running or not)."""
    out = []
    for entry in sorted(_registry_dir().glob("*.json")):
        try:
            directory = json.loads(entry.read_text())["directory"]
            out.append(load(directory))
        except (LocalServerError, ValueError, KeyError):
            entry.unlink(missing_ok=True)  # its directory is gone: forget it
    return out


# ---------------------------------------------------------------------------------------- process


def _proc_state(pid: int) -> str | None:
    """The /proc state letter of `pid` (R, S, Z…), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _is_server_process(pid: int, directory: str) -> bool:
    """True when `pid` is alive and is the server of `directory` (guards against PID reuse)."""
    if pid <= 0 or _proc_state(pid) in (None, "Z", "X"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return directory.encode() in cmdline


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait until `pid` has exited. An exiting process shows an empty cmdline before it is gone,
    so this checks the PID itself, not whether it still looks like our server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if _proc_state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.02)
    return False


def _terminate(pid: int, directory: str, sig: int, timeout: float) -> None:
    if _is_server_process(pid, directory):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if not _wait_gone(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
    # The server led its own process group (start_new_session): sweep helpers it left behind.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)


# ------------------------------------------------------------------------------------------ ports


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------- starting


def _prepare_directory(directory: str | os.PathLike[str] | None, spec: EngineSpec) -> Path:
    if directory is None:
        tag = f"{spec.engine}{spec.major}"
        return Path(tempfile.mkdtemp(prefix=f"dbbridge-{tag}-"))
    path = Path(directory).absolute()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise LocalServerError(
            f"{path} is not an empty directory",
            hint="give --dir a new or empty directory, or omit it for a temporary one",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def _check_traversable(path: Path, run_as: binaries.RunAs) -> None:
    """The service account must reach `path`; say so plainly instead of failing inside initdb."""
    if run_as.is_self:
        return
    for parent in path.parents:
        st = parent.stat()
        if st.st_uid == run_as.uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == run_as.gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            raise LocalServerError(
                f"{parent} is not accessible to the OS user {run_as.name!r} the server runs as",
                hint="pick a --dir under /tmp or /var/tmp, or omit --dir",
            )


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no server log)"
    useful = [t for t in text if t.strip()][-lines:]
    return " | ".join(useful) or "(empty server log)"


def _launch(engine: Engine, dirs: InstanceDirs, run_as: binaries.RunAs) -> subprocess.Popen[bytes]:
    kwargs: dict[str, object] = {}
    if not run_as.is_self:
        kwargs = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": os.environ.get("TZ", "UTC")}
    with dirs.log.open("ab") as log:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            engine.server_command(dirs),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=dirs.root,
            env=env,
            start_new_session=True,  # own process group: a Ctrl-C aimed at us does not reach it
            **kwargs,
        )


def _wait_ready(
    engine: Engine, proc: subprocess.Popen[bytes], dirs: InstanceDirs, port: int
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = _tail(dirs.log)
            if "already in use" in log:
                raise OSError(errno.EADDRINUSE, f"port {port} is busy: {log}")
            raise LocalServerError(
                f"{engine.name} exited during start (code {proc.returncode}): {log}"
            )
        if engine.probe(dirs, port):
            return
        time.sleep(0.1)
    raise LocalServerError(
        f"{engine.name} did not accept connections within {START_TIMEOUT:.0f} s: {_tail(dirs.log)}"
    )


def _launch_ready(
    engine: Engine,
    dirs: InstanceDirs,
    run_as: binaries.RunAs,
    port: int | None,
    settings: dict[str, str],
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server and wait until it accepts connections; on failure nothing keeps running."""
    attempts = 0
    while True:
        chosen = port if port is not None else free_port()
        engine.write_config(dirs, chosen, settings)
        proc = _launch(engine, dirs, run_as)
        try:
            _wait_ready(engine, proc, dirs, chosen)
        except OSError as e:
            # Another process took the free port between our probe and the server's bind.
            attempts += 1
            if port is not None or attempts == 5:
                raise LocalServerError(str(e), hint="pick another port with --port") from None
            continue
        except BaseException:
            _terminate(proc.pid, str(dirs.root), signal.SIGKILL, 5)
            raise
        return proc, chosen


def start(
    spec: str | EngineSpec,
    *,
    port: int | None = None,
    directory: str | os.PathLike[str] | None = None,
    database: str = "app",
    settings: Mapping[str, str] | None = None,
) -> LocalServer:
    """Start a throwaway server configured for replication; see the module docstring."""
    if isinstance(spec, str):
        spec = EngineSpec.parse(spec)
    engine = spec.engine_impl()
    engine.check_installed()
    if port is not None and not port_is_free(port):
        raise LocalServerError(
            f"port {port} on 127.0.0.1 is busy", hint="pick another with --port, or omit it"
        )
    run_as = binaries.service_account()
    if directory is not None:
        _check_traversable(Path(directory).absolute(), run_as)
    path = _prepare_directory(directory, spec)
    dirs = InstanceDirs(path)
    proc: subprocess.Popen[bytes] | None = None
    try:
        os.chown(path, run_as.uid, run_as.gid)
        path.chmod(0o700)
        dirs.sock.mkdir()
        os.chown(dirs.sock, run_as.uid, run_as.gid)
        engine.init_datadir(dirs, run_as)
        proc, chosen = _launch_ready(engine, dirs, run_as, port, dict(settings or {}))
        ready = engine.setup(dirs, chosen, database)
        server = LocalServer(
            engine=spec.engine,
            major=spec.major or ready.version.rsplit(".", 1)[0],
            version=ready.version,
            port=chosen,
            pid=proc.pid,
            directory=str(path),
            dsn=ready.dsn,
            user=run_as.name,
            settings=dict(settings or {}),
        )
        _save(server)
    except BaseException:
        if proc is not None:
            _terminate(proc.pid, str(path), signal.SIGKILL, 5)
        shutil.rmtree(path, ignore_errors=True)
        raise
    return server


def stop(directory: str | os.PathLike[str], *, timeout: float = STOP_TIMEOUT) -> LocalServer:
    """Stop the server recorded in `directory` and remove the directory. Returns what it was."""
    server = load(directory)
    engine = server.spec.engine_impl()
    _terminate(server.pid, server.directory, engine.stop_signal, timeout)
    if server.is_running():
        raise LocalServerError(f"{server.engine} (pid {server.pid}) did not stop")
    _registry_entry(Path(server.directory)).unlink(missing_ok=True)
    shutil.rmtree(server.directory, ignore_errors=True)
    return server


def restart(
    directory: str | os.PathLike[str], *, crash: bool = False, down_for: float = 0.0
) -> LocalServer:
    """Stop the server recorded in `directory` (as in a crash when `crash`: no clean shutdown),
    wait `down_for` seconds, and start it again on the same port with the same data and settings.
    For fault tests: clients see their connections drop and the server come back."""
    server = load(directory)
    engine = server.spec.engine_impl()
    signum = engine.crash_signal if crash else engine.stop_signal
    _terminate(server.pid, server.directory, signum, STOP_TIMEOUT)
    if server.is_running():
        raise LocalServerError(f"{server.engine} (pid {server.pid}) did not stop")
    time.sleep(down_for)
    dirs = InstanceDirs(Path(server.directory))
    proc, _ = _launch_ready(
        engine, dirs, binaries.service_account(), server.port, dict(server.settings)
    )
    again = replace(server, pid=proc.pid)
    _save(again)
    return again


def stop_all() -> list[LocalServer]:
    return [stop(s.directory) for s in list_servers()]


@contextlib.contextmanager
def running(spec: str | EngineSpec, **kwargs: object) -> Iterator[LocalServer]:
    """Start a server for the duration of a `with` block."""
    server = start(spec, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop(server.directory)


def install(specs: list[EngineSpec]) -> list[str]:
    """Install binaries for `specs` (apt/npm) and the service account; returns what is there."""
    out = []
    binaries.service_account()
    for spec in specs:
        engine = spec.engine_impl()
        engine.install()
        engine.check_installed()
        out.append(f"{spec}: {engine.binary_version()}")
    return out
