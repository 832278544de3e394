"""`bridge.local.servers.restart`: the fault tests' way to crash a server and bring it back."""

from __future__ import annotations

import psycopg
import pytest

from bridge import mysqlconn
from bridge.local import servers


@pytest.mark.parametrize("spec", ["postgres:15", "mariadb"])
def test_a_crash_restart_keeps_port_data_and_settings(spec: str) -> None:
    setting = (
        {"max_wal_senders": "17"} if spec.startswith("postgres") else {"max_connections": "77"}
    )
    server = servers.start(spec, settings=setting)
    try:
        committed = "CREATE TABLE kept (id int PRIMARY KEY)", "INSERT INTO kept VALUES (1)"
        show = "SHOW max_wal_senders" if spec.startswith("postgres") else "SELECT @@max_connections"
        if spec.startswith("postgres"):
            with psycopg.connect(server.dsn, autocommit=True) as c:
                for s in committed:
                    c.execute(s)
        else:
            conn = mysqlconn.connect(server.dsn, autocommit=True)
            with conn.cursor() as cur:
                for s in committed:
                    cur.execute(s)
            conn.close()
        again = servers.restart(server.directory, crash=True)
        assert again.port == server.port
        assert again.pid != server.pid
        assert servers.load(server.directory).pid == again.pid
        if spec.startswith("postgres"):
            with psycopg.connect(server.dsn) as c:
                assert c.execute("SELECT id FROM kept").fetchall() == [(1,)]
                assert c.execute(show).fetchone() == ("17",)
        else:
            conn = mysqlconn.connect(server.dsn)
            with conn.cursor() as cur:
                cur.execute("SELECT id FROM kept")
                assert cur.fetchall() == ((1,),)
                cur.execute(show)
                assert cur.fetchone() == (77,)
            conn.close()
    finally:
        servers.stop(server.directory)
