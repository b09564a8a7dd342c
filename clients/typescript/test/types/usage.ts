// Compiled (never run) by `npm run check-types`: the hand-written declarations accept a real
// SupabaseClient and type the API as documented; the @ts-expect-error lines must stay errors.
import { createClient } from '@supabase/supabase-js';
import {
    createMetricsStorage, MetricsError, bucketOf, quantiles, type MetricsStorage, type RouteMetrics,
    type OperationMetrics, type MetricsStats, type FlushResult, type MetricsRpcClient, type MetricsStorageHandle,
    createTransport, ROUTE, MemoryMetricsStorage, DatabaseMetricsStorage,
} from '@metrics/client';

const supabase = createClient('http://localhost:54321', 'service-role-key', { auth: { persistSession: false } });
const storage = createMetricsStorage({
    mode: 'database',
    supabase,
    project: 'acme',
    backoff: { initialMs: 500 },
    onError: (info) => console.log(info.fn, info.batchId, info.retryable, info.error.status),
    onDrop: (d) => console.log(d.reason, d.events),
});
const seed: MetricsStorage = storage;
async function main() {
    await seed.recordRouteMetric('/api/x', 'GET', true, 12.5);
    await storage.recordOperationMetric('op', false, 3, { project: null, at: new Date() });
    const rows: RouteMetrics[] = await storage.getRouteMetrics('/api/x', 'GET', { start: new Date(), end: '2026-01-01T00:00:00Z', grain: 'day' });
    const p95: number | null = rows[0].p95Ms;
    const start: Date = rows[0].periodStart;
    const ops: OperationMetrics[] = await storage.getOperationMetrics(undefined, { start: 0, end: Date.now(), combined: true });
    const n: number = ops[0].totalExecutions;
    const st: MetricsStats = storage.stats();
    const f: FlushResult = await storage.flush({ timeoutMs: 1000 });
    await storage.close();
    try { await storage.getRouteMetrics(); } catch (e) { if (e instanceof MetricsError) console.log(e.code, e.status, e.retryable); }
    console.log(p95, start, n, st.lastError?.message, f.complete, bucketOf(1), quantiles([[1, 2]], [0.5]));
    const fake: MetricsRpcClient = { schema: () => ({ rpc: async () => ({ data: 1, error: null, status: 200 }) }) };
    const t = createTransport(fake);
    const r = await t.record(ROUTE, [], 'id');
    if (r.ok) console.log(r.count); else console.log(r.error.message);
    // @ts-expect-error: route must be a string
    seed.recordRouteMetric(1, 'GET', true, 1);
    // @ts-expect-error: unknown grain
    storage.getRouteMetrics(undefined, undefined, { start: 0, end: 1, grain: 'month' });
}
main();
export function isMemory(s: unknown): s is MemoryMetricsStorage {
    return s instanceof MemoryMetricsStorage;
}
export const handle: MetricsStorageHandle = createMetricsStorage() as DatabaseMetricsStorage | MemoryMetricsStorage;
