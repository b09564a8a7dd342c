//! Development metrics: GitHub events in, the DORA keys out.
//!
//! - `event`: one event (`X-GitHub-Event` name and payload) checked and normalised into a
//!   fact, with its exactly-once key; `archive`: GitHub events-API / GH Archive objects and
//!   whole batches; `environment`: the default tier of an environment name;
//! - `chain`: which successful deployment first shipped which change, per environment,
//!   walking the push chain back to the previous successful deployment;
//! - `levels`: the DORA performance clusters as data, and the classification of a period.
//!
//! The shared fact types are here; `docs/development-metrics.md` is the reference.

pub mod archive;
pub mod chain;
pub mod environment;
pub mod event;
pub mod levels;

/// A point in time (GitHub's timestamps are UTC).
pub type Time = chrono::DateTime<chrono::Utc>;

/// `deployment` of a `deployment` or `deployment_status` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub repository: String,
    pub id: i64,
    /// Lower-cased and trimmed.
    pub environment: String,
    pub sha: String,
    pub git_ref: Option<String>,
    pub task: Option<String>,
    pub description: Option<String>,
    pub created_at: Time,
    pub creator: Option<String>,
}

/// `deployment_status` of a `deployment_status` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub repository: String,
    pub deployment_id: i64,
    pub id: i64,
    /// GitHub's state, lower-cased: success, failure, error, inactive, in_progress, queued, pending, ...
    pub state: String,
    pub created_at: Time,
    pub environment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub repository: String,
    pub number: i64,
    pub id: i64,
    pub title: Option<String>,
    /// open or closed
    pub state: String,
    pub created_at: Time,
    pub updated_at: Time,
    pub closed_at: Option<Time>,
    /// Set only when `pull_request.merged` is true.
    pub merged_at: Option<Time>,
    /// Set only when merged.
    pub merge_commit_sha: Option<String>,
    pub base_ref: String,
    pub head_ref: Option<String>,
    pub head_sha: Option<String>,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub at: Time,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub repository: String,
    /// As GitHub gives it: `refs/heads/main`.
    pub git_ref: String,
    pub before: String,
    pub after: String,
    pub pushed_at: Time,
    pub forced: bool,
    pub created: bool,
    pub deleted: bool,
    pub commits: Vec<Commit>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRun {
    pub repository: String,
    pub id: i64,
    pub attempt: i32,
    pub name: Option<String>,
    pub event: Option<String>,
    pub status: String,
    pub conclusion: Option<String>,
    pub head_sha: Option<String>,
    pub head_branch: Option<String>,
    pub created_at: Time,
    pub run_started_at: Option<Time>,
    pub updated_at: Time,
    /// The `environment` argument of the call, if any.
    pub environment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub repository: String,
    pub number: i64,
    pub id: i64,
    pub title: Option<String>,
    pub body: Option<String>,
    /// open or closed
    pub state: String,
    /// Label names as given.
    pub labels: Vec<String>,
    pub created_at: Time,
    pub updated_at: Time,
    pub closed_at: Option<Time>,
    /// The `environment` argument, else an `environment:<name>` / `env:<name>` label; lower-cased.
    pub environment: Option<String>,
}

/// What an event says, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    Deployment(Deployment),
    /// A status event carries its deployment too.
    DeploymentStatus(Deployment, DeploymentStatus),
    PullRequest(PullRequest),
    Push(Push),
    WorkflowRun(WorkflowRun),
    Issue(Issue),
}

/// One event, checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// deployment, deployment_status, pull_request, push, workflow_run, issue or unknown.
    pub kind: &'static str,
    /// The event name as given (lower-cased, trimmed).
    pub event: String,
    pub action: Option<String>,
    /// False for an action this version does not know (still stored and counted).
    pub known_action: bool,
    /// `delivery:<id>`, `archive:<id>` or the natural key.
    pub event_key: String,
    pub delivery_id: Option<String>,
    /// `repository.full_name`, lower-cased.
    pub repository: Option<String>,
    /// The `environment` argument (lower-cased), or the deployment's.
    pub environment: Option<String>,
    /// The event's own time.
    pub occurred_at: Option<Time>,
    /// None for unknown events.
    pub fact: Option<Fact>,
}
