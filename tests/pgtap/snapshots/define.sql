-- Defining metrics: every check, every error with its SQLSTATE and a hint, and nothing
-- written when a definition is refused. Filters go through PostgreSQL's own parser.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(70);
\ir ../../fixtures/setup.sql

-- A valid definition is stored with its defaults.
SELECT results_eq(
    $$SELECT metric_category, metric_type, kind, source, filter, is_active
      FROM metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src')$$,
    $$VALUES ('posts_created', 'count', 'created', '"regress_src"."posts" by "created_at"', NULL::text, true)$$,
    'define_metric returns the stored definition');
SELECT results_eq(
    $$SELECT display_name, unit, time_column, is_active, defined_by FROM metrics.metric_definitions WHERE metric_category = 'posts_created'$$,
    $$VALUES ('Posts created', 'count', 'created_at', true, current_user::text COLLATE "default")$$,
    'display name, unit and time column default sensibly');

-- Arguments every kind needs or refuses.
SELECT pg_temp.fails_with($$SELECT metrics.define_metric(NULL, 'created', source_table => 'posts')$$, '22004', 'category must not be NULL');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', NULL, source_table => 'posts')$$, '22004', 'kind must not be NULL');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('Posts Created', 'created', source_table => 'posts', source_schema => 'regress_src')$$, '22023', 'a category must be a lower-case slug');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x''; DROP TABLE regress_src.posts; --', 'created', source_table => 'posts')$$, '22023', 'an injection attempt as category is just an invalid category');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'sum', source_table => 'posts', source_schema => 'regress_src')$$, '22023', 'unknown kinds are refused');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created')$$, '22004', 'created metrics need a source table');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'distinct', source_table => 'posts', source_schema => 'regress_src')$$, '22004', 'distinct metrics need a value column');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'total', source_table => 'posts', source_schema => 'regress_src', value_column => 'user_id')$$, '22023', 'total metrics take no value column');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'percentage', numerator => 'posts_created')$$, '22004', 'percentages need a denominator');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'percentage', numerator => 'posts_created', denominator => 'posts_created', source_table => 'posts')$$, '22023', 'percentages read no source table');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'percentage', numerator => 'x', denominator => 'posts_created')$$, '22023', 'a percentage cannot divide itself');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'percentage', numerator => 'nope', denominator => 'posts_created')$$, '42704', 'a percentage of an undefined metric is refused');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'breakdown', source_table => 'tracks', source_schema => 'regress_src', value_column => 'genre', top_n => 0)$$, '22023', 'top_n must be positive');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'regress_src', description => repeat('d', 1001))$$, '22001', 'oversized text is refused');

-- The source must exist, be readable as rows, and have columns of the right types.
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'nope')$$, '3F000', 'a missing schema is reported');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'postz', source_schema => 'regress_src')$$, '42P01', 'a missing table is reported');
SELECT matches((pg_temp.error_of($$SELECT metrics.define_metric('x', 'created', source_table => 'Posts', source_schema => 'regress_src')$$))->>'hint',
               'did you mean "posts"', 'a case mismatch gets a did-you-mean hint');
CREATE SEQUENCE regress_src.a_sequence;
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'a_sequence', source_schema => 'regress_src')$$, '42809', 'a sequence is not a source');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'regress_src', time_column => 'inserted_at')$$, '42703', 'a missing time column is reported');
SELECT matches((pg_temp.error_of($$SELECT metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'regress_src', time_column => 'inserted_at')$$))->>'detail',
               'user_id', 'the error lists the columns that do exist');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'created', source_table => 'posts', source_schema => 'regress_src', time_column => 'status')$$, '42804', 'a text time column is refused');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'average', source_table => 'posts', source_schema => 'regress_src', value_column => 'status')$$, '42804', 'averages need a numeric column');
