// What each section shows, from the API's answers: the summary cards, the DORA table, the
// request latency per route and the drill-down table. Each function fills the container it is
// given; none fetches. Numbers are the API's, shown with formatNumber (see format.js).
import { h, note, numberEl, table } from './dom.js';
import { bucketLabel, formatDate, formatDateTime, humanize } from './format.js';

/** The format of a metric's values, from its unit (percent metrics are 0..100, see num). */
export function metricFormat(metric) {
    const unit = metric?.unit;
    if (unit === 'hours') return 'hours';
    if (unit === 'ms' || unit === 'milliseconds') return 'ms';
    return 'num';
}

/** A unit word to show next to a value whose format does not say it. */
function unitSuffix(metric) {
    return metric?.unit === 'percent' ? '%' : '';
}

const REQUEST_KEY_FORMATS = { requests: 'int', request_error_rate: 'pct', request_p50_ms: 'ms', request_p95_ms: 'ms', request_p99_ms: 'ms' };

/** The format of a trend's values by metric key. */
export function keyFormat(key, metrics = []) {
    if (REQUEST_KEY_FORMATS[key]) return REQUEST_KEY_FORMATS[key];
    return metricFormat(metrics.find((m) => m.metric_key === key));
}

function changeEl(metric, format) {
    const change = metric.change;
    const direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
    const arrow = { up: '▲', down: '▼', flat: '' }[direction];
    return h('span', { class: `change change-${direction}` },
        h('span', { 'aria-hidden': 'true' }, arrow ? `${arrow} ` : ''),
        change > 0 ? '+' : '', numberEl('span', { class: 'card-change', dataset: { field: 'change' } }, change, format), unitSuffix(metric) && ' pts');
}

function todayLine(value, format, suffix = '') {
    return h('p', { class: 'card-today-line' },
        h('span', { class: 'today-label' }, 'Today so far '),
        numberEl('span', { class: 'card-today', dataset: { field: 'today' } }, value, format), suffix);
}

function metricCard(metric, today) {
    const format = metricFormat(metric);
    const suffix = unitSuffix(metric);
    return h('article', { class: 'card', dataset: { metricKey: metric.metric_key } },
        h('h3', { class: 'card-label' }, metric.display_name || metric.metric_key),
        h('p', { class: 'card-main' },
            numberEl('span', { class: 'card-value', dataset: { field: 'value' } }, metric.value, format), suffix),
        h('p', { class: 'card-compare' }, changeEl(metric, format), ' vs ',
            numberEl('span', { class: 'card-previous', dataset: { field: 'previous_value' } }, metric.previous_value, format), suffix),
        today ? todayLine(today.value, format, suffix) : null);
}

function stat(label, value, format, field) {
    return h('span', { class: 'card-stat' }, `${label} `, numberEl('span', { class: `card-${field.replace(/_/g, '-')}`, dataset: { field } }, value, format));
}

function requestsCard(requests, today) {
    return h('article', { class: 'card card-requests', dataset: { metricKey: 'requests' } },
        h('h3', { class: 'card-label' }, 'Requests'),
        requests ? [
            h('p', { class: 'card-main' }, numberEl('span', { class: 'card-value', dataset: { field: 'total' } }, requests.total, 'int')),
            h('p', { class: 'card-compare' }, 'previous 7 days ',
                numberEl('span', { class: 'card-previous', dataset: { field: 'previous_total' } }, requests.previous?.total ?? null, 'int')),
            h('p', { class: 'card-stats' }, stat('errors', requests.error_rate, 'pct', 'error_rate'), stat('p95', requests.p95_ms, 'ms', 'p95_ms')),
        ] : null,
        today ? todayLine(today.total, 'int') : null);
}

function todayOnlyCard(metric) {
    return h('article', { class: 'card card-today-only', dataset: { metricKey: metric.metric_key } },
        h('h3', { class: 'card-label' }, humanize(metric.metric_key)),
        todayLine(metric.value, 'num'));
}

