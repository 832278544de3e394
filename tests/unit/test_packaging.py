"""What an installed wheel holds: every package directory and data file under bridge/.

The tests run from an editable install, which finds files a wheel would leave out; these checks
read pyproject.toml's rules instead, so a new migration folder or data file cannot be forgotten.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "bridge"


def _package_data() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["setuptools"]["package-data"]["bridge"])


def _shipped_files() -> list[Path]:
    return [
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def test_every_folder_with_python_code_is_a_package() -> None:
    folders = {p.parent for p in _shipped_files() if p.suffix == ".py"}
    missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
    assert missing == [], "every package is a regular one (mypy and tools expect __init__.py)"


def test_every_data_file_is_package_data() -> None:
    patterns = _package_data()
    unlisted = [
        str(p.relative_to(PACKAGE))
        for p in _shipped_files()
        if p.suffix != ".py"
        and not any(fnmatch.fnmatch(str(p.relative_to(PACKAGE)), pat) for pat in patterns)
    ]
    assert unlisted == [], f"add these to [tool.setuptools.package-data]: {unlisted}"


def test_the_migrations_and_capture_sql_are_among_them() -> None:
    data = {str(p.relative_to(PACKAGE)) for p in _shipped_files()}
    assert {
        "migrations/env.py",
        "migrations/script.py.mako",
        "migrations/versions/0001_checkpoints.py",
        "sql/postgres_ddl_capture.sql",
        "log/log-format.schema.json",
    } <= data
