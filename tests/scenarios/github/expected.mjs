#!/usr/bin/env node
// An independent computation of what metrics.get_dora_metrics and metrics.explain_dora must
// return for a list of GitHub events, written from the contract (docs/development-metrics.md:
// "Ingest", "Environments", "Derived tables", "Incidents", "The keys") and nothing else: it
// reads the payloads itself, replays the walk of every successful deployment in order, and
// computes each key per period in a time zone of its own (Intl), with exact percentile_cont.
//
//   node expected.mjs rows EVENTS.json --start D --end D --env E --grain day|week|month
//                          [--tz UTC] [--levels LEVELS.json] [--repository R]
//   node expected.mjs tables EVENTS.json        the derived facts: deployments, changes, incidents
//   node expected.mjs explain EVENTS.json --day D --env E --repository R [--tz UTC]
//   node expected.mjs keys EVENTS.json          the event_key of each event (null for unknown ones)
//
// EVENTS.json: a JSON array of {event, payload, delivery_id?, environment?} (order does not
// matter: every fact is the latest by its own time). LEVELS.json: the rows of
// metrics.dora_levels (reference data, read from the database). Output: JSON on stdout.
//
// Where the contract leaves a choice open, the scenario is built so that both readings agree,
// and this file checks that it is so (an "ambiguous scenario" error, so a change of the
// scenario cannot silently pick one reading): a sha or an id in a body naming more than one
// deployment, a window link that would differ between the environment and its tier, a walk
// that meets an environment's first deployment other than as its baseline or a push starting
// a branch, a merge while an environment's first deployment runs, an incident whose first
// deployment after opening started before it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ZERO = '0'.repeat(40);
const HOUR = 3600e3;
const ms = (s) => {
    const t = Date.parse(s);
    if (Number.isNaN(t)) throw new Error(`not a time: ${s}`);
    return t;
};
const ambiguous = (what) => { throw new Error(`ambiguous scenario: ${what}`); };

// ---------------------------------------------------------------------------------------
// Environments: the default tiers (no owner rows in the scenarios).
const TIERS = {
    production: ['production', 'prod', 'prd', 'live'],
    staging: ['staging', 'stage', 'stg', 'preprod', 'pre-production', 'uat'],
    testing: ['testing', 'test', 'qa', 'ci'],
    development: ['development', 'dev', 'develop', 'preview'],
    local: ['local', 'localhost'],
};
export function tierOf(name) {
    const n = name.toLowerCase().trim();
    for (const [tier, names] of Object.entries(TIERS)) {
        for (const x of names) {
            if (n === x) return tier;
            if (n.startsWith(x) && /^[-_/. ]/.test(n.slice(x.length))) return tier;
        }
    }
    return null;
}

