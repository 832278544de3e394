"""MySQL/MariaDB's RAND() generator, so statement-based binlogs replay to the same values.

A statement that calls RAND() is written to a statement-based binlog after a RAND event holding
the session generator's two seeds; the replica seeds its own generator with them and runs the
statement, drawing the same sequence. We do the same in Python and write the values into the
statement as literals (`bridge.translate.statements`).

The generator is `my_rnd` (mysys/my_rnd.c, identical in MySQL and MariaDB):

    seed1 = (seed1 * 3 + seed2) % 0x3FFFFFFF
    seed2 = (seed1 + seed2 + 33) % 0x3FFFFFFF
    return seed1 / 0x3FFFFFFF

with `unsigned long` (64-bit) arithmetic. RAND(N) seeds a generator of its own per call site
(`Item_func_rand::seed_random`): N is taken as an integer (rounded), cut to 32 bits, and the seeds
are `(uint32)(N * 0x10001 + 55555555)` and `(uint32)(N * 0x10000001)`, then reduced modulo
0x3FFFFFFF by `my_rnd_init`. shared/FACTS.md gives the formula without the 32-bit cuts, which
only agree for small N; tests/unit/test_mysql_rand.py checks both against values from a real
server (tests/data/mysql_rand.json).
"""

from __future__ import annotations

from typing import Final

MAX_VALUE: Final = 0x3FFFFFFF
_ULONG: Final = (1 << 64) - 1
_UINT32: Final = (1 << 32) - 1


class MysqlRand:
    """One generator state: the session's (seeded from a RAND event) or one RAND(N) call's."""

    __slots__ = ("seed1", "seed2")

    def __init__(self, seed1: int, seed2: int) -> None:
        # The replica assigns a RAND event's seeds as they are (no reduction); `next` reduces.
        self.seed1 = seed1 & _ULONG
        self.seed2 = seed2 & _ULONG

    @classmethod
    def seeded(cls, n: int) -> MysqlRand:
        """The generator of RAND(n): n as the server's val_int() gives it."""
        tmp = n & _UINT32
        return cls(
            ((tmp * 0x10001 + 55555555) & _UINT32) % MAX_VALUE,
            ((tmp * 0x10000001) & _UINT32) % MAX_VALUE,
        )

    def next(self) -> float:
        """The next value, as RAND() returns it."""
        s1 = ((self.seed1 * 3 + self.seed2) & _ULONG) % MAX_VALUE
        self.seed2 = ((s1 + self.seed2 + 33) & _ULONG) % MAX_VALUE
        self.seed1 = s1
        return s1 / float(MAX_VALUE)


def rand_n(n: int) -> float:
    """The value of RAND(n) for a call site evaluated once (or re-seeded per row)."""
    return MysqlRand.seeded(n).next()


def postgres_rand_expression(arg_sql: str) -> str:
    """A PostgreSQL expression computing MySQL's RAND(arg) for an argument evaluated per row
    (RAND(col)): the generator is seeded from the argument and drawn once, so the value
    depends only on the argument. `arg_sql` must be a PostgreSQL integer-valued expression;
    NULL seeds like 0, as on the server."""
    # bigint arithmetic: tmp < 2^32, so tmp * 0x10001 and tmp * 0x10000001 fit in 62 bits.
    tmp = f"(round(coalesce(({arg_sql})::numeric, 0)) % 4294967296 + 4294967296) % 4294967296"
    tmp = f"({tmp})::bigint"
    s1 = f"(((({tmp}) * 65537 + 55555555) % 4294967296) % {MAX_VALUE})"
    s2 = f"(((({tmp}) * 268435457) % 4294967296) % {MAX_VALUE})"
    return f"((({s1}) * 3 + ({s2})) % {MAX_VALUE})::float8 / {MAX_VALUE}::float8"
