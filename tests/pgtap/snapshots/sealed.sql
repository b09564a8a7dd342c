-- Sealed means sealed: the seal holds for a superuser (session_replication_role = replica,
-- a row for a day that has not ended), every value records the definition version that
-- computed it, bad days are isolated, non-finite values are never sealed, the chunked
-- backfill refuses a transaction block before any work, and DROP EXTENSION asks first.
BEGIN;
SELECT plan(53);
\ir ../../fixtures/setup.sql

-- The seal, as a superuser.
SELECT lives_ok($$SELECT * FROM metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src')$$,
                'define a metric');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-01', '2025-06-07')$$, 'seal a week');
SELECT throws_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value)
                   VALUES (metrics.last_closed_day() + 1, 'count', 'posts_created', 42)$$,
                 '23514', NULL, 'a value for today, which has not ended, is refused');
SELECT throws_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value)
                   VALUES (metrics.last_closed_day() + 30, 'count', 'posts_created', 42)$$,
                 '23514', NULL, 'a value for a future day is refused');
SELECT lives_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value)
                  VALUES ('2025-05-01', 'count', 'posts_created', 7)$$,
                'a value for a closed day can be inserted (that is what a restore does)');
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$UPDATE metrics.daily_metrics SET value = value + 1$$, '42501', NULL,
                 'under session_replication_role = replica an UPDATE is still refused');
SELECT throws_ok($$DELETE FROM metrics.daily_metrics$$, '42501', NULL, 'and a DELETE');
SELECT throws_ok($$TRUNCATE metrics.daily_metrics$$, '42501', NULL, 'and a TRUNCATE');
SELECT throws_ok($$INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value)
                   VALUES (metrics.last_closed_day() + 1, 'count', 'posts_created', 42)$$,
                 '23514', NULL, 'and a value for a day that has not ended');
SELECT throws_ok($$TRUNCATE metrics.metric_revisions$$, '42501', NULL, 'revisions stay sealed too');
RESET session_replication_role;
SELECT is((SELECT metric_date FROM metrics.current_metrics() WHERE metric_category = 'posts_created'),
          date '2025-06-07', 'current_metrics shows the last collected day, nothing planted after it');
SELECT is_empty($$SELECT * FROM metrics.verify_security() WHERE finding = 'sealed history unprotected'$$,
                'verify_security finds the seal in place');
ALTER TABLE metrics.daily_metrics ENABLE TRIGGER daily_metrics_sealed;
SELECT results_eq($$SELECT object_name FROM metrics.verify_security() WHERE finding = 'sealed history unprotected'$$,
                  $$VALUES ('daily_metrics_sealed on metrics.daily_metrics')$$,
                  'a seal trigger that does not fire ALWAYS is a finding');
ALTER TABLE metrics.daily_metrics ENABLE ALWAYS TRIGGER daily_metrics_sealed;

-- Provenance: a version per definition, recorded with every value and revision.
SELECT results_eq($$SELECT definition_version, previous_definitions FROM metrics.metric_definitions WHERE metric_category = 'posts_created'$$,
                  $$VALUES (1, '[]'::jsonb)$$, 'a new definition is version 1');
SELECT is((SELECT count(*) FROM metrics.daily_metrics WHERE metric_category = 'posts_created' AND definition_version = 1),
          7::bigint, 'the week''s values record version 1');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src',
                                                     display_name => 'Posts per day', replace => true)$$,
                'a replace that changes only the label');
SELECT is((SELECT definition_version FROM metrics.metric_definitions WHERE metric_category = 'posts_created'), 1,
          'keeps the version: nothing it computes changed');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src',
                                                     filter => $f$status = 'published'$f$, replace => true)$$,
                'a replace with a filter');
SELECT results_eq($$SELECT definition_version, jsonb_array_length(previous_definitions),
                           previous_definitions->0->>'definition_version', previous_definitions->0->>'filter'
                    FROM metrics.metric_definitions WHERE metric_category = 'posts_created'$$,
                  $$VALUES (2, 1, '1', NULL::text)$$, 'is version 2, and version 1 is kept as it was');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-06-08', '2025-06-14')$$, 'seal the next week');
SELECT results_eq($$SELECT definition_version, count(*) FROM metrics.daily_metrics
                    WHERE metric_category = 'posts_created' AND metric_date >= '2025-06-01' GROUP BY 1 ORDER BY 1$$,
                  $$VALUES (1, 7::bigint), (2, 7::bigint)$$, 'each value records the version that computed it');