CREATE TABLE regress_src.events (id int, payload json, created_at date);
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('x', 'distinct', source_table => 'events', source_schema => 'regress_src', value_column => 'payload')$$, '42883', 'distinct needs comparable values');
SELECT lives_ok($$SELECT metrics.define_metric('events_per_day', 'created', source_table => 'events', source_schema => 'regress_src')$$, 'a date time column is accepted');

-- Duplicates, replacement, and type changes over sealed history.
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src')$$, '42710', 'a category is defined once');
SELECT results_eq(
    $$SELECT filter FROM metrics.define_metric('posts_created', 'created', source_table => 'posts', source_schema => 'regress_src',
                                               filter => 'status = ''published''', replace => true)$$,
    $$VALUES ('(status = ''published''::text)')$$,
    'replace => true redefines it, with the filter normalised');

-- Filters: PostgreSQL parses them; only a boolean expression over the source's own columns,
-- built from non-volatile built-ins, is accepted.
SELECT results_eq(
    $$SELECT filter FROM metrics.define_metric('long_posts', 'created', source_table => 'posts', source_schema => 'regress_src',
                                               filter => 'length > 500 AND status IN (''published'', ''featured'')')$$,
    $$VALUES ('((length > 500) AND (status = ANY (ARRAY[''published''::text, ''featured''::text])))')$$,
    'a filter is stored as PostgreSQL deparses it');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f1', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status = ')$$, '42601', 'a syntax error in a filter');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f2', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'colour = ''red''')$$, '42703', 'an unknown column in a filter');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f3', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'length + 1')$$, '42804', 'a non-boolean filter');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f4', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'true) UNION SELECT 1 FROM pg_authid WHERE (true')$$, '42601', 'a filter cannot add a UNION');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f5', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'true); DROP TABLE regress_src.comments; SELECT (1')$$, '42601', 'a filter cannot add statements');
SELECT has_table('regress_src', 'comments', 'and the table is still there');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f6', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'true) GROUP BY (id')$$, '42601', 'a filter cannot add a GROUP BY');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f7', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status = ''x'' --')$$, '42601', 'a filter cannot comment out the rest');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f8', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'EXISTS (SELECT 1 FROM pg_authid)')$$, '0A000', 'a filter cannot contain a subquery');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f9', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'user_id IN (SELECT id FROM regress_src.profiles)')$$, '0A000', 'nor an IN subquery');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f10', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'random() < 0.5')$$, '0A000', 'a filter cannot call a volatile function');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f11', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'pg_read_file(''/etc/passwd'') IS NOT NULL')$$, '0A000', 'nor read files');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f12', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'set_config(''role'', ''postgres'', false) IS NOT NULL')$$, '0A000', 'nor change settings');
CREATE FUNCTION regress_src.looks_harmless(text) RETURNS boolean IMMUTABLE LANGUAGE sql AS 'SELECT true';
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f13', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'regress_src.looks_harmless(status)')$$, '0A000', 'a filter cannot call a user-defined function, even an immutable one');
CREATE FUNCTION regress_src.eq_op(text, text) RETURNS boolean IMMUTABLE LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR regress_src.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = regress_src.eq_op);
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f14', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status OPERATOR(regress_src.===) ''x''')$$, '0A000', 'nor a user-defined operator');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f15', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'count(*) > 1')$$, '0A000', 'nor an aggregate');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f16', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'regress_src.comments.id = 1')$$, '0A000', 'nor another table''s columns');
CREATE DOMAIN regress_src.checked_text AS text CHECK (regress_src.looks_harmless(VALUE));
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f17', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'status = ''a''::regress_src.checked_text')$$, '0A000', 'nor a cast to a domain, whose check could run user code');

-- A filter that closes and reopens parentheses is one expression only inside the parentheses
-- the extension adds: refused. An OR that is always true is one expression once normalised;
-- it cannot escape the day's time bounds (checked against collected values in collect.sql).
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('f18', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'false) OR (true')$$, '42601', 'a parenthesis trick is not one balanced expression');
SELECT results_eq(
    $$SELECT filter FROM metrics.define_metric('escape_attempt', 'created', source_table => 'posts', source_schema => 'regress_src', filter => '(false) OR (true)')$$,
    $$VALUES ('(false OR true)')$$,
    'an OR that is always true is normalised into a single expression');

