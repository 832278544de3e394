"""`dbbridge local` as a user runs it: a DSN psql accepts, a clean stop, one-line errors, exit 2."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.errors import EXIT_CONFIG
from bridge.local import binaries


def dbbridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **(env or {})},
        check=False,
    )


def _gone(pid: int) -> bool:
    """The process has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains `text` (pgrep -f without needing procps)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if text.encode() in cmdline and not _gone(int(proc.name)):
            found.append(int(proc.name))
    return found


@pytest.fixture
def instance_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: that is private to root, and servers run as 'dbbridge'.
    parent = Path(tempfile.mkdtemp(prefix="dbbridge-test-"))
    parent.chmod(0o755)
    d = parent / "instance"
    yield d
    if d.exists():  # the test failed before its own stop: do not leave a server behind
        dbbridge("local", "stop", "--dir", str(d))
    shutil.rmtree(parent, ignore_errors=True)


def test_start_prints_a_dsn_psql_accepts_and_stop_leaves_nothing(instance_dir: Path) -> None:
    started = dbbridge("local", "start", "postgres:17", "--dir", str(instance_dir))
    assert started.returncode == 0, started.stderr
    dsn = started.stdout.strip().splitlines()[-1]
    assert dsn.startswith("postgresql://postgres:")
    assert "@127.0.0.1:" in dsn

    psql = shutil.which("psql")
    assert psql is not None, "psql (Debian postgresql-client) is needed by this test"
    out = subprocess.run(
        [psql, dsn, "-AtXc", "SELECT current_setting('server_version_num')"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert out.stdout.strip().startswith("17")

    listed = dbbridge("local", "list", "--json")
    assert listed.returncode == 0
    entries = [e for e in json.loads(listed.stdout) if e["directory"] == str(instance_dir)]
    assert len(entries) == 1
    assert entries[0]["dsn"] == dsn
    assert entries[0]["running"] is True
    pid = entries[0]["pid"]
    port = entries[0]["port"]

    stopped = dbbridge("local", "stop", "--dir", str(instance_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert not instance_dir.exists()
    deadline = time.monotonic() + 5
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)
    assert _processes_mentioning(str(instance_dir)) == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the port is free again
    relisted = json.loads(dbbridge("local", "list", "--json").stdout)
    assert all(e["directory"] != str(instance_dir) for e in relisted)


def test_mariadb_start_and_stop(instance_dir: Path) -> None:
    started = dbbridge(
        "local", "start", "mariadb", "--dir", str(instance_dir), "--database", "shop"
    )
    assert started.returncode == 0, started.stderr
    dsn = started.stdout.strip().splitlines()[-1]
    assert dsn.startswith("mysql://bridge:")
    assert dsn.endswith("/shop")
    state = json.loads((instance_dir / "dbbridge-local.json").read_text())
    assert oct((instance_dir / "dbbridge-local.json").stat().st_mode & 0o777) == "0o600"
    stopped = dbbridge("local", "stop", "--dir", str(instance_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert not instance_dir.exists()
    deadline = time.monotonic() + 5
    while not _gone(state["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(state["pid"])


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == EXIT_CONFIG, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


def test_busy_port_is_a_one_line_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        line = _one_line_error(dbbridge("local", "start", "postgres:15", "--port", str(port)))
    assert f"port {port}" in line
    assert "busy" in line


def test_missing_binary_names_the_package(tmp_path: Path) -> None:
    # An empty cache directory hides the npm-installed majors; 16 has no Debian package here.
    if Path("/usr/lib/postgresql/16/bin/postgres").exists():
        pytest.fail("this machine has a system PostgreSQL 16; the test needs a major without one")
    line = _one_line_error(
        dbbridge("local", "start", "postgres:16", env={"DBBRIDGE_HOME": str(tmp_path)})
    )
    assert f"{binaries.NPM_PACKAGE}@{binaries.EMBEDDED_PG_VERSIONS[16]}" in line
    assert "dbbridge local install postgres:16" in line


@pytest.mark.parametrize("engine", ["oracle", "postgres:99", "postgres:latest", "mysql"])
def test_bad_engine_name_is_a_one_line_error(engine: str) -> None:
    line = _one_line_error(dbbridge("local", "start", engine))
    assert line.startswith("dbbridge: error:")


def test_stop_of_an_unknown_directory_is_a_one_line_error(tmp_path: Path) -> None:
    line = _one_line_error(dbbridge("local", "stop", "--dir", str(tmp_path)))
    assert "no local server" in line


def test_start_refuses_a_non_empty_directory(instance_dir: Path) -> None:
    instance_dir.mkdir()
    (instance_dir / "keep.txt").write_text("user data")
    line = _one_line_error(dbbridge("local", "start", "postgres:15", "--dir", str(instance_dir)))
    assert "not an empty directory" in line
    assert (instance_dir / "keep.txt").read_text() == "user data"


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root caller runs servers as another user")
def test_a_directory_the_service_user_cannot_reach_is_a_one_line_error(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    line = _one_line_error(dbbridge("local", "start", "postgres:15", "--dir", str(private / "pg")))
    assert "not accessible to the OS user 'dbbridge'" in line
    assert not (private / "pg").exists()


@pytest.mark.parametrize(
    ("scenario", "dsn", "tables"),
    [
        (
            "pg-upgrade",
            r"postgresql://\w+:[\w-]+@127\.0\.0\.1:\d+/app\b",
            ["shop.customers", "shop.orders"],
        ),
        (
            "mariadb-to-pg",
            r"(?:mysql|postgresql)://\w+:[\w-]+@127\.0\.0\.1:\d+/app\b",
            ["app.customers", "app.orders"],
        ),
        (
            "pg-to-mariadb",
            r"(?:mysql|postgresql)://\w+:[\w-]+@127\.0\.0\.1:\d+/app\b",
            ["shop.customers", "shop.orders"],
        ),
    ],
)
def test_demo_replicates_verifies_and_removes_its_servers(
    scenario: str, dsn: str, tables: list[str]
) -> None:
    # mariadb-to-pg adds a column after 150 workload transactions: run long enough to pass it.
    result = dbbridge("demo", scenario, "--duration", "3" if scenario == "pg-upgrade" else "6")
    assert result.returncode == 0, result.stderr
    # whole DSNs, not cut by the table
    dsns = re.findall(dsn, result.stdout)
    assert len(dsns) == 2, result.stdout
    for table in tables:
        assert re.search(
            rf"{re.escape(table)}: equal \((\d+) rows on the source, \1 on the target\)",
            result.stdout,
        ), result.stdout
    assert "DIFFERENT" not in result.stdout
    match = re.search(r"([1-9]\d*) workload transactions replicated", result.stdout)
    assert match, result.stdout
    if scenario == "mariadb-to-pg":
        assert int(match.group(1)) > 150, "the workload stopped before its ALTER TABLE"
    assert "demo servers stopped and removed" in result.stderr
    ports = {int(re.search(r":(\d+)/", d).group(1)) for d in dsns}  # type: ignore[union-attr]
    left = [e for e in json.loads(dbbridge("local", "list", "--json").stdout) if e["port"] in ports]
    assert left == [], "the demo's servers are still registered"
