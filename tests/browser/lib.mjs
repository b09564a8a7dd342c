// Shared by the browser tests (run by tests/scenarios/dashboard/browser.sh): the environment
// the scenario exports, psql as the superuser (the database's own answers, computed from the
// tables), HS256 tokens, and Debian's Chromium driven by puppeteer-core.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

function required(name) {
    const value = process.env[name];
    assert.ok(value, `${name} is set (run tests/scenarios/dashboard/browser.sh)`);
    return value;
}

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PAGE_URL = required('DASHBOARD_URL');
export const API_URL = required('PGRST_URL');
const SECRET = required('PGRST_JWT_SECRET');
const DB = required('METRICS_DASHBOARD_DB');
export const SHOTS = required('DASHBOARD_SHOTS');
export const GAP_DAY = required('GAP_DAY');
export const A = 'dash-a';
export const B = 'dash-b';

// The page's own formatter: what every number must read.
// (DASHBOARD_DIR: another checkout's page, when trying the tests against it by hand.)
export const { formatNumber } = await import(pathToFileURL(join(process.env.DASHBOARD_DIR ?? join(REPO_ROOT, 'dashboard'), 'format.js')).href);

// ---------------------------------------------------------------------------------------------
// psql as the cluster's superuser.

export function sql(query) {
    return execFileSync('psql', ['-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-d', DB, '-c', query],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The rows of a query as JSON objects. */
export function sqlRows(query) {
    return JSON.parse(sql(`SELECT coalesce(json_agg(q), '[]') FROM (${query}) AS q`));
}

// ---------------------------------------------------------------------------------------------
// Tokens, as Supabase's auth signs them.

export function signJwt(claims) {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
    return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);
export function userToken(projects, { exp = now() + 3600, sub = '3d0c1a7e-5b2f-4e61-9a8d-7c4b2e1f0a93' } = {}) {
    return signJwt({
        iss: 'supabase', role: 'authenticated', aud: 'authenticated', sub, email: 'viewer@example.com',
        iat: now() - 60, exp, app_metadata: { provider: 'email', providers: ['email'], ...(projects && { projects }) },
    });
}

// ---------------------------------------------------------------------------------------------
// The browser: one per test file, a fresh page (and so a fresh sessionStorage) per open().

export async function launch() {
    return puppeteer.launch({
        executablePath: '/usr/bin/chromium',
        args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
        headless: true,
    });
}

/**
 * Opens the page with a user's token in the URL fragment (as Supabase's auth redirect gives it),
 * an optional query string, and waits until body[data-state] is one of `states`.
 * Returns the page; the console's errors and failed requests are collected in page.problems.
 */
export async function open(browser, { token, query = '', width = 1280, height = 900, states = ['ready'] } = {}) {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.problems = [];
    page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) page.problems.push(`console: ${m.text()}`);
    });
    // A file of the page that is missing (the API's 4xx answers are what some tests want).
    page.on('response', (r) => {
        if (r.status() >= 400 && r.url().startsWith(PAGE_URL) && !r.url().endsWith('/favicon.ico')) {
            page.problems.push(`${r.url()} answered ${r.status()}`);
        }
    });
    await page.setViewport({ width, height });
    const url = `${PAGE_URL}${query ? `?${query}` : ''}${token ? `#access_token=${token}` : ''}`;
    await page.goto(url, { waitUntil: 'load' });
    await waitForState(page, states);
    return page;
}

export async function waitForState(page, states = ['ready'], timeout = 20_000) {
    try {
        await page.waitForFunction((s) => s.includes(document.body?.dataset.state), { timeout, polling: 50 }, states);
    } catch (e) {
        const state = await page.evaluate(() => document.body?.dataset.state);
        const error = await page.evaluate(() => document.querySelector('#error')?.textContent?.trim());
        throw new Error(`body[data-state] is "${state}", not ${states.join(' or ')} (#error: ${error ?? 'none'}; ${page.problems.join('; ')})`);
    }
}

/** Every number of a section: { value (data-value), format, text, path } per [data-value]. */
export async function numbersIn(page, selector) {
    return page.$$eval(`${selector} [data-value]`, (els) => els.map((el) => {
        const path = [];
        for (let e = el; e && e !== document.body; e = e.parentElement) {
            const keys = ['metricKey', 'route', 'environment', 'field', 'referenceId', 'dimensionValue', 'bucket']
                .filter((k) => e.dataset[k] !== undefined).map((k) => `${k}=${e.dataset[k]}`);
            path.unshift(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${[...e.classList].map((c) => `.${c}`).join('')}${keys.length ? `[${keys.join(',')}]` : ''}`);
        }
        return { value: el.dataset.value, format: el.dataset.format, text: el.textContent.trim(), tag: el.tagName.toLowerCase(), path: path.join(' > ') };
    }));
}

/** The value of data-value as a number (null for "null"). */
export const num = (v) => (v === 'null' || v === null || v === undefined ? null : Number(v));

/** Equal up to floating noise (the API's doubles against psql's numerics printed as text). */
export function near(got, expected, what) {
    if (expected === null || got === null) return assert.equal(got, expected, what);
    const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
    assert.ok(Math.abs(got - expected) <= tolerance, `${what}: the page has ${got}, the database ${expected}`);
}

/** Every number's text is formatNumber(data-value, data-format), on elements other than SVG. */
export function assertFormatted(numbers, where) {
    assert.ok(numbers.length > 0, `${where} shows numbers`);
    for (const n of numbers) {
        if (n.path.includes('svg')) continue;   // the chart's marks carry values, not text
        assert.ok(['int', 'num', 'ms', 'pct', 'hours'].includes(n.format), `${n.path}: data-format "${n.format}" is one of the contract's`);
        assert.equal(n.text, formatNumber(n.value, n.format), `${n.path}: text of data-value ${n.value} (${n.format})`);
    }
}
