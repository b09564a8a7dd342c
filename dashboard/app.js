// The dashboard: signs in, loads the user's projects, and fills every section from the read API.
// `document.body.dataset.state` tells what the page is doing, for people and for tests:
// loading (requests in flight), ready (every section rendered), signed-out (the sign-in form),
// error (a section, or the whole page, could not load: the message is in #error).
import { ApiError, cleanCredential, createApi, isExpired, isHeaderValue } from './api.js';
import { drawBars, drawTrend } from './charts.js';
import { fillSelect, note } from './dom.js';
import { formatDateTime, humanize } from './format.js';
import { DRILLDOWNS, keyFormat, periodText, renderDora, renderDrilldown, renderRoutes, renderSummary, ROUTE_NOTE } from './sections.js';
import { clearToken, fetchConfig, pageParams, rememberMetrics, rememberProject, storedSession, storeSession, takeFragment } from './session.js';
import { chooseSelection, figureFor, pickedKeys, renderPicker, syncFigures, trendOptions } from './trends.js';

const $ = (selector) => document.querySelector(selector);

const page = {
    config: null, // { url, anonKey, token, fromServer }
    api: null,
    params: pageParams(),
    projects: [],
    project: null, // the slug (or id) being shown
    timeZone: 'UTC',
    summary: null, // the get_summary answer
    trend: { keys: [], options: [], grain: 'day', answers: new Map() }, // the charted keys; each chart's last answer
    drill: { type: 'pull_request', cursors: [null], answer: null },
    generation: 0, // bumped by every project load and sign-out: late answers of an older one are dropped
    inflight: 0,
    signedOut: false,
    fatal: null, // { kind, message } of an error that leaves no project data on the page
    sectionErrors: new Map(),
    tickets: new Map(), // the latest request per section: an older answer is dropped
};

// --- state -----------------------------------------------------------------------------------

function updateState() {
    let state = 'ready';
    if (page.signedOut) state = 'signed-out';
    else if (page.inflight > 0) state = 'loading';
    else if (page.fatal || page.sectionErrors.size) state = 'error';
    document.body.dataset.state = state;
}

/** Runs `work` counted as in flight, so the state is `loading` until it and what it renders are done. */
async function track(work) {
    page.inflight += 1;
    updateState();
    try {
        return await work();
    } finally {
        page.inflight -= 1;
        updateState();
    }
}

// --- errors ----------------------------------------------------------------------------------

const MESSAGES = {
    forbidden: () => 'You have no access to this project, or it does not exist.',
    'no-projects': () => 'Your account has no project yet.',
    network: (error) => `${error.message} Check the address, that the API is running, and that it accepts requests from this page.`,
};

function showBanner(kind, text) {
    const banner = $('#error');
    banner.dataset.errorKind = kind;
    banner.textContent = text;
    banner.hidden = false;
}

function hideBanner() {
    const banner = $('#error');
    banner.hidden = true;
    banner.textContent = '';
    delete banner.dataset.errorKind;
}

function apiText(error, what) {
    const hint = error.hint ? ` ${error.hint}` : '';
    return `${what} could not be loaded: ${error.message}${hint}`;
}

/** An error that leaves the page without project data: forbidden, no-projects, network, api. */
function showFatal(kind, error, text = MESSAGES[kind]?.(error)) {
    page.generation += 1;
    page.fatal = { kind };
    clearProjectData();
    $('#dashboard').hidden = true;
    showBanner(kind, text);
    updateState();
}

/** Where a section shows that it could not load: the container emptied, and the note written. */
const SECTION_PLACES = {
    summary: { clear: '#summary-body', note: '#summary-body' },
    breakdown: { clear: '#breakdown-bars', note: '#breakdown-note' },
    routes: { clear: '#routes-body', note: '#routes-body' },
    drilldown: { clear: '#drilldown-body', note: '#drilldown-body' },
};

/** The elements of a section's place; a trend chart (`trend:<key>`) has its own, in its figure. */
function placeOf(section) {
    if (section.startsWith('trend:')) {
        const figure = figureFor($('#trend-charts'), section.slice('trend:'.length));
        return figure && { clear: figure.querySelector('svg.trend-chart'), note: figure.querySelector('.trend-note') };
    }
    const place = SECTION_PLACES[section];
    return place && { clear: $(place.clear), note: $(place.note) };
}

