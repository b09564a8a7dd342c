-- metrics: row-level security and privileges. Loaded last (finalize), when every table and
-- function exists. Least privilege: nothing is granted to PUBLIC; each API role gets exactly
-- the privileges of its access level (sql/access/levels.sql), and nobody writes to a table
-- directly: every write goes through a SECURITY DEFINER function that pins search_path.

-- RLS on every table. No INSERT, UPDATE or DELETE policy exists, so a role other than the
-- owner cannot write even if someone grants it table privileges by mistake.
ALTER TABLE metrics.metric_definitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.daily_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metric_collection_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metric_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.api_access ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.admin_check ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.route_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.operation_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.route_metrics_unfolded ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.operation_metrics_unfolded ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.recorded_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.retention_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.compacted_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.maintenance_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.alert_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.alert_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_deployment_statuses ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_pull_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_pushes ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_workflow_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_issues ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.github_environments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_deployments ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_deployed_shas ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.dora_levels ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.environment_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.project_check ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.project_repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_summary ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_trend_point ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.read_model_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_breakdown_point ENABLE ROW LEVEL SECURITY;
ALTER TABLE metrics.metrics_drilldown ENABLE ROW LEVEL SECURITY;

-- Sealed metrics and their definitions are public analytics for whoever has read access;
-- a project's values only for its members (and administrators). The sub-selects are
-- InitPlans: evaluated once per query, not once per row.
CREATE POLICY "Anyone can view metrics" ON metrics.daily_metrics
    FOR SELECT USING (project_id IS NULL OR (SELECT metrics.is_admin())
                      OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Anyone can view metric definitions" ON metrics.metric_definitions
    FOR SELECT USING (true);
-- The log and the revisions only for administrators. The sub-select makes is_admin() an
-- InitPlan: evaluated once per query, not once per row.
CREATE POLICY "Admins can view collection logs" ON metrics.metric_collection_log
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view metric revisions" ON metrics.metric_revisions
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Request and operation metrics are operational data, like the seed's admin metrics endpoint.
CREATE POLICY "Admins can view route metrics" ON metrics.route_metrics
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view operation metrics" ON metrics.operation_metrics
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Not yet folded, the same data: the same policy (and through the _live views, which run as
-- their reader).
CREATE POLICY "Admins can view unfolded route metrics" ON metrics.route_metrics_unfolded
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view unfolded operation metrics" ON metrics.operation_metrics_unfolded
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Recording's bookkeeping: administrators only, like the ledger.
CREATE POLICY "Admins can view recorded batches" ON metrics.recorded_batches
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- What maintenance did, like the collection log: administrators only.
CREATE POLICY "Admins can view compacted periods" ON metrics.compacted_periods
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view the maintenance log" ON metrics.maintenance_log
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- How far the read model's refresh has got, like the ledger: administrators only.
CREATE POLICY "Admins can view the read model state" ON metrics.read_model_state
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- maintenance: health and alerts (policies)
-- The alerts in force and their history, like the maintenance log: administrators only.
CREATE POLICY "Admins can view the alert state" ON metrics.alert_state
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view the alert log" ON metrics.alert_log
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- Development metrics: GitHub's events, the facts and what is derived from them are
-- operational data naming people and commits, like the request metrics: administrators only.
CREATE POLICY "Admins can view GitHub events" ON metrics.github_events
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub deployments" ON metrics.github_deployments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub deployment statuses" ON metrics.github_deployment_statuses
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub pull requests" ON metrics.github_pull_requests
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub pushes" ON metrics.github_pushes
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub workflow runs" ON metrics.github_workflow_runs
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub issues" ON metrics.github_issues
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub repositories" ON metrics.github_repositories
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view GitHub environments" ON metrics.github_environments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA deployments" ON metrics.dora_deployments
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA deployed commits" ON metrics.dora_deployed_shas
    FOR SELECT USING ((SELECT metrics.is_admin()));
CREATE POLICY "Admins can view DORA changes" ON metrics.dora_changes
    FOR SELECT USING ((SELECT metrics.is_admin()));
-- The DORA clusters are public reference data, and the environment tiers a mapping the read
-- level's get_dora_metrics needs (access_rules).
CREATE POLICY "Anyone can view the DORA levels" ON metrics.dora_levels
    FOR SELECT USING (true);
CREATE POLICY "Readers can view environment settings" ON metrics.environment_settings
    FOR SELECT USING (true);
-- Projects: a reader sees the projects they are a member of (is_project_member reads no
-- table, so the policy never recurses), administrators all; a project's repositories go with it.
CREATE POLICY "Members can view their projects" ON metrics.projects
    FOR SELECT USING ((SELECT metrics.is_admin()) OR metrics.is_project_member(id, slug));
CREATE POLICY "Members can view their projects' repositories" ON metrics.project_repositories
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
-- The read model: every row belongs to a project, and shows to its members and administrators.
CREATE POLICY "Members can view their projects' summaries" ON metrics.metrics_summary
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' trend points" ON metrics.metrics_trend_point
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' breakdown points" ON metrics.metrics_breakdown_point
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
CREATE POLICY "Members can view their projects' drill-downs" ON metrics.metrics_drilldown
    FOR SELECT USING ((SELECT metrics.is_admin()) OR project_id = ANY ((SELECT metrics.member_projects())::uuid[]));
-- is_project_member() runs as the caller and reads the configured check (access_rules).
CREATE POLICY "Readers can view the project check" ON metrics.project_check
    FOR SELECT USING (true);
-- Readable by the roles that hold SELECT on them (access_rules: admin_check for read, since
-- is_admin() runs as the caller; api_access for manage).
CREATE POLICY "Readers can view the admin check" ON metrics.admin_check
    FOR SELECT USING (true);
CREATE POLICY "Managers can view API access" ON metrics.api_access
    FOR SELECT USING (true);
-- Only the manage level holds SELECT on the retention settings (access_rules).
CREATE POLICY "Managers can view retention settings" ON metrics.retention_settings
    FOR SELECT USING (true);

-- Functions and procedures are executable by PUBLIC by default. Start from nothing, so a
-- function is callable only by the levels metrics.access_rules() gives it.
REVOKE EXECUTE ON ALL ROUTINES IN SCHEMA metrics FROM PUBLIC;

-- Supabase's roles, where they exist: anon and authenticated read (dashboards), service_role
-- manages (collections, definitions, schedules). Elsewhere nothing is granted until the
-- owner calls metrics.grant_api_access for its own roles.
SELECT count(*) FROM metrics.grant_api_access();