// ---------------------------------------------------------------------------------------
// Facts from the payloads.
export function facts(events) {
    const deployments = new Map(), statuses = new Map(), prs = new Map(), pushes = new Map(), issues = new Map();
    const repos = new Set();
    // The latest event by its own time describes the thing; two different events at the same
    // time would leave the choice open.
    const latest = (map, key, at, value) => {
        const cur = map.get(key);
        if (!cur || at > cur.updated) map.set(key, { ...value, updated: at });
        else if (at === cur.updated && cur.action !== value.action) ambiguous(`two events of ${key} at the same updated_at`);
    };
    for (const e of events) {
        const p = e.payload;
        const repo = p.repository?.full_name?.toLowerCase();
        const known = ['deployment', 'deployment_status', 'pull_request', 'push', 'workflow_run', 'issues'];
        if (!known.includes(e.event)) continue;
        repos.add(repo);
        if (e.event === 'deployment' || e.event === 'deployment_status') {
            const d = p.deployment;
            const key = `${repo}|${d.id}`;
            if (!deployments.has(key)) {
                deployments.set(key, {
                    repo, id: d.id, env: d.environment.toLowerCase().trim(), sha: d.sha, ref: d.ref, created: ms(d.created_at),
                });
            }
            if (e.event === 'deployment_status') {
                const s = p.deployment_status;
                statuses.set(`${repo}|${s.id}`, { repo, id: s.id, deployment: d.id, state: s.state, at: ms(s.created_at) });
            }
        } else if (e.event === 'pull_request') {
            const pr = p.pull_request;
            latest(prs, `${repo}|${pr.number}`, ms(pr.updated_at), {
                repo, number: pr.number, action: p.action, merged: pr.merged === true,
                mergedAt: pr.merged === true ? ms(pr.merged_at) : null,
                mergeSha: pr.merged === true ? pr.merge_commit_sha : null,
                base: pr.base.ref, labels: pr.labels.map((l) => l.name),
            });
        } else if (e.event === 'push') {
            const pushedAt = p.repository.pushed_at;
            const at = typeof pushedAt === 'number' ? pushedAt * 1000
                : typeof pushedAt === 'string' ? ms(pushedAt) : ms(p.head_commit.timestamp);
            pushes.set(`${repo}|${p.ref}|${p.after}`, {
                repo, ref: p.ref, before: p.before, after: p.after, at,
                commits: (p.commits ?? []).map((c) => ({ sha: c.id, at: ms(c.timestamp) })),
            });
        } else if (e.event === 'issues') {
            const i = p.issue;
            latest(issues, `${repo}|${i.number}`, ms(i.updated_at), {
                repo, number: i.number, action: p.action, labels: i.labels.map((l) => l.name), body: i.body ?? '',
                opened: ms(i.created_at), closed: i.closed_at ? ms(i.closed_at) : null,
                envArg: e.environment ? e.environment.toLowerCase().trim() : null,
            });
        }
    }
    return { deployments, statuses, prs, pushes, issues, repos };
}

