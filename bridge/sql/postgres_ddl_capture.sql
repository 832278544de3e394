-- DDL capture for a PostgreSQL source of dbbridge.
--
-- pgoutput (logical replication) carries row changes but no DDL. This file installs event
-- triggers that record each DDL statement's text in bridge.ddl_log; bridge's reader replicates
-- that table and turns each of its inserts into a `ddl` event, in order with the row changes
-- around it. For PostgreSQL 13 to 18 (tested on 13, 15 and 17).
--
-- Install it as a SUPERUSER (only superusers create event triggers) in each source database:
--
--     psql -d DB -v ON_ERROR_STOP=1 -f sql/postgres/ddl_capture.sql
--
-- or from Python, on an autocommit connection: bridge.readers.postgres.ddl_capture_sql() returns
-- this text. It is idempotent: running it again replaces the functions and triggers and keeps
-- the log. The publication must include bridge.ddl_log: FOR ALL TABLES does, and bridge adds it
-- to a table list it publishes or finds without it. To uninstall, drop the event triggers
-- bridge_ddl_capture, bridge_ddl_capture_drop and bridge_ddl_capture_start (one DROP EVENT
-- TRIGGER each), then the table bridge.ddl_log and the functions bridge.ddl_capture_*.
--
-- What is recorded: current_query(), the whole statement string the client sent, once per
-- client statement (a string holding several DDL commands gives one row), with the schemas of
-- the session's search_path that exist, the first command's tag and object. A target replays
-- that text, so:
--   * a string that mixes DDL with DML (`INSERT ...; ALTER TABLE ...` sent as one) would replay
--     the DML too: send DDL as statements of its own;
--   * DDL run inside a function or DO block is recorded as the calling statement.
-- Not recorded: commands on objects in schema bridge, on temporary objects, no-op commands
-- (IF [NOT] EXISTS that did nothing), commands PostgreSQL's event triggers do not see (CREATE /
-- DROP DATABASE, ROLE, TABLESPACE), and any command of a session with bridge.applying = on
-- (bridge's own apply sessions set it, so a bidirectional setup does not echo).
--
-- Roles that are not superusers keep running DDL: the recording functions are SECURITY DEFINER
-- with a fixed search_path, event trigger functions cannot be called directly, and nobody but
-- the owner may write bridge.ddl_log or call bridge.ddl_capture_record.

BEGIN;
SET LOCAL bridge.applying = 'on';  -- this script's own DDL is not captured

CREATE SCHEMA IF NOT EXISTS bridge;

CREATE TABLE IF NOT EXISTS bridge.ddl_log (
    id bigserial PRIMARY KEY,
    txid bigint DEFAULT txid_current(),
    search_path text DEFAULT current_setting('search_path'),
    command_tag text,
    object_identity text,
    query text NOT NULL,
    created_at timestamptz DEFAULT now()
);
REVOKE ALL ON bridge.ddl_log FROM PUBLIC;

-- Fires before each DDL command, as the user running it: remembers the search_path in effect,
-- which the SECURITY DEFINER functions below cannot see (their SET clause replaces it). It is
-- recorded resolved: current_schemas(false) drops "$user" unless that schema exists and drops
-- schemas that do not exist, so its first entry is where unqualified objects were created.
CREATE OR REPLACE FUNCTION bridge.ddl_capture_start() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config(
        'bridge.ddl_search_path',
        pg_catalog.array_to_string(ARRAY(
            SELECT pg_catalog.quote_ident(s.name)
            FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS s(name, n)
            ORDER BY s.n), ', '),
        true);
END
$$;

-- Records the running client statement, once per statement. Called by the trigger functions
-- only (EXECUTE is revoked from PUBLIC); runs as their owner.
CREATE OR REPLACE FUNCTION bridge.ddl_capture_record(tag text, identity text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    q text := current_query();
    statement text;
BEGIN
    IF q IS NULL OR current_setting('bridge.applying', true) = 'on' THEN
        RETURN;
    END IF;
    -- One row per client statement: its start time and text identify it. Several commands in
    -- one string fire the triggers once per command; the key is session-wide and transactional,
    -- so a rolled-back (sub)transaction forgets it along with its row.
    statement := extract(epoch FROM statement_timestamp())::text || ' ' || md5(q);
    IF current_setting('bridge.ddl_captured', true) IS NOT DISTINCT FROM statement THEN
        RETURN;
    END IF;
    PERFORM set_config('bridge.ddl_captured', statement, false);
    INSERT INTO bridge.ddl_log (search_path, command_tag, object_identity, query)
    VALUES (coalesce(current_setting('bridge.ddl_search_path', true), ''), tag, identity, q);
END
$$;
REVOKE ALL ON FUNCTION bridge.ddl_capture_record(text, text) FROM PUBLIC;

-- Whether an object is one whose DDL a target should not see.
CREATE OR REPLACE FUNCTION bridge.ddl_capture_ignored(
    schema_name text, object_type text, identity text, is_temporary boolean
) RETURNS boolean
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(
        is_temporary
        OR schema_name = 'bridge'
        OR schema_name LIKE 'pg\_temp%'
        OR schema_name LIKE 'pg\_toast\_temp%'
        OR (object_type = 'schema' AND identity = 'bridge'),
        false)
$$;

-- After each DDL command (DROP included, but a DROP lists its objects only in sql_drop).
CREATE OR REPLACE FUNCTION bridge.ddl_capture_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cmd record;
BEGIN
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF NOT bridge.ddl_capture_ignored(
            cmd.schema_name, cmd.object_type, cmd.object_identity, false
        ) THEN
            PERFORM bridge.ddl_capture_record(cmd.command_tag, cmd.object_identity);
            RETURN;
        END IF;
    END LOOP;
    -- Nothing collected: a no-op (IF [NOT] EXISTS) or a DROP, which sql_drop has handled.
END
$$;

-- Objects dropped by DROP ..., ALTER TABLE ... DROP COLUMN, DROP OWNED and the like.
CREATE OR REPLACE FUNCTION bridge.ddl_capture_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    obj record;
BEGIN
    FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects() WHERE original LOOP
        IF NOT bridge.ddl_capture_ignored(
            obj.schema_name, obj.object_type, obj.object_identity, obj.is_temporary
        ) THEN
            PERFORM bridge.ddl_capture_record(tg_tag, obj.object_identity);
            RETURN;
        END IF;
    END LOOP;
END
$$;

DROP EVENT TRIGGER IF EXISTS bridge_ddl_capture_start;
DROP EVENT TRIGGER IF EXISTS bridge_ddl_capture;
DROP EVENT TRIGGER IF EXISTS bridge_ddl_capture_drop;
CREATE EVENT TRIGGER bridge_ddl_capture_start ON ddl_command_start
    EXECUTE FUNCTION bridge.ddl_capture_start();
CREATE EVENT TRIGGER bridge_ddl_capture ON ddl_command_end
    EXECUTE FUNCTION bridge.ddl_capture_end();
CREATE EVENT TRIGGER bridge_ddl_capture_drop ON sql_drop
    EXECUTE FUNCTION bridge.ddl_capture_drop();

COMMIT;
