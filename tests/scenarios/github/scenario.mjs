#!/usr/bin/env node
// Builds a realistic GitHub history of five weeks (2025-03-03 .. 2025-04-13; the range read is
// 2025-03-10 .. 2025-04-13, across the Europe/Berlin change to summer time on 2025-03-30) by
// templating the octokit webhook examples of tests/fixtures/github/octokit-webhooks/ (MIT):
// ids, shas, times, environments, states, labels and bodies are rewritten, the rest of each
// payload stays as GitHub sends it.
//
//   node scenario.mjs OUT.json [SEED]
//
// OUT.json: a JSON array of {"i", "event", "payload", "delivery_id"?, "environment"?} in the
// order GitHub would have sent them (by time). i is the position in that order. Deterministic
// for a seed (default 11).
//
// Two repositories: Codertocat/Hello-World (most of it) and Octocoders/Hello-World (a small
// history, so that rows are per repository and walks never cross repositories). Environments:
// production and production-eu (tier production), staging (tier staging), qa (tier testing,
// first deployed in week 3), github-pages (no tier; deploys branch gh-pages). What is in it:
// merged PRs (merge commits and squashes), closed-unmerged PRs, a PR still open, PRs into
// gh-pages, direct pushes, a push whose event is lost (the walk is partial), feature-branch
// pushes, deployments with queued/in_progress/success/failure/error/inactive statuses, some known
// only from deployment_status events, a failure followed by a fix, an error followed by a
// redeploy of the same sha, a redeploy of the same sha after a success, a success later turned
// into a failure by a later status, a deployment that never finishes, a rollback (redeploying
// an older sha) followed by a hotfix, each environment's first deployment (after older merged
// PRs), pending changes at the end, incidents (linked by a deployment id, by a sha added in an
// edit, by the 24 h window in production, staging and qa; one outside every window; closed
// ones, an open one, one closed before the next deployment), a false alarm whose incident
// label is removed, a plain bug issue, hotfix-labelled PRs, workflow runs (some recorded with
// an environment), and events the extension does not know (ping, release).
import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const FIX = new URL('../../fixtures/github/octokit-webhooks/', import.meta.url);
const TPL = {};
const tpl = (p) => structuredClone(TPL[p] ??= JSON.parse(readFileSync(new URL(p, FIX), 'utf8')));

