//! One GitHub event (`X-GitHub-Event` name and payload) checked and normalised into a fact,
//! with its exactly-once key (`docs/development-metrics.md`, "Ingest").
//!
//! Every required field is read through `Doc`, which knows the JSON path of what it reads:
//! a missing field or one of the wrong JSON type is refused with 22023 and a message that
//! names the path (`payload.deployment_status.created_at is missing`,
//! `payload.pull_request.number must be an integer, not a string`), with a hint saying what
//! the event needs. Every message starts with the path or argument it is about, so a batch
//! can put `events[i].` in front of it.

use chrono::SecondsFormat;
use serde_json::Value;

use crate::common::problem::{check_length, Outcome, Problem, SqlState};
use crate::github::environment::check_environment_at;
use crate::github::{
    Commit, Deployment, DeploymentStatus, Fact, Issue, Parsed, PullRequest, Push, Time, WorkflowRun,
};
use crate::requests::event::parse_at;

/// Longest event name accepted (characters).
pub const MAX_EVENT_NAME: usize = 100;
/// Longest delivery id accepted (characters).
pub const MAX_DELIVERY_ID: usize = 200;
/// Longest repository name (`owner/name`) accepted (characters).
pub const MAX_REPOSITORY: usize = 200;
/// Longest action accepted (characters).
pub const MAX_ACTION: usize = 100;
/// The sha GitHub gives for "no commit": `before` of a new ref, `after` of a deleted one.
pub const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

/// The actions GitHub documents for each kind ("Webhook events and payloads"). An event
/// with another action still gives its fact (the payload carries the object's current
/// state), but `known_action` is false.
const PULL_REQUEST_ACTIONS: [&str; 21] = [
    "assigned",
    "auto_merge_disabled",
    "auto_merge_enabled",
    "closed",
    "converted_to_draft",
    "demilestoned",
    "dequeued",
    "edited",
    "enqueued",
    "labeled",
    "locked",
    "milestoned",
    "opened",
    "ready_for_review",
    "reopened",
    "review_request_removed",
    "review_requested",
    "synchronize",
    "unassigned",
    "unlabeled",
    "unlocked",
];
const ISSUES_ACTIONS: [&str; 18] = [
    "opened",
    "edited",
    "deleted",
    "closed",
    "reopened",
    "labeled",
    "unlabeled",
    "assigned",
    "unassigned",
    "locked",
    "unlocked",
    "milestoned",
    "demilestoned",
    "pinned",
    "unpinned",
    "transferred",
    "typed",
    "untyped",
];
const WORKFLOW_RUN_ACTIONS: [&str; 3] = ["requested", "in_progress", "completed"];
const CREATED_ONLY: [&str; 1] = ["created"];

const DEPLOYMENT_NEEDS: &str = "a deployment event needs payload.repository.full_name and payload.deployment.id, .sha, .environment and .created_at";
const DEPLOYMENT_STATUS_NEEDS: &str = "a deployment_status event needs payload.repository.full_name, payload.deployment.id, .sha, .environment and .created_at, and payload.deployment_status.id, .state and .created_at";
const PULL_REQUEST_NEEDS: &str = "a pull_request event needs payload.repository.full_name and payload.pull_request.number, .id, .created_at, .updated_at and .base.ref; a merged one (merged: true) also .merged_at and .merge_commit_sha";
const PUSH_NEEDS: &str = "a push event needs payload.repository.full_name, .ref, .before and .after, a time (payload.repository.pushed_at as epoch seconds or ISO 8601 text, else payload.head_commit.timestamp), and an id and a timestamp for each of payload.commits";
const WORKFLOW_RUN_NEEDS: &str = "a workflow_run event needs payload.repository.full_name and payload.workflow_run.id, .status, .created_at and .updated_at (.run_attempt is 1 when absent)";
const ISSUES_NEEDS: &str = "an issues event needs payload.repository.full_name and payload.issue.number, .id, .created_at, .updated_at and .labels (objects with a name)";
const TIME_HINT: &str =
    "use ISO 8601 with a UTC offset, e.g. 2019-05-15T15:20:33Z or 2019-05-15T17:20:33+02:00";
const SHA_HINT: &str =
    "a commit sha is 7 to 64 hexadecimal digits, e.g. 6113728f27ae82c7b1a177c8d03f9e96e0adf246";

/// Checks and normalises one event: `event` is the `X-GitHub-Event` name (`issues`, not
/// `issue`), `payload` its JSON, `delivery_id` the `X-GitHub-Delivery` header if known, and
/// `environment` the environment of facts whose payload names none (a deployment's own
/// `deployment.environment` wins).
///
/// The key is `delivery:<id>` with a delivery id, else the kind's natural key; an unknown
/// event's is `<event>:<hex>`, `hex` being `payload_digest` of the payload (PostgreSQL keeps
/// the payload's real sha256 next to it).
pub fn parse(
    event: &str,
    payload: &Value,
    delivery_id: Option<&str>,
    environment: Option<&str>,
) -> Outcome<Parsed> {
    let name = check_event_name(event)?;
    let delivery_id = delivery_id.map(check_delivery_id).transpose()?;
    let environment = environment
        .map(|e| check_environment_at("environment", e))
        .transpose()?;
    if !payload.is_object() {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("payload must be a JSON object, not {}", json_kind(payload)),
        )
        .hint("pass the webhook's JSON body (or a workflow's github.event) as the payload"));
    }
    let mut parsed = match kind_of(&name) {
        "unknown" => unknown(name, payload, environment),
        kind => known(kind, name, payload, environment)?,
    };
    if let Some(id) = &delivery_id {
        parsed.event_key = format!("delivery:{id}");
    }
    parsed.delivery_id = delivery_id;
    Ok(parsed)
}

/// The kind an event name is normalised to.
pub fn kind_of(event: &str) -> &'static str {
    match event {
        "deployment" => "deployment",
        "deployment_status" => "deployment_status",
        "pull_request" => "pull_request",
        "push" => "push",
        "workflow_run" => "workflow_run",
        "issues" => "issue",
        _ => "unknown",
    }
}

fn check_event_name(event: &str) -> Outcome<String> {
    let name = event.trim().to_lowercase();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            if name.is_empty() {
                "event must not be empty".to_string()
            } else {
                "event must not contain control characters".to_string()
            },
        )
        .hint(
            "pass the X-GitHub-Event header (github.event_name in a workflow), e.g. pull_request",
        ));
    }
    check_length("event", &name, MAX_EVENT_NAME)?;
    Ok(name)
}

fn check_delivery_id(id: &str) -> Outcome<String> {
    let id = id.trim();
    if id.is_empty() || id.chars().any(char::is_control) {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            if id.is_empty() {
                "delivery_id must not be empty".to_string()
            } else {
                "delivery_id must not contain control characters".to_string()
            },
        )
        .hint("pass the X-GitHub-Delivery header, or NULL when there is none"));
    }
    check_length("delivery_id", id, MAX_DELIVERY_ID)?;
    Ok(id.to_string())
}

/// What a known kind's reader gives: the fact and the event's own time.
struct Read {
    fact: Fact,
    occurred_at: Time,
}

fn known(
    kind: &'static str,
    event: String,
    payload: &Value,
    environment: Option<String>,
) -> Outcome<Parsed> {
    let (needs, actions): (&str, &[&str]) = match kind {
        "deployment" => (DEPLOYMENT_NEEDS, &CREATED_ONLY),
        "deployment_status" => (DEPLOYMENT_STATUS_NEEDS, &CREATED_ONLY),
        "pull_request" => (PULL_REQUEST_NEEDS, &PULL_REQUEST_ACTIONS),
        "push" => (PUSH_NEEDS, &[]),
        "workflow_run" => (WORKFLOW_RUN_NEEDS, &WORKFLOW_RUN_ACTIONS),
        _ => (ISSUES_NEEDS, &ISSUES_ACTIONS),
    };
    let doc = Doc::payload(payload, needs);
    let action = doc.opt("action", Doc::action)?;
    let repository = doc.req("repository.full_name", Doc::repository)?;
    let read = match kind {
        "deployment" => deployment_event(&doc, &repository)?,
        "deployment_status" => deployment_status_event(&doc, &repository)?,
        "pull_request" => pull_request_event(&doc, &repository)?,
        "push" => push_event(&doc, &repository)?,
        "workflow_run" => workflow_run_event(&doc, &repository, environment.clone())?,
        _ => issue_event(&doc, &repository, environment.clone())?,
    };
    let known_action = match &action {
        None => true,
        Some(a) => kind == "push" || actions.contains(&a.as_str()),
    };
    Ok(Parsed {
        kind,
        event,
        event_key: natural_key(&read.fact, action.as_deref()),
        environment: fact_environment(&read.fact).or(environment),
        action,
        known_action,
        delivery_id: None,
        repository: Some(repository),
        occurred_at: Some(read.occurred_at),
        fact: Some(read.fact),
    })
}

