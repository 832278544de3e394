-- Heartbeats for a PostgreSQL source of dbbridge.
--
-- While it runs, `dbbridge run` writes one row per pipeline into bridge.heartbeat on the source
-- every --heartbeat-interval seconds (default 10). The row replicates like any other (the
-- pipeline's publication must carry the table: FOR ALL TABLES does, and bridge adds it to a table
-- list it creates), and the reader turns it into a `heartbeat` event instead of a row change:
-- the target records the heartbeat's source time in bridge.heartbeats, never the row in a user
-- schema. Heartbeats give the end-to-end lag while the source is idle, and let the pipeline
-- confirm its slot up to each heartbeat's commit, so an idle slot never holds WAL unboundedly.
--
-- bridge creates this table itself when the source user may (CREATE on the database or on an
-- existing schema bridge). Otherwise run this file once per source database as a superuser or
-- the database owner; replace bridge_source with the role dbbridge connects as:
--
--     psql -d DB -v ON_ERROR_STOP=1 -f sql/postgres/heartbeat.sql
--
-- and, when a superuser created the pipeline's publication with a table list, add the table to it:
--
--     ALTER PUBLICATION dbbridge_NAME ADD TABLE bridge.heartbeat;
--
-- Without the table or the grants, heartbeats are off (dbbridge run says so) and everything else
-- works. Idempotent.

CREATE SCHEMA IF NOT EXISTS bridge;

CREATE TABLE IF NOT EXISTS bridge.heartbeat (
    pipeline varchar(200) PRIMARY KEY,
    beat_time timestamptz NOT NULL
);

GRANT USAGE ON SCHEMA bridge TO bridge_source;
GRANT SELECT, INSERT, UPDATE ON bridge.heartbeat TO bridge_source;
