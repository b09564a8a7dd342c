// Summaries keyed by (subject, project, name, method, UTC hour): the pending events of
// database mode and everything memory mode keeps.

import { HOUR_MS, addEvent, emptySummary, eventsOf, keyOf } from './summary.js';

export class SummaryStore {
    constructor() {
        /** @type {Map<string, import('./summary.js').Summary>} */
        this.map = new Map();
        /** Events the summaries hold. */
        this.events = 0;
    }

    get size() {
        return this.map.size;
    }

    /**
     * Adds a checked event into its key's summary. A new key is made only while fewer than
     * `limit` keys are held: false when the event is refused for that reason.
     * @param {import('./subjects.js').Subject} subject
     * @param {import('./summary.js').CheckedEvent} event
     * @param {number} limit
     */
    add(subject, event, limit) {
        const key = keyOf(subject, event);
        let s = this.map.get(key);
        if (s === undefined) {
            if (this.map.size >= limit) {
                return false;
            }
            s = emptySummary(subject, event);
            this.map.set(key, s);
        }
        addEvent(s, event);
        this.events += 1;
        return true;
    }

    /** Takes every summary out, in insertion order, leaving the store empty. */
    take() {
        const all = [...this.map.values()];
        this.map = new Map();
        this.events = 0;
        return all;
    }

    /**
     * Drops the summaries of the hours that ended at `cutoff` (ms) or before; returns how many.
     * @param {number} cutoff
     */
    dropEndedBy(cutoff) {
        let dropped = 0;
        for (const [key, s] of this.map) {
            if (s.hour + HOUR_MS <= cutoff) {
                this.map.delete(key);
                this.events -= eventsOf(s);
                dropped += 1;
            }
        }
        return dropped;
    }

    values() {
        return this.map.values();
    }
}