/// The environment a fact names itself (a deployment's), or the one it was given.
fn fact_environment(fact: &Fact) -> Option<String> {
    match fact {
        Fact::Deployment(d) | Fact::DeploymentStatus(d, _) => Some(d.environment.clone()),
        Fact::WorkflowRun(r) => r.environment.clone(),
        Fact::Issue(i) => i.environment.clone(),
        Fact::PullRequest(_) | Fact::Push(_) => None,
    }
}

/// The natural key of the contract's table. Times are written in UTC (`...Z`), so the same
/// instant with another offset is the same key.
pub fn natural_key(fact: &Fact, action: Option<&str>) -> String {
    let action = action.unwrap_or("");
    match fact {
        Fact::Deployment(d) => format!("deployment:{}", d.id),
        Fact::DeploymentStatus(_, s) => format!("deployment_status:{}", s.id),
        Fact::PullRequest(p) => {
            format!("pull_request:{}:{action}:{}", p.id, key_time(p.updated_at))
        }
        Fact::Push(p) => format!("push:{}:{}:{}", p.repository, p.git_ref, p.after),
        Fact::WorkflowRun(r) => format!("workflow_run:{}:{}:{}", r.id, r.attempt, r.status),
        Fact::Issue(i) => format!("issues:{}:{action}:{}", i.id, key_time(i.updated_at)),
    }
}

pub(crate) fn key_time(t: Time) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// An event this version does not normalise (`ping`, `release`, ...): stored raw, keyed by
/// its name and the digest of its payload. Its repository is kept when the payload names a
/// usable one; nothing in it is required.
fn unknown(event: String, payload: &Value, environment: Option<String>) -> Parsed {
    let repository = payload
        .pointer("/repository/full_name")
        .and_then(Value::as_str)
        .map(|r| r.trim().to_lowercase())
        .filter(|r| !r.is_empty() && r.chars().count() <= MAX_REPOSITORY);
    let action = payload
        .get("action")
        .and_then(Value::as_str)
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty() && a.chars().count() <= MAX_ACTION);
    Parsed {
        kind: "unknown",
        event_key: format!("{event}:{}", payload_digest(payload)),
        event,
        action,
        known_action: false,
        delivery_id: None,
        repository,
        environment,
        occurred_at: None,
        fact: None,
    }
}

fn deployment_event(doc: &Doc, repository: &str) -> Outcome<Read> {
    let (deployment, updated_at) = deployment(doc, repository)?;
    Ok(Read {
        occurred_at: updated_at.unwrap_or(deployment.created_at),
        fact: Fact::Deployment(deployment),
    })
}

/// `payload.deployment`, and its `updated_at` if given.
fn deployment(doc: &Doc, repository: &str) -> Outcome<(Deployment, Option<Time>)> {
    let deployment = Deployment {
        repository: repository.to_string(),
        id: doc.req("deployment.id", Doc::id)?,
        environment: doc.req("deployment.environment", Doc::environment)?,
        sha: doc.req("deployment.sha", Doc::sha)?,
        git_ref: doc.opt("deployment.ref", Doc::string)?,
        task: doc.opt("deployment.task", Doc::string)?,
        description: doc.opt("deployment.description", Doc::string)?,
        created_at: doc.req("deployment.created_at", Doc::time)?,
        creator: doc.opt("deployment.creator.login", Doc::string)?,
    };
    Ok((deployment, doc.opt("deployment.updated_at", Doc::time)?))
}

fn deployment_status_event(doc: &Doc, repository: &str) -> Outcome<Read> {
    let (deployment, _) = deployment(doc, repository)?;
    let created_at = doc.req("deployment_status.created_at", Doc::time)?;
    let updated_at = doc.opt("deployment_status.updated_at", Doc::time)?;
    let environment = doc
        .opt("deployment_status.environment", Doc::blank_or_environment)?
        .flatten();
    let status = DeploymentStatus {
        repository: repository.to_string(),
        deployment_id: deployment.id,
        id: doc.req("deployment_status.id", Doc::id)?,
        state: doc.req("deployment_status.state", Doc::word)?,
        created_at,
        environment,
    };
    Ok(Read {
        occurred_at: updated_at.unwrap_or(created_at),
        fact: Fact::DeploymentStatus(deployment, status),
    })
}

fn pull_request_event(doc: &Doc, repository: &str) -> Outcome<Read> {
    let merged = doc.opt("pull_request.merged", Doc::flag)?.unwrap_or(false);
    let (merged_at, merge_commit_sha) = if merged {
        (
            Some(doc.req("pull_request.merged_at", Doc::time)?),
            Some(doc.req("pull_request.merge_commit_sha", Doc::sha)?),
        )
    } else {
        (None, None)
    };
    let closed_at = doc.opt("pull_request.closed_at", Doc::time)?;
    let state = doc.opt("pull_request.state", Doc::word)?;
    let pr = PullRequest {
        repository: repository.to_string(),
        number: doc.req("pull_request.number", Doc::id)?,
        id: doc.req("pull_request.id", Doc::id)?,
        title: doc.opt("pull_request.title", Doc::string)?,
        state: state.unwrap_or_else(|| open_or_closed(closed_at.is_some() || merged)),
        created_at: doc.req("pull_request.created_at", Doc::time)?,
        updated_at: doc.req("pull_request.updated_at", Doc::time)?,
        closed_at,
        merged_at,
        merge_commit_sha,
        base_ref: doc.req("pull_request.base.ref", Doc::nonempty)?,
        head_ref: doc.opt("pull_request.head.ref", Doc::string)?,
        head_sha: doc.opt("pull_request.head.sha", Doc::sha)?,
        labels: doc
            .opt("pull_request.labels", Doc::labels)?
            .unwrap_or_default(),
    };
    Ok(Read {
        occurred_at: pr.updated_at,
        fact: Fact::PullRequest(pr),
    })
}

/// The state of a PR or issue whose payload gives none.
fn open_or_closed(closed: bool) -> String {
    if closed { "closed" } else { "open" }.to_string()
}

fn push_event(doc: &Doc, repository: &str) -> Outcome<Read> {
    let before = doc.req("before", Doc::sha)?;
    let after = doc.req("after", Doc::sha)?;
    let push = Push {
        repository: repository.to_string(),
        git_ref: doc.req("ref", Doc::nonempty)?,
        pushed_at: push_time(doc)?,
        forced: doc.opt("forced", Doc::flag)?.unwrap_or(false),
        created: doc.opt("created", Doc::flag)?.unwrap_or(before == ZERO_SHA),
        deleted: doc.opt("deleted", Doc::flag)?.unwrap_or(after == ZERO_SHA),
        commits: doc.opt("commits", Doc::commits)?.unwrap_or_default(),
        before,
        after,
    };
    Ok(Read {
        occurred_at: push.pushed_at,
        fact: Fact::Push(push),
    })
}

/// A push's time: `repository.pushed_at` (epoch seconds, or ISO text), else
/// `head_commit.timestamp` (a deleted ref has no head commit).
fn push_time(doc: &Doc) -> Outcome<Time> {
    if let Some(t) = doc.opt("repository.pushed_at", Doc::epoch_or_time)? {
        return Ok(t);
    }
    if let Some(t) = doc.opt("head_commit.timestamp", Doc::time)? {
        return Ok(t);
    }
    Err(doc.missing("repository.pushed_at"))
}

fn workflow_run_event(doc: &Doc, repository: &str, environment: Option<String>) -> Outcome<Read> {
    let run = WorkflowRun {
        repository: repository.to_string(),
        id: doc.req("workflow_run.id", Doc::id)?,
        attempt: doc
            .opt("workflow_run.run_attempt", Doc::attempt)?
            .unwrap_or(1),
        name: doc.opt("workflow_run.name", Doc::string)?,
        event: doc.opt("workflow_run.event", Doc::string)?,
        status: doc.req("workflow_run.status", Doc::word)?,
        conclusion: doc.opt("workflow_run.conclusion", Doc::word)?,
        head_sha: doc.opt("workflow_run.head_sha", Doc::sha)?,
        head_branch: doc.opt("workflow_run.head_branch", Doc::string)?,
        created_at: doc.req("workflow_run.created_at", Doc::time)?,
        run_started_at: doc.opt("workflow_run.run_started_at", Doc::time)?,
        updated_at: doc.req("workflow_run.updated_at", Doc::time)?,
        environment,
    };
    Ok(Read {
        occurred_at: run.updated_at,
        fact: Fact::WorkflowRun(run),
    })
}

