-- GitHub events in (docs/development-metrics.md, "Ingest" and "Environments"): every kind's
-- missing or mistyped required field is 22023 naming its JSON path, with nothing written;
-- exactly-once keys (delivery id, each kind's natural key, facts keyed on their own);
-- unknown events and actions kept raw and counted; the raw payload's hash; batches checked
-- whole before anything is written, and their limit; the environment tiers; and the
-- argument checks of get_dora_metrics, like fetch_metrics'.
BEGIN;
-- An exact plan: an assertion that disappears (or a case table that loses rows) fails the file.
SELECT plan(202);
\ir ../../fixtures/setup.sql

-- How many rows each table of events and facts has: what "nothing written" is checked on.
CREATE FUNCTION pg_temp.gh_counts() RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'events', (SELECT count(*) FROM metrics.github_events),
        'deployments', (SELECT count(*) FROM metrics.github_deployments),
        'statuses', (SELECT count(*) FROM metrics.github_deployment_statuses),
        'pull_requests', (SELECT count(*) FROM metrics.github_pull_requests),
        'pushes', (SELECT count(*) FROM metrics.github_pushes),
        'workflow_runs', (SELECT count(*) FROM metrics.github_workflow_runs),
        'issues', (SELECT count(*) FROM metrics.github_issues),
        'dora_deployments', (SELECT count(*) FROM metrics.dora_deployments),
        'dora_changes', (SELECT count(*) FROM metrics.dora_changes),
        'environment_settings', (SELECT count(*) FROM metrics.environment_settings))
$$;

-- A statement's error, and whether it changed any table above.
CREATE FUNCTION pg_temp.refusal(statement text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    before jsonb := pg_temp.gh_counts();
    e jsonb := pg_temp.error_of(statement);
BEGIN
    RETURN coalesce(e, '{}') || jsonb_build_object('written', pg_temp.gh_counts() <> before);
END
$$;

-- The payloads every case starts from: one valid payload of each kind, shaped like GitHub's
-- webhooks (the real octokit examples go through the HTTP tests).
CREATE TEMP TABLE base (event text PRIMARY KEY, payload jsonb NOT NULL);
INSERT INTO base VALUES
    ('deployment', '{"action": "created", "repository": {"full_name": "Octo/Repo"},
      "deployment": {"id": 101, "sha": "1111111111111111111111111111111111111111", "ref": "main",
                     "environment": "Production", "created_at": "2025-06-02T10:00:00Z"}}'),
    ('deployment_status', '{"action": "created", "repository": {"full_name": "Octo/Repo"},
      "deployment": {"id": 101, "sha": "1111111111111111111111111111111111111111", "ref": "main",
                     "environment": "Production", "created_at": "2025-06-02T10:00:00Z"},
      "deployment_status": {"id": 201, "state": "success", "created_at": "2025-06-02T10:05:00Z"}}'),
    ('pull_request', '{"action": "closed", "number": 7, "repository": {"full_name": "Octo/Repo"},
      "pull_request": {"number": 7, "id": 7001, "state": "closed", "title": "Add things",
                       "created_at": "2025-06-01T09:00:00Z", "updated_at": "2025-06-02T09:30:00Z",
                       "closed_at": "2025-06-02T09:30:00Z", "merged": true, "merged_at": "2025-06-02T09:30:00Z",
                       "merge_commit_sha": "1111111111111111111111111111111111111111",
                       "base": {"ref": "main"}, "head": {"ref": "feature", "sha": "2222222222222222222222222222222222222222"},
                       "labels": [{"name": "enhancement"}]}}'),
    ('push', '{"ref": "refs/heads/main", "before": "3333333333333333333333333333333333333333",
      "after": "1111111111111111111111111111111111111111", "forced": false, "created": false, "deleted": false,
      "repository": {"full_name": "Octo/Repo", "pushed_at": 1748856600},
      "head_commit": {"id": "1111111111111111111111111111111111111111", "timestamp": "2025-06-02T09:29:00Z"},
      "commits": [{"id": "2222222222222222222222222222222222222222", "timestamp": "2025-06-01T15:00:00Z"},
                  {"id": "1111111111111111111111111111111111111111", "timestamp": "2025-06-02T09:29:00Z"}]}'),
    ('workflow_run', '{"action": "completed", "repository": {"full_name": "Octo/Repo"},
      "workflow_run": {"id": 301, "run_attempt": 1, "name": "CI", "event": "push", "status": "completed",
                       "conclusion": "success", "head_sha": "1111111111111111111111111111111111111111",
                       "head_branch": "main", "created_at": "2025-06-02T09:31:00Z",
                       "run_started_at": "2025-06-02T09:31:05Z", "updated_at": "2025-06-02T09:40:00Z"}}'),
    ('issues', '{"action": "opened", "repository": {"full_name": "Octo/Repo"},
      "issue": {"number": 9, "id": 9001, "title": "Checkout is down", "body": "after deployment 101",
                "state": "open", "labels": [{"name": "incident"}, {"name": "environment:production"}],
                "created_at": "2025-06-02T12:00:00Z", "updated_at": "2025-06-02T12:00:00Z"}}');

-- ---------------------------------------------------------------------------------------
-- Validation: each required field missing, then of the wrong JSON type (an object where a
-- scalar belongs): 22023 with the JSON path in the message, a hint, nothing written.
-- ---------------------------------------------------------------------------------------
CREATE TEMP TABLE required (position serial, event text, path text[]);
INSERT INTO required (event, path) VALUES
    ('deployment', '{repository,full_name}'), ('deployment', '{deployment,id}'), ('deployment', '{deployment,sha}'),
    ('deployment', '{deployment,environment}'), ('deployment', '{deployment,created_at}'),
    ('deployment_status', '{repository,full_name}'), ('deployment_status', '{deployment,id}'),
    ('deployment_status', '{deployment,sha}'), ('deployment_status', '{deployment,environment}'),
    ('deployment_status', '{deployment,created_at}'), ('deployment_status', '{deployment_status,id}'),
    ('deployment_status', '{deployment_status,state}'), ('deployment_status', '{deployment_status,created_at}'),
    ('pull_request', '{repository,full_name}'), ('pull_request', '{pull_request,number}'), ('pull_request', '{pull_request,id}'),
    ('pull_request', '{pull_request,created_at}'), ('pull_request', '{pull_request,updated_at}'),
    ('pull_request', '{pull_request,base,ref}'),
    -- merged: true needs both
    ('pull_request', '{pull_request,merged_at}'), ('pull_request', '{pull_request,merge_commit_sha}'),
    ('push', '{repository,full_name}'), ('push', '{ref}'), ('push', '{before}'), ('push', '{after}'),
    ('push', '{commits,0,id}'), ('push', '{commits,1,timestamp}'),
    ('workflow_run', '{repository,full_name}'), ('workflow_run', '{workflow_run,id}'), ('workflow_run', '{workflow_run,status}'),
    ('workflow_run', '{workflow_run,created_at}'), ('workflow_run', '{workflow_run,updated_at}'),
    ('issues', '{repository,full_name}'), ('issues', '{issue,number}'), ('issues', '{issue,id}'),
    ('issues', '{issue,created_at}'), ('issues', '{issue,updated_at}'), ('issues', '{issue,labels,1,name}');

-- The path as the message names it: payload.commits[0].id
CREATE FUNCTION pg_temp.json_path(path text[]) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'payload' || string_agg(CASE WHEN p ~ '^[0-9]+$' THEN '[' || p || ']' ELSE '.' || p END, '' ORDER BY n)
    FROM unnest(path) WITH ORDINALITY AS u(p, n)
$$;

SELECT ok(e->>'sqlstate' = '22023' AND strpos(e->>'message', pg_temp.json_path(r.path)) > 0
          AND e->>'hint' IS NOT NULL AND NOT (e->>'written')::boolean,
          format('%s without %s: 22023 naming it, nothing written', r.event, pg_temp.json_path(r.path)))
       || CASE WHEN e->>'sqlstate' = '22023' AND strpos(e->>'message', pg_temp.json_path(r.path)) > 0 THEN ''
               ELSE E'\n# got ' || e::text END
FROM required AS r JOIN base AS b USING (event)
CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', r.event, b.payload #- r.path)) AS e
ORDER BY r.position;

SELECT ok(e->>'sqlstate' = '22023' AND strpos(e->>'message', pg_temp.json_path(r.path)) > 0
          AND e->>'hint' IS NOT NULL AND NOT (e->>'written')::boolean,
          format('%s with an object as %s: 22023 naming it, nothing written', r.event, pg_temp.json_path(r.path)))
       || CASE WHEN e->>'sqlstate' = '22023' AND strpos(e->>'message', pg_temp.json_path(r.path)) > 0 THEN ''
               ELSE E'\n# got ' || e::text END
FROM required AS r JOIN base AS b USING (event)
CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', r.event,
                                          jsonb_set(b.payload, r.path, '{"not": "a scalar"}'))) AS e
