-- Hostile input against the whole SQL API: injection strings in every text argument of
-- every function (enumerated from pg_proc), filters in particular, and hostile identifiers
-- that do exist, which are quoted, not executed.
--
-- Every identifier-like argument (categories, kinds, schema, table and column names,
-- filters, presets, aggregations, types, schedules, role names, access levels, check
-- functions) must refuse each string cleanly. Free text (display_name, description, unit,
-- format_pattern, reason) must be stored exactly as given, up to its documented length,
-- and refused cleanly beyond it. (The extension trims surrounding whitespace from free
-- text, so no string here starts or ends with any.) Some strings call regress_evil.note(),
-- so running them at any point would leave evidence.
--
-- What a clean refusal is, and how each case is run and judged (pg_temp.outcome,
-- pg_temp.expect): tests/fixtures/hostile.sql. The other hostile files: search_path.sql
-- (hijacking), oversized.sql (huge and extreme input), jwt.sql (malformed claims).
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(2349);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/hostile.sql
\ir ../../fixtures/hostile_arguments.sql

SELECT is(pg_temp.evidence(), 0::bigint, 'nothing planted has run yet');

-- The strings, each tried in every text argument of arg_cases.
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

-- Every text, text[] or name argument of every function and procedure must be listed in
-- arg_cases (tests/fixtures/hostile_arguments.sql): a new function or argument fails this
-- test until it is covered.
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

-- The calls are otherwise valid: with a control value of the argument they succeed (as the
-- same caller), so the refusals below are about the hostile strings.
SELECT ok(o->>'sqlstate' IS NULL AND (o->>'ran')::bigint = 0,
          format('%s %s: the control value %s succeeds', split_part(c.fn, '(', 1), c.arg, c.control))
       || CASE WHEN o->>'sqlstate' IS NULL THEN '' ELSE E'\n# got ' || left(o::text, 600) END
FROM arg_cases AS c
CROSS JOIN LATERAL pg_temp.outcome(coalesce(c.api_role, pg_temp.caller_of(c.fn)), coalesce(c.claims, pg_temp.claims_of(pg_temp.caller_of(c.fn))),
                                   'public', format(c.template, quote_literal(c.control))) AS o
WHERE c.control IS NOT NULL
ORDER BY c.fn, c.arg;

-- Route and operation names refuse control characters and invisible formatting characters
-- (Unicode's Cf, line and paragraph separators; the whole table is unit-tested in
-- metrics-core's requests::event): those of the hostile strings are matched here.
CREATE FUNCTION pg_temp.unprintable(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT v ~ '[[:cntrl:]]' OR v ~ E'[\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]'
$$;

SELECT pg_temp.expect(
           pg_temp.outcome(coalesce(c.api_role, pg_temp.caller_of(c.fn)), coalesce(c.claims, pg_temp.claims_of(pg_temp.caller_of(c.fn))), 'public',
                           format(c.template, quote_literal(h.val)), format(c.check_template, quote_literal(h.val))),
           CASE WHEN NOT c.free_text THEN 'refused'
                WHEN c.refuse_control AND pg_temp.unprintable(h.val) THEN 'refused'
                WHEN c.refuse_cntrl AND h.val ~ '[[:cntrl:]]' THEN 'refused'
                WHEN c.max_len IS NOT NULL AND char_length(h.val) > c.max_len THEN 'refused'
                WHEN c.check_template IS NULL THEN 'accepted'
                ELSE 'stored' END,
           format('%s %s: %s is %s', split_part(c.fn, '(', 1), c.arg, h.label,
                  CASE WHEN NOT c.free_text OR char_length(h.val) > coalesce(c.max_len, 2147483647)
                            OR (c.refuse_control AND pg_temp.unprintable(h.val))
                            OR (c.refuse_cntrl AND h.val ~ '[[:cntrl:]]') THEN 'refused'
                       ELSE 'stored verbatim, never run' END))
FROM arg_cases AS c CROSS JOIN hostile AS h
ORDER BY c.fn, c.arg, h.position;

-- ---------------------------------------------------------------------------------------
-- Filters. PostgreSQL's parser decides what a filter is; the filter may read only the
-- row in front of it: no second statement, no subquery, no other relation, no volatile or
-- user-defined function, nothing that reads server state or other tables.
-- ---------------------------------------------------------------------------------------
CREATE DOMAIN regress_evil.checked_text AS text CHECK (regress_evil.note('domain check'));
CREATE TEMP TABLE filter_cases (position serial, label text, filter text, expected text);
INSERT INTO filter_cases (label, filter, expected) VALUES
    ('subquery in a parenthesis trick',    $f$true) OR (SELECT pg_sleep(1)) IS NULL OR (true$f$, '42601'),
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
    -- Guards that STABLE built-ins which read other tables are refused: table_to_xml and
    -- database_to_xml would read them (every table, for database_to_xml) at collection time
    -- with the source owner's rights, so a manage-level role could learn, through the
    -- counts, the contents of tables it cannot read (regress_vault.secret here). Filters may
    -- not call built-ins that read beyond the row.
    ('table_to_xml reads another table',   $f$length(table_to_xml('regress_vault.secret'::regclass, true, false, '')::text) > 0$f$, '0A000'),
    ('database_to_xml reads every table',  $f$strpos(database_to_xml(true, false, '')::text, 'must never') > 0$f$, '0A000'),
    -- Guards that current_setting, a STABLE built-in, is refused: evaluated as the source
    -- owner it would read settings the definer may not read (data_directory here), and
    -- sealed values would depend on them.
    ('current_setting',                    $f$current_setting('data_directory') LIKE '/%'$f$, '0A000'),
    ('column of another table',            $f$regress_src.sentinel.id > 0$f$, '0A000'),
    ('bare other relation',                $f$sentinel.id > 0$f$, '0A000'),
    ('aggregate',                          $f$count(*) > 0$f$, '0A000'),
    ('window function',                    $f$row_number() OVER () > 0$f$, '0A000'),
    ('set-returning function',             $f$generate_series(1, 2) > 0$f$, '0A000'),
    ('parameter',                          $f$$1 = 'x'$f$, NULL),
    ('parenthesis trick',                  $f$false) OR (true$f$, '42601'),
    ('closing and reopening',              $f$id > 0) OR (true$f$, '42601'),
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
    ('an OR that is always true',     '(false) OR (true)',
     (SELECT count(*) FROM regress_src.posts WHERE created_at >= '2025-06-10' AND created_at < '2025-06-11'));
SELECT is(pg_temp.outcome('service_role', pg_temp.claims_of('service_role'), 'public',
                          format($$SELECT metric_category FROM metrics.define_metric('harmless_filter', 'created', source_table => 'posts',
                                                                                    source_schema => 'regress_src', filter => %L)$$, f.filter),
                          $$SELECT pg_temp.collected('2025-06-10', 'harmless_filter')$$),
          jsonb_build_object('result', 'harmless_filter', 'written', true, 'check', 'harmless_filter=' || f.expected_count, 'ran', 0, 'slow', false),
          format('filter %s is one expression, collected correctly', f.label))
FROM harmless_filters AS f ORDER BY f.position;

-- ---------------------------------------------------------------------------------------
-- Hostile identifiers that do exist: a schema, table and columns whose names are made
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

-- ---------------------------------------------------------------------------------------
-- Nothing hostile left a trace.
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_temp.no_hostile_trace();

SELECT * FROM finish();
ROLLBACK;
