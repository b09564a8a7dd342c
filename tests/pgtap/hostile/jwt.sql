-- Hostile input against the whole SQL API: malformed JWT claims. A request whose claims are
-- not a JSON object with app_metadata.role = 'admin' is not an administrator: is_admin() is
-- false and the log and the revisions return no rows, without an error (a dashboard must
-- keep working). (Huge and deeply nested claims are in oversized.sql.)
--
-- How each case is run (pg_temp.outcome): tests/fixtures/hostile.sql. The other hostile
-- files: injection.sql (injection strings), search_path.sql (hijacking), oversized.sql
-- (huge and extreme input).
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(261);
\ir ../../fixtures/setup.sql
\ir ../../fixtures/hostile.sql

SELECT is(pg_temp.evidence(), 0::bigint, 'nothing planted has run yet');

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
    -- Valid JSON that jsonb cannot hold: guards that is_admin() answers false rather than
    -- raising 22P05, which would make reading the collection log fail.
    ('NUL escape in the role', '{"app_metadata": {"role": "admin\u0000"}}'),
    -- Guards that is_admin() answers false rather than raising 22003 on a number out of range.
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

-- Project membership by claim: claims that do not hold app_metadata.projects as a JSON
-- array of strings (or one string) naming the project make nobody a member, without an
-- error: no project is visible, member_projects() is empty, is_project_member() is false.
SELECT is((metrics.create_project('acme', 'Acme')).slug, 'acme', 'a project to claim');
CREATE TEMP TABLE bad_project_claims (position serial, label text, claims text);
INSERT INTO bad_project_claims (label, claims) VALUES
    ('not JSON', 'not json'),
    ('truncated JSON', '{"app_metadata": {"projects": ["acme"]}'),
    ('projects as an object', '{"app_metadata": {"projects": {"acme": true}}}'),
    ('projects as a number', '{"app_metadata": {"projects": 1}}'),
    ('projects as true', '{"app_metadata": {"projects": true}}'),
    ('projects null', '{"app_metadata": {"projects": null}}'),
    ('nested array', '{"app_metadata": {"projects": [["acme"]]}}'),
    ('array of objects', '{"app_metadata": {"projects": [{"slug": "acme"}]}}'),
    ('projects at the top level', '{"projects": ["acme"]}'),
    ('projects in user_metadata (user-editable)', '{"user_metadata": {"projects": ["acme"]}}'),
    ('slug in upper case', '{"app_metadata": {"projects": ["ACME"]}}'),
    ('slug with a trailing space', '{"app_metadata": {"projects": ["acme "]}}'),
    ('a prefix of the slug', '{"app_metadata": {"projects": ["acm"]}}'),
    ('a LIKE pattern', '{"app_metadata": {"projects": ["ac%"]}}'),
    ('NUL escape in the slug', '{"app_metadata": {"projects": ["acme\u0000"]}}'),
    ('a number too large for numeric', '{"exp": 1e1000000, "app_metadata": {"projects": ["acme"]}}');
SELECT is(pg_temp.outcome(r.api_role, b.claims, 'public', q.statement),
          jsonb_build_object('result', q.expected, 'written', false, 'check', NULL, 'ran', 0, 'slow', false),
          format('%s project claims, as %s: %s', b.label, r.api_role, q.label))
FROM bad_project_claims AS b
CROSS JOIN (VALUES (1, 'anon'), (2, 'authenticated')) AS r(position, api_role)
CROSS JOIN (VALUES (1, 'SELECT count(*)::text FROM metrics.projects', '0', 'no project visible'),
                   (2, 'SELECT cardinality(metrics.member_projects())::text', '0', 'no member projects'),
                   (3, format('SELECT metrics.is_project_member(%L, ''acme'')::text', (SELECT id FROM metrics.projects WHERE slug = 'acme')),
                    'false', 'not a member')) AS q(position, statement, expected, label)
ORDER BY b.position, r.position, q.position;
SELECT is(pg_temp.outcome('authenticated', '{"app_metadata": {"projects": ["\u0061cme"]}}', 'public', 'SELECT count(*)::text FROM metrics.projects')->>'result',
          '1', 'a JSON escape spelling acme is acme');

-- ---------------------------------------------------------------------------------------
-- Nothing hostile left a trace.
-- ---------------------------------------------------------------------------------------
SELECT * FROM pg_temp.no_hostile_trace();

SELECT * FROM finish();
ROLLBACK;
