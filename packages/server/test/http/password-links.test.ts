import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNLOCK_LIMITS } from '../../src/services/unlock-service.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, postTransfer } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';

/** Password-protected links, docs/security-checklist.md E64-E70. */

const PASSWORD = 'open sesame';
const content = bytes(5000);
let h: Harness;
let key: string;
let t: ReadyTransfer;
let ipCounter = 0;
/** A fresh client address, so per-address throttling of one test never leaks into another. */
const nextIp = () => `203.0.113.${++ipCounter}`;

beforeAll(async () => {
  h = await startHarness({ FERRY_PURGE_GRACE: '0' });
  ({ key } = await createAccount(h.app, 'links@example.com'));
  t = await readyTransfer(h.app, key, [{ name: 'a.bin', content }, { name: 'b.txt', content: 'bee' }], { password: PASSWORD });
});
afterAll(() => h.close());

function unlock(link: string, password: unknown, ip = nextIp()) {
  const slug = link.replace('/t/', '');
  return h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${slug}/unlock`, remoteAddress: ip, payload: { password } as object });
}

async function tokenFor(link: string, password = PASSWORD): Promise<string> {
  return expectData(await unlock(link, password)).access_token;
}

/** Every way a recipient reaches bytes, with optional extra headers. */
function downloadPaths(x: ReadyTransfer) {
  const fileUrl = `${x.link}/files/${x.transfer.files[0].id}`;
  return [
    { label: 'file GET', method: 'GET' as const, url: fileUrl, headers: {} },
    { label: 'file HEAD', method: 'HEAD' as const, url: fileUrl, headers: {} },
    { label: 'file Range', method: 'GET' as const, url: fileUrl, headers: { range: 'bytes=1-10' } },
    { label: 'file probe', method: 'GET' as const, url: fileUrl, headers: { range: 'bytes=0-0' } },
    { label: 'ZIP GET', method: 'GET' as const, url: `${x.link}/download.zip`, headers: {} },
    { label: 'ZIP HEAD', method: 'HEAD' as const, url: `${x.link}/download.zip`, headers: {} },
    { label: 'ZIP Range', method: 'GET' as const, url: `${x.link}/download.zip`, headers: { range: 'bytes=10-' } },
  ];
}

async function expectLocked(x: ReadyTransfer, headers: Record<string, string> = {}) {
  for (const path of downloadPaths(x)) {
    const res = await h.app.inject({ method: path.method, url: path.url, headers: { ...path.headers, ...headers } });
    expect({ path: path.label, status: res.statusCode }).toEqual({ path: path.label, status: 401 });
    if (path.method === 'GET') expectError(res, 401, 'password_required');
  }
  const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${x.transfer.slug}`, headers }));
  expect(view).toEqual({ title: x.transfer.title, expires_at: x.transfer.expires_at, password_protected: true, locked: true });
  const page = await h.app.inject({ method: 'GET', url: x.link, headers });
  expect(page.statusCode).toBe(200);
  expect(page.body).toContain('type="password"');
  expect(page.body).not.toContain('/files/');
}

