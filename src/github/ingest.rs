//! Writing GitHub events: the raw rows (exactly once, by `event_key`), then the facts of the
//! events that were new, then the derived tables for what those facts can change — all in the
//! caller's transaction, under a lock per repository taken before anything is written, so
//! two sessions delivering events of one repository derive one after the other, each seeing
//! the other's facts.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use pgrx::datum::DatumWithOid;
use serde_json::{json, Value};

use crate::github::derive::{self, Dirty};
use crate::pg::spi::volatile;
use metrics_core::github::Parsed;
use metrics_core::github::{Fact, Time};

/// The advisory lock class of a repository's GitHub facts (the compaction locks are +1, +2).
const LOCK_CLASS: i32 = 0x6d74_7263 + 3;

/// What became of one event.
pub struct Outcome {
    pub recorded: bool,
    pub kind: &'static str,
    pub event_key: String,
}

/// The payloads as received, stored raw (and hashed) by SQL from the caller's own jsonb
/// argument: a batch (an array of objects with `payload`), or one event's payload.
pub enum Payloads<'a> {
    Batch(DatumWithOid<'a>),
    One(DatumWithOid<'a>),
}

/// Records checked events, in the order of `payloads`.
pub fn record(events: &[Parsed], payloads: Payloads) -> Vec<Outcome> {
    lock_repositories(events);
    let inserted = insert_raw(events, payloads);
    let mut claimed: HashSet<&str> = HashSet::new();
    let mut outcomes = Vec::with_capacity(events.len());
    let mut new_facts: Vec<&Fact> = Vec::new();
    for e in events {
        let recorded = inserted.contains(e.event_key.as_str()) && claimed.insert(&e.event_key);
        if recorded {
            new_facts.extend(e.fact.as_ref());
        }
        outcomes.push(Outcome {
            recorded,
            kind: e.kind,
            event_key: e.event_key.clone(),
        });
    }
    if !new_facts.is_empty() {
        write_facts(&new_facts);
        derive::derive(&dirty(&new_facts));
    }
    outcomes
}

/// One transaction-level lock per repository, in sorted order so that two batches never
/// wait for each other crosswise.
fn lock_repositories(events: &[Parsed]) {
    let repositories: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e.repository.as_deref())
        .collect();
    for r in repositories {
        volatile::run(
            "SELECT pg_catalog.pg_advisory_xact_lock($1, pg_catalog.hashtext($2))",
            &[DatumWithOid::from(LOCK_CLASS), DatumWithOid::from(r)],
        );
    }
}

pub fn time_text(t: &Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

const INSERT_RAW: &str = "
    WITH k AS (
        SELECT * FROM ROWS FROM (pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]),
                                 pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]),
                                 pg_catalog.unnest($6::boolean[]), pg_catalog.unnest($7::text[]),
                                 pg_catalog.unnest($8::text[]), pg_catalog.unnest($9::text[]),
                                 pg_catalog.unnest($10::timestamptz[]))
            WITH ORDINALITY AS k (event_key, event, action, kind, known_action, repository,
                                  environment, delivery_id, occurred_at, n)
    ),
    e AS (SELECT e.value -> 'payload' AS payload, e.n
          FROM pg_catalog.jsonb_array_elements(CASE WHEN $11 THEN pg_catalog.jsonb_build_array(
                   pg_catalog.jsonb_build_object('payload', $1::jsonb)) ELSE $1::jsonb END)
               WITH ORDINALITY AS e (value, n))
    INSERT INTO metrics.github_events AS g (event_key, event, action, kind, known_action, repository,
                                            environment, delivery_id, occurred_at, payload, payload_sha256)
    SELECT k.event_key, k.event, k.action, k.kind, k.known_action, k.repository, k.environment,
           k.delivery_id, k.occurred_at, e.payload,
           pg_catalog.sha256(pg_catalog.convert_to(e.payload::text, 'UTF8'))
    FROM k JOIN e ON e.n = k.n
    ORDER BY k.n
    ON CONFLICT (event_key) DO NOTHING
    RETURNING g.event_key";

