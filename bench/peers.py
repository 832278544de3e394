"""Install and run the peer tools the benchmarks compare bridge with: pg_chameleon and pgloader.

pg_chameleon (MySQL/MariaDB -> PostgreSQL replication) comes from PyPI into its own venv, with the
versions below pinned (the newest of each that works with pg_chameleon 2.0.21 on Python 3.11,
found by trying: PyPI's latest of everything installs and runs). It refuses to run as root, so when
we are root it runs as the unprivileged account bridge.local runs its servers as (`dbbridge`),
with its own HOME (its configuration, logs and pid file live in ~/.pg_chameleon). Its venv is
built from a Python that account can execute (/usr/bin/python3 when ours sits under /root).

pgloader comes from Debian (`apt-get install pgloader`).

    PEERS_DIR/chameleon-venv     pg_chameleon and its pinned dependencies
    PEERS_DIR/chameleon-home     HOME of the chameleon runs (.pg_chameleon/configuration/...)

PEERS_DIR is $BENCH_PEERS_DIR, else /opt/bench-peers as root, else ~/.cache/dbbridge-bench-peers.
Everything is idempotent: a second call finds what the first installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bridge.local import binaries

CHAMELEON_PINS = (
    "pg_chameleon==2.0.21",
    "mysql-replication==1.0.17",
    "PyMySQL==1.2.4",
    "psycopg2-binary==2.9.13",
    "PyYAML==6.0.3",
)
CHAMELEON_SOURCE = "mysql"
"""The source name in chameleon's configuration (its commands take --source NAME)."""


def peers_dir() -> Path:
    env = os.environ.get("BENCH_PEERS_DIR")
    if env:
        return Path(env)
    if binaries.is_root():
        return Path("/opt/bench-peers")
    return Path.home() / ".cache" / "dbbridge-bench-peers"


def _run(
    cmd: list[str],
    what: str,
    *,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    run_as: binaries.RunAs | None = None,
    timeout: float | None = None,
) -> str:
    """Run `cmd` (as `run_as` when that is another account); its stdout, or RuntimeError
    (subprocess.TimeoutExpired past `timeout`)."""
    switch = run_as is not None and not run_as.is_self
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=env,
        cwd=cwd,
        user=run_as.uid if switch and run_as else None,
        group=run_as.gid if switch and run_as else None,
        extra_groups=[] if switch else None,
    )
    if proc.returncode != 0:
        out = (proc.stderr or "") + (proc.stdout or "")
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {out.strip()[-2000:]}")
    return str(proc.stdout)


def _kill_tree(pid: int) -> None:
    """SIGKILL `pid` and its descendants (found through /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    todo, found = [pid], []
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    for p in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


def _world_executable(path: Path) -> bool:
    """True when any user can run `path` (every parent directory searchable, the file r-x)."""
    path = path.resolve()
    if not os.access(path, os.X_OK) or (path.stat().st_mode & 0o005) != 0o005:
        return False
    return all(p.stat().st_mode & 0o001 for p in path.parents)


def _venv_python(run_as: binaries.RunAs) -> str:
    """A Python >= 3.9 the run-as account can execute, to build chameleon's venv from."""
    ours = Path(sys.base_exec_prefix) / "bin" / f"python{sys.version_info.major}"
    candidates = [ours, Path("/usr/bin/python3")]
    for c in candidates:
        if c.exists() and (run_as.is_self or _world_executable(c)):
            return str(c)
    raise RuntimeError(f"no Python that the user {run_as.name} can run (tried {candidates})")


# --------------------------------------------------------------------------------- pg_chameleon


