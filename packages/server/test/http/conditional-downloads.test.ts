import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';

/** If-None-Match revalidation of downloads: 304 without a body, never a download. */

const content = bytes(20_000);
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'conditional@example.com'));
});
afterAll(() => h.close());

/** Every way to reach one file or the ZIP, with the headers each needs. */
function downloadPaths(t: ReadyTransfer) {
  const file = t.files['a.bin'];
  return [
    { label: 'owner file', url: `/api/v1/files/${file.id}/download`, headers: bearer(key) },
    { label: 'signed URL', url: pathOf(file.download_url), headers: {} },
    { label: 'public file', url: `${t.link}/files/${file.id}`, headers: {} },
    { label: 'owner ZIP', url: `/api/v1/transfers/${t.transfer.id}/download.zip`, headers: bearer(key) },
    { label: 'public ZIP', url: `${t.link}/download.zip`, headers: {} },
  ];
}

async function counts(t: ReadyTransfer) {
  const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.transfer.id}`, headers: bearer(key) }));
  return { transfer: view.download_count, file: view.files[0].download_count };
}

describe('If-None-Match on downloads', () => {
  it('answers 304 with the ETag and no body on every path, for GET and HEAD, and counts nothing', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content }]);
    for (const path of downloadPaths(t)) {
      const head = await h.app.inject({ method: 'HEAD', url: path.url, headers: path.headers });
      const etag = head.headers.etag as string;
      expect(etag, path.label).toMatch(/^"[0-9a-f]{64}"$/);
      for (const method of ['GET', 'HEAD'] as const) {
        for (const ifNoneMatch of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
          const res = await h.app.inject({ method, url: path.url, headers: { ...path.headers, 'if-none-match': ifNoneMatch } });
          expect({ path: path.label, method, ifNoneMatch, status: res.statusCode, body: res.rawPayload.length }).toEqual({ path: path.label, method, ifNoneMatch, status: 304, body: 0 });
          expect(res.headers.etag).toBe(etag);
          expect(res.headers['cache-control']).toBe('private, no-cache');
        }
      }
      // A Range on a current copy is revalidated too; a stale tag gets the bytes.
      expect((await h.app.inject({ method: 'GET', url: path.url, headers: { ...path.headers, 'if-none-match': etag, range: 'bytes=0-9' } })).statusCode).toBe(304);
      const stale = await h.app.inject({ method: 'GET', url: path.url, headers: { ...path.headers, 'if-none-match': `"${'0'.repeat(64)}"` } });
      expect([path.label, stale.statusCode]).toEqual([path.label, 200]);
      if (path.label.endsWith('file') || path.label === 'signed URL') expect(sha256(stale.rawPayload)).toBe(sha256(content));
    }
    // Two recipient file GETs and one recipient ZIP GET counted (the stale ones); no 304 did.
    expect(await counts(t)).toEqual({ transfer: 3, file: 3 });
  });

  it('leaves a one-download link downloadable after any number of 304s', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content }], { max_downloads: 1 });
    const url = `${t.link}/files/${t.files['a.bin'].id}`;
    const etag = `"${sha256(content)}"`;
    for (let i = 0; i < 3; i++) {
      expect((await h.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })).statusCode).toBe(304);
      expect((await h.app.inject({ method: 'GET', url: `${t.link}/download.zip`, headers: { 'if-none-match': '*' } })).statusCode).toBe(304);
      expect((await h.app.inject({ method: 'GET', url: pathOf(t.files['a.bin'].download_url), headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    }
    expect(await counts(t)).toEqual({ transfer: 0, file: 0 });
    const res = await h.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(sha256(res.rawPayload)).toBe(sha256(content));
    expect(await counts(t)).toEqual({ transfer: 1, file: 1 });
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'download_limit_reached');
    // Spent, the link no longer revalidates either: a 304 would claim it still serves the bytes.
    expectError(await h.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } }), 410, 'download_limit_reached');
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/download.zip`, headers: { 'if-none-match': '*' } }), 410, 'download_limit_reached');
  });

  it('answers 410 to a conditional GET once ranges have used up the byte allowance, as a plain GET does', async () => {
    const big = bytes(100);
    const t = await readyTransfer(h.app, key, [{ name: 'b.bin', content: big }], { max_downloads: 1 });
    const url = `${t.link}/files/${t.files['b.bin'].id}`;
    expect((await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=1-99' } })).statusCode).toBe(206);
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'download_limit_reached');
    expectError(await h.app.inject({ method: 'GET', url, headers: { 'if-none-match': `"${sha256(big)}"` } }), 410, 'download_limit_reached');
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/download.zip`, headers: { 'if-none-match': '*' } }), 410, 'download_limit_reached');
  });

  it('checks access before revalidating: a locked link is still 401 with a matching tag', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.bin', content }], { password: 'open sesame' });
    const etag = `"${sha256(content)}"`;
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/files/${t.files['a.bin'].id}`, headers: { 'if-none-match': etag } }), 401, 'password_required');
    expectError(await h.app.inject({ method: 'GET', url: `${t.link}/download.zip`, headers: { 'if-none-match': '*' } }), 401, 'password_required');
  });
});
