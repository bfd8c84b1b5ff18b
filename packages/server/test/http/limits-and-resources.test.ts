import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, ghostId, postTransfer } from '../support/http.ts';

/** Bodies, nesting, counts, headers and rates: docs/security-checklist.md D57, D61, I96-I98, I102, I104. */

let h: Harness;
let key: string;
let transferId: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'limits@example.com'));
  transferId = (await createTransfer(h.app, key, { title: 'limits' })).id;
});
afterAll(() => h.close());

const MiB = 1024 * 1024;
const json = (method: 'POST' | 'PATCH', url: string, body: string, headers: Record<string, string> = bearer(key)) =>
  h.app.inject({ method, url, headers: { ...headers, 'content-type': 'application/json' }, payload: body });
/** Valid JSON of about `bytes` bytes: the object padded with whitespace. */
const padded = (object: object, bytes: number) => `${JSON.stringify(object).slice(0, -1)}${' '.repeat(bytes)}}`;

describe('I96/I97/D61. request bodies', () => {
  it('I96: JSON bodies are bounded per route: 2 MB is 413 on PATCH and key routes but fine on POST /transfers (8 MiB)', async () => {
    expectError(await json('PATCH', `/api/v1/transfers/${transferId}`, padded({ title: 'x' }, 2 * MiB)), 413, 'payload_too_large');
    expectError(await json('POST', `/api/v1/transfers/${transferId}/files`, padded({ name: 'x', size: 1 }, 2 * MiB)), 413, 'payload_too_large');
    expectError(await json('POST', '/api/v1/keys', padded({ name: 'x', scopes: ['files:read'] }, 2 * MiB)), 413, 'payload_too_large');
    expect(expectData(await json('POST', '/api/v1/transfers', padded({ title: 'roomy' }, 2 * MiB)), 201).title).toBe('roomy');
    expectError(await json('POST', '/api/v1/transfers', padded({ title: 'x' }, 9 * MiB)), 413, 'payload_too_large');
    expectError(await json('POST', '/api/v1/auth/signup', padded({ email: 'a@example.com', password: 'long enough pw' }, 20_000), {}), 413, 'payload_too_large');
  });

  it('I96: a 50 MB JSON body is refused with 413 before it is parsed', async () => {
    expectError(await json('POST', '/api/v1/transfers', `{"title":"${'x'.repeat(50 * MiB)}"}`), 413, 'payload_too_large');
    expectError(await json('PATCH', `/api/v1/transfers/${transferId}`, `{"title":"${'x'.repeat(50 * MiB)}"}`), 413, 'payload_too_large');
  });

  it('I97: JSON nested 100 000 deep is 400 invalid_json, not a stack overflow; brackets inside strings do not count', async () => {
    for (const body of [`{"title":"x","files":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, `{"title":"x","m":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`, '['.repeat(100_000)]) {
      expectError(await json('POST', '/api/v1/transfers', body), 400, 'invalid_json');
    }
    const inString = expectData(await json('POST', '/api/v1/transfers', JSON.stringify({ title: 'brackets', message: '['.repeat(5000) })), 201);
    expect(inString.message).toHaveLength(5000);
  });

  it('D61: __proto__ and constructor.prototype keys are refused with 400 wherever JSON is read', async () => {
    const poisoned = [
      '{"title":"x","__proto__":{"admin":true}}',
      '{"title":"x","constructor":{"prototype":{"admin":true}}}',
      '{"title":"x","files":[{"name":"a","size":1,"__proto__":{"size":-1}}]}',
    ];
    for (const body of poisoned) {
      expectError(await json('POST', '/api/v1/transfers', body), 400, 'invalid_json');
      expectError(await json('PATCH', `/api/v1/transfers/${transferId}`, body), 400, 'invalid_json');
    }
    expectError(await json('POST', '/api/v1/keys', '{"name":"k","scopes":["files:read"],"__proto__":{"scopes":["admin"]}}'), 400, 'invalid_json');
    expectError(await json('POST', '/api/v1/auth/login', '{"email":"a@example.com","password":"x","__proto__":{"admin":true}}', {}), 400, 'invalid_json');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('malformed, empty and non-JSON bodies answer 400 invalid_json or 415, never 500', async () => {
    expectError(await json('POST', '/api/v1/transfers', '{"title":'), 400, 'invalid_json');
    expectError(await json('POST', '/api/v1/transfers', ''), 400, 'invalid_json');
    expectError(await json('POST', '/api/v1/transfers', '\u0000\u0001'), 400, 'invalid_json');
    const xml = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { ...bearer(key), 'content-type': 'application/xml' }, payload: '<title>x</title>' });
    expectError(xml, 415, 'unsupported_media_type');
  });
});

describe('I98. counts', () => {
  it('I98: 100 000 files in one create is 400 too_many_files; the plan\'s 1 000 is accepted', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}.bin`, size: 1 }));
    expectError(await postTransfer(h.app, key, { title: 'flood', files: many(100_000) }), 400, 'too_many_files');
    expectError(await postTransfer(h.app, key, { title: 'flood', files: many(1001) }), 400, 'too_many_files');
    const full = await createTransfer(h.app, key, { title: 'full', files: many(1000) });
    expect(full.file_count).toBe(1000);
    const extra = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${full.id}/files`, headers: bearer(key), payload: { name: 'one-more', size: 1 } });
    expectError(extra, 400, 'too_many_files');
  });
});

describe('I102. request headers', () => {
  it('I102: request headers over 16 KiB are refused with 431 by the HTTP server', async () => {
    const base = new URL(await h.listen());
    const response = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(base.port), base.hostname, () => {
        socket.write(`GET /api/v1/account HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
  });
});

