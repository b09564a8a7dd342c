-- Hostile input against the whole SQL API.
--
-- Whatever a caller passes, the extension must either refuse it cleanly or, where arbitrary
-- text is legitimate (labels, a correction's reason), store it verbatim and never run it.
-- A clean refusal is an error with an explicit SQLSTATE that PostgREST turns into a 4xx
-- (never XX000, never a class it answers with 5xx), with a hint, and with nothing written.
--
-- Every case runs through pg_temp.outcome: in a subtransaction that is always rolled back,
-- as the role that would make the call (anon for read functions, service_role for manage
-- functions, a delegate of the owner for the owner-level SECURITY DEFINER functions, the
-- owner for apply_api_access), switched to with set_config('role', ...) and with
-- request.jwt.claims set, the way PostgREST does it. The outcome records the SQLSTATE and hint, whether the call changed anything
-- (row counts of the six tables, the definitions, the extension's privileges, the sentinel)
-- and whether any planted function ran. Planted functions bump a sequence, which no
-- rollback undoes, so "it ran and the error hid it" is caught too.
--
-- Groups:
--   1. injection strings in every text argument of every function (enumerated from pg_proc);
--      filters in particular; hostile identifiers that do exist are quoted, not executed
--   2. search_path hijacking of every SECURITY DEFINER function (enumerated from pg_proc)
--   3. oversized input: multi-megabyte text, 100,000-element arrays, odd arrays, extreme
--      dates and integers, huge and deeply nested JWT claims
--   4. malformed JWT claims: never an administrator, never an error
--
-- Tests marked "BUG:" assert the correct behaviour and fail against the current extension.
BEGIN;
SELECT * FROM no_plan();
\ir ../fixtures/setup.sql
SET LOCAL client_min_messages = warning;   -- backfill progress notices are noise here

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN CREATE ROLE authenticated NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN CREATE ROLE service_role NOLOGIN BYPASSRLS; END IF;
END $$;

-- ---------------------------------------------------------------------------------------
-- Fixture: sealed data, a revision, a sentinel an injection would destroy, a table the
-- service role may not read, a role with an explicit access level, a delegate of the owner
-- level, an administrator check to plug in.
-- ---------------------------------------------------------------------------------------
CREATE TABLE regress_src.sentinel (id integer PRIMARY KEY, note text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO regress_src.sentinel
SELECT g, 'sentinel row ' || g, timestamptz '2025-06-01 00:00+00' + g * interval '1 hour' FROM generate_series(1, 10) AS g;

CREATE SCHEMA regress_vault;
CREATE TABLE regress_vault.secret (id integer, secret text);
INSERT INTO regress_vault.secret VALUES (1, 'the service role must never read this');

-- On Supabase the API roles can read the application's tables; define_metric checks that.
GRANT USAGE ON SCHEMA regress_src TO service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_src TO service_role;

SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
-- tracks_uploaded stays inactive and unsealed: activate_metric and install_preset have work to do.
SELECT lives_ok($$SELECT metrics.deactivate_metric('tracks_uploaded')$$, 'deactivate one metric');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-03')$$, 'seal three days');
DELETE FROM regress_src.posts WHERE id = (SELECT min(id) FROM regress_src.posts WHERE created_at < '2025-06-01');
SELECT lives_ok($$SELECT * FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], 'setup revision')$$, 'record a revision');
-- Another deletion, so every recollect below has a changed value to revise.
DELETE FROM regress_src.posts WHERE id = (SELECT min(id) FROM regress_src.posts WHERE created_at < '2025-06-01');
CREATE ROLE regress_hostile_reader NOLOGIN;
SELECT lives_ok($$SELECT * FROM metrics.grant_api_access('regress_hostile_reader', 'read')$$, 'an explicit read level for a plain role');
-- The owner level is delegated the way Supabase does it (supabase_admin owns, postgres
-- administers): a plain role with EXECUTE on the owner-level SECURITY DEFINER functions.
CREATE ROLE regress_hostile_delegate NOLOGIN;
GRANT USAGE ON SCHEMA metrics TO regress_hostile_delegate;
GRANT EXECUTE ON FUNCTION metrics.grant_api_access(name, text), metrics.revoke_api_access(name), metrics.set_admin_check(text)
    TO regress_hostile_delegate;
-- An administrator check to plug in (the default rule, through the hook).
CREATE SCHEMA regress_hooks;
CREATE FUNCTION regress_hooks.claims_admin() RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT coalesce(auth.jwt() -> 'app_metadata' ->> 'role' = 'admin', false) $$;
GRANT USAGE ON SCHEMA regress_hooks TO anon, authenticated, service_role, regress_hostile_reader;

-- ---------------------------------------------------------------------------------------
-- Evidence. Everything planted below calls regress_evil.note(), which bumps a sequence
-- (not undone by any rollback) and logs what ran, as whom.
-- ---------------------------------------------------------------------------------------
CREATE SCHEMA regress_evil;
GRANT USAGE ON SCHEMA regress_evil TO PUBLIC;
CREATE SEQUENCE regress_evil.ran_seq;
GRANT ALL ON SEQUENCE regress_evil.ran_seq TO PUBLIC;
CREATE TABLE regress_evil.ran (what text, by_role text);
GRANT ALL ON regress_evil.ran TO PUBLIC;
CREATE FUNCTION regress_evil.note(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.nextval('regress_evil.ran_seq'::pg_catalog.regclass);
    INSERT INTO regress_evil.ran (what, by_role) VALUES (what, current_user);
    RETURN true;
END $$;
CREATE FUNCTION regress_evil.note_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress_evil.note(pg_catalog.concat_ws(' ', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME));
    RETURN NULL;
END $$;

-- How often planted code ran so far.
CREATE FUNCTION pg_temp.evidence() RETURNS bigint LANGUAGE sql AS $$
    SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM regress_evil.ran_seq
$$;

-- What a call may change: the row counts of the six tables, the definitions' content, the
-- privileges on the extension's objects, and the sentinel.
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
    SELECT pg_catalog.concat_ws(' ',
        (SELECT count(*) FROM metrics.daily_metrics),
        (SELECT count(*) FROM metrics.metric_definitions),
        (SELECT count(*) FROM metrics.metric_collection_log),
        (SELECT count(*) FROM metrics.metric_revisions),
        (SELECT count(*) FROM metrics.api_access),
        (SELECT count(*) FROM metrics.admin_check),
        (SELECT md5(string_agg(d::text, '|' ORDER BY d.metric_category)) FROM metrics.metric_definitions AS d),
        (SELECT md5(string_agg(c.relname || coalesce(c.relacl::text, ''), '|' ORDER BY c.relname))
         FROM pg_catalog.pg_class AS c WHERE c.relnamespace = 'metrics'::regnamespace),
        (SELECT md5(string_agg(p.oid::regprocedure::text || coalesce(p.proacl::text, ''), '|' ORDER BY p.oid))
         FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'metrics'::regnamespace),
        (SELECT md5(string_agg(s::text, '|' ORDER BY s.id)) FROM regress_src.sentinel AS s))
$$;

-- Runs one call and describes what happened, as jsonb:
--   result (first column of the first row), or sqlstate, message, hint;
--   written (did anything of fingerprint() change), check (check_sql, run as the owner
--   after a successful call), ran (how often planted code ran), slow (over 4.5 s).
-- prepare runs as the owner before the call; the search path is `path` during the call
-- only. Always rolled back.
CREATE FUNCTION pg_temp.outcome(api_role text, claims text, path text, statement text,
                                check_sql text DEFAULT NULL, prepare text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    home    text := pg_catalog.current_setting('search_path');
    before  text := pg_temp.fingerprint();
    ran     bigint := pg_temp.evidence();
    started timestamptz := pg_catalog.clock_timestamp();
    result  text;
    checked text;
    after   text;
    state   text;
    msg     text;
    hnt     text;
    res     jsonb;
BEGIN
    BEGIN
        IF prepare IS NOT NULL THEN
            EXECUTE prepare;
            before := pg_temp.fingerprint();
        END IF;
        PERFORM pg_catalog.set_config('request.jwt.claims', coalesce(claims, ''), true),
                pg_catalog.set_config('role', api_role, true),
                pg_catalog.set_config('search_path', path, true);
        EXECUTE statement INTO result;
        -- Nothing but this may run on the caller's (possibly hijacked) search path.
        PERFORM pg_catalog.set_config('search_path', home, true),
                pg_catalog.set_config('role', 'none', true);
        after := pg_temp.fingerprint();
        IF check_sql IS NOT NULL THEN
            EXECUTE check_sql INTO checked;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'ZZ001',
            MESSAGE = jsonb_build_object('result', result, 'written', after <> before, 'check', checked)::text;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hnt = PG_EXCEPTION_HINT;
        IF state = 'ZZ001' THEN
            res := msg::jsonb;
        ELSE
            res := jsonb_build_object('sqlstate', state, 'message', left(msg, 300), 'hint', nullif(hnt, ''),
                                      'written', pg_temp.fingerprint() <> before);
        END IF;
    END;
    RETURN res || jsonb_build_object('ran', pg_temp.evidence() - ran,
                                     'slow', pg_catalog.clock_timestamp() - started > interval '4.5 s');
END
$$;

-- SQLSTATEs a client may see: explicit, and answered by PostgREST with a 4xx. PostgREST
-- 12 answers 08, 09, 25, 2D, 38, 39, 3B, 40, 53, 55, 57, 58, F0, HV, P0 (but P0001) and XX
-- with a 5xx.
CREATE FUNCTION pg_temp.client_error(state text) RETURNS boolean LANGUAGE sql AS $$
    SELECT state IS NOT NULL
       AND (state = 'P0001' OR left(state, 2) <> ALL (ARRAY['08', '09', '25', '2D', '38', '39', '3B', '40', '53', '55', '57', '58', 'F0', 'HV', 'P0', 'XX']))
$$;

-- Asserts an outcome: 'refused' (a client error with a hint, nothing written), 'stored'
-- (succeeded and check_sql said true), 'accepted' (succeeded, nothing written); in every
-- case no planted code ran and, for inputs that would sleep, it was not slow.
CREATE FUNCTION pg_temp.expect(o jsonb, mode text, description text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    good boolean;
BEGIN
    good := CASE mode
        WHEN 'refused' THEN pg_temp.client_error(o->>'sqlstate') AND o->>'hint' IS NOT NULL AND NOT (o->>'written')::boolean
        WHEN 'stored' THEN o->>'sqlstate' IS NULL AND o->>'check' = 'true'
        WHEN 'accepted' THEN o->>'sqlstate' IS NULL AND NOT (o->>'written')::boolean
    END AND (o->>'ran')::bigint = 0 AND NOT (o->>'slow')::boolean;
    IF good THEN
        RETURN ok(true, description);
    END IF;
    RETURN ok(false, description) || E'\n# expected ' || mode || ', got ' || left(o::text, 600);
END
$$;

-- pgTAP keeps its bookkeeping in temporary tables; the roles under test must be able to write them.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

-- The role that would call a function, by its access level: anon for read, service_role
-- for manage, the delegate for the owner level it may be delegated (SECURITY DEFINER), the
-- owner for the rest (apply_api_access).
CREATE FUNCTION pg_temp.caller_of(fn text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN r.access = 'read' THEN 'anon'
                WHEN r.access = 'manage' THEN 'service_role'
                WHEN p.prosecdef THEN 'regress_hostile_delegate'
                ELSE session_user::text END
    FROM metrics.access_rules() AS r
    JOIN pg_catalog.pg_proc AS p ON p.oid = to_regprocedure(r.object_name)
    WHERE r.object_type IN ('function', 'procedure') AND p.oid = to_regprocedure(fn)
$$;
CREATE FUNCTION pg_temp.claims_of(api_role text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN api_role IN ('anon', 'service_role') THEN jsonb_build_object('role', api_role)::text END
$$;

-- Collects a day as the owner and returns the sealed values of the categories LIKE pattern
-- (a separate statement, so it sees what the collection wrote).
CREATE FUNCTION pg_temp.collected(day date, pattern text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM metrics.collect_daily_metrics(day);
    RETURN (SELECT string_agg(d.metric_category || '=' || d.value, ',' ORDER BY d.metric_category)
            FROM metrics.daily_metrics AS d WHERE d.metric_date = day AND d.metric_category LIKE pattern);
END
$$;

SELECT is(pg_temp.evidence(), 0::bigint, 'nothing planted has run yet');

-- =======================================================================================
-- 1. Injection strings in every text argument of every function.
--
-- Every identifier-like argument (categories, kinds, schema, table and column names,
-- filters, presets, aggregations, types, schedules, role names, access levels, check
-- functions) must refuse each string cleanly. Free text (display_name, description, unit,
-- format_pattern, reason) must be stored exactly as given, up to its documented length,
-- and refused cleanly beyond it. (The extension trims surrounding whitespace from free
-- text, so no string here starts or ends with any.) Some strings call regress_evil.note(),
-- so running them at any point would leave evidence.
-- =======================================================================================
CREATE TEMP TABLE hostile (position serial, label text, val text);
INSERT INTO hostile (label, val) VALUES
    ('quote and DROP',          $v$x'; DROP TABLE regress_src.sentinel; --$v$),
    ('double quote and DROP',   $v$x"; DROP TABLE regress_src.sentinel; --$v$),
    ('dollar quotes and DROP',  $v$$$; DROP TABLE regress_src.sentinel; $$$v$),
    ('dollar-quoted call',      $v$$$||regress_evil.note('dollar')||$$$v$),
    ('OR 1=1 comment',          $v$) OR 1=1 --$v$),
    ('second statement',        $v$posts; DELETE FROM regress_src.sentinel$v$),
    ('statement calling note',  $v$x; SELECT regress_evil.note('statement')$v$),
    ('sleep call',              $v$pg_catalog.pg_sleep(5)$v$),
    ('concatenated call',       $v$'||regress_evil.note('concat')||'$v$),
    ('identifier-quoted call',  $v$"||regress_evil.note('ident')||"$v$),
    ('parenthesis escape',      $v$) OR regress_evil.note('paren') OR ($v$),
    ('comment escape',          $v$*/ regress_evil.note('comment') /*$v$),
    ('backslash quote',         $v$\' OR regress_evil.note('backslash') --$v$),
    ('format specifiers',       $v$%s%I%L%1$s{}{0}%%$v$),
    ('dotted name',             'regress_src.posts'),
    ('another table',           'regress_src.sentinel'),
    ('spaces',                  'posts created'),
    ('upper case',              'Posts'),
    ('unicode',                 E'p\u00f6sts_\u00fcn\u00ef_\u65e5\u672c_\U0001F389\u202e\u200b_end'),
    ('control characters',      E'a\tb\nc\rd\x01e\x1bf\x7fg'),
    ('JSON',                    '{"app_metadata": {"role": "admin"}}'),
    ('lone semicolon',          ';'),
    ('10,000 characters',       repeat('x', 10000)),
    ('10,000 quotes',           repeat('''', 10000));

-- One row per text argument: a call with every other argument valid, the argument's
-- value as %1$s (an SQL literal), and for free text the check that it was stored verbatim.
CREATE TEMP TABLE arg_cases (fn text, arg text, template text, free_text boolean DEFAULT false,
                             max_len integer, check_template text, refuse_control boolean DEFAULT false);
INSERT INTO arg_cases (fn, arg, template) VALUES
    ('metrics.fetch_metrics(date,date,text[],text[],text)', 'categories',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', categories => ARRAY['posts_total', %1$s])$$),
    ('metrics.fetch_metrics(date,date,text[],text[],text)', 'types',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', types => ARRAY['count', %1$s])$$),
    ('metrics.fetch_metrics(date,date,text[],text[],text)', 'aggregation',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', aggregation => %1$s)$$),
    ('metrics.activity_series(integer,text[])', 'categories',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY['posts_total', %1$s])$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'category',
     $$SELECT metric_category FROM metrics.define_metric(%1$s, 'created', source_table => 'posts', source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'kind',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', %1$s, source_table => 'posts', source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'source_table',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'created', source_table => %1$s, source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'value_column',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'distinct', source_table => 'posts', value_column => %1$s, source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'time_column',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'created', source_table => 'posts', time_column => %1$s, source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'filter',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'created', source_table => 'posts', filter => %1$s, source_schema => 'regress_src')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'numerator',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'percentage', numerator => %1$s, denominator => 'posts_total')$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'denominator',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'percentage', numerator => 'posts_created', denominator => %1$s)$$),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'source_schema',
     $$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'created', source_table => 'posts', source_schema => %1$s)$$),
    ('metrics.activate_metric(text)', 'category', $$SELECT metrics.activate_metric(%1$s)::text$$),
    ('metrics.deactivate_metric(text)', 'category', $$SELECT metrics.deactivate_metric(%1$s)::text$$),
    ('metrics.install_preset(text,text)', 'preset', $$SELECT count(*)::text FROM metrics.install_preset(%1$s, 'regress_src')$$),
    ('metrics.install_preset(text,text)', 'source_schema', $$SELECT count(*)::text FROM metrics.install_preset('social', %1$s)$$),
    ('metrics.recollect(date,text[],text)', 'categories',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY['posts_total', %1$s], 'hostile categories')$$),
    ('metrics.schedule_daily_collection(text)', 'schedule', $$SELECT metrics.schedule_daily_collection(%1$s)::text$$),
    ('metrics.grant_api_access(name,text)', 'role_name', $$SELECT status FROM metrics.grant_api_access(%1$s, 'read')$$),
    ('metrics.grant_api_access(name,text)', 'access', $$SELECT status FROM metrics.grant_api_access('regress_hostile_reader', %1$s)$$),
    ('metrics.revoke_api_access(name)', 'role_name', $$SELECT status FROM metrics.revoke_api_access(%1$s)$$),
    ('metrics.set_admin_check(text)', 'check_function', $$SELECT coalesce(metrics.set_admin_check(%1$s), 'default')$$),
    -- BUG: a role that does not exist reaches GRANT ... TO %I, which fails with 42704 and no hint.
    ('metrics.apply_api_access(name,text)', 'role_name', $$SELECT metrics.apply_api_access(%1$s, 'read')::text$$),
    -- BUG: an unknown level is not refused: array_position() gives NULL, every privilege of
    -- the role is revoked, and the call returns 0 (the fingerprint sees the changed ACLs).
    ('metrics.apply_api_access(name,text)', 'access', $$SELECT metrics.apply_api_access('regress_hostile_reader', %1$s)::text$$);
-- Free text: stored verbatim up to its limit (labels 1,000 characters, reasons 2,000).
INSERT INTO arg_cases (fn, arg, template, free_text, max_len, check_template)
SELECT 'metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', label,
       format($$SELECT metric_category FROM metrics.define_metric('hostile_probe', 'created', source_table => 'posts', source_schema => 'regress_src', %s => %%1$s)$$, label),
       true, 1000,
       format($$SELECT (%I = %%1$s)::text FROM metrics.metric_definitions WHERE metric_category = 'hostile_probe'$$, label)
FROM unnest(ARRAY['display_name', 'description', 'unit', 'format_pattern']) AS label;
INSERT INTO arg_cases (fn, arg, template, free_text, max_len, check_template) VALUES
    ('metrics.recollect(date,text[],text)', 'reason',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], %1$s)$$, true, 2000,
     $$SELECT EXISTS (SELECT FROM metrics.metric_revisions WHERE reason = %1$s)::text$$);

-- Route and operation names are free text too (any printable text up to 1,024 bytes, stored
-- as given), but control characters are refused: they would forge lines in logs and reports.
INSERT INTO arg_cases (fn, arg, template, free_text, max_len, check_template, refuse_control) VALUES
    ('metrics.record_route_metric(text,text,boolean,double precision)', 'route',
     $$SELECT metrics.record_route_metric(%1$s, 'GET', true, 5)::text$$, true, 1024,
     $$SELECT EXISTS (SELECT FROM metrics.route_metrics WHERE route = %1$s AND method = 'GET')::text$$, true),
    ('metrics.record_operation_metric(text,boolean,double precision)', 'operation',
     $$SELECT metrics.record_operation_metric(%1$s, true, 5)::text$$, true, 1024,
     $$SELECT EXISTS (SELECT FROM metrics.operation_metrics WHERE operation = %1$s)::text$$, true),
    ('metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)', 'route',
     $$SELECT count(*)::text FROM metrics.get_route_metrics(route => %1$s)$$, true, 1024, NULL, true),
    ('metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean)', 'operation',
     $$SELECT count(*)::text FROM metrics.get_operation_metrics(operation => %1$s)$$, true, 1024, NULL, true);
-- Methods and grains are one of a few words: every hostile string is refused.
INSERT INTO arg_cases (fn, arg, template) VALUES
    ('metrics.record_route_metric(text,text,boolean,double precision)', 'method',
     $$SELECT metrics.record_route_metric('/hostile', %1$s, true, 5)::text$$),
    ('metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)', 'method',
     $$SELECT count(*)::text FROM metrics.get_route_metrics(method => %1$s)$$),
    ('metrics.get_route_metrics(text,text,timestamp with time zone,timestamp with time zone,text,boolean)', 'grain',
     $$SELECT count(*)::text FROM metrics.get_route_metrics(grain => %1$s)$$),
    ('metrics.get_operation_metrics(text,timestamp with time zone,timestamp with time zone,text,boolean)', 'grain',
     $$SELECT count(*)::text FROM metrics.get_operation_metrics(grain => %1$s)$$);

-- Every text, text[] or name argument of every function and procedure must be listed above:
-- a new function or argument fails this test until it is covered.
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text, p.proargnames[a.n]
      FROM pg_catalog.pg_proc AS p
      CROSS JOIN LATERAL unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                                coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs::integer]))) WITH ORDINALITY AS a(typ, mode, n)
      JOIN pg_catalog.pg_type AS t ON t.oid = a.typ
      LEFT JOIN pg_catalog.pg_type AS e ON e.oid = t.typelem AND t.typcategory = 'A'
      WHERE p.pronamespace = 'metrics'::regnamespace AND a.mode IN ('i', 'b', 'v')
        AND (t.typcategory = 'S' OR e.typcategory = 'S')$$,
    $$SELECT to_regprocedure(fn)::text, arg FROM arg_cases$$,
    'the hostile strings reach every text argument of every function');

SELECT pg_temp.expect(
           pg_temp.outcome(pg_temp.caller_of(c.fn), pg_temp.claims_of(pg_temp.caller_of(c.fn)), 'public',
                           format(c.template, quote_literal(h.val)), format(c.check_template, quote_literal(h.val))),
           CASE WHEN NOT c.free_text THEN 'refused'
                WHEN c.refuse_control AND h.val ~ '[[:cntrl:]]' THEN 'refused'
                WHEN c.max_len IS NOT NULL AND char_length(h.val) > c.max_len THEN 'refused'
                WHEN c.check_template IS NULL THEN 'accepted'
                ELSE 'stored' END,
           format('%s %s: %s is %s', split_part(c.fn, '(', 1), c.arg, h.label,
                  CASE WHEN NOT c.free_text OR char_length(h.val) > coalesce(c.max_len, 2147483647)
                            OR (c.refuse_control AND h.val ~ '[[:cntrl:]]') THEN 'refused'
                       ELSE 'stored verbatim, never run' END))
FROM arg_cases AS c CROSS JOIN hostile AS h
ORDER BY c.fn, c.arg, h.position;

-- ---------------------------------------------------------------------------------------
-- 1b. Filters. PostgreSQL's parser decides what a filter is; the filter may read only the
-- row in front of it: no second statement, no subquery, no other relation, no volatile or
-- user-defined function, nothing that reads server state or other tables.
-- ---------------------------------------------------------------------------------------
CREATE DOMAIN regress_evil.checked_text AS text CHECK (regress_evil.note('domain check'));
CREATE TEMP TABLE filter_cases (position serial, label text, filter text, expected text);
INSERT INTO filter_cases (label, filter, expected) VALUES
    ('subquery in a parenthesis trick',    $f$true) OR (SELECT pg_sleep(1)) IS NULL OR (true$f$, '0A000'),
    ('second statement',                   $f$1=1; DROP TABLE regress_src.sentinel$f$, '42601'),
    ('IN subquery on another table',       $f$id IN (SELECT id FROM regress_src.sentinel)$f$, '0A000'),
    ('EXISTS',                             $f$EXISTS (SELECT 1)$f$, '0A000'),
    ('volatile sleep',                     $f$pg_catalog.pg_sleep(1) IS NULL$f$, '0A000'),
    ('volatile random',                    $f$random() < 0.5$f$, '0A000'),
    ('volatile nextval',                   $f$nextval('regress_evil.ran_seq') > 0$f$, '0A000'),
    ('user-defined function',              $f$regress_evil.note('filter')$f$, '0A000'),
    ('user-defined function in a string',  $f$status = 'x' OR regress_evil.note(status)$f$, '0A000'),
    ('cast to a domain with a check',      $f$status::regress_evil.checked_text IS NOT NULL$f$, '0A000'),
    ('query_to_xml runs a query',          $f$query_to_xml('SELECT regress_evil.note(''xml'')', true, false, '') IS NOT NULL$f$, '0A000'),
    -- BUG: table_to_xml and database_to_xml are STABLE built-ins, so they pass the function
    -- check, but they read other tables (every table, for database_to_xml), at collection time
    -- with the source owner's rights: a manage-level role learns, through the counts, the
    -- contents of tables it cannot read (regress_vault.secret here).
    ('table_to_xml reads another table',   $f$length(table_to_xml('regress_vault.secret'::regclass, true, false, '')::text) > 0$f$, '0A000'),
    ('database_to_xml reads every table',  $f$strpos(database_to_xml(true, false, '')::text, 'must never') > 0$f$, '0A000'),
    -- BUG: current_setting is a STABLE built-in; evaluated as the source owner it reads
    -- settings the definer may not read (data_directory here) and sealed values depend on it.
    ('current_setting',                    $f$current_setting('data_directory') LIKE '/%'$f$, '0A000'),
    ('column of another table',            $f$regress_src.sentinel.id > 0$f$, '0A000'),
    ('bare other relation',                $f$sentinel.id > 0$f$, '0A000'),
    ('aggregate',                          $f$count(*) > 0$f$, '0A000'),
    ('window function',                    $f$row_number() OVER () > 0$f$, '0A000'),
    ('set-returning function',             $f$generate_series(1, 2) > 0$f$, '0A000'),
    ('parameter',                          $f$$1 = 'x'$f$, NULL),
    ('UNION through a parenthesis',        $f$true) UNION SELECT 1 FROM regress_src.sentinel WHERE (true$f$, '42601'),
    ('ORDER BY through a parenthesis',     $f$true) ORDER BY (1$f$, '42601'),
    ('GROUP BY through a parenthesis',     $f$true) GROUP BY 1 HAVING (true$f$, '42601'),
    ('LIMIT through a parenthesis',        $f$true) LIMIT (1$f$, '42601'),
    ('line comment swallowing the rest',   $f$true) FOR UPDATE --$f$, '42601'),
    ('unterminated block comment',         $f$true /*$f$, '42601'),
    ('block comment around a subquery',    $f$true */ OR (SELECT 1) = 1 /*$f$, '42601'),
    ('not boolean',                        $f$status$f$, '42804'),
    ('unknown column',                     $f$no_such_column = 1$f$, '42703'),
    ('too long',                           'true AND ' || repeat('true AND ', 500) || 'true', '22001');

SELECT pg_temp.expect(
           pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), 'public',
                           format($$SELECT filter FROM metrics.define_metric('hostile_filter', 'created', source_table => 'posts',
                                                                            source_schema => 'regress_src', filter => %L)$$, f.filter)),
           'refused', format('filter %s is refused', f.label))
FROM filter_cases AS f ORDER BY f.position;
SELECT is(pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), 'public',
                          format($$SELECT filter FROM metrics.define_metric('hostile_filter', 'created', source_table => 'posts',
                                                                           source_schema => 'regress_src', filter => %L)$$, f.filter))->>'sqlstate',
          f.expected, format('filter %s is refused with %s', f.label, f.expected))
FROM filter_cases AS f WHERE f.expected IS NOT NULL ORDER BY f.position;

-- Filters whose text looks like an attack but is one harmless expression: accepted,
-- stored in PostgreSQL's deparsed form, and collected with the value a direct count gives.
CREATE TEMP TABLE harmless_filters (position serial, label text, filter text, expected_count bigint);
INSERT INTO harmless_filters (label, filter, expected_count) VALUES
    ('DROP inside a string literal',  $f$status = '''; DROP TABLE regress_src.sentinel; --'$f$, 0),
    ('dollar-quoted string',          $f$status <> $$x'); DELETE FROM regress_src.sentinel; --$$$f$,
     (SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-06-10' AND created_at < '2025-06-11')),
    ('comment in the middle',         $f$status = 'published' /* ) OR (SELECT 1) = (1 */$f$,
     (SELECT count(*) FROM regress_src.posts WHERE status = 'published' AND created_at >= '2025-06-10' AND created_at < '2025-06-11')),
    ('NULL',                          'NULL', 0),
    ('parenthesis trick',             'false) OR (true',
     (SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-06-10' AND created_at < '2025-06-11'));
SELECT is(pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), 'public',
                          format($$SELECT metric_category FROM metrics.define_metric('harmless_filter', 'created', source_table => 'posts',
                                                                                    source_schema => 'regress_src', filter => %L)$$, f.filter),
                          $$SELECT pg_temp.collected('2025-06-10', 'harmless_filter')$$),
          jsonb_build_object('result', 'harmless_filter', 'written', true, 'check', 'harmless_filter=' || f.expected_count, 'ran', 0, 'slow', false),
          format('filter %s is one expression, collected correctly', f.label))
FROM harmless_filters AS f ORDER BY f.position;

-- ---------------------------------------------------------------------------------------
-- 1c. Hostile identifiers that do exist: a schema, table and columns whose names are made
-- of quotes, a DROP, dots, spaces and unicode. They are taken literally and quoted, so the
-- metrics work and count what a direct query counts; nothing is executed.
-- ---------------------------------------------------------------------------------------
CREATE SCHEMA "regress ""odd""; schema.ü";
CREATE TABLE "regress ""odd""; schema.ü"."x'; DROP TABLE regress_src.sentinel; --" AS
SELECT id, user_id AS "us""er'; id", status AS "st'atus $$ ) OR (true", created_at AS "created at.ü 🎉"
FROM regress_src.posts;
GRANT USAGE ON SCHEMA "regress ""odd""; schema.ü" TO service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA "regress ""odd""; schema.ü" TO service_role;

SELECT is(pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), 'public',
              $odd$SELECT string_agg(format('%s|%s', source, filter), ';' ORDER BY metric_category) FROM (
                    SELECT * FROM metrics.define_metric('odd_created', 'created', source_schema => 'regress "odd"; schema.ü',
                        source_table => 'x''; DROP TABLE regress_src.sentinel; --', time_column => 'created at.ü 🎉',
                        filter => '"st''atus $$ ) OR (true" = ''published''')
                    UNION ALL
                    SELECT * FROM metrics.define_metric('odd_distinct', 'distinct', source_schema => 'regress "odd"; schema.ü',
                        source_table => 'x''; DROP TABLE regress_src.sentinel; --', time_column => 'created at.ü 🎉',
                        value_column => 'us"er''; id')
                    UNION ALL
                    SELECT * FROM metrics.define_metric('odd_breakdown', 'breakdown', source_schema => 'regress "odd"; schema.ü',
                        source_table => 'x''; DROP TABLE regress_src.sentinel; --', time_column => 'created at.ü 🎉',
                        value_column => 'st''atus $$ ) OR (true')) AS d$odd$,
              $$SELECT pg_temp.collected('2025-06-10', 'odd\_%')$$),
          jsonb_build_object(
              'result', '"regress ""odd""; schema.ü"."x''; DROP TABLE regress_src.sentinel; --" by "created at.ü 🎉"|;'
                        || '"regress ""odd""; schema.ü"."x''; DROP TABLE regress_src.sentinel; --" by "created at.ü 🎉"|("st''atus $$ ) OR (true" = ''published''::text);'
                        || '"regress ""odd""; schema.ü"."x''; DROP TABLE regress_src.sentinel; --" by "created at.ü 🎉"|',
              'written', true,
              'check', (SELECT format('odd_breakdown=%s,odd_created=%s,odd_distinct=%s',
                                      count(DISTINCT status), count(*) FILTER (WHERE status = 'published'), count(DISTINCT user_id))
                        FROM regress_src.posts WHERE created_at >= '2025-06-10' AND created_at < '2025-06-11'),
              'ran', 0, 'slow', false),
          
'identifiers made of quotes, a DROP, dots, spaces and unicode are quoted, never executed, and count correctly');

-- =======================================================================================
-- 2. search_path hijacking of every SECURITY DEFINER function.
--
-- A caller controls its own search_path. Look-alikes of what the extension's code might
-- call without a schema (functions, aggregates, operators of pg_catalog; its own tables)
-- are planted in a schema placed first on the path, in public, and in pg_temp. Each one
-- logs that it ran and returns a wrong value. Every SECURITY DEFINER function is called as
-- service_role with a hijacked path and without, and must give the same outcome, with
-- nothing planted having run. (The owner-level functions are called as the role the owner
-- delegates them to; service_role may not call them at all.)
-- =======================================================================================
DO $$
DECLARE
    f record;
BEGIN
    -- Scalar functions: name, arguments, result type, the wrong value they return.
    FOR f IN SELECT * FROM (VALUES
        ('now', '', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('clock_timestamp', '', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('statement_timestamp', '', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('transaction_timestamp', '', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('current_setting', 'text', 'text', $r$'hijacked'$r$),
        ('current_setting', 'text, boolean', 'text', $r$'hijacked'$r$),
        ('format', 'text', 'text', $r$'hijacked'$r$),
        ('format', 'text, text', 'text', $r$'hijacked'$r$),
        ('format', 'text, text, text', 'text', $r$'hijacked'$r$),
        ('lower', 'text', 'text', $r$'hijacked'$r$),
        ('upper', 'text', 'text', $r$'hijacked'$r$),
        ('btrim', 'text', 'text', $r$'hijacked'$r$),
        ('length', 'text', 'integer', '-1'),
        ('substr', 'text, integer', 'text', $r$'hijacked'$r$),
        ('quote_ident', 'text', 'text', $r$'hijacked'$r$),
        ('quote_literal', 'text', 'text', $r$'hijacked'$r$),
        ('string_to_array', 'text, text', 'text[]', $r$'{hijacked}'$r$),
        ('array_position', 'text[], text', 'integer', '1'),
        ('round', 'numeric', 'numeric', '-1'),
        ('round', 'numeric, integer', 'numeric', '-1'),
        ('date_trunc', 'text, timestamptz', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('timezone', 'text, timestamptz', 'timestamp', $r$'2000-01-01 00:00'$r$),
        ('timezone', 'text, timestamp', 'timestamptz', $r$'2000-01-01 00:00+00'$r$),
        ('gen_random_uuid', '', 'uuid', $r$'00000000-0000-0000-0000-000000000000'$r$),
        ('has_table_privilege', 'oid, oid, text', 'boolean', 'true'),
        ('has_table_privilege', 'text, text', 'boolean', 'true'),
        ('has_function_privilege', 'text, text', 'boolean', 'true'),
        ('has_function_privilege', 'text, oid, text', 'boolean', 'true'),
        ('has_schema_privilege', 'text, text', 'boolean', 'true'),
        ('pg_has_role', 'name, name, text', 'boolean', 'true'),
        ('to_regclass', 'text', 'regclass', $r$'pg_catalog.pg_class'$r$),
        ('to_regprocedure', 'text', 'regprocedure', 'NULL'),
        ('jsonb_build_object', 'text, text', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('jsonb_build_object', 'text, numeric', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('jsonb_build_object', 'text, numeric, text, numeric', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('jsonb_build_object', 'text, bigint, text, numeric', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('to_jsonb', 'text', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('jsonb_typeof', 'jsonb', 'text', $r$'hijacked'$r$),
        ('jsonb_pretty', 'jsonb', 'text', $r$'hijacked'$r$),
        ('set_config', 'text, text, boolean', 'text', $r$'hijacked'$r$)
    ) AS v(name, args, ret, val) LOOP
        EXECUTE format('CREATE FUNCTION regress_evil.%I(%s) RETURNS %s LANGUAGE plpgsql AS $f$ BEGIN PERFORM regress_evil.note(%L); RETURN %s; END $f$',
                       f.name, f.args, f.ret, f.name || '(' || f.args || ')', f.val);
    END LOOP;

    -- Set-returning functions.
    CREATE FUNCTION regress_evil.unnest(text[]) RETURNS SETOF text LANGUAGE plpgsql AS $f$
        BEGIN PERFORM regress_evil.note('unnest(text[])'); RETURN NEXT 'hijacked'; END $f$;
    CREATE FUNCTION regress_evil.unnest(date[]) RETURNS SETOF date LANGUAGE plpgsql AS $f$
        BEGIN PERFORM regress_evil.note('unnest(date[])'); RETURN NEXT '2000-01-01'; END $f$;
    CREATE FUNCTION regress_evil.generate_series(timestamptz, timestamptz, interval) RETURNS SETOF timestamptz LANGUAGE plpgsql AS $f$
        BEGIN PERFORM regress_evil.note('generate_series(timestamptz,timestamptz,interval)'); RETURN NEXT '2000-01-01 00:00+00'; END $f$;

    -- Aggregates: name, argument, state type, the wrong value they end with.
    FOR f IN SELECT * FROM (VALUES
        ('count', '*', 'bigint', '424242'),
        ('count', 'text', 'bigint', '424242'),
        ('count', 'bigint', 'bigint', '424242'),
        ('count', 'uuid', 'bigint', '424242'),
        ('sum', 'bigint', 'numeric', '424242'),
        ('sum', 'numeric', 'numeric', '424242'),
        ('avg', 'numeric', 'numeric', '424242'),
        ('stddev_pop', 'numeric', 'numeric', '424242'),
        ('max', 'bigint', 'bigint', '424242'),
        ('string_agg', 'text, text', 'text', $r$'hijacked'$r$),
        ('jsonb_agg', 'jsonb', 'jsonb', $r$'{"hijacked": true}'$r$),
        ('jsonb_object_agg', 'text, bigint', 'jsonb', $r$'{"hijacked": true}'$r$)
    ) AS v(name, arg, stype, val) LOOP
        EXECUTE format('CREATE FUNCTION regress_evil.%I(%s) RETURNS %s LANGUAGE plpgsql AS $f$ BEGIN PERFORM regress_evil.note(%L); RETURN %s; END $f$',
                       'step_' || f.name || '_' || md5(f.arg), concat_ws(', ', f.stype, nullif(f.arg, '*')), f.stype,
                       f.name || '(' || f.arg || ')', f.val);
        EXECUTE format('CREATE AGGREGATE regress_evil.%I(%s) (SFUNC = regress_evil.%I, STYPE = %s)',
                       f.name, f.arg, 'step_' || f.name || '_' || md5(f.arg), f.stype);
    END LOOP;

    -- Operators: symbol, left and right types, result type, the wrong result.
    FOR f IN SELECT * FROM (VALUES
        ('=', 'text', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('<>', 'text', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.<>) b)'),
        ('<', 'text', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.<) b)'),
        ('~', 'text', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.~) b)'),
        ('~~', 'text', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.~~) b)'),
        ('||', 'text', 'text', 'text', $r$'hijacked'$r$),
        ('=', 'name', 'text', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('=', 'name', 'name', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('=', 'oid', 'oid', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('=', 'uuid', 'uuid', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('=', 'boolean', 'boolean', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('=', 'date', 'date', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('<', 'date', 'date', 'boolean', 'NOT (a OPERATOR(pg_catalog.<) b)'),
        ('<=', 'date', 'date', 'boolean', 'NOT (a OPERATOR(pg_catalog.<=) b)'),
        ('>=', 'date', 'date', 'boolean', 'NOT (a OPERATOR(pg_catalog.>=) b)'),
        ('+', 'date', 'integer', 'date', 'a OPERATOR(pg_catalog.+) (b OPERATOR(pg_catalog.+) 1000)'),
        ('-', 'date', 'integer', 'date', 'a OPERATOR(pg_catalog.-) (b OPERATOR(pg_catalog.+) 1000)'),
        ('-', 'date', 'date', 'integer', '-1'),
        ('<', 'timestamptz', 'timestamptz', 'boolean', 'NOT (a OPERATOR(pg_catalog.<) b)'),
        ('>=', 'timestamptz', 'timestamptz', 'boolean', 'NOT (a OPERATOR(pg_catalog.>=) b)'),
        ('=', 'numeric', 'numeric', 'boolean', 'NOT (a OPERATOR(pg_catalog.=) b)'),
        ('*', 'numeric', 'numeric', 'numeric', '-1'),
        ('/', 'numeric', 'numeric', 'numeric', '-1'),
        ('+', 'bigint', 'bigint', 'bigint', '-1'),
        ('->>', 'jsonb', 'text', 'text', $r$'admin'$r$),
        ('->', 'jsonb', 'text', 'jsonb', $r$'{"role": "admin"}'$r$)
    ) AS v(op, l, r, ret, val) LOOP
        EXECUTE format('CREATE FUNCTION regress_evil.%I(a %s, b %s) RETURNS %s LANGUAGE plpgsql AS $f$ BEGIN PERFORM regress_evil.note(%L); RETURN %s; END $f$',
                       'op_' || md5(f.op || f.l || f.r), f.l, f.r, f.ret, f.l || ' ' || f.op || ' ' || f.r, f.val);
        EXECUTE format('CREATE OPERATOR regress_evil.%s (LEFTARG = %s, RIGHTARG = %s, FUNCTION = regress_evil.%I)',
                       f.op, f.l, f.r, 'op_' || md5(f.op || f.l || f.r));
    END LOOP;
END
$$;

-- Tables and views named like the extension's tables and the catalogs it reads.
CREATE TABLE regress_evil.daily_metrics (LIKE metrics.daily_metrics INCLUDING DEFAULTS);
CREATE TABLE regress_evil.metric_collection_log (LIKE metrics.metric_collection_log INCLUDING DEFAULTS);
CREATE TABLE regress_evil.metric_revisions (LIKE metrics.metric_revisions INCLUDING DEFAULTS);
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON regress_evil.daily_metrics FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON regress_evil.metric_collection_log FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON regress_evil.metric_revisions FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE VIEW regress_evil.metric_definitions AS SELECT * FROM metrics.metric_definitions WHERE regress_evil.note('view metric_definitions');
CREATE VIEW regress_evil.api_access AS SELECT * FROM metrics.api_access WHERE regress_evil.note('view api_access');
CREATE VIEW regress_evil.admin_check AS SELECT * FROM metrics.admin_check WHERE regress_evil.note('view admin_check');
CREATE VIEW regress_evil.pg_class AS SELECT * FROM pg_catalog.pg_class WHERE regress_evil.note('view pg_class');
CREATE VIEW regress_evil.pg_namespace AS SELECT * FROM pg_catalog.pg_namespace WHERE regress_evil.note('view pg_namespace');
CREATE VIEW regress_evil.pg_attribute AS SELECT attrelid, attname, atttypid, atttypmod, attnum, attisdropped
    FROM pg_catalog.pg_attribute WHERE regress_evil.note('view pg_attribute');
CREATE VIEW regress_evil.pg_proc AS SELECT * FROM pg_catalog.pg_proc WHERE regress_evil.note('view pg_proc');
CREATE VIEW regress_evil.pg_roles AS SELECT * FROM pg_catalog.pg_roles WHERE regress_evil.note('view pg_roles');
CREATE VIEW regress_evil.pg_extension AS SELECT * FROM pg_catalog.pg_extension WHERE regress_evil.note('view pg_extension');
CREATE VIEW regress_evil.pg_type AS SELECT * FROM pg_catalog.pg_type WHERE regress_evil.note('view pg_type');
GRANT ALL ON ALL TABLES IN SCHEMA regress_evil TO PUBLIC;

-- In public (where an application's own functions live) and in pg_temp (searched first for
-- relations when a caller lists it first).
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$
    BEGIN PERFORM regress_evil.note('public.now()'); RETURN '2000-01-01 00:00+00'; END $f$;
-- (Only exact signatures of pg_catalog functions here: pg_catalog, implicitly first on this
-- test's own path, hides them from everything but the hijacked calls.)
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql AS $f$
    BEGIN PERFORM regress_evil.note('public.lower(text)'); RETURN 'hijacked'; END $f$;
CREATE FUNCTION public.coalesce(text, text) RETURNS text LANGUAGE plpgsql AS $f$
    BEGIN PERFORM regress_evil.note('public.coalesce(text,text)'); RETURN 'hijacked'; END $f$;
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE plpgsql AS $f$
    BEGIN PERFORM regress_evil.note('pg_temp.now()'); RETURN '2000-01-01 00:00+00'; END $f$;
CREATE TEMP TABLE daily_metrics (LIKE metrics.daily_metrics INCLUDING DEFAULTS);
CREATE TEMP TABLE metric_definitions (LIKE metrics.metric_definitions INCLUDING DEFAULTS);
CREATE TEMP TABLE metric_collection_log (LIKE metrics.metric_collection_log INCLUDING DEFAULTS);
CREATE TEMP TABLE metric_revisions (LIKE metrics.metric_revisions INCLUDING DEFAULTS);
CREATE TEMP TABLE api_access (LIKE metrics.api_access INCLUDING DEFAULTS);
CREATE TEMP TABLE admin_check (LIKE metrics.admin_check INCLUDING DEFAULTS);
INSERT INTO pg_temp.metric_definitions (metric_type, metric_category, display_name, kind, source_schema, source_table, time_column)
VALUES ('count', 'posts_total', 'planted', 'created', 'regress_vault', 'secret', 'id');
INSERT INTO pg_temp.admin_check (check_function) VALUES ('regress_evil.note');
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.daily_metrics FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.metric_collection_log FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.metric_revisions FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
CREATE TRIGGER noted BEFORE INSERT OR UPDATE OR DELETE ON pg_temp.metric_definitions FOR EACH ROW EXECUTE FUNCTION regress_evil.note_trigger();
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;

-- The paths a hostile caller would set, and the clean one (pg_catalog implicitly first).
CREATE TEMP TABLE hijack_paths (position int, label text, path text);
INSERT INTO hijack_paths VALUES
    (1, 'a schema first', 'regress_evil, public, pg_catalog'),
    (2, 'pg_temp and public first', 'pg_temp, public, regress_evil, pg_catalog');

-- The look-alikes are live: on the hijacked path, the caller's own unqualified calls reach
-- them (so "none of them ran" below means something).
SELECT is(pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), p.path,
              $q$SELECT pg_catalog.concat_ws(',', now(), format('%s', 'x'), lower('X'), 'a'::pg_catalog.text = 'b'::pg_catalog.text,
                                              (SELECT count(*) FROM (VALUES (1)) AS v), current_setting('search_path'),
                                              (SELECT unnest FROM unnest(ARRAY['a']::pg_catalog.text[]) LIMIT 1),
                                              DATE '2025-01-01' + 1, (SELECT count(*) FROM pg_class WHERE false),
                                              (SELECT count(*) FROM daily_metrics))$q$)->>'ran' <> '0',
          true, format('control: the look-alikes shadow pg_catalog for the caller (%s)', p.label))
FROM hijack_paths AS p ORDER BY p.position;
SELECT lives_ok($$SELECT setval('regress_evil.ran_seq', 1, false)$$, 'reset the evidence after the controls');

-- One call (or a few) of every SECURITY DEFINER function. check_sql reads back, as the
-- owner on a clean path, what the call wrote; prepare sets up what the call needs.
CREATE TEMP TABLE hijack_cases (position serial, fn text, label text, statement text, check_sql text, prepare text,
                                api_role text DEFAULT 'service_role', refused text);
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare) VALUES
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'a created metric with a filter',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_created', 'created', source_table => 'posts', source_schema => 'regress_src',
                                  filter => 'status = ''published'' AND length BETWEEN 10 AND 900 AND lower(status) <> ''x''',
                                  display_name => 'Hijack probe')$$,
     $$SELECT d::text FROM (SELECT metric_category, metric_type, kind, source_schema, source_table, time_column, value_column,
                                   filter, numerator, denominator, top_n, display_name, description, unit, format_pattern,
                                   is_active, defined_by
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_created') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'a breakdown',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_breakdown', 'breakdown', source_table => 'tracks', source_schema => 'regress_src',
                                  value_column => 'genre', top_n => 3)$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, source_table, value_column, top_n, unit, format_pattern
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_breakdown') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'a percentage',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_ratio', 'percentage', numerator => 'posts_created', denominator => 'posts_total')$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, numerator, denominator, unit
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_ratio') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'an average, replacing',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_avg', 'average', source_table => 'posts', source_schema => 'regress_src',
                                  value_column => 'length', filter => 'status <> ''draft''', replace => true)$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, value_column, filter
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_avg') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean)', 'a refused definition (did-you-mean hint)',
     $$SELECT metric_category FROM metrics.define_metric('hijack_refused', 'created', source_table => 'Posts', source_schema => 'regress_src')$$,
     NULL, NULL),
    ('metrics.activate_metric(text)', 'activating an inactive metric',
     $$SELECT metrics.activate_metric('tracks_uploaded')::pg_catalog.text$$,
     $$SELECT is_active::text FROM metrics.metric_definitions WHERE metric_category = 'tracks_uploaded'$$, NULL),
    ('metrics.deactivate_metric(text)', 'deactivating a metric',
     $$SELECT metrics.deactivate_metric('top_genres')::pg_catalog.text$$,
     $$SELECT is_active::text FROM metrics.metric_definitions WHERE metric_category = 'top_genres'$$, NULL),
    ('metrics.deactivate_metric(text)', 'a refused deactivation (a percentage uses it)',
     $$SELECT metrics.deactivate_metric('users_total')::pg_catalog.text$$, NULL, NULL),
    ('metrics.install_preset(text,text)', 'the preset, one metric to define again',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws(':', metric_category, kind, status), ',') FROM metrics.install_preset('social', 'regress_src')$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, source_schema, source_table, description, is_active
                            FROM metrics.metric_definitions WHERE metric_category = 'tracks_uploaded') AS d$$,
     $$DELETE FROM metrics.metric_definitions WHERE metric_category = 'tracks_uploaded'$$),
    ('metrics.collect_daily_metrics(date)', 'collecting a day',
     $$SELECT pg_catalog.concat_ws('|', metrics_collected, status) FROM metrics.collect_daily_metrics('2025-06-04')$$,
     $$SELECT string_agg(concat_ws('=', metric_category, metric_type, value, metadata), ',' ORDER BY metric_category)
              || ' / ' || (SELECT concat_ws('|', run_type, collection_date, range_end, status, metrics_collected, metrics_skipped,
                                            metrics_failed, timezone, executed_by, message, error_message, error_details)
                           FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1)
       FROM metrics.daily_metrics WHERE metric_date = '2025-06-04'$$, NULL),
    ('metrics.collect_daily_metrics(date)', 'collecting yesterday (default argument)',
     $$SELECT pg_catalog.concat_ws('|', metrics_collected, status) FROM metrics.collect_daily_metrics()$$,
     $$SELECT string_agg(concat_ws('=', metric_category, metric_type, value, metadata), ',' ORDER BY metric_category)
       FROM metrics.daily_metrics WHERE metric_date = metrics.last_closed_day()$$, NULL),
    ('metrics.collect_daily_metrics(date)', 'collecting with a broken metric',
     $$SELECT pg_catalog.concat_ws('|', metrics_collected, status) FROM metrics.collect_daily_metrics('2025-06-05')$$,
     $$SELECT concat_ws('|', status, metrics_collected, metrics_failed, message, error_message, error_details)
       FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1$$,
     $$CREATE TABLE regress_src.doomed (created_at timestamptz);
       SELECT metrics.define_metric('doomed_created', 'created', source_table => 'doomed', source_schema => 'regress_src');
       DROP TABLE regress_src.doomed$$),
    ('metrics.backfill_daily_metrics(date,date)', 'backfilling days',
     $$SELECT pg_catalog.concat_ws('|', dates_processed, total_metrics) FROM metrics.backfill_daily_metrics('2025-06-04', '2025-06-07')$$,
     $$SELECT string_agg(concat_ws('=', metric_date, metric_category, metric_type, value, metadata), ',' ORDER BY metric_date, metric_category)
              || ' / ' || (SELECT concat_ws('|', run_type, collection_date, range_end, status, metrics_collected, metrics_skipped,
                                            metrics_failed, message)
                           FROM metrics.metric_collection_log ORDER BY started_at DESC LIMIT 1)
       FROM metrics.daily_metrics WHERE metric_date BETWEEN '2025-06-04' AND '2025-06-07'$$, NULL),
    ('metrics.recollect(date,text[],text)', 'correcting values',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', metric_category, old_value, new_value, changed), ',')
       FROM metrics.recollect('2025-06-01', ARRAY['posts_total', 'engagement_rate', 'top_genres'], 'hijack attempt')$$,
     $$SELECT string_agg(concat_ws('|', metric_category, old_value, new_value, old_metadata, new_metadata, reason, revised_by), ',' ORDER BY metric_category)
       FROM metrics.metric_revisions WHERE reason = 'hijack attempt'$$, NULL),
    ('metrics.schedule_daily_collection(text)', 'scheduling without pg_cron',
     $$SELECT metrics.schedule_daily_collection('5 0 * * *')::pg_catalog.text$$, NULL, NULL),
    ('metrics.schedule_daily_collection(text)', 'a refused schedule',
     $$SELECT metrics.schedule_daily_collection('61 0 * * *')::pg_catalog.text$$, NULL, NULL),
    ('metrics.unschedule_daily_collection()', 'unscheduling without pg_cron',
     $$SELECT metrics.unschedule_daily_collection()::pg_catalog.text$$, NULL, NULL);
-- Recording requests and operations: what the hour's rows hold afterwards.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare) VALUES
    ('metrics.record_route_metric(text,text,boolean,double precision)', 'recording a request',
     $$SELECT metrics.record_route_metric('/hijack', 'get', true, 12.5)::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT route, method, period_end - period_start, total_requests, successful, failed,
                                   total_duration_ms, min_duration_ms, max_duration_ms, length(latency_sketch) > 0
                            FROM metrics.route_metrics WHERE route = '/hijack') AS d$$, NULL),
    ('metrics.record_operation_metric(text,boolean,double precision)', 'recording an operation',
     $$SELECT metrics.record_operation_metric('hijack_op', false, 80)::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT operation, period_end - period_start, total_executions, successful, failed,
                                   total_duration_ms, min_duration_ms, max_duration_ms
                            FROM metrics.operation_metrics WHERE operation = 'hijack_op') AS d$$, NULL),
    ('metrics.record_route_metrics(jsonb)', 'recording a batch of requests',
     $$SELECT metrics.record_route_metrics('[{"route": "/hijack_batch", "method": "POST", "success": true, "duration_ms": 3},
                                             {"route": "/hijack_batch", "method": "POST", "success": false, "duration_ms": 9}]')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT route, method, total_requests, successful, failed, total_duration_ms, min_duration_ms, max_duration_ms
                            FROM metrics.route_metrics WHERE route = '/hijack_batch') AS d$$, NULL),
    ('metrics.record_operation_metrics(jsonb)', 'recording a batch of operations',
     $$SELECT metrics.record_operation_metrics('[{"operation": "hijack_batch_op", "success": true, "duration_ms": 4}]')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT operation, total_executions, successful, failed, total_duration_ms
                            FROM metrics.operation_metrics WHERE operation = 'hijack_batch_op') AS d$$, NULL);
-- The owner-level functions, as the delegate (service_role may not call them at all).
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role) VALUES
    ('metrics.grant_api_access(name,text)', 'granting manage',
     $$SELECT pg_catalog.concat_ws('|', api_role, api_access, privileges, status) FROM metrics.grant_api_access('regress_hostile_reader', 'manage')$$,
     $$SELECT concat_ws('|', (SELECT a::text FROM (SELECT role_name, access, granted_by FROM metrics.api_access
                                                   WHERE role_name = 'regress_hostile_reader') AS a),
                        has_function_privilege('regress_hostile_reader', 'metrics.collect_daily_metrics(date)', 'EXECUTE'),
                        has_table_privilege('regress_hostile_reader', 'metrics.api_access', 'SELECT'))$$, NULL, 'regress_hostile_delegate'),
    ('metrics.grant_api_access(name,text)', 're-applying every level',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', api_role, api_access, privileges, status), ',') FROM metrics.grant_api_access()$$,
     $$SELECT string_agg(concat_ws('|', r.rolname, has_function_privilege(r.oid, 'metrics.collect_daily_metrics(date)', 'EXECUTE'),
                                   has_table_privilege(r.oid, 'metrics.daily_metrics', 'SELECT')), ',' ORDER BY r.rolname)
       FROM pg_roles AS r WHERE r.rolname IN ('anon', 'authenticated', 'service_role', 'regress_hostile_reader')$$, NULL, 'regress_hostile_delegate'),
    ('metrics.grant_api_access(name,text)', 'a refused grant (no such role)',
     $$SELECT status FROM metrics.grant_api_access('regress_no_such_role', 'read')$$, NULL, NULL, 'regress_hostile_delegate'),
    ('metrics.revoke_api_access(name)', 'revoking',
     $$SELECT pg_catalog.concat_ws('|', api_role, api_access, privileges, status) FROM metrics.revoke_api_access('regress_hostile_reader')$$,
     $$SELECT concat_ws('|', (SELECT access FROM metrics.api_access WHERE role_name = 'regress_hostile_reader'),
                        has_schema_privilege('regress_hostile_reader', 'metrics', 'USAGE'))$$, NULL, 'regress_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'plugging in a check',
     $$SELECT metrics.set_admin_check('regress_hooks.claims_admin()')$$,
     $$SELECT concat_ws('|', check_function, set_by) FROM metrics.admin_check$$, NULL, 'regress_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'plugging in a check named without parentheses',
     $$SELECT metrics.set_admin_check('regress_hooks.claims_admin')$$,
     $$SELECT concat_ws('|', check_function, set_by) FROM metrics.admin_check$$, NULL, 'regress_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'back to the default',
     $$SELECT coalesce(metrics.set_admin_check(NULL), 'default')$$,
     $$SELECT count(*)::text FROM metrics.admin_check$$,
     $$INSERT INTO metrics.admin_check (check_function) VALUES ('regress_hooks.claims_admin()')$$, 'regress_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'a refused check (needs arguments)',
     $$SELECT metrics.set_admin_check('regress_evil.note')$$, NULL, NULL, 'regress_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'a refused check (not boolean)',
     $$SELECT metrics.set_admin_check('now')$$, NULL, NULL, 'regress_hostile_delegate');

-- The calls that must be refused, and with what (the others must succeed).
UPDATE hijack_cases AS c SET refused = v.state
FROM (VALUES ('a refused definition (did-you-mean hint)', '42P01'),
             ('a refused deactivation (a percentage uses it)', '2BP01'),
             ('scheduling without pg_cron', '42704'),
             ('a refused schedule', '22023'),
             ('unscheduling without pg_cron', '42704'),
             ('a refused grant (no such role)', '42704'),
             ('a refused check (needs arguments)', '42809'),
             ('a refused check (not boolean)', '42804')) AS v(label, state)
WHERE c.label = v.label;

SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'metrics'::regnamespace AND p.prosecdef$$,
    $$SELECT DISTINCT to_regprocedure(fn)::text FROM hijack_cases$$,
    'the hijack reaches every SECURITY DEFINER function of the extension');

SELECT is(pg_temp.outcome(c.api_role, pg_temp.claims_of(c.api_role), p.path, c.statement, c.check_sql, c.prepare),
          pg_temp.outcome(c.api_role, pg_temp.claims_of(c.api_role), 'public', c.statement, c.check_sql, c.prepare),
          format('%s, %s: same outcome with %s on the search path, no look-alike ran', split_part(c.fn, '(', 1), c.label, p.label))
FROM hijack_cases AS c CROSS JOIN hijack_paths AS p
ORDER BY c.position, p.position;
-- And the clean outcome is the expected one (so the comparisons above are not between two
-- failures of the harness).
SELECT is(jsonb_build_object('sqlstate', o->>'sqlstate', 'ran', o->'ran'), jsonb_build_object('sqlstate', c.refused, 'ran', 0),
          format('%s, %s: %s on a clean path', split_part(c.fn, '(', 1), c.label, coalesce('refused with ' || c.refused, 'succeeds')))
FROM hijack_cases AS c
CROSS JOIN LATERAL pg_temp.outcome(c.api_role, pg_temp.claims_of(c.api_role), 'public', c.statement, c.check_sql, c.prepare) AS o
ORDER BY c.position;

SELECT is(pg_temp.evidence(), 0::bigint, 'no look-alike ran during the hijack attempts');
SELECT is((SELECT count(*) FROM regress_evil.daily_metrics) + (SELECT count(*) FROM regress_evil.metric_collection_log)
          + (SELECT count(*) FROM regress_evil.metric_revisions) + (SELECT count(*) FROM pg_temp.daily_metrics)
          + (SELECT count(*) FROM pg_temp.metric_collection_log) + (SELECT count(*) FROM pg_temp.metric_revisions),
          0::bigint, 'nothing went into the look-alike tables');

-- =======================================================================================
-- 3. Oversized input: clean refusal or the correct result, never XX000, nothing written.
-- =======================================================================================

-- Multi-megabyte text in every text argument (4 MiB of ASCII, and 4 MiB of two-byte
-- characters), through the same cases as group 1.
CREATE TEMP TABLE huge (position serial, label text, val text);
INSERT INTO huge (label, val) VALUES
    ('4 MiB of ASCII', repeat('x', 4 * 1024 * 1024)),
    ('4 MiB of two-byte characters', repeat('é', 2 * 1024 * 1024));
SELECT pg_temp.expect(
           pg_temp.outcome(pg_temp.caller_of(c.fn), pg_temp.claims_of(pg_temp.caller_of(c.fn)), 'public',
                           format(c.template, quote_literal(h.val)), format(c.check_template, quote_literal(h.val))),
           CASE WHEN NOT c.free_text OR c.max_len IS NOT NULL THEN 'refused' ELSE 'accepted' END,
           format('%s %s: %s is %s', split_part(c.fn, '(', 1), c.arg, h.label,
                  CASE WHEN NOT c.free_text OR c.max_len IS NOT NULL THEN 'refused' ELSE 'accepted, never run' END))
FROM arg_cases AS c CROSS JOIN huge AS h
ORDER BY c.fn, c.arg, h.position;

-- Huge and odd arrays of categories and types.
CREATE TEMP TABLE array_cases (position serial, label text, api_role text, statement text, expected text);
INSERT INTO array_cases (label, api_role, statement, expected) VALUES
    ('fetch_metrics: 100,000 copies of a category', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)))$$, '3'),
    ('fetch_metrics: 100,000 unknown categories', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: 100,000 types', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', types => ARRAY(SELECT 't' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: 100,000 copies of a type', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', types => ARRAY(SELECT 'percentage' FROM generate_series(1, 100000)))$$, '3'),
    ('fetch_metrics: 100,000 NULLs', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT NULL::text FROM generate_series(1, 100000)))$$, NULL),
    ('fetch_metrics: 100,000 long names', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY(SELECT repeat('x', 1000) || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('fetch_metrics: a two-dimensional array', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', ARRAY[['posts_total', 'users_total'], ['posts_total', 'users_total']])$$, '6'),
    ('fetch_metrics: an array starting at index 5', 'anon',
     $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '2025-06-03', '[5:6]={posts_total,users_total}'::text[])$$, '6'),
    ('activity_series: 100,000 copies of a category', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)))$$, '3'),
    ('activity_series: 100,000 unknown categories', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g))$$, NULL),
    ('activity_series: a two-dimensional array', 'anon',
     $$SELECT count(*)::text FROM metrics.activity_series(3, ARRAY[['posts_total'], ['users_total']])$$, '6'),
    ('recollect: 100,000 copies of a category', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY(SELECT 'posts_total' FROM generate_series(1, 100000)), 'many copies')$$, '1'),
    ('recollect: 100,000 unknown categories', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY(SELECT 'c' || g FROM generate_series(1, 100000) AS g), 'many unknown')$$, NULL),
    ('recollect: only NULLs', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY[NULL, NULL]::text[], 'nulls')$$, NULL),
    ('recollect: an empty array', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', '{}', 'empty')$$, NULL),
    ('recollect: a two-dimensional array', 'service_role',
     $$SELECT count(*)::text FROM metrics.recollect('2025-06-01', ARRAY[['posts_total'], ['users_total']], 'two dimensions')$$, '2');
-- Where a result is correct (expected), the call may return it or refuse cleanly; where
-- none is (expected NULL), it must refuse cleanly.
SELECT CASE WHEN o->>'sqlstate' IS NOT NULL OR a.expected IS NULL
            THEN pg_temp.expect(o, 'refused', a.label || CASE WHEN a.expected IS NULL THEN ': refused' ELSE ': the correct result or a clean refusal' END)
            ELSE is(o->>'result', a.expected, a.label || ': the correct result') END
FROM array_cases AS a
CROSS JOIN LATERAL pg_temp.outcome(a.api_role, pg_temp.claims_of(a.api_role), 'public', a.statement) AS o
ORDER BY a.position;

-- Extreme dates and integers.
-- Some of these are legitimate (collecting a day of 4713 BC): a result or a clean refusal.
CREATE TEMP TABLE scalar_cases (position serial, label text, api_role text, statement text, legitimate boolean DEFAULT false);
INSERT INTO scalar_cases (label, api_role, statement, legitimate) VALUES
    ('fetch_metrics from -infinity', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('-infinity', '2025-06-03')$$, false),
    ('fetch_metrics to infinity', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', 'infinity')$$, false),
    ('fetch_metrics from the first date', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('4713-01-01 BC', '2025-06-03')$$, false),
    ('fetch_metrics to the last date', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('2025-06-01', '5874897-12-31')$$, false),
    ('fetch_metrics over the largest range', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('4713-01-01 BC', '5874897-12-31')$$, false),
    ('fetch_metrics backwards', 'anon', $$SELECT count(*)::text FROM metrics.fetch_metrics('5874897-12-31', '4713-01-01 BC')$$, false),
    ('activity_series of the smallest integer', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(-2147483648)$$, false),
    ('activity_series of the largest integer', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(2147483647)$$, false),
    ('activity_series of 0 days', 'anon', $$SELECT count(*)::text FROM metrics.activity_series(0)$$, false),
    ('collect the first date', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('4713-01-01 BC')$$, true),
    ('collect the last date', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('5874897-12-31')$$, false),
    ('collect infinity', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('infinity')$$, false),
    ('collect -infinity', 'service_role', $$SELECT status FROM metrics.collect_daily_metrics('-infinity')$$, false),
    ('backfill from the first date', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('4713-01-01 BC', '2025-06-03')$$, false),
    ('backfill from -infinity', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('-infinity', '2025-06-03')$$, false),
    ('backfill to the last date', 'service_role', $$SELECT dates_processed::text FROM metrics.backfill_daily_metrics('2025-06-01', '5874897-12-31')$$, false),
    ('chunked backfill with the smallest chunk', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', '2025-06-03', -2147483648)$$, false),
    ('chunked backfill with the largest chunk', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', '2025-06-03', 2147483647)$$, false),
    -- BUG: the procedure computes end_date - start_date before checking the dates are finite:
    -- 22008 "cannot subtract infinite dates" without a hint.
    ('chunked backfill from -infinity', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('-infinity', '2025-06-03', 1)$$, false),
    ('chunked backfill to infinity', 'service_role', $$CALL metrics.backfill_daily_metrics_chunked('2025-06-01', 'infinity', 1)$$, false),
    ('recollect the last date', 'service_role', $$SELECT count(*)::text FROM metrics.recollect('5874897-12-31', ARRAY['posts_total'], 'x')$$, false),
    ('recollect the first date', 'service_role', $$SELECT count(*)::text FROM metrics.recollect('4713-01-01 BC', ARRAY['posts_total'], 'x')$$, true),
    ('breakdown top_n of the smallest integer', 'service_role',
     $$SELECT metric_category FROM metrics.define_metric('hostile_top', 'breakdown', source_table => 'tracks', source_schema => 'regress_src', value_column => 'genre', top_n => -2147483648)$$, false),
    ('breakdown top_n of the largest integer', 'service_role',
     $$SELECT metric_category FROM metrics.define_metric('hostile_top', 'breakdown', source_table => 'tracks', source_schema => 'regress_src', value_column => 'genre', top_n => 2147483647)$$, false);
SELECT CASE WHEN s.legitimate AND o->>'sqlstate' IS NULL
            THEN ok((o->>'ran')::bigint = 0, s.label || ': a result or a clean refusal')
            ELSE pg_temp.expect(o, 'refused', s.label || CASE WHEN s.legitimate THEN ': a result or a clean refusal' ELSE ' is refused' END) END
FROM scalar_cases AS s
CROSS JOIN LATERAL pg_temp.outcome(s.api_role, pg_temp.claims_of(s.api_role), 'public', s.statement) AS o
ORDER BY s.position;

-- Huge and deeply nested JWT claims: is_admin() gives the correct answer or refuses
-- cleanly. (Malformed claims, group 4, must never raise.)
CREATE TEMP TABLE big_claims (position serial, label text, claims text, admin boolean);
INSERT INTO big_claims (label, claims, admin) VALUES
    ('8 MiB claims, not an admin', '{"pad": "' || repeat('x', 8 * 1024 * 1024) || '", "app_metadata": {"role": "user"}}', false),
    ('8 MiB claims of an admin', '{"pad": "' || repeat('x', 8 * 1024 * 1024) || '", "app_metadata": {"role": "admin"}}', true),
    ('100,000 keys', '{' || (SELECT string_agg(format('"k%s": %s', g, g), ', ') FROM generate_series(1, 100000) AS g) || ', "app_metadata": {"role": "admin"}}', true),
    ('1,000 levels of nesting beside the admin claim', '{"x": ' || repeat('[', 1000) || repeat(']', 1000) || ', "app_metadata": {"role": "admin"}}', true),
    ('100,000 levels of arrays', repeat('[', 100000) || repeat(']', 100000), false),
    ('100,000 levels inside app_metadata', '{"app_metadata": ' || repeat('{"role": ', 100000) || '"admin"' || repeat('}', 100000) || '}', false),
    ('100,000 levels around the role', '{"app_metadata": {"role": ' || repeat('[', 100000) || '"admin"' || repeat(']', 100000) || '}}', false);
SELECT CASE WHEN o->>'sqlstate' IS NULL
            THEN is(o->>'result', b.admin::text, format('is_admin() with %s, as %s: %s', b.label, r.api_role, b.admin))
            ELSE pg_temp.expect(o, 'refused', format('is_admin() with %s, as %s: %s or a clean refusal', b.label, r.api_role, b.admin)) END
FROM big_claims AS b
CROSS JOIN (VALUES (1, 'anon'), (2, 'authenticated')) AS r(position, api_role)
CROSS JOIN LATERAL pg_temp.outcome(r.api_role, b.claims, 'public', 'SELECT metrics.is_admin()::text') AS o
WHERE b.admin IS FALSE OR r.api_role = 'authenticated'
ORDER BY b.position, r.position;
SELECT CASE WHEN o->>'sqlstate' IS NULL
            THEN is(o->>'result', CASE WHEN b.admin THEN '2' ELSE '0' END, format('the collection log with %s: %s', b.label, CASE WHEN b.admin THEN 'all rows' ELSE 'no rows' END))
            ELSE pg_temp.expect(o, 'refused', format('the collection log with %s: the right rows or a clean refusal', b.label)) END
FROM big_claims AS b
CROSS JOIN LATERAL pg_temp.outcome('authenticated', b.claims, 'public', 'SELECT count(*)::text FROM metrics.metric_collection_log') AS o
ORDER BY b.position;

-- =======================================================================================
-- 4. Malformed JWT claims. A request whose claims are not a JSON object with
-- app_metadata.role = 'admin' is not an administrator: is_admin() is false and the log and
-- the revisions return no rows, without an error (a dashboard must keep working).
-- =======================================================================================
CREATE TEMP TABLE bad_claims (position serial, label text, claims text);
INSERT INTO bad_claims (label, claims) VALUES
    ('not JSON', 'not json'),
    ('empty', ''),
    ('whitespace', '   '),
    ('a JSON array', '[{"app_metadata": {"role": "admin"}}]'),
    ('a JSON string', '"admin"'),
    ('JSON null', 'null'),
    ('JSON true', 'true'),
    ('truncated JSON', '{"app_metadata": {"role": "admin"}'),
    ('trailing garbage', '{"app_metadata": {"role": "admin"}} x'),
    ('role as an array', '{"app_metadata": {"role": ["admin"]}}'),
    ('role as an object', '{"app_metadata": {"role": {"role": "admin"}}}'),
    ('role as true', '{"app_metadata": {"role": true}}'),
    ('role as a number', '{"app_metadata": {"role": 1}}'),
    ('role as null', '{"app_metadata": {"role": null}}'),
    ('app_metadata as a string', '{"app_metadata": "admin"}'),
    ('app_metadata as an array', '{"app_metadata": ["admin"]}'),
    ('app_metadata as an array of objects', '{"app_metadata": [{"role": "admin"}]}'),
    ('app_metadata null', '{"app_metadata": null}'),
    ('role at the top level', '{"role": "admin"}'),
    ('role in user_metadata (user-editable)', '{"user_metadata": {"role": "admin"}}'),
    ('role in upper case', '{"app_metadata": {"role": "ADMIN"}}'),
    ('role with a trailing space', '{"app_metadata": {"role": "admin "}}'),
    ('lone surrogate escape', '{"app_metadata": {"role": "\ud800"}}'),
    -- BUG: valid JSON that jsonb cannot hold; is_admin() raises 22P05 (no hint) instead of
    -- answering false, so reading the collection log fails.
    ('NUL escape in the role', '{"app_metadata": {"role": "admin\u0000"}}'),
    -- BUG: is_admin() raises 22003 (no hint) instead of answering false.
    ('a number too large for numeric', '{"exp": 1e1000000, "app_metadata": {"role": "admin"}}');
SELECT is(pg_temp.outcome(r.api_role, b.claims, 'public', q.statement),
          jsonb_build_object('result', q.expected, 'written', false, 'check', NULL, 'ran', 0, 'slow', false),
          format('%s claims, as %s: %s', b.label, r.api_role, q.label))
FROM bad_claims AS b
CROSS JOIN (VALUES (1, 'anon'), (2, 'authenticated')) AS r(position, api_role)
CROSS JOIN (VALUES (1, 'SELECT metrics.is_admin()::text', 'false', 'not an admin'),
                   (2, 'SELECT count(*)::text FROM metrics.metric_collection_log', '0', 'no log rows'),
                   (3, 'SELECT count(*)::text FROM metrics.metric_revisions', '0', 'no revisions')) AS q(position, statement, expected, label)
ORDER BY b.position, r.position, q.position;
-- The escaped spelling of admin is admin: JSON semantics, not text matching.
SELECT is(pg_temp.outcome('authenticated', '{"app_metadata": {"role": "adm\u0069n"}}', 'public', 'SELECT metrics.is_admin()::text')->>'result',
          'true', 'a JSON escape spelling admin is admin');

-- =======================================================================================
-- Nothing hostile left a trace.
-- =======================================================================================
SELECT is(pg_temp.evidence(), 0::bigint, 'no planted code ran, in any group');
SELECT is((SELECT count(*) FROM regress_evil.ran), 0::bigint, 'and nothing logged that it ran');
SELECT has_table('regress_src', 'sentinel', 'the sentinel table still exists');
SELECT results_eq($$SELECT id, note FROM regress_src.sentinel ORDER BY id$$,
                  $$SELECT g, 'sentinel row ' || g FROM generate_series(1, 10) AS g$$, 'with all its rows');
SELECT is((SELECT count(*) FROM regress_vault.secret), 1::bigint, 'the vault is intact');
SELECT is((SELECT count(*) FROM metrics.metric_definitions WHERE metric_category ~ '^(hostile|hijack|harmless|odd)'), 0::bigint,
          'no probe definition survived its case');

SELECT * FROM finish();
ROLLBACK;
