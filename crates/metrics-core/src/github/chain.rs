//! The deployment chain: which successful deployment first shipped which change, per
//! environment. The extension runs `derive` at the end of each recording call over the
//! deployments it has to recompute (`EnvWindow`), looking pushes, pull requests and what was
//! shipped before up through `History` (SPI lookups there, hash maps in the tests), and
//! replaces the rows of `metrics.dora_deployments`, `dora_deployed_shas` and `dora_changes`
//! of those deployments with what it returns.
//!
//! Rules (`docs/development-metrics.md`, "Derived tables", "The walk"), and the details the
//! contract leaves open:
//! - A deployment's `outcome` is its latest terminal status (`outcome`); only successful
//!   deployments ship anything and become the next baseline. Deployments of an environment
//!   are taken in (`created_at`, id) order, whatever order they and their statuses came in.
//! - The first successful deployment of an environment (no baseline) has coverage `none`: it
//!   ships no change (what it brought is unknown), but its own sha is recorded as shipped by
//!   it (a `ShippedSha`, no `Change`). That sha is known to be deployed, so a later rollback to
//!   it ships nothing instead of walking the whole history behind it. The same holds for any
//!   successful deployment whose own sha nothing shipped (its push is unknown: partial).
//! - A successful deployment with a baseline walks back from its sha (`walk`), and ships every
//!   sha the walk takes that is not the baseline's sha and not already shipped to the
//!   environment (before the window, `History::shipped_before`, or earlier in this run). The
//!   walk stops, `complete`, at the baseline's sha or a sha an earlier deployment shipped, and
//!   `partial` at a missing push, a new branch (`before` all zeros, after taking that push), a
//!   push already taken in this walk (a cycle), or after `MAX_STEPS` pushes. A sha this walk
//!   already took as a commit of a newer push does not stop it (its own push may hold more).
//! - Rollbacks: deploying a sha that was already shipped stops the walk at once, complete
//!   with no change; the rollback becomes the baseline, and a later forward deployment walks
//!   back until it meets shas shipped before the rollback, so it ships only what is new.
//!   Deploying an older sha that was never shipped to the environment (older than its first
//!   deployment) cannot be told from new work without the commit graph: it walks to the end
//!   of the known history and ships it (partial).
//! - Changes (`take`): a taken sha that is a merged PR's merge sha ships the PR; the other
//!   shas of a push whose `after` is a PR's merge sha belong to that PR (shipped, no change of
//!   their own); every other sha is a `commit` change. Each PR and each sha is shipped at most
//!   once per environment.
//! - Output order: environments by name, deployments in (`created_at`, id) order, and within
//!   a deployment the shas and changes newest first (a push's `after`, then its other commits
//!   from last to first, then the push before it).

use std::collections::HashSet;

use super::{Commit, Time};

/// The most pushes one walk takes before it gives up (partial).
pub const MAX_STEPS: usize = 10_000;

/// One status of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusObs {
    pub id: i64,
    pub state: String,
    pub at: Time,
}

/// A deployment to recompute, with all its statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentIn {
    pub id: i64,
    pub sha: String,
    pub git_ref: Option<String>,
    pub created_at: Time,
    pub statuses: Vec<StatusObs>,
}

/// A successful deployment: the one the next walk stops at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    pub id: i64,
    pub sha: String,
}

/// One environment's recompute window: `baseline` is the last successful deployment created
/// before the window (None: no earlier success, so the window's first success has coverage
/// `none`); `deployments` are every deployment created at or after `since`, any order (they
/// are sorted by (`created_at`, id) here). One window per environment: windows are processed
/// each on its own, in the order of their environment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvWindow {
    pub environment: String,
    pub baseline: Option<Baseline>,
    pub deployments: Vec<DeploymentIn>,
}

/// A push, as the walk reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushIn {
    /// As GitHub gives it: `refs/heads/main`.
    pub git_ref: String,
    pub before: String,
    pub after: String,
    pub pushed_at: Time,
    /// In the push's order (GitHub's: oldest first).
    pub commits: Vec<Commit>,
}

/// A merged pull request, found by its merge commit sha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPr {
    pub number: i64,
    pub merged_at: Time,
    pub base_ref: String,
}

/// What the walk looks up. Lookups are made as the walk needs them (the glue caches them);
/// they must answer from the facts as they are now, whatever window is being derived.
pub trait History {
    /// The push whose `after` is `sha` (the glue picks the earliest pushed_at, then ref, when several).
    fn push_to(&mut self, sha: &str) -> Option<PushIn>;
    /// Whether `sha` was shipped to `environment` by a deployment created before the window.
    fn shipped_before(&mut self, environment: &str, sha: &str) -> bool;
    /// The merged pull request whose merge_commit_sha is `sha`.
    fn merged_pr(&mut self, sha: &str) -> Option<MergedPr>;
}

/// How much of what a successful deployment brought is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The first successful deployment of the environment: nothing to compare with.
    None,
    /// The walk reached the baseline or shas already shipped.
    Complete,
    /// The push chain was broken: what was walked is shipped, older changes may be missing.
    Partial,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::None => "none",
            Coverage::Complete => "complete",
            Coverage::Partial => "partial",
        }
    }
}

/// A row of `metrics.dora_deployments` (the repository, sha, ref and created_at are the glue's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedDeployment {
    pub id: i64,
    pub environment: String,
    /// success, failure or error; None while there is no terminal status.
    pub outcome: Option<&'static str>,
    /// The time of the status that gave the outcome.
    pub finished_at: Option<Time>,
    /// The successful deployment before this one in the environment, whatever this one's outcome.
    pub baseline_id: Option<i64>,
    /// Only for successful deployments.
    pub coverage: Option<Coverage>,
    /// The changes this deployment shipped (0 unless successful).
    pub changes: i32,
}

/// A row of `metrics.dora_deployed_shas`: the first successful deployment of the environment
/// that contains the sha.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedSha {
    pub environment: String,
    pub sha: String,
    pub deployment_id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    PullRequest,
    Commit,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::PullRequest => "pull_request",
            ChangeKind::Commit => "commit",
        }
    }
}

/// A row of `metrics.dora_changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub environment: String,
    /// `pr:<number>` or the commit's sha.
    pub key: String,
    pub kind: ChangeKind,
    pub pr_number: Option<i64>,
    /// The merge sha of a PR, the commit's sha.
    pub sha: String,
    /// The PR's base branch; the push's branch (its ref without `refs/heads/`) for a commit.
    pub base_ref: Option<String>,
    /// The PR's `merged_at`; the push's time for a commit. Not adjusted: a deployment of a
    /// sha before its PR was merged (a preview of a head that became the merge sha) gives a
    /// `deployed_at` before `merged_at`.
    pub merged_at: Time,
    /// A PR: the earliest commit time of the push whose `after` is its merge sha, when the
    /// deployment's walk took that push (None when the merge sha was only met inside another
    /// push, or that push lists no commits). A commit: its own time in the push (None when the push does not
    /// list it, as for a push without commits).
    pub first_commit_at: Option<Time>,
    pub deployment_id: i64,
    /// The shipping deployment's `finished_at`.
    pub deployed_at: Time,
}