function showSectionError(section, text) {
    const place = placeOf(section);
    if (!place) return;
    place.clear.replaceChildren();
    const target = place.note;
    if (target.tagName === 'P') {
        target.textContent = text;
        target.classList.add('section-error');
    } else {
        target.replaceChildren(note(text, 'section-error'));
    }
}

/** Routes an error to the message a person understands; `section` names what failed. */
function handleError(error, section, what) {
    if (!(error instanceof ApiError)) error = new ApiError('api', error?.message ?? String(error));
    if (error.kind === 'expired') return showSignIn('expired');
    if (error.kind === 'credentials') return showSignIn('invalid');
    if (error.kind === 'forbidden' || error.kind === 'network') return showFatal(error.kind, error);
    const text = apiText(error, what);
    if (!section) return showFatal('api', error, text);
    page.sectionErrors.set(section, text);
    showSectionError(section, text);
    showBanner('api', text);
    updateState();
}

function sectionLoaded(section) {
    placeOf(section)?.note.classList.remove('section-error');
    if (!page.sectionErrors.delete(section)) return;
    const [first] = page.sectionErrors.values();
    if (first) showBanner('api', first);
    else if (!page.fatal) hideBanner();
}

/** Calls the API for a section and renders the answer, unless a newer load took over. */
async function load(section, what, request, render, done = () => {}) {
    const generation = page.generation;
    const ticket = (page.tickets.get(section) ?? 0) + 1;
    page.tickets.set(section, ticket);
    return track(async () => {
        try {
            const answer = await request();
            if (generation !== page.generation || ticket !== page.tickets.get(section)) return;
            render(answer);
            sectionLoaded(section);
        } catch (error) {
            if (generation === page.generation && ticket === page.tickets.get(section)) handleError(error, section, what);
        } finally {
            if (generation === page.generation && ticket === page.tickets.get(section)) done();
        }
    });
}

// --- sign-in ---------------------------------------------------------------------------------

const SIGNIN_MESSAGES = {
    expired: 'Your session has expired. Sign in again.',
    'signed-out': 'You are signed out.',
    missing: 'Enter the API URL and the anon key of your project.',
    invalid: 'The access token or the anon key is not valid: it holds characters a token never has. Paste it again.',
};

function showSignIn(reason = null) {
    page.generation += 1;
    page.signedOut = true;
    page.fatal = null;
    page.sectionErrors.clear();
    if (reason === 'expired' || reason === 'invalid') clearToken();
    clearProjectData();
    hideBanner();
    $('#dashboard').hidden = true;
    $('#session').hidden = true;
    $('#project-select').replaceChildren();
    const message = $('#signin-message');
    message.hidden = !reason;
    message.textContent = reason ? SIGNIN_MESSAGES[reason] : '';
    if (reason) message.dataset.reason = reason;
    else delete message.dataset.reason;
    fillSignInForm();
    $('#signin').hidden = false;
    updateState();
}

function fillSignInForm() {
    const { url, anonKey, fromServer } = page.config ?? {};
    $('#api-url').value = url ?? '';
    $('#anon-key').value = anonKey ?? '';
    $('#access-token').value = '';
    for (const field of document.querySelectorAll('[data-config-field]')) field.hidden = Boolean(fromServer && url);
}

function validCredentials(anonKey, token) {
    return isHeaderValue(anonKey) && isHeaderValue(token ?? '');
}

function onSignIn(event) {
    event.preventDefault();
    const url = $('#api-url').value.trim();
    // A token or key pasted from a textarea or an e-mail may hold line breaks and spaces: no JWT has any.
    const anonKey = cleanCredential($('#anon-key').value);
    const token = cleanCredential($('#access-token').value);
    if (!url || !anonKey) return showSignIn('missing');
    if (!validCredentials(anonKey, token)) return showSignIn('invalid');
    if (token && isExpired(token)) return showSignIn('expired');
    page.config = { ...page.config, url, anonKey, token };
    storeSession(page.config.fromServer ? { token } : { url, anonKey, token });
    start();
}

