// Memory mode: the hour summaries stay in this process, for retentionDays days, and the reads
// compute the server's report rows from them. Nothing is sent anywhere; a restart forgets it.

import { BaseStorage } from './base.js';
import { DAY_MS, checkedQuery, report } from './report.js';
import { HOUR_MS } from './summary.js';
import { SummaryStore } from './store.js';

export class MemoryMetricsStorage extends BaseStorage {
    /** @param {ReturnType<typeof import('./config.js').resolveOptions>} settings */
    constructor(settings) {
        super(settings);
        this.store = new SummaryStore();
        this.pruned = 0;
        this.timer = setInterval(() => this.prune(), Math.min(HOUR_MS, settings.retentionDays * DAY_MS));
        this.timer.unref();
    }

    /** @param {import('./subjects.js').Subject} subject @param {import('./summary.js').CheckedEvent} event */
    accept(subject, event) {
        return this.store.add(subject, event, this.settings.maxMemoryKeys);
    }

    boundMessage() {
        return `memory mode holds maxMemoryKeys = ${this.settings.maxMemoryKeys} (subject, project, name, method, hour) keys; events of new keys are dropped until old hours pass retentionDays`;
    }

    /** Drops the hours that ended retentionDays ago or earlier. */
    prune() {
        this.pruned += this.store.dropEndedBy(this.now() - this.settings.retentionDays * DAY_MS);
    }

    /** @param {import('./subjects.js').Subject} subject @param {import('./query.js').Query} query */
    async read(subject, query) {
        this.prune();
        const q = checkedQuery(subject, query, this.now(), this.settings.maxQueryDays);
        return report(subject, this.store.values(), q);
    }

    /** @returns {import('./index.js').MetricsStats} */
    stats() {
        return /** @type {any} */ (this.statsWith({
            pending: 0,
            pendingKeys: 0,
            unsentBatches: 0,
            keys: this.store.size,
            events: this.store.events,
            pruned: this.pruned,
            lastFlushAt: null,
        }));
    }

    /** Nothing to send: resolves at once. */
    async flush() {
        return { complete: true, pending: 0, pendingKeys: 0 };
    }

    async close() {
        this.closed = true;
        clearInterval(this.timer);
        return { complete: true, pending: 0, pendingKeys: 0 };
    }

    shutdown() {
        return this.close();
    }
}
