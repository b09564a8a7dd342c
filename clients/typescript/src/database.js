// Database mode: events add up in a pending map; every batchIntervalMs (or as soon as
// maxBatchKeys keys are pending) the map is cut into batches, each with a random batch id and
// at most maxBatchElements summaries, queued and sent in order. A batch that fails in a way
// that may pass (no answer, 5xx, 408, 429) stays at the head of the queue, with the same id and
// the same contents, and is sent again after an exponential backoff: the server records a
// batch id once, so a retry of a batch that was written (its answer lost) writes nothing
// again. A refused batch (other 4xx) is dropped and counted as rejected. Events recorded
// meanwhile go into a new pending map, and from there into a batch that was never sent (one
// behind the waiting one), never into a batch that was: so a retry always carries its first
// contents, and during an outage a key is held at most twice (in the waiting batch and in the
// unsent one behind it) however many intervals it lasts, instead of once more per interval.

import { randomUUID } from 'node:crypto';

import { BaseStorage } from './base.js';
import { backoffDelay } from './hooks.js';
import { rpcArgs } from './query.js';
import { rowFromServer } from './rows.js';
import { register, unregister } from './signals.js';
import { SummaryStore } from './store.js';
import { addEvent, eventsOf, keyOf, mergeInto, toWire } from './summary.js';
import { createTransport } from './transport.js';

/** Internal errors (XX000) a batch may get before it counts as refused (a retry each but the last). */
export const INTERNAL_ERROR_ATTEMPTS = 3;

/**
 * @typedef {object} Batch
 * @property {string} id
 * @property {import('./subjects.js').Subject} subject
 * @property {Map<string, import('./summary.js').Summary> | null} summaries  until it is first sent
 * @property {Record<string, unknown>[] | null} elements  its wire contents, fixed when it is first sent
 * @property {number} keys
 * @property {number} events
 * @property {number} internalErrors  answers with XX000 so far
 */

/** The key of a summary (that of its events). @param {import('./summary.js').Summary} s */
const keyOfSummary = (s) => keyOf(s.subject, { project: s.project, name: s.name, method: s.method, at: s.hour });

/**
 * A wait that keeps the process alive (a flush is awaited by someone) until it ends or is
 * cancelled, so that nothing is left running once the flush is over.
 * @param {number} ms
 */
function wait(ms) {
    /** @type {NodeJS.Timeout | undefined} */
    let timer;
    const promise = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), Math.max(0, ms));
    });
    return { promise, cancel: () => clearTimeout(timer) };
}

/** A monotonic clock (ms) for the retry schedule and the flush deadlines. */
const monotonic = () => performance.now();

export class DatabaseMetricsStorage extends BaseStorage {
    /** @param {ReturnType<typeof import('./config.js').resolveOptions>} settings */
    constructor(settings) {
        super(settings);
        this.transport = createTransport(/** @type {any} */ (settings.supabase), settings);
        this.pending = new SummaryStore();
        /** @type {Batch[]} */
        this.queue = [];
        /** Events and keys in the queue's batches. */
        this.queuedEvents = 0;
        this.queuedKeys = 0;
        this.failures = 0;
        this.retryAt = 0;
        /** @type {NodeJS.Timeout | null} */
        this.retryTimer = null;
        /** @type {Promise<boolean> | null} */
        this.sending = null;
        /** @type {Date | null} */
        this.lastFlushAt = null;
        /** The flush started early for maxBatchKeys, once scheduled. @type {NodeJS.Immediate | null} */
        this.early = null;
        /** Events recorded when a flush on exit last failed (none tried again before new ones). */
        this.exitFlushFailedAt = -1;
        this.timer = setInterval(() => this.tick(), settings.batchIntervalMs);
        this.timer.unref();
        if (settings.handleSignals) {
            register(this);
        }
    }

    /** @param {import('./subjects.js').Subject} subject @param {import('./summary.js').CheckedEvent} event */
    accept(subject, event) {
        const room = this.settings.maxPendingKeys - this.queuedKeys;
        if (!this.pending.add(subject, event, room)) {
            // No room for a new key, but the key may be held in a batch not sent yet: add it there.
            return this.addToUnsent(subject, event);
        }
        if (this.pending.size >= this.settings.maxBatchKeys && this.early === null) {
            // Not in the caller's request: right after it, in its own turn of the event loop.
            this.early = setImmediate(() => {
                this.early = null;
                this.tick();
            });
        }
        return true;
    }

