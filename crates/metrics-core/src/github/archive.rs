//! Batches of GitHub events (`metrics.record_github_events`): a JSON array whose objects are
//! either webhook deliveries `{"event", "payload", "delivery_id"?, "environment"?}` or GitHub
//! events-API / GH Archive objects `{"type": "PullRequestEvent", "payload", "created_at",
//! "repo": {"name"}, "id"?, "actor"?, "public"?, "org"?}`.
//!
//! The batch is checked as a whole: the first bad object refuses it, its error prefixed with
//! `events[i].` (every message of `event` starts with the path it is about).
//!
//! An events-API payload is a webhook payload with less in it: no `repository` (the object's
//! `repo.name` says it), and a push's is `{push_id, size, distinct_size, ref, head, before,
//! commits: [{sha, author, message, distinct, url}]}`, with no times. Such a payload is
//! completed (repository, `after` from `head`, commit `id` from `sha`, the push's and its
//! commits' time from the object's `created_at`) and then read by `event::parse`, so the
//! required fields and their errors are the same as for a webhook.

use serde_json::{json, Map, Value};

use crate::common::problem::{check_length, Outcome, Problem, SqlState};
use crate::github::event::{self, json_kind, Doc, MAX_EVENT_NAME};
use crate::github::{Parsed, Time};

/// Most events in one `record_github_events` call.
pub const MAX_GITHUB_BATCH: usize = 10_000;

const WEBHOOK_KEYS: [&str; 4] = ["event", "payload", "delivery_id", "environment"];
const ARCHIVE_KEYS: [&str; 8] = [
    "type",
    "payload",
    "created_at",
    "repo",
    "id",
    "actor",
    "public",
    "org",
];

const BATCH_HINT: &str = "pass a JSON array of webhook deliveries {\"event\": \"pull_request\", \"payload\": {...}, \"delivery_id\": \"...\", \"environment\": \"...\"} (the last two optional) or of GitHub events-API / GH Archive objects {\"type\": \"PullRequestEvent\", \"payload\": {...}, \"created_at\": \"2019-05-15T15:20:33Z\", \"repo\": {\"name\": \"owner/repo\"}, \"id\": \"...\"}";
const ARCHIVE_NEEDS: &str = "a GitHub events-API / GH Archive object needs type, payload, created_at (ISO 8601) and repo.name, and may have id, actor, public and org";
const ARCHIVE_PUSH_NEEDS: &str = "an events-API push payload needs ref, before and head (or after), and a sha for each of commits";

/// The `X-GitHub-Event` name of an events-API type; None for the types this version does
/// not normalise (they are read as unknown events named by their type).
pub fn event_of_type(event_type: &str) -> Option<&'static str> {
    match event_type {
        "PullRequestEvent" => Some("pull_request"),
        "PushEvent" => Some("push"),
        "IssuesEvent" => Some("issues"),
        "DeploymentEvent" => Some("deployment"),
        "DeploymentStatusEvent" => Some("deployment_status"),
        "WorkflowRunEvent" => Some("workflow_run"),
        _ => None,
    }
}

/// Reads and checks a whole batch; the first bad object refuses it (see the module).
pub fn parse_batch(events: &Value) -> Outcome<Vec<Parsed>> {
    let Some(items) = events.as_array() else {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("events must be a JSON array, not {}", json_kind(events)),
        )
        .hint(BATCH_HINT));
    };
    if items.len() > MAX_GITHUB_BATCH {
        return Err(Problem::new(
            SqlState::ProgramLimitExceeded,
            format!(
                "a batch holds at most {MAX_GITHUB_BATCH} events, not {}",
                items.len()
            ),
        )
        .hint("split the batch into smaller calls"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(parse_object(item).map_err(|p| event_problem(i, p))?);
    }
    Ok(out)
}

/// One object of a batch, either shape. Its errors name paths inside it (`payload.ref`),
/// or start with `must be` when it is not an object at all.
pub fn parse_object(item: &Value) -> Outcome<Parsed> {
    let Some(obj) = item.as_object() else {
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("must be a JSON object, not {}", json_kind(item)),
        )
        .hint(BATCH_HINT));
    };
    if obj.contains_key("event") {
        webhook(item, obj)
    } else if obj.contains_key("type") {
        archive(item, obj)
    } else {
        Err(Problem::new(SqlState::InvalidParameterValue, "event is missing").hint(BATCH_HINT))
    }
}

