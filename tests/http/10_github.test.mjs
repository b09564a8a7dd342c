// GitHub events over HTTP, as the workflow example sends them: the step of
// examples/github/record-metrics.yml is run as written (its `run:` block, with the env it
// declares) and calls examples/github/send-event.sh, which POSTs to {SUPABASE_URL}/rest/v1/
// rpc/record_github_event. A small proxy plays Supabase's gateway (it strips /rest/v1 and
// records the headers it got) in front of the test's PostgREST. Real octokit payloads
// (tests/fixtures/github/octokit/) are recorded and checked with psql; a redelivery answers
// recorded=false; anon and users are refused (401/403, 42501) with nothing written; a bad
// payload is a 400 with SQLSTATE 22023 naming the JSON path; a payload above the 128 KiB an
// environment variable could carry goes through; get_dora_metrics answers GET, anon included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { AS, BASE_URL, api, assertError, assertOk, jwtFor, screenResponse, sql, sqlRows } from './lib.mjs';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKFLOW = join(REPO_ROOT, 'examples/github/record-metrics.yml');
const SEND_EVENT = join(REPO_ROOT, 'examples/github/send-event.sh');
const OCTOKIT = join(REPO_ROOT, 'tests/fixtures/github/octokit');
const REPO = 'codertocat/hello-world';

// ---------------------------------------------------------------------------------------------
// The workflow's step, read from the YAML: its env keys and its run block (the YAML is ours and
// simple: two-space indentation, one `run: |` block in the step named "Record the event").

const workflowText = readFileSync(WORKFLOW, 'utf8');

function recordStep() {
    const lines = workflowText.split('\n');
    const start = lines.findIndex((l) => /^\s*- name: Record the event\s*$/.test(l));
    assert.ok(start >= 0, 'the workflow has a step "Record the event"');
    const stepIndent = lines[start].indexOf('-');
    const step = [];
    for (let i = start + 1; i < lines.length; i++) {
        const l = lines[i];
        if (l.trim() !== '' && l.search(/\S/) <= stepIndent) break;
        step.push(l);
    }
    const runAt = step.findIndex((l) => /^\s*run: \|\s*$/.test(l));
    assert.ok(runAt >= 0, 'the step has a run: | block');
    const runIndent = step[runAt].search(/\S/);
    const body = [];
    for (const l of step.slice(runAt + 1)) {
        if (l.trim() !== '' && l.search(/\S/) <= runIndent) break;
        body.push(l);
    }
    const indent = Math.min(...body.filter((l) => l.trim() !== '').map((l) => l.search(/\S/)));
    const envAt = step.findIndex((l) => /^\s*env:\s*$/.test(l));
    const env = {};
    for (const l of step.slice(envAt + 1)) {
        const m = /^\s+([A-Z_]+): (.*)$/.exec(l);
        if (!m) break;
        env[m[1]] = m[2];
    }
    return { run: body.map((l) => l.slice(indent)).join('\n').trim(), env };
}
const STEP = recordStep();

// ---------------------------------------------------------------------------------------------
// Supabase's gateway, played by a proxy: /rest/v1/<path> -> PostgREST's /<path>; every request's
// method, path and headers are kept for the tests to look at.

const seen = [];
let gateway;
let GATEWAY_URL;