SELECT results_eq($$SELECT period_start, metadata->'definition_versions' FROM metrics.fetch_metrics('2025-06-02', '2025-06-15', ARRAY['posts_created'], aggregation => 'weekly')$$,
                  $$VALUES (date '2025-06-02', '[1, 2]'::jsonb), (date '2025-06-09', '[2]'::jsonb)$$,
                  'fetch_metrics names the versions of each period');
SELECT is((SELECT metadata->>'definition_version' FROM metrics.fetch_metrics('2025-06-03', '2025-06-03', ARRAY['posts_created'])), '1',
          'and of each day');
SELECT is((SELECT count(*) FROM metrics.recollect_outdated('2025-06-01', '2025-06-14', 'the filter changed', ARRAY['posts_created'])),
          7::bigint, 'recollect_outdated recomputes the values of the older version');
SELECT is_empty($$SELECT d.metric_date FROM metrics.daily_metrics AS d
                  WHERE d.metric_category = 'posts_created' AND d.metric_date BETWEEN '2025-06-01' AND '2025-06-14'
                    AND (d.definition_version <> 2 OR d.value <> (SELECT count(*) FROM regress_src.posts AS p
                         WHERE p.status = 'published' AND p.created_at >= d.metric_date::timestamptz AND p.created_at < (d.metric_date + 1)::timestamptz))$$,
                'now every value is version 2 and equals the count of published posts');
SELECT results_eq($$SELECT old_definition_version, new_definition_version, count(*) FROM metrics.metric_revisions
                    WHERE reason = 'the filter changed' GROUP BY 1, 2$$,
                  $$VALUES (1, 2, 7::bigint)$$, 'each revision records both versions');
SELECT is((SELECT count(*) FROM metrics.recollect_outdated('2025-06-01', '2025-06-14', 'again')), 0::bigint,
          'a second run finds nothing outdated');

-- One bad day fails alone; a value that is not a finite number is never sealed.
CREATE TABLE regress_src.readings (taken_at timestamptz NOT NULL, x float8, y float8);
INSERT INTO regress_src.readings
SELECT d + interval '1 hour' * h, h, h FROM generate_series(timestamptz '2025-03-01', '2025-03-05', '1 day') AS d, generate_series(1, 5) AS h;
INSERT INTO regress_src.readings VALUES ('2025-03-03 12:00', 'NaN', 1), ('2025-03-04 12:00', 1, 1e308), ('2025-03-04 13:00', 1, 1e308);
SELECT lives_ok($$SELECT * FROM metrics.define_metric('readings_taken', 'created', source_table => 'readings', source_schema => 'regress_src', time_column => 'taken_at')$$, 'a count');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('avg_x', 'average', source_table => 'readings', source_schema => 'regress_src', time_column => 'taken_at', value_column => 'x')$$, 'an average with a NaN on one day');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('avg_y', 'average', source_table => 'readings', source_schema => 'regress_src', time_column => 'taken_at', value_column => 'y')$$, 'an average whose sum overflows on one day');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-01', '2025-03-05')$$, 'backfill the five days');
SELECT results_eq($$SELECT metric_category, count(*) FROM metrics.daily_metrics
                    WHERE metric_category IN ('readings_taken', 'avg_x', 'avg_y') GROUP BY 1 ORDER BY 1$$,
                  $$VALUES ('avg_x', 4::bigint), ('avg_y', 4::bigint), ('readings_taken', 5::bigint)$$,
                  'every other day of both averages is sealed, and the count on every day');
SELECT results_eq($$SELECT f.key, f.value->>'sqlstate', f.value->'days'
                    FROM metrics.metric_collection_log AS l, jsonb_each(l.error_details->'failures') AS f
                    WHERE l.collection_date = '2025-03-01' ORDER BY 1$$,
                  $$VALUES ('avg_x', '22003', '["2025-03-03"]'::jsonb), ('avg_y', '22003', '["2025-03-04"]'::jsonb)$$,
                  'the log names each bad day with its error');
SELECT is_empty($$SELECT 1 FROM metrics.daily_metrics WHERE value::text IN ('NaN', 'Infinity', '-Infinity')
                  OR metadata::text ~ '"(NaN|Infinity|-Infinity)"'$$, 'no NaN or infinity is sealed, in a value or its metadata');
SELECT is((SELECT value FROM metrics.daily_metrics WHERE metric_category = 'avg_x' AND metric_date = '2025-03-05'),
          (SELECT avg(x)::numeric FROM regress_src.readings WHERE taken_at >= '2025-03-05' AND taken_at < '2025-03-06'),
          'a sealed average equals the source''s');

