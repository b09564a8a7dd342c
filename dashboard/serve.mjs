#!/usr/bin/env node
// Serves the dashboard's static files (this folder only), with Node's built-ins.
//
//   node dashboard/serve.mjs [--host 127.0.0.1] [--port 0] [--api-url URL] [--anon-key KEY]
//
// With --api-url, GET /config.json answers {"url": URL, "anonKey": KEY}, so the page signs in
// with only the user's token; without it /config.json is 404 and the page asks for the URL and
// the key too. Prints one line, `dashboard: http://HOST:PORT/`, once listening (port 0: a free
// port), and exits on SIGTERM or SIGINT.
import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)));

const TYPES = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.md': 'text/markdown; charset=utf-8',
    '.ico': 'image/x-icon',
};

function options() {
    const { values } = parseArgs({
        options: {
            host: { type: 'string', default: '127.0.0.1' },
            port: { type: 'string', default: '0' },
            'api-url': { type: 'string' },
            'anon-key': { type: 'string', default: '' },
        },
    });
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number`);
    return { host: values.host, port, apiUrl: values['api-url'], anonKey: values['anon-key'] };
}

/** The file a URL path names inside ROOT, or null (outside it, or not decodable). */
export function fileFor(urlPath, root = ROOT) {
    let path;
    try {
        path = decodeURIComponent(urlPath.split('?')[0]);
    } catch {
        return null;
    }
    if (path.includes('\0')) return null;
    if (path.endsWith('/')) path += 'index.html';
    const file = resolve(join(root, path));
    return file.startsWith(root + sep) ? file : null;
}

function send(res, status, type, body, extra = {}) {
    res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff', ...extra });
    res.end(body);
}

/**
 * The file itself when it really is inside ROOT once symbolic links are resolved (a link in the
 * folder to /etc/passwd passes fileFor's check of the path, not this one), else null.
 */
export async function realFileIn(file, root = ROOT) {
    if (!file) return null;
    const [real, realRoot] = await Promise.all([realpath(file).catch(() => null), realpath(root).catch(() => null)]);
    return real && realRoot && real.startsWith(realRoot + sep) ? real : null;
}

async function serveFile(req, res, path) {
    const file = await realFileIn(path);
    const info = file && (await stat(file).catch(() => null));
    if (!info?.isFile()) return send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
    const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    const body = await readFile(file);
    send(res, 200, type, req.method === 'HEAD' ? undefined : body, { 'Content-Length': body.length });
}

function handler(config) {
    return async (req, res) => {
        try {
            if (req.method !== 'GET' && req.method !== 'HEAD') {
                return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', { Allow: 'GET, HEAD' });
            }
            const path = new URL(req.url, 'http://localhost').pathname;
            if (path === '/config.json') {
                if (!config) return send(res, 404, 'text/plain; charset=utf-8', 'Not found\n');
                return send(res, 200, TYPES['.json'], JSON.stringify(config));
            }
            await serveFile(req, res, fileFor(path));
        } catch (error) {
            console.error(`dashboard: ${req.method} ${req.url}: ${error.message}`);
            if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'Internal error\n');
        }
    };
}

function main() {
    const opts = options();
    const config = opts.apiUrl ? { url: opts.apiUrl, anonKey: opts.anonKey } : null;
    const server = createServer(handler(config));
    server.listen(opts.port, opts.host, () => {
        const { port } = server.address();
        const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
        process.stdout.write(`dashboard: http://${host}:${port}/\n`);
    });
    const stop = () => {
        server.close(() => process.exit(0));
        server.closeAllConnections();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
