import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';

/** docs/security-checklist.md J109 for the tus endpoint: CORS only for FERRY_CORS_ORIGINS, never a wildcard, tus headers exposed to them. */

const APP = 'https://app.example';
let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ FERRY_CORS_ORIGINS: `${APP},https://other.example` });
  ({ key } = await createAccount(h.app, 'cors@example.com'));
});
afterAll(() => h.close());

const preflight = (origin: string) =>
  h.app.inject({
    method: 'OPTIONS',
    url: '/api/v1/uploads',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'tus-resumable,upload-length,upload-metadata,x-upload-token' },
  });

describe('J109: tus CORS', () => {
  it('a configured origin gets its own origin back, the tus methods and headers allowed, and the tus headers exposed', async () => {
    const res = await preflight(APP);
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(String(res.headers['access-control-allow-methods'])).toMatch(/PATCH/);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('upload-checksum');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('x-upload-token');
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...bearer(key), origin: APP, 'tus-resumable': '1.0.0', 'upload-length': '1', 'upload-concat': 'partial' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe(APP);
    const exposed = String(created.headers['access-control-expose-headers']).toLowerCase();
    for (const header of ['location', 'upload-offset', 'upload-length', 'tus-resumable', 'upload-expires']) expect(exposed).toContain(header);
  });

  it('an unknown origin is never reflected and never gets a wildcard', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers['access-control-allow-origin']).not.toBe('https://evil.example');
    expect(res.headers['access-control-allow-origin']).not.toBe('*');
  });

  it('with no FERRY_CORS_ORIGINS, no origin is allowed at all', async () => {
    const plain = await startHarness();
    try {
      const res = await plain.app.inject({ method: 'OPTIONS', url: '/api/v1/uploads', headers: { origin: APP } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});
