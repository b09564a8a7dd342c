-- Projects and who may read them: creating and changing projects (every bad field refused
-- with its SQLSTATE and nothing written), membership by the default JWT claim
-- (app_metadata.projects, ids or slugs) and by a configured check, and row-level security
-- per project as anon, members of one project, members of two, administrators and
-- service_role: a member of one project never sees a row of another, and asking for a
-- project one may not read fails exactly as asking for one that does not exist.
BEGIN;
SELECT plan(59);
\ir ../../fixtures/setup.sql

-- Creating projects.
SELECT is((metrics.create_project('acme', 'Acme Corp')).slug, 'acme', 'a project is created');
SELECT is((metrics.create_project('globex', '  Globex  ', 'Europe/Berlin')).name, 'Globex', 'names are trimmed, a time zone is kept');
SELECT is((metrics.create_project('initech', 'Initech', NULL, true)).whole_database, true, 'a project may cover the whole database');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('Acme Corp', 'x')$$, '22023', 'a slug with capitals and spaces is refused');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('-acme', 'x')$$, '22023', 'a slug must start with a letter or digit');
SELECT pg_temp.fails_with($$SELECT metrics.create_project(repeat('a', 64), 'x')$$, '22023', 'a slug has at most 63 characters');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('umbrella', '   ')$$, '22023', 'a blank name is refused');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('umbrella', 'Umbrella', 'Mars/Olympus')$$, '22023', 'an unknown time zone is refused');
SELECT pg_temp.fails_with($$SELECT metrics.create_project(NULL, 'Umbrella')$$, '22004', 'a NULL slug is refused');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('acme', 'Acme again')$$, '23505', 'a slug is unique');
SELECT pg_temp.fails_with($$SELECT metrics.create_project('umbrella', 'Umbrella', NULL, true)$$, '23505', 'only one project covers the whole database');
SELECT is((SELECT count(*) FROM metrics.projects), 3::bigint, 'and nothing else was written');

-- Changing and dropping them.
SELECT is((metrics.update_project('globex', name => 'Globex Corporation')).name, 'Globex Corporation', 'a project is renamed');
SELECT is((metrics.update_project('globex', time_zone => 'UTC')).time_zone, 'UTC', 'its time zone changes');
SELECT pg_temp.fails_with($$SELECT metrics.update_project('globex', slug => 'acme')$$, '23505', 'a slug taken by another project is refused');
SELECT pg_temp.fails_with($$SELECT metrics.update_project('nope', name => 'x')$$, '42704', 'an unknown project is 42704');
SELECT is((metrics.update_project((SELECT id::text FROM metrics.projects WHERE slug = 'globex'), slug => 'globex-eu')).slug,
          'globex-eu', 'a project is found by its id too, and its slug changes');
SELECT pg_temp.fails_with($$SELECT metrics.update_project('GLOBEX-EU', name => 'x')$$, '42704', 'slugs are case-sensitive');
SELECT isnt(metrics.set_project_repository('acme/shop', 'acme'), NULL, 'a repository is put in a project');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_repository('not a repo', 'acme')$$, '22023', 'a repository is owner/name');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_repository('acme/shop', 'nope')$$, '42704', 'into an existing project');
SELECT is((SELECT p.slug FROM metrics.project_repositories AS r JOIN metrics.projects AS p ON p.id = r.project_id), 'acme', 'the mapping is kept');
SELECT is((SELECT metrics.create_project('temp', 'Temporary')).slug, 'temp', 'a project to drop');
SELECT ok(metrics.drop_project('temp'), 'a project without sealed values is dropped');
SELECT pg_temp.fails_with($$SELECT metrics.drop_project('temp')$$, '42704', 'and is gone');

