import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { expectData, expectError } from '../support/http.ts';
import { scopesForUser } from '../../src/domain/scopes.ts';

type Operation = { requestBody?: { content?: Record<string, unknown> } };

describe('JSON routes take application/json only', () => {
  let h: Harness;
  let key: string;
  let jsonRoutes: { method: string; url: string }[];
  beforeAll(async () => {
    h = await startHarness();
    // Every scope, admin included (the first account is the administrator), so the scope check
    // never answers before the body's type is.
    ({ key } = await createAccount(h.app, 'json@example.com', scopesForUser(true)));
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, Operation>> };
    jsonRoutes = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, op]) => op.requestBody?.content?.['application/json'] !== undefined)
        .map(([method, op]) => ({ method: method.toUpperCase(), url: path.replace(/\{[^}]+\}/g, 'x1'), op })),
    );
  });
  afterAll(async () => h.close());

  it('every route documented with a JSON body answers 415 to a form, text or unnamed body', async () => {
    expect(jsonRoutes.length).toBeGreaterThanOrEqual(8);
    for (const { method, url } of jsonRoutes) {
      for (const headers of [
        { 'content-type': 'application/x-www-form-urlencoded' },
        { 'content-type': 'text/plain' },
        { 'content-type': 'application/json-patch+json' },
        {},
      ]) {
        const res = await h.app.inject({ method: method as 'POST', url, headers: { ...bearer(key), ...headers }, payload: 'title=x&email=a%40b.c&password=p' });
        expectError(res, 415, 'unsupported_media_type');
      }
    }
  });

  it('a form post that would have made a transfer changes nothing', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/transfers',
      headers: { ...bearer(key), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'title=from+a+form',
    });
    expectError(res, 415, 'unsupported_media_type');
    const text = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { ...bearer(key), 'content-type': 'text/plain' }, payload: '{"title":"as text"}' });
    expectError(text, 415, 'unsupported_media_type');
    expect(expectData(await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(key) }))).toEqual([]);
  });

  it('JSON with a charset parameter, or in any letter case, is accepted', async () => {
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { ...bearer(key), 'content-type': type }, payload: JSON.stringify({ title: type }) });
      expectData(res, 201);
    }
  });

  it('the download page password form still posts urlencoded', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/t/no-such-link/unlock', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=x' });
    expect(res.statusCode).not.toBe(415);
  });
});
