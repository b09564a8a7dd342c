-- metrics: how far metrics.refresh_read_model has got, per project and source, so that a run
-- recomputes only what changed since the last one. Written only by the refresh, in the same
-- transaction as the points it covers: a cancelled or killed run leaves both as they were.
--
--   daily     sealed daily values: rows sealed (collection_timestamp, created_at) or revised
--             (metric_revisions.revised_at) at or after watermark; cut_day the last closed
--             day covered
--   requests  request rows updated (route_metrics.updated_at) at or after watermark;
--             cut_hour the end of the last closed hour covered
--   github    GitHub events received (github_events.received_at) at or after watermark;
--             cut_day the last closed day covered
--
-- The watermark is the start of the oldest transaction still open when the run began (at
-- most the run's own start): a row committed later by a transaction that started earlier
-- carries an earlier time, and would be missed by a watermark of the run's own start.
CREATE TABLE metrics.read_model_state (
    project_id   uuid NOT NULL REFERENCES metrics.projects (id) ON DELETE CASCADE,
    source       text NOT NULL CHECK (source IN ('daily', 'requests', 'github')),
    watermark    timestamptz NOT NULL,
    cut_day      date,
    cut_hour     timestamptz,
    refreshed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, source)
);
COMMENT ON TABLE metrics.read_model_state IS
    'How far refresh_read_model has got per project and source (watermark of changes, last closed day or hour covered).';

-- Derived like the read model, and kept by pg_dump with it: a restored read model and its
-- state go together (a state without its points would make the next run skip them).
SELECT pg_catalog.pg_extension_config_dump('metrics.read_model_state', '');
