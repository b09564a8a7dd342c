-- Managing access: grant_api_access / revoke_api_access, the pluggable administrator check,
-- and verify_security(), which must find each kind of mistake it claims to find.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(78);
\ir ../../fixtures/setup.sql
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-02')$$, 'seal two days');

-- At CREATE EXTENSION the Supabase roles got their default levels; nothing was recorded.
SELECT results_eq(
    $$SELECT role_name::text COLLATE "default", access, source, role_exists FROM metrics.api_roles()$$,
    $$VALUES ('anon', 'read', 'supabase default', true), ('authenticated', 'read', 'supabase default', true),
             ('service_role', 'manage', 'supabase default', true)$$,
    'anon and authenticated read, service_role manages');
SELECT is((SELECT count(*) FROM metrics.api_access), 0::bigint, 'the defaults are not recorded as choices');
SELECT ok(has_function_privilege('anon', 'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE'), 'anon may fetch metrics');
SELECT ok(NOT has_function_privilege('anon', 'metrics.collect_daily_metrics(date)', 'EXECUTE'), 'anon may not collect');
SELECT ok(has_function_privilege('service_role', 'metrics.collect_daily_metrics(date)', 'EXECUTE'), 'service_role may collect');
SELECT ok(NOT has_function_privilege('service_role', 'metrics.grant_api_access(name,text)', 'EXECUTE'), 'service_role may not change access');

-- Bad calls.
CREATE ROLE regress_metrics_web_anon NOLOGIN;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.grant_api_access('regress_metrics_web_anon', 'write')$$, '22023', 'an unknown level is refused');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.grant_api_access('regress_metrics_nobody')$$, '42704', 'a role that does not exist is refused');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.grant_api_access(NULL, 'read')$$, '22004', 'a level without a role is refused');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.grant_api_access(current_user, 'read')$$, '22023', 'the owner''s own access cannot be changed');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.revoke_api_access(NULL)$$, '22004', 'revoking needs a role');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.revoke_api_access('regress_metrics_nobody')$$, '42704', 'revoking from a role that does not exist is refused');
SELECT is((SELECT count(*) FROM metrics.api_access), 0::bigint, 'and nothing was recorded');

