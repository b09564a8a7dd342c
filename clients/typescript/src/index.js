// @metrics/client: route and operation metrics of a Node server, kept in memory or recorded
// into the metrics PostgreSQL extension through PostgREST (supabase-js).

import { resolveOptions } from './config.js';
import { DatabaseMetricsStorage } from './database.js';
import { MemoryMetricsStorage } from './memory.js';

export { DEFAULTS, MAX_BATCH_ELEMENTS } from './config.js';
export { MetricsError } from './errors.js';
export {
    BUCKETS, LN_GAMMA, MAX_TRACKED_MS, MIN_TRACKED_MS, RELATIVE_ACCURACY, bucketOf, quantiles, rank, representative,
} from './sketch.js';
export { MAX_DURATION_MS, MAX_NAME_BYTES, METHODS } from './validate.js';
export { createTransport, isRetryable } from './transport.js';
export { OPERATION, ROUTE } from './subjects.js';
export { DatabaseMetricsStorage, MemoryMetricsStorage };

/**
 * A storage in the mode the options (else OBSERVABILITY_METRICS_STORAGE, else memory) say.
 * @param {import('./index.js').MetricsStorageOptions} [options]
 * @returns {import('./index.js').MetricsStorageHandle}
 */
export function createMetricsStorage(options = {}) {
    const settings = resolveOptions(options, options.env ?? process.env);
    return settings.mode === 'database'
        ? new DatabaseMetricsStorage(settings)
        : new MemoryMetricsStorage(settings);
}