describe('I104/D57. rates and response headers', () => {
  let r: Harness;
  let alice: Awaited<ReturnType<typeof createAccount>>;
  let bob: Awaited<ReturnType<typeof createAccount>>;
  const LIMIT = 25;

  beforeAll(async () => {
    r = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    alice = await createAccount(r.app, 'alice@example.com');
    bob = await createAccount(r.app, 'bob@example.com');
  });
  afterAll(() => r.close());

  it('every response, errors included, carries the request id, rate-limit, plan and quota headers', async () => {
    const ok = await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: { ...bearer(alice.key), 'x-request-id': 'trace-123' } });
    const err = await r.app.inject({ method: 'GET', url: `/api/v1/transfers/${ghostId('tr')}`, headers: bearer(alice.key) });
    const anon = await r.app.inject({ method: 'GET', url: '/api/v1/account' });
    const badKey = await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer('fy_nope') });
    const csrf = await r.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { cookie: bob.cookie }, payload: { title: 'x' } });
    expect([ok, err, anon, badKey, csrf].map((res) => res.statusCode)).toEqual([200, 404, 401, 401, 403]);
    for (const res of [ok, err, anon, badKey, csrf]) {
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
      for (const header of ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ferry-plan', 'x-quota-limit-month', 'x-quota-used-month', 'x-quota-overage', 'x-quota-overage-usd']) {
        expect({ header, present: res.headers[header] !== undefined }).toEqual({ header, present: true });
      }
    }
    expect(ok.headers['x-request-id']).toBe('trace-123');
    expect(ok.headers['x-ratelimit-limit']).toBe(String(LIMIT));
    const forged = await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: { ...bearer(alice.key), 'x-request-id': 'bad id <script>' } });
    expect(forged.headers['x-request-id']).toMatch(/^req_[0-9A-Za-z]{20}$/);
  });

  it('I104/D57: probing ids is 404 until the per-key limit, then 429 with Retry-After; other accounts are unaffected', async () => {
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await r.app.inject({ method: 'GET', url: `/api/v1/transfers/tr_${String(i).padStart(22, '0')}`, headers: bearer(alice.key) });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited = res;
    }
    expect(new Set(statuses)).toEqual(new Set([404, 429]));
    expect(statuses.indexOf(429)).toBeGreaterThan(0);
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true);
    const body = expectError(limited!, 429, 'rate_limited');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(body.retry_after).toBe(Number(limited!.headers['retry-after']));
    expect(limited!.headers['x-ratelimit-remaining']).toBe('0');
    // A cookie session of the same user shares the bucket; another user does not.
    expectError(await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: { cookie: alice.cookie } }), 429, 'rate_limited');
    expect((await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(bob.key) })).statusCode).toBe(200);
    r.clock.advance(61_000);
    expect((await r.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(alice.key) })).statusCode).toBe(200);
  });

  it('D51/I104: guessing API keys from one address is throttled: 401 until the limit, then 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      const res = await r.app.inject({ method: 'GET', url: '/api/v1/account', remoteAddress: '192.0.2.50', headers: bearer(`fy_guess${String(i).padStart(3, '0')}_${'A'.repeat(40)}`) });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(statuses[LIMIT]).toBe(429);
    expect((await r.app.inject({ method: 'GET', url: '/api/v1/account', remoteAddress: '192.0.2.51', headers: bearer(bob.key) })).statusCode).toBe(200);
  });

  it('I104/D57: anonymous probing of public links is limited per address: 404 then 429', async () => {
    const ready = await readyTransfer(r.app, bob.key, [{ name: 'x.txt', content: 'x' }]);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++) {
      const res = await r.app.inject({ method: 'GET', url: `/api/v1/public/transfers/probe${i}`, remoteAddress: '192.0.2.99' });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(404));
    expect(statuses.slice(LIMIT)).toEqual([429, 429]);
    const blocked = await r.app.inject({ method: 'GET', url: ready.link, remoteAddress: '192.0.2.99' });
    expectError(blocked, 429, 'rate_limited');
    expect(blocked.headers['retry-after']).toEqual(expect.any(String));
    expect((await r.app.inject({ method: 'GET', url: ready.link, remoteAddress: '192.0.2.100' })).statusCode).toBe(200);
  });
});