// ---------------------------------------------------------------------------------------
// The derived facts: outcomes, baselines, the walk, changes; incidents and their links.
export function derive(events, { incidentLabel = 'incident', hotfixLabel = 'hotfix', windowHours = 24 } = {}) {
    const f = facts(events);
    const deps = [...f.deployments.values()];
    for (const d of deps) {
        let best = null;
        for (const s of f.statuses.values()) {
            if (s.repo !== d.repo || s.deployment !== d.id || !['success', 'failure', 'error'].includes(s.state)) continue;
            if (!best || s.at > best.at || (s.at === best.at && s.id > best.id)) best = s;
        }
        d.outcome = best?.state ?? null;
        d.finished = best?.at ?? null;
    }
    const prByMerge = new Map();
    for (const pr of f.prs.values()) if (pr.merged) prByMerge.set(`${pr.repo}|${pr.mergeSha}`, pr);
    const pushByAfter = new Map();
    for (const p of f.pushes.values()) {
        const k = `${p.repo}|${p.after}`;
        if (!pushByAfter.has(k)) pushByAfter.set(k, []);
        pushByAfter.get(k).push(p);
    }
    const changes = [];
    const envs = new Map(); // repo|env -> ordered deployments
    for (const d of deps) {
        const k = `${d.repo}|${d.env}`;
        if (!envs.has(k)) envs.set(k, []);
        envs.get(k).push(d);
    }
    for (const list of envs.values()) {
        list.sort((a, b) => a.created - b.created || a.id - b.id);
        const first = list[0];
        const shipped = new Map(); // sha -> deployment id
        const prShipped = new Set();
        let baseline = null;
        for (const x of list) {
            x.baseline = baseline?.id ?? null;
            x.changes = 0;
            x.coverage = null;
            if (x.outcome !== 'success') continue;
            if (!baseline) {
                x.coverage = 'none';
                if (first !== x) ambiguous(`the first deployment of ${x.env} is not its first successful one`);
                for (const pr of f.prs.values()) {
                    if (pr.merged && pr.repo === x.repo && pr.mergedAt > x.created && pr.mergedAt < x.finished) {
                        ambiguous(`PR ${pr.number} merged while ${x.env}'s first deployment ran`);
                    }
                }
                baseline = x;
                continue;
            }
            let cur = x.sha, steps = 0;
            const taken = [];
            const seen = new Set();
            for (;;) {
                if (cur === baseline.sha || shipped.has(cur)) { x.coverage = 'complete'; break; }
                if (cur === first.sha) ambiguous(`the walk of ${x.id} meets ${x.env}'s first deployment's sha`);
                const found = pushByAfter.get(`${x.repo}|${cur}`) ?? [];
                if (found.length > 1) ambiguous(`two pushes with after ${cur}`);
                if (found.length === 0 || seen.has(cur) || steps >= 10000) { x.coverage = 'partial'; break; }
                const push = found[0];
                if (push.before === ZERO) ambiguous(`the walk of ${x.id} reaches a push that creates ${push.ref}`);
                seen.add(cur);
                for (const c of push.commits) taken.push({ sha: c.sha, push });
                if (!push.commits.some((c) => c.sha === cur)) taken.push({ sha: cur, push });
                cur = push.before;
                steps++;
            }
            for (const { sha, push } of taken) {
                if (shipped.has(sha)) continue;
                shipped.set(sha, x.id);
                const pr = prByMerge.get(`${x.repo}|${sha}`);
                if (pr) {
                    if (prShipped.has(pr.number)) continue;
                    prShipped.add(pr.number);
                    const mp = pushByAfter.get(`${x.repo}|${sha}`)?.[0];
                    changes.push({
                        repo: x.repo, env: x.env, key: `pr:${pr.number}`, kind: 'pull_request', pr: pr.number, sha,
                        merged: pr.mergedAt, firstCommit: mp && mp.commits.length ? Math.min(...mp.commits.map((c) => c.at)) : null,
                        deployment: x.id, deployed: x.finished, labels: pr.labels,
                    });
                    x.changes++;
                } else if (prByMerge.has(`${x.repo}|${push.after}`)) {
                    // a commit of a merged PR's merge push: part of that PR
                } else {
                    const c = push.commits.find((c) => c.sha === sha);
                    changes.push({
                        repo: x.repo, env: x.env, key: sha, kind: 'commit', pr: null, sha,
                        merged: push.at, firstCommit: c ? c.at : null, deployment: x.id, deployed: x.finished, labels: [],
                    });
                    x.changes++;
                }
            }
            baseline = x;
        }
    }
    // Incidents.
    const byId = new Map(deps.map((d) => [`${d.repo}|${d.id}`, d]));
    const incidents = [];
    for (const i of f.issues.values()) {
        if (!i.labels.includes(incidentLabel)) continue;
        let env = i.envArg;
        if (!env) {
            const l = i.labels.find((l) => /^(environment|env):/.test(l));
            env = l ? l.slice(l.indexOf(':') + 1).toLowerCase().trim() : null;
        }
        const inc = { repo: i.repo, number: i.number, env: env ?? 'production', defaultEnv: !env, opened: i.opened, closed: i.closed, deployment: null, link: null };
        const idRe = /deployments\/(\d+)|deployment #?(\d+)/gi;
        for (const m of i.body.matchAll(idRe)) {
            const d = byId.get(`${i.repo}|${m[1] ?? m[2]}`);
            if (d) { inc.deployment = d; inc.link = 'body_id'; break; }
        }
        if (!inc.link) {
            for (const m of i.body.matchAll(/\b[0-9a-f]{7,40}\b/gi)) {
                const h = m[0].toLowerCase();
                const hits = deps.filter((d) => d.repo === i.repo && d.sha.startsWith(h));
                if (hits.length > 1) ambiguous(`incident ${i.number}: ${h} is the sha of ${hits.length} deployments`);
                if (hits.length === 1) { inc.deployment = hits[0]; inc.link = 'body_sha'; break; }
            }
        }
        if (!inc.link) {
            const cand = (pred) => deps.filter((d) => d.repo === i.repo && pred(d) && d.outcome === 'success'
                && d.finished <= i.opened && d.finished >= i.opened - windowHours * HOUR)
                .sort((a, b) => b.finished - a.finished)[0] ?? null;
            const byName = cand((d) => d.env === inc.env);
            if (inc.defaultEnv) {
                const byTier = cand((d) => tierOf(d.env) === 'production');
                if (byName !== byTier) ambiguous(`incident ${i.number}: the window link differs between production and its tier`);
            }
            if (byName) { inc.deployment = byName; inc.link = 'window'; }
        }
        incidents.push(inc);
    }
    // Rework: the first successful deployment of the environment after a linked incident was
    // opened, while it was open; or one that shipped a hotfix PR.
    for (const d of deps) d.rework = false;
    for (const inc of incidents) {
        if (!inc.deployment) continue;
        const env = inc.deployment.env;
        const next = deps.filter((d) => d.repo === inc.repo && d.env === env && d.outcome === 'success' && d.finished > inc.opened)
            .sort((a, b) => a.finished - b.finished)[0];
        if (!next) continue;
        if (next.created < inc.opened) ambiguous(`incident ${inc.number}: the deployment after it started before it`);
        if (inc.closed === null || next.finished < inc.closed) next.rework = true;
    }
    for (const c of changes) {
        if (c.kind === 'pull_request' && c.labels.includes(hotfixLabel)) byId.get(`${c.repo}|${c.deployment}`).rework = true;
    }
    for (const inc of incidents) if (inc.deployment) inc.deployment.incident = true;
    return { f, deps, changes, incidents, repos: [...f.repos].sort() };
}

