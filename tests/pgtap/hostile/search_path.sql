-- Hostile input against the whole SQL API: search_path hijacking of every SECURITY DEFINER
-- function (enumerated from pg_proc).
--
-- A caller controls its own search_path. Look-alikes of what the extension's code might
-- call without a schema (functions, aggregates, operators of pg_catalog; its own tables)
-- are planted in a schema placed first on the path, in public, and in pg_temp. Each one
-- logs that it ran and returns a wrong value. Every SECURITY DEFINER function is called as
-- service_role with a hijacked path and without, and must give the same outcome, with
-- nothing planted having run. (The owner-level functions are called as the role the owner
-- delegates them to; service_role may not call them at all.)
--
-- How each case is run and judged (pg_temp.outcome): tests/fixtures/hostile.sql. The other
-- hostile files: injection.sql (injection strings), oversized.sql (huge and extreme input),
-- jwt.sql (malformed claims).
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(249);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/hostile.sql

SELECT is(pg_temp.evidence(), 0::bigint, 'nothing planted has run yet');

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
        ('set_config', 'text, text, boolean', 'text', $r$'hijacked'$r$),
        -- what recording GitHub events and reading the keys could call
        ('sha256', 'bytea', 'bytea', $r$'\x00'::bytea$r$),
        ('convert_to', 'text, name', 'bytea', $r$'\x00'::bytea$r$),
        ('encode', 'bytea, text', 'text', $r$'hijacked'$r$),
        ('jsonb_array_length', 'jsonb', 'integer', '-1'),
        ('hashtext', 'text', 'integer', '1'),
        ('hashtextextended', 'text, bigint', 'bigint', '1'),
        ('starts_with', 'text, text', 'boolean', 'true'),
        ('regexp_replace', 'text, text, text', 'text', $r$'hijacked'$r$),
        ('date_part', 'text, timestamptz', 'double precision', '-1'),
        ('to_timestamp', 'double precision', 'timestamptz', $r$'2000-01-01 00:00+00'$r$)
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
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'a created metric with a filter',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_created', 'created', source_table => 'posts', source_schema => 'regress_src',
                                  filter => 'status = ''published'' AND length BETWEEN 10 AND 900 AND lower(status) <> ''x''',
                                  display_name => 'Hijack probe')$$,
     $$SELECT d::text FROM (SELECT metric_category, metric_type, kind, source_schema, source_table, time_column, value_column,
                                   filter, numerator, denominator, top_n, display_name, description, unit, format_pattern,
                                   is_active, defined_by
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_created') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'a breakdown',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_breakdown', 'breakdown', source_table => 'tracks', source_schema => 'regress_src',
                                  value_column => 'genre', top_n => 3)$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, source_table, value_column, top_n, unit, format_pattern
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_breakdown') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'a percentage',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_ratio', 'percentage', numerator => 'posts_created', denominator => 'posts_total')$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, numerator, denominator, unit
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_ratio') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'an average, replacing',
     $$SELECT pg_catalog.concat_ws('|', metric_category, metric_type, kind, source, filter, is_active)
       FROM metrics.define_metric('hijack_avg', 'average', source_table => 'posts', source_schema => 'regress_src',
                                  value_column => 'length', filter => 'status <> ''draft''', replace => true)$$,
     $$SELECT d::text FROM (SELECT metric_category, kind, value_column, filter
                            FROM metrics.metric_definitions WHERE metric_category = 'hijack_avg') AS d$$, NULL),
    ('metrics.define_metric(text,text,text,text,text,text,text,text,text,text,text,text,text,integer,boolean,double precision,text)', 'a refused definition (did-you-mean hint)',
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
    ('metrics.recollect_outdated(date,date,text,text[])', 'recomputing older versions',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', metric_date, metric_category, old_value, new_value, changed), ',')
       FROM metrics.recollect_outdated('2025-06-01', '2025-06-03', 'hijack attempt')$$,
     $$SELECT string_agg(concat_ws('|', metric_date, metric_category, definition_version), ',' ORDER BY metric_date, metric_category)
       FROM metrics.daily_metrics WHERE metric_date BETWEEN '2025-06-01' AND '2025-06-03'$$, NULL),
    ('metrics.schedule_daily_collection(text)', 'scheduling without pg_cron',
     $$SELECT metrics.schedule_daily_collection('5 0 * * *')::pg_catalog.text$$, NULL, NULL),
    ('metrics.schedule_daily_collection(text)', 'a refused schedule',
     $$SELECT metrics.schedule_daily_collection('61 0 * * *')::pg_catalog.text$$, NULL, NULL),
    ('metrics.unschedule_daily_collection()', 'unscheduling without pg_cron',
     $$SELECT metrics.unschedule_daily_collection()::pg_catalog.text$$, NULL, NULL),
    ('metrics.schedule_maintenance(text)', 'scheduling maintenance without pg_cron',
     $$SELECT metrics.schedule_maintenance('5 0 * * *')::pg_catalog.text$$, NULL, NULL),
    ('metrics.unschedule_maintenance()', 'unscheduling maintenance without pg_cron',
     $$SELECT metrics.unschedule_maintenance()::pg_catalog.text$$, NULL, NULL),
    ('metrics._maintenance_begin()', 'starting a maintenance run',
     $$SELECT (metrics._maintenance_begin() IS NOT NULL)::pg_catalog.text$$,
     $$SELECT string_agg(concat_ws('|', step, status, executed_by, pid = pg_backend_pid(), details), ',') FROM metrics.maintenance_log$$, NULL),
    ('metrics._maintenance_catch_up(uuid)', 'the catch-up step of a run',
     $$SELECT metrics._maintenance_catch_up(metrics._maintenance_begin())$$,
     $$SELECT concat_ws(' / ', (SELECT string_agg(concat_ws('|', step, status, details - 'collection_log_id', error_message), ',' ORDER BY step)
                                FROM metrics.maintenance_log),
                        (SELECT count(*) FROM metrics.daily_metrics))$$, NULL),
    ('metrics._maintenance_compact(uuid)', 'a compaction unit of a run',
     $$SELECT metrics._maintenance_compact(metrics._maintenance_begin())::pg_catalog.text$$,
     $$SELECT string_agg(concat_ws('|', step, status, details), ',' ORDER BY step) FROM metrics.maintenance_log$$, NULL),
    ('metrics._maintenance_prune(uuid,integer)', 'a pruning batch of a run',
     $$SELECT metrics._maintenance_prune(metrics._maintenance_begin(), 1)::pg_catalog.text$$,
     $$SELECT string_agg(concat_ws('|', step, status, details), ',' ORDER BY step) FROM metrics.maintenance_log$$, NULL),
    ('metrics._maintenance_alerts(uuid)', 'the alerts step of a run',
     $$SELECT metrics._maintenance_alerts(metrics._maintenance_begin())$$,
     $$SELECT string_agg(concat_ws('|', step, status, details), ',' ORDER BY step) FROM metrics.maintenance_log$$, NULL),
    ('metrics.set_retention_policy(text,interval,interval,interval)', 'setting a retention policy',
     $$SELECT pg_catalog.concat_ws('|', family, kind, keep_hourly, keep_daily, drop_after)
       FROM metrics.set_retention_policy('route_metrics', '30 days', '60 days')$$,
     $$SELECT string_agg(concat_ws('|', family, keep_hourly, keep_daily, drop_after), ',') FROM metrics.retention_settings$$, NULL),
    ('metrics.compact_metrics(boolean,integer)', 'compacting',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', family, action, rows_before, rows_after, requests_covered, verified), ',')
       FROM metrics.compact_metrics()$$,
     $$SELECT string_agg(concat_ws('|', family, resolution, rows_before, rows_after, requests_covered), ',' ORDER BY family, period_start)
       FROM metrics.compacted_periods$$, NULL),
    ('metrics._maintenance_end(uuid)', 'the end of a run',
     $$SELECT metrics._maintenance_end(metrics._maintenance_begin())$$,
     $$SELECT string_agg(concat_ws('|', step, status, details), ',' ORDER BY step) FROM metrics.maintenance_log$$, NULL),
    ('metrics.verify_security()', 'the security audit',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', finding, object_type, object_name, detail, hint), ',')
       FROM metrics.verify_security()$$, NULL, NULL),
    ('metrics.health()', 'the health checks',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', check_name, severity, value, threshold, detail, hint), ',')
       FROM metrics.health()$$, NULL, NULL),
    ('metrics.check_alerts()', 'recording alerts',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', check_name, previous_severity, severity, detail), ',')
       FROM metrics.check_alerts()$$,
     $$SELECT string_agg(concat_ws('|', check_name, previous_severity, severity, value, threshold, detail, hint), ',' ORDER BY check_name)
              || ' / ' || (SELECT string_agg(concat_ws('|', check_name, severity, value, threshold, detail), ',' ORDER BY check_name)
                           FROM metrics.alert_state)
       FROM metrics.alert_log$$, NULL);
-- Recording requests and operations: what the rows hold afterwards (folded or not: the live
-- views), and a fold: what the hour rows hold after it.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare) VALUES
    ('metrics.record_route_metric(text,text,boolean,double precision,text)', 'recording a request',
     $$SELECT metrics.record_route_metric('/hijack', 'get', true, 12.5)::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT route, method, period_end - period_start, total_requests, successful, failed,
                                   total_duration_ms, min_duration_ms, max_duration_ms, length(latency_sketch) > 0
                            FROM metrics.route_metrics_live WHERE route = '/hijack') AS d$$, NULL),
    ('metrics.record_operation_metric(text,boolean,double precision,text)', 'recording an operation',
     $$SELECT metrics.record_operation_metric('hijack_op', false, 80)::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT operation, period_end - period_start, total_executions, successful, failed,
                                   total_duration_ms, min_duration_ms, max_duration_ms
                            FROM metrics.operation_metrics_live WHERE operation = 'hijack_op') AS d$$, NULL),
    ('metrics.record_route_metrics(jsonb,uuid)', 'recording a batch of requests, with an id',
     $$SELECT metrics.record_route_metrics('[{"route": "/hijack_batch", "method": "POST", "success": true, "duration_ms": 3},
                                             {"route": "/hijack_batch", "method": "POST", "success": false, "duration_ms": 9}]',
                                           'b0b0b0b0-0000-4000-8000-000000000001')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT route, method, total_requests, successful, failed, total_duration_ms, min_duration_ms, max_duration_ms,
                                   (SELECT events FROM metrics.recorded_batches)
                            FROM metrics.route_metrics_live WHERE route = '/hijack_batch') AS d$$, NULL),
    ('metrics.record_operation_metrics(jsonb,uuid)', 'recording a batch of operations',
     $$SELECT metrics.record_operation_metrics('[{"operation": "hijack_batch_op", "success": true, "duration_ms": 4}]')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT operation, total_executions, successful, failed, total_duration_ms
                            FROM metrics.operation_metrics_live WHERE operation = 'hijack_batch_op') AS d$$, NULL),
    ('metrics.fold_metrics(integer)', 'folding what direct recording appended',
     $$SELECT pg_catalog.sum(f.rows_folded)::pg_catalog.text FROM metrics.fold_metrics() AS f$$,
     $$SELECT d::text FROM (SELECT route, method, total_requests, successful, failed, total_duration_ms, min_duration_ms, max_duration_ms,
                                   (SELECT count(*) FROM metrics.route_metrics_unfolded)
                            FROM metrics.route_metrics WHERE route = '/hijack_fold') AS d$$,
     $$SELECT metrics.record_route_metric('/hijack_fold', 'GET', true, 7)$$);
