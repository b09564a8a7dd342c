-- metrics: what the read API (get_summary, get_trend, get_breakdown, get_drilldown) needs
-- besides the read model's tables. The open hour and day of a project's requests are read
-- live from metrics.route_metrics by project and time: without this index every call would
-- walk the open day's rows of every project (idx_route_metrics_period) to keep its own. A
-- recorded request adds an entry only when it makes a new hour row (project and hour never
-- change, so updates of the counters stay HOT).
CREATE INDEX idx_route_metrics_project ON metrics.route_metrics (project_id, period_start);
