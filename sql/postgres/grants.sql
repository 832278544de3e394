-- Least-privilege roles for bridge on PostgreSQL. Run as a superuser in the database to replicate,
-- then set passwords out of band (never in a file):  ALTER ROLE bridge_source PASSWORD '…';
-- Replace schema public with your schemas. tests/integration/test_grants.py runs this file as is.

-- Reading a source: logical replication (REPLICATION attribute) and the snapshot copy (SELECT).
-- pg_hba.conf must also allow it:  host replication bridge_source <client address> scram-sha-256
-- The publication is created by a superuser or the tables' owner (publishing a table requires
-- owning it), e.g. CREATE PUBLICATION bridge FOR TABLE …;  bridge then only checks it.
CREATE ROLE bridge_source LOGIN REPLICATION;
GRANT USAGE ON SCHEMA public TO bridge_source;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO bridge_source;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO bridge_source;

-- Writing a target: DML on the replicated tables, CREATE in their schema (tables missing on the
-- target are created from the source's definitions), and CREATE on the database for bridge's own
-- metadata schema "bridge" (checkpoints, heartbeats).
CREATE ROLE bridge_target LOGIN;
DO $$ BEGIN
  EXECUTE format('GRANT CREATE ON DATABASE %I TO bridge_target', current_database());
END $$;
GRANT USAGE, CREATE ON SCHEMA public TO bridge_target;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO bridge_target;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO bridge_target;
