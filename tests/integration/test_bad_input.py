"""Bad input and a hostile target, through `dbbridge run` as a user runs it.

Each case shows the exact message, the exit code, and that nothing past the last checkpoint was
applied: config file mistakes; a target table changed by hand (a column or the table dropped, a
NOT NULL column of its own); an untranslatable source DDL in the middle of the stream; a full disk
on the target (retried until space is back); a slow target that cancels statements (retried).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bridge.local.servers import LocalServer
from tests.integration.crossengine import (
    fresh_mysql_db,
    my_transaction,
    sync_mysql,
    wait_streaming,
)
from tests.integration.mypair import execute as my_execute
from tests.integration.mypair import query as my_query
from tests.integration.pgmysql import sync_to_mysql
from tests.integration.pgpair import (
    MARKER,
    assert_same,
    bridge_run,
    dbbridge,
    execute,
    fresh_db,
    sync,
    table_rows,
)


def _fails(*args: str, timeout: float = 120) -> tuple[int, str]:
    proc = dbbridge(*args)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def _checkpoint(target: str, name: str) -> tuple[str, int] | None:
    with psycopg.connect(target, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('bridge.checkpoints')").fetchone() == (None,):
            return None
        row = conn.execute(
            "SELECT position, changes FROM bridge.checkpoints WHERE pipeline = %s", (name,)
        ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("dbbridge: error:")]
    assert len(lines) == 1, err
    return lines[0]


# -- config files ----------------------------------------------------------------------------


def test_a_config_file_supplies_the_options_and_the_command_line_wins(
    pg13_to_17: tuple[str, str], tmp_path: Path
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE b (id int PRIMARY KEY)")
    execute(source, "INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (2)")
    user, _, rest = source.removeprefix("postgresql://").partition(":")
    password, _, hostdb = rest.partition("@")
    config = tmp_path / "bridge.toml"
    config.write_text(
        f'source = "postgresql://{user}:${{SRC_PASSWORD}}@{hostdb}"\n'
        f'target = "{target}"\n'
        "[run]\n"
        'name = "from_file"\n'
        'tables = ["public.a", "public.zz_marker"]\n'
        "batch-rows = 500\n"
        "[verify]\n"
        "workers = 2\n"
    )
    config.chmod(0o600)
    os.environ["SRC_PASSWORD"] = password
    try:
        # --name on the command line wins over the file's; the rest comes from the file.
        proc = dbbridge("run", "--config", str(config), "--name", "cli_name", "-q")
        try:
            sync(source, target)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=60)
    finally:
        del os.environ["SRC_PASSWORD"]
    assert proc.returncode == 0, err
    assert _checkpoint(target, "cli_name") is not None
    assert _checkpoint(target, "from_file") is None
    assert table_rows(target, "public.a") == ["(1)"]
    with psycopg.connect(target) as conn:  # --tables came from the file: b was not copied
        assert conn.execute("SELECT to_regclass('public.b')").fetchone() == (None,)
    assert "warning" not in err  # chmod 600 and no inline password: nothing to warn about


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            '[run]\nname = "x"\ntables = [public.a]\n',
            "is not valid TOML: Invalid value (at line 3, column 11) (fix the syntax there;",
        ),
        (
            '[run]\nnmae = "x"\n',
            "unknown key 'nmae' in [run] (did you mean 'name'?) (see dbbridge run --help",
        ),
        ("[rnu]\n", "unknown table [rnu] (did you mean 'run'?) (tables are named after commands"),
        (
            '[run]\nzero-dates = "maybe"\n',
            "[run] zero-dates = 'maybe': 'maybe' is not one of 'error', 'null'.",
        ),
        ('[run]\nno-snapshot = "yes"\n', "[run] no-snapshot = 'yes' must be true or false"),
        (
            'target = "postgresql://u:${NOT_SET_ANYWHERE}@h/db"\n',
            "target uses ${NOT_SET_ANYWHERE}, which is not set (export NOT_SET_ANYWHERE",
        ),
    ],
    ids=["syntax", "unknown-key", "unknown-table", "bad-choice", "bad-flag", "unset-variable"],
)
def test_config_file_errors_exit_2_and_touch_nothing(
    pg13_to_17: tuple[str, str], tmp_path: Path, text: str, says: str
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a VALUES (1)")
    config = tmp_path / "bad.toml"
    config.write_text(text)
    code, err = _fails("run", "--config", str(config), "--source", source, "--target", target)
    assert code == 2, err
    assert _error_line(err).startswith(f"dbbridge: error: config file {config}"), err
    assert says in err, err
    assert _checkpoint(target, "default") is None  # not even the metadata schema was touched
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('public.a')").fetchone() == (None,)


def test_a_missing_config_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    code, err = _fails("status", "--config", str(missing))
    assert code == 2
    assert _error_line(err) == (
        f"dbbridge: error: config file {missing} does not exist"
        " (check the path given with --config or $DBBRIDGE_CONFIG)"
    )


def test_a_readable_config_file_with_a_password_is_warned_about(
    pg13_to_17: tuple[str, str], tmp_path: Path
) -> None:
    _, target = pg13_to_17
    config = tmp_path / "open.toml"
    config.write_text(f'target = "{target}"\n')
    config.chmod(0o644)
    proc = dbbridge("status", "--config", str(config))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert (
        f"warning: config file {config} holds a password and other users may read it:"
        f" chmod 600 {config}"
    ) in err


# -- DSNs, passwords, table patterns ---------------------------------------------------------


@pytest.mark.parametrize(
    "case", ["malformed-source", "wrong-source-password", "wrong-target-password", "no-table"]
)
def test_bad_connection_input_exits_2_names_the_fix_and_touches_nothing(
    pg13_to_17: tuple[str, str], case: str
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a VALUES (1)")
    src_pw = source.split(":")[2].split("@")[0]
    tgt_pw = target.split(":")[2].split("@")[0]
    args = {"source": source, "target": target, "tables": "public.*"}
    expected = {
        "malformed-source": "dbbridge: error: malformed --source 'postgresql//nowhere': unknown"
        " scheme '' (use postgresql://user:password@host:port/db or"
        " mysql://user:password@host:port/db)",
        "wrong-source-password": "dbbridge: error: the source refused the login: connection"
        ' failed: connection to server at "127.0.0.1", port {port} failed: FATAL: password'
        ' authentication failed for user "postgres" (check the user and password in the DSN'
        " and the server's pg_hba.conf)",
        "wrong-target-password": "dbbridge: error: the target refused the login: connection"
        ' failed: connection to server at "127.0.0.1", port {port} failed: FATAL: password'
        ' authentication failed for user "postgres" (check the user and password in the'
        " --target DSN)",
        "no-table": "dbbridge: error: --tables public.nosuch* matches no table on the source"
        " (check the spelling; patterns are SCHEMA.TABLE with * and ? wildcards)",
    }[case]
    if case == "malformed-source":
        args["source"] = "postgresql//nowhere"
    elif case == "wrong-source-password":
        args["source"] = source.replace(f":{src_pw}@", ":not-the-password@")
        expected = expected.format(port=source.split(":")[3].split("/")[0])
    elif case == "wrong-target-password":
        args["target"] = target.replace(f":{tgt_pw}@", ":not-the-password@")
        expected = expected.format(port=target.split(":")[3].split("/")[0])
    else:
        args["tables"] = "public.nosuch*"
    code, err = _fails("run", "--source", args["source"], "--target", args["target"],
                       "--tables", args["tables"], "--name", "bad", "-q")  # fmt: skip
    assert code == 2, err
    assert _error_line(err) == expected
    assert "not-the-password" not in err
    assert src_pw not in err
    assert tgt_pw not in err
    assert _checkpoint(target, "bad") is None
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('public.a')").fetchone() == (None,)


# -- a target changed by hand ------------------------------------------------------------------


def _replicated(source: str, target: str, name: str) -> tuple[str, int]:
    """Run the pipeline until the target has caught up, stop it; return its checkpoint."""
    with bridge_run(source, target, name):
        wait_streaming(target, name)
        sync(source, target)
    cp = _checkpoint(target, name)
    assert cp is not None
    return cp


def test_a_column_dropped_on_the_target_stops_with_exit_2_until_restored(
    pg13_to_17: tuple[str, str],
) -> None:
    source, target = pg13_to_17
    execute(
        source,
        "CREATE TABLE t (id int PRIMARY KEY, v int, w text)",
        "INSERT INTO t SELECT g, g, 'w' || g FROM generate_series(1, 50) g",
    )
    _replicated(source, target, "drift")
    execute(target, "ALTER TABLE public.t DROP COLUMN w")
    execute(source, "INSERT INTO t VALUES (51, 51, 'new')", "UPDATE t SET v = -v WHERE id <= 5")
    before_rows = table_rows(target, "public.t")
    before = _checkpoint(target, "drift")

    code, err = _fails("run", "--source", source, "--target", target, "--name", "drift", "-q")
    assert code == 2, err
    assert _error_line(err) == (
        "dbbridge: error: the target table public.t has lost column(s) w, which were replicated"
        " from public.t and which the source still has: the target was changed by hand, table"
        " public.t (add them back on the target (then `dbbridge verify --repair` re-copies their"
        " values), or drop the target table and start a new pipeline that copies it; nothing"
        " past the last checkpoint was applied)"
    )
    assert _checkpoint(target, "drift") == before
    assert table_rows(target, "public.t") == before_rows
    # The pipeline wrote the error it stopped on where `dbbridge status` shows it.
    proc = dbbridge("status", "--target", target, "--json")
    out, _ = proc.communicate(timeout=60)
    (row,) = [r for r in json.loads(out) if r["pipeline"] == "drift"]
    assert "has lost column(s) w" in row["last_error"]
    assert row["last_error_at"] is not None

    # The fix the message gives: the column back, the pipeline catches up, --repair the rest.
    execute(target, "ALTER TABLE public.t ADD COLUMN w text")
    _replicated(source, target, "drift")
    proc = dbbridge("verify", "--source", source, "--target", target, "--tables", "public.t")
    proc.communicate(timeout=120)
    assert proc.returncode == 1  # the old rows' w came back empty: reported, not hidden
    proc = dbbridge(
        "verify", "--source", source, "--target", target, "--tables", "public.t", "--repair"
    )
    proc.communicate(timeout=120)
    assert_same(source, target, ["public.t"])


def test_a_table_dropped_on_the_target_is_not_silently_recreated(
    pg13_to_17: tuple[str, str],
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 1)")
    _replicated(source, target, "gone")
    execute(target, "DROP TABLE public.t")
    execute(source, "INSERT INTO t VALUES (2, 2)")
    before = _checkpoint(target, "gone")

    code, err = _fails("run", "--source", source, "--target", target, "--name", "gone", "-q")
    assert code == 2, err
    assert _error_line(err).startswith(
        "dbbridge: error: the target table public.t is gone, but public.t was replicated into"
        " it and the source still has it: the target was changed by hand"
    ), err
    assert _checkpoint(target, "gone") == before
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)


def test_the_targets_own_columns_survive_a_source_schema_change(
    pg13_to_17: tuple[str, str],
) -> None:
    """A column added on the target by hand is the user's: a source DROP COLUMN (which arrives
    as a Relation change) drops the source's column only."""
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int, old text)")
    execute(source, "INSERT INTO t VALUES (1, 1, 'x')")
    _replicated(source, target, "own")
    execute(target, "ALTER TABLE public.t ADD COLUMN note text DEFAULT 'mine'")
    execute(source, "ALTER TABLE t DROP COLUMN old", "INSERT INTO t VALUES (2, 2)")
    _replicated(source, target, "own")
    assert table_rows(target, "public.t") == ["(1,1,mine)", "(2,2,mine)"]