ORDER BY r.position;

-- Times: text with a zone, else refused naming the field (22023 or 22007, the datetime code).
SELECT ok(e->>'sqlstate' IN ('22023', '22007') AND strpos(e->>'message', 'payload.deployment.created_at') > 0
          AND NOT (e->>'written')::boolean, format('deployment.created_at %s is refused, naming it', v.label))
       || CASE WHEN strpos(coalesce(e->>'message', ''), 'payload.deployment.created_at') > 0 THEN '' ELSE E'\n# got ' || e::text END
FROM (VALUES (1, 'without a zone', '"2025-06-02T10:00:00"'), (2, 'that is no time', '"yesterday"'),
             (3, 'empty', '""'), (4, 'as a number', '1748858400')) AS v(n, label, val)
JOIN base AS b ON b.event = 'deployment'
CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', 'deployment',
                                          jsonb_set(b.payload, '{deployment,created_at}', v.val::jsonb))) AS e
ORDER BY v.n;

-- A push needs a time: repository.pushed_at, else head_commit.timestamp.
SELECT ok(e->>'sqlstate' = '22023' AND e->>'message' ~ 'pushed_at|head_commit' AND NOT (e->>'written')::boolean,
          'a push with neither repository.pushed_at nor head_commit.timestamp: 22023 naming them')
       || CASE WHEN e->>'sqlstate' = '22023' THEN '' ELSE E'\n# got ' || e::text END
FROM base AS b CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', 'push',
                                                         b.payload #- '{repository,pushed_at}' #- '{head_commit}')) AS e
WHERE b.event = 'push';