/// Inserts the raw rows; returns the keys that were new.
fn insert_raw(events: &[Parsed], payloads: Payloads) -> HashSet<String> {
    let (payload_arg, one) = match payloads {
        Payloads::Batch(d) => (d, false),
        Payloads::One(d) => (d, true),
    };
    let texts = |f: &dyn Fn(&Parsed) -> Option<String>| -> Vec<Option<String>> {
        events.iter().map(f).collect()
    };
    let args = [
        payload_arg,
        DatumWithOid::from(texts(&|e| Some(e.event_key.clone()))),
        DatumWithOid::from(texts(&|e| Some(e.event.clone()))),
        DatumWithOid::from(texts(&|e| e.action.clone())),
        DatumWithOid::from(texts(&|e| Some(e.kind.to_string()))),
        DatumWithOid::from(
            events
                .iter()
                .map(|e| Some(e.known_action))
                .collect::<Vec<_>>(),
        ),
        DatumWithOid::from(texts(&|e| e.repository.clone())),
        DatumWithOid::from(texts(&|e| e.environment.clone())),
        DatumWithOid::from(texts(&|e| e.delivery_id.clone())),
        DatumWithOid::from(texts(&|e| e.occurred_at.as_ref().map(time_text))),
        DatumWithOid::from(one),
    ];
    volatile::rows(INSERT_RAW, &args, |row| {
        crate::pg::spi::not_null::<String>(row, 1)
    })
    .into_iter()
    .collect()
}

/// The rows of each fact table, as JSON objects named like the table's columns.
#[derive(Default)]
struct FactRows {
    deployments: Vec<Value>,
    statuses: Vec<Value>,
    pull_requests: Vec<Value>,
    pushes: Vec<Value>,
    workflow_runs: Vec<Value>,
    issues: Vec<Value>,
    /// (repository, environment or "" for a repository only)
    seen: BTreeSet<(String, String)>,
}

fn lower_all(labels: &[String]) -> Vec<String> {
    labels.iter().map(|l| l.to_lowercase()).collect()
}

fn deployment_row(d: &metrics_core::github::Deployment) -> Value {
    json!({"repository": d.repository, "deployment_id": d.id, "environment": d.environment,
           "sha": d.sha, "ref": d.git_ref, "task": d.task, "description": d.description,
           "created_at": time_text(&d.created_at), "creator": d.creator})
}