    /**
     * Adds an event into its key's summary in the batch of its subject that cut() would add
     * to (never sent yet); false when that batch does not hold the key.
     * @param {import('./subjects.js').Subject} subject @param {import('./summary.js').CheckedEvent} event
     */
    addToUnsent(subject, event) {
        const batch = this.queue.findLast((b) => b.subject === subject && b.summaries !== null);
        const summary = batch?.summaries?.get(keyOf(subject, event));
        if (!batch || !summary) {
            return false;
        }
        addEvent(summary, event);
        batch.events += 1;
        this.queuedEvents += 1;
        return true;
    }

    boundMessage() {
        return `maxPendingKeys = ${this.settings.maxPendingKeys} keys are pending or unsent (is the database reachable?); events of new keys are dropped until batches are written`;
    }

    /**
     * Moves the pending summaries into the queue: into the last batch of their subject that was
     * never sent (its summary of the same key, or a new one while it has fewer than
     * maxBatchElements), else into new batches at the end. A batch that was sent is never
     * added to, so that its retries carry the same contents.
     */
    cut() {
        const size = this.settings.maxBatchElements;
        for (const s of this.pending.take()) {
            let batch = this.queue.findLast((b) => b.subject === s.subject && b.summaries !== null);
            const key = keyOfSummary(s);
            const same = batch?.summaries?.get(key);
            if (same) {
                mergeInto(same, s);
            } else {
                if (!batch || batch.keys >= size) {
                    batch = { id: randomUUID(), subject: s.subject, summaries: new Map(), elements: null, keys: 0, events: 0, internalErrors: 0 };
                    this.queue.push(batch);
                }
                /** @type {Map<string, import('./summary.js').Summary>} */ (batch.summaries).set(key, s);
                batch.keys += 1;
                this.queuedKeys += 1;
            }
            batch.events += eventsOf(s);
            this.queuedEvents += eventsOf(s);
        }
    }

    tick() {
        this.cut();
        this.sendUnlessWaiting();
    }

    sendUnlessWaiting() {
        if (this.queue.length > 0 && monotonic() >= this.retryAt) {
            this.send().catch(() => {});
        }
    }

    /**
     * Sends the queue in order until it is empty (true) or a batch waits for a retry (false);
     * one sender at a time: a call while sending joins it.
     */
    send() {
        if (this.sending === null) {
            // .finally runs after this assignment, even if the queue is empty.
            this.sending = this.sendAll().finally(() => {
                this.sending = null;
            });
        }
        return this.sending;
    }

    async sendAll() {
        while (this.queue.length > 0) {
            if (!(await this.sendHead())) {
                return false;
            }
        }
        return true;
    }

    /** Sends the batch at the head of the queue; false when it waits for a retry. */
    async sendHead() {
        const batch = this.queue[0];
        if (batch.summaries !== null) {
            // Its contents are fixed from its first send on: every retry sends the same.
            batch.elements = [...batch.summaries.values()].map(toWire);
            batch.summaries = null;
        }
        const res = await this.transport.record(batch.subject, /** @type {Record<string, unknown>[]} */ (batch.elements), batch.id);
        if (res.ok) {
            this.settle(batch, 'flushed');
            this.counters.batches += 1;
            this.failures = 0;
            this.retryAt = 0;
            this.lastFlushAt = new Date(this.now());
            return true;
        }
        const error = /** @type {import('./errors.js').MetricsError} */ (res.error);
        this.noteError(error);
        batch.internalErrors += error.code === 'XX000' ? 1 : 0;
        if (!error.retryable || batch.internalErrors >= INTERNAL_ERROR_ATTEMPTS) {
            this.settle(batch, 'rejected');
            this.hooks.error({ fn: batch.subject.recordFn, batchId: batch.id, events: batch.events, retryable: false, retryInMs: null, error });
            return true;
        }
        this.scheduleRetry(batch, error);
        return false;
    }

