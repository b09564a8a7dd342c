-- The extension in one call: every unit in its own subtransaction, all committed together.
\set ON_ERROR_STOP on
SELECT count(*) AS units, count(*) FILTER (WHERE verified IS DISTINCT FROM true) AS unverified
FROM metrics.compact_metrics();
