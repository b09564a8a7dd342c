#!/usr/bin/env node
// bench/github/generate.mjs: a deterministic year (or any number of days) of GitHub activity,
// as the webhook events metrics.record_github_events takes, for bench/github/run.
// See bench/README.md (GitHub benchmark). Node 20, no dependencies.
//
//   node bench/github/generate.mjs --out DIR [--days 365] [--start 2025-01-01] [--repos 1]
//        [--batch 1000] [--seed 42] [--shuffle] [--deploys-per-day 50] [--prs-per-day 200]
//
// Per repository (acme/service-N), per day:
// - --prs-per-day pull requests merged into main, merge-commit style: each merge is a push to
//   refs/heads/main whose `before` is the previous head (one linear chain; the PR's
//   merge_commit_sha is the push's `after`), listing the PR's 1-3 commits (timestamps before the
//   merge) and the merge commit; events `pull_request` opened and closed (merged: true), `push`;
// - 3 environments (production, staging, dev) with --deploys-per-day deployments each, of the
//   head of main at their time (production often deploys the sha staging last deployed
//   successfully, so staging is ahead), a few rollbacks (an older sha redeployed); events
//   `deployment`, `deployment_status` in_progress, then success (about 8% failure, 1% error);
// - incidents: about 1% of successful production deployments are followed, within hours, by an
//   issue labelled `incident` (40% name the deployment's sha in the body), closed later; the
//   first PR merged after an incident is labelled `hotfix` (half the time), 1% of the others
//   too; about one ordinary `bug` issue a day.
// Payloads are compact: the fields the extension reads plus a few realistic ones (no URLs,
// no full user or repository objects).
//
// Output in DIR: batch-000001.json, ... (JSON arrays of {event, payload, delivery_id}, in
// chronological order unless --shuffle), and manifest.json (options, counts, files). The same
// options always give the same bytes.

import { mkdirSync, writeFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

// ---------- options
const defaults = { out: null, days: 365, start: '2025-01-01', repos: 1, batch: 1000, seed: 42,
    shuffle: false, 'deploys-per-day': 50, 'prs-per-day': 200 };
function usage(msg) {
    if (msg) console.error(`generate.mjs: ${msg}`);
    console.error('usage: node bench/github/generate.mjs --out DIR [--days N] [--start YYYY-MM-DD] [--repos N] [--batch N] [--seed N] [--shuffle] [--deploys-per-day N] [--prs-per-day N]');
    process.exit(2);
}
const opt = { ...defaults };
for (let i = 2; i < process.argv.length; i++) {
    const a = process.argv[i];
    if (a === '-h' || a === '--help') usage();
    if (a === '--shuffle') { opt.shuffle = true; continue; }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !(m[1] in defaults)) usage(`unknown argument: ${a}`);
    const v = m[2] ?? process.argv[++i];
    if (v === undefined) usage(`${a} needs a value`);
    opt[m[1]] = v;
}
if (!opt.out) usage('--out is required');
for (const k of ['days', 'repos', 'batch', 'seed', 'deploys-per-day', 'prs-per-day']) {
    if (!/^\d+$/.test(String(opt[k]))) usage(`--${k} must be a whole number`);
    opt[k] = Number(opt[k]);
}
for (const k of ['days', 'repos', 'batch', 'deploys-per-day', 'prs-per-day']) if (opt[k] < 1) usage(`--${k} must be >= 1`);
if (opt.batch > 10000) usage('--batch at most 10000 (the limit of record_github_events)');
if (!/^\d{4}-\d{2}-\d{2}$/.test(opt.start) || Number.isNaN(Date.parse(opt.start + 'T00:00:00Z'))) usage('--start must be YYYY-MM-DD');