@dataclass(frozen=True, slots=True)
class Chameleon:
    venv: Path
    home: Path
    run_as: binaries.RunAs

    @property
    def config_file(self) -> Path:
        return self.home / ".pg_chameleon" / "configuration" / "default.yml"

    @property
    def log_dir(self) -> Path:
        return self.home / ".pg_chameleon" / "logs"

    def version(self) -> dict[str, str]:
        out = _run([str(self.venv / "bin" / "pip"), "freeze"], "pip freeze")
        wanted = {p.split("==")[0].lower() for p in CHAMELEON_PINS}
        pairs = (line.split("==", 1) for line in out.splitlines() if "==" in line)
        return {name: v for name, v in pairs if name.lower() in wanted}

    def command(self, *args: str, timeout: float | None = None) -> str:
        """Run `chameleon ARGS` as the run-as account; returns its output."""
        cmd = [str(self.venv / "bin" / "chameleon"), *args]
        env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        return _run(
            cmd,
            f"chameleon {' '.join(args)}",
            env=env,
            cwd=str(self.home),
            run_as=self.run_as,
            timeout=timeout,
        )

    def configure(self, source_dsn: str, target_dsn: str, schemas: dict[str, str]) -> None:
        """Write default.yml: MariaDB `source_dsn` (no database needed), PostgreSQL `target_dsn`,
        `schemas` mapping MySQL databases to PostgreSQL schemas. Everything else is the example
        configuration chameleon ships (batch sizes, sleep_loop 1 s), with logs to files."""
        my, pg = urlsplit(source_dsn), urlsplit(target_dsn)
        mappings = "".join(f"      {k}: {v}\n" for k, v in schemas.items())
        text = f"""---
pid_dir: '~/.pg_chameleon/pid/'
log_dir: '~/.pg_chameleon/logs/'
log_dest: file
log_level: info
log_days_keep: 10
rollbar_key: ''
rollbar_env: ''
type_override: {{}}
pg_conn:
  host: "{pg.hostname}"
  port: "{pg.port}"
  user: "{unquote(pg.username or "")}"
  password: "{unquote(pg.password or "")}"
  database: "{pg.path.lstrip("/")}"
  charset: "utf8"
sources:
  {CHAMELEON_SOURCE}:
    db_conn:
      host: "{my.hostname}"
      port: "{my.port}"
      user: "{unquote(my.username or "")}"
      password: "{unquote(my.password or "")}"
      charset: 'utf8'
      connect_timeout: 10
    schema_mappings:
{mappings}    limit_tables: []
    skip_tables: []
    grant_select_to: []
    lock_timeout: "120s"
    my_server_id: 100
    replica_batch_size: 10000
    replay_max_rows: 10000
    batch_retention: '1 day'
    copy_max_memory: "300M"
    copy_mode: 'file'
    out_dir: /tmp
    sleep_loop: 1
    on_error_replay: continue
    on_error_read: continue
    auto_maintenance: "disabled"
    gtid_enable: false
    type: mysql
    skip_events:
      insert: []
      delete: []
      update: []
    keep_existing_schema: No
    net_read_timeout: 600
"""
        self.config_file.write_text(text)
        self.config_file.chmod(0o600)
        os.chown(self.config_file, self.run_as.uid, self.run_as.gid)

    def init(self) -> None:
        """create_replica_schema, add_source, init_replica (copies the mapped databases). Without
        --debug, init_replica daemonizes and returns before the copy is done: --debug keeps it in
        the foreground (and logs to stdout, which we capture)."""
        self.command("create_replica_schema")
        self.command("add_source", "--source", CHAMELEON_SOURCE)
        self.command("init_replica", "--source", CHAMELEON_SOURCE, "--debug")

    def start(self) -> None:
        """start_replica: it daemonizes (read and replay processes) and returns at once."""
        self.command("start_replica", "--source", CHAMELEON_SOURCE)

    def stop(self) -> None:
        """stop_replica: SIGINT to the daemon recorded in its pid file, waits until it is gone."""
        pid = self.pid()
        if pid is None:
            return
        try:
            self.command("stop_replica", "--source", CHAMELEON_SOURCE, timeout=60)
        except subprocess.TimeoutExpired:
            # Seen here: pg_chameleon 2.0.21's stop_replica spinning at 100 % CPU for good after
            # a run. subprocess.run killed it; kill the daemon and its workers too.
            _kill_tree(pid)

    def pid(self) -> int | None:
        f = self.home / ".pg_chameleon" / "pid" / f"{CHAMELEON_SOURCE}.pid"
        try:
            pid = int(f.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def log_tail(self, lines: int = 20) -> str:
        out = []
        for f in sorted(self.log_dir.glob("*.log")):
            out.append(f"== {f}")
            out.extend(f.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)


def chameleon() -> Chameleon:
    """pg_chameleon, installed on first use, with its configuration directory created."""
    root = peers_dir()
    venv, home = root / "chameleon-venv", root / "chameleon-home"
    run_as = binaries.service_account()
    exe = venv / "bin" / "chameleon"
    if not exe.exists():
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        shutil.rmtree(venv, ignore_errors=True)
        _run([_venv_python(run_as), "-m", "venv", str(venv)], "create chameleon's venv")
        _run(
            [str(venv / "bin" / "pip"), "install", "--quiet", *CHAMELEON_PINS],
            "pip install pg_chameleon",
        )
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, run_as.uid, run_as.gid)
    cham = Chameleon(venv, home, run_as)
    if not cham.config_file.parent.is_dir():
        cham.command("set_configuration_files")
    return cham


# ------------------------------------------------------------------------------------- pgloader


def pgloader() -> str:
    """The pgloader executable, installed from Debian when missing (needs root)."""
    found = shutil.which("pgloader")
    if found:
        return found
    binaries.apt_install(["pgloader"])
    found = shutil.which("pgloader")
    if not found:
        raise RuntimeError("pgloader is not installed (Debian package pgloader)")
    return found


def pgloader_version(exe: str) -> str:
    first = _run([exe, "--version"], "pgloader --version").splitlines()[0]
    return first.replace("pgloader version", "").strip().strip('"')


def run_pgloader(exe: str, source_dsn: str, target_dsn: str) -> float:
    """`pgloader SOURCE TARGET` with its defaults (create tables, copy, indexes after); returns
    the wall-clock seconds, process start to exit."""
    started = time.monotonic()
    _run([exe, source_dsn, target_dsn], "pgloader")
    return time.monotonic() - started
