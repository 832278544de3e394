"""Installer helpers that need no server: npm symlink hydration, engine specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.errors import LocalServerError
from bridge.local.binaries import hydrate_symlinks
from bridge.local.servers import EngineSpec


def test_hydrate_symlinks_recreates_relative_links_idempotently(tmp_path: Path) -> None:
    native = tmp_path / "native"
    (native / "lib").mkdir(parents=True)
    (native / "lib" / "libpq.so.5.17").write_bytes(b"ELF")
    links = [
        {"source": "native/lib/libpq.so.5.17", "target": "native/lib/libpq.so.5"},
        {"source": "native/lib/libpq.so.5.17", "target": "native/lib/libpq.so"},
    ]
    (native / "pg-symlinks.json").write_text(json.dumps(links))
    hydrate_symlinks(native)
    hydrate_symlinks(native)  # a second run changes nothing and does not fail
    for name in ("libpq.so.5", "libpq.so"):
        link = native / "lib" / name
        assert link.is_symlink()
        assert str(link.readlink()) == "libpq.so.5.17"  # relative: survives moving the tree
        assert link.read_bytes() == b"ELF"


@pytest.mark.parametrize(
    ("text", "engine", "major"),
    [
        ("postgres:13", "postgres", "13"),
        ("PostgreSQL:17", "postgres", "17"),
        ("pg", "postgres", "17"),
        ("mariadb", "mariadb", ""),
    ],
)
def test_engine_specs(text: str, engine: str, major: str) -> None:
    assert EngineSpec.parse(text) == EngineSpec(engine, major)


@pytest.mark.parametrize("text", ["oracle", "postgres:12", "postgres:x", "mysql"])
def test_bad_engine_specs(text: str) -> None:
    with pytest.raises(LocalServerError):
        EngineSpec.parse(text)