def test_a_not_null_column_added_on_the_target_stops_with_the_fix(
    pg13_to_17: tuple[str, str],
) -> None:
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 1)")
    _replicated(source, target, "nn")
    execute(target, "ALTER TABLE public.t ADD COLUMN must text NOT NULL DEFAULT 'x'")
    execute(target, "ALTER TABLE public.t ALTER COLUMN must DROP DEFAULT")
    execute(source, "INSERT INTO t VALUES (2, 2)")
    before = _checkpoint(target, "nn")
    before_rows = table_rows(target, "public.t")

    code, err = _fails("run", "--source", source, "--target", target, "--name", "nn", "-q")
    assert code == 3, err
    line = _error_line(err)
    assert 'null value in column "must" of relation "t" violates not-null constraint' in line
    assert "the target table differs from the source (changed by hand?)" in line, line
    assert _checkpoint(target, "nn") == before
    assert table_rows(target, "public.t") == before_rows


# -- untranslatable DDL in the stream (MariaDB -> PostgreSQL) ----------------------------------


def test_an_untranslatable_ddl_stops_after_the_transactions_before_it(
    mariadb_server: LocalServer, pg17_server: LocalServer
) -> None:
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        my_execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)")
        with bridge_run(source, target, "ddl"):
            sync_mysql(source, target)
        db = source.rsplit("/", 1)[1]
        my_transaction(source, ["INSERT INTO t VALUES (1, 1)", "INSERT INTO t VALUES (2, 2)"])
        my_execute(source, "ALTER TABLE t ADD COLUMN g POINT")
        my_transaction(source, ["INSERT INTO t (id, v) VALUES (3, 3)"])

        args = ("run", "--source", source, "--target", target, "--name", "ddl", "-q")
        code, err = _fails(*args)
        assert code == 2, err
        line = _error_line(err)
        position = line.split(" at position ", 1)[1].split(" ", 1)[0]
        assert line == (
            "dbbridge: error: cannot translate 'ALTER TABLE t ADD COLUMN g POINT': the translator"
            " does not support this statement (sqlglot parses it as Command), at position"
            f" {position} (make the same change on the target by hand, then run again with"
            " --skip-ddl POSITION (the position above) to go past exactly this statement)"
        )
        # The transactions before the DDL are applied and checkpointed; the one after is not.
        assert table_rows(target, f'"{db}".t') == ["(1,1)", "(2,2)"]
        assert _fails(*args)[0] == 2  # a restart stops at the same statement again

        # The way out the message gives: the change by hand, then past exactly that statement.
        execute(target, f'ALTER TABLE "{db}".t ADD COLUMN g text')
        with bridge_run(source, target, "ddl", "--skip-ddl", position) as run:
            sync_mysql(source, target)
        assert f"warning: skipping the DDL at {position} (--skip-ddl)" in " ".join(
            run.stderr.split()
        )
        assert table_rows(target, f'"{db}".t') == ["(1,1,)", "(2,2,)", "(3,3,)"]


