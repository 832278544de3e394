"""pytest-docker fixtures for docker/compose.yaml: MySQL 8.4, PostgreSQL 13 and 17.

They run only where a Docker engine answers (`docker info`); elsewhere, including our CI, these
tests are skipped, and the local servers of `bridge.testing.pytest_plugin` cover the same ground.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if not _docker_engine_answers():
        pytest.skip("no Docker engine here; the local-server tests cover these servers")


def _wait(check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
        except (psycopg.OperationalError, pymysql.err.OperationalError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
        else:
            return


@pytest.fixture(scope="session")
def docker_pg17_dsn(docker_engine: None, docker_services: Any) -> str:
    port = docker_services.port_for("pg17", 5432)
    dsn = f"postgresql://postgres:bridge@127.0.0.1:{port}/app"
    _wait(lambda: psycopg.connect(dsn).close())
    return dsn


@pytest.fixture(scope="session")
def docker_mysql84_dsn(docker_engine: None, docker_services: Any) -> str:
    port = docker_services.port_for("mysql84", 3306)
    _wait(
        lambda: pymysql.connect(host="127.0.0.1", port=port, user="root", password="bridge").close()
    )
    return f"mysql://root:bridge@127.0.0.1:{port}/app"
