// The read API of the metrics extension over PostgREST, with plain fetch. Every request
// carries the anon key (`apikey`), the user's access token (or the anon key) as the bearer, and
// `Accept-Profile: metrics`; the four read functions are STABLE, so they are called by GET.
// Failures become an ApiError whose `kind` the page turns into a message a person understands.

/** An error of the API, classified: expired | credentials | forbidden | network | api. */
export class ApiError extends Error {
    constructor(kind, message, { hint = null, code = null, status = null } = {}) {
        super(message);
        this.name = 'ApiError';
        this.kind = kind;
        this.hint = hint;
        this.code = code;
        this.status = status;
    }
}

/** The claims of a JWT (without checking its signature: the API does that), or null. */
export function jwtClaims(token) {
    try {
        const part = String(token).split('.')[1];
        const base64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
        return null;
    }
}

/** Whether a token's `exp` has passed (a token without `exp` never expires here). */
export function isExpired(token, now = Date.now()) {
    const exp = jwtClaims(token)?.exp;
    return typeof exp === 'number' && exp * 1000 <= now;
}

/** A token or key as pasted: every whitespace (line breaks of a textarea, spaces) removed. */
export function cleanCredential(value) {
    return value === null || value === undefined ? value : String(value).replace(/\s+/g, '');
}

/** Whether a value can be sent in an HTTP header (visible ASCII only, as a JWT is). */
export function isHeaderValue(value) {
    return /^[\x21-\x7e]*$/.test(String(value ?? ''));
}

const JWT_CODES = new Set(['PGRST300', 'PGRST301', 'PGRST302', 'PGRST303']);

/** Turns a PostgREST error answer into an ApiError. */
export function classify(status, body) {
    const code = body?.code ?? null;
    const message = body?.message ?? `The API answered HTTP ${status}.`;
    const details = { hint: body?.hint ?? null, code, status };
    if (status === 401 || JWT_CODES.has(code)) return new ApiError('expired', message, details);
    if (code === '42704' && /^project\b/.test(message)) return new ApiError('forbidden', message, details);
    return new ApiError('api', message, details);
}

async function readBody(response) {
    const text = await response.text();
    try {
        return JSON.parse(text);
    } catch {
        return null;
    }
}

/** A client of one PostgREST for one user. */
export function createApi({ url, anonKey, accessToken }) {
    const base = String(url).replace(/\/+$/, '');
    anonKey = cleanCredential(anonKey);
    accessToken = cleanCredential(accessToken);
    const headers = {
        apikey: anonKey,
        Authorization: `Bearer ${accessToken || anonKey}`,
        'Accept-Profile': 'metrics',
        Accept: 'application/json',
    };

    async function get(path, params = {}) {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) query.set(k, v);
        const search = query.toString();
        const target = `${base}/${path}${search ? `?${search}` : ''}`;
        // The token's exp is checked before every call (a tab left open past it), as a 401 would be.
        if (accessToken && isExpired(accessToken)) throw new ApiError('expired', 'JWT expired', { code: 'PGRST301', status: 401 });
        if (!isHeaderValue(anonKey) || !isHeaderValue(accessToken)) {
            throw new ApiError('credentials', 'The access token or the anon key holds characters no token has.');
        }
        let response;
        try {
            response = await fetch(target, { headers });
        } catch {
            throw new ApiError('network', `The API at ${base} cannot be reached.`);
        }
        const body = await readBody(response);
        if (!response.ok) throw classify(response.status, body);
        if (body === null) throw new ApiError('api', `The API at ${base} did not answer with JSON.`);
        return body;
    }

    return {
        url: base,
        projects: () => get('projects', { select: 'id,slug,name,time_zone', order: 'name' }),
        summary: (project) => get('rpc/get_summary', { project }),
        trend: (project, metricKey, grain) => get('rpc/get_trend', { project, metric_key: metricKey, grain }),
        breakdown: (project, metricKey, dimensionKey) =>
            get('rpc/get_breakdown', { project, metric_key: metricKey, dimension_key: dimensionKey }),
        drilldown: (project, metricKey, entityType, pageSize, after) =>
            get('rpc/get_drilldown', { project, metric_key: metricKey, entity_type: entityType, page_size: pageSize, after }),
    };
}