def test_an_unsupported_column_type_mid_stream_stops_until_a_policy_allows_it(
    mariadb_server: LocalServer, pg17_server: LocalServer
) -> None:
    with fresh_mysql_db(mariadb_server, "src") as source, fresh_db(pg17_server, "tgt") as target:
        my_execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)")
        with bridge_run(source, target, "geo"):
            sync_mysql(source, target)
        db = source.rsplit("/", 1)[1]
        my_transaction(source, ["INSERT INTO t VALUES (1, 1)"])
        my_execute(source, "ALTER TABLE t ADD COLUMN g GEOMETRY")
        my_transaction(source, ["INSERT INTO t VALUES (2, 2, ST_GeomFromText('POINT(1 2)'))"])
        args = ("run", "--source", source, "--target", target, "--name", "geo", "-q")
        code, err = _fails(*args)
        assert code == 2, err
        line = _error_line(err)
        assert line.startswith(
            "dbbridge: error: cannot translate 'ALTER TABLE t ADD COLUMN g GEOMETRY': column 'g':"
            " type 'geometry' has no PostgreSQL type, at position "
        ), line
        assert line.endswith("(to accept it, set TypePolicy(unsupported='text') or pass"
                             " --unsupported text)"), line  # fmt: skip
        assert table_rows(target, f'"{db}".t') == ["(1,1)"]
        # The opt-in the message names: the column becomes text, the rows follow.
        with bridge_run(source, target, "geo", "--unsupported", "text"):
            sync_mysql(source, target)
        rows = table_rows(target, f'"{db}".t')
        assert rows[0] == "(1,1,)"
        assert rows[1].startswith("(2,2,")
        assert len(rows) == 2


