-- metrics: development metrics. GitHub events as they came (raw, with their hash), the facts
-- normalised from them, and the tables derived from the facts: which deployment first
-- shipped which change to which environment. Written only by metrics.record_github_event(s),
-- which derive in the same transaction (src/github/). Reference: docs/development-metrics.md.

-- Every event once: event_key is the delivery id when GitHub gave one, else a natural key of
-- the payload. Kept for metrics.retention_policies' family 'github_events' (by received_at),
-- so history can be recomputed from the payloads.
CREATE TABLE metrics.github_events (
    event_key      text PRIMARY KEY,
    event          text NOT NULL,
    action         text,
    kind           text NOT NULL CHECK (kind IN ('deployment', 'deployment_status', 'pull_request',
                                                 'push', 'workflow_run', 'issue', 'unknown')),
    known_action   boolean NOT NULL,
    repository     text,
    environment    text,
    delivery_id    text,
    occurred_at    timestamptz,
    received_at    timestamptz NOT NULL DEFAULT now(),
    payload        jsonb NOT NULL,
    payload_sha256 bytea NOT NULL
);
COMMENT ON TABLE metrics.github_events IS
    'GitHub events as recorded, once each (key: delivery id, else a natural key), with the payload and its SHA-256.';
CREATE INDEX idx_github_events_received ON metrics.github_events (received_at);
CREATE INDEX idx_github_events_repository ON metrics.github_events (repository, occurred_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_events', '');

-- The owner's environment tiers; names without a row take the default of
-- metrics._default_environment_tier. Written only by metrics.set_environment_tier.
CREATE TABLE metrics.environment_settings (
    name   text PRIMARY KEY CHECK (name = pg_catalog.lower(pg_catalog.btrim(name)) AND name <> ''),
    tier   text NOT NULL CHECK (tier IN ('production', 'staging', 'testing', 'development', 'local')),
    set_by text NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.environment_settings IS
    'Environment tiers chosen with metrics.set_environment_tier; other names keep their default tier.';
SELECT pg_catalog.pg_extension_config_dump('metrics.environment_settings', '');

-- Facts. Each has the natural key of what it describes, so an event delivered twice, or once
-- by webhook and once by a workflow, is one fact.
CREATE TABLE metrics.github_deployments (
    repository    text NOT NULL,
    deployment_id bigint NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    ref           text,
    task          text,
    description   text,
    created_at    timestamptz NOT NULL,
    creator       text,
    PRIMARY KEY (repository, deployment_id)
);
COMMENT ON TABLE metrics.github_deployments IS 'GitHub deployments (from deployment and deployment_status events).';
CREATE INDEX idx_github_deployments_env ON metrics.github_deployments (repository, environment, created_at, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_deployments', '');

CREATE TABLE metrics.github_deployment_statuses (
    repository    text NOT NULL,
    status_id     bigint NOT NULL,
    deployment_id bigint NOT NULL,
    state         text NOT NULL,
    created_at    timestamptz NOT NULL,
    environment   text,
    PRIMARY KEY (repository, status_id)
);
COMMENT ON TABLE metrics.github_deployment_statuses IS
    'Every status a deployment went through; its outcome is the latest success, failure or error by time.';
CREATE INDEX idx_github_deployment_statuses_deployment ON metrics.github_deployment_statuses (repository, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_deployment_statuses', '');

-- A pull request as its latest event (by updated_at) describes it.
CREATE TABLE metrics.github_pull_requests (
    repository       text NOT NULL,
    number           bigint NOT NULL,
    pr_id            bigint NOT NULL,
    title            text,
    state            text NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    merged_at        timestamptz,
    merge_commit_sha text,
    base_ref         text NOT NULL,
    head_ref         text,
    head_sha         text,
    -- Lower-cased, as GitHub compares label names.
    labels           text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository, number),
    CHECK ((merged_at IS NULL) = (merge_commit_sha IS NULL))
);
COMMENT ON TABLE metrics.github_pull_requests IS
    'Pull requests as their latest event describes them (merged only when GitHub said merged: true).';
CREATE INDEX idx_github_pull_requests_merge_sha ON metrics.github_pull_requests (repository, merge_commit_sha)
    WHERE merge_commit_sha IS NOT NULL;
CREATE INDEX idx_github_pull_requests_merged ON metrics.github_pull_requests (repository, base_ref, merged_at)
    WHERE merged_at IS NOT NULL;
-- The hotfix label (metrics.dora_hotfix_label) of the rework rate.
CREATE INDEX idx_github_pull_requests_labels ON metrics.github_pull_requests USING gin (labels);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_pull_requests', '');

-- A push: the ref moved from before to after, adding commits (GitHub lists at most 20).
CREATE TABLE metrics.github_pushes (
    repository   text NOT NULL,
    ref          text NOT NULL,
    after_sha    text NOT NULL,
    before_sha   text NOT NULL,
    pushed_at    timestamptz NOT NULL,
    forced       boolean NOT NULL DEFAULT false,
    created      boolean NOT NULL DEFAULT false,
    deleted      boolean NOT NULL DEFAULT false,
    commit_shas  text[] NOT NULL DEFAULT '{}',
    commit_times timestamptz[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (repository, ref, after_sha),
    CHECK (pg_catalog.cardinality(commit_shas) = pg_catalog.cardinality(commit_times))
);
COMMENT ON TABLE metrics.github_pushes IS 'Pushes: a ref moved from before_sha to after_sha with these commits.';
CREATE INDEX idx_github_pushes_after ON metrics.github_pushes (repository, after_sha, pushed_at);
-- The pushes of a window, which deriving loads at once.
CREATE INDEX idx_github_pushes_time ON metrics.github_pushes (repository, pushed_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_pushes', '');

CREATE TABLE metrics.github_workflow_runs (
    repository     text NOT NULL,
    run_id         bigint NOT NULL,
    run_attempt    integer NOT NULL,
    name           text,
    event          text,
    status         text NOT NULL,
    conclusion     text,
    head_sha       text,
    head_branch    text,
    created_at     timestamptz NOT NULL,
    run_started_at timestamptz,
    updated_at     timestamptz NOT NULL,
    environment    text,
    PRIMARY KEY (repository, run_id, run_attempt)
);
COMMENT ON TABLE metrics.github_workflow_runs IS 'Workflow runs, one row per attempt, as their latest event describes them.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_workflow_runs', '');

CREATE TABLE metrics.github_issues (
    repository  text NOT NULL,
    number      bigint NOT NULL,
    issue_id    bigint NOT NULL,
    title       text,
    body        text,
    state       text NOT NULL,
    labels      text[] NOT NULL DEFAULT '{}',   -- lower-cased, as GitHub compares label names
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    closed_at   timestamptz,
    environment text,
    PRIMARY KEY (repository, number)
);
COMMENT ON TABLE metrics.github_issues IS
    'Issues as their latest event describes them; those labelled metrics.dora_incident_label are incidents.';
-- The incidents among them (labels @> the incident label).
CREATE INDEX idx_github_issues_labels ON metrics.github_issues USING gin (labels);
SELECT pg_catalog.pg_extension_config_dump('metrics.github_issues', '');

-- Derived, per environment (see docs/development-metrics.md, "Derived tables"). Recomputed
-- from the facts for the deployments an event can change, in the recording transaction.
CREATE TABLE metrics.dora_deployments (
    repository    text NOT NULL,
    deployment_id bigint NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    ref           text,
    created_at    timestamptz NOT NULL,
    outcome       text CHECK (outcome IN ('success', 'failure', 'error')),
    finished_at   timestamptz,
    baseline_id   bigint,
    coverage      text CHECK (coverage IN ('none', 'complete', 'partial')),
    changes       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (repository, deployment_id),
    CHECK ((outcome IS NULL) = (finished_at IS NULL)),
    CHECK ((coverage IS NOT NULL) = (outcome IS NOT DISTINCT FROM 'success'))
);
COMMENT ON TABLE metrics.dora_deployments IS
    'Deployments with their outcome (latest success/failure/error by time), baseline and what they shipped.';
CREATE INDEX idx_dora_deployments_env ON metrics.dora_deployments (repository, environment, created_at, deployment_id);
CREATE INDEX idx_dora_deployments_finished ON metrics.dora_deployments (environment, finished_at)
    WHERE outcome IS NOT NULL;
-- A deployment by (a prefix of) its sha: incidents naming one in their body.
CREATE INDEX idx_dora_deployments_sha ON metrics.dora_deployments (repository, sha);
-- The next successful deployment after a failure (recovery).
CREATE INDEX idx_dora_deployments_successes ON metrics.dora_deployments (repository, environment, finished_at, deployment_id)
    WHERE outcome = 'success';
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_deployments', '');

CREATE TABLE metrics.dora_deployed_shas (
    repository    text NOT NULL,
    environment   text NOT NULL,
    sha           text NOT NULL,
    deployment_id bigint NOT NULL,
    PRIMARY KEY (repository, environment, sha)
);
COMMENT ON TABLE metrics.dora_deployed_shas IS
    'The first successful deployment of each environment that contained each commit.';
CREATE INDEX idx_dora_deployed_shas_deployment ON metrics.dora_deployed_shas (repository, deployment_id);
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_deployed_shas', '');

CREATE TABLE metrics.dora_changes (
    repository      text NOT NULL,
    environment     text NOT NULL,
    change_key      text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('pull_request', 'commit')),
    pr_number       bigint,
    sha             text NOT NULL,
    base_ref        text,
    merged_at       timestamptz NOT NULL,
    first_commit_at timestamptz,
    deployment_id   bigint NOT NULL,
    deployed_at     timestamptz NOT NULL,
    PRIMARY KEY (repository, environment, change_key)
);
COMMENT ON TABLE metrics.dora_changes IS
    'Each change (merged pull request, or pushed commit of no PR) with the deployment that first shipped it to the environment.';
-- The keys read a range of one environment's changes by this index alone.
CREATE INDEX idx_dora_changes_deployed ON metrics.dora_changes (environment, deployed_at)
    INCLUDE (repository, merged_at, first_commit_at, kind, base_ref);
CREATE INDEX idx_dora_changes_deployment ON metrics.dora_changes (repository, deployment_id);
CREATE INDEX idx_dora_changes_pr ON metrics.dora_changes (repository, pr_number) WHERE pr_number IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_changes', '');

-- The DORA performance clusters, as data with the year of their source (the extension's
-- reference data: an update script adds next year's rows). Registered for pg_dump with a
-- filter that dumps none of them: CREATE EXTENSION (and the updates) write them.
-- get_dora_metrics uses the latest source_year.
CREATE TABLE metrics.dora_levels (
    source_year             integer NOT NULL,
    level                   text NOT NULL,
    rank                    integer NOT NULL,
    min_deploys_per_week    double precision,
    max_lead_time_hours     double precision,
    max_change_failure_rate double precision,
    max_recovery_hours      double precision,
    source                  text NOT NULL,
    PRIMARY KEY (source_year, level),
    UNIQUE (source_year, rank)
);
SELECT pg_catalog.pg_extension_config_dump('metrics.dora_levels', 'WHERE false');
COMMENT ON TABLE metrics.dora_levels IS
    'DORA performance clusters per source year: the best rank whose every threshold a period meets is its level.';

-- The repositories and environments seen, so that reading never scans the facts to list
-- them. Written with the facts.
CREATE TABLE metrics.github_repositories (
    repository    text PRIMARY KEY,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.github_repositories IS 'Repositories that have GitHub facts.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_repositories', '');

CREATE TABLE metrics.github_environments (
    repository    text NOT NULL,
    environment   text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, environment)
);
COMMENT ON TABLE metrics.github_environments IS 'Environments each repository has deployed to.';
SELECT pg_catalog.pg_extension_config_dump('metrics.github_environments', '');

-- DORA's 2024 clusters (Accelerate State of DevOps Report 2024, "software delivery
-- performance levels"). Deployment frequency as deployments per week (on demand: several a
-- day, taken as 7 a week; monthly: 12 in 52 weeks); Low is the catch-all.
INSERT INTO metrics.dora_levels (source_year, level, rank, min_deploys_per_week, max_lead_time_hours,
                                 max_change_failure_rate, max_recovery_hours, source)
VALUES (2024, 'elite',  1, 7,         24,   5,  1,    'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'high',   2, 1,         168,  20, 24,   'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'medium', 3, 12.0 / 52, 728,  10, 24,   'DORA, Accelerate State of DevOps Report 2024'),
       (2024, 'low',    4, NULL,      NULL, NULL, NULL, 'DORA, Accelerate State of DevOps Report 2024');
