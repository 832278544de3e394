-- Least-privilege accounts for bridge on MariaDB (>= 10.5) and MySQL. Run as an administrator,
-- then set a password and unlock out of band (never in a file):
--   ALTER USER 'bridge_source'@'%' IDENTIFIED BY '…' ACCOUNT UNLOCK;
-- Replace `app` with your database and '%' with the bridge host.
-- tests/integration/test_grants.py runs this file as is on MariaDB.

-- Reading a source: stream the binlog (REPLICATION SLAVE), read its position and status
-- (BINLOG MONITOR on MariaDB >= 10.5; on MySQL grant REPLICATION CLIENT instead), and SELECT for
-- the snapshot copy and the table definitions in information_schema.
CREATE USER 'bridge_source'@'%' ACCOUNT LOCK;
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'bridge_source'@'%';
GRANT SELECT ON `app`.* TO 'bridge_source'@'%';

-- Writing a target: DML and DDL on the replicated database (tables are created and altered from
-- the source's translated DDL) and everything on bridge's own metadata database `bridge`.
CREATE USER 'bridge_target'@'%' ACCOUNT LOCK;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX ON `app`.* TO 'bridge_target'@'%';
GRANT ALL PRIVILEGES ON `bridge`.* TO 'bridge_target'@'%';
