// Memory mode in a process of its own, with every way out of it closed: before the client is
// loaded, TCP and UDP sockets, fetch and DNS are replaced by traps that count each use and
// throw, and the storage is given a "supabase" object that counts every property read. The
// process receives its events over IPC, records them, reads the reports and sends them back
// with the counts of the traps.
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';

const attempts = [];
const trap = (what) => function trapped() {
    attempts.push(what);
    throw new Error(`memory mode tried to use ${what}`);
};
net.Socket.prototype.connect = trap('net.Socket.connect');
dgram.Socket.prototype.send = trap('dgram.Socket.send');
globalThis.fetch = trap('fetch');
dns.lookup = trap('dns.lookup');
dns.promises.lookup = trap('dns.promises.lookup');

const touched = [];
const supabase = new Proxy({}, {
    get(_target, prop) {
        touched.push(String(prop));
        return trap(`supabase.${String(prop)}`);
    },
});

const { createMetricsStorage } = await import('@metrics/client');

process.once('message', async ({ events, at, range }) => {
    const storage = createMetricsStorage({ mode: 'memory', supabase, env: {}, logger: null });
    for (const e of events) {
        storage.recordRouteMetric(e.route, e.method, e.success, e.micros / 1000, { project: e.project, at });
    }
    const rows = await storage.getRouteMetrics(undefined, undefined, range);
    const combined = await storage.getRouteMetrics(undefined, undefined, { ...range, combined: true });
    const byProject = await storage.getRouteMetrics(undefined, undefined, { ...range, project: 'shop' });
    const stats = storage.stats();
    const flush = await storage.flush();
    const close = await storage.close();
    process.send({ rows, combined, byProject, stats, flush, close, attempts, touched }, () => process.disconnect());
});