-- Development metrics: recording GitHub events (the events, facts and derived rows they
-- leave), the tiers, and reading the keys of a small history the owner recorded first.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare) VALUES
    ('metrics.record_github_event(text,jsonb,text,text)', 'recording a deployment status',
     $$SELECT pg_catalog.concat_ws('|', recorded, kind, event_key) FROM metrics.record_github_event('deployment_status',
         '{"action": "created", "repository": {"full_name": "Octo/Hijack"},
           "deployment": {"id": 7, "sha": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "ref": "main", "environment": "Production",
                          "created_at": "2025-06-02T10:00:00Z"},
           "deployment_status": {"id": 70, "state": "success", "created_at": "2025-06-02T10:05:00Z"}}', delivery_id => 'hijack-1')$$,
     $$SELECT concat_ws(' / ',
         (SELECT string_agg(concat_ws('|', event_key, event, action, kind, known_action, repository, environment, delivery_id,
                                      occurred_at, encode(payload_sha256, 'hex'), payload_sha256 = sha256(convert_to(payload::text, 'UTF8'))), ',')
          FROM metrics.github_events),
         (SELECT string_agg(d::text, ',') FROM metrics.github_deployments AS d),
         (SELECT string_agg(s::text, ',') FROM metrics.github_deployment_statuses AS s),
         (SELECT string_agg(d::text, ',') FROM metrics.dora_deployments AS d))$$, NULL),
    ('metrics.record_github_event(text,jsonb,text,text)', 'an unknown event',
     $$SELECT pg_catalog.concat_ws('|', recorded, kind, event_key) FROM metrics.record_github_event('ping', '{"zen": "hijack"}')$$,
     $$SELECT string_agg(concat_ws('|', event_key, kind, encode(payload_sha256, 'hex')), ',') FROM metrics.github_events$$, NULL),
    ('metrics.record_github_event(text,jsonb,text,text)', 'a refused payload (no sha)',
     $$SELECT pg_catalog.concat_ws('|', recorded, kind, event_key) FROM metrics.record_github_event('deployment',
         '{"repository": {"full_name": "octo/hijack"}, "deployment": {"id": 8, "environment": "production", "created_at": "2025-06-02T10:00:00Z"}}')$$,
     NULL, NULL),
    ('metrics.record_github_events(jsonb)', 'recording a batch: a deployment, a push, a merged pull request, a second deployment',
     $$SELECT pg_catalog.concat_ws('|', events, recorded, duplicates, unknown) FROM metrics.record_github_events('[
         {"event": "deployment_status", "payload": {"repository": {"full_name": "octo/hijack"},
           "deployment": {"id": 1, "sha": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "ref": "main", "environment": "production", "created_at": "2025-06-02T10:00:00Z"},
           "deployment_status": {"id": 11, "state": "success", "created_at": "2025-06-02T10:05:00Z"}}},
         {"event": "push", "payload": {"ref": "refs/heads/main", "before": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
           "after": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "repository": {"full_name": "octo/hijack", "pushed_at": 1748865660},
           "commits": [{"id": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "timestamp": "2025-06-02T12:00:00Z"}]}},
         {"event": "pull_request", "payload": {"action": "closed", "repository": {"full_name": "octo/hijack"},
           "pull_request": {"number": 5, "id": 5005, "state": "closed", "created_at": "2025-06-02T08:00:00Z", "updated_at": "2025-06-02T12:01:00Z",
                            "merged": true, "merged_at": "2025-06-02T12:01:00Z", "merge_commit_sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
                            "base": {"ref": "main"}, "labels": [{"name": "Hotfix"}]}}},
         {"event": "deployment_status", "payload": {"repository": {"full_name": "octo/hijack"},
           "deployment": {"id": 2, "sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "ref": "main", "environment": "production", "created_at": "2025-06-03T09:00:00Z"},
           "deployment_status": {"id": 21, "state": "failure", "created_at": "2025-06-03T09:10:00Z"}}}]')$$,
     $$SELECT concat_ws(' / ',
         (SELECT string_agg(d::text, ',' ORDER BY deployment_id) FROM metrics.dora_deployments AS d),
         (SELECT string_agg(s::text, ',' ORDER BY sha) FROM metrics.dora_deployed_shas AS s),
         (SELECT string_agg(c::text, ',' ORDER BY change_key) FROM metrics.dora_changes AS c),
         (SELECT string_agg(p::text, ',') FROM metrics.github_pull_requests AS p),
         (SELECT string_agg(p::text, ',') FROM metrics.github_pushes AS p))$$, NULL),
    ('metrics.set_environment_tier(text,text)', 'setting a tier',
     $$SELECT pg_catalog.concat_ws('|', name, tier, is_default) FROM metrics.set_environment_tier(' Hijack-Env ', 'Staging')$$,
     $$SELECT string_agg(concat_ws('|', name, tier, set_by), ',') FROM metrics.environment_settings$$, NULL),
    ('metrics.set_environment_tier(text,text)', 'removing a tier',
     $$SELECT pg_catalog.concat_ws('|', name, tier, is_default) FROM metrics.set_environment_tier('hijack-env', NULL)$$,
     $$SELECT count(*)::text FROM metrics.environment_settings$$,
     $$INSERT INTO metrics.environment_settings (name, tier, set_by) VALUES ('hijack-env', 'local', 'setup')$$),
    ('metrics.set_environment_tier(text,text)', 'a refused tier',
     $$SELECT pg_catalog.concat_ws('|', name, tier, is_default) FROM metrics.set_environment_tier('hijack-env', 'gold')$$, NULL, NULL);
-- Reading the keys (anon: read level) and explaining a day (service_role), over a history
-- the owner records first: two deployments, the second shipping a merged pull request, an
-- incident naming it and closed the next day.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role)
SELECT v.fn, v.label, v.statement, NULL, $$SELECT count(*) FROM metrics.record_github_events('[
         {"event": "deployment_status", "payload": {"repository": {"full_name": "octo/hijack"},
           "deployment": {"id": 1, "sha": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "ref": "main", "environment": "production", "created_at": "2025-06-02T10:00:00Z"},
           "deployment_status": {"id": 11, "state": "success", "created_at": "2025-06-02T10:05:00Z"}}},
         {"event": "push", "payload": {"ref": "refs/heads/main", "before": "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
           "after": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "repository": {"full_name": "octo/hijack", "pushed_at": 1748865660},
           "commits": [{"id": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "timestamp": "2025-06-02T12:00:00Z"}]}},
         {"event": "pull_request", "payload": {"action": "closed", "repository": {"full_name": "octo/hijack"},
           "pull_request": {"number": 5, "id": 5005, "state": "closed", "created_at": "2025-06-02T08:00:00Z", "updated_at": "2025-06-02T12:01:00Z",
                            "merged": true, "merged_at": "2025-06-02T12:01:00Z", "merge_commit_sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2",
                            "base": {"ref": "main"}, "labels": []}}},
         {"event": "deployment_status", "payload": {"repository": {"full_name": "octo/hijack"},
           "deployment": {"id": 2, "sha": "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "ref": "main", "environment": "production", "created_at": "2025-06-03T09:00:00Z"},
           "deployment_status": {"id": 21, "state": "success", "created_at": "2025-06-03T09:10:00Z"}}},
         {"event": "issues", "payload": {"action": "closed", "repository": {"full_name": "octo/hijack"},
           "issue": {"number": 8, "id": 8008, "state": "closed", "body": "since deployment 2", "labels": [{"name": "incident"}],
                     "created_at": "2025-06-03T10:00:00Z", "updated_at": "2025-06-04T10:00:00Z", "closed_at": "2025-06-04T10:00:00Z"}}}]')$$,
       v.api_role
FROM (VALUES
    ('metrics.get_dora_metrics(date,date,text,text,text)', 'the keys of two weeks', 'anon',
     $$SELECT pg_catalog.string_agg(r::pg_catalog.text, ',') FROM metrics.get_dora_metrics('2025-06-02', '2025-06-15', 'production', 'week', 'octo/hijack') AS r$$),
    ('metrics.get_dora_metrics(date,date,text,text,text)', 'the keys of every environment by day', 'anon',
     $$SELECT pg_catalog.string_agg(r::pg_catalog.text, ',') FROM metrics.get_dora_metrics('2025-06-01', '2025-06-05', 'all', 'day') AS r$$),
    ('metrics.explain_dora(text,text,date)', 'explaining a day', 'service_role',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', item, id, at, details, counts_for), ',')
       FROM metrics.explain_dora('octo/hijack', 'production', '2025-06-03')$$)
) AS v(fn, label, api_role, statement);

-- The single-event recorders are SECURITY INVOKER and take the owner's rights only around
-- their SQL (a direct write, the project lookup): as service_role, with a project.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role) VALUES
    ('metrics.record_route_metric(text,text,boolean,double precision,text)', 'recording a request of a project, as service_role',
     $$SELECT metrics.record_route_metric('/hijack_sr', 'GET', false, 3.5, 'hijack-rec')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT l.route, l.total_requests, l.failed, l.max_duration_ms, p.slug
                            FROM metrics.route_metrics_live AS l JOIN metrics.projects AS p ON p.id = l.project_id
                            WHERE l.route = '/hijack_sr') AS d$$,
     $$SELECT metrics.create_project('hijack-rec', 'Hijack rec')$$, 'service_role'),
    ('metrics.record_operation_metric(text,boolean,double precision,text)', 'recording an operation of a project, as service_role',
     $$SELECT metrics.record_operation_metric('hijack_sr_op', true, 8, 'hijack-rec')::pg_catalog.text$$,
     $$SELECT d::text FROM (SELECT l.operation, l.total_executions, l.successful, p.slug
                            FROM metrics.operation_metrics_live AS l JOIN metrics.projects AS p ON p.id = l.project_id
                            WHERE l.operation = 'hijack_sr_op') AS d$$,
     $$SELECT metrics.create_project('hijack-rec', 'Hijack rec')$$, 'service_role');

