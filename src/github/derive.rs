//! Recomputing the derived tables (`dora_deployments`, `dora_deployed_shas`, `dora_changes`)
//! for what new facts can change: per repository and environment, every deployment created
//! at or after the earliest time a new fact touches, in order, with the baseline and the
//! commits shipped before that taken from the derived tables. The walk itself is pure
//! (`metrics_core::github::chain`); here it reads the push chain through `SpiHistory`, which
//! loads the window's pushes, merges and shipped commits in three statements and looks up
//! only what lies outside it, so the result is the same as recomputing everything.

use std::collections::{BTreeMap, HashMap, HashSet};

use pgrx::datum::DatumWithOid;
use pgrx::spi::SpiHeapTupleData;
use serde_json::{json, Value};

use crate::github::chain::{
    self, Baseline, DeploymentIn, EnvWindow, History, MergedPr, PushIn, StatusObs,
};
use crate::github::ingest::time_text;
use crate::pg::datum::unix_micros;
use crate::pg::spi::{not_null, volatile};
use metrics_core::github::{Commit, Time};
use pgrx::datum::TimestampWithTimeZone;

/// A repository (and one environment, or all of them) whose deployments created at or after
/// `since` may have changed.
pub struct Dirty {
    pub repository: String,
    pub environment: Option<String>,
    pub since: Time,
}

/// How far before a window's earliest time its pushes are loaded at once (a deployment's
/// sha was pushed before the deployment was created); older pushes are looked up one by one.
const PUSH_MARGIN_MICROS: i64 = 3_600_000_000;

fn time_of(at: TimestampWithTimeZone) -> Time {
    chrono::DateTime::from_timestamp_micros(unix_micros(at)).expect("a timestamp PostgreSQL stored")
}

fn time(micros: i64) -> Time {
    chrono::DateTime::from_timestamp_micros(micros).expect("a timestamp PostgreSQL stored")
}

/// A timestamptz column of a row (never NULL there).
fn at(row: &SpiHeapTupleData, i: usize) -> pgrx::spi::SpiResult<Time> {
    Ok(time_of(not_null::<TimestampWithTimeZone>(row, i)?))
}

/// A timestamptz[] column of a row.
fn ats(row: &SpiHeapTupleData, i: usize) -> pgrx::spi::SpiResult<Vec<Option<Time>>> {
    Ok(not_null::<Vec<Option<TimestampWithTimeZone>>>(row, i)?
        .into_iter()
        .map(|t| t.map(time_of))
        .collect())
}

/// Recomputes what `dirty` says may have changed.
pub fn derive(dirty: &[Dirty]) {
    let mut by_repository: BTreeMap<&str, (Option<Time>, BTreeMap<String, Time>)> = BTreeMap::new();
    for d in dirty {
        let entry = by_repository.entry(&d.repository).or_default();
        match &d.environment {
            None => entry.0 = Some(entry.0.map_or(d.since, |t| t.min(d.since))),
            Some(env) => {
                let t = entry.1.entry(env.clone()).or_insert(d.since);
                *t = (*t).min(d.since);
            }
        }
    }
    for (repository, (all, envs)) in by_repository {
        derive_repository(repository, all, envs);
    }
}

fn derive_repository(repository: &str, all: Option<Time>, mut envs: BTreeMap<String, Time>) {
    if let Some(all) = all {
        for env in environments_of(repository) {
            let t = envs.entry(env).or_insert(all);
            *t = (*t).min(all);
        }
    }
    let mut windows = Vec::with_capacity(envs.len());
    let mut earliest: Option<Time> = None;
    for (env, since) in &envs {
        let (baseline, baseline_at) = baseline(repository, env, *since);
        let from = baseline_at.map_or(*since, |b| b.min(*since));
        earliest = Some(earliest.map_or(from, |e| e.min(from)));
        clear_window(repository, env, *since);
        windows.push(EnvWindow {
            environment: env.clone(),
            baseline,
            deployments: deployments(repository, env, *since),
        });
    }
    let Some(earliest) = earliest else { return };
    let mut history = SpiHistory::load(repository, envs.keys().cloned().collect(), earliest);
    let derived = chain::derive(&windows, &mut history);
    write(repository, &windows, &derived);
}

