// The trend section's choices and its figures: which metrics can be charted, which are selected
// (the default, or `?metrics=a,b` of the address), the checkboxes of #trend-metrics and one
// figure.trend[data-metric-key] per selected metric. The selection helpers are pure (tested in
// Node); the DOM helpers touch the document only when they are called. Drawing is charts.js's.
import { h } from './dom.js';
import { humanize } from './format.js';

/** The request keys charted after the project's metrics. */
export const REQUEST_TRENDS = [
    { value: 'requests', label: 'Requests' },
    { value: 'request_p95_ms', label: 'Request latency p95' },
    { value: 'request_error_rate', label: 'Request error rate' },
];

/** The metrics a trend can show: the summary's metrics (in its order), then the request keys. */
export function trendOptions(metrics = []) {
    const own = metrics.map((m) => ({ value: m.metric_key, label: m.display_name || humanize(m.metric_key) }));
    const keys = new Set(own.map((o) => o.value));
    return [...own, ...REQUEST_TRENDS.filter((o) => !keys.has(o.value))];
}

/** The default selection: the summary's first two metrics and `requests`, those that exist. */
export function defaultSelection(options, metrics = []) {
    const wanted = [...metrics.slice(0, 2).map((m) => m.metric_key), 'requests'];
    return options.map((o) => o.value).filter((k) => wanted.includes(k));
}

/**
 * The keys to chart, in the order of `options`: `wanted` (from the address) when it names any
 * known key, an empty list when it is empty (the user deselected everything), else the default.
 */
export function chooseSelection(wanted, options, metrics = []) {
    if (Array.isArray(wanted) && wanted.length === 0) return [];
    const known = options.map((o) => o.value).filter((k) => wanted?.includes(k));
    return known.length ? known : defaultSelection(options, metrics);
}

/** `?metrics=` as a list: null when absent, [] when empty, else its comma-separated keys, once each. */
export function parseMetricsParam(value) {
    if (value === null || value === undefined) return null;
    return [...new Set(value.split(',').map((k) => k.trim()).filter(Boolean))];
}

// --- DOM -------------------------------------------------------------------------------------

/** The checkboxes of #trend-metrics: one input[type=checkbox][value=key] per option. */
export function renderPicker(fieldset, options, selected) {
    const legend = h('legend', { class: 'visually-hidden' }, 'Metrics to chart');
    fieldset.replaceChildren(legend, ...options.map((o) => h('label', { class: 'metric-toggle' },
        h('input', { type: 'checkbox', name: 'trend-metric', value: o.value, checked: selected.includes(o.value) }),
        h('span', {}, o.label))));
}

/** The keys checked in #trend-metrics, in the picker's order. */
export function pickedKeys(fieldset) {
    return [...fieldset.querySelectorAll('input[type=checkbox]')].filter((c) => c.checked).map((c) => c.value);
}

function figureOf(key, label) {
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'trend-chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `${label}: trend`);
    svg.setAttribute('viewBox', '0 0 640 240');
    svg.setAttribute('width', '100%');
    return h('figure', { class: 'trend', dataset: { metricKey: key } },
        h('figcaption', { class: 'trend-title' }, label),
        h('div', { class: 'chart-frame' }, svg),
        h('p', { class: 'panel-note trend-note' }));
}

/**
 * Makes `container` hold one figure per key, in that order, keeping the figures already there
 * (and their charts); the others are removed. With no key, a note says what to do.
 */
export function syncFigures(container, keys, labelOf) {
    const existing = new Map([...container.querySelectorAll('figure.trend')].map((f) => [f.dataset.metricKey, f]));
    const figures = keys.map((k) => existing.get(k) ?? figureOf(k, labelOf(k)));
    container.replaceChildren(...(figures.length ? figures : [h('p', { class: 'empty' }, 'Pick one or more metrics to see their trend.')]));
    return figures;
}

/** The figure of a key in `container`, or null. */
export function figureFor(container, key) {
    return [...container.querySelectorAll('figure.trend')].find((f) => f.dataset.metricKey === key) ?? null;
}
