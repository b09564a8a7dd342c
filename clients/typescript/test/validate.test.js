// The record-time checks mirror the server's (event.rs): what it would refuse is dropped and
// counted here, one event at a time, instead of refusing a whole batch later.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MAX_NAME_BYTES } from '../src/index.js';
import {
    checkDuration, checkMethod, checkName, checkProject, isInvisible, rustTrim, wholeMicros,
} from '../src/validate.js';
import { memoryStorage } from './support/helpers.js';

test('names: blank, too long, control and invisible characters are refused as the server refuses them', () => {
    assert.equal(checkName('route', '/api/posts/:id'), null);
    assert.equal(checkName('route', '/api/café/🎉'), null);
    assert.equal(checkName('route', ' ')?.code, '22023');
    assert.equal(checkName('route', '\u3000\u2003')?.code, '22023', 'Unicode spaces are blank too');
    assert.equal(checkName('route', 'x'.repeat(MAX_NAME_BYTES)), null);
    assert.equal(checkName('route', 'x'.repeat(MAX_NAME_BYTES + 1))?.code, '22001');
    assert.equal(checkName('route', 'é'.repeat(513))?.code, '22001', '1026 bytes in UTF-8');
    assert.equal(checkName('operation', 'a\nb')?.message, 'operation contains a control character, U+000A');
    assert.equal(checkName('route', '/a\u202Eb')?.message, 'route contains an invisible formatting character, U+202E');
    assert.equal(checkName('route', '/a\u0085')?.code, '22023', 'C1 controls');
    assert.equal(checkName('route', '/a\uD800')?.code, '22P05', 'a lone surrogate cannot be sent as JSON');
    assert.equal(checkName('route', 42)?.code, '22023');
});

test('invisible characters are the server table, by code point', () => {
    for (const cp of [0x00AD, 0x061C, 0x180E, 0x200B, 0x200F, 0x2028, 0x202E, 0x2060, 0x2066, 0xFEFF, 0xFFFB, 0x110BD, 0x1343F, 0x1D173, 0xE0001, 0xE007F]) {
        assert.ok(isInvisible(cp), cp.toString(16));
    }
    for (const cp of [0x61, 0x20, 0x00AC, 0x00AE, 0x200A, 0x2010, 0x2027, 0x202F, 0x2065, 0x2070, 0xFEFE, 0xFFFC, 0xE0000, 0xE0002, 0xE0080, 0x1F389]) {
        assert.ok(!isInvisible(cp), cp.toString(16));
    }
});

test('methods are trimmed and upper-cased in ASCII only, then one of the nine', () => {
    assert.deepEqual(checkMethod('get'), { method: 'GET' });
    assert.deepEqual(checkMethod(' Patch '), { method: 'PATCH' });
    assert.equal(checkMethod('BREW').code, '22023');
    assert.equal(checkMethod('poſt').code, '22023', 'ſ is not upper-cased to S, as in Rust');
    assert.equal(checkMethod('GET\uFEFF').code, '22023', 'Rust trim does not strip U+FEFF');
    assert.equal(rustTrim('\u00A0x\u2003'), 'x');
    assert.equal(checkMethod(undefined).code, '22023');
});

test('durations: 0 to a day, numbers only; rounded to the microsecond as the server rounds', () => {
    assert.equal(checkDuration(0), null);
    assert.equal(checkDuration(86_400_000), null);
    for (const bad of [-1, -0.0001, 86_400_000.0004, NaN, Infinity, -Infinity, '12', null]) {
        assert.ok(checkDuration(bad), String(bad));
    }
    assert.equal(wholeMicros(1.0004), 1);
    assert.equal(wholeMicros(1.0006), 1.001);
    assert.equal(wholeMicros(0.0005), 0.001, 'half away from zero, as Rust round');
    assert.equal(wholeMicros(12.3456789), 12.346);
    assert.equal(wholeMicros(86_399_999.9996), 86_400_000);
});

test('projects: a slug as metrics.projects allows, or a uuid (lower-cased)', () => {
    assert.deepEqual(checkProject('acme'), { project: 'acme' });
    assert.deepEqual(checkProject('0E5C2A4B-1F00-4C3D-8E9F-00112233AAFF'), { project: '0e5c2a4b-1f00-4c3d-8e9f-00112233aaff' });
    for (const bad of ['', 'Acme', '-acme', 'a'.repeat(64), 'ac me', 7]) {
        assert.equal(checkProject(bad).code, '42704', String(bad));
    }
});

test('a bad event is dropped and counted, never thrown, and the call still resolves', async () => {
    const { storage } = memoryStorage();
    const results = [
        storage.recordRouteMetric('', 'GET', true, 1),
        storage.recordRouteMetric('/a', 'BREW', true, 1),
        storage.recordRouteMetric('/a', 'GET', 'yes', 1),
        storage.recordRouteMetric('/a', 'GET', true, -1),
        storage.recordRouteMetric('/a', 'GET', true, 1, { project: 'Not A Slug' }),
        storage.recordRouteMetric('/a', 'GET', true, 1, { at: '2020-01-01T00:00:00Z' }),
        storage.recordRouteMetric('/a', 'GET', true, 1, { at: 'yesterday' }),
        storage.recordOperationMetric('op\u200B', true, 1),
        storage.recordRouteMetric(/** @type {any} */ ({ toString() { throw new Error('hostile'); } }), 'GET', true, 1),
        storage.recordRouteMetric('/a', 'get', true, 1),
    ];
    for (const r of results) {
        assert.equal(await r, undefined);
    }
    const s = storage.stats();
    assert.deepEqual([s.recorded, s.invalid, s.dropped], [1, 9, 0]);
    await storage.close();
});