async function startGateway() {
    gateway = createServer(async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method, url: req.url, headers: req.headers, bytes: body.length });
        if (!req.url.startsWith('/rest/v1/')) {
            res.writeHead(404).end('{"message":"not under /rest/v1"}');
            return;
        }
        const headers = { ...req.headers };
        // hop-by-hop headers stay with this hop (curl sends Expect: 100-continue for large bodies)
        for (const h of ['host', 'content-length', 'expect', 'connection', 'keep-alive', 'transfer-encoding']) delete headers[h];
        try {
            const r = await fetch(BASE_URL + req.url.slice('/rest/v1'.length), {
                method: req.method, headers, body: body.length ? body : undefined,
            });
            const text = await r.text();
            screenResponse(`${req.method} ${req.url} (through the gateway)`, r.status, text);
            res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(text);
        } catch (e) {
            res.writeHead(502).end(JSON.stringify({ message: String(e) }));
        }
    });
    await new Promise((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    GATEWAY_URL = `http://127.0.0.1:${gateway.address().port}`;
}

// ---------------------------------------------------------------------------------------------
// Running the step: in a checkout-like directory holding .github/metrics/send-event.sh, with the
// env the workflow gives it (secrets and vars filled in by the test), through bash as GitHub
// runs `shell: bash` (bash --noprofile --norc -eo pipefail).

let work;

function runStep({ event, payloadFile, key = AS.service_role, environment = '', url = GATEWAY_URL }) {
    const env = {
        PATH: process.env.PATH, HOME: process.env.HOME,
        GITHUB_EVENT_PATH: payloadFile,
        EVENT_NAME: event,
        SUPABASE_URL: url,
        SUPABASE_PROJECT_REF: '',
        SUPABASE_SECRET_KEY: key,
        METRICS_ENVIRONMENT: environment,
    };
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', STEP.run], { cwd: work, env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the step did not end: ${stderr}`)); }, 60_000);
        child.on('close', (code) => {
            clearTimeout(timer);
            let body;
            try { body = JSON.parse(stdout); } catch { body = undefined; }
            resolve({ code, stdout, stderr, body });
        });
    });
}

/** Runs the step and expects it to succeed; returns the one row record_github_event answered. */
async function recordOk(event, payloadFile, opts = {}) {
    const r = await runStep({ event, payloadFile, ...opts });
    assert.equal(r.code, 0, `the step succeeds: exit ${r.code}, ${r.stderr}${r.stdout}`);
    assert.ok(Array.isArray(r.body) && r.body.length === 1, `one row: ${r.stdout}`);
    return r.body[0];
}

const fixture = (path) => join(OCTOKIT, path);
const octokit = (path) => JSON.parse(readFileSync(fixture(path), 'utf8'));
function writePayload(name, payload) {
    const file = join(work, name);
    writeFileSync(file, JSON.stringify(payload));
    return file;
}
const eventCount = () => Number(sql('SELECT count(*) FROM metrics.github_events'));
const factCounts = () => sqlRows(`SELECT (SELECT count(*) FROM metrics.github_events) AS events,
    (SELECT count(*) FROM metrics.github_deployments) AS deployments,
    (SELECT count(*) FROM metrics.github_deployment_statuses) AS statuses,
    (SELECT count(*) FROM metrics.github_pull_requests) AS pull_requests,
    (SELECT count(*) FROM metrics.github_pushes) AS pushes,
    (SELECT count(*) FROM metrics.github_workflow_runs) AS workflow_runs,
    (SELECT count(*) FROM metrics.github_issues) AS issues`)[0];