fn add_fact(rows: &mut FactRows, fact: &Fact) {
    let t = |x: &Option<Time>| x.as_ref().map(time_text);
    match fact {
        Fact::Deployment(d) => {
            rows.deployments.push(deployment_row(d));
            rows.seen
                .insert((d.repository.clone(), d.environment.clone()));
        }
        Fact::DeploymentStatus(d, s) => {
            rows.deployments.push(deployment_row(d));
            rows.seen
                .insert((d.repository.clone(), d.environment.clone()));
            rows.statuses
                .push(json!({"repository": s.repository, "status_id": s.id,
                "deployment_id": s.deployment_id, "state": s.state,
                "created_at": time_text(&s.created_at), "environment": s.environment}));
        }
        Fact::PullRequest(p) => {
            rows.seen.insert((p.repository.clone(), String::new()));
            rows.pull_requests
                .push(json!({"repository": p.repository, "number": p.number,
                "pr_id": p.id, "title": p.title, "state": p.state,
                "created_at": time_text(&p.created_at), "updated_at": time_text(&p.updated_at),
                "closed_at": t(&p.closed_at), "merged_at": t(&p.merged_at),
                "merge_commit_sha": p.merge_commit_sha, "base_ref": p.base_ref,
                "head_ref": p.head_ref, "head_sha": p.head_sha, "labels": lower_all(&p.labels)}));
        }
        Fact::Push(p) => {
            rows.seen.insert((p.repository.clone(), String::new()));
            rows.pushes
                .push(json!({"repository": p.repository, "ref": p.git_ref,
                "after_sha": p.after, "before_sha": p.before, "pushed_at": time_text(&p.pushed_at),
                "forced": p.forced, "created": p.created, "deleted": p.deleted,
                "commit_shas": p.commits.iter().map(|c| c.sha.clone()).collect::<Vec<_>>(),
                "commit_times": p.commits.iter().map(|c| time_text(&c.at)).collect::<Vec<_>>()}));
        }
        Fact::WorkflowRun(w) => {
            rows.seen.insert((w.repository.clone(), String::new()));
            rows.workflow_runs
                .push(json!({"repository": w.repository, "run_id": w.id,
                "run_attempt": w.attempt, "name": w.name, "event": w.event, "status": w.status,
                "conclusion": w.conclusion, "head_sha": w.head_sha, "head_branch": w.head_branch,
                "created_at": time_text(&w.created_at), "run_started_at": t(&w.run_started_at),
                "updated_at": time_text(&w.updated_at), "environment": w.environment}));
        }
        Fact::Issue(i) => {
            rows.seen.insert((i.repository.clone(), String::new()));
            rows.issues
                .push(json!({"repository": i.repository, "number": i.number,
                "issue_id": i.id, "title": i.title, "body": i.body, "state": i.state,
                "labels": lower_all(&i.labels), "created_at": time_text(&i.created_at),
                "updated_at": time_text(&i.updated_at), "closed_at": t(&i.closed_at),
                "environment": i.environment}));
        }
    }
}

/// Facts that never change once known: the first row wins.
const INSERT_ONCE: &str = "INSERT INTO metrics.{table} SELECT r.* FROM pg_catalog.jsonb_populate_recordset(NULL::metrics.{table}, $1) AS r ON CONFLICT DO NOTHING";

/// A fact whose latest description wins: among the batch's rows of one key the latest by
/// `order`, then over the stored row only if later by the same order. The order is a total
/// order on the row's content (time first), so the result does not depend on arrival order.
struct Latest {
    table: &'static str,
    key: &'static str,
    order: &'static [&'static str],
}

const PULL_REQUESTS: Latest = Latest {
    table: "github_pull_requests",
    key: "repository, number",
    order: &[
        "{r}.updated_at",
        "{r}.merged_at IS NOT NULL",
        "{r}.closed_at IS NOT NULL",
        "{r}.state",
        "{r}.labels",
        "coalesce({r}.title, '')",
        "coalesce({r}.head_sha, '')",
    ],
};
const WORKFLOW_RUNS: Latest = Latest {
    table: "github_workflow_runs",
    key: "repository, run_id, run_attempt",
    order: &[
        "{r}.updated_at",
        "{r}.status = 'completed'",
        "coalesce({r}.conclusion, '')",
        "{r}.status",
    ],
};
const ISSUES: Latest = Latest {
    table: "github_issues",
    key: "repository, number",
    order: &[
        "{r}.updated_at",
        "{r}.closed_at IS NOT NULL",
        "{r}.state",
        "{r}.labels",
        "coalesce({r}.title, '')",
        "coalesce({r}.body, '')",
    ],
};

impl Latest {
    fn sql(&self, columns: &[String]) -> String {
        let keys: Vec<&str> = self.key.split(", ").collect();
        let set: Vec<String> = columns
            .iter()
            .filter(|c| !keys.contains(&c.as_str()))
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let order =
            |r: &str| -> Vec<String> { self.order.iter().map(|o| o.replace("{r}", r)).collect() };
        let desc: Vec<String> = order("r").iter().map(|o| format!("{o} DESC")).collect();
        format!(
            "INSERT INTO metrics.{t} AS t
             SELECT DISTINCT ON ({k}) r.* FROM pg_catalog.jsonb_populate_recordset(NULL::metrics.{t}, $1) AS r
             ORDER BY {k}, {desc}
             ON CONFLICT ({k}) DO UPDATE SET {set}
             WHERE ({new}) > ({old})",
            t = self.table,
            k = self.key,
            desc = desc.join(", "),
            set = set.join(", "),
            new = order("EXCLUDED").join(", "),
            old = order("t").join(", "),
        )
    }
}

