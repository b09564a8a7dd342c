-- The security baseline, exercised as the roles an API uses (anon, authenticated,
-- service_role, as Supabase defines them: tests/fixtures/supabase.sql, which scripts/test
-- loads into the test database), each call made the way PostgREST makes it:
-- set_config('role', ...) and request.jwt.claims.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(44);
\ir ../../fixtures/setup.sql
-- pgTAP keeps its bookkeeping in temporary tables; the roles under test must be able to write them.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;

SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-03')$$, 'seal three days');
DELETE FROM regress_src.posts WHERE id = (SELECT min(id) FROM regress_src.posts WHERE created_at < '2025-06-01');
SELECT results_eq($$SELECT changed FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], 'a revision to look at')$$,
                  $$VALUES (true)$$, 'record a revision');

-- anon: reads the analytics, nothing else.
SELECT set_config('request.jwt.claims', '{"role": "anon"}', true), set_config('role', 'anon', true);
SELECT is(current_user::text, 'anon', 'now acting as anon');
SELECT is((SELECT count(*) FROM metrics.daily_metrics), 27::bigint, 'anon reads daily metrics');
SELECT is((SELECT count(*) FROM metrics.metric_definitions), 9::bigint, 'anon reads metric definitions');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 0::bigint, 'anon sees no collection log rows');
SELECT is((SELECT count(*) FROM metrics.metric_revisions), 0::bigint, 'anon sees no revisions');
SELECT ok((SELECT count(*) FROM metrics.fetch_metrics('2025-06-01', '2025-06-03')) = 27, 'anon calls fetch_metrics');
SELECT ok((SELECT count(*) FROM metrics.current_metrics()) = 9, 'anon calls current_metrics');
SELECT ok((SELECT count(*) FROM metrics.activity_series(3)) = 9, 'anon calls activity_series');
SELECT throws_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value) VALUES ('2025-06-04', 'count', 'posts_total', 1)$$, '42501', NULL, 'anon cannot insert metrics');
SELECT throws_ok($$UPDATE metrics.daily_metrics SET value = 0$$, '42501', NULL, 'anon cannot update metrics');
SELECT throws_ok($$DELETE FROM metrics.daily_metrics$$, '42501', NULL, 'anon cannot delete metrics');
SELECT throws_ok($$UPDATE metrics.metric_definitions SET is_active = false$$, '42501', NULL, 'anon cannot change definitions');
SELECT throws_ok($$INSERT INTO metrics.metric_collection_log (collection_date, range_end, run_type, started_at, status, timezone, executed_by) VALUES (current_date, current_date, 'collect', now(), 'completed', 'UTC', 'x')$$, '42501', NULL, 'anon cannot forge log rows');
SELECT throws_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-04')$$, '42501', NULL, 'anon cannot collect');
SELECT throws_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-04', '2025-06-05')$$, '42501', NULL, 'anon cannot backfill');
SELECT throws_ok($$CALL metrics.backfill_daily_metrics_chunked('2025-06-04', '2025-06-05')$$, '42501', NULL, 'anon cannot run the chunked backfill');
SELECT throws_ok($$SELECT * FROM metrics.recollect('2025-06-01', ARRAY['posts_total'], 'x')$$, '42501', NULL, 'anon cannot correct values');
SELECT throws_ok($$SELECT * FROM metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'regress_src')$$, '42501', NULL, 'anon cannot define metrics');
SELECT throws_ok($$SELECT metrics.deactivate_metric('posts_total')$$, '42501', NULL, 'anon cannot deactivate metrics');
SELECT throws_ok($$SELECT * FROM metrics.install_preset('social')$$, '42501', NULL, 'anon cannot install presets');
SELECT throws_ok($$SELECT metrics.schedule_daily_collection()$$, '42501', NULL, 'anon cannot schedule jobs');
SELECT throws_ok($$SELECT metrics.unschedule_daily_collection()$$, '42501', NULL, 'anon cannot unschedule jobs');
SELECT set_config('role', 'none', true);

-- authenticated: the same, and the log only with an admin claim.
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001"}', true), set_config('role', 'authenticated', true);
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 0::bigint, 'an ordinary user sees no collection log rows');
SELECT throws_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-04')$$, '42501', NULL, 'an ordinary user cannot collect');
SELECT set_config('request.jwt.claims', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', true);
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 2::bigint, 'an admin sees the collection log');
SELECT is((SELECT count(*) FROM metrics.metric_revisions), 1::bigint, 'and the revisions');
SELECT throws_ok($$DELETE FROM metrics.metric_collection_log$$, '42501', NULL, 'but cannot change them');
SELECT set_config('request.jwt.claims', 'not json', true);
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 0::bigint, 'malformed claims grant nothing');
SELECT set_config('role', 'none', true);