-- Data of two projects: a sealed value each (and one of the whole database), a trend point
-- and a drill-down each.
SELECT lives_ok($$SELECT * FROM metrics.install_preset('social', 'regress_src')$$, 'install the social preset');
INSERT INTO metrics.daily_metrics (metric_date, metric_type, metric_category, value, project_id)
SELECT '2025-06-01', 'count', 'posts_created', v, (SELECT id FROM metrics.projects WHERE slug = s)
FROM (VALUES ('acme', 3), ('globex-eu', 5), (NULL, 8)) AS x(s, v);
INSERT INTO metrics.metrics_trend_point (project_id, metric_key, time_grain, time_bucket, value_numeric)
SELECT p.id, 'posts_created', 'day', '2025-06-01', CASE p.slug WHEN 'acme' THEN 3 ELSE 5 END
FROM metrics.projects AS p WHERE p.slug IN ('acme', 'globex-eu');
INSERT INTO metrics.metrics_drilldown (project_id, metric_key, entity_type, reference_id, payload)
SELECT p.id, 'requests', 'route', 'GET /' || p.slug, '{}' FROM metrics.projects AS p WHERE p.slug IN ('acme', 'globex-eu');
SELECT pg_temp.fails_with($$SELECT metrics.drop_project('acme')$$, '2BP01', 'a project with sealed values stays');

-- What each caller sees. pgTAP's bookkeeping tables must be writable by the roles under test.
GRANT ALL ON ALL TABLES IN SCHEMA pg_temp TO PUBLIC;
GRANT ALL ON ALL SEQUENCES IN SCHEMA pg_temp TO PUBLIC;
CREATE TEMP TABLE seen (caller text, claims text, api_role text);
INSERT INTO seen VALUES
    ('anon', '{"role": "anon"}', 'anon'),
    ('no project', '{"role": "authenticated"}', 'authenticated'),
    ('acme member', '{"role": "authenticated", "app_metadata": {"projects": ["acme"]}}', 'authenticated'),
    ('acme by id', '{"role": "authenticated", "app_metadata": {"projects": ["' || (SELECT id FROM metrics.projects WHERE slug = 'acme') || '"]}}', 'authenticated'),
    ('acme as a string', '{"role": "authenticated", "app_metadata": {"projects": "acme"}}', 'authenticated'),
    ('both', '{"role": "authenticated", "app_metadata": {"projects": ["acme", "globex-eu"]}}', 'authenticated'),
    ('admin', '{"role": "authenticated", "app_metadata": {"role": "admin"}}', 'authenticated'),
    ('service_role', '{"role": "service_role"}', 'service_role'),
    ('bad claims', '{"app_metadata": {"projects": 7}}', 'authenticated'),
    ('not json', 'nonsense', 'authenticated');
CREATE TEMP TABLE views (what text, query text);
INSERT INTO views VALUES
    ('projects', $$SELECT string_agg(slug, ',' ORDER BY slug) FROM metrics.projects$$),
    ('daily', $$SELECT string_agg(coalesce(p.slug, '-') || '=' || d.value, ',' ORDER BY p.slug NULLS FIRST) FROM metrics.daily_metrics AS d LEFT JOIN metrics.projects AS p ON p.id = d.project_id WHERE d.metric_date = '2025-06-01' AND d.metric_category = 'posts_created'$$),
    ('trend', $$SELECT string_agg(value_numeric::text, ',' ORDER BY value_numeric) FROM metrics.metrics_trend_point$$),
    ('drilldown', $$SELECT string_agg(reference_id, ',' ORDER BY reference_id) FROM metrics.metrics_drilldown$$),
    ('repositories', $$SELECT string_agg(repository, ',') FROM metrics.project_repositories$$),
    ('member_projects', $$SELECT cardinality(metrics.member_projects())::text$$);
SELECT results_eq(
    $$SELECT s.caller, v.what, pg_temp.as_caller(s.api_role, s.claims, v.query) FROM seen AS s, views AS v
      WHERE s.caller IN ('anon', 'no project', 'bad claims', 'not json') ORDER BY s.caller, v.what$$,
    $$SELECT c, w, CASE w WHEN 'daily' THEN '-=8' WHEN 'member_projects' THEN '0' END
      FROM unnest(ARRAY['anon', 'bad claims', 'no project', 'not json']) AS c,
           unnest(ARRAY['daily', 'drilldown', 'member_projects', 'projects', 'repositories', 'trend']) AS w ORDER BY c, w$$,
    'anon, a user without projects and broken claims see no project and only the whole database''s values');
