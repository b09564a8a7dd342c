// Where the page's configuration comes from, in order: /config.json (the API URL and the
// anon key, written by serve.mjs --api-url), the URL fragment `#access_token=...&project=...`
// (what Supabase's sign-in redirect gives), then the sign-in form. The access token, and the
// URL and key typed into the form, are kept in sessionStorage: this tab only.

import { parseMetricsParam } from './trends.js';

const KEYS = { token: 'metrics.accessToken', url: 'metrics.apiUrl', anonKey: 'metrics.anonKey' };

function storage() {
    try {
        return window.sessionStorage;
    } catch {
        return null;
    }
}

/** /config.json as { url, anonKey }, or null when the server has none (404) or it is unreadable. */
export async function fetchConfig() {
    try {
        const response = await fetch('config.json', { headers: { Accept: 'application/json' }, cache: 'no-store' });
        if (!response.ok) return null;
        const config = await response.json();
        return config?.url ? { url: String(config.url), anonKey: String(config.anonKey ?? '') } : null;
    } catch {
        return null;
    }
}

/** Takes `access_token` and `project` out of the URL fragment, leaving the address clean. */
export function takeFragment(location = window.location, history = window.history) {
    const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = fragment.get('access_token');
    const project = fragment.get('project');
    if (!token && !project) return {};
    const url = new URL(location.href);
    url.hash = '';
    if (project) url.searchParams.set('project', project);
    history.replaceState(null, '', url);
    return { token, project };
}

export function storedSession() {
    const s = storage();
    return { token: s?.getItem(KEYS.token) ?? null, url: s?.getItem(KEYS.url) ?? null, anonKey: s?.getItem(KEYS.anonKey) ?? null };
}

export function storeSession({ token, url, anonKey }) {
    const s = storage();
    if (!s) return;
    if (token !== undefined) s.setItem(KEYS.token, token);
    if (url !== undefined) s.setItem(KEYS.url, url);
    if (anonKey !== undefined) s.setItem(KEYS.anonKey, anonKey);
}

/** Signing out forgets the token (the URL and key typed in stay, to sign in again). */
export function clearToken() {
    storage()?.removeItem(KEYS.token);
}

/**
 * The query string's choices: ?project=<slug or id>, ?page_size=N (1..500, default 10), and
 * ?metrics=a,b (the charted metrics: null when absent, see trends.js's parseMetricsParam).
 */
export function pageParams(search = window.location.search) {
    const params = new URLSearchParams(search);
    const size = Number(params.get('page_size'));
    return {
        project: params.get('project') || null,
        pageSize: Number.isInteger(size) && size >= 1 && size <= 500 ? size : 10,
        metrics: parseMetricsParam(params.get('metrics')),
    };
}

/** Puts ?project=<slug> in the address without reloading. */
export function rememberProject(slug) {
    const url = new URL(window.location.href);
    url.searchParams.set('project', slug);
    window.history.replaceState(null, '', url);
}

/** Puts ?metrics=a,b (the charted metrics) in the address without reloading, so a link shows the same charts. */
export function rememberMetrics(keys) {
    const url = new URL(window.location.href);
    url.searchParams.set('metrics', keys.join(','));
    url.search = url.search.replace(/%2C/gi, ',');   // keys never hold a comma: keep the list readable
    window.history.replaceState(null, '', url);
}
