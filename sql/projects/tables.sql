-- metrics: projects, the scope of the read model and of what a user may see. A project is a
-- tenant (a customer organisation of a B2B app, a team, an app): per-project metrics seal one
-- value per (day, metric, project), request events may name a project, GitHub repositories
-- belong to one, and every row of the read model belongs to exactly one.
--
-- At most one project covers the whole database (whole_database): its read model is made of
-- what belongs to no project (the daily values of the whole database, every request, every
-- repository), so a single-tenant app has a dashboard without scoping anything.

CREATE TABLE metrics.projects (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- What URLs, JWT claims and API arguments name a project by; ids work everywhere too.
    slug           text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name           text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- The zone the project's read model buckets hours into days, weeks and months (and
    -- what "today" means for its live values); NULL: metrics.timezone. Sealed daily values
    -- are days of metrics.timezone, for every project alike.
    time_zone      text,
    whole_database boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_slug_key UNIQUE (slug)
);
COMMENT ON TABLE metrics.projects IS
    'Projects (tenants): the scope of the read model and of per-project metrics. Change through metrics.create_project, update_project, drop_project.';
CREATE UNIQUE INDEX projects_one_whole_database ON metrics.projects (whole_database) WHERE whole_database;

-- The function that decides who is a member of a project, when the default JWT claim is not
-- the rule (at most one row; none means the default: app_metadata.projects).
CREATE TABLE metrics.project_check (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    check_function text NOT NULL,
    set_by         name NOT NULL DEFAULT session_user,
    set_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.project_check IS
    'The membership check configured with metrics.set_project_check (empty: JWT app_metadata.projects).';

-- GitHub repositories belong to a project ("owner/name", as recorded): their DORA keys are
-- the project's.
CREATE TABLE metrics.project_repositories (
    repository text PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    mapped_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.project_repositories IS
    'Which project each GitHub repository belongs to. Change through metrics.set_project_repository.';
CREATE INDEX idx_project_repositories_project ON metrics.project_repositories (project_id);

-- Per-project daily values: the project a sealed value belongs to (NULL: the whole database,
-- as every value before 0.6.0). A project with sealed values cannot be dropped: sealed is
-- sealed.
ALTER TABLE metrics.daily_metrics
    ADD COLUMN project_id uuid,
    ADD CONSTRAINT daily_metric_project FOREIGN KEY (project_id) REFERENCES metrics.projects (id);
ALTER TABLE metrics.metric_revisions ADD COLUMN project_id uuid;
-- A project's series (fetch_metrics, activity_series, current_metrics with a project, the read
-- model's refresh): the other indexes lead with the date or the category, and would walk every
-- project's rows of a category (at 200 projects, a year of one metric read in 72 ms instead of 1).
CREATE INDEX idx_daily_metrics_project ON metrics.daily_metrics (project_id, metric_category, metric_date DESC)
    WHERE project_id IS NOT NULL;
-- One value per (date, type, category, project), the whole database's (NULL) included: NULL
-- is one scope, not "distinct from every other NULL".
ALTER TABLE metrics.daily_metrics
    DROP CONSTRAINT unique_daily_metric,
    ADD CONSTRAINT unique_daily_metric UNIQUE NULLS NOT DISTINCT (metric_date, metric_type, metric_category, project_id);

-- Request and operation events may name a project; their buckets are then the project's
-- (NULL: no project). No foreign key: recording checks the project once per batch, and a
-- foreign key would cost every upsert a lookup.
ALTER TABLE metrics.route_metrics ADD COLUMN project_id uuid;
ALTER TABLE metrics.operation_metrics ADD COLUMN project_id uuid;
-- A bucket is per project: a (route, method, hour) has a row for each project its events
-- named and one for the events of no project; NULLS NOT DISTINCT keeps those of no project
-- one row, as before 0.6.0. Recording adds into the buckets with ON CONFLICT ON CONSTRAINT,
-- so the constraints keep their names (sql/metrics--0.5.0--0.6.0.sql makes the same change).
ALTER TABLE metrics.route_metrics
    DROP CONSTRAINT route_metrics_bucket,
    ADD CONSTRAINT route_metrics_bucket UNIQUE NULLS NOT DISTINCT (route, method, period_start, project_id);
ALTER TABLE metrics.operation_metrics
    DROP CONSTRAINT operation_metrics_bucket,
    ADD CONSTRAINT operation_metrics_bucket UNIQUE NULLS NOT DISTINCT (operation, period_start, project_id);

SELECT pg_catalog.pg_extension_config_dump('metrics.projects', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.project_check', '');
SELECT pg_catalog.pg_extension_config_dump('metrics.project_repositories', '');