fn environments_of(repository: &str) -> Vec<String> {
    volatile::rows(
        "SELECT environment FROM metrics.github_environments WHERE repository = $1 ORDER BY 1",
        &[DatumWithOid::from(repository)],
        |row| not_null::<String>(row, 1),
    )
}

/// The last successful deployment created before `since`, and its creation time.
fn baseline(repository: &str, env: &str, since: Time) -> (Option<Baseline>, Option<Time>) {
    let sql = "SELECT deployment_id, sha, created_at FROM metrics.dora_deployments
         WHERE repository = $1 AND environment = $2 AND created_at < $3::timestamptz AND outcome = 'success'
         ORDER BY created_at DESC, deployment_id DESC LIMIT 1";
    let found = volatile::rows(sql, &window_args(repository, env, since), |row| {
        Ok((
            Baseline {
                id: not_null::<i64>(row, 1)?,
                sha: not_null::<String>(row, 2)?,
            },
            at(row, 3)?,
        ))
    });
    match found.into_iter().next() {
        Some((b, at)) => (Some(b), Some(at)),
        None => (None, None),
    }
}

fn window_args<'a>(repository: &'a str, env: &'a str, since: Time) -> [DatumWithOid<'a>; 3] {
    [
        DatumWithOid::from(repository),
        DatumWithOid::from(env),
        DatumWithOid::from(time_text(&since)),
    ]
}

/// Deletes what the window's deployments derived (their rows, the commits and changes they
/// shipped, found by deployment through the (repository, deployment_id) indexes); it is
/// derived again.
fn clear_window(repository: &str, env: &str, since: Time) {
    let ids: Vec<i64> = volatile::rows(
        "DELETE FROM metrics.dora_deployments
         WHERE repository = $1 AND environment = $2 AND created_at >= $3::timestamptz
         RETURNING deployment_id",
        &window_args(repository, env, since),
        |row| not_null::<i64>(row, 1),
    );
    if ids.is_empty() {
        return;
    }
    for table in ["dora_changes", "dora_deployed_shas"] {
        volatile::run(
            &format!(
                "DELETE FROM metrics.{table}
                 WHERE repository = $1 AND deployment_id = ANY ($2::bigint[])"
            ),
            &[
                DatumWithOid::from(repository),
                DatumWithOid::from(ids.clone()),
            ],
        );
    }
}

/// The window's deployments with every status they went through.
fn deployments(repository: &str, env: &str, since: Time) -> Vec<DeploymentIn> {
    let sql = "SELECT d.deployment_id, d.sha, d.ref, d.created_at,
                coalesce(pg_catalog.array_agg(s.status_id ORDER BY s.status_id) FILTER (WHERE s.status_id IS NOT NULL), '{}'),
                coalesce(pg_catalog.array_agg(s.state ORDER BY s.status_id) FILTER (WHERE s.status_id IS NOT NULL), '{}'),
                coalesce(pg_catalog.array_agg(s.created_at ORDER BY s.status_id) FILTER (WHERE s.status_id IS NOT NULL), '{}')
         FROM metrics.github_deployments AS d
         LEFT JOIN metrics.github_deployment_statuses AS s
                ON s.repository = d.repository AND s.deployment_id = d.deployment_id
         WHERE d.repository = $1 AND d.environment = $2 AND d.created_at >= $3::timestamptz
         GROUP BY d.deployment_id, d.sha, d.ref, d.created_at";
    volatile::rows(sql, &window_args(repository, env, since), deployment_in)
}

fn deployment_in(row: &SpiHeapTupleData) -> pgrx::spi::SpiResult<DeploymentIn> {
    let ids = not_null::<Vec<Option<i64>>>(row, 5)?;
    let states = not_null::<Vec<Option<String>>>(row, 6)?;
    let times = ats(row, 7)?;
    let statuses = ids
        .into_iter()
        .zip(states)
        .zip(times)
        .filter_map(|((id, state), at)| {
            Some(StatusObs {
                id: id?,
                state: state?,
                at: at?,
            })
        })
        .collect();
    Ok(DeploymentIn {
        id: not_null::<i64>(row, 1)?,
        sha: not_null::<String>(row, 2)?,
        git_ref: row.get::<String>(3)?,
        created_at: at(row, 4)?,
        statuses,
    })
}