-- A source owned by a role that is no superuser: a distinct metric and a breakdown over it
-- can be defined (its owner is given what computing the sketch needs, and nothing more) and
-- sealed; a group named "NaN" is a group like any other.
CREATE ROLE regress_metrics_source_owner NOLOGIN;
CREATE TABLE regress_src.owned (tag text, user_id int, at timestamptz);
ALTER TABLE regress_src.owned OWNER TO regress_metrics_source_owner;
GRANT USAGE ON SCHEMA regress_src TO regress_metrics_source_owner;
INSERT INTO regress_src.owned VALUES ('NaN', 1, '2025-03-10 10:00'), ('To Infinity', 2, '2025-03-10 11:00'), ('NaN', 2, '2025-03-10 12:00');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('owned_users', 'distinct', source_table => 'owned', source_schema => 'regress_src', time_column => 'at', value_column => 'user_id')$$,
                'a distinct metric over a table its owner (not a superuser) owns');
SELECT lives_ok($$SELECT * FROM metrics.define_metric('owned_tags', 'breakdown', source_table => 'owned', source_schema => 'regress_src', time_column => 'at', value_column => 'tag')$$,
                'and a breakdown');
SELECT lives_ok($$SELECT * FROM metrics.backfill_daily_metrics('2025-03-10', '2025-03-10')$$, 'collect their day');
SELECT results_eq($$SELECT metric_category, value FROM metrics.daily_metrics WHERE metric_category LIKE 'owned_%' ORDER BY 1$$,
                  $$VALUES ('owned_tags', 2::numeric), ('owned_users', 2::numeric)$$,
                  'both are sealed, the group "NaN" included');
SELECT results_eq($$SELECT has_schema_privilege('regress_metrics_source_owner', 'metrics', 'USAGE'),
                           has_function_privilege('regress_metrics_source_owner', 'metrics._distinct_sketch(bigint)', 'EXECUTE'),
                           has_table_privilege('regress_metrics_source_owner', 'metrics.daily_metrics', 'SELECT')$$,
                  $$VALUES (true, true, false)$$, 'the owner may call the sketch aggregate, and read nothing of the schema');

-- The chunked backfill cannot commit inside this transaction: refused before any work.
SELECT count(*) AS runs_before FROM metrics.metric_collection_log \gset
SELECT throws_ok($$CALL metrics.backfill_daily_metrics_chunked('2025-01-01', '2025-01-31')$$, '25001',
                 'metrics.backfill_daily_metrics_chunked cannot run inside a transaction block',
                 'the chunked backfill inside a transaction block is refused');
SELECT is((SELECT count(*) FROM metrics.metric_collection_log), :runs_before::bigint, 'and did nothing');

-- DROP EXTENSION asks first, and a schema of that name that is someone else's is refused.
SELECT throws_ok($$DROP EXTENSION metrics$$, '2BP01', NULL, 'DROP EXTENSION with sealed values is refused');
SELECT throws_ok($$DROP SCHEMA metrics CASCADE$$, '2BP01', NULL, 'so is DROP SCHEMA metrics CASCADE');
SELECT throws_ok($$DROP OWNED BY CURRENT_USER$$, '2BP01', NULL, 'and DROP OWNED BY the extension''s owner');
SET LOCAL session_replication_role = replica;
SELECT throws_ok($$DROP EXTENSION metrics$$, '2BP01', NULL, 'also under session_replication_role = replica');
RESET session_replication_role;
CREATE SCHEMA regress_other;
SELECT lives_ok($$DROP SCHEMA regress_other CASCADE$$, 'other drops are not affected');
SET LOCAL metrics.allow_drop_history = on;
SELECT lives_ok($$DROP EXTENSION metrics$$, 'confirmed in the transaction, it is dropped');
SELECT hasnt_table('metrics', 'daily_metrics', 'with its history');
RESET metrics.allow_drop_history;
SELECT lives_ok($$CREATE EXTENSION metrics$$, 'an empty schema left behind is accepted');
SELECT lives_ok($$DROP EXTENSION metrics$$, 'without sealed values the drop needs no confirmation');
CREATE TABLE metrics.someone_elses (x int);
SELECT throws_ok($$CREATE EXTENSION metrics$$, '42P06', NULL,
                 'CREATE EXTENSION into a schema metrics that holds other objects is refused');
DROP TABLE metrics.someone_elses;
GRANT USAGE ON SCHEMA metrics TO PUBLIC;
SELECT throws_ok($$CREATE EXTENSION metrics$$, '42P06', NULL,
                 'and into one that grants privileges to others');

SELECT * FROM finish();
ROLLBACK;
