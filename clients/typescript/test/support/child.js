// A Node process that records into a storage (database mode, real supabase-js over HTTP to
// the fake PostgREST) and then ends as the scenario says:
//   signal       stays alive (an app's server) until a signal; the storage flushes, re-raises
//   exit         lets the event loop empty: beforeExit flushes
//   own-handler  the app listens to SIGTERM itself and exits 200 ms later with code 7
// Usage: node child.js <url> <scenario>

import { createClient } from '@supabase/supabase-js';

import { createMetricsStorage } from '../../src/index.js';

const [url, scenario] = process.argv.slice(2);
const supabase = createClient(url, 'service-role-key', {
    auth: { persistSession: false, autoRefreshToken: false },
    // Node 20 has no WebSocket; realtime is not used here.
    realtime: { transport: class NoWebSocket {} },
});
const storage = createMetricsStorage({
    mode: 'database',
    supabase,
    env: {},
    logger: null,
    batchIntervalMs: 60_000,
    backoff: { initialMs: 20, maxMs: 50, jitter: 0 },
    shutdownTimeoutMs: 1000,
});
for (let i = 0; i < 25; i += 1) {
    storage.recordRouteMetric(`/api/r${i % 5}`, 'GET', i % 7 !== 0, i * 1.5);
}
storage.recordOperationMetric('send_email', true, 80);

if (scenario === 'own-handler') {
    process.on('SIGTERM', () => setTimeout(() => process.exit(7), 200));
}
if (scenario === 'signal' || scenario === 'own-handler') {
    setInterval(() => {}, 1000); // the app's server would keep the process alive
}
process.stdout.write('ready\n');
