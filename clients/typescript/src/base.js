// What both storages share: the recording path (check, count, hand the event to the mode's
// store; never throw, always return the same resolved promise), the reads' argument handling,
// and the counters.

import { checkEvent } from './event.js';
import { createHooks } from './hooks.js';
import { queryOf } from './query.js';
import { OPERATION, ROUTE } from './subjects.js';

const DONE = Promise.resolve();

export class BaseStorage {
    /** @param {ReturnType<typeof import('./config.js').resolveOptions>} settings */
    constructor(settings) {
        this.settings = settings;
        this.now = settings.now;
        this.hooks = createHooks(settings, settings.now);
        this.eventSettings = {
            project: settings.project,
            maxEventAgeMs: settings.maxEventAgeMs,
            maxEventLeadMs: settings.maxEventLeadMs,
        };
        this.closed = false;
        this.counters = { recorded: 0, invalid: 0, dropped: 0, flushed: 0, rejected: 0, retries: 0, batches: 0 };
        /** @type {import('./index.js').MetricsStats['lastError']} */
        this.lastError = null;
    }

    /** @type {import('./index.js').MetricsStorage['recordRouteMetric']} */
    recordRouteMetric(route, method, success, duration, options) {
        this.record(ROUTE, { name: route, method, success, duration, options });
        return DONE;
    }

    /** @type {import('./index.js').MetricsStorage['recordOperationMetric']} */
    recordOperationMetric(operation, success, duration, options) {
        this.record(OPERATION, { name: operation, success, duration, options });
        return DONE;
    }

    /**
     * @param {import('./subjects.js').Subject} subject
     * @param {import('./event.js').RawEvent} raw
     */
    record(subject, raw) {
        try {
            if (this.closed) {
                this.drop('dropped', 'closed', subject, 'the storage is closed');
                return;
            }
            const checked = checkEvent(subject, raw, this.eventSettings, this.now());
            if ('problem' in checked) {
                this.drop('invalid', 'invalid', subject, checked.problem.message, checked.problem.code);
            } else if (this.accept(subject, checked.event)) {
                this.counters.recorded += 1;
            } else {
                this.drop('dropped', 'memory-bound', subject, this.boundMessage());
            }
        } catch (e) {
            // Unreachable unless the arguments themselves throw (a hostile getter or proxy).
            this.drop('invalid', 'invalid', subject, e instanceof Error ? e.message : String(e));
        }
    }

    /**
     * @param {'invalid' | 'dropped'} counter
     * @param {import('./index.js').DropInfo['reason']} reason
     * @param {import('./subjects.js').Subject} subject @param {string} message @param {string} [code]
     */
    drop(counter, reason, subject, message, code) {
        this.counters[counter] += 1;
        this.hooks.drop({ reason, subject: subject.kind, events: 1, message, code });
    }

    /** @type {import('./index.js').MetricsStorage['getRouteMetrics']} */
    async getRouteMetrics(route, method, timeRange) {
        return /** @type {any} */ (this.read(ROUTE, queryOf(route, method, timeRange)));
    }

    /** @type {import('./index.js').MetricsStorage['getOperationMetrics']} */
    async getOperationMetrics(operation, timeRange) {
        return /** @type {any} */ (this.read(OPERATION, queryOf(operation, undefined, timeRange)));
    }

    // What each mode provides:

    /**
     * Adds a checked event into the mode's store; false when the memory bound refuses it.
     * @abstract
     * @param {import('./subjects.js').Subject} subject @param {import('./summary.js').CheckedEvent} event
     * @returns {boolean}
     */
    accept(subject, event) {
        throw new Error(`${this.constructor.name} does not implement accept(${subject.kind}, ${event.name})`);
    }

    /** What a drop for the memory bound says. @abstract @returns {string} */
    boundMessage() {
        throw new Error(`${this.constructor.name} does not implement boundMessage()`);
    }

    /**
     * The rows of a report.
     * @abstract
     * @param {import('./subjects.js').Subject} subject @param {import('./query.js').Query} query
     * @returns {Promise<Record<string, unknown>[]>}
     */
    async read(subject, query) {
        throw new Error(`${this.constructor.name} does not implement read(${subject.kind}, ${query.grain})`);
    }

    /** @param {Error & { code?: string, status?: number }} error */
    noteError(error) {
        this.lastError = { message: error.message, code: error.code ?? '', status: error.status ?? 0, at: new Date(this.now()) };
    }

    /** @param {Record<string, unknown>} own  the mode's own counters */
    statsWith(own) {
        return { mode: this.settings.mode, ...this.counters, ...own, lastError: this.lastError, closed: this.closed };
    }
}