-- A plain PostgreSQL role (PostgREST's tutorial calls it web_anon) gets the read level.
SELECT results_eq($$SELECT api_access, privileges, status FROM metrics.grant_api_access('regress_metrics_web_anon')$$,
                  $$VALUES ('read', 67, 'applied')$$, 'read is the default level');
SELECT set_config('role', 'regress_metrics_web_anon', true);
SELECT is((SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-02')), 18::bigint, 'the reader fetches metrics');
SELECT throws_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-03')$$, '42501', NULL, 'but cannot collect');
SELECT throws_ok($$SELECT * FROM metrics.api_access$$, '42501', NULL, 'or read who has access');
SELECT set_config('role', 'none', true);
-- Upgraded to manage, and back down to read: exactly the privileges of the level remain.
SELECT results_eq($$SELECT api_access, status FROM metrics.grant_api_access('regress_metrics_web_anon', 'manage')$$,
                  $$VALUES ('manage', 'applied')$$, 'upgrade to manage');
SELECT ok(has_function_privilege('regress_metrics_web_anon', 'metrics.collect_daily_metrics(date)', 'EXECUTE'), 'a manager may collect');
SELECT set_config('role', 'regress_metrics_web_anon', true);
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 1::bigint, 'a manager is an administrator: it reads the log without a JWT (no BYPASSRLS here)');
SELECT set_config('role', 'none', true);
SELECT lives_ok($$SELECT * FROM metrics.grant_api_access('regress_metrics_web_anon', 'read')$$, 'back to read');
SELECT ok(NOT has_function_privilege('regress_metrics_web_anon', 'metrics.collect_daily_metrics(date)', 'EXECUTE'), 'the manage privileges are gone');
SELECT ok(has_function_privilege('regress_metrics_web_anon', 'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE'), 'the read ones stay');
SELECT results_eq($$SELECT access, granted_by::text COLLATE "default" FROM metrics.api_access WHERE role_name = 'regress_metrics_web_anon'$$,
                  $$VALUES ('read', session_user::text COLLATE "default")$$, 'the choice is recorded with who made it');

-- Revoking is recorded too, so re-applying every level keeps the role out.
SELECT results_eq($$SELECT api_access, status FROM metrics.revoke_api_access('regress_metrics_web_anon')$$,
                  $$VALUES ('none', 'revoked')$$, 'revoke everything');
SELECT ok(NOT has_schema_privilege('regress_metrics_web_anon', 'metrics', 'USAGE'), 'not even the schema is usable');
SELECT ok(NOT has_table_privilege('regress_metrics_web_anon', 'metrics.daily_metrics', 'SELECT'), 'nor the metrics readable');
SELECT results_eq($$SELECT api_role::text COLLATE "default", api_access, status FROM metrics.grant_api_access() WHERE api_role = 'regress_metrics_web_anon'$$,
                  $$VALUES ('regress_metrics_web_anon', 'none', 'applied')$$, 'grant_api_access() re-applies the recorded choice');
SELECT ok(NOT has_schema_privilege('regress_metrics_web_anon', 'metrics', 'USAGE'), 'and the role stays out');
-- A Supabase role can be taken out the same way and put back.
SELECT lives_ok($$SELECT * FROM metrics.revoke_api_access('anon')$$, 'take anon out');
SELECT ok(NOT has_function_privilege('anon', 'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE'), 'anon cannot fetch any more');
SELECT lives_ok($$SELECT * FROM metrics.grant_api_access('anon', 'read')$$, 'put anon back');
SELECT ok(has_function_privilege('anon', 'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE'), 'anon fetches again');

-- Changing access is for the owner, and for the roles it delegates to with GRANT EXECUTE (on
-- Supabase, supabase_admin owns the extension and delegates to postgres). A delegate that owns
-- nothing still changes grants: the functions run as the owner.
CREATE ROLE regress_metrics_delegate NOLOGIN;
SELECT set_config('role', 'regress_metrics_delegate', true);
SELECT throws_ok($$SELECT * FROM metrics.grant_api_access('regress_metrics_delegate', 'manage')$$, '42501', NULL, 'without EXECUTE a role cannot give itself access');
SELECT set_config('role', 'none', true);
GRANT USAGE ON SCHEMA metrics TO regress_metrics_delegate;
GRANT EXECUTE ON FUNCTION metrics.grant_api_access(name, text), metrics.revoke_api_access(name), metrics.set_admin_check(text) TO regress_metrics_delegate;
CREATE ROLE regress_metrics_dashboard NOLOGIN;
SELECT set_config('role', 'regress_metrics_delegate', true);
SELECT results_eq($$SELECT api_access, status FROM metrics.grant_api_access('regress_metrics_dashboard')$$,
                  $$VALUES ('read', 'applied')$$, 'a delegate gives a role the read level');
SELECT set_config('role', 'none', true);
SELECT ok(has_function_privilege('regress_metrics_dashboard', 'metrics.fetch_metrics(date,date,text[],text[],text,text)', 'EXECUTE'), 'and the grant took effect');
SELECT is((SELECT granted_by::text FROM metrics.api_access WHERE role_name = 'regress_metrics_dashboard'), session_user::text, 'recorded with the session user who made it');
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'a delegate is not an API role: nothing to report');
SELECT lives_ok($$SELECT * FROM metrics.revoke_api_access('regress_metrics_dashboard')$$, 'clean up the dashboard role');
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA metrics FROM regress_metrics_delegate;
REVOKE ALL ON SCHEMA metrics FROM regress_metrics_delegate;

-- The administrator check.
CREATE SCHEMA regress_hooks;
GRANT USAGE ON SCHEMA regress_hooks TO anon, authenticated, service_role;
CREATE TABLE regress_hooks.profiles (id uuid PRIMARY KEY, is_admin boolean NOT NULL);
INSERT INTO regress_hooks.profiles VALUES ('00000000-0000-0000-0000-00000000000a', true), ('00000000-0000-0000-0000-00000000000b', false);
-- The seed's rule (profiles.is_admin), as a Supabase project would write it.
CREATE FUNCTION regress_hooks.profile_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce((SELECT p.is_admin FROM regress_hooks.profiles AS p WHERE p.id = auth.uid()), false) $$;
CREATE FUNCTION regress_hooks.not_granted() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
REVOKE EXECUTE ON FUNCTION regress_hooks.not_granted() FROM PUBLIC;
CREATE FUNCTION regress_hooks.returns_text() RETURNS text LANGUAGE sql AS $$ SELECT 'yes' $$;
CREATE FUNCTION regress_hooks.needs_argument(uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION regress_hooks.many() RETURNS SETOF boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE FUNCTION pg_temp.temporary_check() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;

SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.missing()')$$, '42883', 'a function that does not exist is refused');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('profile_is_admin()')$$, '42883', 'an unqualified name is not looked up on the search_path');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.returns_text()')$$, '42804', 'a check must return boolean');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.needs_argument(uuid)')$$, '42809', 'a check takes no arguments');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.many()')$$, '42809', 'a check returns one value');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('pg_temp.temporary_check()')$$, '22023', 'a temporary function is refused');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.not_granted()')$$, '42501', 'the API roles must be able to execute it');
SELECT pg_temp.fails_with($$SELECT metrics.set_admin_check('regress_hooks.(')$$, '42883', 'a malformed name is refused cleanly');
SELECT is((SELECT count(*) FROM metrics.admin_check), 0::bigint, 'and nothing was recorded');
SELECT is(metrics.set_admin_check('regress_hooks.profile_is_admin'), 'regress_hooks.profile_is_admin()', 'a valid check is accepted, with or without parentheses');