fn issue_event(doc: &Doc, repository: &str, environment: Option<String>) -> Outcome<Read> {
    let labels = doc.req("issue.labels", Doc::labels)?;
    let closed_at = doc.opt("issue.closed_at", Doc::time)?;
    let state = doc.opt("issue.state", Doc::word)?;
    let issue = Issue {
        repository: repository.to_string(),
        number: doc.req("issue.number", Doc::id)?,
        id: doc.req("issue.id", Doc::id)?,
        title: doc.opt("issue.title", Doc::string)?,
        body: doc.opt("issue.body", Doc::string)?,
        state: state.unwrap_or_else(|| open_or_closed(closed_at.is_some())),
        created_at: doc.req("issue.created_at", Doc::time)?,
        updated_at: doc.req("issue.updated_at", Doc::time)?,
        closed_at,
        environment: environment.or_else(|| label_environment(&labels)),
        labels,
    };
    Ok(Read {
        occurred_at: issue.updated_at,
        fact: Fact::Issue(issue),
    })
}

/// The environment an issue's labels name: the first `environment:<name>` or `env:<name>`
/// (prefix case-insensitive) whose name is a valid environment name. A label that is not
/// one is only a label: it never refuses the event.
pub fn label_environment(labels: &[String]) -> Option<String> {
    labels.iter().find_map(|label| {
        let lower = label.trim().to_lowercase();
        let name = lower
            .strip_prefix("environment:")
            .or_else(|| lower.strip_prefix("env:"))?;
        check_environment_at("label", name).ok()
    })
}

/// A stable 128-bit digest of a JSON value, as 32 lower-case hex digits: FNV-1a (128-bit)
/// of its canonical compact text (object keys sorted, no spaces, numbers as written), so it
/// does not depend on serde_json's map order. Used for unknown events' keys only: it is not
/// a cryptographic hash, and PostgreSQL stores the payload's sha256 separately.
pub fn payload_digest(payload: &Value) -> String {
    let mut text = String::new();
    canonical_text(payload, &mut text);
    format!("{:032x}", fnv1a_128(text.as_bytes()))
}

fn canonical_text(v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_text(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_text(&map[key], out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u128::from(*b)).wrapping_mul(PRIME))
}

/// What a JSON value is, for messages.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Text of a value for a message: at most 40 characters of it (a string quoted).
fn shown(v: &Value) -> String {
    let (text, quote) = match v {
        Value::String(s) => (s.clone(), "\""),
        other => (other.to_string(), ""),
    };
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    format!("{quote}{short}{quote}")
}

/// A JSON value and its path (`payload`, `payload.commits[2]`), and what the event needs
/// (the hint of missing and mistyped fields). The readers take a path relative to it
/// (`deployment.id`) and name the full path (`payload.deployment.id`) in their errors.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'a> {
    value: &'a Value,
    path: &'a str,
    needs: &'a str,
}

/// A reader of one typed value at a path.
pub(crate) type Reader<'a, T> = fn(&Doc<'a>, &str, &'a Value) -> Outcome<T>;

impl<'a> Doc<'a> {
    pub(crate) fn new(value: &'a Value, path: &'a str, needs: &'a str) -> Self {
        Doc { value, path, needs }
    }

    fn payload(value: &'a Value, needs: &'a str) -> Self {
        Doc::new(value, "payload", needs)
    }

    pub(crate) fn path_of(&self, rel: &str) -> String {
        if self.path.is_empty() {
            rel.to_string()
        } else {
            format!("{}.{rel}", self.path)
        }
    }

