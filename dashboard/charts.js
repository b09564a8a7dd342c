// The charts: a trend line in SVG (gaps shown as gaps, the open bucket hollow and dashed) and
// horizontal bars. The geometry (trendLayout and its helpers) is pure and runs in Node for the
// tests; only drawTrend and drawBars touch the DOM, and only when they are called.

import { h, numberEl } from './dom.js';
import { bucketLabel, dataValue, formatNumber } from './format.js';

/** The nominal length of a bucket, to count the buckets missing in a gap. */
export const STEP_MS = {
    hour: 3600e3,
    day: 86400e3,
    week: 7 * 86400e3,
    month: 30.44 * 86400e3,
};

const ms = (iso) => Date.parse(iso);

/** An instant as the API writes it: ISO 8601 in UTC, without milliseconds. */
export function isoUtc(time) {
    return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Whether point i is the open one: partial, or the last of an answer that says `open`. */
export function isOpen(points, i, answerOpen = false) {
    return Boolean(points[i].partial) || (answerOpen && i === points.length - 1);
}

/**
 * The start of the k-th bucket after `from` (k = 0 is `from`): calendar steps in UTC components
 * (the day + k, the day + 7k, or the month + k, keeping the UTC time of day; hours + k).
 * Exact for buckets that are UTC midnights (the daily metrics by default); for buckets that are
 * midnights of another zone, a start across a daylight-saving change is off by that zone's DST
 * hour (the band then starts an hour early or late, on the right date).
 */
export function stepBucket(from, grain, k) {
    const d = new Date(from);
    if (grain === 'hour') return isoUtc(d.getTime() + k * STEP_MS.hour);
    const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
    const time = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
    if (grain === 'month') return isoUtc(Date.UTC(y, m + k, day, ...time));
    return isoUtc(Date.UTC(y, m, day + (grain === 'week' ? 7 * k : k), ...time));
}

/**
 * The buckets missing between consecutive points (`next.time_bucket` later than
 * `prev.bucket_end`): round(gap / nominal step) of them (so a 23-hour DST day counts as one),
 * each starting a calendar step after the one before (see stepBucket), the last one ending
 * where the next point starts.
 * Returns [{ start, end, after }]: ISO starts and ends, `after` the index of the point before.
 */
export function findGaps(points) {
    const gaps = [];
    for (let i = 1; i < points.length; i++) {
        const prevEnd = points[i - 1].bucket_end;
        const nextStart = ms(points[i].time_bucket);
        const gap = nextStart - ms(prevEnd);
        if (!(gap > 0)) continue;
        const grain = points[i - 1].grain ?? 'day';
        const count = Math.max(1, Math.round(gap / (STEP_MS[grain] ?? STEP_MS.day)));
        for (let k = 0; k < count; k++) {
            const start = stepBucket(prevEnd, grain, k);
            const end = k === count - 1 ? isoUtc(nextStart) : stepBucket(prevEnd, grain, k + 1);
            gaps.push({ start, end, after: i - 1 });
        }
    }
    return gaps;
}

/** Runs of consecutive points with a value: broken where a bucket is missing or a value is null. */
export function findRuns(points) {
    const gapAfter = new Set(findGaps(points).map((g) => g.after));
    const runs = [];
    let run = [];
    points.forEach((p, i) => {
        if (p.value === null || p.value === undefined) {
            if (run.length) runs.push(run);
            run = [];
            return;
        }
        run.push(i);
        if (gapAfter.has(i)) {
            runs.push(run);
            run = [];
        }
    });
    if (run.length) runs.push(run);
    return runs;
}

/** About `count` round tick values covering [min, max] (1, 2, 2.5 or 5 times a power of ten). */
export function niceTicks(min, max, count = 4) {
    if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
    if (min === max) max = min === 0 ? 1 : min + Math.abs(min);
    const rough = (max - min) / count;
    const power = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
    const ticks = [];
    for (let t = Math.floor(min / step) * step; t < max + step * 0.999; t += step) {
        ticks.push(Number(t.toPrecision(12)));
        if (t >= max) break;
    }
    return ticks;
}

/** A linear map of [d0, d1] onto [r0, r1]. */
export function scale(d0, d1, r0, r1) {
    const span = d1 - d0 || 1;
    return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export const MARGIN = { top: 12, right: 14, bottom: 28, left: 58 };

/** The domains of a trend: time from the first bucket's start to the last one's end, values from 0. */
function domains(points) {
    const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
    const ticks = niceTicks(Math.min(0, ...values), Math.max(0, ...values));
    return {
        t0: ms(points[0].time_bucket),
        t1: ms(points[points.length - 1].bucket_end),
        ticks,
    };
}

/** The SVG path through the given positions: "M x y L x y ...". */
export function pathOf(positions) {
    return positions.map(({ x, y }, i) => `${i ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`).join(' ');
}

/**
 * Splits a run at its first open point: the solid part (up to the point before it) is the
 * run's `path.line`, the rest is dashed. A run that starts open is a one-point line.
 */
export function splitRun(run, openAt) {
    const first = run.findIndex(openAt);
    if (first <= 0) return { solid: first === 0 ? run.slice(0, 1) : run, dashed: first === 0 ? run : [] };
    return { solid: run.slice(0, first), dashed: run.slice(first - 1) };
}

/** The x labels: about one per 80 units (at least 3), at bucket middles. */
function xTicks(points, x, width, { grain, timeZone }) {
    const room = Math.max(3, Math.floor(width / 80));
    const every = Math.max(1, Math.ceil(points.length / room));
    const ticks = [];
    for (let i = 0; i < points.length; i += every) {
        const p = points[i];
        ticks.push({ x: x((ms(p.time_bucket) + ms(p.bucket_end)) / 2), label: bucketLabel(p.time_bucket, { grain, timeZone }) });
    }
    return ticks;
}

/** Everything the trend chart draws, in SVG units: pure, from the get_trend answer. */
export function trendLayout(answer, { width = 640, height = 240, format = 'num', timeZone = 'UTC' } = {}) {
    const points = answer.points ?? [];
    const base = { width, height, points: [], gaps: [], lines: [], dashed: [], xTicks: [], yTicks: [] };
    if (!points.length) return base;
    const { t0, t1, ticks } = domains(points);
    const x = scale(t0, t1, MARGIN.left, width - MARGIN.right);
    const y = scale(ticks[0], ticks[ticks.length - 1], height - MARGIN.bottom, MARGIN.top);
    const grain = answer.grain ?? 'day';
    const placed = points.map((p, i) => ({
        bucket: p.time_bucket,
        value: p.value,
        open: isOpen(points, i, answer.open),
        x: x((ms(p.time_bucket) + ms(p.bucket_end)) / 2),
        y: y(p.value ?? ticks[0]),
        title: `${bucketLabel(p.time_bucket, { grain: p.grain ?? grain, timeZone })}: ${formatNumber(p.value, format)}`
            + (isOpen(points, i, answer.open) ? ' (so far)' : ''),
    }));
    const pieces = findRuns(points).map((run) => splitRun(run, (i) => placed[i].open));
    return {
        ...base,
        points: placed,
        gaps: findGaps(points).map((g) => ({
            bucket: g.start, x: x(ms(g.start)), width: x(ms(g.end)) - x(ms(g.start)),
            title: `${bucketLabel(g.start, { grain: points[g.after].grain ?? grain, timeZone })}: no data`,
        })),
        lines: pieces.map((r) => pathOf(r.solid.map((i) => placed[i]))),
        dashed: pieces.filter((r) => r.dashed.length > 1).map((r) => pathOf(r.dashed.map((i) => placed[i]))),
        xTicks: xTicks(points, x, width - MARGIN.left - MARGIN.right, { grain, timeZone }),
        yTicks: ticks.map((v) => ({ y: y(v), label: formatNumber(v, format) })),
    };
}

// --- drawing (DOM) -----------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, typeof v === 'number' ? String(Math.round(v * 10) / 10) : String(v));
    if (text !== undefined) node.textContent = text;
    return node;
}

function drawAxes(svg, layout) {
    const axes = el('g', { class: 'axes', 'aria-hidden': 'true' });
    const right = layout.width - MARGIN.right;
    for (const t of layout.yTicks) {
        axes.append(el('line', { class: 'grid', x1: MARGIN.left, x2: right, y1: t.y, y2: t.y }));
        axes.append(el('text', { class: 'y-label', x: MARGIN.left - 8, y: t.y + 4, 'text-anchor': 'end' }, t.label));
    }
    for (const t of layout.xTicks) {
        axes.append(el('text', { class: 'x-label', x: t.x, y: layout.height - 8, 'text-anchor': 'middle' }, t.label));
    }
    svg.append(axes);
}

function drawGaps(svg, layout) {
    for (const g of layout.gaps) {
        const band = el('rect', {
            class: 'gap', 'data-bucket': g.bucket, x: g.x, y: MARGIN.top,
            width: Math.max(g.width, 2), height: layout.height - MARGIN.top - MARGIN.bottom,
        });
        band.append(el('title', {}, g.title));
        svg.append(band);
    }
}

function drawSeries(svg, layout) {
    for (const d of layout.lines) svg.append(el('path', { class: 'line', d }));
    for (const d of layout.dashed) svg.append(el('path', { class: 'line-open', d }));
    for (const p of layout.points) {
        const classes = ['point', p.open && 'open', p.value === null && 'no-value'].filter(Boolean).join(' ');
        const dot = el('circle', { class: classes, 'data-bucket': p.bucket, 'data-value': dataValue(p.value), cx: p.x, cy: p.y, r: 3.5 });
        dot.append(el('title', {}, p.title));
        svg.append(dot);
    }
}

/** Draws the trend of a get_trend answer into `svg` (emptied first), `width` SVG units wide. */
export function drawTrend(svg, answer, options) {
    const layout = trendLayout(answer, options);
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${layout.width} ${layout.height}`);
    svg.setAttribute('width', '100%');
    svg.dataset.metricKey = answer.metric_key;
    svg.dataset.grain = answer.grain;
    svg.dataset.rangeStart = answer.range?.start ?? '';
    svg.dataset.rangeEnd = answer.range?.end ?? '';
    if (!layout.points.length) {
        svg.append(el('text', { class: 'chart-empty', x: layout.width / 2, y: layout.height / 2, 'text-anchor': 'middle' }, 'No data yet'));
        return layout;
    }
    drawAxes(svg, layout);
    drawGaps(svg, layout);
    drawSeries(svg, layout);
    return layout;
}

function barRow(item, widest, format) {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${widest > 0 ? Math.max(0, (item.total / widest) * 100) : 0}%`;
    return h('li', { class: 'bar', dataset: { dimensionValue: item.dimension_value } },
        h('span', { class: 'bar-label' }, item.dimension_value),
        h('span', { class: 'bar-track' }, fill),
        numberEl('span', { class: 'bar-total' }, item.total, format),
        numberEl('span', { class: 'bar-share' }, item.share, 'pct'));
}

/** Draws one `.bar` per item of a get_breakdown answer into `list` (an <ol>), largest first. */
export function drawBars(list, items, format = 'num') {
    const widest = Math.max(0, ...items.map((i) => i.total ?? 0));
    list.replaceChildren(...items.map((item) => barRow(item, widest, format)));
}