-- The owner-level functions, as the delegate (service_role may not call them at all).
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role) VALUES
    ('metrics.grant_api_access(name,text)', 'granting manage',
     $$SELECT pg_catalog.concat_ws('|', api_role, api_access, privileges, status) FROM metrics.grant_api_access('regress_metrics_hostile_reader', 'manage')$$,
     $$SELECT concat_ws('|', (SELECT a::text FROM (SELECT role_name, access, granted_by FROM metrics.api_access
                                                   WHERE role_name = 'regress_metrics_hostile_reader') AS a),
                        has_function_privilege('regress_metrics_hostile_reader', 'metrics.collect_daily_metrics(date)', 'EXECUTE'),
                        has_table_privilege('regress_metrics_hostile_reader', 'metrics.api_access', 'SELECT'))$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.grant_api_access(name,text)', 're-applying every level',
     $$SELECT pg_catalog.string_agg(pg_catalog.concat_ws('|', api_role, api_access, privileges, status), ',') FROM metrics.grant_api_access()$$,
     $$SELECT string_agg(concat_ws('|', r.rolname, has_function_privilege(r.oid, 'metrics.collect_daily_metrics(date)', 'EXECUTE'),
                                   has_table_privilege(r.oid, 'metrics.daily_metrics', 'SELECT')), ',' ORDER BY r.rolname)
       FROM pg_roles AS r WHERE r.rolname IN ('anon', 'authenticated', 'service_role', 'regress_metrics_hostile_reader')$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.grant_api_access(name,text)', 'a refused grant (no such role)',
     $$SELECT status FROM metrics.grant_api_access('regress_metrics_no_such_role', 'read')$$, NULL, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.revoke_api_access(name)', 'revoking',
     $$SELECT pg_catalog.concat_ws('|', api_role, api_access, privileges, status) FROM metrics.revoke_api_access('regress_metrics_hostile_reader')$$,
     $$SELECT concat_ws('|', (SELECT access FROM metrics.api_access WHERE role_name = 'regress_metrics_hostile_reader'),
                        has_schema_privilege('regress_metrics_hostile_reader', 'metrics', 'USAGE'))$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'plugging in a check',
     $$SELECT metrics.set_admin_check('regress_hooks.claims_admin()')$$,
     $$SELECT concat_ws('|', check_function, set_by) FROM metrics.admin_check$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'plugging in a check named without parentheses',
     $$SELECT metrics.set_admin_check('regress_hooks.claims_admin')$$,
     $$SELECT concat_ws('|', check_function, set_by) FROM metrics.admin_check$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'back to the default',
     $$SELECT coalesce(metrics.set_admin_check(NULL), 'default')$$,
     $$SELECT count(*)::text FROM metrics.admin_check$$,
     $$INSERT INTO metrics.admin_check (check_function) VALUES ('regress_hooks.claims_admin()')$$, 'regress_metrics_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'a refused check (needs arguments)',
     $$SELECT metrics.set_admin_check('regress_evil.note')$$, NULL, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.set_admin_check(text)', 'a refused check (not boolean)',
     $$SELECT metrics.set_admin_check('now')$$, NULL, NULL, 'regress_metrics_hostile_delegate');

