// The fake PostgREST over HTTP, for child processes that use the real supabase-js: POST
// /rest/v1/rpc/<fn> with the schema in Content-Profile, answered by a FakeMetricsServer. A
// network failure closes the connection without an answer; a hang never answers.

import { createServer } from 'node:http';

/** @param {import('./fake-postgrest.js').FakeMetricsServer} fake */
export async function startHttpPostgrest(fake) {
    const sockets = new Set();
    const http = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk) => { body += chunk; });
        req.on('end', () => {
            const fn = new URL(req.url, 'http://x').pathname.replace(/^\/rest\/v1\/rpc\//, '');
            const schema = req.headers['content-profile'] ?? req.headers['accept-profile'] ?? 'public';
            const r = fake.handle(schema, fn, body ? JSON.parse(body) : {});
            if (r.hang) return;
            if (r.network) {
                req.socket.destroy();
                return;
            }
            res.writeHead(r.status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(r.error ?? r.data));
        });
    });
    http.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
    });
    await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = /** @type {import('node:net').AddressInfo} */ (http.address());
    return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((resolve) => {
            for (const s of sockets) s.destroy();
            http.close(resolve);
        }),
    };
}
