--
-- Security: pg_migrate's own objects and settings against ordinary roles.
--
-- The objects are enumerated from the catalog (pg_depend, deptype 'e'), so
-- an object added to the extension later is attacked too.  Two roles try:
-- sec_creator, which owns nothing but has CREATE on the extension's schema,
-- and sec_nobody, which has neither.  Every attempt runs in its own
-- subtransaction and reports PostgreSQL's message, or ALLOWED.
--
\set VERBOSITY terse
CREATE EXTENSION pg_migrate;
CREATE ROLE sec_creator;
CREATE ROLE sec_nobody;
GRANT CREATE ON SCHEMA public TO sec_creator;

CREATE FUNCTION public.sec_try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ALLOWED';
EXCEPTION WHEN OTHERS THEN
    -- the message without the object's name, so that like results group
    RETURN regexp_replace(regexp_replace(SQLERRM,
               '(table|sequence|view|function|procedure|routine|event trigger|relation) "?[a-z_0-9.() ,]*"?$', '\1 ...'),
               'parameter "pg_migrate\.[a-z_]*"', 'parameter "pg_migrate...."');
END $$;

-- Every object of the extension, by kind
CREATE VIEW public.sec_members AS
SELECT d.classid, d.objid,
       CASE WHEN d.classid = 'pg_class'::regclass THEN
                 CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table'
                                WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                                WHEN 'i' THEN 'index' ELSE c.relkind::text END
            WHEN d.classid = 'pg_proc'::regclass THEN 'routine'
            WHEN d.classid = 'pg_event_trigger'::regclass THEN 'event trigger'
            ELSE d.classid::regclass::text END AS kind,
       pg_describe_object(d.classid, d.objid, 0) AS object,
       CASE WHEN d.classid = 'pg_class'::regclass THEN d.objid::regclass::text
            WHEN d.classid = 'pg_proc'::regclass THEN d.objid::regprocedure::text
            WHEN d.classid = 'pg_event_trigger'::regclass THEN
                 (SELECT quote_ident(evtname) FROM pg_event_trigger WHERE oid = d.objid)
       END AS name,
       (SELECT quote_ident(a.attname) FROM pg_attribute a
         WHERE d.classid = 'pg_class'::regclass AND a.attrelid = d.objid AND a.attnum = 1) AS col
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE e.extname = 'pg_migrate' AND d.deptype = 'e'
   -- newer majors make the tables' row types members too
   AND d.classid <> 'pg_type'::regclass;
GRANT SELECT ON public.sec_members TO PUBLIC;
SELECT kind, count(*) FROM public.sec_members GROUP BY kind ORDER BY kind;