-- Projects: created, changed, mapped and dropped with their own (pinned) search_path; the
-- membership check plugged in by the owner's delegate.
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role) VALUES
    ('metrics.create_project(text,text,text,boolean)', 'creating a project',
     $$SELECT pg_catalog.concat_ws('|', slug, name, time_zone, whole_database) FROM metrics.create_project('hijack', '  Hijack  ', 'Europe/Berlin')$$,
     $$SELECT pg_catalog.concat_ws('|', slug, name, time_zone) FROM metrics.projects$$, NULL, 'service_role'),
    ('metrics.create_project(text,text,text,boolean)', 'a refused project (bad time zone)',
     $$SELECT slug FROM metrics.create_project('hijack', 'Hijack', 'Mars/Olympus')$$, NULL, NULL, 'service_role'),
    ('metrics.update_project(text,text,text,text)', 'renaming a project',
     $$SELECT pg_catalog.concat_ws('|', slug, name) FROM metrics.update_project('hijack', slug => 'hijack-2', name => 'Renamed')$$,
     $$SELECT pg_catalog.concat_ws('|', slug, name) FROM metrics.projects$$,
     $$INSERT INTO metrics.projects (slug, name) VALUES ('hijack', 'Hijack')$$, 'service_role'),
    ('metrics.drop_project(text)', 'dropping a project',
     $$SELECT metrics.drop_project('hijack')::text$$, $$SELECT count(*)::text FROM metrics.projects$$,
     $$INSERT INTO metrics.projects (slug, name) VALUES ('hijack', 'Hijack')$$, 'service_role'),
    ('metrics.set_project_repository(text,text)', 'mapping a repository',
     $$SELECT (metrics.set_project_repository('octo/hijack', 'hijack') IS NOT NULL)::text$$,
     $$SELECT count(*)::text FROM metrics.project_repositories$$,
     $$INSERT INTO metrics.projects (slug, name) VALUES ('hijack', 'Hijack')$$, 'service_role'),
    ('metrics.set_project_check(text)', 'plugging in a membership check',
     $$SELECT metrics.set_project_check('regress_hooks.hijack_member(uuid)')$$,
     $$SELECT concat_ws('|', check_function, set_by) FROM metrics.project_check$$, NULL, 'regress_metrics_hostile_delegate'),
    ('metrics.set_project_check(text)', 'a refused membership check (no argument)',
     $$SELECT metrics.set_project_check('regress_hooks.claims_admin()')$$, NULL, NULL, 'regress_metrics_hostile_delegate');