function onSignOut() {
    clearToken();
    if (page.config) page.config.token = null;
    showSignIn('signed-out');
}

// --- projects --------------------------------------------------------------------------------

function clearProjectData() {
    for (const id of ['#summary-body', '#breakdown-bars', '#dora-body', '#routes-body', '#drilldown-body']) $(id).replaceChildren();
    for (const id of ['#summary-period', '#breakdown-note', '#dora-note', '#routes-note']) $(id).textContent = '';
    for (const id of ['#trend-metrics', '#trend-charts', '#breakdown-metric', '#drilldown-type']) $(id).replaceChildren();
    $('#as-of').textContent = '–';
    $('#as-of').removeAttribute('datetime');
    $('#freshness').hidden = true;
    page.summary = null;
    page.trend.answers.clear();
}

function start() {
    page.signedOut = false;
    page.fatal = null;
    page.generation += 1;
    page.api = createApi({ url: page.config.url, anonKey: page.config.anonKey, accessToken: page.config.token });
    $('#signin').hidden = true;
    delete $('#signin-message').dataset.reason;
    $('#session').hidden = false;
    hideBanner();
    track(loadProjects);
}

async function loadProjects() {
    const generation = page.generation;
    let projects;
    try {
        projects = await page.api.projects();
    } catch (error) {
        if (generation === page.generation) handleError(error, null, 'Your projects');
        return;
    }
    if (generation !== page.generation) return;
    page.projects = projects;
    if (!projects.length) return showFatal('no-projects');
    const wanted = page.params.project;
    fillSelect($('#project-select'), projects.map((p) => ({ value: p.slug, label: p.name })));
    const known = projects.find((p) => p.slug === wanted || p.id === wanted);
    $('#project-select').value = known ? known.slug : wanted ? '' : projects[0].slug;
    await loadProject(known ? known.slug : wanted ?? projects[0].slug);
}

/** Loads everything of one project: the summary first (it names the metrics), then the rest together. */
async function loadProject(project) {
    page.generation += 1;
    page.fatal = null;
    page.sectionErrors.clear();
    page.project = project;
    clearProjectData();
    hideBanner();
    const generation = page.generation;
    await load('summary', 'The summary', () => page.api.summary(project), showSummary);
    if (generation !== page.generation) return;
    $('#dashboard').hidden = false;
    fillControls();
    await Promise.all([loadTrends(), loadBreakdown(), loadRoutes(), loadDrilldown()]);
}

function onProjectChange(event) {
    const slug = event.target.value;
    page.params.project = slug;
    rememberProject(slug);
    track(() => loadProject(slug));
}

// --- summary and DORA ------------------------------------------------------------------------

function showSummary(answer) {
    page.summary = answer;
    page.timeZone = answer.project?.time_zone || 'UTC';
    const asOf = $('#as-of');
    asOf.textContent = formatDateTime(answer.as_of, page.timeZone);
    if (answer.as_of) asOf.setAttribute('datetime', answer.as_of);
    $('#freshness').hidden = false;
    renderSummary($('#summary-body'), answer);
    $('#summary-period').textContent = answer.summary ? periodText(answer.summary) : '';
    renderDora($('#dora-body'), answer.summary);
    $('#dora-note').textContent = answer.summary?.dora?.length ? 'The last 7 days. Rates in percent; levels from the DORA report.' : '';
}

function metricsOfSummary() {
    const answer = page.summary;
    return answer?.summary?.metrics ?? answer?.today?.metrics ?? [];
}

function breakdownMetrics() {
    return metricsOfSummary().filter((m) => m.metric_type === 'aggregate');
}

function metricLabel(m) {
    return m.display_name || humanize(m.metric_key);
}

function fillControls() {
    const metrics = metricsOfSummary();
    page.trend.options = trendOptions(metrics);
    page.trend.keys = chooseSelection(page.params.metrics, page.trend.options, metrics);
    renderPicker($('#trend-metrics'), page.trend.options, page.trend.keys);
    const breakdowns = breakdownMetrics().map((m) => ({ value: m.metric_key, label: metricLabel(m) }));
    fillSelect($('#breakdown-metric'), [...breakdowns, { value: 'requests', label: 'Requests by route' }]);
    fillSelect($('#drilldown-type'), drilldownOptions(), page.drill.type);
    page.drill.type = $('#drilldown-type').value;
    page.drill.cursors = [null];
}