/// The push chain, merges and shipped commits, read from the facts and the derived tables:
/// everything from `earliest` on at once, older pushes one by one.
struct SpiHistory {
    repository: String,
    /// The environments being derived (the primary key of the shipped shas starts so).
    environments: Vec<String>,
    pushes: HashMap<String, PushIn>,
    /// Shas whose merged PR (or its absence) is known.
    merges: HashMap<String, Option<MergedPr>>,
    /// Shas whose shipped environments are known, and the (environment, sha) shipped.
    shipped_known: HashSet<String>,
    shipped: HashSet<(String, String)>,
}

impl SpiHistory {
    fn load(repository: &str, environments: Vec<String>, earliest: Time) -> SpiHistory {
        let from = time(earliest.timestamp_micros() - PUSH_MARGIN_MICROS);
        let mut h = SpiHistory {
            repository: repository.to_string(),
            environments,
            pushes: HashMap::new(),
            merges: HashMap::new(),
            shipped_known: HashSet::new(),
            shipped: HashSet::new(),
        };
        for p in h.query_pushes("pushed_at >= $2::timestamptz", &time_text(&from)) {
            // Several pushes of one sha (a branch, then main fast-forwarded): the latest,
            // which is always inside a window that holds any of them.
            match h.pushes.get(&p.after) {
                Some(q) if (q.pushed_at, &q.git_ref) >= (p.pushed_at, &p.git_ref) => {}
                _ => {
                    h.pushes.insert(p.after.clone(), p);
                }
            }
        }
        let shas: Vec<String> = h
            .pushes
            .values()
            .flat_map(|p| {
                std::iter::once(p.after.clone()).chain(p.commits.iter().map(|c| c.sha.clone()))
            })
            .collect();
        h.learn(&shas);
        h
    }

    fn query_pushes(&self, condition: &str, value: &str) -> Vec<PushIn> {
        let sql = format!(
            "SELECT ref, before_sha, after_sha, pushed_at, commit_shas, commit_times
             FROM metrics.github_pushes
             WHERE repository = $1 AND NOT deleted AND {condition}
             ORDER BY pushed_at DESC, ref DESC"
        );
        volatile::rows(
            &sql,
            &[
                DatumWithOid::from(self.repository.as_str()),
                DatumWithOid::from(value),
            ],
            |row| {
                let shas = not_null::<Vec<Option<String>>>(row, 5)?;
                let times = ats(row, 6)?;
                Ok(PushIn {
                    git_ref: not_null::<String>(row, 1)?,
                    before: not_null::<String>(row, 2)?,
                    after: not_null::<String>(row, 3)?,
                    pushed_at: at(row, 4)?,
                    commits: shas
                        .into_iter()
                        .zip(times)
                        .filter_map(|(sha, at)| Some(Commit { sha: sha?, at: at? }))
                        .collect(),
                })
            },
        )
    }

    /// Learns, for `shas`, their merged PRs and where they were shipped (two statements).
    fn learn(&mut self, shas: &[String]) {
        self.learn_merges(shas);
        self.learn_shipped(shas);
    }

    fn learn_merges(&mut self, shas: &[String]) {
        let sql =
            "SELECT DISTINCT ON (merge_commit_sha) merge_commit_sha, number, merged_at, base_ref
             FROM metrics.github_pull_requests
             WHERE repository = $1 AND merge_commit_sha = ANY ($2::text[])
             ORDER BY merge_commit_sha, merged_at, number";
        let args = [
            DatumWithOid::from(self.repository.as_str()),
            DatumWithOid::from(shas.to_vec()),
        ];
        let found = volatile::rows(sql, &args, |row| {
            Ok((
                not_null::<String>(row, 1)?,
                MergedPr {
                    number: not_null::<i64>(row, 2)?,
                    merged_at: at(row, 3)?,
                    base_ref: not_null::<String>(row, 4)?,
                },
            ))
        });
        for sha in shas {
            self.merges.entry(sha.clone()).or_insert(None);
        }
        for (sha, pr) in found {
            self.merges.insert(sha, Some(pr));
        }
    }

