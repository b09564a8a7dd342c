// Shared set-up of the tests: a database-mode storage over the fake PostgREST, quiet and fast.

import { createMetricsStorage } from '../../src/index.js';
import { FakeMetricsServer, fakeClient } from './fake-postgrest.js';

/**
 * A database-mode storage over a fresh fake server: no signal handling, no logging, a long
 * interval (tests flush explicitly unless they set batchIntervalMs), no jitter.
 */
export function databaseStorage(options = {}, { server = new FakeMetricsServer(), client } = {}) {
    const errors = [];
    const drops = [];
    const storage = createMetricsStorage({
        mode: 'database',
        supabase: client ?? fakeClient(server),
        handleSignals: false,
        logger: null,
        batchIntervalMs: 60_000,
        backoff: { initialMs: 5, maxMs: 20, jitter: 0 },
        onError: (e) => errors.push(e),
        onDrop: (d) => drops.push(d),
        env: {},
        ...options,
    });
    return { storage, server, errors, drops };
}

/** A memory-mode storage with a fixed clock (ms) that the test can move. */
export function memoryStorage(options = {}, startAt = Date.parse('2025-06-04T12:30:00Z')) {
    const clock = { now: startAt };
    const storage = createMetricsStorage({ mode: 'memory', logger: null, env: {}, now: () => clock.now, ...options });
    return { storage, clock };
}

/** Resolves when `predicate()` holds, checking every few ms; rejects after `ms`. */
export async function until(predicate, ms = 2000) {
    const deadline = Date.now() + ms;
    while (!predicate()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${predicate}`);
        }
        await new Promise((r) => setTimeout(r, 2));
    }
}