SELECT results_eq(
    $$SELECT s.caller, v.what, pg_temp.as_caller(s.api_role, s.claims, v.query) FROM seen AS s, views AS v
      WHERE s.caller LIKE 'acme%' ORDER BY s.caller, v.what$$,
    $$SELECT c, w, CASE w WHEN 'daily' THEN '-=8,acme=3' WHEN 'drilldown' THEN 'GET /acme' WHEN 'member_projects' THEN '1'
                        WHEN 'projects' THEN 'acme' WHEN 'repositories' THEN 'acme/shop' WHEN 'trend' THEN '3' END
      FROM unnest(ARRAY['acme as a string', 'acme by id', 'acme member']) AS c,
           unnest(ARRAY['daily', 'drilldown', 'member_projects', 'projects', 'repositories', 'trend']) AS w ORDER BY c, w$$,
    'a member of acme (by slug, by id, as one string) sees acme''s rows and never globex''s');
SELECT results_eq(
    $$SELECT s.caller, v.what, pg_temp.as_caller(s.api_role, s.claims, v.query) FROM seen AS s, views AS v
      WHERE s.caller IN ('both', 'admin', 'service_role') ORDER BY s.caller, v.what$$,
    $$SELECT c, w, CASE w WHEN 'daily' THEN '-=8,acme=3,globex-eu=5' WHEN 'drilldown' THEN 'GET /acme,GET /globex-eu'
                        WHEN 'member_projects' THEN CASE WHEN c = 'both' THEN '2' ELSE '3' END
                        WHEN 'projects' THEN CASE WHEN c = 'both' THEN 'acme,globex-eu' ELSE 'acme,globex-eu,initech' END
                        WHEN 'repositories' THEN 'acme/shop' WHEN 'trend' THEN '3,5' END
      FROM unnest(ARRAY['admin', 'both', 'service_role']) AS c,
           unnest(ARRAY['daily', 'drilldown', 'member_projects', 'projects', 'repositories', 'trend']) AS w ORDER BY c, w$$,
    'members of two projects see both; administrators and service_role see every project');

-- A project one may not read does not exist for them: same SQLSTATE, same message form.
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'), $$SELECT metrics.project_id('acme')::text$$),
          (SELECT id::text FROM metrics.projects WHERE slug = 'acme'), 'a member resolves their project');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'), $$SELECT metrics.project_id('globex-eu')::text$$),
          '42704: project "globex-eu" does not exist', 'another project is 42704 ...');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'), $$SELECT metrics.project_id('nonexistent')::text$$),
          '42704: project "nonexistent" does not exist', '... exactly like a project that does not exist');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'),
                            $$SELECT metrics.project_id((SELECT id::text FROM metrics.projects LIMIT 0) || 'x')::text$$),
          '22004: project must not be NULL', 'NULL is 22004');
SELECT is(pg_temp.as_caller('anon', '{"role": "anon"}', $$SELECT metrics.create_project('evil', 'Evil')::text$$),
          '42501: permission denied for function create_project', 'anon cannot create projects');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'), $$SELECT metrics.set_project_repository('x/y', 'acme')::text$$),
          '42501: permission denied for function set_project_repository', 'members cannot map repositories');
SELECT is(pg_temp.as_caller('service_role', '{"role": "service_role"}', $$SELECT (metrics.create_project('umbrella', 'Umbrella')).slug$$),
          'umbrella', 'service_role creates projects');
SELECT is(pg_temp.as_caller('service_role', '{"role": "service_role"}', $$SELECT metrics.set_project_check(NULL)$$),
          '42501: permission denied for function set_project_check', 'but only the owner changes who is a member');