    /// Where `shas` were shipped before the window (the window's own rows are cleared).
    fn learn_shipped(&mut self, shas: &[String]) {
        let shipped = volatile::rows(
            "SELECT environment, sha FROM metrics.dora_deployed_shas
             WHERE repository = $1 AND environment = ANY ($3::text[]) AND sha = ANY ($2::text[])",
            &[
                DatumWithOid::from(self.repository.as_str()),
                DatumWithOid::from(shas.to_vec()),
                DatumWithOid::from(self.environments.clone()),
            ],
            |row| Ok((not_null::<String>(row, 1)?, not_null::<String>(row, 2)?)),
        );
        self.shipped_known.extend(shas.iter().cloned());
        self.shipped.extend(shipped);
    }
}

impl History for SpiHistory {
    fn push_to(&mut self, sha: &str) -> Option<PushIn> {
        if let Some(p) = self.pushes.get(sha) {
            return Some(p.clone());
        }
        let p = self
            .query_pushes("after_sha = $2", sha)
            .into_iter()
            .next()?;
        self.pushes.insert(sha.to_string(), p.clone());
        Some(p)
    }

    fn shipped_before(&mut self, environment: &str, sha: &str) -> bool {
        if !self.shipped_known.contains(sha) {
            self.learn_shipped(&[sha.to_string()]);
        }
        self.shipped
            .contains(&(environment.to_string(), sha.to_string()))
    }

    fn merged_pr(&mut self, sha: &str) -> Option<MergedPr> {
        if !self.merges.contains_key(sha) {
            self.learn_merges(&[sha.to_string()]);
        }
        self.merges.get(sha).cloned().flatten()
    }
}

/// Writes what the windows derived.
fn write(repository: &str, windows: &[EnvWindow], derived: &chain::Derived) {
    let inputs: HashMap<i64, &DeploymentIn> = windows
        .iter()
        .flat_map(|w| w.deployments.iter().map(|d| (d.id, d)))
        .collect();
    let deployments: Vec<Value> = derived
        .deployments
        .iter()
        .map(|d| {
            let input = inputs[&d.id];
            json!({"repository": repository, "deployment_id": d.id, "environment": d.environment,
                   "sha": input.sha, "ref": input.git_ref, "created_at": time_text(&input.created_at),
                   "outcome": d.outcome, "finished_at": d.finished_at.as_ref().map(time_text),
                   "baseline_id": d.baseline_id, "coverage": d.coverage.map(|c| c.as_str()),
                   "changes": d.changes})
        })
        .collect();
    let shipped: Vec<Value> = derived
        .shipped
        .iter()
        .map(|s| {
            json!({"repository": repository, "environment": s.environment, "sha": s.sha,
                        "deployment_id": s.deployment_id})
        })
        .collect();
    let changes: Vec<Value> = derived
        .changes
        .iter()
        .map(|c| change_row(repository, c))
        .collect();
    for (table, rows) in [
        ("dora_deployments", deployments),
        ("dora_deployed_shas", shipped),
        ("dora_changes", changes),
    ] {
        if !rows.is_empty() {
            volatile::run(
                &format!(
                    "INSERT INTO metrics.{table}
                     SELECT r.* FROM pg_catalog.jsonb_populate_recordset(NULL::metrics.{table}, $1) AS r"
                ),
                &[DatumWithOid::from(pgrx::JsonB(Value::Array(rows)))],
            );
        }
    }
}

fn change_row(repository: &str, c: &chain::Change) -> Value {
    json!({"repository": repository, "environment": c.environment, "change_key": c.key,
           "kind": c.kind.as_str(), "pr_number": c.pr_number, "sha": c.sha, "base_ref": c.base_ref,
           "merged_at": time_text(&c.merged_at),
           "first_commit_at": c.first_commit_at.as_ref().map(time_text),
           "deployment_id": c.deployment_id, "deployed_at": time_text(&c.deployed_at)})
}