SELECT set_config('role', 'authenticated', true);
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000a"}', true);
SELECT ok(metrics.is_admin(), 'a user whose profile says admin is an administrator');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 1::bigint, 'and reads the log');
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000b", "app_metadata": {"role": "admin"}}', true);
SELECT ok(NOT metrics.is_admin(), 'with a check in place, the default claim no longer counts');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 0::bigint, 'and the log stays hidden');
SELECT set_config('role', 'none', true);
SELECT set_config('request.jwt.claims', '', true);

-- A check that disappears fails closed, and verify_security says so.
DROP FUNCTION regress_hooks.profile_is_admin();
SELECT set_config('role', 'authenticated', true);
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-00000000000a"}', true);
SELECT ok(NOT metrics.is_admin(), 'a dropped check makes nobody an administrator');
SELECT set_config('role', 'none', true);
SELECT set_config('request.jwt.claims', '', true);
SELECT results_eq($$SELECT finding, object_name FROM metrics.verify_security()$$,
                  $$VALUES ('admin check unavailable', 'regress_hooks.profile_is_admin()')$$, 'verify_security reports the missing check');
SELECT is(metrics.set_admin_check(NULL), NULL, 'NULL restores the default');
SELECT is((SELECT count(*) FROM metrics.admin_check), 0::bigint, 'which is no row at all');
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'and nothing is found any more');

-- verify_security finds each kind of problem. Each mistake is made in a subtransaction that
-- is rolled back, and the findings it caused are returned.
CREATE FUNCTION pg_temp.findings_after(mistake text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    found text[];
BEGIN
    BEGIN
        EXECUTE mistake;
        SELECT array_agg(v.finding || ': ' || v.object_name ORDER BY 1) INTO found FROM metrics.verify_security() AS v;
        RAISE EXCEPTION USING ERRCODE = 'ZZ001';
    EXCEPTION WHEN SQLSTATE 'ZZ001' THEN
        NULL;
    END;
    RETURN QUERY SELECT unnest(found);
END
$$;

SELECT set_eq($$SELECT pg_temp.findings_after('ALTER TABLE metrics.api_access DISABLE ROW LEVEL SECURITY')$$,
              $$VALUES ('table without row level security: metrics.api_access')$$, 'finds a table without RLS');
SELECT set_eq($$SELECT pg_temp.findings_after('ALTER FUNCTION metrics.collect_daily_metrics(date) RESET search_path')$$,
              $$VALUES ('security definer function without a pinned search_path: metrics.collect_daily_metrics(date)')$$,
              'finds a SECURITY DEFINER function without search_path');
SELECT set_eq($$SELECT pg_temp.findings_after($m$ALTER FUNCTION metrics.collect_daily_metrics(date) SET search_path = ''$m$)$$,
              $$VALUES ('security definer function without a pinned search_path: metrics.collect_daily_metrics(date)')$$,
              'an empty search_path is not pinned either (pg_temp would come first)');
SELECT set_eq($$SELECT pg_temp.findings_after('ALTER FUNCTION metrics.recollect(date, text[], text) SET search_path = public, pg_temp')$$,
              $$VALUES ('security definer function without a pinned search_path: metrics.recollect(date,text[],text)')$$,
              'nor one with a schema users can write to');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT EXECUTE ON FUNCTION metrics.collect_daily_metrics(date) TO anon')$$,
              $$VALUES ('privileged function executable by an API role: metrics.collect_daily_metrics(date)')$$,
              'finds a privileged function granted to anon');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT service_role TO authenticated')$$,
              $$SELECT 'privileged function executable by an API role: ' || to_regprocedure(object_name)::text
                FROM metrics.access_rules() WHERE access = 'manage' AND object_type IN ('function', 'procedure')
                UNION ALL SELECT 'table readable beyond its access level: ' || object_name
                FROM metrics.access_rules() WHERE access = 'manage' AND object_type = 'table'$$,
              'finds privileges inherited through role membership');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT EXECUTE ON FUNCTION metrics.grant_api_access(name, text) TO PUBLIC')$$,
              $$VALUES ('privileged function executable by an API role: metrics.grant_api_access(name,text)')$$,
              'finds an owner function granted to PUBLIC');