-- Not an object at all, and no event name.
SELECT ok(e->>'sqlstate' = '22023' AND NOT (e->>'written')::boolean, format('a payload that is %s: 22023, nothing written', v.label))
       || CASE WHEN e->>'sqlstate' = '22023' THEN '' ELSE E'\n# got ' || e::text END
FROM (VALUES (1, 'an array', '[]'), (2, 'a string', '"push"'), (3, 'null', 'null')) AS v(n, label, val)
CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', 'push', v.val)) AS e
ORDER BY v.n;
SELECT ok(e->>'sqlstate' ~ '^22' AND NOT (e->>'written')::boolean, format('an event name that is %s: refused, nothing written', v.label))
       || CASE WHEN e->>'sqlstate' ~ '^22' THEN '' ELSE E'\n# got ' || e::text END
FROM (VALUES (1, 'empty', ''), (2, 'blank', '   ')) AS v(n, label, val)
CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_event(%L, %L)', v.val, '{"zen": "x"}')) AS e
ORDER BY v.n;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.record_github_event(NULL, '{"zen": "x"}')$$, '22004', 'a NULL event name');
SELECT pg_temp.fails_with($$SELECT * FROM metrics.record_github_event('ping', NULL)$$, '22004', 'a NULL payload');
SELECT is(pg_temp.gh_counts(), '{"events": 0, "deployments": 0, "statuses": 0, "pull_requests": 0, "pushes": 0,
                                 "workflow_runs": 0, "issues": 0, "dora_deployments": 0, "dora_changes": 0,
                                 "environment_settings": 0}'::jsonb, 'no refused event left a row anywhere');

-- ---------------------------------------------------------------------------------------
-- Recording, and the natural keys of every kind (no delivery id given).
-- ---------------------------------------------------------------------------------------
CREATE TEMP TABLE first_time AS
SELECT b.event, r.recorded, r.kind, r.event_key
FROM base AS b CROSS JOIN LATERAL metrics.record_github_event(b.event, b.payload) AS r;
SELECT results_eq(
    $$SELECT event, recorded, kind, event_key FROM first_time ORDER BY event$$,
    $$VALUES ('deployment', true, 'deployment', 'deployment:101'),
             ('deployment_status', true, 'deployment_status', 'deployment_status:201'),
             ('issues', true, 'issue', 'issues:9001:opened:2025-06-02T12:00:00Z'),
             ('pull_request', true, 'pull_request', 'pull_request:7001:closed:2025-06-02T09:30:00Z'),
             ('push', true, 'push', 'push:octo/repo:refs/heads/main:1111111111111111111111111111111111111111'),
             ('workflow_run', true, 'workflow_run', 'workflow_run:301:1:completed')$$,
    'each kind is recorded once, under its natural key');
SELECT results_eq(
    $$SELECT b.event, r.recorded, r.event_key FROM base AS b CROSS JOIN LATERAL metrics.record_github_event(b.event, b.payload) AS r ORDER BY 1$$,
    $$SELECT event, false, event_key FROM first_time ORDER BY 1$$,
    'the same events again: recorded = false, the same keys');
SELECT is(pg_temp.gh_counts() - 'environment_settings' - 'dora_deployments' - 'dora_changes',
          '{"events": 6, "deployments": 1, "statuses": 1, "pull_requests": 1, "pushes": 1, "workflow_runs": 1, "issues": 1}'::jsonb,
          'six events, one fact of each kind (the status event carries its deployment, already there)');

-- The rows say what the payloads said.
SELECT results_eq(
    $$SELECT repository, environment, sha, ref, created_at FROM metrics.github_deployments$$,
    $$VALUES ('octo/repo', 'production', '1111111111111111111111111111111111111111', 'main', timestamptz '2025-06-02 10:00+00')$$,
    'the deployment: repository and environment lower-cased');
SELECT results_eq(
    $$SELECT deployment_id, status_id, state, created_at FROM metrics.github_deployment_statuses$$,
    $$VALUES (101::bigint, 201::bigint, 'success', timestamptz '2025-06-02 10:05+00')$$, 'the status');
SELECT results_eq(
    $$SELECT number, pr_id, state, merged_at, merge_commit_sha, base_ref, labels FROM metrics.github_pull_requests$$,
    $$VALUES (7::bigint, 7001::bigint, 'closed', timestamptz '2025-06-02 09:30+00', '1111111111111111111111111111111111111111', 'main',
              ARRAY['enhancement'])$$, 'the merged pull request');
SELECT results_eq(
    $$SELECT ref, before_sha, after_sha, pushed_at, commit_shas, commit_times FROM metrics.github_pushes$$,
    $$VALUES ('refs/heads/main', '3333333333333333333333333333333333333333', '1111111111111111111111111111111111111111',
              to_timestamp(1748856600), ARRAY['2222222222222222222222222222222222222222', '1111111111111111111111111111111111111111'],
              ARRAY[timestamptz '2025-06-01 15:00+00', timestamptz '2025-06-02 09:29+00'])$$,
    'the push, its time from repository.pushed_at (epoch seconds)');
SELECT results_eq(
    $$SELECT run_id, run_attempt, status, conclusion, environment FROM metrics.github_workflow_runs$$,
    $$VALUES (301::bigint, 1, 'completed', 'success', NULL::text)$$, 'the workflow run, no environment given');