// ---------- seeded PRNG: sfc32 seeded through splitmix32; one stream per purpose
function splitmix32(a) {
    return () => {
        a |= 0; a = (a + 0x9e3779b9) | 0;
        let t = a ^ (a >>> 16); t = Math.imul(t, 0x21f0aaad);
        t ^= t >>> 15; t = Math.imul(t, 0x735a2d97);
        return (t ^ (t >>> 15)) >>> 0;
    };
}
function stream(seed, purpose) {
    let h = seed >>> 0;
    for (const c of purpose) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    const sm = splitmix32(h);
    let a = sm(), b = sm(), c = sm(), d = sm();
    const next = () => {
        a |= 0; b |= 0; c |= 0; d |= 0;
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11); c = (c + t) | 0;
        return (t >>> 0) / 4294967296;
    };
    for (let i = 0; i < 12; i++) next();
    const r = {
        next,
        int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),    // [lo, hi]
        chance: (p) => next() < p,
        pick: (arr) => arr[Math.floor(next() * arr.length)],
        hex: (n) => { let s = ''; while (s.length < n) s += Math.floor(next() * 4294967296).toString(16).padStart(8, '0'); return s.slice(0, n); },
        // log-normal with the given median (and sigma of the log)
        lognormal: (median, sigma) => {
            const u = 1 - next(), v = next();
            return median * Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        },
    };
    r.uuid = () => { const h = r.hex(32); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(next() * 4)]}${h.slice(17, 20)}-${h.slice(20)}`; };
    return r;
}

const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;
const t0 = Date.parse(opt.start + 'T00:00:00Z');
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');
const floorSec = (ms) => Math.floor(ms / SEC) * SEC;

// Binary search: index of the last element of sorted `times` <= t, or -1.
function lastAtOrBefore(times, t) {
    let lo = 0, hi = times.length - 1, ans = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (times[mid] <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
    return ans;
}

// `n` distinct whole-second times in [dayStart, dayStart + DAY), sorted.
function timesOfDay(rng, dayStart, n) {
    const seen = new Set();
    while (seen.size < n) seen.add(dayStart + rng.int(0, 86399) * SEC);
    return [...seen].sort((a, b) => a - b);
}

const DEVELOPERS = Array.from({ length: 40 }, (_, i) => ({ login: `dev-${String(i + 1).padStart(2, '0')}`, id: 5000100 + i }));
const BOT = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };
const ENVIRONMENTS = ['staging', 'production', 'dev'];     // staging first: production follows it
const user = (u) => ({ login: u.login, id: u.id });

// ---------- the activity of one repository, as records (payloads are built when written)
// Global ids (GitHub's deployment, status, PR and issue ids are global, increasing in time)
// are given after all repositories are generated.
function generateRepository(r) {
    const rng = stream(opt.seed, `repo-${r}`);
    const repo = { id: 700000000 + r, name: `service-${r}`, full_name: `acme/service-${r}` };
    const rootSha = rng.hex(40);
    const days = opt.days, end = t0 + days * DAY;

    // Merges: a strictly increasing chain of heads (distinct seconds), each a PR.
    const prs = [];
    for (let d = 0; d < days; d++) {
        for (const at of timesOfDay(rng, t0 + d * DAY, opt['prs-per-day'])) {
            const createdAt = floorSec(at - Math.min(7 * DAY, Math.max(10 * MIN, rng.lognormal(6 * HOUR, 1.2))));
            const n = rng.int(1, 3);
            const commitTimes = [];
            for (let i = 0; i < n; i++) commitTimes.push(floorSec(createdAt - 2 * HOUR + rng.next() * (at - MIN - (createdAt - 2 * HOUR))));
            commitTimes.sort((a, b) => a - b);
            prs.push({
                repo, createdAt, mergedAt: at, author: rng.pick(DEVELOPERS), branch: `feature/${rng.hex(6)}`,
                commits: commitTimes.map((t) => ({ sha: rng.hex(40), at: t, message: `Change ${rng.hex(4)}` })),
                mergeSha: rng.hex(40), labels: rng.chance(0.15) ? ['enhancement'] : [], before: null, baseSha: null,
            });
        }
    }
    const mergeTimes = prs.map((p) => p.mergedAt);
    const headAt = (t) => { const i = lastAtOrBefore(mergeTimes, t); return i < 0 ? rootSha : prs[i].mergeSha; };
    prs.forEach((p, i) => { p.before = i === 0 ? rootSha : prs[i - 1].mergeSha; p.baseSha = headAt(p.createdAt); });

    // Deployments per environment.
    const deployments = [];
    const successes = {};      // env -> [{finishedAt, sha}] in creation order (finish times may interleave)
    for (const env of ENVIRONMENTS) {
        const mine = [];
        successes[env] = mine;
        for (let d = 0; d < days; d++) {
            for (const at of timesOfDay(rng, t0 + d * DAY, opt['deploys-per-day'])) {
                let sha = headAt(at), rollback = false;
                if (env === 'production' && rng.chance(0.6)) {
                    // the sha staging last deployed successfully (finished before now), if any
                    const st = successes.staging, i0 = lastAtOrBefore(st.createdTimes, at);
                    for (let i = i0; i >= 0 && i > i0 - 20; i--) {
                        if (st[i].finishedAt <= at) { sha = st[i].sha; break; }
                    }
                }
                const okBefore = mine.filter((x, i) => i >= mine.length - 6);
                if (rng.chance(env === 'production' ? 0.005 : 0.002) && okBefore.length >= 3) {
                    sha = okBefore[okBefore.length - 3].sha;     // redeploy an older sha
                    rollback = true;
                }
                const inProgressAt = at + rng.int(3, 60) * SEC;
                const finishedAt = inProgressAt + rng.int(90, 900) * SEC;
                const u = rng.next();
                const state = u < 0.08 ? 'failure' : u < 0.09 ? 'error' : 'success';
                const dep = { repo, env, sha, createdAt: at, inProgressAt, finishedAt, state, rollback, id: 0, statusIds: [0, 0] };
                deployments.push(dep);
                if (state === 'success') mine.push(dep);
            }
            mine.createdTimes = mine.map((x) => x.createdAt);
        }
    }

    // Incidents after production deployments; hotfix PRs.
    const issues = [];
    for (const dep of successes.production) {
        if (!rng.chance(0.01)) continue;
        const openedAt = floorSec(dep.finishedAt + rng.int(10 * 60, 6 * 3600) * SEC);
        if (openedAt >= end) continue;
        const closedAt = floorSec(openedAt + Math.min(5 * DAY, Math.max(20 * MIN, rng.lognormal(3 * HOUR, 1.0))));
        const mention = rng.chance(0.4) ? (rng.chance(0.5) ? dep.sha : dep.sha.slice(0, 10)) : null;
        issues.push({
            repo, createdAt: openedAt, closedAt: closedAt < end ? closedAt : null, author: rng.pick(DEVELOPERS),
            title: rng.pick(['Elevated 5xx on checkout', 'Latency spike on API', 'Login failures', 'Queue backlog growing', 'Payments timing out']),
            body: mention ? `Started after the deploy of ${mention}. Rolling back is being considered.` : 'Alerts fired after the last release; investigating.',
            labels: ['incident', rng.pick(['sev-1', 'sev-2', 'sev-3'])],
        });
        if (rng.chance(0.5)) {
            const i = lastAtOrBefore(mergeTimes, openedAt + 30 * MIN) + 1;
            if (i < prs.length && !prs[i].labels.includes('hotfix')) prs[i].labels = [...prs[i].labels, 'hotfix'];
        }
    }
    for (const p of prs) if (rng.chance(0.01) && !p.labels.includes('hotfix')) p.labels = [...p.labels, 'hotfix'];
    for (let d = 0; d < days; d++) {
        if (!rng.chance(0.9)) continue;
        const openedAt = t0 + d * DAY + rng.int(0, 86399) * SEC;
        const closedAt = floorSec(openedAt + rng.lognormal(2 * DAY, 1.0));
        issues.push({ repo, createdAt: openedAt, closedAt: closedAt < end ? closedAt : null, author: rng.pick(DEVELOPERS),
            title: 'Button misaligned on settings page', body: 'Steps to reproduce: open settings.', labels: ['bug'] });
    }
    return { repo, rng, prs, deployments, issues };
}

const repos = [];
for (let r = 1; r <= opt.repos; r++) repos.push(generateRepository(r));

// ---------- global ids, increasing with time (ties by repository, then creation order)
function assignIds(items, timeOf, set, base) {
    const order = items.map((x, i) => i).sort((a, b) => timeOf(items[a]) - timeOf(items[b]) || a - b);
    order.forEach((idx, k) => set(items[idx], base + k));
}
const allDeployments = repos.flatMap((x) => x.deployments);
assignIds(allDeployments, (d) => d.createdAt, (d, id) => { d.id = id; }, 1500000000);
const statuses = allDeployments.flatMap((d) => [{ d, k: 0, at: d.inProgressAt }, { d, k: 1, at: d.finishedAt }]);
assignIds(statuses, (s) => s.at, (s, id) => { s.d.statusIds[s.k] = id; }, 3200000000);
// PRs and issues share one number sequence per repository (as on GitHub), by creation time.
for (const x of repos) {
    const items = [...x.prs.map((p) => ({ p, at: p.createdAt })), ...x.issues.map((p) => ({ p, at: p.createdAt }))];
    assignIds(items, (i) => i.at, (i, n) => { i.p.number = n; }, 1);
}
assignIds(repos.flatMap((x) => x.prs), (p) => p.createdAt, (p, id) => { p.id = id; }, 2100000000);
assignIds(repos.flatMap((x) => x.issues), (p) => p.createdAt, (p, id) => { p.id = id; }, 2900000000);

// ---------- events, as light records sorted by time
// kinds: 0 PR opened, 1 PR closed (merged), 2 push, 3 deployment, 4 status in_progress,
// 5 status final, 6 issue opened, 7 issue closed. Same-second order: the kind's order.
const events = [];
for (const x of repos) {
    for (const p of x.prs) { events.push([p.createdAt, 0, p], [p.mergedAt, 1, p], [p.mergedAt, 2, p]); }
    for (const d of x.deployments) { events.push([d.createdAt, 3, d], [d.inProgressAt, 4, d], [d.finishedAt, 5, d]); }
    for (const i of x.issues) { events.push([i.createdAt, 6, i]); if (i.closedAt !== null) events.push([i.closedAt, 7, i]); }
}
events.forEach((e, i) => e.push(i));
events.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[3] - b[3]);
// Delivery ids in chronological order, before any shuffle: the same events either way.
const ids = stream(opt.seed, 'delivery');
for (const e of events) e.push(ids.uuid());
if (opt.shuffle) {
    const rng = stream(opt.seed, 'shuffle');
    for (let i = events.length - 1; i > 0; i--) { const j = Math.floor(rng.next() * (i + 1)); [events[i], events[j]] = [events[j], events[i]]; }
}

// ---------- payloads
const repository = (repo, pushedAt) => ({ id: repo.id, name: repo.name, full_name: repo.full_name, default_branch: 'main',
    ...(pushedAt !== undefined ? { pushed_at: pushedAt } : {}) });
function deploymentObject(d, updatedAt) {
    return { id: d.id, sha: d.sha, ref: 'main', task: 'deploy', payload: {}, original_environment: d.env, environment: d.env,
        description: d.rollback ? 'Rollback' : null, creator: user(BOT), created_at: iso(d.createdAt), updated_at: iso(updatedAt) };
}
function statusPayload(d, k) {
    const at = k === 0 ? d.inProgressAt : d.finishedAt;
    const state = k === 0 ? 'in_progress' : d.state;
    return { action: 'created',
        deployment_status: { id: d.statusIds[k], state, environment: d.env, creator: user(BOT),
            created_at: iso(at), updated_at: iso(at) },
        deployment: deploymentObject(d, at), repository: repository(d.repo), sender: user(BOT) };
}
function prPayload(p, merged) {
    const labels = p.labels.map((name) => ({ name, color: name === 'hotfix' ? 'b60205' : 'a2eeef' }));
    return { action: merged ? 'closed' : 'opened', number: p.number,
        pull_request: { id: p.id, number: p.number, state: merged ? 'closed' : 'open', title: `Change #${p.number}`,
            user: user(p.author), labels,
            created_at: iso(p.createdAt), updated_at: iso(merged ? p.mergedAt : p.createdAt),
            closed_at: merged ? iso(p.mergedAt) : null, merged_at: merged ? iso(p.mergedAt) : null,
            merge_commit_sha: merged ? p.mergeSha : null, merged,
            head: { ref: p.branch, sha: p.commits[p.commits.length - 1].sha },
            base: { ref: 'main', sha: merged ? p.before : p.baseSha } },
        repository: repository(p.repo), sender: user(p.author) };
}
function commitObject(sha, at, message, author) {
    return { id: sha, message, timestamp: iso(at), author: { name: author.login, username: author.login } };
}
function pushPayload(p) {
    const commits = p.commits.map((c) => commitObject(c.sha, c.at, c.message, p.author));
    const merge = commitObject(p.mergeSha, p.mergedAt, `Merge pull request #${p.number} from acme/${p.branch}`, p.author);
    commits.push(merge);
    return { ref: 'refs/heads/main', before: p.before, after: p.mergeSha, created: false, deleted: false, forced: false,
        base_ref: null, commits, head_commit: merge, repository: repository(p.repo, p.mergedAt / SEC),
        pusher: { name: p.author.login, email: `${p.author.login}@acme.test` }, sender: user(p.author) };
}
function issuePayload(i, closed) {
    return { action: closed ? 'closed' : 'opened',
        issue: { id: i.id, number: i.number, title: i.title, body: i.body, user: user(i.author),
            labels: i.labels.map((name) => ({ name, color: name === 'incident' ? 'e11d21' : 'd73a4a' })),
            state: closed ? 'closed' : 'open',
            created_at: iso(i.createdAt), updated_at: iso(closed ? i.closedAt : i.createdAt), closed_at: closed ? iso(i.closedAt) : null },
        repository: repository(i.repo), sender: user(i.author) };
}
const NAMES = ['pull_request', 'pull_request', 'push', 'deployment', 'deployment_status', 'deployment_status', 'issues', 'issues'];
function payloadOf([, kind, x]) {
    switch (kind) {
        case 0: return prPayload(x, false);
        case 1: return prPayload(x, true);
        case 2: return pushPayload(x);
        case 3: return { action: 'created', deployment: deploymentObject(x, x.createdAt), repository: repository(x.repo), sender: user(BOT) };
        case 4: return statusPayload(x, 0);
        case 5: return statusPayload(x, 1);
        case 6: return issuePayload(x, false);
        case 7: return issuePayload(x, true);
    }
}

