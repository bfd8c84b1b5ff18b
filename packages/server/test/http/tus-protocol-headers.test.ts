import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness } from '../support/harness.ts';
import { bytes, expectError } from '../support/http.ts';
import { base64Digest, sha256 } from '../support/hashing.ts';
import { idOf, metadata, OCTET, startTusHttp, tusHelpers, UPLOADS, type HeaderMap } from '../support/tus-http.ts';

/**
 * The tus protocol headers, refused when wrong and nothing processed: Tus-Resumable, PATCH
 * Content-Type, Upload-Offset, Upload-Length / Upload-Defer-Length and Upload-Checksum (wrong
 * digests, unsupported or malformed values); and HEAD answers that caches must not keep
 * (docs/security-checklist.md section C).
 */

let h: Harness;
let key: string;
beforeAll(async () => {
  ({ h, key } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, create, started, head, patch, offsetOf, fileView, download, transferFiles, tusUploadsStored } = tusHelpers(() => ({ h, key }));

describe('tus protocol headers', () => {
  it('C36: missing or other Tus-Resumable is 412 with Tus-Version, and nothing is processed', async () => {
    const t = await transfer();
    const { id } = await started(100);
    for (const version of [undefined, '0.2.2']) {
      const headers: HeaderMap = { ...bearer(key), 'upload-length': '10', 'upload-metadata': metadata({ transfer_id: t.id, filename: 'v.bin' }) };
      if (version) headers['tus-resumable'] = version;
      const post = await h.app.inject({ method: 'POST', url: UPLOADS, headers });
      expect(expectError(post, 412, 'unsupported_tus_version') && post.headers['tus-version']).toBe('1.0.0');

      const p = { ...bearer(key), ...OCTET, 'upload-offset': '0', ...(version ? { 'tus-resumable': version } : {}) };
      const res = await h.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: p, payload: bytes(10) });
      expectError(res, 412, 'unsupported_tus_version');
      expect(res.headers['tus-version']).toBe('1.0.0');
      const hd = await h.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...bearer(key), ...(version ? { 'tus-resumable': version } : {}) } });
      expect([hd.statusCode, hd.headers['tus-version']]).toEqual([412, '1.0.0']);
    }
    expect(await transferFiles(t.id)).toHaveLength(0);
    expect(await offsetOf(id)).toBe(0);
  });

  it('C37: PATCH with text/plain, no Content-Type or a parameterised type is 415', async () => {
    const { id } = await started(100);
    for (const type of ['text/plain', undefined, 'application/octet-stream', 'application/offset+octet-stream; charset=utf-8']) {
      const headers: HeaderMap = { ...bearer(key), 'upload-offset': '0' };
      if (type) headers['content-type'] = type;
      expectError(await tus('PATCH', `${UPLOADS}/${id}`, headers, bytes(50)), 415, 'unsupported_media_type');
    }
    expect(await offsetOf(id)).toBe(0);
  });

  it('C38: a stale or future Upload-Offset is 409 and the upload is not modified', async () => {
    const content = bytes(1000);
    const { id } = await started(content.length);
    expect((await patch(id, 0, content.subarray(0, 400))).statusCode).toBe(204);
    expectError(await patch(id, 0, bytes(400)), 409, 'offset_mismatch');
    expectError(await patch(id, 200, bytes(400)), 409, 'offset_mismatch');
    expectError(await patch(id, 600, bytes(400)), 409, 'offset_mismatch');
    expect(await offsetOf(id)).toBe(400);
    const rest = await patch(id, 400, content.subarray(400));
    expect(rest.statusCode).toBe(204);
    expect(sha256((await download(String(rest.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content));
  });

  it('C38: Upload-Offset must be a plain non-negative integer', async () => {
    const { id } = await started(100);
    for (const offset of ['-1', '1e1', '0x0', ' 0', '00', '0.0', 'abc']) {
      const res = await patch(id, 0, bytes(10), { 'upload-offset': offset });
      expect(res.statusCode, `${offset}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toMatch(/invalid_header|validation_failed/);
    }
    expect((await tus('PATCH', `${UPLOADS}/${id}`, { ...bearer(key), ...OCTET }, bytes(10))).statusCode).toBe(400);
    expect(await offsetOf(id)).toBe(0);
  });

  it('C39: both lengths, Upload-Defer-Length 2 or abc, and neither are 400', async () => {
    const t = await transfer();
    const meta = { transfer_id: t.id, filename: 'c39.bin' };
    expectError(await create(meta, 10, { 'upload-defer-length': '1' }), 400, 'invalid_header');
    expectError(await create(meta, null, { 'upload-defer-length': '2' }), 400, 'invalid_header');
    expectError(await create(meta, null, { 'upload-defer-length': 'abc' }), 400, 'invalid_header');
    expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-metadata': metadata(meta) }), 400, 'invalid_header');
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('C40: a deferred length below the received bytes is 409; a length once set cannot change (400)', async () => {
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'c40.bin' }, null));
    expect((await patch(id, 0, bytes(500))).statusCode).toBe(204);
    expectError(await patch(id, 500, bytes(10), { 'upload-length': '400' }), 409, 'length_below_offset');
    expect(await offsetOf(id)).toBe(500);
    expect((await head(id)).headers['upload-defer-length']).toBe('1');

    expect((await patch(id, 500, bytes(100), { 'upload-length': '1000' })).statusCode).toBe(204);
    expect((await head(id)).headers['upload-length']).toBe('1000');
    expectError(await patch(id, 600, bytes(100), { 'upload-length': '2000' }), 400, 'length_already_set');
    expectError(await patch(id, 600, bytes(100), { 'upload-length': '1000' }), 400, 'length_already_set');
    const status = await head(id);
    expect([status.headers['upload-offset'], status.headers['upload-length']]).toEqual(['600', '1000']);

    // An upload created with its length cannot declare one either.
    const fixed = (await started(100)).id;
    expectError(await patch(fixed, 0, bytes(10), { 'upload-length': '100' }), 400, 'length_already_set');
    expect(await offsetOf(fixed)).toBe(0);
  });

  it('C41: a wrong Upload-Checksum is 460 and the chunk is discarded', async () => {
    const content = bytes(3000);
    const { id } = await started(content.length);
    const first = content.subarray(0, 1000);
    expect((await patch(id, 0, first, { 'upload-checksum': `sha256 ${base64Digest('sha256', first)}` })).statusCode).toBe(204);
    const second = content.subarray(1000, 2000);
    const bad = await patch(id, 1000, second, { 'upload-checksum': `sha256 ${base64Digest('sha256', bytes(1000))}` });
    expectError(bad, 460, 'checksum_mismatch');
    expect(await offsetOf(id)).toBe(1000);
    // The same chunk with its right digest goes through, and the running SHA-256 stays right.
    expect((await patch(id, 1000, second, { 'upload-checksum': `sha1 ${base64Digest('sha1', second)}` })).statusCode).toBe(204);
    const third = content.subarray(2000);
    const last = await patch(id, 2000, third, { 'upload-checksum': `md5 ${base64Digest('md5', third)}` });
    expect(last.statusCode, last.body).toBe(204);
    expect(await fileView(String(last.headers['x-ferry-file-id']))).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('C41: creation-with-upload with a wrong Upload-Checksum is 460 and nothing is kept', async () => {
    const content = bytes(500);
    const t = await transfer();
    const before = await tusUploadsStored();
    const res = await create({ transfer_id: t.id, filename: 'c41.bin' }, 1000, { 'upload-checksum': `sha1 ${base64Digest('sha1', bytes(500))}` }, bearer(key), content);
    expectError(res, 460, 'checksum_mismatch');
    expect(res.headers.location).toBeUndefined();
    // The client never learnt the upload's URL: neither the upload nor its declared file remain,
    // so the same creation can simply be retried.
    expect(await tusUploadsStored()).toEqual(before);
    expect(await transferFiles(t.id)).toHaveLength(0);
    const retry = await create({ transfer_id: t.id, filename: 'c41.bin' }, 1000, { 'upload-checksum': `sha1 ${base64Digest('sha1', content)}` }, bearer(key), content);
    expect(await offsetOf(idOf(retry))).toBe(500);
    expect(await transferFiles(t.id)).toMatchObject([{ name: 'c41.bin', size: 1000, state: 'pending' }]);
  });

  it('C41: creation-with-upload into a declared file with a wrong checksum leaves the file declared and uploadable', async () => {
    const content = bytes(500);
    const t = await transfer([{ name: 'kept.bin', size: content.length }]);
    const bad = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length, { 'upload-checksum': `md5 ${base64Digest('md5', bytes(10))}` }, bearer(key), content);
    expectError(bad, 460, 'checksum_mismatch');
    expect(await transferFiles(t.id)).toMatchObject([{ id: t.fileIds[0], state: 'pending' }]);
    const good = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length, { 'upload-checksum': `md5 ${base64Digest('md5', content)}` }, bearer(key), content);
    expect(good.headers['x-ferry-file-id']).toBe(t.fileIds[0]);
    expect(await fileView(t.fileIds[0]!)).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('C42: crc32, upper-case SHA1, bad base64 or a short digest are 400 and nothing is written', async () => {
    const body = bytes(100);
    const { id } = await started(1000);
    const sha1 = base64Digest('sha1', body);
    const cases: [string, string][] = [
      [`crc32 ${Buffer.alloc(4).toString('base64')}`, 'unsupported_checksum_algorithm'],
      [`SHA1 ${sha1}`, 'unsupported_checksum_algorithm'],
      ['sha1 !!!not-base64!!!', 'invalid_checksum'],
      [`sha1 ${sha1.slice(0, -2)}`, 'invalid_checksum'],
      [`sha256 ${sha1}`, 'invalid_checksum'],
      ['sha1', 'invalid_checksum'],
      ['', 'invalid_checksum'],
    ];
    for (const [value, code] of cases) expectError(await patch(id, 0, body, { 'upload-checksum': value }), 400, code);
    expect(await offsetOf(id)).toBe(0);
  });

  it('C47: HEAD carries Cache-Control: no-store, for unfinished and finished uploads', async () => {
    const content = bytes(100);
    const { id } = await started(content.length);
    expect((await head(id)).headers['cache-control']).toBe('no-store');
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    const done = await head(id);
    expect([done.statusCode, done.headers['cache-control'], done.headers['tus-resumable']]).toEqual([200, 'no-store', '1.0.0']);
  });
});