CREATE FUNCTION regress_hooks.hijack_member(project uuid) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT project IS NOT NULL $$;
-- The read model: refreshing (every project, one from scratch, the maintenance step) and
-- the read API over what a refresh stored, with their own (pinned) search_path. The project
-- covers the whole database (the sealed days and, with the GitHub history of the DORA cases
-- above, the deployments of octo/hijack); its id is fixed, so the answers of the hijacked
-- and the clean calls can be compared whole. The reads are called as service_role (an
-- administrator: it reads every project) and, to be refused, as anon (no member of any).
CREATE TEMP TABLE hijack_read_setup AS
SELECT $$INSERT INTO metrics.projects (id, slug, name, whole_database)
         VALUES ('00000000-0000-0000-0000-00000000a11c', 'hijack-read', 'Hijack read', true)$$ AS project,
       (SELECT prepare FROM hijack_cases WHERE label = 'explaining a day') AS history;
INSERT INTO hijack_cases (fn, label, statement, check_sql, prepare, api_role)
SELECT v.fn, v.label, v.statement, v.check_sql,
       CASE v.setup WHEN 'project' THEN s.project
                    WHEN 'refreshed' THEN s.history || '; ' || s.project || '; SELECT count(*) FROM metrics.refresh_read_model()' END,
       v.api_role