fn columns_of(table: &str) -> Vec<String> {
    crate::pg::spi::volatile::rows(
        "SELECT a.attname::text FROM pg_catalog.pg_attribute AS a
         WHERE a.attrelid = ('metrics.' || $1)::regclass AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum",
        &[DatumWithOid::from(table)],
        |row| crate::pg::spi::not_null::<String>(row, 1),
    )
}

fn write_rows(sql: &str, rows: Vec<Value>) {
    if !rows.is_empty() {
        volatile::run(sql, &[DatumWithOid::from(pgrx::JsonB(Value::Array(rows)))]);
    }
}

fn write_facts(facts: &[&Fact]) {
    let mut rows = FactRows::default();
    for f in facts {
        add_fact(&mut rows, f);
    }
    write_seen(&rows.seen);
    for (table, list) in [
        ("github_deployments", rows.deployments),
        ("github_deployment_statuses", rows.statuses),
        ("github_pushes", rows.pushes),
    ] {
        write_rows(&INSERT_ONCE.replace("{table}", table), list);
    }
    for (latest, list) in [
        (PULL_REQUESTS, rows.pull_requests),
        (WORKFLOW_RUNS, rows.workflow_runs),
        (ISSUES, rows.issues),
    ] {
        if !list.is_empty() {
            write_rows(&latest.sql(&columns_of(latest.table)), list);
        }
    }
}

fn write_seen(seen: &BTreeSet<(String, String)>) {
    let repositories: BTreeSet<&String> = seen.iter().map(|(r, _)| r).collect();
    let pairs: Vec<&(String, String)> = seen.iter().filter(|(_, e)| !e.is_empty()).collect();
    volatile::run(
        "INSERT INTO metrics.github_repositories (repository)
         SELECT r FROM pg_catalog.unnest($1::text[]) AS r ON CONFLICT DO NOTHING",
        &[DatumWithOid::from(
            repositories.into_iter().cloned().collect::<Vec<String>>(),
        )],
    );
    if !pairs.is_empty() {
        volatile::run(
            "INSERT INTO metrics.github_environments (repository, environment)
             SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]))
             ON CONFLICT DO NOTHING",
            &[
                DatumWithOid::from(pairs.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>()),
                DatumWithOid::from(pairs.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>()),
            ],
        );
    }
}

/// What the new facts can change: a deployment or status its environment from the
/// deployment's creation; a push or a merge every environment of the repository from its time.
fn dirty(facts: &[&Fact]) -> Vec<Dirty> {
    let mut since: BTreeMap<(String, Option<String>), Time> = BTreeMap::new();
    let mut mark = |repository: &str, environment: Option<&str>, at: Time| {
        let key = (repository.to_string(), environment.map(str::to_string));
        let entry = since.entry(key).or_insert(at);
        *entry = (*entry).min(at);
    };
    for f in facts {
        match f {
            Fact::Deployment(d) | Fact::DeploymentStatus(d, _) => {
                mark(&d.repository, Some(&d.environment), d.created_at)
            }
            Fact::Push(p) => mark(&p.repository, None, p.pushed_at),
            Fact::PullRequest(p) => {
                if let Some(at) = p.merged_at {
                    mark(&p.repository, None, at)
                }
            }
            Fact::WorkflowRun(_) | Fact::Issue(_) => {}
        }
    }
    since
        .into_iter()
        .map(|((repository, environment), since)| Dirty {
            repository,
            environment,
            since,
        })
        .collect()
}
