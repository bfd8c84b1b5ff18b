import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey, sessionHeaders, type Account } from '../support/accounts.ts';
import { expectData, expectError } from '../support/http.ts';

/** A narrow key cannot disable or take over a wider one; signing out is a CSRF-protected write. */

let h: Harness;
let owner: Account;
const session = () => sessionHeaders(owner);

beforeAll(async () => {
  h = await startHarness();
  owner = await createAccount(h.app, 'owner@example.com');
});
afterAll(() => h.close());

const newKey = (scopes: string[], name = 'k') => createKey(h.app, owner, { name, scopes });

const keyRecord = async (id: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/keys/${id}`, headers: session() }));

describe('a key with keys:write changes only keys no wider than itself', () => {
  it('delete, regenerate, revoke and re-scope of a wider key answer 403 insufficient_scope and change nothing', async () => {
    const narrow = await newKey(['keys:write']);
    const wide = await newKey(['account:read', 'keys:write'], 'wide');
    const before = await keyRecord(wide.id);
    for (const [method, url, payload] of [
      ['DELETE', `/api/v1/keys/${wide.id}`, undefined],
      ['POST', `/api/v1/keys/${wide.id}/regenerate`, undefined],
      ['POST', `/api/v1/keys/${wide.id}/revoke`, undefined],
      ['PATCH', `/api/v1/keys/${wide.id}`, { scopes: ['keys:write'] }],
      ['PATCH', `/api/v1/keys/${wide.id}`, { expires_at: new Date(h.clock.now().getTime() + 60_000).toISOString() }],
    ] as const) {
      const res = await h.app.inject({ method, url, headers: bearer(narrow.key), payload });
      expect(expectError(res, 403, 'insufficient_scope').error.message, `${method} ${url}`).toContain('account:read');
    }
    expect(await keyRecord(wide.id)).toEqual(before);
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(wide.key) })).statusCode).toBe(200);
  });

  it('it may delete, regenerate and revoke keys with the same or fewer scopes, itself included', async () => {
    const narrow = await newKey(['keys:write', 'keys:read']);
    const same = await newKey(['keys:write']);
    const regenerated = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/keys/${same.id}/regenerate`, headers: bearer(narrow.key) }));
    expect(regenerated.key).not.toBe(same.key);
    expect(expectData(await h.app.inject({ method: 'POST', url: `/api/v1/keys/${same.id}/revoke`, headers: bearer(narrow.key) })).revoked_at).toEqual(expect.any(String));
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/keys/${same.id}`, headers: bearer(narrow.key) })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/keys/${narrow.id}`, headers: bearer(narrow.key) })).statusCode).toBe(204);
  });

  it('another account\'s key stays 404, not 403', async () => {
    const other = await createAccount(h.app, 'other@example.com', ['keys:write']);
    const wide = await newKey(['account:read', 'keys:write']);
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/keys/${wide.id}`, headers: bearer(other.key) }), 404, 'not_found');
  });
});

describe('signing out', () => {
  it('with a live session cookie needs its X-CSRF-Token: 403 csrf_failed without it or with a wrong one, and the session lives on', async () => {
    const account = await createAccount(h.app, 'logout@example.com');
    const logout = (headers: Record<string, string>) => h.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers });
    const signedIn = async () => (await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: { cookie: account.cookie } })).statusCode;

    expectError(await logout({ cookie: account.cookie }), 403, 'csrf_failed');
    expectError(await logout({ cookie: account.cookie, 'x-csrf-token': owner.csrf }), 403, 'csrf_failed');
    expect(await signedIn()).toBe(200);

    const out = await logout({ cookie: account.cookie, 'x-csrf-token': account.csrf });
    expect(out.statusCode).toBe(204);
    expect(out.cookies.find((c) => c.name === 'ferry_session')?.value).toBe('');
    expect(await signedIn()).toBe(401);
  });

  it('without a live session it answers 204 and clears the cookie (nothing to protect)', async () => {
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/auth/logout' })).statusCode).toBe(204);
    const stale = await h.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: 'ferry_session=fys_ended' } });
    expect(stale.statusCode).toBe(204);
    expect(stale.cookies.find((c) => c.name === 'ferry_session')?.value).toBe('');
  });
});
