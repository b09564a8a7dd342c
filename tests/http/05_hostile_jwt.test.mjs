// JWTs an attacker could send. Each is sent to a call that would write if it were accepted
// (collect_daily_metrics of a day not sealed yet, define_metric); none may get a 5xx, none
// may be accepted, and the metrics tables keep exactly their rows.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
    api, assertNothingWritten, claimsFor, ensureSealedAsSuperuser, signJwt, sql,
} from './lib.mjs';

before(() => ensureSealedAsSuperuser());

const UNSEALED_DAY = '2025-04-20';
const WRITES = [
    ['collect_daily_metrics', { target_date: UNSEALED_DAY }],
    ['define_metric', { category: 'hostile_probe', kind: 'created', source_table: 'posts', source_schema: 'regress_src' }],
];

async function sendEverywhere(jwt, check) {
    await assertNothingWritten(async () => {
        for (const [fn, body] of WRITES) {
            const res = await api('POST', `/rpc/${fn}`, { as: jwt, body });
            check(res, fn);
        }
    });
    assert.equal(sql(`SELECT count(*) FROM metrics.daily_metrics WHERE metric_date = '${UNSEALED_DAY}'`), '0');
}

const described = (res, fn) => `${fn}: ${res.status} ${res.text.slice(0, 300)}`;

test('a valid signature with a role that does not exist: 400 22023 (PostgREST 12) or 401 (v14), nothing written', async () => {
    await sendEverywhere(signJwt(claimsFor('regress_metrics_no_such_role')), (res, fn) => {
        assert.ok((res.status === 400 && res.body?.code === '22023') || res.status === 401, described(res, fn));
    });
});

test('a valid signature claiming the superuser role postgres: refused (authenticator may not become it), nothing written', async () => {
    await sendEverywhere(signJwt(claimsFor('postgres')), (res, fn) => {
        assert.ok([401, 403].includes(res.status) && res.body?.code === '42501', described(res, fn));
    });
});

test('an expired service_role JWT: 401, PGRST301, nothing written', async () => {
    const now = Math.floor(Date.now() / 1000);
    await sendEverywhere(signJwt(claimsFor('service_role', { iat: now - 7200, exp: now - 3600 })), (res, fn) => {
        assert.ok(res.status === 401 && res.body?.code === 'PGRST301', described(res, fn));
        assert.match(res.body.message, /expired/i, described(res, fn));
    });
});

test('a service_role JWT signed with another secret: 401, nothing written', async () => {
    await sendEverywhere(signJwt(claimsFor('service_role'), { secret: 'not-the-secret-of-this-postgrest-0123456789' }), (res, fn) => {
        assert.equal(res.status, 401, described(res, fn));
    });
});

test('a service_role JWT whose payload was changed after signing: 401, nothing written', async () => {
    const [header, , signature] = signJwt(claimsFor('authenticated')).split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify(claimsFor('service_role'))).toString('base64url')}.${signature}`;
    await sendEverywhere(forged, (res, fn) => assert.equal(res.status, 401, described(res, fn)));
});

test('an unsigned service_role JWT (alg none): 401, nothing written', async () => {
    await sendEverywhere(signJwt(claimsFor('service_role'), { alg: 'none' }), (res, fn) => {
        assert.equal(res.status, 401, described(res, fn));
    });
});

test('a token that is not a JWT at all: 401, nothing written', async () => {
    await sendEverywhere('not.a.jwt', (res, fn) => assert.equal(res.status, 401, described(res, fn)));
});