fn event_problem(index: usize, problem: Problem) -> Problem {
    let message = if problem.message.starts_with("must be") {
        format!("events[{index}] {}", problem.message)
    } else {
        format!("events[{index}].{}", problem.message)
    };
    Problem {
        message,
        detail: Some(format!(
            "The batch was refused as a whole at the event with index {index} (counting from 0); nothing was recorded."
        )),
        ..problem
    }
}

fn refuse_unknown_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Outcome<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => {
            let shown: String = key.chars().take(40).collect();
            Err(Problem::new(
                SqlState::InvalidParameterValue,
                format!("{shown} is not a key of {what}"),
            )
            .hint(format!("{what} has the keys {}", allowed.join(", "))))
        }
    }
}

fn webhook(item: &Value, obj: &Map<String, Value>) -> Outcome<Parsed> {
    refuse_unknown_keys(obj, &WEBHOOK_KEYS, "a webhook delivery")?;
    let doc = Doc::new(item, "", BATCH_HINT);
    let event = doc.req("event", Doc::text)?;
    let payload = doc
        .lookup("payload")?
        .ok_or_else(|| doc.missing("payload"))?;
    let delivery_id = doc.opt("delivery_id", Doc::text)?;
    let environment = doc.opt("environment", Doc::text)?;
    event::parse(event, payload, delivery_id, environment)
}

/// An events-API / GH Archive object. Its key is `archive:<id>` when it has an id; an
/// unknown type without a repository or a time takes them from `repo.name` and `created_at`.
fn archive(item: &Value, obj: &Map<String, Value>) -> Outcome<Parsed> {
    refuse_unknown_keys(obj, &ARCHIVE_KEYS, "an events-API object")?;
    let doc = Doc::new(item, "", ARCHIVE_NEEDS);
    let event_type = doc.req("type", Doc::text)?;
    if event_type.trim().is_empty() {
        return Err(
            Problem::new(SqlState::InvalidParameterValue, "type must not be empty")
                .hint(ARCHIVE_NEEDS),
        );
    }
    check_length("type", event_type, MAX_EVENT_NAME)?;
    let created_at = doc.req("created_at", Doc::time)?;
    let repository = doc.req("repo.name", Doc::repository)?;
    let id = doc.opt("id", archive_id)?;
    let payload = doc
        .lookup("payload")?
        .ok_or_else(|| doc.missing("payload"))?;
    let mut parsed = match event_of_type(event_type.trim()) {
        Some(event) => {
            let completed = complete(event, payload, &repository, created_at)?;
            event::parse(event, &completed, None, None)?
        }
        None => event::parse(event_type, payload, None, None)?,
    };
    parsed.repository.get_or_insert(repository);
    parsed.occurred_at.get_or_insert(created_at);
    if let Some(id) = id {
        parsed.event_key = format!("archive:{id}");
    }
    Ok(parsed)
}

/// An events-API id: digits (the API gives a string) or a positive integer.
fn archive_id<'a>(doc: &Doc<'a>, path: &str, v: &'a Value) -> Outcome<String> {
    if let Value::Number(_) = v {
        return doc.id(path, v).map(|id| id.to_string());
    }
    let text = doc.text(path, v)?.trim();
    let digits = !text.is_empty() && text.len() <= 30 && text.bytes().all(|b| b.is_ascii_digit());
    if !digits {
        let shown: String = text.chars().take(40).collect();
        return Err(Problem::new(
            SqlState::InvalidParameterValue,
            format!("{path} must be the event's id (digits), not \"{shown}\""),
        )
        .hint(ARCHIVE_NEEDS));
    }
    Ok(text.to_string())
}