before(async () => {
    work = mkdtempSync(join(tmpdir(), 'metrics-gh-'));
    mkdirSync(join(work, '.github/metrics'), { recursive: true });
    copyFileSync(SEND_EVENT, join(work, '.github/metrics/send-event.sh'));
    await startGateway();
});
after(async () => {
    await new Promise((resolve) => gateway.close(resolve));
    rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('the workflow example', () => {
    test('triggers on pull_request (closed), workflow_run (completed), deployment_status, issues and push', () => {
        assert.match(workflowText, /^ {2}pull_request:\n {4}types: \[closed\]$/m);
        assert.match(workflowText, /^ {2}workflow_run:\n(?: {4}#.*\n)* {4}workflows: \[.+\]\n {4}types: \[completed\]$/m);
        assert.match(workflowText, /^ {2}deployment_status:$/m);
        assert.match(workflowText, /^ {2}issues:$/m);
        assert.match(workflowText, /^ {2}push:$/m);
    });

    test('its step passes the event name and the event file to send-event.sh, with the secrets in env', () => {
        assert.equal(STEP.run, 'bash .github/metrics/send-event.sh "$EVENT_NAME" "$GITHUB_EVENT_PATH"');
        assert.deepEqual(STEP.env, {
            EVENT_NAME: '${{ github.event_name }}',
            SUPABASE_URL: '${{ secrets.SUPABASE_URL }}',
            SUPABASE_PROJECT_REF: '${{ secrets.SUPABASE_PROJECT_REF }}',
            SUPABASE_SECRET_KEY: '${{ secrets.SUPABASE_SECRET_KEY }}',
            METRICS_ENVIRONMENT: '${{ vars.METRICS_ENVIRONMENT }}',
        });
        // No toJson(github.event) in an environment variable (limited to 128 KiB).
        assert.doesNotMatch(workflowText, /^[^#]*toJson\(github\.event\)/m);
    });
});

describe('recording octokit payloads through the workflow step', () => {
    const CASES = [
        ['deployment', 'deployment/payload.json', 'deployment', 'deployment:145988746'],
        ['deployment_status', 'deployment_status/payload.json', 'deployment_status', 'deployment_status:209916254'],
        ['pull_request', 'pull_request/opened.payload.json', 'pull_request', 'pull_request:279147437:opened:2019-05-15T15:20:33Z'],
        ['pull_request', 'pull_request/closed.payload.json', 'pull_request', 'pull_request:279147437:closed:2019-05-15T15:21:18Z'],
        ['push', 'push/with-new-branch.payload.json', 'push',
            `push:${REPO}:refs/heads/master:6113728f27ae82c7b1a177c8d03f9e96e0adf246`],
        ['push', 'push/payload.json', 'push', `push:${REPO}:refs/tags/simple-tag:0000000000000000000000000000000000000000`],
        ['workflow_run', 'workflow_run/completed.payload.json', 'workflow_run', 'workflow_run:289782451:1:completed'],
        ['issues', 'issues/opened.payload.json', 'issue', 'issues:444500041:opened:2019-05-15T15:20:18Z'],
        ['issues', 'issues/labeled.payload.json', 'issue', 'issues:444500041:labeled:2019-05-15T15:20:18Z'],
    ];
    for (const [event, file, kind, key] of CASES) {
        test(`${event} ${file}: recorded as ${kind}, key ${key}`, async () => {
            seen.length = 0;
            assert.deepEqual(await recordOk(event, fixture(file)), { recorded: true, kind, event_key: key });
            // What reached the gateway: one POST, the key in both headers, the schema picked.
            assert.equal(seen.length, 1, 'one request');
            const [req] = seen;
            assert.equal(req.method, 'POST');
            assert.equal(req.url, '/rest/v1/rpc/record_github_event');
            assert.equal(req.headers.apikey, AS.service_role);
            assert.equal(req.headers.authorization, `Bearer ${AS.service_role}`);
            assert.equal(req.headers['content-profile'], 'metrics');
            assert.equal(req.headers['content-type'], 'application/json');
            // The stored payload is the file's JSON, unchanged.
            assert.equal(sql(`SELECT payload = '${readFileSync(fixture(file), 'utf8').replaceAll("'", "''")}'::jsonb
                              FROM metrics.github_events WHERE event_key = '${key}'`), 't');
        });
    }

    test('ping: an event the extension does not know is kept, as unknown', async () => {
        const row = await recordOk('ping', fixture('ping/payload.json'));
        assert.equal(row.recorded, true);
        assert.equal(row.kind, 'unknown');
        assert.match(row.event_key, /^ping:[0-9a-f]{64}$/);
    });

    test('the facts, as psql reads them', () => {
        assert.deepEqual(sqlRows(`SELECT repository, deployment_id, environment, sha FROM metrics.github_deployments`),
            [{ repository: REPO, deployment_id: 145988746, environment: 'production', sha: 'f95f852bd8fca8fcc58a9a2d6c842781e32a215e' }]);
        assert.deepEqual(sqlRows(`SELECT status_id, deployment_id, state FROM metrics.github_deployment_statuses`),
            [{ status_id: 209916254, deployment_id: 145988746, state: 'success' }]);
        // octokit's closed example says merged: false: closed, not merged, whatever merge_commit_sha says.
        assert.deepEqual(sqlRows(`SELECT number, state, merged_at, merge_commit_sha FROM metrics.github_pull_requests`),
            [{ number: 2, state: 'closed', merged_at: null, merge_commit_sha: null }]);
        assert.deepEqual(sqlRows(`SELECT ref, after_sha, cardinality(commit_shas) AS commits, pushed_at = to_timestamp(1557933657) AS epoch
                                  FROM metrics.github_pushes ORDER BY ref`),
            [{ ref: 'refs/heads/master', after_sha: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', commits: 1, epoch: true },
             { ref: 'refs/tags/simple-tag', after_sha: '0000000000000000000000000000000000000000', commits: 0, epoch: true }]);
        assert.deepEqual(sqlRows(`SELECT repository, run_id, run_attempt, status, conclusion FROM metrics.github_workflow_runs`),
            [{ repository: 'octo-org/octo-repo', run_id: 289782451, run_attempt: 1, status: 'completed', conclusion: 'success' }]);
        assert.deepEqual(sqlRows(`SELECT number, issue_id, labels FROM metrics.github_issues`),
            [{ number: 1, issue_id: 444500041, labels: ['bug'] }]);
        assert.equal(sql(`SELECT count(*) FROM metrics.github_events
                          WHERE payload_sha256 = sha256(convert_to(payload::text, 'UTF8'))`), String(eventCount()));
    });

    test('a redelivery (the workflow re-run): 200, recorded=false, nothing changes', async () => {
        const before = factCounts();
        for (const [event, file] of [['deployment_status', 'deployment_status/payload.json'], ['push', 'push/with-new-branch.payload.json']]) {
            const row = await recordOk(event, fixture(file));
            assert.equal(row.recorded, false, `${file} again`);
        }
        assert.deepEqual(factCounts(), before);
    });

    test('a merged pull request (merged: true): merged_at and the merge sha are kept', async () => {
        const pr = octokit('pull_request/closed.payload.json');
        pr.pull_request.merged = true;
        pr.pull_request.merged_at = '2019-05-15T15:21:18Z';
        pr.pull_request.updated_at = '2019-05-15T15:21:19Z';
        const row = await recordOk('pull_request', writePayload('merged.json', pr));
        assert.deepEqual(row, { recorded: true, kind: 'pull_request', event_key: 'pull_request:279147437:closed:2019-05-15T15:21:19Z' });
        assert.deepEqual(sqlRows(`SELECT merged_at IS NOT NULL AS merged, merge_commit_sha FROM metrics.github_pull_requests`),
            [{ merged: true, merge_commit_sha: 'c4295bd74fb0f4fda03689c3df3f2803b658fd85' }]);
    });

    test('METRICS_ENVIRONMENT reaches the run: a second attempt recorded with environment Staging', async () => {
        const run = octokit('workflow_run/completed.payload.json');
        run.workflow_run.run_attempt = 2;
        const row = await recordOk('workflow_run', writePayload('attempt2.json', run), { environment: 'Staging' });
        assert.equal(row.event_key, 'workflow_run:289782451:2:completed');
        assert.equal(sql(`SELECT environment FROM metrics.github_workflow_runs WHERE run_id = 289782451 AND run_attempt = 2`), 'staging');
    });

    test('a push of 2,500 commits (over 400 KB, beyond what an environment variable could carry) is recorded', async () => {
        const push = octokit('push/with-new-branch.payload.json');
        const template = push.commits[0];
        push.ref = 'refs/heads/big';
        push.after = 'b'.repeat(40);
        push.commits = Array.from({ length: 2500 }, (_, i) => ({
            ...template, id: i.toString(16).padStart(40, 'a'), message: `commit ${i} `.repeat(8),
            timestamp: new Date(Date.UTC(2019, 4, 15, 12, 0, i % 60)).toISOString().replace('.000Z', 'Z'),
        }));
        const file = writePayload('big.json', push);
        assert.ok(readFileSync(file).length > 400 * 1024, 'the payload is above 400 KB');
        const row = await recordOk('push', file);
        assert.equal(row.recorded, true);
        assert.equal(sql(`SELECT cardinality(commit_shas) FROM metrics.github_pushes WHERE ref = 'refs/heads/big'`), '2500');
    });
});

describe('refusals', () => {
    // Supabase's anon key is a JWT of role anon: 401, like no JWT at all; a user's JWT: 403.
    for (const [who, key, status] of [['the anon key', jwtFor('anon'), 401], ['a user\'s JWT', AS.authenticated, 403]]) {
        test(`the step with ${who}: fails, HTTP ${status}, 42501, nothing written`, async () => {
            const before = factCounts();
            const pr = octokit('pull_request/closed.payload.json');
            pr.pull_request.updated_at = '2019-05-16T00:00:00Z';
            const r = await runStep({ event: 'pull_request', payloadFile: writePayload('forged.json', pr), key });
            assert.equal(r.code, 1, `the step fails: ${r.stderr}`);
            assert.match(r.stderr, new RegExp(`answered HTTP ${status}: .*"code":"42501"`));
            assert.deepEqual(factCounts(), before);
        });
    }

    const GUARDED = {
        record_github_event: { event: 'ping', payload: { zen: 'forged' } },
        record_github_events: { events: [{ event: 'ping', payload: { zen: 'forged batch' } }] },
        set_environment_tier: { name: 'forged', tier: 'production' },
        explain_dora: { repository: REPO, environment: 'production', day: '2019-05-15' },
    };
    for (const [who, jwt, status] of [['anon (no JWT)', AS.anon, 401], ['authenticated', AS.authenticated, 403], ['an admin user', AS.admin, 403]]) {
        for (const [fn, body] of Object.entries(GUARDED)) {
            test(`POST /rpc/${fn} as ${who}: ${status}, 42501, nothing written`, async () => {
                const before = factCounts();
                assertError(await api('POST', `/rpc/${fn}`, { as: jwt, body }), status, '42501', { hint: false });
                assert.deepEqual(factCounts(), before);
                assert.equal(sql(`SELECT count(*) FROM metrics.environment_settings`), '0');
            });
        }
    }

    test('a payload without deployment.sha, through the step: fails with HTTP 400, 22023, the path in the message', async () => {
        const before = factCounts();
        const dep = octokit('deployment/payload.json');
        dep.deployment.id = 145988747;
        delete dep.deployment.sha;
        const r = await runStep({ event: 'deployment', payloadFile: writePayload('bad.json', dep) });
        assert.equal(r.code, 1, `the step fails: ${r.stderr}`);
        const m = /answered HTTP (\d+): (.*)$/s.exec(r.stderr.trim());
        assert.ok(m, `the error says the status and body: ${r.stderr}`);
        assert.equal(m[1], '400');
        const body = JSON.parse(m[2]);
        assert.equal(body.code, '22023');
        assert.match(body.message, /payload\.deployment\.sha/);
        assert.ok(body.hint, 'a hint');
        assert.deepEqual(factCounts(), before);
    });

    test('the same by direct POST, and a batch naming events[1]: 400, 22023', async () => {
        const dep = octokit('deployment/payload.json');
        delete dep.deployment.created_at;
        let body = assertError(await api('POST', '/rpc/record_github_event', { as: AS.service_role, body: { event: 'deployment', payload: dep } }),
            400, '22023');
        assert.match(body.message, /payload\.deployment\.created_at/);
        body = assertError(await api('POST', '/rpc/record_github_events', {
            as: AS.service_role,
            body: { events: [{ event: 'ping', payload: { zen: 'fine' } }, { event: 'deployment', payload: dep }] },
        }), 400, '22023');
        assert.match(body.message, /events\[1\]\.payload\.deployment\.created_at/);
        assert.equal(sql(`SELECT count(*) FROM metrics.github_events WHERE payload->>'zen' = 'fine'`), '0');
    });

    test('a payload that is JSON null (SQL NULL through PostgREST): 400, 22004; a file that is not JSON: the step fails before sending', async () => {
        const r = await runStep({ event: 'push', payloadFile: writePayload('null.json', null) });
        assert.equal(r.code, 1);
        assert.match(r.stderr, /answered HTTP 400: .*"code":"22004"/);
        writeFileSync(join(work, 'garbage.json'), '{"not json');
        seen.length = 0;
        const g = await runStep({ event: 'push', payloadFile: join(work, 'garbage.json') });
        assert.equal(g.code, 1);
        assert.match(g.stderr, /not one JSON value/);
        assert.equal(seen.length, 0, 'nothing was sent');
    });
});

describe('reading the keys', () => {
    const query = new URLSearchParams({
        start_date: '2019-05-13', end_date: '2019-05-26', environment: 'production', grain: 'week', repository: REPO,
    }).toString();

    test('GET /rpc/get_dora_metrics as the service role: the week of the successful deployment', async () => {
        const rows = assertOk(await api('GET', `/rpc/get_dora_metrics?${query}`, { as: AS.service_role }));
        assert.deepEqual(rows.map((r) => [r.period_start, r.repository, r.environment, r.deployments]),
            [['2019-05-13', REPO, 'production', 1], ['2019-05-20', REPO, 'production', 0]]);
    });

    for (const [who, jwt] of [['anon (no JWT)', AS.anon], ['authenticated', AS.authenticated]]) {
        // The keys are read as the caller, like the request reports: the facts are the
        // administrators', so a dashboard's anon or user key gets 200 and no row (the keys for
        // everyone are the sealed daily metrics of install_preset('dora')).
        test(`GET /rpc/get_dora_metrics as ${who}: 200, no row (the facts are the administrators')`, async () => {
            const rows = assertOk(await api('GET', `/rpc/get_dora_metrics?${query}`, { as: jwt }));
            assert.deepEqual(rows, []);
            // and the facts themselves stay hidden
            assert.deepEqual(assertOk(await api('GET', '/github_deployments?select=deployment_id', { as: jwt })), []);
        });
    }

    test('POST /rpc/explain_dora as the service role: the rows behind the day, the deployment among them', async () => {
        const rows = assertOk(await api('POST', '/rpc/explain_dora', {
            as: AS.service_role, body: { repository: REPO, environment: 'production', day: '2019-05-15' },
        }));
        assert.ok(rows.some((r) => r.item === 'deployment' && r.id === '145988746'), `the deployment: ${JSON.stringify(rows)}`);
    });

    test('GET /rpc/environment_tier: the default tier, for the service role and anon alike (read level)', async () => {
        assert.equal(assertOk(await api('GET', '/rpc/environment_tier?name=Production-EU', { as: AS.service_role })), 'production');
        assert.equal(assertOk(await api('GET', '/rpc/environment_tier?name=Production-EU', { as: AS.anon })), 'production');
    });

    test('GET /rpc/get_dora_metrics with an unknown grain: 400, 22023; reversed dates: 400, 22023', async () => {
        assertError(await api('GET', `/rpc/get_dora_metrics?start_date=2019-05-13&end_date=2019-05-26&grain=fortnight`, { as: AS.anon }),
            400, '22023');
        assertError(await api('GET', `/rpc/get_dora_metrics?start_date=2019-05-26&end_date=2019-05-13`, { as: AS.anon }), 400, '22023');
    });

    test('a function that writes is not callable by GET: set_environment_tier answers 405, nothing written', async () => {
        const res = await api('GET', '/rpc/set_environment_tier?name=by-get&tier=staging', { as: AS.service_role });
        assert.equal(res.status, 405, `got ${res.status} ${res.text}`);
        assert.equal(sql(`SELECT count(*) FROM metrics.environment_settings`), '0');
    });
});