/** The period line: "Nov 24 – Nov 30, against Nov 17 – Nov 23". */
export function periodText(summary) {
    const day = (d) => formatDate(`${d}T00:00:00Z`);
    const span = (p) => (p ? `${day(p.start)} – ${day(p.end)}` : '');
    if (!summary?.period) return '';
    return `${span(summary.period)}, against ${span(summary.previous_period)}`;
}

/** The summary cards of a get_summary answer. */
export function renderSummary(body, answer) {
    const summary = answer.summary;
    const today = answer.today ?? { metrics: [], requests: null };
    const todayOf = (key) => today.metrics.find((m) => m.metric_key === key);
    if (!summary) {
        const cards = [...today.metrics.map(todayOnlyCard), requestsCard(null, today.requests)];
        body.replaceChildren(note('No summary yet: the first refresh of the read model has not run. Today so far:'), h('div', { class: 'cards' }, cards));
        return;
    }
    const cards = (summary.metrics ?? []).map((m) => metricCard(m, todayOf(m.metric_key)));
    cards.push(requestsCard(summary.requests, today.requests));
    body.replaceChildren(h('div', { class: 'cards' }, cards));
}

// --- DORA ------------------------------------------------------------------------------------

const DORA_COLUMNS = [
    { field: 'deployments', label: 'Deployments', format: 'int' },
    { field: 'lead_time_p50_hours', label: 'Lead time (median)', format: 'hours' },
    { field: 'change_failure_rate', label: 'Change failure (%)', format: 'num' },
    { field: 'recovery_p50_hours', label: 'Recovery (median)', format: 'hours' },
    { field: 'rework_rate', label: 'Rework (%)', format: 'num' },
];

function doraRow(row) {
    return h('tr', { dataset: { environment: row.environment } },
        h('th', { scope: 'row' }, humanize(row.environment)),
        DORA_COLUMNS.map((c) => numberEl('td', { class: 'numeric', dataset: { field: c.field } }, row[c.field] ?? null, c.format)),
        h('td', { dataset: { field: 'level' } }, h('span', { class: `level level-${row.level ?? 'none'}` }, row.level ?? '–')));
}

/** The DORA keys per environment of the stored summary (rates as the API gives them: percent). */
export function renderDora(body, summary) {
    const rows = summary?.dora ?? [];
    if (!rows.length) {
        body.replaceChildren(note('No DORA data: no repository is linked to this project yet.'));
        return;
    }
    const columns = [{ label: 'Environment' }, ...DORA_COLUMNS.map((c) => ({ ...c, numeric: true })), { label: 'Level' }];
    body.replaceChildren(table(columns, rows.map(doraRow), 'DORA keys per environment'));
}

// --- routes ----------------------------------------------------------------------------------

/** The error rate of a route: the payload's, else errors / requests (null without requests). */
export function routeErrorRate(payload) {
    if (typeof payload.error_rate === 'number') return payload.error_rate;
    const errors = payload.errors ?? payload.failed;
    return payload.requests > 0 && typeof errors === 'number' ? errors / payload.requests : null;
}

/** The numbers of a route's drill-down payload, by the contract's field names. */
export function routeFields(payload) {
    return {
        requests: payload.requests ?? null,
        errors: payload.errors ?? payload.failed ?? null,
        error_rate: routeErrorRate(payload),
        p50_ms: payload.p50_ms ?? null,
        p95_ms: payload.p95_ms ?? null,
        p99_ms: payload.p99_ms ?? null,
    };
}

const ROUTE_COLUMNS = [
    { field: 'requests', label: 'Requests', format: 'int' },
    { field: 'errors', label: 'Errors', format: 'int' },
    { field: 'error_rate', label: 'Error rate', format: 'pct' },
    { field: 'p50_ms', label: 'p50', format: 'ms' },
    { field: 'p95_ms', label: 'p95', format: 'ms' },
    { field: 'p99_ms', label: 'p99', format: 'ms' },
];

function routeRow(item) {
    const fields = routeFields(item.payload ?? {});
    return h('tr', { dataset: { route: item.reference_id } },
        h('th', { scope: 'row', class: 'route' }, item.reference_id),
        ROUTE_COLUMNS.map((c) => numberEl('td', { class: 'numeric', dataset: { field: c.field } }, fields[c.field], c.format)));
}