-- service_role bypasses RLS, so it reads the log, but it writes nothing directly.
SELECT set_config('request.jwt.claims', '{"role": "service_role"}', true), set_config('role', 'service_role', true);
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), 2::bigint, 'service_role reads the log');
SELECT throws_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value) VALUES ('2025-06-04', 'count', 'posts_total', 1)$$, '42501', NULL, 'service_role cannot insert directly');
SELECT set_config('role', 'none', true);

-- A role allowed to define metrics still needs to be able to read the source.
CREATE ROLE regress_metrics_definer;
SELECT results_eq($$SELECT api_role::text COLLATE "default", api_access, status FROM metrics.grant_api_access('regress_metrics_definer', 'manage')$$,
                  $$VALUES ('regress_metrics_definer', 'manage', 'applied')$$, 'give a plain role the manage level');
SELECT set_config('role', 'regress_metrics_definer', true);
SELECT pg_temp.fails_with($$SELECT * FROM metrics.define_metric('definer_posts', 'created', source_table => 'posts', source_schema => 'regress_src')$$,
                          '42501', 'defining a metric over a table one cannot read is refused');
SELECT set_config('role', 'none', true);
GRANT SELECT ON regress_src.posts TO regress_metrics_definer;
SELECT set_config('role', 'regress_metrics_definer', true);
SELECT lives_ok($$SELECT * FROM metrics.define_metric('definer_posts', 'created', source_table => 'posts', source_schema => 'regress_src')$$,
                'with SELECT on it, the same definition is accepted');
SELECT set_config('role', 'none', true);
SELECT is((SELECT defined_by FROM metrics.metric_definitions WHERE metric_category = 'definer_posts'), 'regress_metrics_definer', 'the definition records who made it');

-- Sources are read with their owner's rights: a view's functions never run as the extension owner.
CREATE ROLE regress_metrics_view_owner;
GRANT USAGE ON SCHEMA regress_src TO regress_metrics_view_owner;
GRANT SELECT ON regress_src.posts TO regress_metrics_view_owner;
CREATE TABLE regress_src.who_ran (role_name text);
GRANT INSERT ON regress_src.who_ran TO PUBLIC;
CREATE FUNCTION regress_src.note_reader() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO regress_src.who_ran VALUES (current_user); RETURN true; END $$;
CREATE VIEW regress_src.watched_posts AS SELECT * FROM regress_src.posts WHERE regress_src.note_reader();
ALTER VIEW regress_src.watched_posts OWNER TO regress_metrics_view_owner;
SELECT lives_ok($$SELECT * FROM metrics.define_metric('watched_posts', 'created', source_table => 'watched_posts', source_schema => 'regress_src')$$, 'define a metric over a view with a function in it');
SELECT lives_ok($$SELECT * FROM metrics.collect_daily_metrics('2025-06-10')$$, 'collect it');
SELECT results_eq($$SELECT DISTINCT role_name FROM regress_src.who_ran$$, $$VALUES ('regress_metrics_view_owner')$$,
                  'the view''s function ran as the view''s owner, not as the extension owner');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-10' AND metric_category = 'watched_posts'),
          (SELECT value FROM metrics.daily_metrics WHERE metric_date = '2025-06-10' AND metric_category = 'posts_created'),
          'and the view counts the same posts');

-- search_path hijacking: look-alike operators and tables earlier on the caller's path change nothing.
CREATE SCHEMA regress_evil;
CREATE FUNCTION regress_evil.date_plus(date, integer) RETURNS date LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE OPERATOR regress_evil.+ (LEFTARG = date, RIGHTARG = integer, FUNCTION = regress_evil.date_plus);
CREATE FUNCTION regress_evil.count_hijack(bigint) RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked'; END $$;
CREATE TABLE regress_evil.daily_metrics (LIKE metrics.daily_metrics);
CREATE TEMP TABLE metric_definitions (LIKE metrics.metric_definitions);
SET LOCAL search_path = regress_evil, pg_catalog, public;
SELECT results_eq($$SELECT metrics_collected, status FROM metrics.collect_daily_metrics('2025-06-11')$$,
                  $$VALUES (11, 'completed')$$, 'collection ignores look-alikes on the caller''s search_path');
SELECT is((SELECT count(*) FROM regress_evil.daily_metrics), 0::bigint, 'nothing went into the look-alike table');
SELECT lives_ok($$SELECT * FROM metrics.fetch_metrics('2025-06-01', '2025-06-11', aggregation => 'weekly')$$, 'the read API too');
RESET search_path;

SELECT * FROM finish();
ROLLBACK;