// --- trends: one chart per selected metric ---------------------------------------------------

function chartWidth(figure) {
    const frame = figure.querySelector('.chart-frame');
    return Math.max(300, Math.round(frame?.clientWidth || 640));
}

function trendNote(answer) {
    if (!answer.points.length) return 'No data yet.';
    const coarser = answer.resolution && answer.resolution !== answer.grain ? ` Older points are by ${answer.resolution}.` : '';
    const unit = answer.grain === 'day' ? 'days' : `${answer.grain}s`;
    return `${answer.points.length} ${unit}, as of ${formatDateTime(answer.as_of, page.timeZone)}.${coarser}`;
}

/** Draws the answer of one metric into its figure (if it is still shown). */
function showTrend(key, answer) {
    const figure = figureFor($('#trend-charts'), key);
    if (!figure) return;
    page.trend.answers.set(key, answer);
    const width = chartWidth(figure);
    const format = keyFormat(answer.metric_key, metricsOfSummary());
    drawTrend(figure.querySelector('svg.trend-chart'), answer, { width, height: width < 500 ? 220 : 260, format, timeZone: page.timeZone });
    figure.querySelector('.trend-note').textContent = trendNote(answer);
}

function trendLabel(key) {
    return page.trend.options.find((o) => o.value === key)?.label ?? humanize(key);
}

/** Loads one chart: its own get_trend call, its own ticket (`trend:<key>`), its own error. */
function loadChart(key) {
    const { grain } = page.trend;
    return load(`trend:${key}`, `The trend of ${trendLabel(key)}`, () => page.api.trend(page.project, key, grain), (answer) => showTrend(key, answer));
}

/** Forgets a chart no longer selected: a late answer is dropped, and its error with it. */
function dropChart(key) {
    const section = `trend:${key}`;
    page.tickets.set(section, (page.tickets.get(section) ?? 0) + 1);
    page.trend.answers.delete(key);
    if (page.sectionErrors.has(section)) sectionLoaded(section);
}

/** Makes the figures match the selection and loads the charts in `keys` (default: all selected). */
function loadTrends(keys = page.trend.keys) {
    const { grain } = page.trend;
    for (const button of document.querySelectorAll('#trend button[data-grain]')) {
        button.setAttribute('aria-pressed', String(button.dataset.grain === grain));
    }
    syncFigures($('#trend-charts'), page.trend.keys, trendLabel);
    updateState();
    return Promise.all(keys.map(loadChart));
}

function onPick() {
    const before = page.trend.keys;
    page.trend.keys = pickedKeys($('#trend-metrics'));
    page.params.metrics = page.trend.keys;
    rememberMetrics(page.trend.keys);
    for (const key of before) if (!page.trend.keys.includes(key)) dropChart(key);
    loadTrends(page.trend.keys.filter((k) => !before.includes(k)));
}

function onGrain(event) {
    const button = event.target.closest('button[data-grain]');
    if (!button || button.dataset.grain === page.trend.grain) return;
    page.trend.grain = button.dataset.grain;
    loadTrends();
}

let resizeTimer = null;
function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
        for (const [key, answer] of page.trend.answers) {
            const figure = figureFor($('#trend-charts'), key);
            const current = Number(figure?.querySelector('svg.trend-chart').getAttribute('viewBox')?.split(' ')[2]);
            if (figure && Math.abs(current - chartWidth(figure)) > 8) showTrend(key, answer);
        }
    }, 150);
}

// --- breakdown and routes --------------------------------------------------------------------

function loadBreakdown() {
    const key = $('#breakdown-metric').value;
    const dimension = key === 'requests' ? 'route' : null;
    return load('breakdown', 'The breakdown', () => page.api.breakdown(page.project, key, dimension), (answer) => {
        const list = $('#breakdown-bars');
        drawBars(list, answer.items, key === 'requests' ? 'int' : 'num');
        $('#breakdown-note').textContent = answer.items.length ? 'The last 30 days: total and share of each.' : 'No data yet.';
    });
}