SELECT results_eq(
    $$SELECT number, issue_id, state, labels, environment FROM metrics.github_issues$$,
    $$VALUES (9::bigint, 9001::bigint, 'open', ARRAY['incident', 'environment:production'], 'production')$$,
    'the issue, its environment from its environment:<name> label');
SELECT results_eq(
    $$SELECT event_key, occurred_at FROM metrics.github_events ORDER BY event_key$$,
    $$VALUES ('deployment:101', timestamptz '2025-06-02 10:00+00'), ('deployment_status:201', timestamptz '2025-06-02 10:05+00'),
             ('issues:9001:opened:2025-06-02T12:00:00Z', timestamptz '2025-06-02 12:00+00'),
             ('pull_request:7001:closed:2025-06-02T09:30:00Z', timestamptz '2025-06-02 09:30+00'),
             ('push:octo/repo:refs/heads/main:1111111111111111111111111111111111111111', to_timestamp(1748856600)),
             ('workflow_run:301:1:completed', timestamptz '2025-06-02 09:40+00')$$,
    'occurred_at is each event''s own time');

-- The raw payload is stored as given, with the SHA-256 of its text.
SELECT is((SELECT count(*) FROM metrics.github_events AS g JOIN base AS b ON b.payload = g.payload), 6::bigint,
          'each payload is stored as it came');
SELECT is((SELECT count(*) FILTER (WHERE payload_sha256 = sha256(convert_to(payload::text, 'UTF8'))) FROM metrics.github_events),
          6::bigint, 'payload_sha256 is the SHA-256 of the payload''s text');

-- Delivery ids: the key is the delivery; the fact still has its own natural key.
SELECT results_eq(
    $$SELECT recorded, kind, event_key FROM metrics.record_github_event('deployment_status',
          (SELECT payload FROM base WHERE event = 'deployment_status'), delivery_id => '72d3162e-cc78-11e3-81ab-4c9367dc0958')$$,
    $$VALUES (true, 'deployment_status', 'delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958')$$,
    'the same status with a delivery id is a new event, keyed by the delivery');
SELECT is((SELECT count(*) FROM metrics.github_deployment_statuses), 1::bigint, 'and still one status fact');
SELECT results_eq(
    $$SELECT recorded, event_key FROM metrics.record_github_event('ping', '{"zen": "a different payload, the same delivery"}',
          delivery_id => '72d3162e-cc78-11e3-81ab-4c9367dc0958')$$,
    $$VALUES (false, 'delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958')$$,
    'a delivery id seen before is a duplicate, whatever its (valid) payload');
SELECT is((SELECT delivery_id FROM metrics.github_events WHERE event_key = 'delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958'),
          '72d3162e-cc78-11e3-81ab-4c9367dc0958', 'the delivery id is kept');

-- A pull request's later event updates it; an older one arriving late is recorded but changes nothing.
SELECT results_eq(
    $$SELECT recorded, event_key FROM metrics.record_github_event('pull_request',
          jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'pull_request'), '{action}', '"labeled"'),
                    '{pull_request,updated_at}', '"2025-06-02T11:00:00Z"') #- '{pull_request,labels}')$$,
    $$VALUES (true, 'pull_request:7001:labeled:2025-06-02T11:00:00Z')$$,
    'a later event of the pull request: a new key (action and updated_at)');
SELECT lives_ok($$SELECT * FROM metrics.record_github_event('pull_request',
                    jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'pull_request'), '{action}', '"edited"'),
                              '{pull_request,updated_at}', '"2025-06-02T09:45:00Z"'))$$, 'an older event of it, arriving late');
SELECT results_eq($$SELECT updated_at, labels FROM metrics.github_pull_requests$$,
                  $$VALUES (timestamptz '2025-06-02 11:00+00', '{}'::text[])$$, 'the latest updated_at wins');

-- A workflow run: its attempt defaults to 1; each status of an attempt is its own event.
SELECT results_eq(
    $$SELECT r.recorded, r.event_key FROM metrics.record_github_event('workflow_run',
          jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'workflow_run'), '{workflow_run,id}', '302'),
                    '{workflow_run,status}', '"in_progress"') #- '{workflow_run,run_attempt}', environment => ' Staging ') AS r$$,
    $$VALUES (true, 'workflow_run:302:1:in_progress')$$, 'a run without run_attempt is attempt 1');
SELECT is((SELECT environment FROM metrics.github_workflow_runs WHERE run_id = 302), 'staging',
          'the environment argument of a run, lower-cased and trimmed');

-- A deployment's own environment wins over the argument.
SELECT lives_ok($$SELECT * FROM metrics.record_github_event('deployment',
                    jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'deployment'), '{deployment,id}', '102'),
                              '{deployment,environment}', '" QA-Eu "'), environment => 'production')$$,
                'a deployment to " QA-Eu ", recorded with environment => production');
SELECT is((SELECT environment FROM metrics.github_deployments WHERE deployment_id = 102), 'qa-eu',
          'keeps its own environment, lower-cased and trimmed');