// ---------------------------------------------------------------------------------------
// Calendar in a time zone.
const fmtCache = new Map();
function offsetMs(t, tz) {
    let fmt = fmtCache.get(tz);
    if (!fmt) {
        fmt = new Intl.DateTimeFormat('en-US', {
            timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
            hour: '2-digit', minute: '2-digit', second: '2-digit',
        });
        fmtCache.set(tz, fmt);
    }
    const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return wall - Math.floor(t / 1000) * 1000;
}
export const localDay = (t, tz) => new Date(t + offsetMs(t, tz)).toISOString().slice(0, 10);
export function midnight(day, tz) {
    const wall = Date.parse(`${day}T00:00:00Z`);
    let t = wall - offsetMs(wall, tz);
    t = wall - offsetMs(t, tz);
    return t;
}
const addDays = (day, n) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86400e3).toISOString().slice(0, 10);
const dayDiff = (a, b) => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86400e3);
export function periods(start, end, grain) {
    const out = [];
    let d = start;
    while (d <= end) {
        let next;
        if (grain === 'day') next = addDays(d, 1);
        else if (grain === 'week') {
            const wd = (new Date(`${d}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
            next = addDays(d, 7 - wd);
        } else if (grain === 'month') {
            const [y, m] = d.split('-').map(Number);
            next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
        } else throw new Error(`grain ${grain}`);
        const stop = next > addDays(end, 1) ? addDays(end, 1) : next;
        out.push({ start: d, stop, days: dayDiff(d, stop) });
        d = stop;
    }
    return out;
}

// percentile_cont: linear interpolation between the closest ranks.
export function percentileCont(values, p) {
    if (values.length === 0) return null;
    const v = [...values].sort((a, b) => a - b);
    const pos = p * (v.length - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}
// round(n * 100 / d, 4), half away from zero, exactly.
function rate(n, d) {
    if (d === 0) return null;
    const num = BigInt(n) * 100n * 10000n, den = BigInt(d);
    return Number((2n * num + den) / (2n * den)) / 10000;
}

// The environments an argument means.
export function resolve(model, arg) {
    const a = arg.toLowerCase().trim();
    const all = [...new Set(model.deps.map((d) => d.env))];
    if (a === 'all' || a === '*') return new Set(all);
    if (TIERS[a]) return new Set(all.filter((e) => tierOf(e) === a));
    return new Set([a]);
}
// Whether an incident belongs to the environments (its own environment, or the production
// tier by default, which in the scenarios is the environment named production).
const incidentIn = (inc, set) => set.has(inc.env);

export function rows(model, { start, end, env, grain, tz = 'UTC', levels = null, repository = null }) {
    const set = resolve(model, env);
    const repos = repository ? [repository.toLowerCase()] : model.repos;
    const lv = levels ? (() => {
        const year = Math.max(...levels.map((l) => l.source_year));
        return levels.filter((l) => l.source_year === year).sort((a, b) => a.rank - b.rank);
    })() : null;
    const out = [];
    for (const per of periods(start, end, grain)) {
        const lo = midnight(per.start, tz), hi = midnight(per.stop, tz);
        const inP = (t) => t !== null && t >= lo && t < hi;
        for (const repo of repos) {
            const deps = model.deps.filter((d) => d.repo === repo && set.has(d.env));
            const fin = deps.filter((d) => d.outcome && inP(d.finished));
            const succ = fin.filter((d) => d.outcome === 'success');
            const ch = model.changes.filter((c) => c.repo === repo && set.has(c.env) && inP(c.deployed));
            const lead = ch.map((c) => (c.deployed - c.merged) / HOUR);
            const leadFc = ch.filter((c) => c.firstCommit !== null).map((c) => (c.deployed - c.firstCommit) / HOUR);
            // Pending at the period's end, per environment of the set.
            let pending = 0;
            for (const e of set) {
                const ed = model.deps.filter((d) => d.repo === repo && d.env === e).sort((a, b) => a.created - b.created || a.id - b.id);
                if (ed.length === 0) continue;
                const refs = new Set(ed.map((d) => d.ref));
                for (const pr of model.f.prs.values()) {
                    if (pr.repo !== repo || !pr.merged || !refs.has(pr.base) || pr.mergedAt <= ed[0].created || pr.mergedAt >= hi) continue;
                    const c = model.changes.find((c) => c.repo === repo && c.env === e && c.key === `pr:${pr.number}`);
                    if (!c || c.deployed >= hi) pending++;
                }
            }
            // Recovery: failed deployments to the next success of their environment; incidents
            // from opening to close.
            const rec = [];
            for (const d of fin) {
                if (d.outcome === 'success') continue;
                const next = model.deps.filter((x) => x.repo === repo && x.env === d.env && x.outcome === 'success'
                    && (x.created > d.created || (x.created === d.created && x.id > d.id)))
                    .sort((a, b) => a.created - b.created || a.id - b.id)[0];
                if (next) rec.push((next.finished - d.finished) / HOUR);
            }
            for (const inc of model.incidents) {
                if (inc.repo === repo && incidentIn(inc, set) && inP(inc.opened) && inc.closed !== null) rec.push((inc.closed - inc.opened) / HOUR);
            }
            const row = {
                period_start: per.start, repository: repo, environment: env,
                deployments: succ.length,
                deploy_days: new Set(succ.map((d) => localDay(d.finished, tz))).size,
                lead_time_p50_hours: percentileCont(lead, 0.5),
                lead_time_p90_hours: percentileCont(lead, 0.9),
                lead_time_n: lead.length,
                pending_changes: pending,
                change_failure_rate: rate(fin.filter((d) => d.outcome !== 'success' || d.incident).length, fin.length),
                recovery_p50_hours: percentileCont(rec, 0.5),
                recovery_n: rec.length,
                rework_rate: rate(fin.filter((d) => d.rework).length, fin.length),
                lead_time_first_commit_p50_hours: percentileCont(leadFc, 0.5),
            };
            row.level = lv ? level(lv, row, per.days) : undefined;
            out.push(row);
        }
    }
    return out;
}

// The best cluster whose every threshold the row meets (a threshold that is NULL, or a key the
// row has no value for, is met); NULL without deployments.
function level(lv, row, days) {
    if (row.deployments === 0) return null;
    const perWeek = (row.deployments * 7) / days;
    for (const l of lv) {
        const ok = (l.min_deploys_per_week == null || perWeek >= l.min_deploys_per_week)
            && (l.max_lead_time_hours == null || row.lead_time_p50_hours == null || row.lead_time_p50_hours <= l.max_lead_time_hours)
            && (l.max_change_failure_rate == null || row.change_failure_rate == null || row.change_failure_rate <= l.max_change_failure_rate)
            && (l.max_recovery_hours == null || row.recovery_p50_hours == null || row.recovery_p50_hours <= l.max_recovery_hours);
        if (ok) return l.level;
    }
    return null;
}

// What explain_dora lists for a day: the deployments finished that day, the changes deployed.
export function explain(model, { day, env, repository, tz = 'UTC' }) {
    const set = resolve(model, env);
    const lo = midnight(day, tz), hi = midnight(addDays(day, 1), tz);
    const repo = repository.toLowerCase();
    return {
        deployments: model.deps.filter((d) => d.repo === repo && set.has(d.env) && d.outcome && d.finished >= lo && d.finished < hi)
            .map((d) => ({ id: String(d.id), environment: d.env, outcome: d.outcome })).sort((a, b) => a.id.localeCompare(b.id)),
        changes: model.changes.filter((c) => c.repo === repo && set.has(c.env) && c.deployed >= lo && c.deployed < hi)
            .map((c) => ({ key: c.key, environment: c.env, deployment: String(c.deployment) }))
            .sort((a, b) => a.environment.localeCompare(b.environment) || a.key.localeCompare(b.key)),
    };
}

export function tables(model) {
    const t = (x) => (x === null || x === undefined ? null : new Date(x).toISOString());
    return {
        deployments: model.deps.map((d) => ({
            repository: d.repo, deployment_id: String(d.id), environment: d.env, sha: d.sha, ref: d.ref, created_at: t(d.created),
            outcome: d.outcome, finished_at: t(d.finished), baseline_id: d.outcome === 'success' && d.baseline ? String(d.baseline) : null,
            coverage: d.coverage, changes: d.changes,
        })).sort((a, b) => a.deployment_id.localeCompare(b.deployment_id)),
        changes: model.changes.map((c) => ({
            repository: c.repo, environment: c.env, change_key: c.key, kind: c.kind, pr_number: c.pr === null ? null : String(c.pr),
            sha: c.sha, merged_at: t(c.merged), first_commit_at: t(c.firstCommit), deployment_id: String(c.deployment), deployed_at: t(c.deployed),
        })).sort((a, b) => `${a.repository}|${a.environment}|${a.change_key}`.localeCompare(`${b.repository}|${b.environment}|${b.change_key}`)),
        incidents: model.incidents.map((i) => ({
            repository: i.repo, number: String(i.number), opened_at: t(i.opened), closed_at: t(i.closed),
            deployment_id: i.deployment ? String(i.deployment.id) : null, link: i.link,
        })).sort((a, b) => `${a.repository}|${a.number.padStart(6)}`.localeCompare(`${b.repository}|${b.number.padStart(6)}`)),
    };
}

// The key each event must be recorded under (unknown events: null, their key hashes the text).
export function eventKey(e) {
    if (e.delivery_id) return `delivery:${e.delivery_id}`;
    const p = e.payload;
    const repo = p.repository?.full_name?.toLowerCase();
    switch (e.event) {
        case 'deployment': return `deployment:${p.deployment.id}`;
        case 'deployment_status': return `deployment_status:${p.deployment_status.id}`;
        case 'pull_request': return `pull_request:${p.pull_request.id}:${p.action}:${p.pull_request.updated_at}`;
        case 'push': return `push:${repo}:${p.ref}:${p.after}`;
        case 'workflow_run': return `workflow_run:${p.workflow_run.id}:${p.workflow_run.run_attempt ?? 1}:${p.workflow_run.status}`;
        case 'issues': return `issues:${p.issue.id}:${p.action}:${p.issue.updated_at}`;
        default: return null;
    }
}

// ---------------------------------------------------------------------------------------
function main() {
    const [cmd, file, ...rest] = process.argv.slice(2);
    const opt = {};
    for (let k = 0; k < rest.length; k += 2) opt[rest[k].replace(/^--/, '')] = rest[k + 1];
    const events = JSON.parse(readFileSync(file, 'utf8'));
    let res;
    if (cmd === 'keys') res = events.map(eventKey);
    else {
        const model = derive(events);
        if (cmd === 'rows') {
            res = rows(model, { ...opt, levels: opt.levels ? JSON.parse(readFileSync(opt.levels, 'utf8')) : null });
        } else if (cmd === 'tables') res = tables(model);
        else if (cmd === 'explain') res = explain(model, opt);
        else throw new Error(`unknown command ${cmd}`);
    }
    process.stdout.write(JSON.stringify(res));
}
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