-- The attacks, one statement per object and attack
CREATE VIEW public.sec_attacks AS
SELECT m.kind, m.object, a.attack, format(a.stmt, m.name, m.col) AS stmt
  FROM public.sec_members m
  JOIN (VALUES
    ('table', 'INSERT', 'INSERT INTO %s DEFAULT VALUES'),
    ('table', 'UPDATE', 'UPDATE %s SET %2$s = %2$s'),
    ('table', 'DELETE', 'DELETE FROM %s'),
    ('table', 'TRUNCATE', 'TRUNCATE %s'),
    ('table', 'SELECT FOR UPDATE', 'SELECT FROM %s FOR UPDATE'),
    ('table', 'LOCK SHARE', 'LOCK TABLE %s IN SHARE MODE'),
    ('table', 'DISABLE TRIGGER', 'ALTER TABLE %s DISABLE TRIGGER ALL'),
    ('table', 'DISABLE TRIGGER USER', 'ALTER TABLE %s DISABLE TRIGGER USER'),
    ('table', 'REPLICA IDENTITY', 'ALTER TABLE %s REPLICA IDENTITY FULL'),
    ('table', 'ENABLE RLS', 'ALTER TABLE %s ENABLE ROW LEVEL SECURITY'),
    ('table', 'CREATE POLICY', 'CREATE POLICY sec_p ON %s USING (false)'),
    ('table', 'CREATE TRIGGER', 'CREATE TRIGGER sec_t BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION public.sec_trigger()'),
    ('table', 'CREATE RULE', 'CREATE RULE sec_r AS ON INSERT TO %s DO INSTEAD NOTHING'),
    ('table', 'CREATE INDEX', 'CREATE INDEX sec_i ON %s (%s)'),
    ('table', 'INHERITS', 'CREATE TABLE public.sec_child () INHERITS (%s)'),
    ('table', 'REFERENCES', 'CREATE TABLE public.sec_ref (v int REFERENCES %s)'),
    ('table', 'ADD COLUMN', 'ALTER TABLE %s ADD COLUMN sec_c int'),
    ('table', 'OWNER', 'ALTER TABLE %s OWNER TO CURRENT_USER'),
    ('table', 'RENAME', 'ALTER TABLE %s RENAME TO sec_renamed'),
    ('table', 'SET SCHEMA', 'ALTER TABLE %s SET SCHEMA pg_temp'),
    ('table', 'COMMENT', 'COMMENT ON TABLE %s IS ''x'''),
    ('table', 'DROP', 'DROP TABLE %s CASCADE'),
    ('sequence', 'nextval', 'SELECT nextval(''%s'')'),
    ('sequence', 'setval', 'SELECT setval(''%s'', 1)'),
    ('sequence', 'RESTART', 'ALTER SEQUENCE %s RESTART'),
    ('sequence', 'OWNED BY', 'ALTER SEQUENCE %s OWNED BY NONE'),
    ('sequence', 'DROP', 'DROP SEQUENCE %s CASCADE'),
    ('view', 'INSERT', 'INSERT INTO %s DEFAULT VALUES'),
    ('view', 'UPDATE', 'UPDATE %s SET %2$s = %2$s'),
    ('view', 'DELETE', 'DELETE FROM %s'),
    ('view', 'CREATE RULE', 'CREATE RULE sec_r AS ON INSERT TO %s DO INSTEAD NOTHING'),
    ('view', 'CREATE TRIGGER', 'CREATE TRIGGER sec_t INSTEAD OF INSERT ON %s FOR EACH ROW EXECUTE FUNCTION public.sec_trigger()'),
    ('view', 'REPLACE', 'CREATE OR REPLACE VIEW %s AS SELECT 1'),
    ('view', 'OWNER', 'ALTER VIEW %s OWNER TO CURRENT_USER'),
    ('view', 'RESET OPTIONS', 'ALTER VIEW %s RESET (security_barrier)'),
    ('view', 'DROP', 'DROP VIEW %s CASCADE'),
    ('routine', 'RESET search_path', 'ALTER ROUTINE %s RESET search_path'),
    ('routine', 'SECURITY DEFINER', 'ALTER ROUTINE %s SECURITY DEFINER'),
    ('routine', 'OWNER', 'ALTER ROUTINE %s OWNER TO CURRENT_USER'),
    ('routine', 'RENAME', 'ALTER ROUTINE %s RENAME TO sec_renamed'),
    ('routine', 'DROP', 'DROP ROUTINE %s CASCADE'),
    ('event trigger', 'DISABLE', 'ALTER EVENT TRIGGER %s DISABLE'),
    ('event trigger', 'ENABLE REPLICA', 'ALTER EVENT TRIGGER %s ENABLE REPLICA'),
    ('event trigger', 'RENAME', 'ALTER EVENT TRIGGER %s RENAME TO sec_renamed'),
    ('event trigger', 'OWNER', 'ALTER EVENT TRIGGER %s OWNER TO CURRENT_USER'),
    ('event trigger', 'DROP', 'DROP EVENT TRIGGER %s')
  ) AS a(kind, attack, stmt) ON a.kind = m.kind;
GRANT SELECT ON public.sec_attacks TO PUBLIC;
CREATE TABLE public.sec_results (role name, kind text, attack text, object text, result text);
GRANT INSERT ON public.sec_results TO PUBLIC;
CREATE FUNCTION public.sec_trigger() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RETURN NULL; END $$;

-- Which attacks are there at all (so that a kind of object without any is
-- noticed)?
SELECT kind, count(DISTINCT object) AS objects, count(*) AS attacks
  FROM public.sec_attacks GROUP BY kind ORDER BY kind;

SET ROLE sec_creator;
INSERT INTO public.sec_results
SELECT current_user, kind, attack, object, public.sec_try(stmt) FROM public.sec_attacks;
RESET ROLE;
SET ROLE sec_nobody;
INSERT INTO public.sec_results
SELECT current_user, kind, attack, object, public.sec_try(stmt) FROM public.sec_attacks;
RESET ROLE;