const out = process.argv[2];
const seed = Number(process.argv[3] ?? 11);
if (!out) {
    console.error('usage: node scenario.mjs OUT.json [SEED]');
    process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Determinism: a small PRNG and shas/ids from counters.
function mulberry32(a) {
    return () => {
        a |= 0; a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const rng = mulberry32(seed);
const rint = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
let shaN = 0;
// Shas are made to contain at least one letter among their first 7 characters, and never to
// look like a number, so they cannot be mistaken for ids in bodies.
function newSha(label) {
    for (;;) {
        const s = createHash('sha1').update(`metrics-scenario:${seed}:${label}:${shaN++}`).digest('hex');
        if (/[a-f]/.test(s.slice(0, 7))) return s;
    }
}
function uuid(label) {
    const h = createHash('sha256').update(`delivery:${seed}:${label}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
const ZERO = '0'.repeat(40);
const MIN = 60e3, HOUR = 3600e3;
const T = (md, hh, mm = 0, ss = 0) => Date.UTC(2025, Number(md.slice(0, 2)) - 1, Number(md.slice(3, 5)), hh, mm, ss);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---------------------------------------------------------------------------------------
// The events, collected with the time GitHub sends them.
const events = [];
let evN = 0;
function emit(at, event, payload, extra = {}) {
    const e = { at, n: evN++, event, payload };
    // Most deliveries carry GitHub's delivery id; a backfill or a workflow's github.event does not.
    if (extra.delivery !== false && rng() < 0.8) e.delivery_id = uuid(`${event}:${evN}`);
    if (extra.environment) e.environment = extra.environment;
    events.push(e);
}

let nextDeploymentId = 145988746, nextStatusId = 209916254, nextPrId = 279147437,
    nextIssueId = 444500041, nextRunId = 289782451, nextCommentless = 1;

class Repo {
    constructor(fullName, id) {
        this.fullName = fullName;
        this.owner = fullName.split('/')[0];
        this.id = id;
        this.heads = {};         // branch -> sha
        this.nextNumber = 1;     // PRs and issues share their numbers, as on GitHub
        this.lastSuccess = {};   // environment -> deployment (for inactive statuses)
    }
    repository(pushedAt) {
        const r = tpl('push/with-new-branch.payload.json').repository;
        r.id = this.id;
        r.name = this.fullName.split('/')[1];
        r.full_name = this.fullName;
        r.owner.login = this.owner;
        r.html_url = `https://github.com/${this.fullName}`;
        r.url = `https://github.com/${this.fullName}`;
        r.default_branch = 'main';
        r.master_branch = 'main';
        if (pushedAt !== undefined) r.pushed_at = Math.floor(pushedAt / 1000);
        return r;
    }
    apiRepository() {
        // The repository object of non-push webhooks has ISO times.
        const r = tpl('deployment/payload.json').repository;
        r.id = this.id;
        r.name = this.fullName.split('/')[1];
        r.full_name = this.fullName;
        r.owner.login = this.owner;
        r.html_url = `https://github.com/${this.fullName}`;
        r.url = `https://api.github.com/repos/${this.fullName}`;
        r.default_branch = 'main';
        return r;
    }

    // A push of COMMITS ([{sha, at, message}]) onto BRANCH at AT. lost: its event never arrives.
    push(branch, at, commits, { lost = false, delivery } = {}) {
        const p = tpl('push/with-new-branch.payload.json');
        const before = this.heads[branch] ?? ZERO;
        const after = commits[commits.length - 1].sha;
        const mk = (c) => {
            const x = structuredClone(p.commits[0]);
            x.id = c.sha;
            x.tree_id = newSha('tree');
            x.message = c.message;
            x.timestamp = iso(c.at);
            x.url = `https://github.com/${this.fullName}/commit/${c.sha}`;
            x.distinct = true;
            return x;
        };
        p.ref = `refs/heads/${branch}`;
        p.before = before;
        p.after = after;
        p.created = before === ZERO;
        p.deleted = false;
        p.forced = false;
        p.compare = `https://github.com/${this.fullName}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`;
        p.commits = commits.map(mk);
        p.head_commit = mk(commits[commits.length - 1]);
        p.repository = this.repository(at);
        p.sender.login = this.owner;
        this.heads[branch] = after;
        if (!lost) emit(at, 'push', p, { delivery });
        return after;
    }

    pr(action, number, id, fields) {
        const p = tpl(action === 'closed' ? 'pull_request/closed.payload.json'
            : action === 'labeled' ? 'pull_request/labeled.payload.json' : 'pull_request/opened.payload.json');
        p.action = action;
        p.number = number;
        const pr = p.pull_request;
        pr.id = id;
        pr.number = number;
        pr.node_id = Buffer.from(`PR${id}`).toString('base64');
        pr.url = `https://api.github.com/repos/${this.fullName}/pulls/${number}`;
        pr.html_url = `https://github.com/${this.fullName}/pull/${number}`;
        pr.title = fields.title;
        pr.body = fields.body ?? 'This change is ready for review.';
        pr.created_at = iso(fields.openedAt);
        pr.updated_at = iso(fields.updatedAt);
        pr.closed_at = fields.closedAt ? iso(fields.closedAt) : null;
        pr.state = fields.closedAt ? 'closed' : 'open';
        pr.merged = !!fields.merged;
        pr.merged_at = fields.merged ? iso(fields.closedAt) : null;
        pr.merge_commit_sha = fields.mergeSha ?? null;
        pr.labels = (fields.labels ?? []).map((name, k) => ({
            id: 1362934389 + k, node_id: 'MDU6TGFiZWwxMzYyOTM0Mzg5', name, color: 'd73a4a', default: false,
            url: `https://api.github.com/repos/${this.fullName}/labels/${name}`, description: null,
        }));
        pr.base.ref = fields.base;
        pr.base.label = `${this.owner}:${fields.base}`;
        pr.base.sha = fields.baseSha ?? ZERO;
        pr.base.repo = this.apiRepository();
        pr.head.ref = fields.headRef;
        pr.head.label = `${this.owner}:${fields.headRef}`;
        pr.head.sha = fields.headSha;
        pr.head.repo = this.apiRepository();
        pr.commits = fields.nCommits ?? 1;
        if (action === 'labeled') p.label = pr.labels[pr.labels.length - 1];
        p.repository = this.apiRepository();
        return p;
    }

    // A PR opened at OPENEDAT with N commits (some an hour or days old) and merged at AT;
    // the merge is pushed to BASE a few seconds later. Returns {number, sha}.
    mergePR(at, { base = 'main', n = rint(1, 3), squash = false, labels = [], openedAt, title, branchPush = rng() < 0.4 } = {}) {
        const number = this.nextNumber++;
        const id = nextPrId++;
        openedAt ??= at - rint(2, 50) * HOUR - rint(0, 59) * MIN;
        const headRef = `feature/change-${number}`;
        const feature = [];
        for (let k = 0; k < n; k++) {
            feature.push({ sha: newSha('feature'), at: openedAt - (n - k) * rint(5, 90) * MIN, message: `Work on #${number} (${k + 1})` });
        }
        title ??= `Change ${number} of ${this.fullName.split('/')[1]}`;
        if (branchPush) this.push(headRef, openedAt - 2 * MIN, feature);
        const common = { title, openedAt, base, headRef, headSha: feature[n - 1].sha, nCommits: n, baseSha: this.heads[base] };
        emit(openedAt, 'pull_request', this.pr('opened', number, id, { ...common, updatedAt: openedAt, labels: [] }));
        if (labels.length) {
            const lt = openedAt + rint(5, 40) * MIN;
            emit(lt, 'pull_request', this.pr('labeled', number, id, { ...common, updatedAt: lt, labels }));
        }
        const mergeSha = newSha('merge');
        emit(at, 'pull_request', this.pr('closed', number, id, { ...common, updatedAt: at, closedAt: at, merged: true, mergeSha, labels }));
        const commits = squash ? [{ sha: mergeSha, at, message: `${title} (#${number})` }]
            : [...feature, { sha: mergeSha, at, message: `Merge pull request #${number} from ${headRef}` }];
        this.push(base, at + rint(2, 9) * 1000, commits);
        return { number, sha: mergeSha };
    }

    // A PR closed without merging: GitHub's payload still carries a (test) merge_commit_sha.
    closeUnmerged(openedAt, at) {
        const number = this.nextNumber++;
        const id = nextPrId++;
        const headSha = newSha('abandoned');
        const common = { title: `Experiment ${number}`, openedAt, base: 'main', headRef: `spike/${number}`, headSha };
        emit(openedAt, 'pull_request', this.pr('opened', number, id, { ...common, updatedAt: openedAt }));
        emit(at, 'pull_request', this.pr('closed', number, id, { ...common, updatedAt: at, closedAt: at, merged: false, mergeSha: newSha('testmerge') }));
        return number;
    }

    openOnly(openedAt) {
        const number = this.nextNumber++;
        emit(openedAt, 'pull_request', this.pr('opened', number, nextPrId++, {
            title: `Draft ${number}`, openedAt, updatedAt: openedAt, base: 'main', headRef: `draft/${number}`, headSha: newSha('draft'),
        }));
        return number;
    }

    directPush(at, n = 1, branch = 'main', opts = {}) {
        const commits = [];
        for (let k = 0; k < n; k++) commits.push({ sha: newSha('direct'), at: at - (n - k) * rint(3, 30) * MIN, message: `Direct change ${k + 1}` });
        return this.push(branch, at, commits, opts);
    }

    // A deployment of SHA to ENV created at AT, with STATUSES [[state, seconds after AT], ...].
    // via 'status': no deployment event, the deployment is known from its statuses only.
    deploy(env, sha, at, statuses, { ref = 'main', via = 'both', inactivatePrevious = env === 'production' } = {}) {
        const pages = env === 'github-pages';
        const id = nextDeploymentId++;
        const d = tpl(pages ? 'deployment/gh-pages.payload.json' : 'deployment/payload.json').deployment;
        Object.assign(d, {
            id, sha, ref, environment: env, original_environment: env,
            node_id: Buffer.from(`Deployment${id}`).toString('base64'),
            url: `https://api.github.com/repos/${this.fullName}/deployments/${id}`,
            statuses_url: `https://api.github.com/repos/${this.fullName}/deployments/${id}/statuses`,
            repository_url: `https://api.github.com/repos/${this.fullName}`,
            created_at: iso(at), updated_at: iso(at),
            description: `Deploy ${sha.slice(0, 7)} to ${env}`,
        });
        if (via === 'both') {
            const p = tpl(pages ? 'deployment/gh-pages.payload.json' : 'deployment/payload.json');
            p.deployment = structuredClone(d);
            p.repository = this.apiRepository();
            emit(at, 'deployment', p);
        }
        const dep = { id, sha, env, at, finishedAt: null, outcome: null };
        for (const [state, secs] of statuses) {
            const st = at + secs * 1000;
            this.status(d, state, st);
            if (['success', 'failure', 'error'].includes(state)) { dep.finishedAt = st; dep.outcome = state; }
        }
        if (dep.outcome === 'success') {
            const prev = this.lastSuccess[env];
            // GitHub marks the previous deployment of the environment inactive.
            if (prev && inactivatePrevious) this.status(prev.d, 'inactive', dep.finishedAt + 1000);
            this.lastSuccess[env] = { ...dep, d };
        }
        return dep;
    }

    status(d, state, at) {
        const p = tpl(d.environment === 'github-pages' ? 'deployment_status/gh-pages.payload.json' : 'deployment_status/payload.json');
        const sid = nextStatusId++;
        p.deployment = structuredClone(d);
        p.deployment.updated_at = iso(at);
        Object.assign(p.deployment_status, {
            id: sid, state, environment: d.environment,
            node_id: Buffer.from(`DeploymentStatus${sid}`).toString('base64'),
            url: `https://api.github.com/repos/${this.fullName}/deployments/${d.id}/statuses/${sid}`,
            deployment_url: `https://api.github.com/repos/${this.fullName}/deployments/${d.id}`,
            repository_url: `https://api.github.com/repos/${this.fullName}`,
            created_at: iso(at), updated_at: iso(at),
            description: `Deployment ${state}`,
        });
        p.repository = this.apiRepository();
        emit(at, 'deployment_status', p);
    }

    // An issue opened at AT; edits [{at, body}], unlabel {at, label}, closeAt; environment: the
    // environment argument every event of the issue is recorded with.
    issue(at, { title, body, labels = ['incident'], edits = [], unlabel, closeAt, environment } = {}) {
        const number = this.nextNumber++;
        const id = nextIssueId++;
        let cur = { body, labels: [...labels], state: 'open', closedAt: null };
        const mk = (action, updatedAt, extra = {}) => {
            const p = tpl(action === 'opened' ? 'issues/opened.payload.json'
                : action === 'unlabeled' ? 'issues/unlabeled.payload.json' : 'issues/edited.payload.json');
            p.action = action;
            const i = p.issue;
            Object.assign(i, {
                id, number, title, body: cur.body, state: cur.state,
                node_id: Buffer.from(`Issue${id}`).toString('base64'),
                url: `https://api.github.com/repos/${this.fullName}/issues/${number}`,
                html_url: `https://github.com/${this.fullName}/issues/${number}`,
                repository_url: `https://api.github.com/repos/${this.fullName}`,
                created_at: iso(at), updated_at: iso(updatedAt),
                closed_at: cur.closedAt ? iso(cur.closedAt) : null,
                labels: cur.labels.map((name, k) => ({
                    id: 1362934390 + k, node_id: 'MDU6TGFiZWwxMzYyOTM0Mzkw', name, color: 'b60205', default: false,
                    url: `https://api.github.com/repos/${this.fullName}/labels/${encodeURIComponent(name)}`, description: null,
                })),
            });
            Object.assign(p, extra);
            p.repository = this.apiRepository();
            emit(updatedAt, 'issues', p, { environment });
        };
        mk('opened', at);
        for (const e of edits) {
            const from = cur.body;
            cur.body = e.body;
            mk('edited', e.at, { changes: { body: { from } } });
        }
        if (unlabel) {
            cur.labels = cur.labels.filter((l) => l !== unlabel.label);
            mk('unlabeled', unlabel.at, { label: { id: 1362934390, name: unlabel.label, color: 'b60205', default: false } });
        }
        if (closeAt) {
            cur.state = 'closed';
            cur.closedAt = closeAt;
            mk('closed', closeAt, { changes: undefined });
        }
        return number;
    }

    workflowRun(at, { headSha, branch = 'main', conclusion = 'success', minutes = rint(3, 12), environment, name = 'CI' }) {
        const id = nextRunId++;
        for (const [action, file, when] of [['requested', 'workflow_run/requested.payload.json', at],
            ['completed', 'workflow_run/completed.payload.json', at + minutes * MIN]]) {
            const p = tpl(file);
            p.action = action;
            Object.assign(p.workflow_run, {
                id, name, head_sha: headSha, head_branch: branch, run_attempt: 1, run_number: id - 289782000,
                status: action === 'completed' ? 'completed' : 'queued',
                conclusion: action === 'completed' ? conclusion : null,
                created_at: iso(at), run_started_at: iso(at + 20e3), updated_at: iso(when), event: 'push',
                display_title: `${name} on ${headSha.slice(0, 7)}`,
            });
            p.repository = this.apiRepository();
            emit(when, 'workflow_run', p, { environment });
        }
    }
}

const ok = (secs = rint(180, 600)) => [['queued', 0], ['in_progress', rint(20, 60)], ['success', secs]];
const bad = (state = 'failure', secs = rint(120, 400)) => [['in_progress', rint(20, 60)], [state, secs]];

// ---------------------------------------------------------------------------------------
// Codertocat/Hello-World
const A = new Repo('Codertocat/Hello-World', 186853002);
A.push('main', T('03-03', 9, 0, 12), [{ sha: newSha('init'), at: T('03-03', 8, 41), message: 'Initial commit' }]);
// Merged PRs before any environment exists: no deployment may claim them, none is pending.
for (const [d, h] of [['03-04', 10], ['03-05', 15], ['03-06', 11], ['03-07', 16]]) A.mergePR(T(d, h, rint(0, 59), rint(0, 59)));
A.closeUnmerged(T('03-05', 9, 12), T('03-06', 17, 3));
A.push('gh-pages', T('03-06', 12, 0, 40), [{ sha: newSha('pages-init'), at: T('03-06', 11, 55), message: 'Create gh-pages' }]);
A.mergePR(T('03-07', 13, 20, 5), { base: 'gh-pages', n: 1 });
emit(T('03-03', 9, 5), 'ping', (() => { const p = tpl('ping/payload.json'); p.repository = A.apiRepository(); return p; })());

// The first deployments of staging, production and github-pages (Monday 03-10).
let stg = A.deploy('staging', A.heads.main, T('03-10', 8, 30, 10), ok());
let prod = A.deploy('production', A.heads.main, T('03-10', 9, 15, 33), ok());
A.deploy('github-pages', A.heads['gh-pages'], T('03-10', 9, 40, 2), ok(), { ref: 'gh-pages', via: 'status' });

const specials = {};
const days = [];
for (let t = T('03-10', 0); t <= T('04-11', 0); t += 24 * HOUR) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) days.push(new Date(t).toISOString().slice(5, 10));
}

// An ordinary working day: merges, each deployed to staging, and production (and sometimes
// production-eu) deploying the last sha staging took successfully.
function ordinaryDay(d, { merges = rint(1, 3), prodAt = rng() < 0.3 ? [22, rint(5, 50)] : [16, rint(0, 59)], eu = false } = {}) {
    let h = 9, lastStaging = 0;
    for (let k = 0; k < merges; k++) {
        const pr = A.mergePR(T(d, h, rint(0, 50), rint(0, 59)), { squash: rng() < 0.3 });
        h += rint(1, 2);
        stg = A.deploy('staging', pr.sha, T(d, h, rint(0, 40), rint(0, 59)), ok());
        lastStaging = stg.finishedAt;
        h += 1;
    }
    if (prodAt) {
        // Never before staging took the sha.
        const at = Math.max(T(d, prodAt[0], prodAt[1], rint(0, 59)), lastStaging + rint(15, 30) * MIN);
        prod = A.deploy('production', stg.sha, at, ok());
        if (eu) A.deploy('production-eu', stg.sha, at + rint(50, 80) * MIN, ok(), { via: 'status' });
    }
}

// Tuesday 03-11: a direct push (two commits) deployed to staging and production.
specials['03-11'] = (d) => {
    A.mergePR(T(d, 9, 12, 30));
    const sha = A.directPush(T(d, 10, 48, 9), 2);
    stg = A.deploy('staging', sha, T(d, 11, 5, 40), ok());
    prod = A.deploy('production', sha, T(d, 15, 30, 12), ok());
    A.workflowRun(T(d, 10, 49), { headSha: sha });
};
// Wednesday 03-12: staging fails; a fix is merged; staging succeeds (two PRs shipped at once).
specials['03-12'] = (d) => {
    const broken = A.mergePR(T(d, 9, 20, 1), { n: 2 });
    A.deploy('staging', broken.sha, T(d, 9, 50, 4), bad('failure'));
    const fix = A.mergePR(T(d, 11, 2, 44), { n: 1, squash: true });
    stg = A.deploy('staging', fix.sha, T(d, 11, 30, 0), ok());
    prod = A.deploy('production', stg.sha, T(d, 23, 10, 6), ok());   // Thursday in Berlin
    A.workflowRun(T(d, 9, 21), { headSha: broken.sha, conclusion: 'failure', environment: 'staging' });
};
// Thursday 03-13: an incident opened 3 h after the production deployment (window link), closed
// after 2 h; the next production deployment comes after it was closed (not rework).
specials['03-13'] = (d) => {
    ordinaryDay(d, { merges: 1, prodAt: [10, 20] });
    A.issue(T(d, 13, 41, 17), { title: 'Login page returns 500', body: 'Users report errors on the login page.', closeAt: T(d, 15, 52, 3) });
    A.mergePR(T(d, 16, 30, 9));
    stg = A.deploy('staging', A.heads.main, T(d, 16, 55, 30), ok());
    prod = A.deploy('production', stg.sha, T(d, 17, 40, 41), ok());
};
// Friday 03-14: staging errors, the same sha is redeployed successfully, then redeployed again
// (nothing new to ship).
specials['03-14'] = (d) => {
    const pr = A.mergePR(T(d, 9, 45, 50), { n: 3 });
    A.deploy('staging', pr.sha, T(d, 10, 10, 10), bad('error', 95));
    stg = A.deploy('staging', pr.sha, T(d, 10, 40, 3), ok());
    stg = A.deploy('staging', pr.sha, T(d, 14, 2, 18), ok());
    prod = A.deploy('production', pr.sha, T(d, 15, 12, 51), ok());
    A.closeUnmerged(T(d, 8, 0, 0), T(d, 12, 30, 30));
};
// Monday 03-17: production-eu's first deployment (older PRs are not its changes).
specials['03-17'] = (d) => {
    ordinaryDay(d, { merges: 2, prodAt: [15, 20] });
    A.deploy('production-eu', prod.sha, T(d, 16, 40, 0), ok(), { via: 'status' });
    const p = A.mergePR(T(d, 17, 10, 0), { base: 'gh-pages', n: 2 });
    A.deploy('github-pages', p.sha, T(d, 17, 30, 45), ok(), { ref: 'gh-pages', via: 'status' });
};
// Tuesday 03-18: a bad production deployment, an incident naming it by id, a rollback to the
// previous sha, a hotfix PR, the fix deployed, the incident closed.
specials['03-18'] = (d) => {
    const good = prod;
    const pr = A.mergePR(T(d, 9, 5, 5), { n: 2 });
    stg = A.deploy('staging', pr.sha, T(d, 9, 40, 0), ok());
    const badDep = A.deploy('production', pr.sha, T(d, 10, 30, 30), ok());
    A.issue(T(d, 11, 15, 0), {
        title: 'Checkout broken', body: `Checkout fails since https://github.com/Codertocat/Hello-World/deployments/${badDep.id} went out.`,
        closeAt: T(d, 16, 48, 10),
    });
    prod = A.deploy('production', good.sha, T(d, 11, 40, 0), ok());   // rollback: addresses the incident
    const fix = A.mergePR(T(d, 14, 20, 7), { labels: ['hotfix'], n: 1 });
    stg = A.deploy('staging', fix.sha, T(d, 14, 45, 0), ok());
    prod = A.deploy('production', fix.sha, T(d, 15, 30, 0), ok());   // ships the hotfix PR
    A.deploy('production-eu', fix.sha, T(d, 15, 55, 0), ok(), { via: 'status' });
};
// Wednesday 03-19: a direct hotfix push deployed to production only, at 10:00; the incident
// opened the next day, more than 24 h later, names its sha only in an edit.
let hotSha;
specials['03-19'] = (d) => {
    hotSha = A.directPush(T(d, 9, 31, 0), 1);
    prod = A.deploy('production', hotSha, T(d, 9, 52, 10), ok());
    A.mergePR(T(d, 13, 3, 3));
    stg = A.deploy('staging', A.heads.main, T(d, 13, 30, 0), ok());
};
specials['03-20'] = (d) => {
    A.issue(T(d, 12, 5, 0), {
        title: 'Search is slow', body: 'Search takes seconds for every query.',
        edits: [{ at: T(d, 12, 40, 0), body: `Search takes seconds for every query. It started with ${hotSha}.` }],
        closeAt: T('03-21', 9, 12, 0),
    });
    ordinaryDay(d, { merges: 2, prodAt: [14, 10] });
};
// Monday 03-24: qa's first deployment.
specials['03-24'] = (d) => {
    ordinaryDay(d, { merges: 2, prodAt: [16, 5], eu: true });
    A.deploy('qa', A.heads.main, T(d, 18, 0, 0), ok());
};
// Tuesday 03-25: a staging incident (label environment:staging) linked by the window.
specials['03-25'] = (d) => {
    ordinaryDay(d, { merges: 2, prodAt: null });
    A.issue(T(d, 15, 30, 0), { title: 'Staging data is stale', body: 'The staging caches are not refreshed.', labels: ['incident', 'environment:staging'], closeAt: T(d, 18, 0, 0) });
    prod = A.deploy('production', stg.sha, T(d, 21, 45, 0), ok());
};
// Thursday 03-27: a staging deployment that succeeded, then failed its smoke test (a later
// failure status: the outcome is failure); the next one succeeds.
specials['03-27'] = (d) => {
    const pr = A.mergePR(T(d, 9, 12, 0), { n: 2 });
    A.deploy('staging', pr.sha, T(d, 9, 40, 0), [['in_progress', 30], ['success', 300], ['failure', 1500]]);
    const fix = A.mergePR(T(d, 11, 40, 0));
    stg = A.deploy('staging', fix.sha, T(d, 12, 5, 0), ok());
    A.deploy('qa', fix.sha, T(d, 12, 30, 0), ok());
    prod = A.deploy('production', fix.sha, T(d, 14, 0, 0), ok());
};
// Friday 03-28: production at 09:00; Saturday an incident outside every window.
specials['03-28'] = (d) => {
    const pr = A.mergePR(T(d, 7, 50, 0));
    stg = A.deploy('staging', pr.sha, T(d, 8, 10, 0), ok());
    prod = A.deploy('production', pr.sha, T(d, 9, 0, 0), ok());
    A.issue(T('03-29', 12, 30, 0), { title: 'Emails delayed', body: 'Notification emails arrive hours late.', closeAt: T('03-29', 16, 45, 0) });
    A.issue(T('03-29', 13, 0, 0), { title: 'Typo on the pricing page', body: 'It says monthy.', labels: ['bug'] });
};
// Monday 03-31 (summer time in Berlin): a push whose event is lost; the next deployments walk
// back to it and stop (partial).
specials['03-31'] = (d) => {
    A.directPush(T(d, 8, 20, 0), 2, 'main', { lost: true });
    const pr = A.mergePR(T(d, 9, 30, 0), { n: 2 });
    stg = A.deploy('staging', pr.sha, T(d, 10, 0, 0), ok());
    prod = A.deploy('production', pr.sha, T(d, 11, 0, 0), ok());
    A.deploy('production-eu', pr.sha, T(d, 11, 30, 0), ok(), { via: 'status' });
};
// Tuesday 04-01: a qa incident, recorded with environment => 'qa', linked by the window.
specials['04-01'] = (d) => {
    ordinaryDay(d, { merges: 1, prodAt: [15, 0] });
    A.deploy('qa', A.heads.main, T(d, 16, 0, 0), ok());
    A.issue(T(d, 17, 15, 0), { title: 'QA fixtures missing', body: 'The qa database has no fixtures.', environment: 'qa', closeAt: T(d, 19, 45, 0) });
};
// Wednesday 04-02: a false alarm (incident label removed) right after a production deployment.
specials['04-02'] = (d) => {
    ordinaryDay(d, { merges: 2, prodAt: [11, 0] });
    A.issue(T(d, 12, 0, 0), { title: 'Is the API down?', body: 'Seeing timeouts from the office network.', unlabel: { at: T(d, 12, 35, 0), label: 'incident' } });
    A.directPush(T(d, 17, 0, 0), 1, 'gh-pages');
    A.deploy('github-pages', A.heads['gh-pages'], T(d, 17, 20, 0), ok(), { ref: 'gh-pages', via: 'status' });
};
// Monday 04-07: an incident naming a deployment ("deployment #id"), never closed; the next
// production deployment addresses it.
specials['04-07'] = (d) => {
    ordinaryDay(d, { merges: 1, prodAt: [10, 0] });
    A.issue(T(d, 13, 0, 0), { title: 'Memory keeps growing', body: `Since deployment #${prod.id} the workers leak memory.` });
    const pr = A.mergePR(T(d, 14, 0, 0), { labels: ['bug'] });
    stg = A.deploy('staging', pr.sha, T(d, 14, 30, 0), ok());
    prod = A.deploy('production', pr.sha, T(d, 15, 30, 0), ok());
};
// Tuesday 04-08: a production deployment that never finishes, then one that does.
specials['04-08'] = (d) => {
    const pr = A.mergePR(T(d, 9, 0, 0));
    stg = A.deploy('staging', pr.sha, T(d, 9, 30, 0), ok());
    A.deploy('production', pr.sha, T(d, 10, 0, 0), [['queued', 0], ['in_progress', 40]]);
    A.mergePR(T(d, 12, 0, 0));
    stg = A.deploy('staging', A.heads.main, T(d, 12, 30, 0), ok());
    prod = A.deploy('production', stg.sha, T(d, 13, 30, 0), ok());
    A.deploy('production-eu', stg.sha, T(d, 14, 30, 0), bad('failure'), { via: 'status' });
    A.deploy('production-eu', stg.sha, T(d, 22, 50, 0), ok(), { via: 'status' });
};
// 04-09 .. 04-11: staging only (production stays behind: pending changes), a PR still open,
// and on Friday a merge deployed nowhere.
specials['04-09'] = (d) => ordinaryDay(d, { merges: 2, prodAt: null });
specials['04-10'] = (d) => {
    ordinaryDay(d, { merges: 1, prodAt: null });
    A.openOnly(T(d, 15, 0, 0));
};
specials['04-11'] = (d) => {
    ordinaryDay(d, { merges: 1, prodAt: null });
    A.mergePR(T(d, 18, 30, 0));
    const r = tpl('release/published.payload.json');
    r.repository = A.apiRepository();
    r.release.created_at = iso(T(d, 18, 0, 0));
    r.release.published_at = iso(T(d, 18, 1, 0));
    emit(T(d, 18, 1, 0), 'release', r);
};

for (const d of days) {
    if (specials[d]) specials[d](d);
    else ordinaryDay(d, { eu: rng() < 0.3 });
    if (rng() < 0.3) A.workflowRun(T(d, 19, rint(0, 50)), { headSha: A.heads.main, name: 'Nightly', environment: rng() < 0.5 ? 'production' : undefined });
}
// A second release (unknown event, different payload) and a weekend without anything.
{
    const r = tpl('release/published.payload.json');
    r.repository = A.apiRepository();
    r.release.id = 17372791;
    r.release.tag_name = 'v1.1.0';
    emit(T('03-21', 18, 0, 0), 'release', r);
}

// ---------------------------------------------------------------------------------------
// Octocoders/Hello-World: a small history in production only.
const B = new Repo('Octocoders/Hello-World', 186853261);
B.push('main', T('03-05', 10, 0, 0), [{ sha: newSha('b-init'), at: T('03-05', 9, 30), message: 'Initial commit' }]);
B.mergePR(T('03-06', 14, 0, 0));
let bprod = B.deploy('production', B.heads.main, T('03-11', 10, 0, 0), ok());
for (const d of ['03-13', '03-20', '03-26', '04-03', '04-09']) {
    const pr = B.mergePR(T(d, 9, rint(0, 59), rint(0, 59)), { n: rint(1, 4) });
    if (d === '03-26') {
        B.deploy('production', pr.sha, T(d, 11, 0, 0), bad('error'));
        const fix = B.mergePR(T(d, 13, 0, 0), { labels: ['hotfix'] });
        bprod = B.deploy('production', fix.sha, T(d, 13, 40, 0), ok());
    } else {
        bprod = B.deploy('production', pr.sha, T(d, 11, rint(0, 59), 0), ok());
    }
}
B.issue(T('04-03', 20, 0, 0), { title: 'Widget broken', body: 'The widget does not render.', closeAt: T('04-04', 8, 30, 0) });
B.mergePR(T('04-10', 10, 0, 0));

// ---------------------------------------------------------------------------------------
events.sort((a, b) => a.at - b.at || a.n - b.n);
const list = events.map((e, i) => {
    const o = { i, event: e.event, payload: e.payload };
    if (e.delivery_id) o.delivery_id = e.delivery_id;
    if (e.environment) o.environment = e.environment;
    return o;
});
writeFileSync(out, JSON.stringify(list));
const kinds = {};
for (const e of list) kinds[e.event] = (kinds[e.event] ?? 0) + 1;
console.error(`scenario.mjs: ${list.length} events (${Object.entries(kinds).map(([k, v]) => `${k} ${v}`).join(', ')})`);