-- Nothing was written by any refused call.
SELECT set_eq($$SELECT metric_category FROM metrics.metric_definitions$$,
              $$VALUES ('posts_created'), ('long_posts'), ('events_per_day'), ('escape_attempt')$$,
              'refused definitions left nothing behind');

-- Deactivation and activation.
SELECT lives_ok($$SELECT metrics.define_metric('users_total', 'total', source_table => 'profiles', source_schema => 'regress_src')$$, 'define users_total');
SELECT lives_ok($$SELECT metrics.define_metric('post_share', 'percentage', numerator => 'posts_created', denominator => 'users_total')$$, 'define a percentage');
SELECT pg_temp.fails_with($$SELECT metrics.define_metric('bad_ratio', 'percentage', numerator => 'post_share', denominator => 'users_total')$$, '22023', 'a percentage of a percentage is refused');
SELECT pg_temp.fails_with($$SELECT metrics.deactivate_metric('posts_created')$$, '2BP01', 'a metric used by an active percentage stays active');
SELECT pg_temp.fails_with($$SELECT metrics.deactivate_metric('nope')$$, '42704', 'deactivating an unknown metric');
SELECT pg_temp.fails_with($$SELECT metrics.deactivate_metric(NULL)$$, '22004', 'deactivating NULL');
SELECT is(metrics.deactivate_metric('post_share'), true, 'deactivate returns true when it changes something');
SELECT is(metrics.deactivate_metric('post_share'), false, 'and false the second time');
SELECT is(metrics.deactivate_metric('posts_created'), true, 'the parts can go once the percentage is inactive');
SELECT pg_temp.fails_with($$SELECT metrics.activate_metric('post_share')$$, '23503', 'a percentage cannot be activated while a part is inactive');
SELECT is(metrics.activate_metric('posts_created'), true, 'activate returns true when it changes something');
SELECT is(metrics.activate_metric('post_share'), true, 'then the percentage can be activated');
SELECT is(metrics.activate_metric('post_share'), false, 'and activating again changes nothing');
ALTER TABLE regress_src.events RENAME COLUMN created_at TO happened_on;
SELECT is(metrics.deactivate_metric('events_per_day'), true, 'deactivate events_per_day');
SELECT pg_temp.fails_with($$SELECT metrics.activate_metric('events_per_day')$$, '42703', 'activation re-checks the source');

-- Presets.
SELECT pg_temp.fails_with($$SELECT * FROM metrics.install_preset('ecommerce', 'regress_src')$$, '22023', 'unknown presets are refused');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.install_preset('social', 'nope')$$, '3F000', 'a preset over a missing schema');
CREATE SCHEMA regress_empty;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.install_preset('social', 'regress_empty')$$, '42P01', 'the core tables must exist');
CREATE TABLE regress_src.likes (id int, liked_at timestamptz);
SELECT results_eq(
    $$SELECT metric_category, status FROM metrics.install_preset('social', 'regress_src') ORDER BY 1$$,
    $$VALUES ('active_users', 'defined'), ('comments_created', 'defined'), ('comments_total', 'defined'),
             ('engagement_rate', 'defined'), ('follows_total', 'skipped: no table regress_src.follows'),
             ('likes_total', 'skipped: no column likes.created_at'), ('posts_created', 'already defined'),
             ('posts_total', 'defined'), ('top_genres', 'defined'), ('tracks_uploaded', 'defined'),
             ('users_total', 'already defined')$$,
    'the social preset defines what the tables allow and keeps existing definitions');
SELECT is((SELECT count(*) FROM metrics.install_preset('social', 'regress_src') WHERE status = 'defined'), 0::bigint,
          'installing a preset twice defines nothing new');

SELECT * FROM finish();
ROLLBACK;
