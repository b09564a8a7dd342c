#!/usr/bin/env node
// Delivery plans: in which order, by which function and with which duplicates a session sends
// the scenario's events, as a psql script over the table scen.events (i int, e jsonb) that
// github.bash loads into each database; and the check of what a serial run returned.
//
//   node plan.mjs make EVENTS.json OUT_PREFIX [--seed S] [--order inorder|shuffle|reverse]
//                 [--single F] [--batch-max N] [--dup F] [--pair F] [--strip F]
//       writes OUT_PREFIX.sql and OUT_PREFIX.json (the calls and their deliveries).
//       single: the share of deliveries made with record_github_event (runs of the others are
//       cut into batches of 1..N); dup: the share of events delivered a second time
//       later, under the same key (a redelivery with the same delivery id, or the same event
//       without one again); pair: the share of events with a delivery id also delivered later
//       without it (a new event key for the same fact); strip: the share of events sent without
//       their delivery id in the first place.
//   node plan.mjs check OUT_PREFIX.json OUTPUT.txt [SEEN_KEYS.json]
//       checks a serial run's output: each single call's recorded flag and key, each batch's
//       events/recorded/duplicates/unknown. Prints problems; exit 1 when there are any.
//   node plan.mjs keys OUT_PREFIX.json...
//       the event keys the plans deliver (known kinds), and how many unknown events, as JSON.
import { readFileSync, writeFileSync } from 'node:fs';
import { eventKey } from './expected.mjs';