-- ---------------------------------------------------------------------------------------
-- Unknown events and unknown actions: kept raw, counted, no fact changed.
-- ---------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT recorded, kind, event_key FROM metrics.record_github_event('ping', '{"zen": "Keep it logically awesome.", "hook_id": 1}')$$,
    $$SELECT true, 'unknown', 'ping:' || encode(sha256(convert_to('{"hook_id":1,"zen":"Keep it logically awesome."}', 'UTF8')), 'hex')$$,
    'an unknown event: recorded as unknown, keyed by the SHA-256 of its compact text, keys sorted');
SELECT results_eq(
    $$SELECT recorded, kind FROM metrics.record_github_event('ping', '{"hook_id": 1, "zen": "Keep it logically awesome."}')$$,
    $$VALUES (false, 'unknown')$$, 'the same payload again (keys in another order): a duplicate');
SELECT results_eq(
    $$SELECT event, kind, repository FROM metrics.github_events WHERE kind = 'unknown'$$,
    $$VALUES ('ping', 'unknown', NULL::text)$$, 'stored raw');
CREATE TEMP TABLE facts_before AS SELECT pg_temp.gh_counts() AS c,
    (SELECT md5(string_agg(p::text, '')) FROM metrics.github_pull_requests AS p) AS prs,
    (SELECT md5(string_agg(i::text, '')) FROM metrics.github_issues AS i) AS issues;
SELECT results_eq(
    $$SELECT recorded, kind FROM metrics.record_github_event('pull_request',
          jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'pull_request'), '{action}', '"quantum_entangled"'),
                    '{pull_request,updated_at}', '"2025-06-03T00:00:00Z"'))$$,
    $$VALUES (true, 'pull_request')$$, 'a pull request with an action this version does not know: recorded');
SELECT results_eq(
    $$SELECT recorded, kind FROM metrics.record_github_event('issues',
          jsonb_set(jsonb_set((SELECT payload FROM base WHERE event = 'issues'), '{action}', '"teleported"'),
                    '{issue,updated_at}', '"2025-06-03T00:00:00Z"'))$$,
    $$VALUES (true, 'issue')$$, 'an issue with an unknown action: recorded');
SELECT results_eq(
    $$SELECT action, known_action FROM metrics.github_events WHERE action IN ('quantum_entangled', 'teleported') ORDER BY 1$$,
    $$VALUES ('quantum_entangled', false), ('teleported', false)$$, 'marked as unknown actions');
-- The payload of an unknown action still describes the object as it is now (the contract):
-- no fact is added, and the later state is the pull request's and the issue's.
SELECT ok((SELECT c FROM facts_before) - 'events' = pg_temp.gh_counts() - 'events'
          AND (SELECT prs FROM facts_before) <> (SELECT md5(string_agg(p::text, '')) FROM metrics.github_pull_requests AS p)
          AND (SELECT count(*) FROM metrics.github_pull_requests WHERE updated_at = '2025-06-03T00:00:00Z') = 1
          AND (SELECT count(*) FROM metrics.github_issues WHERE updated_at = '2025-06-03T00:00:00Z') = 1,
          'no fact is added; the pull request and the issue take the state their later payloads describe');
SELECT is((SELECT count(*) FROM metrics.github_events WHERE known_action) + (SELECT count(*) FROM metrics.github_events WHERE NOT known_action),
          (SELECT count(*) FROM metrics.github_events), 'known_action is set on every event');

-- ---------------------------------------------------------------------------------------
-- Batches: {event, payload, delivery_id?, environment?} objects and events-API / GH Archive
-- objects, checked whole before anything is written.
-- ---------------------------------------------------------------------------------------
SELECT results_eq(
    $$SELECT events, recorded, duplicates, unknown FROM metrics.record_github_events(jsonb_build_array(
          jsonb_build_object('event', 'deployment', 'payload', jsonb_set((SELECT payload FROM base WHERE event = 'deployment'), '{deployment,id}', '103')),
          jsonb_build_object('event', 'deployment', 'payload', jsonb_set((SELECT payload FROM base WHERE event = 'deployment'), '{deployment,id}', '103')),
          jsonb_build_object('event', 'push', 'payload', (SELECT payload FROM base WHERE event = 'push')),
          jsonb_build_object('event', 'watch', 'payload', '{"action": "started", "repository": {"full_name": "octo/repo"}}'::jsonb, 'delivery_id', 'b-1'),
          jsonb_build_object('event', 'issues', 'payload', jsonb_set((SELECT payload FROM base WHERE event = 'issues'), '{action}', '"teleported"')
                                                           || '{"note": 1}', 'delivery_id', 'b-2'),
          jsonb_build_object('event', 'workflow_run', 'environment', 'Prod',
                             'payload', jsonb_set((SELECT payload FROM base WHERE event = 'workflow_run'), '{workflow_run,id}', '303'))))$$,
    $$VALUES (6, 4, 2, 2)$$,
    'a batch: 6 events, 4 recorded, 2 duplicates (one inside the batch, one seen before), 2 unknown (an event, an action)');
SELECT is((SELECT environment FROM metrics.github_workflow_runs WHERE run_id = 303), 'prod', 'a batch item''s environment');

