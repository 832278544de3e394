"""Translated DDL runs on real servers: a sequence of source statements is run on the source
(proving the input is real DDL) and its translation on the target, statement by statement, with
the `columns` / `index_table` lookups read from the source's catalog just before each statement,
as the replication pipeline will. MariaDB <-> PostgreSQL 15, a fresh database on each side."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pymysql
import pytest

from bridge.local.servers import LocalServer
from bridge.log.events import Column, TableName
from bridge.translate.ddl import translate_ddl
from bridge.translate.types import from_mysql, from_postgres
from tests.helpers import mysql_connect
from tests.integration.pgpair import fresh_db

pytestmark = pytest.mark.mariadb

MYSQL_ORDERS = """CREATE TABLE orders (
  id int(10) unsigned NOT NULL AUTO_INCREMENT,
  paid tinyint(1) NOT NULL DEFAULT 0,
  qty tinyint(4) DEFAULT NULL,
  small smallint(6) NOT NULL DEFAULT -1,
  med mediumint(9) DEFAULT NULL, medu mediumint(8) unsigned DEFAULT NULL,
  tinyu tinyint(3) unsigned DEFAULT NULL, smallu smallint(5) unsigned DEFAULT NULL,
  big bigint(20) DEFAULT NULL, bigu bigint(20) unsigned DEFAULT NULL,
  price decimal(10,2) NOT NULL DEFAULT '0.00', widest decimal(65,30) DEFAULT NULL,
  ratio float DEFAULT NULL, score double DEFAULT NULL,
  flags bit(5) DEFAULT b'101', flag bit(1) DEFAULT b'0',
  yr year(4) DEFAULT NULL, day date DEFAULT NULL, made datetime(6) DEFAULT NULL,
  seen timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  took time(6) DEFAULT NULL,
  code char(3) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT 'abc',
  name varchar(255) COLLATE utf8mb4_unicode_ci NOT NULL COMMENT 'customer''s name',
  t1 tinytext, t2 text, t3 mediumtext, t4 longtext,
  uid binary(16) DEFAULT NULL, tok varbinary(64) DEFAULT NULL,
  b1 tinyblob, b2 blob, b3 mediumblob, b4 longblob,
  state enum('new','paid','it''s shipped') NOT NULL DEFAULT 'new',
  tags set('red','green') DEFAULT 'red,green',
  doc json DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_code (code, name(20)),
  KEY idx_day (day), KEY (made), FULLTEXT KEY ft_name (name),
  CONSTRAINT fk_big FOREIGN KEY (big) REFERENCES customers (id) ON DELETE CASCADE,
  CONSTRAINT ck_price CHECK (price >= 0)
) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COMMENT='orders'"""

# ("both", sql): run on the source, its translation on the target; ("target", sql): target only
# (rows, so that the USING conversions meet data).
MYSQL_SEQUENCE = [
    ("both", "CREATE TABLE customers (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,"
             " email varchar(100) NOT NULL, UNIQUE KEY uq_email (email))"),
    ("both", MYSQL_ORDERS),
    ("target", "INSERT INTO orders (paid, qty, price, name, state, tags, took)"
               " VALUES (true, 3, 2.5, 'n', 'paid', '{red}', '838:59:59')"),
    ("both", "ALTER TABLE orders ADD COLUMN note varchar(100) NOT NULL DEFAULT '' AFTER name,"
             " ADD COLUMN kind enum('a','b') DEFAULT 'a' FIRST"),
    ("both", "ALTER TABLE orders MODIFY qty int unsigned NOT NULL DEFAULT 1"),
    ("both", "ALTER TABLE orders MODIFY COLUMN state"
             " enum('new','paid','it''s shipped','lost') NOT NULL DEFAULT 'new'"),
    ("both", "ALTER TABLE orders MODIFY tags set('red','green','blue')"),
    ("both", "ALTER TABLE orders CHANGE paid is_paid tinyint(4) NOT NULL"),
    ("both", "ALTER TABLE orders CHANGE COLUMN qty quantity int DEFAULT NULL"),
    ("both", "ALTER TABLE orders RENAME COLUMN small TO smallest"),
    ("both", "ALTER TABLE orders ALTER COLUMN price SET DEFAULT 1.5"),
    ("both", "ALTER TABLE orders ALTER COLUMN price DROP DEFAULT"),
    ("both", "ALTER TABLE orders MODIFY id bigint unsigned NOT NULL AUTO_INCREMENT"),
    ("both", "ALTER TABLE orders ADD INDEX idx_made (made), ADD UNIQUE KEY uq_tok (tok),"
             " ADD KEY (took, day)"),
    ("both", "ALTER TABLE orders DROP INDEX idx_made, DROP KEY uq_tok"),
    ("both", "ALTER TABLE orders DROP PRIMARY KEY, ADD PRIMARY KEY (id, seen)"),
    ("both", "ALTER TABLE orders RENAME INDEX idx_day TO idx_the_day"),
    ("both", "CREATE UNIQUE INDEX uq_name ON orders (name, code DESC)"),
    ("both", "DROP INDEX uq_name ON orders"),
    ("both", "ALTER TABLE orders RENAME TO purchases"),
    ("both", "DROP INDEX idx_the_day ON purchases"),
    ("both", "RENAME TABLE purchases TO orders2"),
    ("both", "ALTER TABLE orders2 DROP FOREIGN KEY fk_big"),
    ("both", "ALTER TABLE orders2 ENGINE=InnoDB"),
    ("both", "TRUNCATE TABLE orders2"),
    ("both", "ALTER TABLE orders2 DROP COLUMN note"),
    ("both", "CREATE TABLE copy LIKE orders2"),
    ("both", "DROP TABLE IF EXISTS orders2, copy, customers"),
]  # fmt: skip

PG_ORDERS = """CREATE TABLE orders (
  id serial PRIMARY KEY, s2 smallint NOT NULL DEFAULT 0, i4 integer, i8 bigint,
  price numeric(10,2) NOT NULL DEFAULT 0.00, widest numeric(65,30), r real, d double precision,
  paid boolean NOT NULL DEFAULT false, note text DEFAULT 'none'::text,
  code character varying(20) UNIQUE, huge character varying(20000), c3 character(3),
  blob bytea, uid uuid, doc jsonb DEFAULT '{}'::jsonb, j json, tags text[],
  seen timestamp(3) with time zone DEFAULT now(),
  made timestamp without time zone DEFAULT CURRENT_TIMESTAMP,
  day date, at time(3) without time zone, bits bit(5), vb varbit(8),
  CONSTRAINT orders_price_check CHECK (price >= 0),
  UNIQUE (i4, i8),
  CONSTRAINT fk_cust FOREIGN KEY (i8) REFERENCES customers (id) ON DELETE SET NULL
)"""

PG_SEQUENCE = [
    ("both", "CREATE TABLE customers (id bigserial PRIMARY KEY,"
             " email character varying(100) NOT NULL UNIQUE)"),
    ("both", PG_ORDERS),
    ("target", "INSERT INTO orders (i4, price, code) VALUES (4, 2.5, 'x')"),
    ("both", "CREATE TABLE keyed (k integer, v text, CONSTRAINT keyed_pkey PRIMARY KEY (k))"),
    ("both", "ALTER TABLE keyed DROP CONSTRAINT keyed_pkey"),
    ("both", "ALTER TABLE keyed ADD CONSTRAINT keyed_pkey PRIMARY KEY (k)"),
    ("both", "ALTER TABLE orders ADD COLUMN extra integer NOT NULL DEFAULT 1, DROP COLUMN j"),
    ("both", "ALTER TABLE orders RENAME COLUMN note TO remark"),
    ("both", "ALTER TABLE orders ALTER COLUMN i4 TYPE bigint USING i4::bigint,"
             " ALTER COLUMN i4 SET NOT NULL"),
    ("both", "ALTER TABLE orders ALTER COLUMN code DROP NOT NULL"),
    ("both", "ALTER TABLE orders ALTER COLUMN s2 SET DEFAULT 5, ALTER COLUMN price DROP DEFAULT"),
    ("both", "CREATE UNIQUE INDEX uq_day ON orders USING btree (day, i4 DESC)"),
    ("both", "DROP INDEX uq_day"),
    ("both", "ALTER TABLE orders DROP CONSTRAINT orders_code_key"),
    ("both", "ALTER TABLE orders ADD CONSTRAINT uq_code UNIQUE (code)"),
    ("both", "ALTER TABLE orders RENAME TO purchases"),
    ("both", "TRUNCATE purchases"),
    ("both", "DROP TABLE purchases, customers, keyed"),
]  # fmt: skip


@pytest.fixture
def maria_db(mariadb_server: LocalServer) -> Iterator[str]:
    name = f"ddl_{secrets.token_hex(4)}"
    with mysql_connect(mariadb_server.dsn) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    u = urlsplit(mariadb_server.dsn)
    try:
        yield urlunsplit(u._replace(path=f"/{name}"))
    finally:
        with mysql_connect(mariadb_server.dsn) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def pg_db(pg15_server: LocalServer) -> Iterator[str]:
    with fresh_db(pg15_server, "ddl") as dsn:
        yield dsn


def _mysql_columns(conn: pymysql.Connection, table: TableName) -> list[Column] | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (table.name,),
        )
        rows = cur.fetchall()
    return [Column(str(r[0]), from_mysql(str(r[1])), r[2] == "YES") for r in rows] or None


def _pg_columns(conn: psycopg.Connection[tuple[object, ...]], table: TableName) -> list[Column]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull"
        " FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY a.attnum",
        (table.name,),
    ).fetchall()
    return [Column(str(r[0]), from_postgres(str(r[1])), bool(r[2])) for r in rows]


def _pg_index_table(conn: psycopg.Connection[tuple[object, ...]], index: TableName) -> TableName:
    row = conn.execute(
        "SELECT tablename FROM pg_indexes WHERE indexname = %s", (index.name,)
    ).fetchone()
    assert row is not None
    return TableName("", str(row[0]))


def test_mysql_ddl_runs_on_postgres(maria_db: str, pg_db: str) -> None:
    with mysql_connect(maria_db) as src, psycopg.connect(pg_db, autocommit=True) as tgt:
        for where, sql in MYSQL_SEQUENCE:
            if where == "target":
                tgt.execute(sql)
                continue
            result = translate_ddl(
                sql, source="mysql", target="postgres", columns=lambda t: _mysql_columns(src, t)
            )
            with src.cursor() as cur:
                cur.execute(sql)
            with tgt.transaction():
                for statement in result.statements:
                    tgt.execute(statement)
        left = tgt.execute(
            "SELECT count(*) FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'i')"
        ).fetchone()
        assert left == (0,)


def test_mysql_enum_and_set_conversions_keep_values(maria_db: str, pg_db: str) -> None:
    with mysql_connect(maria_db) as src, psycopg.connect(pg_db, autocommit=True) as tgt:
        steps = MYSQL_SEQUENCE[:9]
        for where, sql in steps:
            if where == "target":
                tgt.execute(sql)
                continue
            result = translate_ddl(
                sql, source="mysql", target="postgres", columns=lambda t: _mysql_columns(src, t)
            )
            with src.cursor() as cur:
                cur.execute(sql)
            for statement in result.statements:
                tgt.execute(statement)
        row = tgt.execute("SELECT state::text, tags, is_paid, took::text FROM orders").fetchone()
        assert row == ("paid", ["red"], 1, "838:59:59")


def test_postgres_ddl_runs_on_mariadb(pg_db: str, maria_db: str) -> None:
    with psycopg.connect(pg_db, autocommit=True) as src, mysql_connect(maria_db) as tgt:
        for where, sql in PG_SEQUENCE:
            with tgt.cursor() as cur:
                if where == "target":
                    cur.execute(sql)
                    continue
                result = translate_ddl(
                    sql,
                    source="postgres",
                    target="mysql",
                    columns=lambda t: _pg_columns(src, t),
                    index_table=lambda i: _pg_index_table(src, i),
                )
                src.execute(sql)
                for statement in result.statements:
                    cur.execute(statement)
            if sql.startswith("ALTER TABLE orders ALTER COLUMN i4 TYPE"):
                with tgt.cursor() as cur:
                    cur.execute(
                        "SELECT COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS"
                        " WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME = 'i4'"
                    )
                    assert cur.fetchone() == ("bigint(20)", "NO")
        with tgt.cursor() as cur:
            cur.execute("SHOW TABLES")
            assert cur.fetchall() == ()