# -- a full disk and a slow target: retried, nothing lost ---------------------------------------


def _stderr_lines(proc: subprocess.Popen[str]) -> list[str]:
    """Collect a process's stderr lines as they come, in a thread."""
    lines: list[str] = []

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_text(lines: list[str], text: str, timeout: float) -> str:
    """Wait until `text` shows in the stderr so far (lines re-joined: the console wraps them)."""
    deadline = time.monotonic() + timeout
    while True:
        joined = " ".join(" ".join(lines).split())
        if text in joined:
            return joined
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} on stderr in {timeout} s: {joined}")
        time.sleep(0.1)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root (CI is root)")
def test_a_full_target_disk_is_retried_until_space_is_back(
    pg13_to_17: tuple[str, str], pg17_server: LocalServer, tmp_path: Path
) -> None:
    source, target = pg13_to_17
    # Beside the server's own directory: the server's OS user must reach it (pytest's
    # tmp_path is root's alone).
    space = Path(f"{pg17_server.directory}-small-{secrets.token_hex(3)}")
    space.mkdir()
    owner = Path(pg17_server.directory).stat()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=1m,uid={owner.st_uid},gid={owner.st_gid},mode=0700",
         "tmpfs", str(space)],
        check=True,
    )  # fmt: skip
    tablespace = f"small_{secrets.token_hex(3)}"
    try:
        execute(target, f"CREATE TABLESPACE {tablespace} LOCATION '{space}'")
        execute(source, "CREATE TABLE big (id int PRIMARY KEY, pad text)")
        execute(
            target,
            f"CREATE TABLE public.big (id int PRIMARY KEY, pad text) TABLESPACE {tablespace}",
        )
        proc = dbbridge("run", "--source", source, "--target", target, "--name", "full",
                        "--retry-for", "120")  # fmt: skip
        lines = _stderr_lines(proc)
        try:
            sync(source, target)
            # ~3 MB of incompressible text into a 1 MB volume.
            execute(
                source,
                "INSERT INTO big SELECT g, string_agg(md5(g::text || i::text), '')"
                " FROM generate_series(1, 1500) g, generate_series(1, 60) i GROUP BY g",
            )
            _wait_text(
                lines,
                "warning: transient fault, retrying in 0.5 s: the target failed writing changes to"
                " public.big: the target's disk is full (could not extend file",
                60,
            )
            subprocess.run(["mount", "-o", "remount,size=64m", str(space)], check=True)
            sync(source, target, timeout=120)
            assert_same(source, target, ["big"])
        finally:
            proc.terminate()
            proc.wait(60)
        assert proc.returncode == 0, "".join(lines)
    finally:
        execute(target, "DROP TABLE IF EXISTS public.big")
        execute(target, f"DROP TABLESPACE IF EXISTS {tablespace}")
        subprocess.run(["umount", str(space)], check=False)
        space.rmdir()