function loadRoutes() {
    return load('routes', 'Request latency', () => page.api.drilldown(page.project, 'requests', 'route', 50, null), (answer) => {
        renderRoutes($('#routes-body'), answer);
        const more = answer.next ? ' Showing the first 50 routes: see Details for all of them.' : '';
        $('#routes-note').textContent = answer.items.length ? ROUTE_NOTE + more : '';
    });
}

// --- drill-down ------------------------------------------------------------------------------

/** The drill-down choices; a breakdown metric's keys are `breakdown_key` (the first) or `breakdown_key:<metric>`. */
function drilldownOptions() {
    const options = ['pull_request', 'deployment', 'route'].map((type) => ({
        value: type, label: DRILLDOWNS[type].label, data: { metricKey: DRILLDOWNS[type].metricKey },
    }));
    breakdownMetrics().forEach((m, i) => options.push({
        value: i === 0 ? 'breakdown_key' : `breakdown_key:${m.metric_key}`,
        label: `${metricLabel(m)} (keys)`, data: { metricKey: m.metric_key },
    }));
    return options;
}

function setPager(answer) {
    const { cursors } = page.drill;
    $('#drilldown-prev').disabled = cursors.length <= 1;
    $('#drilldown-next').disabled = !answer?.next;
    $('#drilldown-page').textContent = `Page ${cursors.length}`;
}

function loadDrilldown() {
    const select = $('#drilldown-type');
    const option = select.selectedOptions[0];
    if (!option) return Promise.resolve();
    const type = option.value.split(':')[0];
    const after = page.drill.cursors[page.drill.cursors.length - 1];
    $('#drilldown-prev').disabled = true;
    $('#drilldown-next').disabled = true;
    $('#drilldown-page').textContent = `Page ${page.drill.cursors.length}`;
    const request = () => page.api.drilldown(page.project, option.dataset.metricKey, type, page.params.pageSize, after);
    page.drill.answer = null;
    return load('drilldown', 'The details', request, (answer) => {
        page.drill.answer = answer;
        renderDrilldown($('#drilldown-body'), answer, type, page.timeZone);
    }, () => setPager(page.drill.answer));
}

/** A new entity type: remembered (a project change keeps it when the project has it), from page 1. */
function onDrilldownType(event) {
    page.drill.type = event.target.value;
    page.drill.cursors = [null];
    loadDrilldown();
}

function onDrilldownPage(step) {
    const { cursors, answer } = page.drill;
    if (step > 0 && answer?.next) cursors.push(answer.next);
    else if (step < 0 && cursors.length > 1) cursors.pop();
    else return;
    loadDrilldown();
}

// --- boot ------------------------------------------------------------------------------------

async function resolveConfig() {
    const served = await fetchConfig();
    const fragment = takeFragment();
    if (fragment.project) page.params.project = fragment.project;
    if (fragment.token) storeSession({ token: cleanCredential(fragment.token) });
    const stored = storedSession();
    return {
        url: served?.url ?? stored.url,
        anonKey: cleanCredential(served?.anonKey ?? stored.anonKey),
        token: cleanCredential(stored.token),
        fromServer: Boolean(served),
    };
}

function wire() {
    $('#signin-form').addEventListener('submit', onSignIn);
    $('#signout').addEventListener('click', onSignOut);
    $('#project-select').addEventListener('change', onProjectChange);
    $('#trend-metrics').addEventListener('change', onPick);
    $('#trend .segmented').addEventListener('click', onGrain);
    $('#breakdown-metric').addEventListener('change', () => loadBreakdown());
    $('#drilldown-type').addEventListener('change', onDrilldownType);
    $('#drilldown-prev').addEventListener('click', () => onDrilldownPage(-1));
    $('#drilldown-next').addEventListener('click', () => onDrilldownPage(1));
    window.addEventListener('resize', onResize);
}

async function boot() {
    wire();
    page.config = await track(resolveConfig);
    const { url, anonKey, token } = page.config;
    if (!url || !anonKey || !token) return showSignIn();
    if (!validCredentials(anonKey, token)) return showSignIn('invalid');
    if (isExpired(token)) return showSignIn('expired');
    start();
}

boot();