    /** Takes the head batch off the queue, its events counted as `counter`. */
    settle(batch, counter) {
        this.queue.shift();
        this.queuedEvents -= batch.events;
        this.queuedKeys -= batch.keys;
        this.counters[counter] += batch.events;
    }

    /** @param {Batch} batch @param {import('./errors.js').MetricsError} error */
    scheduleRetry(batch, error) {
        this.failures += 1;
        this.counters.retries += 1;
        const delay = backoffDelay(this.failures, this.settings.backoff, this.settings.random);
        this.retryAt = monotonic() + delay;
        if (this.retryTimer) {
            clearTimeout(this.retryTimer);
        }
        if (!this.closed) {
            this.retryTimer = setTimeout(() => {
                this.retryTimer = null;
                this.retryAt = 0;
                this.sendUnlessWaiting();
            }, delay);
            this.retryTimer.unref();
        }
        this.hooks.error({ fn: batch.subject.recordFn, batchId: batch.id, events: batch.events, retryable: true, retryInMs: delay, error });
    }

    /**
     * Sends everything pending now, and what is queued, retrying failures until `timeoutMs`
     * (default flushTimeoutMs) has passed; never rejects. The first try is at once, even
     * while the queue waits for a retry.
     * @param {{ timeoutMs?: number }} [options]
     * @returns {Promise<import('./index.js').FlushResult>}
     */
    async flush({ timeoutMs = this.settings.flushTimeoutMs } = {}) {
        const deadline = monotonic() + timeoutMs;
        this.cut();
        const mine = new Set(this.queue);
        const unsent = () => this.queue.some((b) => mine.has(b));
        const limit = wait(deadline - monotonic());
        try {
            while (unsent() && monotonic() < deadline) {
                if ((await Promise.race([this.send(), limit.promise])) === null || !unsent()) {
                    break;
                }
                const backoff = wait(this.retryAt - monotonic());
                await Promise.race([backoff.promise, limit.promise]);
                backoff.cancel();
            }
        } finally {
            limit.cancel();
        }
        return { complete: !unsent(), pending: this.pending.events + this.queuedEvents, pendingKeys: this.pending.size + this.queuedKeys };
    }

    /** The flush on a signal or on exit, bounded by shutdownTimeoutMs. */
    async shutdownFlush() {
        const recorded = this.counters.recorded;
        const result = await this.flush({ timeoutMs: this.settings.shutdownTimeoutMs });
        if (!result.complete) {
            this.exitFlushFailedAt = recorded;
        }
        return result;
    }

    /** Whether beforeExit should flush: something is unsent, and new since a failed try. */
    wantsExitFlush() {
        const unsent = this.pending.size > 0 || this.queue.length > 0;
        return unsent && this.exitFlushFailedAt !== this.counters.recorded && this.sending === null;
    }

    /**
     * The final flush (bounded by shutdownTimeoutMs unless `timeoutMs` is given), then the
     * timers stop and the signal listeners go; later events are dropped (reason closed).
     * @param {{ timeoutMs?: number }} [options]
     */
    close({ timeoutMs = this.settings.shutdownTimeoutMs } = {}) {
        if (!this.closing) {
            this.closed = true;
            clearInterval(this.timer);
            if (this.early) {
                clearImmediate(this.early);
            }
            unregister(this);
            this.closing = this.flush({ timeoutMs }).finally(() => {
                if (this.retryTimer) {
                    clearTimeout(this.retryTimer);
                }
            });
        }
        return this.closing;
    }

    /** @param {{ timeoutMs?: number }} [options] */
    shutdown(options) {
        return this.close(options);
    }

    /** @param {import('./subjects.js').Subject} subject @param {import('./query.js').Query} query */
    async read(subject, query) {
        const rows = await this.transport.read(subject, rpcArgs(subject, query));
        return rows.map((row) => rowFromServer(subject, row));
    }

    /** @returns {import('./index.js').MetricsStats} */
    stats() {
        return /** @type {any} */ (this.statsWith({
            pending: this.pending.events + this.queuedEvents,
            pendingKeys: this.pending.size + this.queuedKeys,
            unsentBatches: this.queue.length,
            keys: this.pending.size + this.queuedKeys,
            events: this.pending.events + this.queuedEvents,
            pruned: 0,
            lastFlushAt: this.lastFlushAt,
        }));
    }
}