SELECT set_eq($$SELECT pg_temp.findings_after('CREATE FUNCTION metrics.sneaky() RETURNS int LANGUAGE sql SECURITY DEFINER AS ''SELECT 1''')$$,
              $$VALUES ('privileged function executable by an API role: metrics.sneaky()'),
                       ('security definer function without a pinned search_path: metrics.sneaky()')$$,
              'a function added to the schema by hand is held to the same rules');
SELECT set_eq($$SELECT pg_temp.findings_after('ALTER FUNCTION metrics.current_metrics(text) VOLATILE')$$,
              $$VALUES ('read function that is not STABLE: metrics.current_metrics(text)')$$, 'finds a read function that PostgREST would not GET');
SELECT set_eq($$SELECT pg_temp.findings_after('CREATE VIEW metrics.latest AS SELECT * FROM metrics.daily_metrics')$$,
              $$VALUES ('view that is not security_invoker: metrics.latest')$$, 'finds a view that reads with its owner''s rights');
SELECT is_empty($$SELECT pg_temp.findings_after('CREATE VIEW metrics.latest WITH (security_invoker = true) AS SELECT * FROM metrics.daily_metrics')$$,
                'a security_invoker view is fine');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT INSERT, DELETE ON metrics.daily_metrics TO authenticated')$$,
              $$VALUES ('table writable by an API role: metrics.daily_metrics')$$, 'finds a table writable by authenticated');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT UPDATE ON metrics.metric_definitions TO service_role')$$,
              $$VALUES ('table writable by an API role: metrics.metric_definitions')$$, 'even by service_role: changes go through functions');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT SELECT ON metrics.api_access TO anon')$$,
              $$VALUES ('table readable beyond its access level: metrics.api_access')$$, 'finds a manager table readable by anon');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT CREATE ON SCHEMA metrics TO PUBLIC')$$,
              $$VALUES ('schema writable by an API role: metrics')$$, 'finds a schema where anyone could plant look-alikes');
SELECT set_eq($$SELECT pg_temp.findings_after('GRANT EXECUTE ON FUNCTION metrics.collect_daily_metrics(date) TO regress_metrics_web_anon')$$,
              $$VALUES ('privileged function executable by an API role: metrics.collect_daily_metrics(date)')$$,
              'roles given a level by the owner are checked too (regress_metrics_web_anon was revoked: level none)');
-- Every kind of finding at once: each row says what is wrong and how to fix it.
CREATE FUNCTION pg_temp.every_kind_of_finding() RETURNS TABLE (kinds bigint, explained boolean) LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        ALTER TABLE metrics.api_access DISABLE ROW LEVEL SECURITY;
        ALTER FUNCTION metrics.collect_daily_metrics(date) RESET search_path;
        GRANT EXECUTE ON FUNCTION metrics.recollect(date, text[], text) TO anon;
        ALTER FUNCTION metrics.current_metrics(text) VOLATILE;
        CREATE VIEW metrics.latest AS SELECT * FROM metrics.daily_metrics;
        GRANT INSERT ON metrics.daily_metrics TO anon;
        GRANT SELECT ON metrics.api_access TO anon;
        GRANT CREATE ON SCHEMA metrics TO PUBLIC;
        INSERT INTO metrics.admin_check (check_function) VALUES ('regress_hooks.gone()');
        SELECT count(DISTINCT v.finding), bool_and(v.detail IS NOT NULL AND v.hint IS NOT NULL)
        INTO kinds, explained FROM metrics.verify_security() AS v;
        RAISE EXCEPTION USING ERRCODE = 'ZZ001';
    EXCEPTION WHEN SQLSTATE 'ZZ001' THEN
        NULL;
    END;
    RETURN NEXT;
END
$$;
SELECT results_eq($$SELECT * FROM pg_temp.every_kind_of_finding()$$, $$VALUES (9::bigint, true)$$,
                  'nine kinds of finding, each with a detail and a hint');
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'and all of it was rolled back');

SELECT * FROM finish();
ROLLBACK;
