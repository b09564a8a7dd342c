-- Filters whose value would depend on when, or by whom, the day was collected are refused:
-- not immutable (now(), stable casts and operators), SQL value functions (current_date,
-- current_user), reg* types that read the catalog; and text that is one expression only inside
-- the parentheses the extension adds (id > 0) OR (true). Each refusal has its SQLSTATE, a
-- message naming the construct and a hint, and writes nothing.
BEGIN;
SELECT plan(27);
\ir ../../fixtures/setup.sql

CREATE TEMP TABLE refused (position serial, label text, filter text, sqlstate text, named text);
INSERT INTO refused (label, filter, sqlstate, named) VALUES
    ('now()',                     $f$created_at > now() - interval '30 days'$f$,           '0A000', 'now()'),
    ('statement_timestamp()',     $f$created_at < statement_timestamp()$f$,                '0A000', 'statement_timestamp()'),
    ('current_date',              $f$created_at::date < current_date$f$,                   '0A000', 'date(timestamp with time zone)'),
    ('current_date alone',        $f$current_date > '2025-01-01'$f$,                       '0A000', 'current_date'),
    ('current_timestamp',         $f$created_at < current_timestamp$f$,                    '0A000', 'current_timestamp'),
    ('localtimestamp',            $f$localtimestamp > '2025-01-01'$f$,                     '0A000', 'localtimestamp'),
    ('localtime',                 $f$localtime > '10:00'$f$,                               '0A000', 'localtime'),
    ('current_user',              $f$current_user = 'postgres'$f$,                         '0A000', 'current_user'),
    ('session_user',              $f$session_user <> 'x'$f$,                               '0A000', 'session_user'),
    ('a stable cast',             $f$created_at::date = '2025-06-15'$f$,                   '0A000', 'date(timestamp with time zone)'),
    ('a stable output function',  $f$created_at::text LIKE '2025-06%'$f$,                  '0A000', 'timestamptz_out'),
    ('a stable operator',         $f$created_at > date '2025-06-01'$f$,                    '0A000', 'timestamptz_gt_date'),
    ('date_trunc with a zone',    $f$date_trunc('day', created_at) = '2025-06-15 00:00+00'$f$, '0A000', 'date_trunc'),
    ('a regclass literal',        $f$user_id::oid <> 'regress_src.posts'::regclass$f$,     '0A000', 'regclass'),
    ('a cast to regclass',        $f$status::regclass IS NOT NULL$f$,                      '0A000', 'regclass'),
    ('a cast to regrole',         $f$user_id::oid::regrole::text <> 'x'$f$,                '0A000', 'regrole'),
    ('a regproc',                 $f$'now'::regproc IS NOT NULL$f$,                        '0A000', 'regproc'),
    ('a regtype array',           $f$ARRAY['int4']::regtype[] IS NOT NULL$f$,              '0A000', 'regtype'),
    ('closes and reopens',        $f$id > 0) OR (true$f$,                                  '42601', 'balanced'),
    ('the old parenthesis trick', $f$false) OR (true$f$,                                   '42601', 'balanced'),
    ('comments out the close',    $f$id > 0 OR (true --$f$,                                '42601', NULL);

SELECT is(e->>'sqlstate', r.sqlstate, format('filter with %s is refused with %s', r.label, r.sqlstate))
FROM refused AS r,
     LATERAL pg_temp.error_of(format($$SELECT metrics.define_metric('strict_probe', 'created', source_table => 'posts',
                                                                 source_schema => 'regress_src', filter => %L)$$, r.filter)) AS e
ORDER BY r.position;

-- Every refusal has a hint, and the message names the construct.
SELECT is_empty(
    $$SELECT r.label, e FROM refused AS r,
             LATERAL pg_temp.error_of(format('SELECT metrics.define_metric(''strict_probe'', ''created'', source_table => ''posts'', source_schema => ''regress_src'', filter => %L)', r.filter)) AS e
      WHERE e->>'hint' IS NULL OR (r.named IS NOT NULL AND strpos(e->>'message', r.named) = 0)$$,
    'every refused filter has a hint and a message naming what is refused');

SELECT is(pg_temp.error_of($$SELECT metrics.define_metric('strict_probe', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'id > 0) OR (true')$$)->>'message',
          'filter is not one balanced expression on its own', 'the unbalanced text is named as such');
SELECT is(pg_temp.error_of($$SELECT metrics.define_metric('strict_probe', 'created', source_table => 'posts', source_schema => 'regress_src', filter => 'created_at > now()')$$)->>'message',
          'filter may not call now()', 'now() is named');

-- Balanced, immutable filters are still accepted, in the deparsed form.
SELECT results_eq(
    $$SELECT filter FROM metrics.define_metric('strict_ok', 'created', source_table => 'posts', source_schema => 'regress_src',
                                               filter => '(id > 0) OR (status = ''x'')')$$,
    $$VALUES ('((id > 0) OR (status = ''x''::text))')$$,
    'parentheses that balance on their own are fine');
SELECT lives_ok(
    $$SELECT metrics.define_metric('strict_ok2', 'created', source_table => 'posts', source_schema => 'regress_src',
                                   filter => 'created_at >= ''2025-06-01 00:00+00'' AND lower(status) LIKE ''pub%'' AND length % 2 = 0 /* ) comment */')$$,
    'comparisons with constants, immutable functions and a comment are fine');

-- Nothing was written by the refused definitions.
SELECT is((SELECT count(*) FROM metrics.metric_definitions WHERE metric_category = 'strict_probe'), 0::bigint,
          'refused filters left no definition behind');

SELECT * FROM finish();
ROLLBACK;
