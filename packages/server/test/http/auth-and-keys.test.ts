import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey, sessionHeaders, type Account } from '../support/accounts.ts';
import { expectData, expectError } from '../support/http.ts';

/** docs/security-checklist.md D51-D54, D58, D62 and J111; the API key lifecycle and cookie sessions with CSRF. */

let h: Harness;
let owner: Account;
const session = () => sessionHeaders(owner);

beforeAll(async () => {
  h = await startHarness();
  owner = await createAccount(h.app, 'keys@example.com');
});
afterAll(() => h.close());

const newKey = (scopes: string[] = ALL_USER_SCOPES, extra: { expires_at?: string } = {}) => createKey(h.app, owner, { name: 'k', scopes, ...extra });

const whoAmI = (headers: Record<string, string>, url = '/api/v1/account') => h.app.inject({ method: 'GET', url, headers });

describe('D. authentication and keys', () => {
  it('D51: no key is 401 missing_token; unknown key and wrong secret answer the same 401 body', async () => {
    expectError(await whoAmI({}), 401, 'missing_token');
    const { key } = await newKey();
    const [, prefix, secret] = /^fy_([a-z0-9]{8})_(.{40})$/.exec(key)!;
    const unknown = await whoAmI(bearer(`fy_zzzzzzzz_${secret}`));
    const wrongSecret = await whoAmI(bearer(`fy_${prefix}_${'A'.repeat(40)}`));
    expectError(unknown, 401, 'invalid_token');
    expectError(wrongSecret, 401, 'invalid_token');
    expect(wrongSecret.body).toBe(unknown.body);
    expect((await whoAmI(bearer(key))).statusCode).toBe(200);
  });

  it('D52: a key in the query string (?api_key=, ?access_token=) is not accepted: 401', async () => {
    const { key } = await newKey();
    for (const param of ['api_key', 'access_token', 'token', 'key']) {
      expectError(await whoAmI({}, `/api/v1/account?${param}=${key}`), 401, 'missing_token');
    }
  });

  it('D53: keys of other lengths or shapes answer 401, never 500', async () => {
    const { key } = await newKey();
    for (const candidate of [key.slice(0, -1), `${key}x`, 'fy_', 'x', 'fy_abcdefgh_', `${key}${'A'.repeat(10_000)}`, key.replace(/.$/, 'é'), '☃'.repeat(50)]) {
      expectError(await whoAmI(bearer(candidate)), 401, 'invalid_token');
    }
    for (const header of ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', `Bearer ${key} extra`, `Token ${key}`]) {
      expectError(await whoAmI({ authorization: header }), 401, 'invalid_token');
    }
  });

  it('D54: a revoked key is refused at once with 401 token_revoked', async () => {
    const { id, key } = await newKey();
    expect((await whoAmI(bearer(key))).statusCode).toBe(200);
    const revoked = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/keys/${id}/revoke`, headers: session() }));
    expect(revoked.revoked_at).toEqual(expect.any(String));
    expectError(await whoAmI(bearer(key)), 401, 'token_revoked');
    // A revoked key stays dead: it cannot be brought back by regenerating it.
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/keys/${id}/regenerate`, headers: session() }), 400, 'key_revoked');
  });

  it('D54: an expired key is refused with 401 token_expired', async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 60_000).toISOString();
    const { key } = await newKey(ALL_USER_SCOPES, { expires_at: expiresAt });
    expect((await whoAmI(bearer(key))).statusCode).toBe(200);
    h.clock.advance(61_000);
    expectError(await whoAmI(bearer(key)), 401, 'token_expired');
    const past = await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: session(), payload: { name: 'old', scopes: ['files:read'], expires_at: '2001-01-01T00:00:00Z' } });
    expectError(past, 400, 'validation_failed');
  });

  it('D58: a key cannot create or widen a key beyond its own scopes (403)', async () => {
    const { key: narrow } = await newKey(['transfers:write', 'keys:write', 'keys:read']);
    const escalate = await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(narrow), payload: { name: 'x', scopes: ['transfers:write', 'files:read'] } });
    expect(expectError(escalate, 403, 'insufficient_scope').error.message).toContain('files:read');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(narrow), payload: { name: 'x', scopes: ['admin'] } }), 403, 'insufficient_scope');

    const allowed = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(narrow), payload: { name: 'sub', scopes: ['transfers:write'] } }), 201);
    expect(allowed.scopes).toEqual(['transfers:write']);
    const widen = await h.app.inject({ method: 'PATCH', url: `/api/v1/keys/${allowed.id}`, headers: bearer(narrow), payload: { scopes: ['files:write'] } });
    expectError(widen, 403, 'insufficient_scope');

    const wide = await newKey(['files:read', 'files:write']);
    const regen = await h.app.inject({ method: 'POST', url: `/api/v1/keys/${wide.id}/regenerate`, headers: bearer(narrow) });
    expectError(regen, 403, 'insufficient_scope');
    // The refused regeneration left the wider key working (404: it reaches the handler).
    expect((await whoAmI(bearer(wide.key), '/api/v1/transfers/tr_AAAAAAAAAAAAAAAAAAAAAA/files')).statusCode).toBe(404);

    const unknownScope = await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: session(), payload: { name: 'x', scopes: ['root'] } });
    expectError(unknownScope, 400, 'validation_failed');
  });

  it('D58: a non-admin account cannot mint an admin key (403)', async () => {
    const other = await createAccount(h.app, 'plain@example.com');
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: other.cookie, 'x-csrf-token': other.csrf }, payload: { name: 'x', scopes: ['admin'] } });
    expectError(res, 403, 'insufficient_scope');
  });
});