-- Nothing was allowed.  Each kind of attack fails the same way on every
-- object (SELECT FOR UPDATE on migrate_policy and the SELECT-only refusal
-- of LOCK on it are PostgreSQL's own rules: everyone may read the policy).
SELECT kind, attack, result, count(*) AS objects, string_agg(DISTINCT role, ', ') AS roles
  FROM public.sec_results
 GROUP BY kind, attack, result
 ORDER BY kind, attack, result;
SELECT count(*) AS allowed FROM public.sec_results WHERE result = 'ALLOWED';

-- And no privilege on any of them leaked to either role
SELECT m.object, r.role
  FROM public.sec_members m, (VALUES ('sec_creator'), ('sec_nobody')) AS r(role)
 WHERE m.kind IN ('table', 'view', 'sequence')
   AND CASE WHEN m.kind = 'sequence' THEN has_sequence_privilege(r.role, m.objid, 'USAGE, UPDATE')
            ELSE has_table_privilege(r.role, m.objid, 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')
       END;

-- The extension itself
SET ROLE sec_creator;
CREATE FUNCTION public.sec_mine() RETURNS int LANGUAGE sql AS 'SELECT 1';
ALTER EXTENSION pg_migrate ADD FUNCTION public.sec_mine();
ALTER EXTENSION pg_migrate DROP TABLE migrate_policy;
ALTER EXTENSION pg_migrate SET SCHEMA pg_temp;
DROP EXTENSION pg_migrate;
DROP FUNCTION public.sec_mine();
RESET ROLE;

--
-- Settings: every pg_migrate.* setting, by every way an ordinary role could
-- set one.  Those a user may set say so here and in the README.
--
SELECT name, context FROM pg_settings WHERE name LIKE 'pg\_migrate.%' ORDER BY name;

-- sec_creator owns this database for a moment, so that ALTER DATABASE is
-- refused for the setting and not for the database.
SELECT current_database() AS dbname \gset
ALTER DATABASE :"dbname" OWNER TO sec_creator;
CREATE FUNCTION public.sec_set_attacks(setting text, value text)
RETURNS TABLE (method text, result text)
LANGUAGE plpgsql AS $$
DECLARE
    m text[];
BEGIN
    FOREACH m SLICE 1 IN ARRAY ARRAY[
        ['SET', format('SET %s = %L', setting, value)],
        ['SET LOCAL', format('SET LOCAL %s = %L', setting, value)],
        ['set_config', format('SELECT set_config(%L, %L, false)', setting, value)],
        ['set_config local', format('SELECT set_config(%L, %L, true)', setting, value)],
        ['RESET', format('RESET %s', setting)],
        ['ALTER ROLE', format('ALTER ROLE CURRENT_USER SET %s = %L', setting, value)],
        ['ALTER ROLE IN DATABASE', format('ALTER ROLE CURRENT_USER IN DATABASE %I SET %s = %L',
                                          current_database(), setting, value)],
        ['ALTER DATABASE', format('ALTER DATABASE %I SET %s = %L', current_database(), setting, value)],
        ['function SET', format('CREATE FUNCTION public.sec_f() RETURNS int LANGUAGE sql SET %s = %L AS ''SELECT 1''',
                                setting, value)]]
    LOOP
        method := m[1];
        result := public.sec_try(m[2]);
        -- RESET and setting the current value change nothing; report
        -- whether the attempt was let through at all
        RETURN NEXT;
    END LOOP;
END $$;
SET ROLE sec_creator;
SELECT s.context, a.method, a.result, count(*) AS settings
  FROM pg_settings s, public.sec_set_attacks(s.name, s.setting) a
 WHERE s.name LIKE 'pg\_migrate.%'
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3;
ALTER SYSTEM SET pg_migrate.enforce = off;
ALTER SYSTEM SET pg_migrate.max_workers = 100;
-- still as configured, for this role and anywhere
SELECT name, setting FROM pg_settings WHERE name LIKE 'pg\_migrate.%' AND name <> 'pg_migrate.default_batch_size'
   AND setting IS DISTINCT FROM reset_val ORDER BY name;
RESET ROLE;
-- (only the user-settable one was stored)
SELECT DISTINCT split_part(c, '=', 1) AS stored
  FROM pg_db_role_setting, unnest(setconfig) AS c
 WHERE c LIKE 'pg\_migrate.%' ORDER BY 1;
ALTER DATABASE :"dbname" OWNER TO CURRENT_USER;
ALTER DATABASE :"dbname" RESET pg_migrate.default_batch_size;
ALTER ROLE sec_creator RESET ALL;
ALTER ROLE sec_creator IN DATABASE :"dbname" RESET ALL;
DROP FUNCTION IF EXISTS public.sec_f();

SET pg_migrate.enforce = off;  -- the extension's history goes with it (drop_table)
DROP EXTENSION pg_migrate;
DROP VIEW public.sec_attacks, public.sec_members;
DROP TABLE public.sec_results;
DROP FUNCTION public.sec_try(text), public.sec_trigger(), public.sec_set_attacks(text, text);
REVOKE CREATE ON SCHEMA public FROM sec_creator;
DROP ROLE sec_creator, sec_nobody;