FROM hijack_read_setup AS s CROSS JOIN (VALUES
    ('metrics.refresh_read_model(text,boolean)', 'refreshing every project', 'service_role', 'project',
     $$SELECT pg_catalog.string_agg(r::pg_catalog.text, ',') FROM metrics.refresh_read_model() AS r$$,
     $$SELECT concat_ws(' / ',
         (SELECT md5(string_agg(concat_ws('|', metric_key, time_grain, time_bucket, dimensions, value_numeric, value_json), ','
                                ORDER BY metric_key, time_grain, time_bucket, dimensions::text)) FROM metrics.metrics_trend_point),
         (SELECT md5(string_agg(concat_ws('|', metric_key, time_grain, time_bucket, dimension_key, dimension_value, value_numeric, value_json), ','
                                ORDER BY metric_key, time_grain, time_bucket, dimension_key, dimension_value)) FROM metrics.metrics_breakdown_point),
         (SELECT string_agg(payload::text, ',') FROM metrics.metrics_summary),
         (SELECT string_agg(concat_ws('|', source, watermark, cut_day, cut_hour), ',' ORDER BY source) FROM metrics.read_model_state))$$),
    ('metrics.refresh_read_model(text,boolean)', 'refreshing one project from scratch', 'service_role', 'refreshed',
     $$SELECT pg_catalog.string_agg(r::pg_catalog.text, ',') FROM metrics.refresh_read_model('hijack-read', true) AS r$$,
     $$SELECT concat_ws(' / ',
         (SELECT md5(string_agg(concat_ws('|', metric_key, time_grain, time_bucket, dimensions, value_numeric, value_json), ','
                                ORDER BY metric_key, time_grain, time_bucket, dimensions::text)) FROM metrics.metrics_trend_point),
         (SELECT md5(string_agg(concat_ws('|', metric_key, entity_type, reference_id, time_bucket, payload), ','
                                ORDER BY metric_key, entity_type, reference_id)) FROM metrics.metrics_drilldown),
         (SELECT count(*) FROM metrics.metrics_summary),
         (SELECT string_agg(concat_ws('|', source, watermark, cut_day, cut_hour), ',' ORDER BY source) FROM metrics.read_model_state))$$),
    ('metrics.refresh_read_model(text,boolean)', 'a refused refresh (no such project)', 'service_role', 'project',
     $$SELECT pg_catalog.string_agg(r::pg_catalog.text, ',') FROM metrics.refresh_read_model('hijack-nothing') AS r$$, NULL),
    ('metrics._maintenance_read_model(uuid)', 'the read-model step of a run', 'service_role', 'project',
     $$SELECT metrics._maintenance_read_model(metrics._maintenance_begin())::pg_catalog.text$$,
     $$SELECT concat_ws(' / ', (SELECT string_agg(concat_ws('|', step, status, details), ',' ORDER BY step) FROM metrics.maintenance_log),
                        (SELECT count(*) FROM metrics.metrics_trend_point), (SELECT count(*) FROM metrics.metrics_summary))$$),
    ('metrics.get_summary(text)', 'the summary and today so far', 'service_role', 'refreshed',
     $$SELECT metrics.get_summary('hijack-read')::pg_catalog.text$$, NULL),
    ('metrics.get_summary(text)', 'a refused summary (anon is no member)', 'anon', 'refreshed',
     $$SELECT metrics.get_summary('hijack-read')::pg_catalog.text$$, NULL),
    ('metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'a stored daily series', 'service_role', 'refreshed',
     $$SELECT metrics.get_trend('hijack-read', 'posts_created', 'day', '2025-05-31', '2025-06-05')::pg_catalog.text$$, NULL),
    ('metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'requests by the hour, the open one live', 'service_role', 'refreshed',
     $$SELECT metrics.get_trend('hijack-read', 'requests', 'hour')::pg_catalog.text$$, NULL),
    ('metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'a refused trend (unknown metric key)', 'service_role', 'refreshed',
     $$SELECT metrics.get_trend('hijack-read', 'posts_creatd')::pg_catalog.text$$, NULL),
    ('metrics.get_trend(text,text,text,timestamp with time zone,timestamp with time zone,jsonb)', 'a refused trend (bad grain)', 'service_role', 'refreshed',
     $$SELECT metrics.get_trend('hijack-read', 'posts_created', 'daily')::pg_catalog.text$$, NULL),
    ('metrics.get_breakdown(text,text,text,timestamp with time zone,timestamp with time zone)', 'a stored breakdown', 'service_role', 'refreshed',
     $$SELECT metrics.get_breakdown('hijack-read', 'top_genres', start_at => '2025-05-31', end_at => '2025-06-05')::pg_catalog.text$$, NULL),
    ('metrics.get_drilldown(text,text,text,integer,text)', 'two pages of deployments', 'service_role', 'refreshed',
     $$SELECT metrics.get_drilldown('hijack-read', 'dora_deployment_frequency', 'deployment', 1,
                                    metrics.get_drilldown('hijack-read', 'dora_deployment_frequency', 'deployment', 1) ->> 'next')::pg_catalog.text$$, NULL),
    ('metrics.get_drilldown(text,text,text,integer,text)', 'a refused page (not a cursor)', 'service_role', 'refreshed',
     $$SELECT metrics.get_drilldown('hijack-read', 'dora_deployment_frequency', 'deployment', after => 'hijack')::pg_catalog.text$$, NULL)
) AS v(fn, label, api_role, setup, statement, check_sql);

