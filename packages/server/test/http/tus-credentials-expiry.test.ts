import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { expectHeadStatus, idOf, metadata, OCTET, startTusHttp, tusHelpers, tusUploadsStored, UPLOADS, V, type HeaderMap } from '../support/tus-http.ts';

/**
 * The tus endpoint's I103 (no compressed bodies), credentials (upload tokens in every header,
 * isolation between transfers' tokens and between accounts, 401 without a valid one) and the
 * expiry of unfinished and never-joined partial uploads (C48, FERRY_UPLOAD_EXPIRY).
 */

let h: Harness;
let key: string;
let other: string;
beforeAll(async () => {
  ({ h, key, other } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, create, started, head, patch, offsetOf, download, transferFiles } = tusHelpers(() => ({ h, key }));

describe('I103 and credentials', () => {
  it('I103: Content-Encoding: gzip on a PATCH or creation-with-upload is 415 and nothing is decompressed', async () => {
    const content = bytes(1000);
    const { id, transferId } = await started(content.length);
    const gz = zlib.gzipSync(content);
    for (const encoding of ['gzip', 'deflate', 'br', 'gzip, identity']) {
      expectError(await patch(id, 0, gz, { 'content-encoding': encoding }), 415, 'unsupported_media_type');
    }
    expect(await offsetOf(id)).toBe(0);
    expectError(await create({ transfer_id: transferId, filename: 'gz.bin' }, content.length, { 'content-encoding': 'gzip' }, bearer(key), gz), 415, 'unsupported_media_type');
    expect(await transferFiles(transferId)).toHaveLength(1);
  });

  it('the upload token works in X-Token, X-Upload-Token and Bearer fyu_ for its own transfer', async () => {
    const content = bytes(300);
    const t = await transfer();
    const ways: HeaderMap[] = [{ 'x-token': t.token }, { 'x-upload-token': t.token }, { authorization: `Bearer ${t.token}` }];
    for (const [i, auth] of ways.entries()) {
      const id = idOf(await create({ transfer_id: t.id, filename: `tok-${i}.bin` }, content.length, {}, auth));
      expect((await head(id, auth)).statusCode).toBe(200);
      const res = await patch(id, 0, content, {}, auth);
      expect(res.statusCode, res.body).toBe(204);
      expect(sha256((await download(String(res.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content));
    }
  });

  it("transfer A's upload token cannot create into transfer B nor touch B's uploads (404)", async () => {
    const a = await transfer();
    const b = await transfer([{ name: 'b.bin', size: 100 }]);
    const tokenA = { 'x-token': a.token };
    expectError(await create({ transfer_id: b.id, filename: 'sneak.bin' }, 10, {}, tokenA), 404, 'not_found');
    expectError(await create({ transfer_id: b.id, file_id: b.fileIds[0]! }, 100, {}, tokenA), 404, 'not_found');
    expectError(await create({ transfer_id: a.id, file_id: b.fileIds[0]! }, 100, {}, tokenA), 404, 'not_found');
    const inB = idOf(await create({ transfer_id: b.id, file_id: b.fileIds[0]! }, 100, {}, { 'x-token': b.token }));
    expectHeadStatus(await head(inB, tokenA), 404);
    expectError(await patch(inB, 0, bytes(100), {}, tokenA), 404, 'not_found');
    expectError(await tus('DELETE', `${UPLOADS}/${inB}`, tokenA), 404, 'not_found');
    // An upload made with the owner's key in transfer B is not A's token's either.
    const byKey = idOf(await create({ transfer_id: b.id, filename: 'by-key.bin' }, 10));
    expectHeadStatus(await head(byKey, tokenA), 404);
    expect(await offsetOf(inB)).toBe(0);
    expect(await transferFiles(a.id)).toHaveLength(0);
  });

  it("another account's uploads and transfers are 404", async () => {
    const { id, transferId } = await started(100);
    expectHeadStatus(await head(id, bearer(other)), 404);
    expectError(await patch(id, 0, bytes(100), {}, bearer(other)), 404, 'not_found');
    expectError(await tus('DELETE', `${UPLOADS}/${id}`, bearer(other)), 404, 'not_found');
    expectError(await tus('POST', `${UPLOADS}/${id}`, { ...bearer(other), 'x-http-method-override': 'DELETE' }), 404, 'not_found');
    expectError(await create({ transfer_id: transferId, filename: 'x.bin' }, 10, {}, bearer(other)), 404, 'not_found');
    expect(await offsetOf(id)).toBe(0);
  });

  it('no or bad credentials are 401', async () => {
    const { id } = await started(100);
    expectError(await tus('POST', UPLOADS, { 'upload-length': '1' }), 401, 'missing_token');
    expectHeadStatus(await head(id, {}), 401);
    const bad = await patch(id, 0, bytes(10), {}, { 'x-token': 'fyu_nope' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toMatch(/^(invalid_token|token_revoked)$/);
    expect(await offsetOf(id)).toBe(0);
  });
});

describe('expiry (C48)', () => {
  let e: Harness;
  let ekey: string;
  beforeAll(async () => {
    e = await startHarness({ FERRY_UPLOAD_EXPIRY: '3600' });
    ({ key: ekey } = await createAccount(e.app, 'tus-expiry@example.com'));
  });
  afterAll(() => e?.close());

  it('HEAD and PATCH of an unfinished upload after FERRY_UPLOAD_EXPIRY are 410; a finished one still answers', async () => {
    const t = await createTransfer(e.app, ekey, { title: 'exp', files: [] });
    const post = (length: number) =>
      e.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...bearer(ekey), 'upload-length': String(length), 'upload-metadata': metadata({ transfer_id: t.id, filename: `e${length}.bin` }) } });
    const pending = idOf(await post(100));
    const finished = idOf(await post(10));
    const p = (id: string, body: Buffer) => e.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey), ...OCTET, 'upload-offset': '0' }, payload: body });
    expect((await p(pending, bytes(0))).statusCode).toBe(204);
    expect((await p(finished, bytes(10))).statusCode).toBe(204);
    e.clock.advance(3601 * 1000);
    const hd = await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${pending}`, headers: { ...V, ...bearer(ekey) } });
    expect(hd.statusCode).toBe(410);
    expectError(await p(pending, bytes(10)), 410, 'upload_expired');
    const ok = await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${finished}`, headers: { ...V, ...bearer(ekey) } });
    expect([ok.statusCode, ok.headers['upload-offset']]).toEqual([200, '10']);
  });

  it('a finished partial upload never joined expires too, and the sweep removes its bytes', async () => {
    const res = await e.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...bearer(ekey), 'upload-length': '10', 'upload-concat': 'partial' } });
    const id = idOf(res);
    const p = await e.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey), ...OCTET, 'upload-offset': '0' }, payload: bytes(10) });
    expect(p.statusCode).toBe(204);
    expect(await tusUploadsStored(e)).toContain(id);
    e.clock.advance(3601 * 1000);
    expect((await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey) } })).statusCode).toBe(410);
    const t = await createTransfer(e.app, ekey, { title: 'late', files: [] });
    const final = await e.app.inject({
      method: 'POST',
      url: UPLOADS,
      headers: { ...V, ...bearer(ekey), 'upload-concat': `final;${UPLOADS}/${id}`, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'late.bin' }) },
    });
    expectError(final, 410, 'upload_expired');
    await e.app.services.uploadCleanup.sweep();
    expect(await tusUploadsStored(e)).not.toContain(id);
    expect((await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey) } })).statusCode).toBe(404);
  });
});
