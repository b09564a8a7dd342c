// The settings: options first, then the OBSERVABILITY_METRICS_* variables, then the defaults;
// a wrong setting throws when the storage is created, not later.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DatabaseMetricsStorage, MemoryMetricsStorage, createMetricsStorage } from '../src/index.js';
import { resolveOptions } from '../src/config.js';
import { FakeMetricsServer, fakeClient } from './support/fake-postgrest.js';

test('the defaults: memory mode, 5 s batches, 90 days', () => {
    const s = resolveOptions({}, {});
    assert.deepEqual([s.mode, s.batchIntervalMs, s.retentionDays, s.maxBatchKeys, s.maxPendingKeys, s.handleSignals, s.project],
        ['memory', 5000, 90, 1000, 50_000, true, null]);
    const storage = createMetricsStorage({ env: {} });
    assert.ok(storage instanceof MemoryMetricsStorage);
    storage.close();
});

test('the environment variables, and options above them', async () => {
    const env = { OBSERVABILITY_METRICS_STORAGE: 'database', OBSERVABILITY_METRICS_BATCH_INTERVAL: '250', OBSERVABILITY_METRICS_RETENTION_DAYS: '7' };
    const supabase = fakeClient(new FakeMetricsServer());
    const s = resolveOptions({ supabase }, env);
    assert.deepEqual([s.mode, s.batchIntervalMs, s.retentionDays], ['database', 250, 7]);
    assert.equal(resolveOptions({ supabase, batchIntervalMs: 100, mode: 'memory' }, env).batchIntervalMs, 100);
    assert.equal(resolveOptions({ mode: 'memory' }, env).mode, 'memory');
    const storage = createMetricsStorage({ supabase, env, handleSignals: false });
    assert.ok(storage instanceof DatabaseMetricsStorage);
    await storage.close();
});

test('wrong settings throw at creation', () => {
    assert.throws(() => resolveOptions({}, { OBSERVABILITY_METRICS_STORAGE: 'postgres' }), /memory or database/);
    assert.throws(() => resolveOptions({ mode: 'database' }, {}), /needs the option supabase/);
    assert.throws(() => resolveOptions({}, { OBSERVABILITY_METRICS_BATCH_INTERVAL: 'soon' }), /batchIntervalMs/);
    assert.throws(() => resolveOptions({ retentionDays: 0 }, {}), /retentionDays/);
    assert.throws(() => resolveOptions({ maxBatchElements: 100_001 }, {}), /maxBatchElements/);
    assert.throws(() => resolveOptions({ maxPendingKeys: 1.5 }, {}), /maxPendingKeys/);
    assert.throws(() => resolveOptions({ backoff: { jitter: 2 } }, {}), /jitter/);
    assert.throws(() => resolveOptions({ project: 'Not a slug' }, {}), /project/);
    assert.equal(resolveOptions({ project: 'ACDE48A2-0000-4000-8000-000000000001' }, {}).project, 'acde48a2-0000-4000-8000-000000000001');
});