    /// The value at `rel` (keys joined by dots); None when it, or an object on the way, is
    /// absent or null. Something else than an object on the way is an error naming it.
    pub(crate) fn lookup(&self, rel: &str) -> Outcome<Option<&'a Value>> {
        let mut cur = self.value;
        let mut walked = self.path.to_string();
        for key in rel.split('.') {
            let Value::Object(map) = cur else {
                return Err(self.wrong(&walked, "a JSON object", cur));
            };
            match map.get(key) {
                None | Some(Value::Null) => return Ok(None),
                Some(v) => cur = v,
            }
            if !walked.is_empty() {
                walked.push('.');
            }
            walked.push_str(key);
        }
        Ok(Some(cur))
    }

    /// The value at `rel` read by `read`, None when absent or null.
    pub(crate) fn opt<T>(&self, rel: &str, read: Reader<'a, T>) -> Outcome<Option<T>> {
        match self.lookup(rel)? {
            None => Ok(None),
            Some(v) => read(self, &self.path_of(rel), v).map(Some),
        }
    }

    /// The value at `rel` read by `read`; absent or null is an error naming it.
    pub(crate) fn req<T>(&self, rel: &str, read: Reader<'a, T>) -> Outcome<T> {
        self.opt(rel, read)?.ok_or_else(|| self.missing(rel))
    }

    pub(crate) fn missing(&self, rel: &str) -> Problem {
        Problem::new(
            SqlState::InvalidParameterValue,
            format!("{} is missing", self.path_of(rel)),
        )
        .hint(self.needs.to_string())
    }

    fn wrong(&self, path: &str, expected: &str, got: &Value) -> Problem {
        Problem::new(
            SqlState::InvalidParameterValue,
            format!("{path} must be {expected}, not {}", json_kind(got)),
        )
        .hint(self.needs.to_string())
    }

    fn invalid(path: &str, what: String, hint: &str) -> Problem {
        Problem::new(SqlState::InvalidParameterValue, format!("{path} {what}")).hint(hint)
    }

    pub(crate) fn text(&self, path: &str, v: &'a Value) -> Outcome<&'a str> {
        v.as_str().ok_or_else(|| self.wrong(path, "a string", v))
    }

    fn string(&self, path: &str, v: &'a Value) -> Outcome<String> {
        self.text(path, v).map(str::to_string)
    }

    /// Text that is not blank (a ref, a branch).
    fn nonempty(&self, path: &str, v: &'a Value) -> Outcome<String> {
        let s = self.text(path, v)?;
        if s.trim().is_empty() {
            return Err(Doc::invalid(path, "must not be empty".into(), self.needs));
        }
        Ok(s.to_string())
    }

    /// A state or status word: trimmed, lower-cased, not empty.
    fn word(&self, path: &str, v: &'a Value) -> Outcome<String> {
        Ok(self.nonempty(path, v)?.trim().to_lowercase())
    }

    fn action(&self, path: &str, v: &'a Value) -> Outcome<String> {
        let action = self.word(path, v)?;
        check_length(path, &action, MAX_ACTION)?;
        Ok(action)
    }

    fn flag(&self, path: &str, v: &'a Value) -> Outcome<bool> {
        v.as_bool()
            .ok_or_else(|| self.wrong(path, "true or false", v))
    }

    pub(crate) fn repository(&self, path: &str, v: &'a Value) -> Outcome<String> {
        let name = self.nonempty(path, v)?.trim().to_lowercase();
        check_length(path, &name, MAX_REPOSITORY)?;
        Ok(name)
    }

    fn environment(&self, path: &str, v: &'a Value) -> Outcome<String> {
        check_environment_at(path, self.text(path, v)?)
    }

    /// An optional environment name, None when blank (a status may name none).
    fn blank_or_environment(&self, path: &str, v: &'a Value) -> Outcome<Option<String>> {
        let s = self.text(path, v)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        check_environment_at(path, s).map(Some)
    }

    /// A positive integer (an id, a number), also from an arbitrary-precision JSON number.
    pub(crate) fn id(&self, path: &str, v: &'a Value) -> Outcome<i64> {
        let Value::Number(n) = v else {
            return Err(self.wrong(path, "an integer", v));
        };
        let text = n.to_string();
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let integral = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        let what = match n.as_i64() {
            Some(id) if id > 0 => return Ok(id),
            _ if !integral => "must be an integer",
            Some(_) => "must be a positive integer",
            None if text.starts_with('-') => "must be a positive integer",
            None => "must be at most 9223372036854775807",
        };
        Err(Doc::invalid(
            path,
            format!("{what}, not {}", shown(v)),
            self.needs,
        ))
    }

    fn attempt(&self, path: &str, v: &'a Value) -> Outcome<i32> {
        let n = self.id(path, v)?;
        i32::try_from(n).map_err(|_| {
            Doc::invalid(
                path,
                format!("must be at most {}, not {n}", i32::MAX),
                self.needs,
            )
        })
    }

    /// A commit sha: 7 to 64 hexadecimal digits, lower-cased.
    pub(crate) fn sha(&self, path: &str, v: &'a Value) -> Outcome<String> {
        let s = self.text(path, v)?;
        let ok = (7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(Doc::invalid(
                path,
                format!("must be a commit sha, not {}", shown(v)),
                SHA_HINT,
            ));
        }
        Ok(s.to_ascii_lowercase())
    }

    /// An ISO 8601 / RFC 3339 time with a UTC offset; an unreadable one is 22007.
    pub(crate) fn time(&self, path: &str, v: &'a Value) -> Outcome<Time> {
        let s = self
            .text(path, v)
            .map_err(|_| self.wrong(path, "an ISO 8601 timestamp text", v))?;
        parse_at(s)
            .and_then(chrono::DateTime::from_timestamp_micros)
            .ok_or_else(|| {
                Problem::new(
                    SqlState::InvalidDatetimeFormat,
                    format!("{path} is not a timestamp with a UTC offset: {}", shown(v)),
                )
                .hint(TIME_HINT)
            })
    }

    /// Epoch seconds (an integer, as a push webhook's `repository.pushed_at`) or ISO text.
    fn epoch_or_time(&self, path: &str, v: &'a Value) -> Outcome<Time> {
        /// 9999-12-31 23:59:59 UTC.
        const MAX_EPOCH: i64 = 253_402_300_799;
        match v {
            Value::String(_) => self.time(path, v),
            Value::Number(n) => n
                .as_i64()
                .filter(|s| (0..=MAX_EPOCH).contains(s))
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .ok_or_else(|| {
                    Doc::invalid(
                        path,
                        format!("must be whole epoch seconds from 0 to {MAX_EPOCH}, not {n}"),
                        TIME_HINT,
                    )
                }),
            _ => Err(self.wrong(path, "epoch seconds or an ISO 8601 timestamp text", v)),
        }
    }

    /// A JSON array, each element read as a `Doc` at `path[i]`.
    fn each<T>(
        &self,
        path: &str,
        v: &'a Value,
        read: impl Fn(&Doc<'_>) -> Outcome<T>,
    ) -> Outcome<Vec<T>> {
        let Value::Array(items) = v else {
            return Err(self.wrong(path, "an array", v));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            out.push(read(&Doc::new(item, &item_path, self.needs))?);
        }
        Ok(out)
    }

    /// `labels[].name`, as given.
    fn labels(&self, path: &str, v: &'a Value) -> Outcome<Vec<String>> {
        self.each(path, v, |label| label.req("name", Doc::string))
    }

    /// `commits[]` with their `id` and `timestamp`.
    fn commits(&self, path: &str, v: &'a Value) -> Outcome<Vec<Commit>> {
        self.each(path, v, |c| {
            Ok(Commit {
                sha: c.req("id", Doc::sha)?,
                at: c.req("timestamp", Doc::time)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An octokit payload example of `tests/fixtures/github/`.
    macro_rules! fixture {
        ($path:literal) => {
            serde_json::from_str::<Value>(include_str!(concat!(
                "../../tests/fixtures/github/",
                $path
            )))
            .expect($path)
        };
    }

    fn t(text: &str) -> Time {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().into()
    }

    fn ok(event: &str, payload: &Value) -> Parsed {
        parse(event, payload, None, None).unwrap_or_else(|p| panic!("{event}: {p}"))
    }

    fn err(event: &str, payload: &Value) -> Problem {
        match parse(event, payload, None, None) {
            Ok(parsed) => panic!("{event} was accepted: {parsed:?}"),
            Err(p) => p,
        }
    }

    /// The payload with the value at `path` (keys and array indices joined by dots) replaced
    /// by `value`, or removed when `value` is None.
    fn with(payload: &Value, path: &str, value: Option<Value>) -> Value {
        let mut out = payload.clone();
        let (parent, last) = path.rsplit_once('.').map_or(("", path), |(p, l)| (p, l));
        let mut cur = &mut out;
        for key in parent.split('.').filter(|k| !k.is_empty()) {
            cur = match key.parse::<usize>() {
                Ok(i) => &mut cur[i],
                Err(_) => &mut cur[key],
            };
        }
        match (cur, value) {
            (Value::Object(map), None) => {
                assert!(map.remove(last).is_some(), "{path} is not in the payload");
            }
            (Value::Object(map), Some(v)) => {
                map.insert(last.to_string(), v);
            }
            (Value::Array(items), Some(v)) => items[last.parse::<usize>().unwrap()] = v,
            (other, _) => panic!("{path}: cannot change {other}"),
        }
        out
    }

    fn merged_pr() -> Value {
        let pr = fixture!("pull_request/closed.payload.json");
        let pr = with(&pr, "pull_request.merged", Some(json!(true)));
        with(
            &pr,
            "pull_request.merged_at",
            Some(json!("2019-05-15T15:21:18Z")),
        )
    }

    fn deployment_of(parsed: &Parsed) -> &Deployment {
        match &parsed.fact {
            Some(Fact::Deployment(d)) | Some(Fact::DeploymentStatus(d, _)) => d,
            other => panic!("not a deployment: {other:?}"),
        }
    }

    #[test]
    fn deployments_are_read_from_every_example() {
        let cases = [
            (
                fixture!("deployment/payload.json"),
                "production",
                "master",
                "2019-05-15T15:20:53Z",
                "2019-05-15T15:20:53Z",
            ),
            (
                fixture!("deployment/with-installation.payload.json"),
                "production",
                "master",
                "2019-05-15T15:20:53Z",
                "2019-05-15T15:20:53Z",
            ),
            (
                fixture!("deployment/gh-pages.payload.json"),
                "github-pages",
                "gh-pages",
                "2022-01-03T01:28:30Z",
                "2022-01-03T01:28:40Z",
            ),
        ];
        for (payload, environment, git_ref, created, updated) in cases {
            let p = ok("deployment", &payload);
            assert_eq!(p.kind, "deployment");
            assert_eq!(p.event, "deployment");
            assert_eq!(p.action.as_deref(), Some("created"));
            assert!(p.known_action);
            assert_eq!(p.event_key, "deployment:145988746");
            assert_eq!(p.repository.as_deref(), Some("codertocat/hello-world"));
            assert_eq!(p.environment.as_deref(), Some(environment));
            assert_eq!(
                p.occurred_at,
                Some(t(updated)),
                "updated_at, else created_at"
            );
            let expected = Deployment {
                repository: "codertocat/hello-world".into(),
                id: 145988746,
                environment: environment.into(),
                sha: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e".into(),
                git_ref: Some(git_ref.into()),
                task: Some("deploy".into()),
                description: None,
                created_at: t(created),
                creator: payload["deployment"]["creator"]["login"]
                    .as_str()
                    .map(String::from),
            };
            assert_eq!(p.fact, Some(Fact::Deployment(expected)));
        }
        let without_updated = with(
            &fixture!("deployment/gh-pages.payload.json"),
            "deployment.updated_at",
            None,
        );
        assert_eq!(
            ok("deployment", &without_updated).occurred_at,
            Some(t("2022-01-03T01:28:30Z"))
        );
    }

    #[test]
    fn deployment_statuses_carry_their_deployment() {
        let cases = [
            (
                fixture!("deployment_status/payload.json"),
                "success",
                "production",
                "2019-05-15T15:20:55Z",
            ),
            (
                fixture!("deployment_status/with-installation.payload.json"),
                "success",
                "production",
                "2019-05-15T15:20:55Z",
            ),
            (
                fixture!("deployment_status/gh-pages.payload.json"),
                "in_progress",
                "github-pages",
                "2022-01-03T01:28:40Z",
            ),
        ];
        for (payload, state, environment, at) in cases {
            let p = ok("deployment_status", &payload);
            assert_eq!(p.kind, "deployment_status");
            assert!(p.known_action);
            assert_eq!(p.event_key, "deployment_status:209916254");
            assert_eq!(p.environment.as_deref(), Some(environment));
            assert_eq!(p.occurred_at, Some(t(at)));
            let Some(Fact::DeploymentStatus(d, s)) = &p.fact else {
                panic!("{:?}", p.fact)
            };
            assert_eq!(d.id, 145988746);
            assert_eq!(d.environment, environment);
            assert_eq!(
                s,
                &DeploymentStatus {
                    repository: "codertocat/hello-world".into(),
                    deployment_id: 145988746,
                    id: 209916254,
                    state: state.into(),
                    created_at: t(at),
                    environment: Some(environment.into()),
                }
            );
        }
        let payload = fixture!("deployment_status/payload.json");
        let shouting = with(
            &payload,
            "deployment_status.state",
            Some(json!(" FAILURE ")),
        );
        let shouting = with(&shouting, "deployment_status.environment", Some(json!("")));
        let p = ok("deployment_status", &shouting);
        let Some(Fact::DeploymentStatus(_, s)) = p.fact else {
            panic!()
        };
        assert_eq!(s.state, "failure");
        assert_eq!(s.environment, None, "a blank status environment is none");
    }

    #[test]
    fn the_deployment_names_its_environment_and_the_argument_does_not_override_it() {
        let payload = with(
            &fixture!("deployment/payload.json"),
            "deployment.environment",
            Some(json!("  Production-EU ")),
        );
        let p = parse("deployment", &payload, None, Some("staging")).unwrap();
        assert_eq!(p.environment.as_deref(), Some("production-eu"));
        assert_eq!(deployment_of(&p).environment, "production-eu");
    }

    #[test]
    fn pull_requests_of_the_examples() {
        let cases = [
            (
                fixture!("pull_request/opened.payload.json"),
                "opened",
                "open",
                "2019-05-15T15:20:33Z",
            ),
            (
                fixture!("pull_request/opened.with-null-body.json"),
                "opened",
                "open",
                "2019-05-15T15:20:33Z",
            ),
            (
                fixture!("pull_request/labeled.payload.json"),
                "labeled",
                "open",
                "2019-05-15T15:20:35Z",
            ),
            (
                fixture!("pull_request/synchronize.payload.json"),
                "synchronize",
                "open",
                "2019-05-15T15:20:33Z",
            ),
            (
                fixture!("pull_request/reopened.payload.json"),
                "reopened",
                "open",
                "2019-05-15T15:20:33Z",
            ),
            (
                fixture!("pull_request/closed.payload.json"),
                "closed",
                "closed",
                "2019-05-15T15:21:18Z",
            ),
        ];
        for (payload, action, state, updated) in cases {
            let p = ok("pull_request", &payload);
            assert_eq!(p.kind, "pull_request");
            assert_eq!(p.action.as_deref(), Some(action));
            assert!(p.known_action, "{action}");
            assert_eq!(
                p.event_key,
                format!("pull_request:279147437:{action}:{updated}")
            );
            assert_eq!(p.occurred_at, Some(t(updated)));
            let Some(Fact::PullRequest(pr)) = p.fact else {
                panic!()
            };
            assert_eq!((pr.number, pr.id), (2, 279147437));
            assert_eq!(pr.state, state);
            assert_eq!(pr.base_ref, "master");
            assert_eq!(pr.head_ref.as_deref(), Some("changes"));
            assert_eq!(
                pr.head_sha.as_deref(),
                Some("ec26c3e57ca3a959ca5aad62de7213c562f8c821")
            );
            assert_eq!(pr.labels, vec!["bug".to_string()]);
            assert_eq!(pr.created_at, t("2019-05-15T15:20:33Z"));
            assert_eq!(
                pr.title.as_deref(),
                Some("Update the README with new information.")
            );
            assert_eq!(pr.closed_at.is_some(), state == "closed");
            assert_eq!(
                (pr.merged_at, pr.merge_commit_sha),
                (None, None),
                "merged is false"
            );
        }
    }

    #[test]
    fn a_pr_is_merged_exactly_when_merged_is_true() {
        let closed = fixture!("pull_request/closed.payload.json");
        assert_eq!(closed["pull_request"]["merged"], json!(false));
        assert!(closed["pull_request"]["merge_commit_sha"].is_string());
        let with_merged_at = with(
            &closed,
            "pull_request.merged_at",
            Some(json!("2019-05-15T15:21:18Z")),
        );
        let Some(Fact::PullRequest(pr)) = ok("pull_request", &with_merged_at).fact else {
            panic!()
        };
        assert_eq!((pr.merged_at, pr.merge_commit_sha), (None, None));
        let no_merged = with(&with_merged_at, "pull_request.merged", None);
        let Some(Fact::PullRequest(pr)) = ok("pull_request", &no_merged).fact else {
            panic!()
        };
        assert_eq!(pr.merged_at, None);

        let merged = with(
            &merged_pr(),
            "pull_request.merge_commit_sha",
            Some(json!("C4295BD74FB0F4FDA03689C3DF3F2803B658FD85")),
        );
        let Some(Fact::PullRequest(pr)) = ok("pull_request", &merged).fact else {
            panic!()
        };
        assert_eq!(pr.merged_at, Some(t("2019-05-15T15:21:18Z")));
        assert_eq!(
            pr.merge_commit_sha.as_deref(),
            Some("c4295bd74fb0f4fda03689c3df3f2803b658fd85")
        );
        assert_eq!(pr.state, "closed");
    }

    #[test]
    fn pushes_of_the_examples() {
        let zero = ZERO_SHA;
        for payload in [
            fixture!("push/payload.json"),
            fixture!("push/1.payload.json"),
        ] {
            // A deleted tag: still a push (the chain walk stops at its zero `after`).
            let p = ok("push", &payload);
            assert_eq!(p.kind, "push");
            assert_eq!((p.action.as_deref(), p.known_action), (None, true));
            assert_eq!(
                p.event_key,
                format!("push:codertocat/hello-world:refs/tags/simple-tag:{zero}")
            );
            assert_eq!(
                p.occurred_at,
                Some(t("2019-05-15T15:20:57Z")),
                "epoch 1557933657"
            );
            let expected = Push {
                repository: "codertocat/hello-world".into(),
                git_ref: "refs/tags/simple-tag".into(),
                before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246".into(),
                after: zero.into(),
                pushed_at: t("2019-05-15T15:20:57Z"),
                forced: false,
                created: false,
                deleted: true,
                commits: vec![],
            };
            assert_eq!(p.fact, Some(Fact::Push(expected)));
        }
        let p = ok("push", &fixture!("push/with-new-branch.payload.json"));
        assert_eq!(p.event_key, "push:codertocat/hello-world:refs/heads/master:6113728f27ae82c7b1a177c8d03f9e96e0adf246");
        let Some(Fact::Push(push)) = p.fact else {
            panic!()
        };
        assert_eq!(
            (push.created, push.deleted, push.forced),
            (true, false, false)
        );
        assert_eq!(push.before, zero);
        assert_eq!(
            push.commits,
            vec![Commit {
                sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246".into(),
                at: t("2019-05-15T15:19:25Z")
            }]
        );
    }

    #[test]
    fn a_push_time_is_epoch_or_text_else_the_head_commit() {
        let payload = fixture!("push/with-new-branch.payload.json");
        let time = |p: &Value| ok("push", p).occurred_at.unwrap();
        assert_eq!(time(&payload), t("2019-05-15T15:20:57Z"));
        let text = with(
            &payload,
            "repository.pushed_at",
            Some(json!("2019-05-15T17:20:58+02:00")),
        );
        assert_eq!(time(&text), t("2019-05-15T15:20:58Z"));
        let big: Value = serde_json::from_str(r#"{"n": 1557933659}"#).unwrap();
        let precise = with(&payload, "repository.pushed_at", Some(big["n"].clone()));
        assert_eq!(time(&precise), t("2019-05-15T15:20:59Z"));
        let no_pushed_at = with(&payload, "repository.pushed_at", None);
        assert_eq!(
            time(&no_pushed_at),
            t("2019-05-15T15:19:25Z"),
            "head_commit.timestamp"
        );
        let null_pushed_at = with(&payload, "repository.pushed_at", Some(Value::Null));
        assert_eq!(time(&null_pushed_at), t("2019-05-15T15:19:25Z"));

        // A deleted ref has no head commit: without pushed_at it has no time.
        let deleted = with(&fixture!("push/payload.json"), "repository.pushed_at", None);
        let p = err("push", &deleted);
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert_eq!(p.message, "payload.repository.pushed_at is missing");
        assert!(p.hint.unwrap().contains("head_commit.timestamp"));

        for (bad, message) in [
            (json!(-1), "payload.repository.pushed_at must be whole epoch seconds from 0 to 253402300799, not -1"),
            (json!(1.5), "payload.repository.pushed_at must be whole epoch seconds from 0 to 253402300799, not 1.5"),
            (json!(true), "payload.repository.pushed_at must be epoch seconds or an ISO 8601 timestamp text, not a boolean"),
        ] {
            let p = err("push", &with(&payload, "repository.pushed_at", Some(bad)));
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert_eq!(p.message, message);
        }
        let p = err(
            "push",
            &with(
                &payload,
                "repository.pushed_at",
                Some(json!("2019-05-15T15:20:57")),
            ),
        );
        assert_eq!(p.state, SqlState::InvalidDatetimeFormat, "no offset");
        assert!(p
            .message
            .starts_with("payload.repository.pushed_at is not a timestamp"));
    }

    #[test]
    fn created_and_deleted_follow_the_zero_shas_when_absent() {
        let payload = with(&fixture!("push/payload.json"), "deleted", None);
        let payload = with(&payload, "created", None);
        let Some(Fact::Push(push)) = ok("push", &payload).fact else {
            panic!()
        };
        assert_eq!((push.created, push.deleted), (false, true));
        let new = with(
            &fixture!("push/with-new-branch.payload.json"),
            "created",
            None,
        );
        let Some(Fact::Push(push)) = ok("push", &new).fact else {
            panic!()
        };
        assert!(push.created && !push.deleted);
        let forced = with(&new, "forced", Some(json!(true)));
        let Some(Fact::Push(push)) = ok("push", &forced).fact else {
            panic!()
        };
        assert!(push.forced);
    }

    #[test]
    fn workflow_runs_of_the_examples() {
        let cases = [
            (
                fixture!("workflow_run/completed.payload.json"),
                "completed",
                "completed",
                Some("success"),
                "2020-10-05T16:33:49Z",
            ),
            (
                fixture!("workflow_run/requested.payload.json"),
                "requested",
                "queued",
                None,
                "2020-10-05T16:33:24Z",
            ),
        ];
        for (payload, action, status, conclusion, updated) in cases {
            let p = parse("workflow_run", &payload, None, Some(" CI ")).unwrap();
            assert_eq!(p.kind, "workflow_run");
            assert_eq!(p.action.as_deref(), Some(action));
            assert!(p.known_action);
            assert_eq!(p.event_key, format!("workflow_run:289782451:1:{status}"));
            assert_eq!(p.repository.as_deref(), Some("octo-org/octo-repo"));
            assert_eq!(p.environment.as_deref(), Some("ci"));
            assert_eq!(p.occurred_at, Some(t(updated)));
            let expected = WorkflowRun {
                repository: "octo-org/octo-repo".into(),
                id: 289782451,
                attempt: 1,
                name: Some(String::new()),
                event: Some("repository_dispatch".into()),
                status: status.into(),
                conclusion: conclusion.map(String::from),
                head_sha: Some("3484a3fb816e0859fd6e1cea078d76385ff50625".into()),
                head_branch: Some("master".into()),
                created_at: t("2020-10-05T16:33:24Z"),
                run_started_at: Some(t("2020-10-05T16:33:49Z")),
                updated_at: t(updated),
                environment: Some("ci".into()),
            };
            assert_eq!(p.fact, Some(Fact::WorkflowRun(expected)));
        }
        let payload = fixture!("workflow_run/completed.payload.json");
        let attempt = |p: &Value| match ok("workflow_run", p).fact {
            Some(Fact::WorkflowRun(r)) => r.attempt,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            attempt(&with(&payload, "workflow_run.run_attempt", None)),
            1
        );
        assert_eq!(
            attempt(&with(&payload, "workflow_run.run_attempt", Some(json!(3)))),
            3
        );
        let p = ok(
            "workflow_run",
            &with(&payload, "workflow_run.run_attempt", Some(json!(3))),
        );
        assert_eq!(p.event_key, "workflow_run:289782451:3:completed");
        assert_eq!(p.environment, None);
        let p = err(
            "workflow_run",
            &with(
                &payload,
                "workflow_run.run_attempt",
                Some(json!(2_147_483_648_i64)),
            ),
        );
        assert_eq!(
            p.message,
            "payload.workflow_run.run_attempt must be at most 2147483647, not 2147483648"
        );
    }

    #[test]
    fn issues_of_the_examples() {
        let cases = [
            (
                fixture!("issues/opened.payload.json"),
                "opened",
                "open",
                444500041,
                "2019-05-15T15:20:18Z",
                vec!["bug"],
            ),
            (
                fixture!("issues/labeled.payload.json"),
                "labeled",
                "open",
                444500041,
                "2019-05-15T15:20:18Z",
                vec!["bug"],
            ),
            (
                fixture!("issues/reopened.payload.json"),
                "reopened",
                "open",
                444500041,
                "2021-10-11T16:40:56Z",
                vec!["bug"],
            ),
            (
                fixture!("issues/deleted.payload.json"),
                "deleted",
                "closed",
                444500041,
                "2021-10-11T16:40:56Z",
                vec!["bug"],
            ),
            (
                fixture!("issues/transferred.payload.json"),
                "transferred",
                "open",
                512748900,
                "2019-10-25T22:46:30Z",
                vec![],
            ),
        ];
        for (payload, action, state, id, updated, labels) in cases {
            let p = ok("issues", &payload);
            assert_eq!((p.kind, p.event.as_str()), ("issue", "issues"));
            assert_eq!(p.action.as_deref(), Some(action));
            assert!(p.known_action, "{action}");
            assert_eq!(p.event_key, format!("issues:{id}:{action}:{updated}"));
            assert_eq!(p.occurred_at, Some(t(updated)));
            assert_eq!(p.environment, None);
            let Some(Fact::Issue(issue)) = p.fact else {
                panic!()
            };
            assert_eq!(issue.id, id);
            assert_eq!(issue.number, 1);
            assert_eq!(issue.state, state);
            assert_eq!(issue.labels, labels);
            assert_eq!(
                issue.closed_at.is_some(),
                action == "reopened" || action == "deleted"
            );
        }
        let opened = ok("issues", &fixture!("issues/opened.payload.json"));
        let Some(Fact::Issue(issue)) = opened.fact else {
            panic!()
        };
        assert_eq!(
            issue.title.as_deref(),
            Some("Spelling error in the README file")
        );
        assert_eq!(issue.repository, "codertocat/hello-world");
    }

    #[test]
    fn an_incident_takes_the_argument_else_an_environment_label() {
        let payload = fixture!("issues/opened.payload.json");
        let labelled = with(
            &payload,
            "issue.labels",
            Some(json!([
                {"name": "incident"}, {"name": "env:"}, {"name": "Environment: Staging-EU "}, {"name": "env:prod"}
            ])),
        );
        let env = |p: &Parsed| match &p.fact {
            Some(Fact::Issue(i)) => i.environment.clone(),
            other => panic!("{other:?}"),
        };
        let p = ok("issues", &labelled);
        assert_eq!(
            env(&p).as_deref(),
            Some("staging-eu"),
            "the first usable label"
        );
        assert_eq!(p.environment.as_deref(), Some("staging-eu"));
        let p = parse("issues", &labelled, None, Some("Production")).unwrap();
        assert_eq!(env(&p).as_deref(), Some("production"));
        assert_eq!(p.environment.as_deref(), Some("production"));
        assert_eq!(env(&ok("issues", &payload)), None);
        let env_label = with(&payload, "issue.labels", Some(json!([{"name": "ENV:qa"}])));
        assert_eq!(env(&ok("issues", &env_label)).as_deref(), Some("qa"));
    }

    #[test]
    fn unknown_events_are_kept_with_a_digest_key() {
        let ping = fixture!("ping/payload.json");
        let p = ok("ping", &ping);
        assert_eq!(p.kind, "unknown");
        assert_eq!(p.event, "ping");
        assert!(!p.known_action);
        assert_eq!(p.fact, None);
        assert_eq!(p.occurred_at, None);
        assert_eq!(p.repository.as_deref(), Some("octocoders/hello-world"));
        assert_eq!(p.event_key, format!("ping:{}", payload_digest(&ping)));
        assert_eq!(p.event_key.len(), "ping:".len() + 32);
        let other = fixture!("ping/with-organization.payload.json");
        let q = ok(" Ping ", &other);
        assert_eq!(q.event, "ping");
        assert_eq!(q.repository, None);
        assert_ne!(q.event_key, p.event_key, "another payload, another key");
        assert_eq!(ok("ping", &ping).event_key, p.event_key, "stable");

        // `issue` is not the event name of issues, and a release is not read.
        let issue = fixture!("issues/opened.payload.json");
        assert_eq!(ok("issue", &issue).kind, "unknown");
        let release = ok("release", &json!({"action": "published", "release": {}}));
        assert_eq!(
            (release.kind, release.action.as_deref()),
            ("unknown", Some("published"))
        );
        assert!(release.event_key.starts_with("release:"));
        // Nothing is required of an unknown event.
        assert_eq!(ok("ping", &json!({"repository": 3})).repository, None);
    }

    #[test]
    fn an_unknown_action_still_gives_its_fact() {
        let payload = with(
            &fixture!("pull_request/opened.payload.json"),
            "action",
            Some(json!("frobnicated")),
        );
        let p = ok("pull_request", &payload);
        assert_eq!(p.kind, "pull_request");
        assert!(!p.known_action);
        assert!(matches!(p.fact, Some(Fact::PullRequest(_))));
        assert_eq!(
            p.event_key,
            "pull_request:279147437:frobnicated:2019-05-15T15:20:33Z"
        );
        for (event, fixture, action) in [
            ("deployment", fixture!("deployment/payload.json"), "updated"),
            (
                "workflow_run",
                fixture!("workflow_run/completed.payload.json"),
                "created",
            ),
            ("issues", fixture!("issues/opened.payload.json"), "merged"),
        ] {
            let p = ok(event, &with(&fixture, "action", Some(json!(action))));
            assert!(!p.known_action, "{event} {action}");
            assert!(p.fact.is_some());
        }
        let p = ok(
            "workflow_run",
            &with(
                &fixture!("workflow_run/completed.payload.json"),
                "action",
                Some(json!("In_Progress")),
            ),
        );
        assert_eq!(
            (p.action.as_deref(), p.known_action),
            (Some("in_progress"), true)
        );
        let no_action = with(&fixture!("deployment/payload.json"), "action", None);
        let p = ok("deployment", &no_action);
        assert_eq!((p.action, p.known_action), (None, true));
        let p = err("pull_request", &with(&payload, "action", Some(json!(1))));
        assert_eq!(p.message, "payload.action must be a string, not a number");
    }

    #[test]
    fn a_delivery_id_is_the_key() {
        let payload = fixture!("pull_request/opened.payload.json");
        let p = parse(
            "pull_request",
            &payload,
            Some(" 72d3162e-cc78-11e3-81ab-4c9367dc0958 "),
            None,
        )
        .unwrap();
        assert_eq!(p.event_key, "delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958");
        assert_eq!(
            p.delivery_id.as_deref(),
            Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        let ping = parse("ping", &fixture!("ping/payload.json"), Some("d-1"), None).unwrap();
        assert_eq!(ping.event_key, "delivery:d-1");
        assert_eq!(ok("pull_request", &payload).delivery_id, None);
    }

    #[test]
    fn the_same_instant_at_another_offset_is_the_same_key() {
        let payload = fixture!("pull_request/opened.payload.json");
        let shifted = with(
            &payload,
            "pull_request.updated_at",
            Some(json!("2019-05-15T17:20:33+02:00")),
        );
        assert_eq!(
            ok("pull_request", &shifted).event_key,
            ok("pull_request", &payload).event_key
        );
        let later = with(
            &payload,
            "pull_request.updated_at",
            Some(json!("2019-05-15T15:20:34.5Z")),
        );
        assert_eq!(
            ok("pull_request", &later).event_key,
            "pull_request:279147437:opened:2019-05-15T15:20:34.500Z"
        );
    }

    /// Every required field of every kind, removed (and set to null) one at a time.
    #[test]
    fn every_required_field_is_named_when_missing() {
        let deployment = fixture!("deployment/payload.json");
        let status = fixture!("deployment_status/payload.json");
        let pr = fixture!("pull_request/opened.payload.json");
        let merged = merged_pr();
        let push = fixture!("push/with-new-branch.payload.json");
        let run = fixture!("workflow_run/completed.payload.json");
        let issue = fixture!("issues/labeled.payload.json");
        let cases: Vec<(&str, &Value, &str, &str)> = vec![
            (
                "deployment",
                &deployment,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            (
                "deployment",
                &deployment,
                "deployment.id",
                "payload.deployment.id",
            ),
            (
                "deployment",
                &deployment,
                "deployment.sha",
                "payload.deployment.sha",
            ),
            (
                "deployment",
                &deployment,
                "deployment.environment",
                "payload.deployment.environment",
            ),
            (
                "deployment",
                &deployment,
                "deployment.created_at",
                "payload.deployment.created_at",
            ),
            (
                "deployment",
                &deployment,
                "deployment",
                "payload.deployment.id",
            ),
            (
                "deployment",
                &deployment,
                "repository",
                "payload.repository.full_name",
            ),
            (
                "deployment_status",
                &status,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            (
                "deployment_status",
                &status,
                "deployment.id",
                "payload.deployment.id",
            ),
            (
                "deployment_status",
                &status,
                "deployment.sha",
                "payload.deployment.sha",
            ),
            (
                "deployment_status",
                &status,
                "deployment.environment",
                "payload.deployment.environment",
            ),
            (
                "deployment_status",
                &status,
                "deployment.created_at",
                "payload.deployment.created_at",
            ),
            (
                "deployment_status",
                &status,
                "deployment_status.id",
                "payload.deployment_status.id",
            ),
            (
                "deployment_status",
                &status,
                "deployment_status.state",
                "payload.deployment_status.state",
            ),
            (
                "deployment_status",
                &status,
                "deployment_status.created_at",
                "payload.deployment_status.created_at",
            ),
            (
                "pull_request",
                &pr,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.number",
                "payload.pull_request.number",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.id",
                "payload.pull_request.id",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.created_at",
                "payload.pull_request.created_at",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.updated_at",
                "payload.pull_request.updated_at",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.base.ref",
                "payload.pull_request.base.ref",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.base",
                "payload.pull_request.base.ref",
            ),
            (
                "pull_request",
                &merged,
                "pull_request.merged_at",
                "payload.pull_request.merged_at",
            ),
            (
                "pull_request",
                &merged,
                "pull_request.merge_commit_sha",
                "payload.pull_request.merge_commit_sha",
            ),
            (
                "push",
                &push,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            ("push", &push, "ref", "payload.ref"),
            ("push", &push, "before", "payload.before"),
            ("push", &push, "after", "payload.after"),
            ("push", &push, "commits.0.id", "payload.commits[0].id"),
            (
                "push",
                &push,
                "commits.0.timestamp",
                "payload.commits[0].timestamp",
            ),
            (
                "workflow_run",
                &run,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            (
                "workflow_run",
                &run,
                "workflow_run.id",
                "payload.workflow_run.id",
            ),
            (
                "workflow_run",
                &run,
                "workflow_run.status",
                "payload.workflow_run.status",
            ),
            (
                "workflow_run",
                &run,
                "workflow_run.created_at",
                "payload.workflow_run.created_at",
            ),
            (
                "workflow_run",
                &run,
                "workflow_run.updated_at",
                "payload.workflow_run.updated_at",
            ),
            (
                "issues",
                &issue,
                "repository.full_name",
                "payload.repository.full_name",
            ),
            ("issues", &issue, "issue.number", "payload.issue.number"),
            ("issues", &issue, "issue.id", "payload.issue.id"),
            (
                "issues",
                &issue,
                "issue.created_at",
                "payload.issue.created_at",
            ),
            (
                "issues",
                &issue,
                "issue.updated_at",
                "payload.issue.updated_at",
            ),
            ("issues", &issue, "issue.labels", "payload.issue.labels"),
            (
                "issues",
                &issue,
                "issue.labels.0.name",
                "payload.issue.labels[0].name",
            ),
        ];
        for (event, payload, path, named) in cases {
            assert!(
                parse(event, payload, None, None).is_ok(),
                "{event} as given"
            );
            for changed in [
                with(payload, path, None),
                with(payload, path, Some(Value::Null)),
            ] {
                let p = err(event, &changed);
                assert_eq!(p.state, SqlState::InvalidParameterValue, "{event} {path}");
                assert_eq!(p.message, format!("{named} is missing"), "{event} {path}");
                let hint = p.hint.unwrap_or_default();
                assert!(
                    hint.starts_with(&format!(
                        "a{} {event} event needs",
                        if event == "issues" { "n" } else { "" }
                    )),
                    "{hint}"
                );
            }
        }
    }

    #[test]
    fn fields_of_the_wrong_type_are_named() {
        let pr = fixture!("pull_request/opened.payload.json");
        let deployment = fixture!("deployment/payload.json");
        let push = fixture!("push/with-new-branch.payload.json");
        let issue = fixture!("issues/opened.payload.json");
        let cases: Vec<(&str, &Value, &str, Value, &str)> = vec![
            (
                "pull_request",
                &pr,
                "pull_request.number",
                json!("2"),
                "payload.pull_request.number must be an integer, not a string",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.id",
                json!(1.5),
                "payload.pull_request.id must be an integer, not 1.5",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.id",
                json!(0),
                "payload.pull_request.id must be a positive integer, not 0",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.number",
                json!(-2),
                "payload.pull_request.number must be a positive integer, not -2",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.merged",
                json!("true"),
                "payload.pull_request.merged must be true or false, not a string",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.base",
                json!("master"),
                "payload.pull_request.base must be a JSON object, not a string",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.base.ref",
                json!(["master"]),
                "payload.pull_request.base.ref must be a string, not an array",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.base.ref",
                json!(" "),
                "payload.pull_request.base.ref must not be empty",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.created_at",
                json!(1557933633),
                "payload.pull_request.created_at must be an ISO 8601 timestamp text, not a number",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.labels",
                json!({"name": "bug"}),
                "payload.pull_request.labels must be an array, not an object",
            ),
            (
                "pull_request",
                &pr,
                "pull_request.title",
                json!(7),
                "payload.pull_request.title must be a string, not a number",
            ),
            (
                "pull_request",
                &pr,
                "repository",
                json!("octo/repo"),
                "payload.repository must be a JSON object, not a string",
            ),
            (
                "pull_request",
                &pr,
                "repository.full_name",
                json!(""),
                "payload.repository.full_name must not be empty",
            ),
            (
                "deployment",
                &deployment,
                "deployment",
                json!([1]),
                "payload.deployment must be a JSON object, not an array",
            ),
            (
                "deployment",
                &deployment,
                "deployment.id",
                json!(true),
                "payload.deployment.id must be an integer, not a boolean",
            ),
            (
                "deployment",
                &deployment,
                "deployment.environment",
                json!(1),
                "payload.deployment.environment must be a string, not a number",
            ),
            (
                "deployment",
                &deployment,
                "deployment.environment",
                json!("  "),
                "payload.deployment.environment must not be empty",
            ),
            (
                "push",
                &push,
                "commits",
                json!({}),
                "payload.commits must be an array, not an object",
            ),
            (
                "push",
                &push,
                "commits.0",
                json!("6113728"),
                "payload.commits[0] must be a JSON object, not a string",
            ),
            (
                "push",
                &push,
                "forced",
                json!(0),
                "payload.forced must be true or false, not a number",
            ),
            (
                "issues",
                &issue,
                "issue.labels.0",
                json!("bug"),
                "payload.issue.labels[0] must be a JSON object, not a string",
            ),
            (
                "issues",
                &issue,
                "issue.labels.0.name",
                json!(1),
                "payload.issue.labels[0].name must be a string, not a number",
            ),
        ];
        for (event, payload, path, value, message) in cases {
            let p = err(event, &with(payload, path, Some(value)));
            assert_eq!(p.state, SqlState::InvalidParameterValue, "{path}");
            assert_eq!(p.message, message);
            assert!(p.hint.is_some(), "{path}");
        }
        let p = err(
            "pull_request",
            &with(&pr, "pull_request.created_at", Some(json!("yesterday"))),
        );
        assert_eq!(p.state, SqlState::InvalidDatetimeFormat);
        assert_eq!(
            p.message,
            "payload.pull_request.created_at is not a timestamp with a UTC offset: \"yesterday\""
        );
    }

    #[test]
    fn ids_beyond_64_bits_and_arbitrary_precision_numbers() {
        let pr = fixture!("pull_request/opened.payload.json");
        let numbers: Value = serde_json::from_str(
            r#"{"ok": 279147437, "big": 9223372036854775808, "huge": -99999999999999999999999, "exp": 1e3, "max": 9223372036854775807}"#,
        )
        .unwrap();
        let id = |n: &str| {
            parse(
                "pull_request",
                &with(&pr, "pull_request.id", Some(numbers[n].clone())),
                None,
                None,
            )
        };
        assert_eq!(
            id("ok").unwrap().event_key,
            "pull_request:279147437:opened:2019-05-15T15:20:33Z"
        );
        assert!(id("max")
            .unwrap()
            .event_key
            .starts_with("pull_request:9223372036854775807:"));
        assert_eq!(
            id("big").unwrap_err().message,
            "payload.pull_request.id must be at most 9223372036854775807, not 9223372036854775808"
        );
        assert_eq!(
            id("huge").unwrap_err().message,
            "payload.pull_request.id must be a positive integer, not -99999999999999999999999"
        );
        assert_eq!(
            id("exp").unwrap_err().message,
            "payload.pull_request.id must be an integer, not 1e+3"
        );
    }

    #[test]
    fn shas_are_checked_and_lower_cased() {
        let deployment = fixture!("deployment/payload.json");
        let sha = |v: Value| {
            parse(
                "deployment",
                &with(&deployment, "deployment.sha", Some(v)),
                None,
                None,
            )
        };
        assert_eq!(
            deployment_of(&sha(json!("F95F852")).unwrap()).sha,
            "f95f852"
        );
        assert_eq!(
            deployment_of(&sha(json!("a".repeat(64))).unwrap()).sha,
            "a".repeat(64)
        );
        for bad in [
            json!("f95f85"),
            json!("a".repeat(65)),
            json!("f95f852g"),
            json!("f95f852 "),
            json!(""),
            json!("main"),
        ] {
            let p = sha(bad.clone()).unwrap_err();
            assert_eq!(p.state, SqlState::InvalidParameterValue, "{bad}");
            assert!(
                p.message
                    .starts_with("payload.deployment.sha must be a commit sha, not \""),
                "{}",
                p.message
            );
            assert!(p.hint.unwrap().contains("hexadecimal"));
        }
        assert_eq!(
            sha(json!(123456789)).unwrap_err().message,
            "payload.deployment.sha must be a string, not a number"
        );
        let long = sha(json!("x".repeat(100))).unwrap_err().message;
        assert!(
            long.ends_with(&format!("\"{}...\"", "x".repeat(40))),
            "shown shortened: {long}"
        );

        let push = fixture!("push/with-new-branch.payload.json");
        for (path, named) in [
            ("before", "payload.before"),
            ("after", "payload.after"),
            ("commits.0.id", "payload.commits[0].id"),
        ] {
            let p = err("push", &with(&push, path, Some(json!("not-a-sha"))));
            assert_eq!(
                p.message,
                format!("{named} must be a commit sha, not \"not-a-sha\"")
            );
        }
        let p = err(
            "pull_request",
            &with(
                &merged_pr(),
                "pull_request.merge_commit_sha",
                Some(json!("c4295bd74fb0f4fda03689c3df3f2803b658fd8z")),
            ),
        );
        assert!(p
            .message
            .starts_with("payload.pull_request.merge_commit_sha must be a commit sha"));
        // Not merged: its merge_commit_sha is not read at all.
        assert!(parse(
            "pull_request",
            &with(
                &fixture!("pull_request/closed.payload.json"),
                "pull_request.merge_commit_sha",
                Some(json!("zzz"))
            ),
            None,
            None
        )
        .is_ok());
    }

    #[test]
    fn arguments_and_strings_are_bounded() {
        let pr = fixture!("pull_request/opened.payload.json");
        let arg = |event: &str, delivery: Option<&str>, env: Option<&str>| {
            parse(event, &pr, delivery, env).unwrap_err()
        };
        let cases = [
            (
                arg("", None, None),
                SqlState::InvalidParameterValue,
                "event must not be empty".to_string(),
            ),
            (
                arg("  ", None, None),
                SqlState::InvalidParameterValue,
                "event must not be empty".to_string(),
            ),
            (
                arg("pull\n_request", None, None),
                SqlState::InvalidParameterValue,
                "event must not contain control characters".to_string(),
            ),
            (
                arg(&"e".repeat(101), None, None),
                SqlState::StringDataRightTruncation,
                "event is longer than 100 characters".to_string(),
            ),
            (
                arg("pull_request", Some(" "), None),
                SqlState::InvalidParameterValue,
                "delivery_id must not be empty".to_string(),
            ),
            (
                arg("pull_request", Some(&"d".repeat(201)), None),
                SqlState::StringDataRightTruncation,
                "delivery_id is longer than 200 characters".to_string(),
            ),
            (
                arg("pull_request", None, Some("")),
                SqlState::InvalidParameterValue,
                "environment must not be empty".to_string(),
            ),
            (
                arg("pull_request", None, Some(&"p".repeat(101))),
                SqlState::StringDataRightTruncation,
                "environment is longer than 100 characters".to_string(),
            ),
        ];
        for (p, state, message) in cases {
            assert_eq!((p.state, p.message), (state, message));
            assert!(p.hint.is_some());
        }
        assert!(parse(
            &"e".repeat(100),
            &pr,
            Some(&"d".repeat(200)),
            Some(&"p".repeat(100))
        )
        .is_ok());
        assert_eq!(ok("PULL_REQUEST", &pr).kind, "pull_request");

        let repo = |name: String| {
            parse(
                "pull_request",
                &with(&pr, "repository.full_name", Some(json!(name))),
                None,
                None,
            )
        };
        assert_eq!(
            repo(format!("{}/r", "O".repeat(198))).unwrap().repository,
            Some(format!("{}/r", "o".repeat(198)))
        );
        let p = repo(format!("{}/r", "o".repeat(199))).unwrap_err();
        assert_eq!(p.state, SqlState::StringDataRightTruncation);
        assert_eq!(
            p.message,
            "payload.repository.full_name is longer than 200 characters"
        );
        let p = err(
            "pull_request",
            &with(&pr, "action", Some(json!("a".repeat(101)))),
        );
        assert_eq!(p.message, "payload.action is longer than 100 characters");
        let p = err(
            "deployment",
            &with(
                &fixture!("deployment/payload.json"),
                "deployment.environment",
                Some(json!("e".repeat(101))),
            ),
        );
        assert_eq!(
            (p.state, p.message.as_str()),
            (
                SqlState::StringDataRightTruncation,
                "payload.deployment.environment is longer than 100 characters"
            )
        );
    }

    #[test]
    fn a_payload_is_an_object() {
        for payload in [json!([]), json!("{}"), json!(null), json!(1)] {
            for event in ["push", "ping"] {
                let p = err(event, &payload);
                assert_eq!(p.state, SqlState::InvalidParameterValue);
                assert!(
                    p.message.starts_with("payload must be a JSON object, not "),
                    "{}",
                    p.message
                );
            }
        }
    }

    #[test]
    fn the_digest_is_fnv1a_128_of_the_canonical_text() {
        assert_eq!(
            format!("{:032x}", fnv1a_128(b"")),
            "6c62272e07bb014262b821756295c58d"
        );
        assert_eq!(
            format!("{:032x}", fnv1a_128(b"a")),
            "d228cb696f1a8caf78912b704e4a8964"
        );
        assert_eq!(
            format!("{:032x}", fnv1a_128(b"foobar")),
            "343e1662793c64bf6f0d3597ba446f18"
        );
        let v: Value =
            serde_json::from_str(r#"{"b": 1.50, "a": [true, null, "x\"y", {"d": {}, "c": []}]}"#)
                .unwrap();
        let mut text = String::new();
        canonical_text(&v, &mut text);
        assert_eq!(text, r#"{"a":[true,null,"x\"y",{"c":[],"d":{}}],"b":1.50}"#);
        assert_eq!(
            payload_digest(&v),
            format!("{:032x}", fnv1a_128(text.as_bytes()))
        );
        assert_ne!(
            payload_digest(&json!({"a": 1})),
            payload_digest(&json!({"a": 2}))
        );
    }
}
