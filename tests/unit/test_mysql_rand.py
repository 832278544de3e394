"""MySQL's RAND() generator in Python against values a real server produced.

The golden file tests/data/mysql_rand.json was captured from MariaDB 10.11 with

    .venv/bin/python -m tests.unit.test_mysql_rand --capture mysql://user:pw@host:port/

(a throwaway server from `dbbridge local start mariadb` will do): the session generator seeded
as a RAND event seeds a replica's (`SET @@rand_seed1, @@rand_seed2`), RAND(N) for seeds that
exercise the server's 32-bit cuts, one RAND(7) call drawn over several rows, and RAND(col)
re-seeded per row. The PostgreSQL expression for RAND(col) is checked against the same values
in tests/integration/test_statement_binlog.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlglot

from bridge.translate.mysqlrand import MysqlRand, rand_n
from bridge.translate.statement_values import evaluate, seed_int

GOLDEN = Path(__file__).parent.parent / "data" / "mysql_rand.json"

SEED_PAIRS = [(414279177, 398525661), (0, 0), (1, 2), (1073741822, 1073741822), (987654321, 5)]
SEEDS = [
    "7",
    "0",
    "1",
    "-1",
    "2",
    "100000",
    "4294967295",
    "4294967296",
    "4294967297",
    "18446744073709551615",
    "9223372036854775807",
    "-9223372036854775808",
    "-123456789",
    "1.5",
    "2.5",
    "-1.5",
    "NULL",
    "'abc'",
    "'12'",
]


def capture(dsn: str) -> dict[str, Any]:
    from bridge.mysqlconn import connect  # noqa: PLC0415

    conn: Any = connect(dsn, autocommit=True)
    out: dict[str, Any] = {"sessions": [], "rand_n": {}}
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        out["version"] = cur.fetchone()[0]
        for s1, s2 in SEED_PAIRS:
            cur.execute("SET @@rand_seed1 = %s, @@rand_seed2 = %s", (s1, s2))
            cur.execute("SELECT " + ", ".join(["RAND()"] * 6))
            out["sessions"].append({"seeds": [s1, s2], "values": list(cur.fetchone())})
        for seed in SEEDS:
            cur.execute(f"SELECT RAND({seed})")
            out["rand_n"][seed] = cur.fetchone()[0]
        cur.execute("SELECT RAND(7) FROM mysql.seq_1_to_5")
        out["rand_7_rows"] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT seq, RAND(seq) FROM mysql.seq_1_to_5")
        out["rand_per_row"] = [[r[0], r[1]] for r in cur.fetchall()]
    conn.close()
    return out


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text())
    return data


def test_session_generator_matches_the_server(golden: dict[str, Any]) -> None:
    """Seeded like a replica from a RAND event: every value, in order, bit for bit."""
    assert golden["sessions"]
    for session in golden["sessions"]:
        g = MysqlRand(*session["seeds"])
        assert [g.next() for _ in session["values"]] == session["values"]


def _seed_value(text: str) -> int:
    """What the server's val_int() makes of the argument (rounded, NULL and 'abc' as 0)."""
    return seed_int(evaluate(sqlglot.parse_one(text, read="mysql")))


def test_rand_n_matches_the_server(golden: dict[str, Any]) -> None:
    """RAND(N) with the server's 32-bit cuts (-1 and 2**64-1 agree, 2**32 is 0, 1.5 is 2)."""
    assert len(golden["rand_n"]) == len(SEEDS)
    for seed, expected in golden["rand_n"].items():
        assert rand_n(_seed_value(seed)) == expected, seed


def test_one_rand_n_call_over_rows(golden: dict[str, Any]) -> None:
    """RAND(7) evaluated for several rows draws on from its own seed."""
    g = MysqlRand.seeded(7)
    assert [g.next() for _ in golden["rand_7_rows"]] == golden["rand_7_rows"]


def test_rand_of_a_column_is_reseeded_per_row(golden: dict[str, Any]) -> None:
    for seq, expected in golden["rand_per_row"]:
        assert rand_n(seq) == expected


def test_facts_formula_agrees_for_small_seeds() -> None:
    """shared/FACTS.md's formula (no 32-bit cut) is the same for N < 16 only: from there
    N * 0x10000001 passes 2**32 (RAND(100000) is a golden value above)."""
    mx = 0x3FFFFFFF

    def facts(n: int) -> float:
        s1, s2 = (n * 0x10001 + 55555555) % mx, (n * 0x10000001) % mx
        return ((s1 * 3 + s2) % mx) / mx

    assert all(rand_n(n) == facts(n) for n in range(16))
    assert rand_n(100000) != facts(100000)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--capture":
        sys.exit("usage: python -m tests.unit.test_mysql_rand --capture DSN")
    GOLDEN.write_text(json.dumps(capture(sys.argv[2]), indent=1) + "\n")