// ---------- write
mkdirSync(opt.out, { recursive: true });
for (const f of readdirSync(opt.out)) if (/^batch-\d+\.json$/.test(f) || f === 'manifest.json') unlinkSync(join(opt.out, f));
const files = [];
let bytes = 0;
for (let b = 0; b * opt.batch < events.length; b++) {
    const slice = events.slice(b * opt.batch, (b + 1) * opt.batch);
    const text = '[' + slice.map((e) => JSON.stringify({ event: NAMES[e[1]], payload: payloadOf(e), delivery_id: e[4] })).join(',\n') + ']\n';
    const name = `batch-${String(b + 1).padStart(6, '0')}.json`;
    writeFileSync(join(opt.out, name), text);
    bytes += Buffer.byteLength(text);
    files.push({ name, events: slice.length });
}

const count = (kind) => events.filter((e) => e[1] === kind).length;
const incidents = repos.flatMap((x) => x.issues).filter((i) => i.labels.includes('incident'));
const deps = allDeployments;
const manifest = {
    generator: 'bench/github/generate.mjs',
    options: { days: opt.days, start: opt.start, repos: opt.repos, batch: opt.batch, seed: opt.seed, shuffle: opt.shuffle,
        deploys_per_day: opt['deploys-per-day'], prs_per_day: opt['prs-per-day'] },
    repositories: repos.map((x) => x.repo.full_name),
    environments: ENVIRONMENTS,
    range: { first_event: iso(events.reduce((m, e) => Math.min(m, e[0]), Infinity)), last_event: iso(events.reduce((m, e) => Math.max(m, e[0]), -Infinity)),
        end_date: iso(t0 + (opt.days - 1) * DAY).slice(0, 10) },
    events: events.length, bytes, files: files.length,
    by_event: { pull_request: count(0) + count(1), push: count(2), deployment: count(3), deployment_status: count(4) + count(5), issues: count(6) + count(7) },
    facts: {
        pull_requests_merged: count(1), pushes: count(2), deployments: deps.length,
        deployments_success: deps.filter((d) => d.state === 'success').length,
        deployments_failure: deps.filter((d) => d.state === 'failure').length,
        deployments_error: deps.filter((d) => d.state === 'error').length,
        rollbacks: deps.filter((d) => d.rollback).length,
        incidents: incidents.length, incidents_with_sha: incidents.filter((i) => /[0-9a-f]{7,40}/.test(i.body)).length,
        hotfix_prs: repos.flatMap((x) => x.prs).filter((p) => p.labels.includes('hotfix')).length,
        other_issues: repos.flatMap((x) => x.issues).length - incidents.length,
    },
    batches: files,
};
writeFileSync(join(opt.out, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
console.log(JSON.stringify({ out: opt.out, events: manifest.events, files: manifest.files, bytes, facts: manifest.facts }));