-- Events-API / GH Archive objects, shaped as GitHub's REST API returns them (a PushEvent has
-- head, not after, and commits without timestamps; the repository is repo.name).
SELECT results_eq(
    $$SELECT events, recorded, duplicates, unknown FROM metrics.record_github_events('[
          {"id": "40000000001", "type": "PushEvent", "created_at": "2025-06-04T08:00:00Z",
           "repo": {"id": 1, "name": "Octo/Archived", "url": "https://api.github.com/repos/Octo/Archived"},
           "payload": {"push_id": 1, "size": 1, "distinct_size": 1, "ref": "refs/heads/main",
                       "head": "4444444444444444444444444444444444444444", "before": "5555555555555555555555555555555555555555",
                       "commits": [{"sha": "4444444444444444444444444444444444444444", "message": "m", "distinct": true,
                                    "author": {"name": "a", "email": "a@example.com"}}]}},
          {"id": "40000000002", "type": "WatchEvent", "created_at": "2025-06-04T08:01:00Z",
           "repo": {"id": 1, "name": "Octo/Archived"}, "payload": {"action": "started"}},
          {"id": "40000000003", "type": "DeploymentEvent", "created_at": "2025-06-04T08:02:00Z",
           "repo": {"id": 1, "name": "Octo/Archived"},
           "payload": {"deployment": {"id": 104, "sha": "4444444444444444444444444444444444444444", "ref": "main",
                                      "environment": "production", "created_at": "2025-06-04T08:02:00Z"}}}]')$$,
    $$VALUES (3, 3, 0, 1)$$, 'archive objects: a push, an unknown type, a deployment without repository in its payload');
SELECT results_eq(
    $$SELECT event_key, kind, repository FROM metrics.github_events WHERE event_key LIKE 'archive:%' ORDER BY 1$$,
    $$VALUES ('archive:40000000001', 'push', 'octo/archived'), ('archive:40000000002', 'unknown', 'octo/archived'),
             ('archive:40000000003', 'deployment', 'octo/archived')$$,
    'keyed archive:<id>, the repository from repo.name');
SELECT results_eq(
    $$SELECT after_sha, pushed_at FROM metrics.github_pushes WHERE repository = 'octo/archived'$$,
    $$VALUES ('4444444444444444444444444444444444444444', timestamptz '2025-06-04 08:00+00')$$,
    'the archive push: after is its head, its time the event''s created_at');
SELECT is((SELECT repository FROM metrics.github_deployments WHERE deployment_id = 104), 'octo/archived',
          'the archive deployment''s repository');
CREATE TEMP TABLE resent AS
SELECT jsonb_agg(jsonb_build_object('event', g.event, 'payload', g.payload)) AS batch, count(*)::integer AS n
FROM metrics.github_events AS g WHERE g.event_key LIKE 'deployment:%' OR g.event_key LIKE 'push:%';
SELECT results_eq(
    $$SELECT r.events, r.recorded, r.duplicates FROM resent CROSS JOIN LATERAL metrics.record_github_events(resent.batch) AS r$$,
    $$SELECT n, 0, n FROM resent$$, 'recorded events sent again as a batch (four deployments and pushes): all duplicates');

