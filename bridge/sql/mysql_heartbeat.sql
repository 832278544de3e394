-- Heartbeats for a MySQL/MariaDB source of dbbridge.
--
-- While it runs, `dbbridge run` writes one row per pipeline into bridge.heartbeat on the source
-- every --heartbeat-interval seconds (default 10). The row reaches the binlog like any other (the
-- reader always reads this table, whatever --tables says) and the reader turns it into a
-- `heartbeat` event instead of a row change: the target records the heartbeat's source time in
-- bridge.heartbeats, never the row in a user schema. Heartbeats give the end-to-end lag while
-- the source is idle.
--
-- bridge creates this table itself when the source user may (CREATE on database bridge).
-- Otherwise run this file once as an administrator; replace 'bridge_source'@'%' with the account
-- dbbridge connects as. Without the table or the grants, heartbeats are off (dbbridge run says
-- so) and everything else works. Idempotent.

CREATE DATABASE IF NOT EXISTS bridge CHARACTER SET utf8mb4;

-- TIMESTAMP, not DATETIME: the binlog carries it as seconds since the epoch, an instant whatever
-- the session's time zone.
CREATE TABLE IF NOT EXISTS bridge.heartbeat (
    pipeline VARCHAR(200) NOT NULL PRIMARY KEY,
    beat_time TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE = InnoDB;

GRANT SELECT, INSERT, UPDATE ON bridge.heartbeat TO 'bridge_source'@'%';