/// The payload with what a webhook has and an events-API payload lacks (see the module).
fn complete(event: &str, payload: &Value, repository: &str, created_at: Time) -> Outcome<Value> {
    let mut completed = payload.clone();
    let Some(map) = completed.as_object_mut() else {
        return Ok(completed); // event::parse refuses it
    };
    if matches!(map.get("repository"), None | Some(Value::Null)) {
        map.insert("repository".into(), json!({ "full_name": repository }));
    }
    if event == "push" {
        complete_push(payload, map, &event::key_time(created_at))?;
    }
    Ok(completed)
}

fn complete_push(payload: &Value, map: &mut Map<String, Value>, at: &str) -> Outcome<()> {
    let doc = Doc::new(payload, "payload", ARCHIVE_PUSH_NEEDS);
    if doc.lookup("after")?.is_none() {
        if let Some(head) = doc.opt("head", Doc::sha)? {
            map.insert("after".into(), Value::String(head));
        }
    }
    let timed = doc.lookup("repository.pushed_at")?.is_some()
        || doc.lookup("head_commit.timestamp")?.is_some();
    if !timed {
        if let Some(Value::Object(repo)) = map.get_mut("repository") {
            repo.insert("pushed_at".into(), Value::String(at.to_string()));
        }
    }
    if let Some(Value::Array(commits)) = map.get_mut("commits") {
        for (i, commit) in commits.iter_mut().enumerate() {
            complete_commit(commit, &format!("payload.commits[{i}]"), at)?;
        }
    }
    Ok(())
}