-- A configured membership check replaces the claim: membership from a table of the app.
CREATE SCHEMA regress_hooks;
GRANT USAGE ON SCHEMA regress_hooks TO anon, authenticated, service_role;
CREATE TABLE regress_hooks.memberships (user_id uuid, project_id uuid);
INSERT INTO regress_hooks.memberships SELECT '00000000-0000-0000-0000-0000000000aa', id FROM metrics.projects WHERE slug = 'globex-eu';
GRANT SELECT ON regress_hooks.memberships TO anon, authenticated, service_role;
CREATE FUNCTION regress_hooks.is_member(project uuid) RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT EXISTS (SELECT FROM regress_hooks.memberships AS m WHERE m.project_id = project AND m.user_id = auth.uid()) $$;
CREATE FUNCTION regress_hooks.no_argument() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
CREATE FUNCTION regress_hooks.text_argument(text) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
CREATE FUNCTION regress_hooks.uuid_text(uuid) RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'yes' $$;
CREATE FUNCTION regress_hooks.two_arguments(uuid, uuid) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
CREATE FUNCTION regress_hooks.hidden_member(uuid) RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT true $$;
REVOKE EXECUTE ON FUNCTION regress_hooks.hidden_member(uuid) FROM PUBLIC;
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.no_argument()')$$, '42809', 'a membership check takes the project id');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.text_argument(text)')$$, '42809', 'as a uuid');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.two_arguments(uuid,uuid)')$$, '42809', 'and nothing else');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.uuid_text(uuid)')$$, '42804', 'it returns boolean');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.missing(uuid)')$$, '42883', 'it exists');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check('regress_hooks.hidden_member(uuid)')$$, '42501', 'the API roles can execute it');
SELECT pg_temp.fails_with($$SELECT metrics.set_project_check(repeat('x', 1001))$$, '22001', 'a name of 1001 characters is refused');
SELECT is((SELECT count(*) FROM metrics.project_check), 0::bigint, 'and nothing was recorded');
SELECT is(metrics.set_project_check('regress_hooks.is_member'), 'regress_hooks.is_member(uuid)', 'a valid check is accepted');
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-0000000000aa"}',
                            $$SELECT string_agg(slug, ',') FROM metrics.projects$$), 'globex-eu', 'the check decides: its user reads globex');
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-0000000000aa"}',
                            $$SELECT string_agg(value::text, ',') FROM metrics.daily_metrics WHERE project_id IS NOT NULL$$), '5', 'and globex''s values');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'),
                            $$SELECT count(*)::text FROM metrics.projects$$), '0', 'the JWT claim no longer counts');
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "app_metadata": {"role": "admin"}}',
                            $$SELECT count(*)::text FROM metrics.projects$$), '4', 'administrators still read every project');
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'verify_security is content with the check');
REVOKE EXECUTE ON FUNCTION regress_hooks.is_member(uuid) FROM PUBLIC;
SELECT results_eq($$SELECT finding, object_name FROM metrics.verify_security()$$,
                  $$VALUES ('project check unavailable', 'regress_hooks.is_member(uuid)')$$, 'a check the API roles cannot execute is reported');
GRANT EXECUTE ON FUNCTION regress_hooks.is_member(uuid) TO PUBLIC;
DROP FUNCTION regress_hooks.is_member(uuid);
SELECT is(pg_temp.as_caller('authenticated', '{"role": "authenticated", "sub": "00000000-0000-0000-0000-0000000000aa"}',
                            $$SELECT count(*)::text FROM metrics.projects$$), '0', 'a dropped check makes nobody a member');
SELECT results_eq($$SELECT finding, object_name FROM metrics.verify_security()$$,
                  $$VALUES ('project check unavailable', 'regress_hooks.is_member(uuid)')$$, 'verify_security reports the missing check');
SELECT is(metrics.set_project_check(NULL), NULL, 'NULL restores the default claim');
SELECT is(pg_temp.as_caller('authenticated', (SELECT claims FROM seen WHERE caller = 'acme member'),
                            $$SELECT string_agg(slug, ',') FROM metrics.projects$$), 'acme', 'and the claim counts again');
SELECT is_empty($$SELECT * FROM metrics.verify_security()$$, 'nothing is found any more');

-- Policies are evaluated once per query: the membership function is an InitPlan.
CREATE FUNCTION pg_temp.explain_lines(query text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || query;
END
$$;
SELECT set_config('role', 'authenticated', true), set_config('request.jwt.claims', (SELECT claims FROM seen WHERE caller = 'acme member'), true);
SELECT ok((SELECT string_agg(p, E'\n') FROM pg_temp.explain_lines($$SELECT * FROM metrics.metrics_trend_point$$) AS p) ~ 'InitPlan',
          'the read model''s policy computes the member projects once per query');
SELECT set_config('role', 'none', true), set_config('request.jwt.claims', '', true);
SELECT * FROM finish();
ROLLBACK;