/** Request latency per route, from get_drilldown(project, 'requests', 'route', 50). */
export function renderRoutes(body, answer) {
    if (!answer.items.length) {
        body.replaceChildren(note('No data yet: no request has been recorded for this project.'));
        return;
    }
    const columns = [{ label: 'Route' }, ...ROUTE_COLUMNS.map((c) => ({ ...c, numeric: true }))];
    body.replaceChildren(table(columns, answer.items.map(routeRow), 'Request latency per route'));
}

export const ROUTE_NOTE = 'The last 30 days. Sorted by the latest request; latencies are percentiles.';

// --- drill-down ------------------------------------------------------------------------------

/** The entity types, each with its metric key (docs/read-model.md) and its columns. */
export const DRILLDOWNS = {
    pull_request: {
        label: 'Pull requests', metricKey: 'dora_lead_time_p50_hours', what: 'Pull request', when: 'Deployed',
        columns: [
            { field: 'lead_time_hours', label: 'Lead time', format: 'hours', get: (p) => p.lead_time_hours },
            { field: 'coding_hours', label: 'Coding', format: 'hours', get: (p) => p.stages?.coding_hours },
            { field: 'review_hours', label: 'Review', format: 'hours', get: (p) => p.stages?.review_hours },
            { field: 'deploy_hours', label: 'Deploy', format: 'hours', get: (p) => p.stages?.deploy_hours },
        ],
    },
    deployment: {
        label: 'Deployments', metricKey: 'dora_deployment_frequency', what: 'Deployment', when: 'Finished',
        text: { field: 'outcome', label: 'Outcome', get: (p) => [p.environment, p.outcome].filter(Boolean).join(', ') },
        columns: [
            { field: 'changes', label: 'Changes', format: 'int', get: (p) => p.changes },
            { field: 'recovery_hours', label: 'Recovery', format: 'hours', get: (p) => p.recovery_hours },
        ],
    },
    route: {
        label: 'Routes', metricKey: 'requests', what: 'Route', when: 'Last request',
        columns: ROUTE_COLUMNS.filter((c) => c.field !== 'p50_ms' && c.field !== 'p99_ms')
            .map((c) => ({ ...c, get: (p) => routeFields(p)[c.field] })),
    },
    breakdown_key: {
        label: 'Breakdown keys', metricKey: null, what: 'Key', when: 'Last sealed day', dateOnly: true,
        columns: [
            { field: 'value', label: 'Last day', format: 'num', get: (p) => p.value },
            { field: 'total', label: '30 days', format: 'num', get: (p) => p.total },
            { field: 'share', label: 'Share', format: 'pct', get: (p) => p.share },
        ],
    },
};

function drilldownRow(kind, item, timeZone) {
    const payload = item.payload ?? {};
    // The last sealed day of a breakdown key is a bucket (a midnight of metrics.timezone): its date.
    const shown = kind.dateOnly ? bucketLabel(item.time_bucket, { grain: 'day', timeZone }) : formatDateTime(item.time_bucket, timeZone);
    const time = item.time_bucket ? h('time', { datetime: item.time_bucket }, shown) : '–';
    return h('tr', { dataset: { referenceId: item.reference_id } },
        h('th', { scope: 'row', class: 'reference' }, item.reference_id),
        h('td', { class: 'time' }, time),
        kind.text ? h('td', { dataset: { field: kind.text.field } }, kind.text.get(payload) || '–') : null,
        kind.columns.map((c) => numberEl('td', { class: 'numeric', dataset: { field: c.field } }, c.get(payload) ?? null, c.format)));
}

/** One page of a get_drilldown answer. */
export function renderDrilldown(body, answer, type, timeZone) {
    const kind = DRILLDOWNS[type];
    if (!answer.items.length) {
        body.replaceChildren(note('No data yet.'));
        return;
    }
    const columns = [{ label: kind.what }, { label: kind.when }, kind.text ? { label: kind.text.label } : null,
        ...kind.columns.map((c) => ({ ...c, numeric: true }))].filter(Boolean);
    body.replaceChildren(table(columns, answer.items.map((item) => drilldownRow(kind, item, timeZone)), kind.label));
}