/// An events-API commit: `sha` instead of `id`, and no `timestamp` (the push's is used).
fn complete_commit(commit: &mut Value, path: &str, at: &str) -> Outcome<()> {
    let doc = Doc::new(commit, path, ARCHIVE_PUSH_NEEDS);
    let sha = match doc.lookup("id")? {
        None => doc.opt("sha", Doc::sha)?,
        Some(_) => None,
    };
    let Some(map) = commit.as_object_mut() else {
        return Ok(());
    };
    if let Some(sha) = sha {
        map.insert("id".into(), Value::String(sha));
    }
    if matches!(map.get("timestamp"), None | Some(Value::Null)) {
        map.insert("timestamp".into(), Value::String(at.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::{Commit, Fact, Push};
    use serde_json::json;

    const DETAIL0: &str = "The batch was refused as a whole at the event with index 0 (counting from 0); nothing was recorded.";

    fn t(text: &str) -> Time {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().into()
    }

    /// A PushEvent as the events API and GH Archive give it (GH Archive's schema: id as
    /// text, actor, repo, a payload without repository or times, public, created_at).
    fn archive_push() -> Value {
        json!({
            "id": "2489651045",
            "type": "PushEvent",
            "actor": {"id": 665991, "login": "petroav", "gravatar_id": "", "url": "https://api.github.com/users/petroav", "avatar_url": "https://avatars.githubusercontent.com/u/665991?"},
            "repo": {"id": 28688495, "name": "Petroav/6.828", "url": "https://api.github.com/repos/petroav/6.828"},
            "payload": {
                "push_id": 536863970,
                "size": 2,
                "distinct_size": 2,
                "ref": "refs/heads/master",
                "head": "4071DC4CD1D83B5D7DA2C1AF2DBE37C2AA3FA3E7",
                "before": "b4a1ab4c8a6ba7f9ba1ea5b2c77aa62e3b8e4d5e",
                "commits": [
                    {"sha": "9c1f1bd9e2b1b4ab7e1c19d6bb8bd2f11f6a1e0a", "author": {"email": "petroav@example.com", "name": "Petros"}, "message": "Solution to lab 1", "distinct": true, "url": "https://api.github.com/repos/petroav/6.828/commits/9c1f1bd9e2b1b4ab7e1c19d6bb8bd2f11f6a1e0a"},
                    {"sha": "4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7", "author": {"email": "petroav@example.com", "name": "Petros"}, "message": "Solution to lab 2", "distinct": true, "url": "https://api.github.com/repos/petroav/6.828/commits/4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7"}
                ]
            },
            "public": true,
            "created_at": "2015-01-01T15:00:00Z"
        })
    }

    /// A PullRequestEvent of the events API: a merged PR, no repository in the payload.
    fn archive_merged_pr() -> Value {
        json!({
            "id": "2489651057",
            "type": "PullRequestEvent",
            "actor": {"id": 6733, "login": "octocat"},
            "repo": {"id": 1296269, "name": "octocat/Hello-World", "url": "https://api.github.com/repos/octocat/Hello-World"},
            "payload": {
                "action": "closed",
                "number": 7,
                "pull_request": {
                    "url": "https://api.github.com/repos/octocat/Hello-World/pulls/7",
                    "id": 26451213,
                    "number": 7,
                    "state": "closed",
                    "title": "Fix the greeting",
                    "created_at": "2014-12-31T10:00:00Z",
                    "updated_at": "2015-01-01T15:00:05Z",
                    "closed_at": "2015-01-01T15:00:05Z",
                    "merged_at": "2015-01-01T15:00:05Z",
                    "merged": true,
                    "merge_commit_sha": "4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7",
                    "head": {"ref": "greeting", "sha": "9c1f1bd9e2b1b4ab7e1c19d6bb8bd2f11f6a1e0a"},
                    "base": {"ref": "master", "sha": "b4a1ab4c8a6ba7f9ba1ea5b2c77aa62e3b8e4d5e"},
                    "labels": [{"id": 208045946, "name": "hotfix", "color": "f29513"}]
                }
            },
            "public": true,
            "created_at": "2015-01-01T15:00:06Z",
            "org": {"id": 9919, "login": "github"}
        })
    }

    fn one(item: Value) -> Parsed {
        let mut parsed = parse_batch(&json!([item])).unwrap_or_else(|p| panic!("{p}"));
        parsed.remove(0)
    }

    fn refused(events: Value) -> Problem {
        match parse_batch(&events) {
            Ok(parsed) => panic!("accepted: {parsed:?}"),
            Err(p) => p,
        }
    }

    #[test]
    fn an_archive_push_is_completed_from_the_object() {
        let p = one(archive_push());
        assert_eq!((p.kind, p.event.as_str()), ("push", "push"));
        assert_eq!(p.event_key, "archive:2489651045");
        assert_eq!(p.delivery_id, None);
        assert_eq!(p.repository.as_deref(), Some("petroav/6.828"));
        assert_eq!(p.occurred_at, Some(t("2015-01-01T15:00:00Z")));
        let at = t("2015-01-01T15:00:00Z");
        let expected = Push {
            repository: "petroav/6.828".into(),
            git_ref: "refs/heads/master".into(),
            before: "b4a1ab4c8a6ba7f9ba1ea5b2c77aa62e3b8e4d5e".into(),
            after: "4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7".into(),
            pushed_at: at,
            forced: false,
            created: false,
            deleted: false,
            commits: vec![
                Commit {
                    sha: "9c1f1bd9e2b1b4ab7e1c19d6bb8bd2f11f6a1e0a".into(),
                    at,
                },
                Commit {
                    sha: "4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7".into(),
                    at,
                },
            ],
        };
        assert_eq!(p.fact, Some(Fact::Push(expected)));

        // Without an id the key is the push's natural key.
        let mut no_id = archive_push();
        no_id.as_object_mut().unwrap().remove("id");
        assert_eq!(
            one(no_id).event_key,
            "push:petroav/6.828:refs/heads/master:4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7"
        );
        // A numeric id is an id too.
        let mut numeric = archive_push();
        numeric["id"] = json!(2489651045_i64);
        assert_eq!(one(numeric).event_key, "archive:2489651045");
        // Today's events API gives no commits at all.
        let mut bare = archive_push();
        let payload = bare["payload"].as_object_mut().unwrap();
        for key in ["commits", "size", "distinct_size"] {
            payload.remove(key);
        }
        let Some(Fact::Push(push)) = one(bare).fact else {
            panic!()
        };
        assert!(push.commits.is_empty());
    }

    #[test]
    fn what_an_archive_payload_has_wins_over_the_object() {
        let mut push = archive_push();
        push["payload"]["repository"] = json!({"full_name": "Octo/Other", "pushed_at": 1420124400});
        push["payload"]["after"] = json!("b4a1ab4c8a6ba7f9ba1ea5b2c77aa62e3b8e4d5f");
        push["payload"]["commits"][0]["timestamp"] = json!("2015-01-01T14:00:00+01:00");
        let p = one(push);
        let Some(Fact::Push(push)) = p.fact else {
            panic!()
        };
        assert_eq!(push.repository, "octo/other");
        assert_eq!(
            push.pushed_at,
            t("2015-01-01T15:00:00Z"),
            "epoch 1420124400"
        );
        assert_eq!(
            push.after, "b4a1ab4c8a6ba7f9ba1ea5b2c77aa62e3b8e4d5f",
            "after, not head"
        );
        assert_eq!(push.commits[0].at, t("2015-01-01T13:00:00Z"));
        assert_eq!(push.commits[1].at, t("2015-01-01T15:00:00Z"));

        let mut timed = archive_push();
        timed["payload"]["head_commit"] = json!({"timestamp": "2015-01-01T14:59:00Z"});
        let Some(Fact::Push(push)) = one(timed).fact else {
            panic!()
        };
        assert_eq!(
            push.pushed_at,
            t("2015-01-01T14:59:00Z"),
            "head_commit.timestamp"
        );
    }

    #[test]
    fn an_archive_pull_request_takes_its_repository_from_repo_name() {
        let p = one(archive_merged_pr());
        assert_eq!(p.kind, "pull_request");
        assert_eq!(p.event_key, "archive:2489651057");
        assert_eq!(p.repository.as_deref(), Some("octocat/hello-world"));
        assert_eq!(
            p.occurred_at,
            Some(t("2015-01-01T15:00:05Z")),
            "the PR's updated_at"
        );
        let Some(Fact::PullRequest(pr)) = p.fact else {
            panic!()
        };
        assert_eq!(pr.repository, "octocat/hello-world");
        assert_eq!(pr.merged_at, Some(t("2015-01-01T15:00:05Z")));
        assert_eq!(
            pr.merge_commit_sha.as_deref(),
            Some("4071dc4cd1d83b5d7da2c1af2dbe37c2aa3fa3e7")
        );
        assert_eq!(pr.labels, vec!["hotfix".to_string()]);

        let mut missing = archive_merged_pr();
        missing["payload"]["pull_request"]
            .as_object_mut()
            .unwrap()
            .remove("merged_at");
        let p = refused(json!([missing]));
        assert_eq!(p.state, SqlState::InvalidParameterValue);
        assert_eq!(
            p.message,
            "events[0].payload.pull_request.merged_at is missing"
        );
        assert_eq!(p.detail.as_deref(), Some(DETAIL0));
    }

    #[test]
    fn other_archive_types_are_unknown_events_named_by_their_type() {
        let watch = json!({
            "id": "2489651051", "type": "WatchEvent",
            "actor": {"id": 1, "login": "someone"},
            "repo": {"id": 3, "name": "Octo/Repo"},
            "payload": {"action": "started"},
            "public": true, "created_at": "2015-01-01T15:00:03Z"
        });
        let p = one(watch.clone());
        assert_eq!((p.kind, p.event.as_str()), ("unknown", "watchevent"));
        assert_eq!(p.event_key, "archive:2489651051");
        assert_eq!(p.repository.as_deref(), Some("octo/repo"));
        assert_eq!(p.occurred_at, Some(t("2015-01-01T15:00:03Z")));
        assert_eq!(p.fact, None);
        let mut no_id = watch;
        no_id.as_object_mut().unwrap().remove("id");
        let p = one(no_id.clone());
        assert_eq!(
            p.event_key,
            format!(
                "watchevent:{}",
                crate::github::event::payload_digest(&no_id["payload"])
            )
        );
        for (t, e) in [
            ("PullRequestEvent", "pull_request"),
            ("PushEvent", "push"),
            ("IssuesEvent", "issues"),
            ("DeploymentEvent", "deployment"),
            ("DeploymentStatusEvent", "deployment_status"),
            ("WorkflowRunEvent", "workflow_run"),
        ] {
            assert_eq!(event_of_type(t), Some(e));
        }
        assert_eq!(event_of_type("pushevent"), None);
        assert_eq!(event_of_type("IssueCommentEvent"), None);
    }

    #[test]
    fn webhook_objects_in_a_batch() {
        let pr = serde_json::from_str::<Value>(include_str!(
            "../../tests/fixtures/github/pull_request/opened.payload.json"
        ))
        .unwrap();
        let ping = serde_json::from_str::<Value>(include_str!(
            "../../tests/fixtures/github/ping/payload.json"
        ))
        .unwrap();
        let batch = json!([
            {"event": "pull_request", "payload": pr, "delivery_id": "d-1", "environment": "Staging"},
            {"event": "pull_request", "payload": pr, "delivery_id": null, "environment": null},
            {"event": "ping", "payload": ping},
            archive_push(),
        ]);
        let parsed = parse_batch(&batch).unwrap();
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0].event_key, "delivery:d-1");
        assert_eq!(parsed[0].environment.as_deref(), Some("staging"));
        assert_eq!(
            parsed[1].event_key,
            "pull_request:279147437:opened:2019-05-15T15:20:33Z"
        );
        assert_eq!(parsed[1].environment, None);
        assert_eq!(parsed[2].kind, "unknown");
        assert_eq!(parsed[3].kind, "push");
        assert_eq!(parse_batch(&json!([])).unwrap(), vec![]);
    }

    #[test]
    fn a_bad_object_refuses_the_batch_naming_its_index() {
        let ping = json!({"event": "ping", "payload": {}});
        let pr = serde_json::from_str::<Value>(include_str!(
            "../../tests/fixtures/github/pull_request/opened.payload.json"
        ))
        .unwrap();
        let mut no_number = pr.clone();
        no_number["pull_request"]
            .as_object_mut()
            .unwrap()
            .remove("number");
        let push = |f: &dyn Fn(&mut Value)| {
            let mut v = archive_push();
            f(&mut v);
            v
        };
        let cases = [
            (
                json!([ping, 3]),
                1,
                "events[1] must be a JSON object, not a number",
            ),
            (
                json!([ping, ping, {"event": "pull_request", "payload": no_number}]),
                2,
                "events[2].payload.pull_request.number is missing",
            ),
            (
                json!([{"event": "ping", "payload": {}, "type": "PushEvent"}]),
                0,
                "events[0].type is not a key of a webhook delivery",
            ),
            (json!([{"payload": {}}]), 0, "events[0].event is missing"),
            (
                json!([{"event": 7, "payload": {}}]),
                0,
                "events[0].event must be a string, not a number",
            ),
            (
                json!([{"event": "ping"}]),
                0,
                "events[0].payload is missing",
            ),
            (
                json!([{"event": "ping", "payload": []}]),
                0,
                "events[0].payload must be a JSON object, not an array",
            ),
            (
                json!([{"event": "", "payload": {}}]),
                0,
                "events[0].event must not be empty",
            ),
            (
                json!([{"event": "ping", "payload": {}, "delivery_id": 5}]),
                0,
                "events[0].delivery_id must be a string, not a number",
            ),
            (
                json!([{"event": "ping", "payload": {}, "environment": " "}]),
                0,
                "events[0].environment must not be empty",
            ),
            (
                json!([push(&|v| {
                    v["colour"] = json!(1);
                })]),
                0,
                "events[0].colour is not a key of an events-API object",
            ),
            (
                json!([push(&|v| {
                    v.as_object_mut().unwrap().remove("created_at");
                })]),
                0,
                "events[0].created_at is missing",
            ),
            (
                json!([push(&|v| {
                    v["repo"] = json!({"id": 1});
                })]),
                0,
                "events[0].repo.name is missing",
            ),
            (
                json!([push(&|v| {
                    v["repo"] = json!("a/b");
                })]),
                0,
                "events[0].repo must be a JSON object, not a string",
            ),
            (
                json!([push(&|v| {
                    v["type"] = json!(" ");
                })]),
                0,
                "events[0].type must not be empty",
            ),
            (
                json!([push(&|v| {
                    v["id"] = json!("abc");
                })]),
                0,
                "events[0].id must be the event's id (digits), not \"abc\"",
            ),
            (
                json!([push(&|v| {
                    v["id"] = json!(-4);
                })]),
                0,
                "events[0].id must be a positive integer, not -4",
            ),
            (
                json!([push(&|v| {
                    v["payload"]["head"] = json!("HEAD");
                })]),
                0,
                "events[0].payload.head must be a commit sha, not \"HEAD\"",
            ),
            (
                json!([push(&|v| {
                    v["payload"].as_object_mut().unwrap().remove("head");
                })]),
                0,
                "events[0].payload.after is missing",
            ),
            (
                json!([push(&|v| {
                    v["payload"].as_object_mut().unwrap().remove("ref");
                })]),
                0,
                "events[0].payload.ref is missing",
            ),
            (
                json!([push(&|v| {
                    v["payload"]["commits"][1]["sha"] = json!("nope");
                })]),
                0,
                "events[0].payload.commits[1].sha must be a commit sha, not \"nope\"",
            ),
            (
                json!([push(&|v| {
                    v["payload"]["commits"][1]
                        .as_object_mut()
                        .unwrap()
                        .remove("sha");
                })]),
                0,
                "events[0].payload.commits[1].id is missing",
            ),
            (
                json!([push(&|v| {
                    v["payload"]["commits"][0] = json!("x");
                })]),
                0,
                "events[0].payload.commits[0] must be a JSON object, not a string",
            ),
            (
                json!([push(&|v| {
                    v["created_at"] = json!("2015-01-01");
                })]),
                0,
                "events[0].created_at is not a timestamp with a UTC offset: \"2015-01-01\"",
            ),
        ];
        for (events, index, message) in cases {
            let p = refused(events);
            assert_eq!(p.message, message);
            assert_eq!(
                p.detail.unwrap(),
                format!("The batch was refused as a whole at the event with index {index} (counting from 0); nothing was recorded.")
            );
            assert!(p.hint.is_some(), "{message}");
            let expected = if message.ends_with("\"2015-01-01\"") {
                SqlState::InvalidDatetimeFormat
            } else {
                SqlState::InvalidParameterValue
            };
            assert_eq!(p.state, expected, "{message}");
        }
    }

    #[test]
    fn a_batch_is_an_array_of_at_most_the_limit() {
        for not_array in [json!({"event": "ping"}), json!(null), json!("[]")] {
            let p = refused(not_array);
            assert_eq!(p.state, SqlState::InvalidParameterValue);
            assert!(p.message.starts_with("events must be a JSON array, not "));
            assert_eq!(p.detail, None);
        }
        let ping = json!({"event": "ping", "payload": {"zen": "Keep it logically awesome."}});
        let full = Value::Array(vec![ping.clone(); MAX_GITHUB_BATCH]);
        assert_eq!(parse_batch(&full).unwrap().len(), MAX_GITHUB_BATCH);
        let over = Value::Array(vec![ping; MAX_GITHUB_BATCH + 1]);
        let p = refused(over);
        assert_eq!(p.state, SqlState::ProgramLimitExceeded);
        assert_eq!(p.message, "a batch holds at most 10000 events, not 10001");
        assert!(p.hint.unwrap().contains("split"));
    }
}