describe('key lifecycle', () => {
  it('D62: a created key is shown once; list and get never return the key or its hash', async () => {
    const created = await newKey(['files:read']);
    expect(created.key).toMatch(/^fy_[a-z0-9]{8}_[A-Za-z0-9]{40}$/);
    expect(created.prefix).toBe(created.key.slice(0, 11));
    const secret = created.key.slice(12);
    const one = await h.app.inject({ method: 'GET', url: `/api/v1/keys/${created.id}`, headers: bearer(owner.key) });
    const list = await h.app.inject({ method: 'GET', url: '/api/v1/keys?limit=100', headers: bearer(owner.key) });
    for (const res of [one, list]) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(secret);
      expect(res.body).not.toMatch(/"key"\s*:|secret|[0-9a-f]{64}/);
    }
    expect(expectData(one)).toMatchObject({ id: created.id, name: 'k', scopes: ['files:read'], revoked_at: null });
    const page = list.json();
    expect(page.pagination).toEqual({ limit: 100, offset: 0, total: expect.any(Number) });
    expect(page.data.map((k: { id: string }) => k.id)).toContain(created.id);
  });

  it('regenerate kills the old secret at once and shows the new key once', async () => {
    const created = await newKey();
    const regen = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/keys/${created.id}/regenerate`, headers: session() }));
    expect(regen.id).toBe(created.id);
    expect(regen.key).not.toBe(created.key);
    expectError(await whoAmI(bearer(created.key)), 401, 'invalid_token');
    expect((await whoAmI(bearer(regen.key))).statusCode).toBe(200);
  });

  it('PATCH renames and narrows a key; DELETE removes it (then 401 and 404)', async () => {
    const created = await newKey();
    const patched = expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/keys/${created.id}`, headers: session(), payload: { name: ' ci ', scopes: ['transfers:read'] } }));
    expect(patched).toMatchObject({ name: 'ci', scopes: ['transfers:read'] });
    expectError(await whoAmI(bearer(created.key)), 403, 'insufficient_scope');
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/keys/${created.id}`, headers: session() })).statusCode).toBe(204);
    expectError(await whoAmI(bearer(created.key)), 401, 'invalid_token');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/keys/${created.id}`, headers: session() }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/keys/${created.id}`, headers: session() }), 404, 'not_found');
  });

  it('keys list paginates with limit 1..100 and offset', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/api/v1/keys?limit=1&offset=1', headers: session() });
    expect(page.json().data).toHaveLength(1);
    expect(page.json().pagination).toMatchObject({ limit: 1, offset: 1 });
    for (const q of ['limit=0', 'limit=101', 'offset=-1', 'limit=abc']) {
      expectError(await h.app.inject({ method: 'GET', url: `/api/v1/keys?${q}`, headers: session() }), 400, 'validation_failed');
    }
  });
});

describe('sessions and CSRF', () => {
  it('cookie-authenticated writes without or with a wrong X-CSRF-Token are 403 csrf_failed; reads need none', async () => {
    const payload = { name: 'csrf', scopes: ['files:read'] };
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: { cookie: owner.cookie } })).statusCode).toBe(200);
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: owner.cookie }, payload }), 403, 'csrf_failed');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie: owner.cookie, 'x-csrf-token': `${owner.csrf}x` }, payload }), 403, 'csrf_failed');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { cookie: owner.cookie }, payload: { title: 't' } }), 403, 'csrf_failed');
    expectError(await h.app.inject({ method: 'DELETE', url: '/api/v1/transfers/tr_AAAAAAAAAAAAAAAAAAAAAA', headers: { cookie: owner.cookie } }), 403, 'csrf_failed');
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: session(), payload })).statusCode).toBe(201);
  });

  it('another account\'s CSRF token does not pass; a forged or ended session is 401', async () => {
    const other = await createAccount(h.app, 'csrf-other@example.com');
    const crossed = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { cookie: owner.cookie, 'x-csrf-token': other.csrf }, payload: { title: 't' } });
    expectError(crossed, 403, 'csrf_failed');
    expectError(await whoAmI({ cookie: 'ferry_session=fys_forged' }), 401, 'invalid_token');
    const out = await h.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: other.cookie, 'x-csrf-token': other.csrf } });
    expect(out.statusCode).toBe(204);
    expectError(await whoAmI({ cookie: other.cookie }), 401, 'invalid_token');
    // The key made before logout lives on: keys and sessions are separate credentials.
    expect((await whoAmI(bearer(other.key))).statusCode).toBe(200);
  });

  it('login sets an HttpOnly SameSite session cookie and never returns the password hash', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'KEYS@example.com ', password: 'correct horse battery staple' } });
    const data = expectData(res);
    const cookie = res.cookies.find((c) => c.name === 'ferry_session')!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(data.user.email).toBe('keys@example.com');
    expect(res.body).not.toMatch(/argon2|password/);
    const account = await whoAmI(bearer(owner.key));
    expect(expectData(account).user.email).toBe('keys@example.com');
    expect(account.body).not.toMatch(/argon2|password_hash/);
  });
});

describe('J111. sign-up and sign-in answers are uniform', () => {
  it('signing up with a taken email answers exactly like a new one (202)', async () => {
    const fresh = await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'fresh@example.com', password: 'long enough pw' } });
    const taken = await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'keys@example.com', password: 'another password' } });
    expect(fresh.statusCode).toBe(202);
    expect(taken.statusCode).toBe(202);
    expect(taken.body).toBe(fresh.body);
    // The taken email still signs in with its own password only.
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'keys@example.com', password: 'another password' } }), 401, 'invalid_credentials');
  });

  it('unknown email and wrong password answer the same 401 body', async () => {
    const unknown = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'nobody@example.com', password: 'whatever pw' } });
    const wrong = await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'keys@example.com', password: 'whatever pw' } });
    expectError(unknown, 401, 'invalid_credentials');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toBe(unknown.body);
  });

  it('sign-up refuses short (400) and over-long (413) passwords and bad emails (400)', async () => {
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'a@example.com', password: 'short' } }), 400, 'validation_failed');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'a@example.com', password: 'p'.repeat(2000) } }), 413, 'payload_too_large');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'not-an-email', password: 'long enough pw' } }), 400, 'validation_failed');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/signup', payload: { email: 'b@example.com', password: 'long enough pw', admin: true } }), 400, 'validation_failed');
  });

  it('sign-in attempts from one address are throttled: 429 with Retry-After', async () => {
    // A new email each time: the per-email delay is not what this checks.
    const attempt = (i: number) =>
      h.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress: '198.51.100.7', payload: { email: `nobody${i}@example.com`, password: 'guess guess' } });
    for (let i = 0; i < 20; i++) expect((await attempt(i)).statusCode).toBe(401);
    const limited = await attempt(20);
    const body = expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(body.retry_after).toBe(Number(limited.headers['retry-after']));
  });
});