GRANT EXECUTE ON FUNCTION regress_hooks.hijack_member(uuid) TO PUBLIC;

-- The calls that must be refused, and with what (the others must succeed).
UPDATE hijack_cases AS c SET refused = v.state
FROM (VALUES ('a refused definition (did-you-mean hint)', '42P01'),
             ('a refused deactivation (a percentage uses it)', '2BP01'),
             ('scheduling without pg_cron', '42704'),
             ('a refused schedule', '22023'),
             ('unscheduling without pg_cron', '42704'),
             ('scheduling maintenance without pg_cron', '42704'),
             ('unscheduling maintenance without pg_cron', '42704'),
             ('a refused grant (no such role)', '42704'),
             ('a refused check (needs arguments)', '42809'),
             ('a refused check (not boolean)', '42804'),
             ('a refused payload (no sha)', '22023'),
             ('a refused tier', '22023'),
             ('a refused project (bad time zone)', '22023'),
             ('a refused membership check (no argument)', '42809'),
             ('a refused refresh (no such project)', '42704'),
             ('a refused summary (anon is no member)', '42704'),
             ('a refused trend (unknown metric key)', '42704'),
             ('a refused trend (bad grain)', '22023'),
             ('a refused page (not a cursor)', '22023')) AS v(label, state)
WHERE c.label = v.label;

-- Every SECURITY DEFINER function, get_dora_metrics (it runs as its caller, whose search_path
-- its own pinned one replaces while it reads the views) and the single-event recorders (which
-- take the owner's rights and a pinned search_path around their SQL).
SELECT set_eq(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p WHERE p.pronamespace = 'metrics'::regnamespace
        AND (p.prosecdef OR p.oid IN ('metrics.get_dora_metrics(date,date,text,text,text)'::regprocedure,
                                      'metrics.record_route_metric(text,text,boolean,double precision,text)'::regprocedure,
                                      'metrics.record_operation_metric(text,boolean,double precision,text)'::regprocedure))$$,
    $$SELECT DISTINCT to_regprocedure(fn)::text FROM hijack_cases$$,
    'the hijack reaches every SECURITY DEFINER function of the extension (and get_dora_metrics, the single-event recorders)');

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

-- ---------------------------------------------------------------------------------------
-- Nothing hostile left a trace.
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_temp.no_hostile_trace();

SELECT * FROM finish();
ROLLBACK;
