-- metrics: the batch ids recording remembers (since 0.7.0), so that a client may send a batch
-- again when it does not know whether the first try committed (a timeout, a lost response).
-- metrics.record_route_metrics(events, batch_id) and record_operation_metrics first insert
-- the id here, in the caller's transaction: a second call with the id of a committed batch
-- finds it and records nothing, returning the count of the first; a concurrent one waits for
-- the first to commit or roll back (the primary key's insert), then does the same or records.
-- Ids are kept while the batch's events could still be accepted (metrics.max_event_age plus
-- metrics.max_event_lead after it was recorded); metrics.fold_metrics() deletes older ones.

CREATE TABLE metrics.recorded_batches (
    batch_id    uuid PRIMARY KEY,
    -- 'route_metrics' or 'operation_metrics': an id is one batch of one kind.
    family      text NOT NULL,
    events      bigint NOT NULL,
    -- SHA-256 of the batch's JSON (jsonb's form): an id sent again with another batch, even
    -- one of as many events, is refused rather than taken for the first.
    digest      bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE metrics.recorded_batches IS
    'Batch ids recorded by metrics.record_route_metrics / record_operation_metrics, kept while a retry of the batch could still be accepted, so a retried batch is counted once.';
CREATE INDEX idx_recorded_batches_recorded_at ON metrics.recorded_batches (recorded_at);
SELECT pg_catalog.pg_extension_config_dump('metrics.recorded_batches', '');
