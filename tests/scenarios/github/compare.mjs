#!/usr/bin/env node
// Compares what the extension returned with what expected.mjs computed.
//
//   node compare.mjs rows EXPECTED.json ACTUAL.json      get_dora_metrics rows
//   node compare.mjs tables EXPECTED.json ACTUAL.json    {deployments, changes, incidents}
//   node compare.mjs explain EXPECTED.json ACTUAL.json   {deployments, changes}
//
// Rows are matched by their key; every column expected.mjs gives is compared: numbers with a
// relative tolerance of 1e-9 (hours and rates are numeric or double precision), times as
// instants, everything else exactly. A row on one side only is a difference. Prints one line
// per difference (at most 40) and exits 1 when there are any.
import { readFileSync } from 'node:fs';

const [cmd, expFile, actFile] = process.argv.slice(2);
const exp = JSON.parse(readFileSync(expFile, 'utf8'));
const act = JSON.parse(readFileSync(actFile, 'utf8'));
const out = [];

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:\d\d)?)$/;
function same(e, a) {
    if (e === null || e === undefined) return a === null || a === undefined;
    if (a === null || a === undefined) return false;
    if (typeof e === 'number') {
        const x = Number(a);
        return Number.isFinite(x) && Math.abs(x - e) <= 1e-9 * Math.max(1, Math.abs(e));
    }
    if (typeof e === 'string' && TIME.test(e) && typeof a === 'string' && TIME.test(a)) return Date.parse(e) === Date.parse(a);
    return String(e) === String(a);
}
function compareSets(what, e, a, keyOf, cols) {
    const am = new Map();
    for (const r of a) {
        const k = keyOf(r);
        if (am.has(k)) out.push(`${what} ${k}: returned twice`);
        am.set(k, r);
    }
    const seen = new Set();
    for (const r of e) {
        const k = keyOf(r);
        seen.add(k);
        const g = am.get(k);
        if (!g) { out.push(`${what} ${k}: missing (expected ${JSON.stringify(r)})`); continue; }
        for (const c of cols ?? Object.keys(r)) {
            if (r[c] === undefined) continue;
            if (!same(r[c], g[c])) out.push(`${what} ${k} ${c}: expected ${JSON.stringify(r[c])}, got ${JSON.stringify(g[c])}`);
        }
    }
    for (const [k, g] of am) if (!seen.has(k)) out.push(`${what} ${k}: not expected (got ${JSON.stringify(g)})`);
}

if (cmd === 'rows') {
    compareSets('row', exp, act, (r) => `${r.period_start}/${r.repository}`);
} else if (cmd === 'tables') {
    compareSets('deployment', exp.deployments, act.deployments, (r) => r.deployment_id);
    compareSets('change', exp.changes, act.changes, (r) => `${r.repository}/${r.environment}/${r.change_key}`);
    compareSets('incident', exp.incidents, act.incidents, (r) => `${r.repository}#${r.number}`);
} else if (cmd === 'explain') {
    compareSets('deployment', exp.deployments, act.deployments, (r) => r.id);
    compareSets('change', exp.changes, act.changes, (r) => `${r.environment}/${r.key}`);
} else {
    console.error('usage: compare.mjs rows|tables|explain EXPECTED ACTUAL');
    process.exit(2);
}
for (const l of out.slice(0, 40)) console.log(l);
if (out.length > 40) console.log(`... ${out.length - 40} more differences`);
process.exit(out.length ? 1 : 0);