describe('E. password-protected links', () => {
  it('E67: without a token every download path (file, HEAD, Range, ZIP, JSON list, page) refuses', async () => {
    await expectLocked(t);
  });

  it('E67: with the token (header or cookie) every path serves the right bytes', async () => {
    const res = await unlock(t.link, PASSWORD);
    const { access_token: token, expires_at } = expectData(res);
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expires_at)).toBeGreaterThan(h.clock.now().getTime());
    const cookie = res.cookies.find((c) => c.name === `ferry_access_${t.transfer.id}`)!;
    expect(cookie).toMatchObject({ value: token, httpOnly: true, sameSite: 'Lax' });
    for (const headers of [{ 'x-ferry-access-token': token }, { cookie: `ferry_access_${t.transfer.id}=${token}` }]) {
      const file = await h.app.inject({ method: 'GET', url: `${t.link}/files/${t.transfer.files[0].id}`, headers });
      expect(sha256(file.rawPayload)).toBe(sha256(content));
      const zip = await h.app.inject({ method: 'GET', url: `${t.link}/download.zip`, headers });
      expect((await readZip(zip.rawPayload)).map((e) => sha256(e.content))).toEqual([sha256(content), sha256('bee')]);
      const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${t.transfer.slug}`, headers }));
      expect(view).toMatchObject({ locked: false, file_count: 2 });
      expect(view.files.map((f: { name: string }) => f.name)).toEqual(['a.bin', 'b.txt']);
    }
  });

  it('E64: a wrong password is 401 invalid_password; the page form answers the same way', async () => {
    expectError(await unlock(t.link, 'open sesame!'), 401, 'invalid_password');
    expectError(await unlock(t.link, 'OPEN SESAME'), 401, 'invalid_password');
    const form = await h.app.inject({ method: 'POST', url: `${t.link}/unlock`, remoteAddress: nextIp(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=nope' });
    expectError(form, 401, 'invalid_password');
    const good = await h.app.inject({ method: 'POST', url: `${t.link}/unlock`, remoteAddress: nextIp(), headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `password=${encodeURIComponent(PASSWORD)}` });
    expect([good.statusCode, good.headers.location]).toEqual([303, t.link]);
    expect(good.cookies.some((c) => c.name === `ferry_access_${t.transfer.id}`)).toBe(true);
  });

  it('E65: the password is stored as argon2id; near-misses answer exactly like wild guesses', async () => {
    const row = await h.database.db.selectFrom('transfers').select('password_hash').where('id', '=', t.transfer.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const nearMiss = await unlock(t.link, `${PASSWORD.slice(0, -1)}X`);
    const wild = await unlock(t.link, 'zzzzzzzzzzz');
    expect(nearMiss.statusCode).toBe(401);
    expect(nearMiss.body).toBe(wild.body);
  });

  it('E66: a password in the query string is not accepted', async () => {
    const slug = t.transfer.slug;
    const viaQuery = await h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${slug}/unlock?password=${encodeURIComponent(PASSWORD)}`, remoteAddress: nextIp() });
    expect(viaQuery.statusCode).toBe(400);
    expect(viaQuery.cookies).toEqual([]);
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/files/${t.transfer.files[0].id}?password=${encodeURIComponent(PASSWORD)}` }), 401, 'password_required');
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/download.zip?password=${encodeURIComponent(PASSWORD)}` }), 401, 'password_required');
    expect(expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${slug}?password=${encodeURIComponent(PASSWORD)}` })).locked).toBe(true);
  });

  it('E68: a token of another transfer, or a forged one, is refused', async () => {
    const other = await readyTransfer(h.app, key, [{ name: 'o.txt', content: 'other' }], { password: PASSWORD });
    const otherToken = await tokenFor(other.link);
    await expectLocked(t, { 'x-ferry-access-token': otherToken });
    await expectLocked(t, { cookie: `ferry_access_${t.transfer.id}=${otherToken}` });
    const [expires, mac] = otherToken.split('.');
    await expectLocked(t, { 'x-ferry-access-token': `${Number(expires) + 10_000}.${mac}` });
    await expectLocked(t, { 'x-ferry-access-token': 'garbage' });
  });

  it('E68: a token of a deleted share is refused by a new share that reuses its slug', async () => {
    const old = await readyTransfer(h.app, key, [{ name: 'old.txt', content: 'old' }], { password: PASSWORD, slug: 'reused-link' });
    const oldToken = await tokenFor(old.link);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${old.transfer.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await h.app.inject({ method: 'GET', url: '/t/reused-link', headers: { 'x-ferry-access-token': oldToken } }), 410, 'transfer_deleted');
    expect((await h.sweeper.sweep()).purged).toBeGreaterThanOrEqual(1);
    const reused = await readyTransfer(h.app, key, [{ name: 'new.txt', content: 'new' }], { password: PASSWORD, slug: 'reused-link' });
    expect(reused.link).toBe('/t/reused-link');
    await expectLocked(reused, { 'x-ferry-access-token': oldToken });
  });

  it('E68: changing or removing the password kills every token issued before', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 'x.txt', content: 'x' }], { password: PASSWORD });
    const before = await tokenFor(x.link);
    const fileUrl = `${x.link}/files/${x.transfer.files[0].id}`;
    expect((await h.app.inject({ method: 'GET', url: fileUrl, headers: { 'x-ferry-access-token': before } })).statusCode).toBe(200);
    expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(key), payload: { password: 'new secret' } }));
    await expectLocked(x, { 'x-ferry-access-token': before });
    expectError(await unlock(x.link, PASSWORD), 401, 'invalid_password');
    const after = await tokenFor(x.link, 'new secret');
    expect((await h.app.inject({ method: 'GET', url: fileUrl, headers: { 'x-ferry-access-token': after } })).statusCode).toBe(200);
    expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(key), payload: { password: null } }));
    expect((await h.app.inject({ method: 'GET', url: fileUrl })).statusCode).toBe(200);
    expectError(await unlock(x.link, 'new secret'), 400, 'not_protected');
  });

  it('E69: over-long passwords are 413 before hashing; a long password is not truncated to 72 bytes', async () => {
    expectError(await unlock(t.link, 'p'.repeat(2000)), 413, 'payload_too_large');
    const huge = await h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${t.transfer.slug}/unlock`, remoteAddress: nextIp(), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ password: 'p'.repeat(10 * 1024 * 1024) }) });
    expectError(huge, 413, 'payload_too_large');
    expectError(await postTransfer(h.app, key, { title: 'x', password: 'p'.repeat(2000) }), 413, 'payload_too_large');

    const long = 'L'.repeat(72) + 'correct-tail-of-a-hundred-characters';
    const x = await readyTransfer(h.app, key, [{ name: 'l.txt', content: 'l' }], { password: long });
    expectError(await unlock(x.link, 'L'.repeat(72) + 'wrong!-tail-of-a-hundred-characters!'), 401, 'invalid_password');
    expectError(await unlock(x.link, 'L'.repeat(72)), 401, 'invalid_password');
    expect(expectData(await unlock(x.link, long)).access_token).toEqual(expect.any(String));
  });

  it('E70: an empty or missing password is refused (401 / 400); an empty password cannot be set', async () => {
    expectError(await unlock(t.link, ''), 401, 'invalid_password');
    expect((await unlock(t.link, undefined)).statusCode).toBe(400);
    expect((await unlock(t.link, null)).statusCode).toBe(400);
    expectError(await postTransfer(h.app, key, { title: 'x', password: '' }), 400, 'validation_failed');
  });

  it('E64: guesses are throttled per address, then per link across addresses: 429 with Retry-After', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 'g.txt', content: 'g' }], { password: PASSWORD });
    const ip = nextIp();
    for (let i = 0; i < UNLOCK_LIMITS.perIp; i++) expectError(await unlock(x.link, `guess ${i}`, ip), 401, 'invalid_password');
    const limited = await unlock(x.link, PASSWORD, ip);
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(UNLOCK_LIMITS.windowSeconds);
    // The same address is throttled on other links too; another address is not (yet).
    expectError(await unlock(t.link, PASSWORD, ip), 429, 'rate_limited');
    expect((await unlock(x.link, PASSWORD)).statusCode).toBe(200);

    // Many addresses, each under its own limit, still exhaust the link's allowance.
    let used = UNLOCK_LIMITS.perIp + 2;
    while (used < UNLOCK_LIMITS.perLink) {
      const many = nextIp();
      for (let i = 0; i < 5 && used < UNLOCK_LIMITS.perLink; i++, used++) expectError(await unlock(x.link, `spray ${used}`, many), 401, 'invalid_password');
    }
    const sprayed = await unlock(x.link, PASSWORD);
    expectError(sprayed, 429, 'rate_limited');
    expect(Number(sprayed.headers['retry-after'])).toBeGreaterThan(0);
    expect((await unlock(t.link, PASSWORD)).statusCode).toBe(200);

    h.clock.advance((UNLOCK_LIMITS.windowSeconds + 1) * 1000);
    expect((await unlock(x.link, PASSWORD, ip)).statusCode).toBe(200);
  });
});