-- A bad item anywhere: the whole batch is refused, naming events[i] and the path; nothing written.
CREATE TEMP TABLE batch_cases (position serial, label text, batch jsonb, sqlstate text, names text);
INSERT INTO batch_cases (label, batch, sqlstate, names) VALUES
    ('a missing field in the third item',
     jsonb_build_array(
         jsonb_build_object('event', 'deployment', 'payload', jsonb_set((SELECT payload FROM base WHERE event = 'deployment'), '{deployment,id}', '110')),
         jsonb_build_object('event', 'ping', 'payload', '{"zen": "batch"}'::jsonb),
         jsonb_build_object('event', 'deployment', 'payload', (SELECT payload FROM base WHERE event = 'deployment') #- '{deployment,sha}')),
     '22023', 'events[2].payload.deployment.sha'),
    ('an archive push without a head', jsonb_build_array(jsonb_build_object('id', '40000000009', 'type', 'PushEvent',
         'created_at', '2025-06-04T08:00:00Z', 'repo', '{"name": "octo/archived"}'::jsonb,
         'payload', '{"ref": "refs/heads/main", "before": "5555555555555555555555555555555555555555", "commits": []}'::jsonb)),
     '22023', 'events[0].payload.'),
    ('an item that is not an object', '[{"event": "ping", "payload": {"zen": "ok"}}, 42]', '22023', 'events[1]'),
    ('an item without payload', '[{"event": "ping"}]', '22023', 'events[0]'),
    ('an item without event or type', '[{"payload": {"zen": "x"}}]', '22023', 'events[0]'),
    ('not an array', '{"event": "ping", "payload": {}}', '22023', NULL),
    ('10,001 items', (SELECT jsonb_agg(jsonb_build_object('event', 'ping', 'payload', jsonb_build_object('n', g))) FROM generate_series(1, 10001) AS g),
     '54000', NULL);
SELECT ok(e->>'sqlstate' = c.sqlstate AND (c.names IS NULL OR strpos(e->>'message', c.names) > 0)
          AND e->>'hint' IS NOT NULL AND NOT (e->>'written')::boolean,
          format('a batch with %s: %s%s, nothing written', c.label, c.sqlstate, coalesce(' naming ' || c.names, '')))
       || CASE WHEN e->>'sqlstate' = c.sqlstate AND (c.names IS NULL OR strpos(e->>'message', c.names) > 0) THEN ''
               ELSE E'\n# got ' || left(e::text, 500) END
FROM batch_cases AS c CROSS JOIN LATERAL pg_temp.refusal(format('SELECT * FROM metrics.record_github_events(%L)', c.batch)) AS e
ORDER BY c.position;
SELECT results_eq($$SELECT events, recorded, duplicates, unknown FROM metrics.record_github_events('[]')$$,
                  $$VALUES (0, 0, 0, 0)$$, 'an empty batch');
SELECT results_eq(
    $$SELECT events, recorded, duplicates, unknown FROM metrics.record_github_events(
          (SELECT jsonb_agg(jsonb_build_object('event', 'ping', 'payload', jsonb_build_object('n', g))) FROM generate_series(1, 10000) AS g))$$,
    $$VALUES (10000, 10000, 0, 10000)$$, '10,000 items, the largest batch');

-- ---------------------------------------------------------------------------------------
-- Environments: the default tiers, the owner's mapping, the view.
-- ---------------------------------------------------------------------------------------
SELECT is(metrics.environment_tier(v.name), v.tier, format('environment_tier(%L) = %s', v.name, coalesce(v.tier, 'NULL')))
FROM (VALUES (1, 'production', 'production'), (2, 'Prod', 'production'), (3, 'PRD', 'production'), (4, 'live', 'production'),
             (5, 'production-eu', 'production'), (6, 'prod_us', 'production'), (7, 'prod/blue', 'production'),
             (8, 'prd.1', 'production'), (9, 'live eu', 'production'), (10, ' Production ', 'production'),
             (11, 'staging', 'staging'), (12, 'stage', 'staging'), (13, 'STG', 'staging'), (14, 'preprod', 'staging'),
             (15, 'pre-production', 'staging'), (16, 'uat-2', 'staging'),
             (17, 'testing', 'testing'), (18, 'test', 'testing'), (19, 'qa', 'testing'), (20, 'ci', 'testing'),
             (21, 'development', 'development'), (22, 'dev', 'development'), (23, 'develop', 'development'), (24, 'preview-42', 'development'),
             (25, 'local', 'local'), (26, 'localhost', 'local'),
             (27, 'productionx', NULL), (28, 'my-prod', NULL), (29, 'github-pages', NULL), (30, 'devel', NULL), (31, 'p', NULL))
     AS v(n, name, tier)
ORDER BY v.n;

SELECT lives_ok($$SELECT metrics.set_environment_tier(' My-Prod ', 'production')$$, 'set_environment_tier('' My-Prod '', production)');
SELECT is((SELECT string_agg(concat_ws('|', name, tier, set_by), ',') FROM metrics.environment_settings),
          'my-prod|production|' || current_user, 'stored lower-cased and trimmed, with who set it');
SELECT is(metrics.environment_tier('MY-PROD'), 'production', 'the owner''s row answers');
SELECT lives_ok($$SELECT metrics.set_environment_tier('production-eu', 'staging')$$, 'a row overrides a default');
SELECT is(metrics.environment_tier('production-eu'), 'staging', 'the row wins over the default');
SELECT lives_ok($$SELECT metrics.set_environment_tier('production-eu', NULL)$$, 'tier NULL removes the row');
SELECT is(metrics.environment_tier('production-eu'), 'production', 'and the default is back');
SELECT is((SELECT count(*) FROM metrics.environment_settings WHERE name = 'production-eu'), 0::bigint, 'the row is gone');
-- Who set it is the caller (as retention_settings.set_by says), not the session's login role:
-- over PostgREST the session user is always authenticator.
CREATE ROLE regress_metrics_gh_login LOGIN IN ROLE service_role;
SET LOCAL SESSION AUTHORIZATION regress_metrics_gh_login;
SET LOCAL ROLE service_role;
DO $$ BEGIN PERFORM metrics.set_environment_tier('set-by-probe', 'staging'); END $$;
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT is((SELECT set_by FROM metrics.environment_settings WHERE name = 'set-by-probe'), 'service_role',
          'set_by is the role that called set_environment_tier (service_role), not the login role');
DELETE FROM metrics.environment_settings WHERE name = 'set-by-probe';
SELECT pg_temp.fails_with(format('SELECT metrics.set_environment_tier(%L, %L)', v.name, v.tier), '22023',
                          format('set_environment_tier(%L, %L) is refused', v.name, v.tier))
FROM (VALUES (1, 'qa', 'bogus'), (2, 'qa', ''), (3, '', 'production'), (4, '   ', 'production')) AS v(n, name, tier)
ORDER BY v.n;
SELECT is((SELECT count(*) FROM metrics.environment_settings), 1::bigint, 'refused tiers wrote nothing');

-- The view: every environment seen in deployments or set, with its tier.
SELECT is(
    (SELECT string_agg(name || '=' || coalesce(tier, 'none'), ',' ORDER BY name) FROM metrics.environments),
    'my-prod=production,production=production,qa-eu=testing',
    'metrics.environments: the deployments'' environments and the set one, with their tiers');

-- ---------------------------------------------------------------------------------------
-- get_dora_metrics: the argument checks of fetch_metrics; an environment without data gives
-- rows of zeros, not an error.
-- ---------------------------------------------------------------------------------------
SELECT pg_temp.fails_with(v.statement, v.sqlstate, v.label)
FROM (VALUES
    (1, $$SELECT * FROM metrics.get_dora_metrics(NULL, '2025-06-30')$$, '22004', 'get_dora_metrics: a NULL start'),
    (2, $$SELECT * FROM metrics.get_dora_metrics('2025-06-01', NULL)$$, '22004', 'get_dora_metrics: a NULL end'),
    (3, $$SELECT * FROM metrics.get_dora_metrics('2025-06-30', '2025-06-01')$$, '22023', 'get_dora_metrics: start after end'),
    (4, $$SELECT * FROM metrics.get_dora_metrics('2024-01-01', '2025-06-30')$$, '22023', 'get_dora_metrics: more than metrics.max_query_days'),
    (5, $$SELECT * FROM metrics.get_dora_metrics('2025-06-01', '2025-06-30', grain => 'fortnight')$$, '22023', 'get_dora_metrics: an unknown grain'),
    (6, $$SELECT * FROM metrics.get_dora_metrics('2025-06-01', '2025-06-30', grain => NULL)$$, '22004', 'get_dora_metrics: a NULL grain'),
    (7, $$SELECT * FROM metrics.get_dora_metrics('-infinity', '2025-06-30')$$, '22008', 'get_dora_metrics: an infinite start'),
    (8, $$SELECT * FROM metrics.get_dora_metrics('2025-06-01', 'infinity')$$, '22008', 'get_dora_metrics: an infinite end')
) AS v(n, statement, sqlstate, label)
ORDER BY v.n;
SET LOCAL metrics.max_query_days = 10;
SELECT pg_temp.fails_with($$SELECT * FROM metrics.get_dora_metrics('2025-06-01', '2025-06-30')$$, '22023',
                          'get_dora_metrics: 30 days with metrics.max_query_days = 10');
RESET metrics.max_query_days;
SELECT is((SELECT count(*) FROM metrics.get_dora_metrics('2025-01-01', '2025-12-31', 'all', 'month', 'octo/repo')), 12::bigint,
          'a year by month, every environment: twelve rows');

SELECT results_eq(
    $$SELECT period_start, repository, environment, deployments, deploy_days, lead_time_n, change_failure_rate, recovery_n, level
      FROM metrics.get_dora_metrics('2025-06-02', '2025-06-15', 'nowhere', 'week', 'octo/repo') ORDER BY 1$$,
    $$VALUES (date '2025-06-02', 'octo/repo', 'nowhere', 0, 0, 0, NULL::numeric, 0, NULL::text),
             (date '2025-06-09', 'octo/repo', 'nowhere', 0, 0, 0, NULL::numeric, 0, NULL::text)$$,
    'an environment without data: one row per week with zeros and NULLs');
SELECT results_eq(
    $$SELECT period_start, deployments FROM metrics.get_dora_metrics('2025-06-01', '2025-06-03', 'production', 'day', 'octo/repo') ORDER BY 1$$,
    $$VALUES (date '2025-06-01', 0), (date '2025-06-02', 1), (date '2025-06-03', 0)$$,
    'production by day: the successful deployment on 2025-06-02, empty days included');
SELECT is((SELECT sum(deployments) FROM metrics.get_dora_metrics('2025-06-01', '2025-06-30', v.env, 'month', 'octo/repo')), 1::bigint,
          format('environment %L reaches the production deployment', v.env))
FROM (VALUES (1, 'production'), (2, 'Production'), (3, 'all'), (4, '*')) AS v(n, env) ORDER BY v.n;
SELECT is((SELECT sum(deployments) FROM metrics.get_dora_metrics('2025-06-01', '2025-06-30', 'staging', 'month', 'octo/repo')), 0::bigint,
          'the staging tier does not');

-- The incident window is 24 hours (metrics.dora_incident_window), also when the reader's
-- time zone changes its clocks: an incident opened 23.5 hours after a successful deployment,
-- on the day Europe's clocks go forward, is linked to it (a window of '1 day' would be 23
-- hours there).
SELECT lives_ok($$SELECT * FROM metrics.record_github_events('[
    {"event": "deployment_status", "payload": {"repository": {"full_name": "octo/dst"},
      "deployment": {"id": 501, "sha": "5050505050505050505050505050505050505050", "environment": "production",
                     "created_at": "2025-03-29T12:00:00Z"},
      "deployment_status": {"id": 5011, "state": "success", "created_at": "2025-03-29T12:30:00Z"}}},
    {"event": "issues", "payload": {"action": "opened", "repository": {"full_name": "octo/dst"},
      "issue": {"number": 1, "id": 5001, "state": "open", "body": "the site is down", "labels": [{"name": "incident"}],
                "created_at": "2025-03-30T12:00:00Z", "updated_at": "2025-03-30T12:00:00Z"}}}]')$$,
    'a deployment, and an incident 23.5 hours after it finished');
SELECT results_eq($$SELECT deployment_id, link FROM metrics.dora_incidents WHERE repository = 'octo/dst'$$,
                  $$VALUES (501::bigint, 'window')$$, 'linked through the 24-hour window, read in UTC');
SET LOCAL TimeZone = 'Europe/Berlin';
SELECT results_eq($$SELECT deployment_id, link FROM metrics.dora_incidents WHERE repository = 'octo/dst'$$,
                  $$VALUES (501::bigint, 'window')$$,
                  'linked through the 24-hour window, read in Europe/Berlin on the day the clocks go forward');
SET LOCAL TimeZone = 'UTC';

SELECT * FROM finish();
ROLLBACK;