function mulberry32(a) {
    return () => {
        a |= 0; a = (a + 0x6d2b79f5) | 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
const KNOWN = new Set(['deployment', 'deployment_status', 'pull_request', 'push', 'workflow_run', 'issues']);

// The key of a delivery; unknown events are keyed by a hash of their payload (SHA-256), so a stand-in
// per event index is as good (the scenario's unknown payloads all differ).
function keyOf(events, d) {
    const e = events[d.i];
    const k = eventKey(d.strip ? { ...e, delivery_id: undefined } : e);
    return k ?? `unknown:${e.event}:${d.i}`;
}

function make(file, prefix, o) {
    const events = JSON.parse(readFileSync(file, 'utf8'));
    const rnd = mulberry32(Number(o.seed ?? 1));
    const idx = events.map((_, i) => i);
    if (o.order === 'reverse') idx.reverse();
    if (o.order === 'shuffle') {
        for (let k = idx.length - 1; k > 0; k--) {
            const j = Math.floor(rnd() * (k + 1));
            [idx[k], idx[j]] = [idx[j], idx[k]];
        }
    }
    const strip = Number(o.strip ?? 0), dup = Number(o.dup ?? 0), pair = Number(o.pair ?? 0);
    let seq = idx.map((i) => ({ i, strip: !!events[i].delivery_id && rnd() < strip }));
    // Second deliveries, each at a random later place.
    const extra = [];
    for (let p = 0; p < seq.length; p++) {
        const d = seq[p];
        if (rnd() < dup) extra.push({ after: p, d: { ...d, again: true } });
        if (events[d.i].delivery_id && !d.strip && rnd() < pair) extra.push({ after: p, d: { i: d.i, strip: true, pair: true } });
    }
    for (const x of extra) x.at = x.after + 1 + Math.floor(rnd() * (seq.length - x.after));
    extra.sort((a, b) => b.at - a.at);
    for (const x of extra) seq.splice(x.at, 0, x.d);
    // Calls.
    const single = Number(o.single ?? 0), batchMax = Number(o['batch-max'] ?? 50);
    const calls = [];
    // Each delivery goes singly with probability SINGLE; runs of the others are cut into
    // batches of 1..N.
    for (const d of seq) d.single = rnd() < single;
    for (let p = 0; p < seq.length;) {
        if (seq[p].single) { calls.push({ kind: 'single', deliveries: [seq[p]] }); p++; continue; }
        const n = 1 + Math.floor(rnd() * batchMax);
        let q = p;
        while (q < seq.length && q - p < n && !seq[q].single) q++;
        calls.push({ kind: 'batch', deliveries: seq.slice(p, q) });
        p = q;
    }
    const sql = [];
    for (const c of calls) {
        if (c.kind === 'single') {
            const d = c.deliveries[0];
            sql.push(`SELECT 'S', r.recorded, r.kind, r.event_key FROM scen.events AS x, metrics.record_github_event(`
                + `x.e->>'event', x.e->'payload', ${d.strip ? 'NULL' : "x.e->>'delivery_id'"}, x.e->>'environment') AS r WHERE x.i = ${d.i};`);
        } else {
            const is = c.deliveries.map((d) => d.i).join(','), ss = c.deliveries.map((d) => (d.strip ? 't' : 'f')).join(',');
            sql.push(`SELECT 'B', r.events, r.recorded, r.duplicates, r.unknown FROM metrics.record_github_events((`
                + `SELECT jsonb_agg(CASE WHEN u.strip THEN x.e - 'i' - 'delivery_id' ELSE x.e - 'i' END ORDER BY u.ord) `
                + `FROM unnest('{${is}}'::int[], '{${ss}}'::bool[]) WITH ORDINALITY AS u(i, strip, ord) JOIN scen.events AS x USING (i))) AS r;`);
        }
    }
    writeFileSync(`${prefix}.sql`, sql.join('\n') + '\n');
    writeFileSync(`${prefix}.json`, JSON.stringify({ file, calls }));
    const n = seq.length, singles = calls.filter((c) => c.kind === 'single').length;
    console.error(`plan ${prefix}: ${n} deliveries (${seq.filter((d) => d.again).length} again, ${seq.filter((d) => d.pair).length} without their delivery id too, `
        + `${seq.filter((d) => d.strip && !d.pair).length} stripped) in ${calls.length} calls (${singles} single)`);
}

function check(planFile, outFile, seenFile) {
    const plan = JSON.parse(readFileSync(planFile, 'utf8'));
    const events = JSON.parse(readFileSync(plan.file, 'utf8'));
    const lines = readFileSync(outFile, 'utf8').split('\n').filter((l) => l !== '');
    const seen = new Set(seenFile ? JSON.parse(readFileSync(seenFile, 'utf8')) : []);
    const problems = [];
    if (lines.length !== plan.calls.length) problems.push(`${plan.calls.length} calls but ${lines.length} result lines`);
    plan.calls.forEach((c, n) => {
        const got = lines[n] ?? '';
        if (c.kind === 'single') {
            const d = c.deliveries[0], e = events[d.i];
            const key = keyOf(events, d);
            const fresh = !seen.has(key);
            seen.add(key);
            const [tag, recorded, kind, ekey] = got.split('|');
            const wantKind = KNOWN.has(e.event) ? (e.event === 'issues' ? 'issue' : e.event) : 'unknown';
            const keyOk = key.startsWith('unknown:') ? new RegExp(`^${e.event}:[0-9a-f]{64}$`).test(ekey) : ekey === key;
            if (tag !== 'S' || recorded !== (fresh ? 't' : 'f') || kind !== wantKind || !keyOk) {
                problems.push(`call ${n} (event ${d.i}, ${e.event}${d.strip ? ', without delivery id' : ''}): expected S|${fresh ? 't' : 'f'}|${wantKind}|${key}, got ${got}`);
            }
        } else {
            let fresh = 0, unknown = 0;
            for (const d of c.deliveries) {
                const key = keyOf(events, d);
                if (!seen.has(key)) { fresh++; if (!KNOWN.has(events[d.i].event)) unknown++; }
                seen.add(key);
            }
            // unknown: the unknown events the batch recorded (a duplicate is not recorded again).
            const want = `B|${c.deliveries.length}|${fresh}|${c.deliveries.length - fresh}|${unknown}`;
            if (got !== want) problems.push(`call ${n} (batch of ${c.deliveries.length}): expected ${want}, got ${got}`);
        }
    });
    for (const p of problems.slice(0, 30)) console.log(p);
    if (problems.length > 30) console.log(`... ${problems.length - 30} more`);
    process.exit(problems.length ? 1 : 0);
}

function keys(planFiles) {
    const known = new Set(), unknown = new Set();
    for (const f of planFiles) {
        const plan = JSON.parse(readFileSync(f, 'utf8'));
        const events = JSON.parse(readFileSync(plan.file, 'utf8'));
        for (const c of plan.calls) {
            for (const d of c.deliveries) {
                const k = keyOf(events, d);
                (k.startsWith('unknown:') ? unknown : known).add(k);
            }
        }
    }
    console.log(JSON.stringify({ known: [...known].sort(), unknown: unknown.size }));
}

const [cmd, ...args] = process.argv.slice(2);
const opts = (rest) => {
    const o = {};
    for (let k = 0; k < rest.length; k += 2) o[rest[k].replace(/^--/, '')] = rest[k + 1];
    return o;
};
if (cmd === 'make') make(args[0], args[1], opts(args.slice(2)));
else if (cmd === 'check') check(args[0], args[1], args[2]);
else if (cmd === 'keys') keys(args);
else { console.error('usage: plan.mjs make|check|keys ...'); process.exit(2); }