/// Everything derived for the windows given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derived {
    pub deployments: Vec<DerivedDeployment>,
    pub shipped: Vec<ShippedSha>,
    pub changes: Vec<Change>,
}

/// A deployment's outcome and when it finished: its latest status among success, failure and
/// error by (`at`, id), states compared trimmed and lower-cased. `inactive` (GitHub marks a
/// deployment so when a newer one replaces it), `queued`, `pending`, `in_progress`, `waiting`
/// and states this version does not know are ignored, so `inactive` after `success` keeps
/// the success. None without a terminal status. Two statuses with the same (`at`, id) (a
/// duplicated id) are ordered by state name, so the result never depends on input order.
pub fn outcome(statuses: &[StatusObs]) -> Option<(&'static str, Time)> {
    statuses
        .iter()
        .filter_map(|s| terminal(&s.state).map(|state| (s.at, s.id, state)))
        .max()
        .map(|(at, _, state)| (state, at))
}

fn terminal(state: &str) -> Option<&'static str> {
    match state.trim().to_ascii_lowercase().as_str() {
        "success" => Some("success"),
        "failure" => Some("failure"),
        "error" => Some("error"),
        _ => None,
    }
}

/// The sha GitHub gives as `before` of a push that created its branch.
fn is_zero_sha(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Derives the windows (module documentation: the rules). Deterministic: the same windows
/// in any order of deployments, statuses or windows, with the same history, give the same
/// result; and deriving a window with the baseline and shipped shas of the deployments
/// before it gives the rows a derivation of everything would give for it.
pub fn derive(windows: &[EnvWindow], history: &mut impl History) -> Derived {
    let mut order: Vec<&EnvWindow> = windows.iter().collect();
    order.sort_by(|a, b| a.environment.cmp(&b.environment));
    let mut out = Derived::default();
    for window in order {
        let mut deployments: Vec<&DeploymentIn> = window.deployments.iter().collect();
        deployments.sort_by_key(|d| (d.created_at, d.id));
        let mut run = EnvRun {
            environment: &window.environment,
            history: &mut *history,
            baseline: window.baseline.clone(),
            shipped: HashSet::new(),
            mine: HashSet::new(),
            prs: HashSet::new(),
            out: &mut out,
        };
        for deployment in deployments {
            run.deployment(deployment);
        }
    }
    out
}

/// The deployment being shipped: its id and `finished_at`.
#[derive(Clone, Copy)]
struct Shipper {
    id: i64,
    at: Time,
}

/// One environment's derivation in progress.
struct EnvRun<'a, H> {
    environment: &'a str,
    history: &'a mut H,
    /// The last successful deployment so far.
    baseline: Option<Baseline>,
    /// Shas shipped by earlier deployments of this run.
    shipped: HashSet<String>,
    /// Shas shipped by the deployment being shipped.
    mine: HashSet<String>,
    /// PRs shipped earlier in this run.
    prs: HashSet<i64>,
    out: &'a mut Derived,
}

impl<H: History> EnvRun<'_, H> {
    fn deployment(&mut self, d: &DeploymentIn) {
        let result = outcome(&d.statuses);
        let baseline_id = self.baseline.as_ref().map(|b| b.id);
        let before = self.out.changes.len();
        let coverage = match result {
            Some(("success", at)) => {
                let coverage = self.ship(&d.sha, Shipper { id: d.id, at });
                self.baseline = Some(Baseline {
                    id: d.id,
                    sha: d.sha.clone(),
                });
                Some(coverage)
            }
            _ => None,
        };
        let changes = self.out.changes.len() - before;
        self.out.deployments.push(DerivedDeployment {
            id: d.id,
            environment: self.environment.to_string(),
            outcome: result.map(|(state, _)| state),
            finished_at: result.map(|(_, at)| at),
            baseline_id,
            coverage,
            changes: i32::try_from(changes).unwrap_or(i32::MAX),
        });
    }

    /// Ships what a successful deployment of `sha` brought since the baseline, and records
    /// `sha` itself as shipped by it when nothing did before (the first deployment, a sha
    /// whose push is unknown): it is known to be deployed, so a later walk stops there.
    fn ship(&mut self, sha: &str, by: Shipper) -> Coverage {
        let coverage = match self.baseline {
            None => Coverage::None,
            Some(_) => self.walk(sha, by),
        };
        if !self.mine.contains(sha) && !self.is_shipped(sha) {
            self.mark_mine(sha, by);
        }
        self.shipped.extend(self.mine.drain());
        coverage
    }

    /// The walk back from `sha` to the baseline (module documentation).
    fn walk(&mut self, sha: &str, by: Shipper) -> Coverage {
        let mut cur = sha.to_string();
        let mut seen = HashSet::new();
        let mut steps = 0;
        loop {
            if self.is_shipped(&cur) {
                return Coverage::Complete;
            }
            if steps == MAX_STEPS || !seen.insert(cur.clone()) {
                return Coverage::Partial;
            }
            steps += 1;
            let Some(push) = self.history.push_to(&cur) else {
                return Coverage::Partial;
            };
            self.take(&push, by);
            if is_zero_sha(&push.before) {
                return Coverage::Partial;
            }
            cur = push.before;
        }
    }

    /// Ships the shas of a push the walk took, and the changes they are.
    fn take(&mut self, push: &PushIn, by: Shipper) {
        let owner = self.history.merged_pr(&push.after);
        if let (Some(pr), true) = (&owner, self.mine.contains(&push.after)) {
            // The PR's merge sha was met inside a newer push of this walk: now its own push is
            // known, and with it the PR's first commit.
            self.late_first_commit(pr.number, earliest(push), by);
        }
        for sha in taken_shas(push) {
            if self.mine.contains(sha) || self.is_shipped(sha) {
                continue;
            }
            self.mark_mine(sha, by);
            let is_after = sha == push.after;
            let pr = if is_after {
                owner.clone()
            } else {
                self.history.merged_pr(sha)
            };
            match (pr, &owner) {
                (Some(pr), _) => {
                    let first = if is_after { earliest(push) } else { None };
                    self.ship_pr(pr, sha, first, by);
                }
                // A commit of the PR the push merged.
                (None, Some(_)) => {}
                (None, None) => self.ship_commit(push, sha, by),
            }
        }
    }

    /// Fills in the first commit of a PR this deployment already shipped, from its own push.
    fn late_first_commit(&mut self, number: i64, first: Option<Time>, by: Shipper) {
        let mut mine = (self.out.changes.iter_mut().rev()).take_while(|c| c.deployment_id == by.id);
        if let Some(change) = mine.find(|c| c.pr_number == Some(number)) {
            change.first_commit_at = change.first_commit_at.or(first);
        }
    }

    fn ship_pr(&mut self, pr: MergedPr, sha: &str, first_commit_at: Option<Time>, by: Shipper) {
        if !self.prs.insert(pr.number) {
            return;
        }
        self.out.changes.push(Change {
            environment: self.environment.to_string(),
            key: format!("pr:{}", pr.number),
            kind: ChangeKind::PullRequest,
            pr_number: Some(pr.number),
            sha: sha.to_string(),
            base_ref: Some(pr.base_ref),
            merged_at: pr.merged_at,
            first_commit_at,
            deployment_id: by.id,
            deployed_at: by.at,
        });
    }

    fn ship_commit(&mut self, push: &PushIn, sha: &str, by: Shipper) {
        let branch = push
            .git_ref
            .strip_prefix("refs/heads/")
            .unwrap_or(&push.git_ref);
        self.out.changes.push(Change {
            environment: self.environment.to_string(),
            key: sha.to_string(),
            kind: ChangeKind::Commit,
            pr_number: None,
            sha: sha.to_string(),
            base_ref: Some(branch.to_string()),
            merged_at: push.pushed_at,
            first_commit_at: push.commits.iter().find(|c| c.sha == sha).map(|c| c.at),
            deployment_id: by.id,
            deployed_at: by.at,
        });
    }

    /// The baseline's sha, a sha shipped by an earlier deployment of this run, or one shipped
    /// before the window. (Not the shas the current deployment took: meeting one of those
    /// again is a cycle, or the same PR reached twice, not the end of the walk.)
    fn is_shipped(&mut self, sha: &str) -> bool {
        self.baseline.as_ref().is_some_and(|b| b.sha == sha)
            || self.shipped.contains(sha)
            || self.history.shipped_before(self.environment, sha)
    }

    /// Ships `sha` by the deployment being shipped.
    fn mark_mine(&mut self, sha: &str, by: Shipper) {
        self.mine.insert(sha.to_string());
        self.out.shipped.push(ShippedSha {
            environment: self.environment.to_string(),
            sha: sha.to_string(),
            deployment_id: by.id,
        });
    }
}