def test_a_slow_target_that_cancels_statements_is_retried(pg13_to_17: tuple[str, str]) -> None:
    """A lock held on the target table outlasts the target's statement_timeout: the batch is
    cancelled, rolled back and retried from the checkpoint until the lock is gone."""
    source, target = pg13_to_17
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, v int)")
    database = target.rsplit("/", 1)[1]
    execute(target, f"ALTER DATABASE \"{database}\" SET statement_timeout = '500ms'")
    proc = dbbridge("run", "--source", source, "--target", target, "--name", "slow")
    lines = _stderr_lines(proc)
    try:
        sync(source, target)
        with psycopg.connect(target) as blocker:
            blocker.execute("LOCK TABLE public.t IN ACCESS EXCLUSIVE MODE")
            execute(source, "INSERT INTO t SELECT g, g FROM generate_series(1, 5000) g")
            _wait_text(
                lines,
                "warning: transient fault, retrying in 0.5 s: the target failed writing changes to"
                " public.t: canceling statement due to statement timeout",
                60,
            )
            time.sleep(2)
        sync(source, target, timeout=120)
        execute(source, "UPDATE t SET v = v + 1 WHERE id % 2 = 0", "DELETE FROM t WHERE id > 4000")
        sync(source, target)
        assert_same(source, target, ["t"])
    finally:
        proc.terminate()
        proc.wait(60)
    assert proc.returncode == 0, "".join(lines)


def test_a_column_dropped_on_a_mariadb_target_stops_with_exit_2(
    pg17_server: LocalServer, mariadb_server: LocalServer
) -> None:
    with fresh_db(pg17_server, "src") as source, fresh_mysql_db(mariadb_server, "tgt") as target:
        execute(source, MARKER, "CREATE TABLE t (id int PRIMARY KEY, v int, w text)")
        execute(source, "INSERT INTO t VALUES (1, 1, 'a')")
        with bridge_run(source, target, "mydrift"):
            sync_to_mysql(source, target)
        my_execute(target, "ALTER TABLE t DROP COLUMN w")
        execute(source, "INSERT INTO t VALUES (2, 2, 'b')")
        before = my_query(
            target, "SELECT position FROM bridge.checkpoints WHERE pipeline = 'mydrift'"
        )
        code, err = _fails("run", "--source", source, "--target", target, "--name", "mydrift", "-q")
        assert code == 2, err
        db = target.rsplit("/", 1)[1]
        assert _error_line(err).startswith(
            f"dbbridge: error: the target table {db}.t has lost column(s) w, which were"
            " replicated from public.t and which the source still has: the target was changed"
            " by hand"
        ), err
        assert (
            my_query(target, "SELECT position FROM bridge.checkpoints WHERE pipeline = 'mydrift'")
            == before
        )
        assert my_query(target, "SELECT id, v FROM t ORDER BY id") == [(1, 1)]
