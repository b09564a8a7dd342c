#!/usr/bin/env bash
# scripts/github-backfill against a real database: events saved from GitHub's REST API (the
# concatenated pretty-printed arrays `gh api --paginate` prints) and a GH Archive hour
# (newline-delimited JSON, gzipped) are filtered to one repository and the last N days,
# sent oldest first in batches through metrics.record_github_events, and totalled; a second
# run records nothing (every event a duplicate); a wider --days records only what the first
# left out; a batch the extension refuses stops the run with its error, after the batches
# before it were recorded.
source "$(dirname "$0")/../lib.bash"

BACKFILL="$REPO_ROOT/scripts/github-backfill"
OCTOKIT="$REPO_ROOT/tests/fixtures/github/octokit"
plan 14

fresh_db
q "CREATE EXTENSION metrics" >/dev/null || bail_out "CREATE EXTENSION metrics failed"
export PGDATABASE=$DB

# --- the saved events ---------------------------------------------------------------------
# Times relative to now: the default window is the last 90 days. The payloads are octokit's
# (tests/fixtures/github/octokit/), wrapped as events-API objects; a PushEvent has the
# events API's shape (head, commits with sha and no timestamp).
node - "$OCTOKIT" "$SCEN_TMP" <<'EOF' || bail_out "cannot write the saved events"
const fs = require('fs'), zlib = require('zlib'), path = require('path');
const [dir, out] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
const ago = (days, minutes = 0) => new Date(Date.now() - days * 864e5 + minutes * 6e4).toISOString().replace(/\.\d+Z$/, 'Z');
const repo = { id: 186853002, name: 'Codertocat/Hello-World', url: 'https://api.github.com/repos/Codertocat/Hello-World' };
const push = (id, days, head, before) => ({ id: String(id), type: 'PushEvent', created_at: ago(days), repo,
    payload: { push_id: id, size: 1, distinct_size: 1, ref: 'refs/heads/main', head, before,
               commits: [{ sha: head, message: 'm', distinct: true, author: { name: 'a', email: 'a@example.com' } }] } });
const pr = read('pull_request/opened.payload.json');
const issue = read('issues/opened.payload.json');
const sha = (c) => c.repeat(40);
// Page 1 and page 2, as `gh api --paginate` prints them: two arrays, one after the other.
const page1 = [
    push(9001, 3, sha('c'), sha('b')),
    { id: '9002', type: 'WatchEvent', created_at: ago(4), repo, payload: { action: 'started' } },
    { id: '9003', type: 'PullRequestEvent', created_at: ago(5), repo,
      payload: { action: 'opened', number: pr.number, pull_request: pr.pull_request } },
];
const page2 = [
    push(9004, 6, sha('b'), sha('a')),
    { id: '9005', type: 'IssuesEvent', created_at: ago(7), repo, payload: { action: 'opened', issue: issue.issue } },
    push(9006, 100, sha('a'), sha('9')),                       // older than 90 days
    { ...push(9007, 2, sha('d'), sha('c')), repo: { id: 1, name: 'someone/else' } },
];
fs.writeFileSync(path.join(out, 'events.json'), JSON.stringify(page1, null, 2) + '\n' + JSON.stringify(page2, null, 2) + '\n');
// A GH Archive hour: one object per line, gzipped, the repository's name in another case.
const archive = [
    { ...push(9010, 1, sha('e'), sha('d')), repo: { ...repo, name: 'codertocat/hello-world' } },
    { id: '9011', type: 'ForkEvent', created_at: ago(1, 1), repo, payload: {} },
    { ...push(9012, 1, sha('f'), sha('e')), created_at: ago(1, 2), repo: { id: 2, name: 'other/repo' } },
];
fs.writeFileSync(path.join(out, 'archive.json.gz'), zlib.gzipSync(archive.map((e) => JSON.stringify(e)).join('\n') + '\n'));
// One the extension refuses: a PushEvent without head.
const bad = push(9020, 1, sha('1'), sha('f'));
delete bad.payload.head;
fs.writeFileSync(path.join(out, 'bad.json'), JSON.stringify([push(9021, 2, sha('2'), sha('1')), bad]));
EOF

# --- the first run ------------------------------------------------------------------------
out=$("$BACKFILL" --repo Codertocat/Hello-World --batch-size 2 "$SCEN_TMP/events.json" "$SCEN_TMP/archive.json.gz" 2>"$SCEN_TMP/err")
status=$?
is "$status" 0 "the first run succeeds"
is "$(tail -1 <<<"$out")" "total: events 5, recorded 5, duplicates 0, unknown 0" \
   "5 events of the six known types, the repository and the last 90 days: all recorded"
is "$(q "SELECT string_agg(event_key, ',' ORDER BY event_key) FROM metrics.github_events")" \
   "archive:9001,archive:9003,archive:9004,archive:9005,archive:9010" "keyed by their archive ids"
is "$(grep -c '^batch ' <<<"$out")" 3 "in batches of 2: three"
# Oldest first: each batch's first time is at or after the previous batch's last.
ordered=$(sed -nE 's/^batch [0-9]+: .*\(([^ ]+) \.\. ([^ ]+)\)$/\1 \2/p' <<<"$out" \
          | awk 'NR > 1 && $1 < last { bad = 1 } { last = $2 } END { print bad ? "no" : "yes" }')
is "$ordered" yes "batches are sent oldest first"
like "$(cat "$SCEN_TMP/err")" "other repositories 2, outside the last 90 days 1, other types 2" "what was left out is counted"
is "$(q "SELECT string_agg(after_sha, ',' ORDER BY pushed_at) FROM metrics.github_pushes")" \
   "$(printf '%s,%s,%s' "$(printf 'b%.0s' {1..40})" "$(printf 'c%.0s' {1..40})" "$(printf 'e%.0s' {1..40})")" \
   "the pushes' after is their head, in time order"

# --- again: idempotent --------------------------------------------------------------------
out=$("$BACKFILL" --repo codertocat/hello-world --dsn "dbname=$DB" "$SCEN_TMP/archive.json.gz" "$SCEN_TMP/events.json" 2>/dev/null)
is "$(tail -1 <<<"$out")" "total: events 5, recorded 0, duplicates 5, unknown 0" "the second run (--dsn) records nothing"
is "$(q "SELECT count(*) FROM metrics.github_events")" 5 "still five events"

# --- a wider window, every type -----------------------------------------------------------
out=$("$BACKFILL" --repo Codertocat/Hello-World --days 200 --all-types "$SCEN_TMP/events.json" "$SCEN_TMP/archive.json.gz" 2>/dev/null)
is "$(tail -1 <<<"$out")" "total: events 8, recorded 3, duplicates 5, unknown 2" \
   "--days 200 --all-types: the old push and the two other types are new, those two unknown"

# --- a refused batch ----------------------------------------------------------------------
before=$(q "SELECT count(*) FROM metrics.github_events")
out=$("$BACKFILL" --repo Codertocat/Hello-World --batch-size 1 "$SCEN_TMP/bad.json" 2>"$SCEN_TMP/err")
status=$?
is "$status" 1 "a refused batch stops the run with exit 1"
like "$(cat "$SCEN_TMP/err")" "22023|events\[0\]\.payload\.(head|after)" "with the extension's error"
is "$(( $(q "SELECT count(*) FROM metrics.github_events") - before ))" 1 "the batch before it was recorded"
"$BACKFILL" --repo o/r --batch-size 10001 "$SCEN_TMP/bad.json" >/dev/null 2>&1
is "$?" 2 "a batch size beyond the extension's limit is a usage error"

done_testing