/// The shas a taken push ships, newest first: its `after`, then its commits from last to
/// first, each once.
fn taken_shas(push: &PushIn) -> Vec<&str> {
    let mut seen = HashSet::new();
    std::iter::once(push.after.as_str())
        .chain(push.commits.iter().rev().map(|c| c.sha.as_str()))
        .filter(|sha| seen.insert(*sha))
        .collect()
}

/// The earliest commit time of a push.
fn earliest(push: &PushIn) -> Option<Time> {
    push.commits.iter().map(|c| c.at).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const ZERO: &str = "0000000000000000000000000000000000000000";

    /// Minutes after 2025-01-01 00:00 UTC.
    fn t(minutes: i64) -> Time {
        chrono::DateTime::from_timestamp(1_735_689_600 + minutes * 60, 0).unwrap()
    }

    /// An in-memory history: pushes by `after`, merged PRs by merge sha, and what the glue
    /// would say was shipped before the window.
    #[derive(Default, Clone)]
    struct Repo {
        pushes: HashMap<String, Vec<PushIn>>,
        prs: HashMap<String, MergedPr>,
        before: HashSet<(String, String)>,
    }

    impl Repo {
        fn push(
            &mut self,
            git_ref: &str,
            before: &str,
            after: &str,
            at: i64,
            commits: &[(&str, i64)],
        ) {
            let git_ref = match git_ref.starts_with("refs/") {
                true => git_ref.to_string(),
                false => format!("refs/heads/{git_ref}"),
            };
            let commits = commits.iter().map(|(sha, at)| Commit {
                sha: sha.to_string(),
                at: t(*at),
            });
            let push = PushIn {
                git_ref,
                before: before.into(),
                after: after.into(),
                pushed_at: t(at),
                commits: commits.collect(),
            };
            self.pushes.entry(after.into()).or_default().push(push);
        }

        fn pr(&mut self, number: i64, merge_sha: &str, merged: i64, base: &str) {
            let pr = MergedPr {
                number,
                merged_at: t(merged),
                base_ref: base.into(),
            };
            self.prs.insert(merge_sha.into(), pr);
        }

        fn shipped_before(&mut self, environment: &str, shas: &[&str]) {
            for sha in shas {
                self.before.insert((environment.into(), sha.to_string()));
            }
        }
    }

    impl History for Repo {
        fn push_to(&mut self, sha: &str) -> Option<PushIn> {
            let pushes = self.pushes.get(sha)?;
            pushes
                .iter()
                .min_by_key(|p| (p.pushed_at, p.git_ref.clone()))
                .cloned()
        }

        fn shipped_before(&mut self, environment: &str, sha: &str) -> bool {
            self.before
                .contains(&(environment.to_string(), sha.to_string()))
        }

        fn merged_pr(&mut self, sha: &str) -> Option<MergedPr> {
            self.prs.get(sha).cloned()
        }
    }

    /// main, oldest first: a new branch `c0`; PR 1 merged with a merge commit (`f1`, `f2`,
    /// `m1`); a direct push `d1`; PR 2 squashed (`s2`); PR 3 rebased (`r3a`..`r3c`, the merge
    /// sha is the last); a push without commits (`e1`).
    fn main_repo() -> Repo {
        let mut repo = Repo::default();
        repo.push("main", ZERO, "c0", 0, &[("c0", 0)]);
        repo.push(
            "main",
            "c0",
            "m1",
            30,
            &[("f1", 10), ("f2", 20), ("m1", 30)],
        );
        repo.pr(1, "m1", 30, "main");
        repo.push("main", "m1", "d1", 41, &[("d1", 40)]);
        repo.push("main", "d1", "s2", 50, &[("s2", 50)]);
        repo.pr(2, "s2", 50, "main");
        repo.push(
            "main",
            "s2",
            "r3c",
            63,
            &[("r3a", 60), ("r3b", 61), ("r3c", 62)],
        );
        repo.pr(3, "r3c", 63, "main");
        repo.push("main", "r3c", "e1", 70, &[]);
        repo
    }

    fn dep(id: i64, sha: &str, created: i64, statuses: &[(i64, &str, i64)]) -> DeploymentIn {
        let statuses = statuses.iter().map(|(id, state, at)| StatusObs {
            id: *id,
            state: state.to_string(),
            at: t(*at),
        });
        DeploymentIn {
            id,
            sha: sha.into(),
            git_ref: Some("main".into()),
            created_at: t(created),
            statuses: statuses.collect(),
        }
    }

    /// Succeeds two minutes after it was created.
    fn ok(id: i64, sha: &str, created: i64) -> DeploymentIn {
        dep(
            id,
            sha,
            created,
            &[
                (id * 10, "in_progress", created + 1),
                (id * 10 + 1, "success", created + 2),
            ],
        )
    }

    fn failed(id: i64, sha: &str, created: i64) -> DeploymentIn {
        dep(
            id,
            sha,
            created,
            &[
                (id * 10, "in_progress", created + 1),
                (id * 10 + 1, "failure", created + 2),
            ],
        )
    }

    fn window(environment: &str, deployments: Vec<DeploymentIn>) -> EnvWindow {
        EnvWindow {
            environment: environment.into(),
            baseline: None,
            deployments,
        }
    }

    fn run(repo: &Repo, deployments: Vec<DeploymentIn>) -> Derived {
        derive(&[window("production", deployments)], &mut repo.clone())
    }

    fn row(d: &Derived, id: i64) -> &DerivedDeployment {
        d.deployments.iter().find(|r| r.id == id).unwrap()
    }

    fn coverage(d: &Derived, id: i64) -> Option<&'static str> {
        row(d, id).coverage.map(Coverage::as_str)
    }

    fn keys(d: &Derived, id: i64) -> Vec<&str> {
        d.changes
            .iter()
            .filter(|c| c.deployment_id == id)
            .map(|c| c.key.as_str())
            .collect()
    }

    fn shas(d: &Derived, id: i64) -> Vec<&str> {
        d.shipped
            .iter()
            .filter(|s| s.deployment_id == id)
            .map(|s| s.sha.as_str())
            .collect()
    }

    fn change<'a>(d: &'a Derived, key: &str) -> &'a Change {
        let mut found = d.changes.iter().filter(|c| c.key == key);
        let first = found.next().unwrap_or_else(|| panic!("no change {key}"));
        assert!(found.next().is_none(), "{key} twice");
        first
    }

    #[test]
    fn a_linear_history_ships_each_pr_and_each_direct_commit() {
        let d = run(&main_repo(), vec![ok(2, "e1", 80), ok(1, "c0", 1)]);
        assert_eq!(
            d.deployments.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(coverage(&d, 1), Some("none"));
        assert_eq!((row(&d, 1).changes, row(&d, 1).baseline_id), (0, None));
        assert_eq!(shas(&d, 1), ["c0"]);
        assert_eq!(
            row(&d, 2),
            &DerivedDeployment {
                id: 2,
                environment: "production".into(),
                outcome: Some("success"),
                finished_at: Some(t(82)),
                baseline_id: Some(1),
                coverage: Some(Coverage::Complete),
                changes: 5,
            }
        );
        assert_eq!(
            shas(&d, 2),
            ["e1", "r3c", "r3b", "r3a", "s2", "d1", "m1", "f2", "f1"]
        );
        assert_eq!(keys(&d, 2), ["e1", "pr:3", "pr:2", "d1", "pr:1"]);
        assert_eq!(Coverage::Complete.as_str(), "complete");
        assert_eq!(Coverage::Partial.as_str(), "partial");
    }

    #[test]
    fn each_change_of_a_linear_history_has_its_times() {
        let d = run(&main_repo(), vec![ok(1, "c0", 1), ok(2, "e1", 80)]);
        let pr = |n: i64, sha: &str, merged, first| Change {
            environment: "production".into(),
            key: format!("pr:{n}"),
            kind: ChangeKind::PullRequest,
            pr_number: Some(n),
            sha: sha.into(),
            base_ref: Some("main".into()),
            merged_at: t(merged),
            first_commit_at: Some(t(first)),
            deployment_id: 2,
            deployed_at: t(82),
        };
        // A merge commit: from the PR's first commit; squash: the one commit; rebase: the first.
        assert_eq!(change(&d, "pr:1"), &pr(1, "m1", 30, 10));
        assert_eq!(change(&d, "pr:2"), &pr(2, "s2", 50, 50));
        assert_eq!(change(&d, "pr:3"), &pr(3, "r3c", 63, 60));
        let commit = Change {
            key: "d1".into(),
            kind: ChangeKind::Commit,
            pr_number: None,
            sha: "d1".into(),
            merged_at: t(41),
            first_commit_at: Some(t(40)),
            ..pr(0, "", 0, 0)
        };
        assert_eq!(change(&d, "d1"), &commit);
        // A push without commits is one change, its `after`, with no first commit.
        let empty = Change {
            key: "e1".into(),
            sha: "e1".into(),
            merged_at: t(70),
            first_commit_at: None,
            ..commit
        };
        assert_eq!(change(&d, "e1"), &empty);
        assert_eq!(ChangeKind::PullRequest.as_str(), "pull_request");
        assert_eq!(ChangeKind::Commit.as_str(), "commit");
    }

    #[test]
    fn the_first_deployment_ships_no_change_and_hides_no_history() {
        let d = run(&main_repo(), vec![ok(1, "m1", 31), ok(2, "e1", 80)]);
        assert_eq!(coverage(&d, 1), Some("none"));
        assert_eq!((keys(&d, 1).len(), shas(&d, 1)), (0, vec!["m1"]));
        // The next one ships only what came after it: not PR 1, f1, f2 or c0.
        assert_eq!(coverage(&d, 2), Some("complete"));
        assert_eq!(keys(&d, 2), ["e1", "pr:3", "pr:2", "d1"]);
        assert_eq!(shas(&d, 2), ["e1", "r3c", "r3b", "r3a", "s2", "d1"]);
    }

    #[test]
    fn a_failed_deployment_ships_nothing_and_its_changes_go_with_the_next_success() {
        let pending = dep(4, "s2", 48, &[(40, "queued", 48), (41, "in_progress", 49)]);
        let error = dep(5, "s2", 52, &[(50, "in_progress", 53), (51, "ERROR", 54)]);
        let d = run(
            &main_repo(),
            vec![
                ok(1, "c0", 1),
                failed(2, "m1", 35),
                ok(3, "d1", 45),
                pending,
                error,
                ok(6, "e1", 80),
            ],
        );
        let failure = row(&d, 2);
        assert_eq!(
            (failure.outcome, failure.finished_at, failure.coverage),
            (Some("failure"), Some(t(37)), None)
        );
        assert_eq!((failure.baseline_id, failure.changes), (Some(1), 0));
        assert!(shas(&d, 2).is_empty());
        assert_eq!(
            (row(&d, 3).baseline_id, keys(&d, 3)),
            (Some(1), vec!["d1", "pr:1"])
        );
        assert_eq!(change(&d, "pr:1").deployed_at, t(47));
        let waiting = row(&d, 4);
        assert_eq!(
            (
                waiting.outcome,
                waiting.finished_at,
                waiting.coverage,
                waiting.baseline_id
            ),
            (None, None, None, Some(3))
        );
        assert_eq!(
            (row(&d, 5).outcome, row(&d, 5).finished_at),
            (Some("error"), Some(t(54)))
        );
        // The successful deployment before it is the baseline, whatever came between.
        assert_eq!(
            (row(&d, 6).baseline_id, keys(&d, 6)),
            (Some(3), vec!["e1", "pr:3", "pr:2"])
        );
    }

    #[test]
    fn a_rollback_ships_nothing_and_the_next_forward_deployment_only_what_is_new() {
        let d = run(
            &main_repo(),
            vec![
                ok(1, "m1", 31),
                ok(2, "s2", 51),
                ok(3, "d1", 55),
                ok(4, "e1", 80),
            ],
        );
        assert_eq!(keys(&d, 2), ["pr:2", "d1"]);
        // Back to d1, which 2 shipped: complete, nothing.
        assert_eq!(
            (coverage(&d, 3), row(&d, 3).changes, row(&d, 3).baseline_id),
            (Some("complete"), 0, Some(2))
        );
        assert!(shas(&d, 3).is_empty());
        // Forward from the rollback: s2 was shipped by 2, so only PR 3 and e1.
        assert_eq!(
            (coverage(&d, 4), row(&d, 4).baseline_id),
            (Some("complete"), Some(3))
        );
        assert_eq!(keys(&d, 4), ["e1", "pr:3"]);
        assert_eq!(shas(&d, 4), ["e1", "r3c", "r3b", "r3a"]);
    }

    #[test]
    fn a_rollback_after_a_failed_deployment() {
        let d = run(
            &main_repo(),
            vec![
                ok(1, "m1", 31),
                ok(2, "s2", 51),
                failed(3, "e1", 72),
                ok(4, "d1", 75),
                ok(5, "e1", 80),
            ],
        );
        assert_eq!(
            (row(&d, 3).outcome, row(&d, 3).baseline_id),
            (Some("failure"), Some(2))
        );
        assert_eq!(
            (coverage(&d, 4), row(&d, 4).changes, row(&d, 4).baseline_id),
            (Some("complete"), 0, Some(2))
        );
        assert_eq!(
            (row(&d, 5).baseline_id, keys(&d, 5)),
            (Some(4), vec!["e1", "pr:3"])
        );
    }

    #[test]
    fn a_rollback_to_the_first_deployment_ships_nothing() {
        let d = run(
            &main_repo(),
            vec![
                ok(1, "m1", 31),
                ok(2, "e1", 80),
                ok(3, "m1", 90),
                ok(4, "e1", 95),
            ],
        );
        assert_eq!(keys(&d, 2), ["e1", "pr:3", "pr:2", "d1"]);
        for id in [3, 4] {
            assert_eq!(
                (coverage(&d, id), row(&d, id).changes),
                (Some("complete"), 0),
                "{id}"
            );
            assert!(shas(&d, id).is_empty());
        }
        assert_eq!(row(&d, 4).baseline_id, Some(3));
    }

    #[test]
    fn redeploying_the_same_sha_ships_nothing() {
        let d = run(
            &main_repo(),
            vec![
                ok(1, "m1", 31),
                ok(2, "m1", 32),
                ok(3, "e1", 80),
                ok(4, "e1", 85),
            ],
        );
        assert_eq!(
            (coverage(&d, 2), row(&d, 2).changes, row(&d, 2).baseline_id),
            (Some("complete"), 0, Some(1))
        );
        assert_eq!(keys(&d, 3), ["e1", "pr:3", "pr:2", "d1"]);
        assert_eq!(
            (coverage(&d, 4), row(&d, 4).changes, row(&d, 4).baseline_id),
            (Some("complete"), 0, Some(3))
        );
        assert!(shas(&d, 2).is_empty() && shas(&d, 4).is_empty());
    }

    #[test]
    fn a_broken_chain_is_partial_and_ships_what_was_walked() {
        let mut repo = main_repo();
        repo.pushes.remove("d1");
        repo.push("main", "e1", "e2", 90, &[("e2", 89)]);
        let d = run(
            &repo,
            vec![ok(1, "c0", 1), ok(2, "e1", 80), ok(3, "e2", 95)],
        );
        assert_eq!((coverage(&d, 2), row(&d, 2).changes), (Some("partial"), 3));
        assert_eq!(shas(&d, 2), ["e1", "r3c", "r3b", "r3a", "s2"]);
        assert_eq!(keys(&d, 2), ["e1", "pr:3", "pr:2"]);
        // What lies behind the gap is not shipped later either: the next walk stops at e1.
        assert_eq!(
            (coverage(&d, 3), keys(&d, 3)),
            (Some("complete"), vec!["e2"])
        );
    }

    #[test]
    fn a_deployed_sha_without_a_push_is_still_recorded_as_deployed() {
        let mut repo = main_repo();
        // x1 was deployed before its push was recorded (or it never will be).
        repo.push("main", "x1", "x2", 95, &[("x2", 94)]);
        let d = run(
            &repo,
            vec![ok(1, "e1", 80), ok(2, "x1", 90), ok(3, "x2", 96)],
        );
        assert_eq!(
            (coverage(&d, 2), row(&d, 2).changes, shas(&d, 2)),
            (Some("partial"), 0, vec!["x1"])
        );
        // Everything before x1 went out with 2, so 3 is complete.
        assert_eq!(
            (coverage(&d, 3), keys(&d, 3)),
            (Some("complete"), vec!["x2"])
        );
    }

    #[test]
    fn a_cycle_is_partial() {
        let mut repo = main_repo();
        repo.push("main", "y", "x", 100, &[("x", 100)]);
        repo.push("main", "x", "y", 101, &[("y", 101)]);
        repo.push("main", "z", "z", 102, &[("z", 102)]);
        let d = run(
            &repo,
            vec![ok(1, "e1", 80), ok(2, "x", 110), ok(3, "z", 120)],
        );
        assert_eq!(
            (coverage(&d, 2), shas(&d, 2)),
            (Some("partial"), vec!["x", "y"])
        );
        assert_eq!((coverage(&d, 3), shas(&d, 3)), (Some("partial"), vec!["z"]));
    }

    #[test]
    fn a_new_branch_push_is_taken_and_ends_the_walk() {
        let mut repo = main_repo();
        repo.push("feature/x", ZERO, "n1", 5, &[("n0", 3), ("n1", 4)]);
        repo.push("refs/tags/v1", ZERO, "v1", 6, &[]);
        let d = run(
            &repo,
            vec![ok(1, "c0", 1), ok(2, "n1", 10), ok(3, "v1", 12)],
        );
        assert_eq!(
            (coverage(&d, 2), shas(&d, 2)),
            (Some("partial"), vec!["n1", "n0"])
        );
        assert_eq!(keys(&d, 2), ["n1", "n0"]);
        let n0 = change(&d, "n0");
        assert_eq!(
            (n0.base_ref.as_deref(), n0.merged_at, n0.first_commit_at),
            (Some("feature/x"), t(5), Some(t(3)))
        );
        // A ref outside refs/heads/ is kept whole.
        assert_eq!(change(&d, "v1").base_ref.as_deref(), Some("refs/tags/v1"));
    }

    fn chain_of(n: usize) -> Repo {
        let mut repo = Repo::default();
        repo.push("main", ZERO, "b0", 0, &[("b0", 0)]);
        for i in 1..=n {
            let (before, after) = (format!("b{}", i - 1), format!("b{i}"));
            repo.push("main", &before, &after, i as i64, &[(&after, i as i64)]);
        }
        repo
    }

    #[test]
    fn the_walk_gives_up_after_max_steps_pushes() {
        let d = run(
            &chain_of(MAX_STEPS),
            vec![ok(1, "b0", 0), ok(2, &format!("b{MAX_STEPS}"), 20_000)],
        );
        assert_eq!(
            (coverage(&d, 2), row(&d, 2).changes),
            (Some("complete"), MAX_STEPS as i32)
        );
        let far = MAX_STEPS + 1;
        let d = run(
            &chain_of(far),
            vec![ok(1, "b0", 0), ok(2, &format!("b{far}"), 20_000)],
        );
        assert_eq!(
            (coverage(&d, 2), row(&d, 2).changes),
            (Some("partial"), MAX_STEPS as i32)
        );
        assert!(!shas(&d, 2).contains(&"b1"));
    }

    #[test]
    fn environments_have_their_own_cadence() {
        let staging = window(
            "staging",
            vec![
                ok(11, "m1", 31),
                ok(12, "d1", 42),
                ok(13, "s2", 51),
                ok(14, "e1", 71),
            ],
        );
        let production = window("production", vec![ok(21, "m1", 35), ok(22, "e1", 100)]);
        let d = derive(&[staging, production], &mut main_repo());
        let order: Vec<i64> = d.deployments.iter().map(|r| r.id).collect();
        assert_eq!(order, [21, 22, 11, 12, 13, 14], "environments by name");
        assert_eq!(
            (keys(&d, 12), keys(&d, 13), keys(&d, 14)),
            (vec!["d1"], vec!["pr:2"], vec!["e1", "pr:3"])
        );
        assert_eq!(keys(&d, 22), ["e1", "pr:3", "pr:2", "d1"]);
        let pr2 = |env: &str| {
            d.changes
                .iter()
                .find(|c| c.environment == env && c.key == "pr:2")
                .unwrap()
        };
        assert_eq!(
            (pr2("staging").deployment_id, pr2("staging").deployed_at),
            (13, t(53))
        );
        assert_eq!(
            (
                pr2("production").deployment_id,
                pr2("production").deployed_at
            ),
            (22, t(102))
        );
        assert_eq!(row(&d, 22).baseline_id, Some(21));
        assert!(d
            .shipped
            .iter()
            .all(|s| (s.environment == "staging") == (s.deployment_id < 20)));
    }

    #[test]
    fn what_was_shipped_before_the_window_is_not_shipped_again() {
        let mut repo = main_repo();
        repo.shipped_before("production", &["c0", "f1", "f2", "m1", "d1"]);
        let mut w = window("production", vec![ok(8, "e1", 80)]);
        w.baseline = Some(Baseline {
            id: 7,
            sha: "d1".into(),
        });
        let d = derive(&[w.clone()], &mut repo.clone());
        assert_eq!(
            (row(&d, 8).baseline_id, keys(&d, 8)),
            (Some(7), vec!["e1", "pr:3", "pr:2"])
        );
        // A rollback below the baseline to a sha shipped before the window ships nothing.
        w.deployments.push(ok(9, "m1", 90));
        let d = derive(&[w], &mut repo);
        assert_eq!(
            (coverage(&d, 9), row(&d, 9).changes, row(&d, 9).baseline_id),
            (Some("complete"), 0, Some(8))
        );
    }

    #[test]
    fn the_baselines_sha_stops_the_walk_even_if_not_recorded_as_shipped() {
        // Rows derived before the first deployment's sha was recorded: the baseline still stops it.
        let mut w = window("production", vec![ok(8, "e1", 80)]);
        w.baseline = Some(Baseline {
            id: 7,
            sha: "d1".into(),
        });
        let d = derive(&[w], &mut main_repo());
        assert_eq!(
            (coverage(&d, 8), keys(&d, 8)),
            (Some("complete"), vec!["e1", "pr:3", "pr:2"])
        );
    }

    #[test]
    fn a_pr_of_commits_deployed_before_its_merge_ships_once_with_its_first_commit() {
        let mut repo = main_repo();
        repo.push("feature", "c0", "f2", 21, &[("f1", 10), ("f2", 20)]);
        let d = derive(
            &[window(
                "preview",
                vec![ok(1, "c0", 1), ok(2, "f2", 22), ok(3, "m1", 31)],
            )],
            &mut repo,
        );
        assert_eq!(keys(&d, 2), ["f2", "f1"]);
        assert_eq!(change(&d, "f1").base_ref.as_deref(), Some("feature"));
        assert_eq!((keys(&d, 3), shas(&d, 3)), (vec!["pr:1"], vec!["m1"]));
        assert_eq!(change(&d, "pr:1").first_commit_at, Some(t(10)));
    }

    #[test]
    fn a_merge_sha_inside_another_push_ships_its_pr() {
        let mut repo = Repo::default();
        repo.push("main", ZERO, "c0", 0, &[("c0", 0)]);
        repo.push("release", "c0", "m5", 6, &[("g1", 5), ("m5", 6)]);
        repo.pr(5, "m5", 6, "release");
        // main fast-forwarded to release, plus a commit of its own, in one push.
        repo.push("main", "c0", "h1", 8, &[("g1", 5), ("m5", 6), ("h1", 7)]);
        let d = run(&repo, vec![ok(1, "c0", 1), ok(2, "h1", 10)]);
        assert_eq!(keys(&d, 2), ["h1", "pr:5", "g1"]);
        let pr = change(&d, "pr:5");
        assert_eq!(
            (pr.base_ref.as_deref(), pr.merged_at, pr.first_commit_at),
            (Some("release"), t(6), None)
        );
        assert_eq!(change(&d, "g1").base_ref.as_deref(), Some("main"));
    }

    #[test]
    fn a_pr_reached_twice_is_one_change() {
        let mut repo = Repo::default();
        repo.push("main", ZERO, "c0", 0, &[("c0", 0)]);
        repo.push("main", "c0", "m1", 30, &[("f1", 10), ("m1", 30)]);
        repo.pr(1, "m1", 30, "main");
        // A push that lists the merge commit again, on top of it.
        repo.push("main", "m1", "g", 40, &[("m1", 30), ("g", 40)]);
        let d = run(&repo, vec![ok(1, "c0", 1), ok(2, "g", 45)]);
        assert_eq!(
            (coverage(&d, 2), keys(&d, 2)),
            (Some("complete"), vec!["g", "pr:1"])
        );
        assert_eq!(shas(&d, 2), ["g", "m1", "f1"]);
        // Its own push was taken after all: its first commit is known.
        assert_eq!(change(&d, "pr:1").first_commit_at, Some(t(10)));
    }

    fn status(id: i64, state: &str, at: i64) -> StatusObs {
        StatusObs {
            id,
            state: state.into(),
            at: t(at),
        }
    }

    #[test]
    fn the_outcome_is_the_latest_terminal_status() {
        let late_failure_first = [status(2, "failure", 20), status(1, "success", 10)];
        assert_eq!(outcome(&late_failure_first), Some(("failure", t(20))));
        let retried = [status(1, "failure", 10), status(2, "success", 20)];
        assert_eq!(outcome(&retried), Some(("success", t(20))));
        // Same time: the larger id wins.
        assert_eq!(
            outcome(&[status(7, "success", 10), status(6, "failure", 10)]),
            Some(("success", t(10)))
        );
        assert_eq!(
            outcome(&[status(5, "success", 10), status(6, "failure", 10)]),
            Some(("failure", t(10)))
        );
        let replaced = [status(1, "success", 10), status(2, "inactive", 20)];
        assert_eq!(outcome(&replaced), Some(("success", t(10))));
        assert_eq!(
            outcome(&[status(1, " Success ", 10), status(2, "ERROR", 5)]),
            Some(("success", t(10)))
        );
        let busy = [
            "queued",
            "pending",
            "in_progress",
            "waiting",
            "inactive",
            "exploded",
        ];
        let busy: Vec<StatusObs> = busy.iter().zip(1..).map(|(s, i)| status(i, s, i)).collect();
        assert_eq!(outcome(&busy), None);
        assert_eq!(outcome(&[]), None);
    }

    #[test]
    fn a_later_failure_that_arrived_first_undoes_the_success() {
        let flaky = dep(2, "m1", 35, &[(21, "failure", 40), (20, "success", 36)]);
        let d = run(&main_repo(), vec![ok(1, "c0", 1), flaky, ok(3, "d1", 45)]);
        assert_eq!(
            (row(&d, 2).outcome, row(&d, 2).coverage, keys(&d, 2).len()),
            (Some("failure"), None, 0)
        );
        assert_eq!(
            (row(&d, 3).baseline_id, keys(&d, 3)),
            (Some(1), vec!["d1", "pr:1"])
        );
        let replaced = dep(4, "e1", 80, &[(41, "inactive", 95), (40, "success", 82)]);
        let d = run(&main_repo(), vec![ok(1, "c0", 1), replaced]);
        assert_eq!(
            (
                row(&d, 4).outcome,
                row(&d, 4).finished_at,
                row(&d, 4).changes
            ),
            (Some("success"), Some(t(82)), 5)
        );
    }

    #[test]
    fn deployments_created_at_the_same_time_go_by_id() {
        let d = run(
            &main_repo(),
            vec![ok(3, "e1", 80), ok(2, "d1", 80), ok(1, "c0", 1)],
        );
        assert_eq!(
            d.deployments.iter().map(|r| r.id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(
            (keys(&d, 2), row(&d, 3).baseline_id),
            (vec!["d1", "pr:1"], Some(2))
        );
    }

    #[test]
    fn a_deleted_branch_is_not_walked_through() {
        let mut repo = main_repo();
        // A branch created, then deleted (its last push has the zero sha as `after`); the
        // walk from a new branch must not continue into it.
        repo.push("old", ZERO, "o1", 2, &[("o1", 2)]);
        repo.push("old", "o1", ZERO, 3, &[]);
        repo.push("feature", ZERO, "n1", 5, &[("n1", 4)]);
        let d = run(&repo, vec![ok(1, "c0", 1), ok(2, "n1", 10)]);
        assert_eq!(
            (coverage(&d, 2), shas(&d, 2)),
            (Some("partial"), vec!["n1"])
        );
    }

    #[test]
    fn one_pr_named_for_two_shas_is_still_one_change() {
        // The glue cannot answer so (a PR has one merge sha), but a duplicate change key
        // would break the table's primary key, so the derivation does not rely on it.
        let mut repo = main_repo();
        repo.pr(1, "d1", 30, "main");
        let d = run(&repo, vec![ok(1, "c0", 1), ok(2, "s2", 55)]);
        assert_eq!(keys(&d, 2), ["pr:2", "pr:1"]);
        assert_eq!(change(&d, "pr:1").sha, "d1");
    }

    /// xorshift64*: a tiny deterministic generator, enough to shuffle and to make histories.
    struct Rng(u64);

    impl Rng {
        fn new(seed: u64) -> Self {
            Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }

        fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                items.swap(i, self.below(i as u64 + 1) as usize);
            }
        }
    }

    /// A main branch of 40 pushes of every shape (merge commit, squash and rebase PRs, direct
    /// pushes, pushes without commits), sometimes with a push missing; returns it and main's
    /// head after each push, oldest first.
    fn random_history(rng: &mut Rng) -> (Repo, Vec<String>) {
        let mut repo = Repo::default();
        repo.push("main", ZERO, "g0", 0, &[("g0", 0)]);
        let mut heads = vec!["g0".to_string()];
        let (mut clock, mut pr) = (0, 0);
        for step in 1..=40 {
            clock += 1 + rng.below(30) as i64;
            let sha = |i: u64| format!("h{step}_{i}");
            let shape = rng.below(5);
            let n = match shape {
                0 | 2 => 2 + rng.below(2),
                1 | 4 => 1,
                _ => 1 + rng.below(3),
            };
            let shas: Vec<String> = (0..n).map(sha).collect();
            let commits: Vec<(&str, i64)> = match shape {
                4 => vec![],
                _ => shas
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (s.as_str(), clock - 5 + i as i64))
                    .collect(),
            };
            let after = shas.last().unwrap();
            repo.push("main", heads.last().unwrap(), after, clock, &commits);
            if shape <= 2 {
                pr += 1;
                repo.pr(pr, after, clock, "main");
            }
            heads.push(after.clone());
        }
        if rng.below(3) == 0 {
            let gap = &heads[1 + rng.below(39) as usize];
            repo.pushes.remove(gap);
        }
        (repo, heads)
    }

    /// Random statuses for a deployment created at `at`; ids from `next`.
    fn random_statuses(rng: &mut Rng, at: i64, next: &mut i64) -> Vec<(i64, &'static str, i64)> {
        let states: &[&str] = match rng.below(12) {
            0 => &["in_progress", "failure"],
            1 => &["error"],
            2 => &["queued", "pending"],
            3 => &["success", "inactive"],
            4 => &["success", "failure"],
            5 => &["failure", "success"],
            _ => &["in_progress", "success"],
        };
        let same_time = rng.below(4) == 0;
        let statuses = states.iter().enumerate().map(|(i, state)| {
            *next += 1;
            let offset = if same_time { 1 } else { 1 + i as i64 };
            (*next, *state, at + offset)
        });
        statuses.collect()
    }

    /// Deployments to staging (often) and production (less often), mostly of main's head
    /// at the time, sometimes of an older sha (a rollback) or at the same time as another.
    fn random_windows(rng: &mut Rng, heads: &[String]) -> Vec<EnvWindow> {
        let (mut id, mut status_id) = (0, 0);
        let mut windows = vec![];
        for (environment, count) in [("staging", 16usize), ("production", 7)] {
            let mut deployments = vec![];
            let mut at = 0;
            for k in 0..count {
                at += rng.below(3) as i64 * 20;
                let mut head = ((k + 1) * (heads.len() - 1) / count).min(heads.len() - 1);
                if rng.below(6) == 0 {
                    head = rng.below(head as u64 + 1) as usize;
                }
                id += 1;
                let statuses = random_statuses(rng, at, &mut status_id);
                deployments.push(dep(id, &heads[head], at, &statuses));
            }
            windows.push(window(environment, deployments));
        }
        windows
    }

    fn random_case(seed: u64) -> (Repo, Vec<EnvWindow>) {
        let mut rng = Rng::new(seed);
        let (repo, heads) = random_history(&mut rng);
        let windows = random_windows(&mut rng, &heads);
        (repo, windows)
    }

    /// The rows as the tables hold them: order does not matter there.
    fn as_tables(mut d: Derived) -> Derived {
        d.deployments.sort_by_key(|r| (r.environment.clone(), r.id));
        d.shipped
            .sort_by_key(|s| (s.environment.clone(), s.sha.clone()));
        d.changes
            .sort_by_key(|c| (c.environment.clone(), c.key.clone()));
        d
    }

    #[test]
    fn the_input_order_does_not_matter() {
        for seed in 0..40 {
            let (repo, windows) = random_case(seed);
            let expected = derive(&windows, &mut repo.clone());
            let mut rng = Rng::new(seed + 1000);
            for _ in 0..5 {
                let mut shuffled = windows.clone();
                rng.shuffle(&mut shuffled);
                for w in &mut shuffled {
                    rng.shuffle(&mut w.deployments);
                    for d in &mut w.deployments {
                        rng.shuffle(&mut d.statuses);
                    }
                }
                assert_eq!(
                    derive(&shuffled, &mut repo.clone()),
                    expected,
                    "seed {seed}"
                );
            }
        }
    }

    /// What the glue does for a window starting at `since`: the baseline is the last
    /// successful deployment created before it, and shipped_before answers from the rows of
    /// the deployments before it.
    fn glue_window(before: &Derived, w: &EnvWindow, since: Time) -> EnvWindow {
        let success = |d: &&DeploymentIn| {
            let derived = before.deployments.iter().find(|r| r.id == d.id);
            d.created_at < since && derived.unwrap().outcome == Some("success")
        };
        let baseline = w
            .deployments
            .iter()
            .filter(success)
            .max_by_key(|d| (d.created_at, d.id));
        EnvWindow {
            environment: w.environment.clone(),
            baseline: baseline.map(|d| Baseline {
                id: d.id,
                sha: d.sha.clone(),
            }),
            deployments: w
                .deployments
                .iter()
                .filter(|d| d.created_at >= since)
                .cloned()
                .collect(),
        }
    }

    fn derive_in_two(repo: &Repo, windows: &[EnvWindow], since: Time) -> Derived {
        let prefix = |w: &EnvWindow| EnvWindow {
            deployments: w
                .deployments
                .iter()
                .filter(|d| d.created_at < since)
                .cloned()
                .collect(),
            ..w.clone()
        };
        let first = derive(
            &windows.iter().map(prefix).collect::<Vec<_>>(),
            &mut repo.clone(),
        );
        let mut glue = repo.clone();
        for s in &first.shipped {
            glue.shipped_before(&s.environment, &[&s.sha]);
        }
        let rest: Vec<EnvWindow> = windows
            .iter()
            .map(|w| glue_window(&first, w, since))
            .collect();
        let second = derive(&rest, &mut glue);
        let mut both = first;
        both.deployments.extend(second.deployments);
        both.shipped.extend(second.shipped);
        both.changes.extend(second.changes);
        both
    }

    #[test]
    fn deriving_in_two_windows_equals_deriving_everything() {
        for seed in 0..40 {
            let (repo, windows) = random_case(seed);
            let whole = as_tables(derive(&windows, &mut repo.clone()));
            let mut splits: Vec<Time> = windows
                .iter()
                .flat_map(|w| w.deployments.iter().map(|d| d.created_at))
                .collect();
            splits.sort();
            splits.dedup();
            for since in splits {
                let split = as_tables(derive_in_two(&repo, &windows, since));
                assert_eq!(split, whole, "seed {seed}, since {since}");
            }
        }
    }

    #[test]
    fn random_histories_keep_the_invariants() {
        let mut seen = (0, 0, 0, 0);
        for seed in 0..40 {
            let (repo, windows) = random_case(seed);
            let d = derive(&windows, &mut repo.clone());
            let mut shas = HashSet::new();
            let mut keys = HashSet::new();
            assert!(
                d.shipped
                    .iter()
                    .all(|s| shas.insert((&s.environment, &s.sha))),
                "a sha shipped twice"
            );
            assert!(
                d.changes
                    .iter()
                    .all(|c| keys.insert((&c.environment, &c.key))),
                "a change shipped twice"
            );
            for r in &d.deployments {
                let mine = d.changes.iter().filter(|c| c.deployment_id == r.id);
                assert!(mine.clone().all(
                    |c| Some(c.deployed_at) == r.finished_at && c.environment == r.environment
                ));
                assert_eq!(mine.count() as i32, r.changes);
                assert_eq!(r.coverage.is_some(), r.outcome == Some("success"));
                if r.outcome == Some("success") {
                    let w = windows
                        .iter()
                        .find(|w| w.environment == r.environment)
                        .unwrap();
                    let sha = &w.deployments.iter().find(|x| x.id == r.id).unwrap().sha;
                    assert!(
                        shas.contains(&(&r.environment, sha)),
                        "a deployed sha is not recorded"
                    );
                }
                match r.coverage {
                    Some(Coverage::None) => seen.0 += 1,
                    Some(Coverage::Complete) => seen.1 += 1,
                    Some(Coverage::Partial) => seen.2 += 1,
                    None => seen.3 += 1,
                }
            }
        }
        // The cases exercise every kind of deployment.
        assert!(
            seen.0 >= 40 && seen.1 > 200 && seen.2 > 5 && seen.3 > 100,
            "{seen:?}"
        );
    }
}
