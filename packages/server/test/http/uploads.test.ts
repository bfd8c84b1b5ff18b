import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { declaredFile } from '../support/transfers.ts';
import { bytes, expectData, expectError, multipart, putContent, type Part } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { tempBlobCount } from '../support/stored-blobs.ts';

/** Raw PUT and multipart uploads: docs/security-checklist.md B18-B20, B24, B25, B35, I103 and the declared-size rule. */

const PLAN_BYTES = 1024 * 1024;
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(PLAN_BYTES) });
  ({ key } = await createAccount(h.app, 'uploads@example.com'));
});
afterAll(() => h.close());

const declared = (size: number, name?: string) => declaredFile(h.app, key, { size, name, title: 'up' });

const fileView = async (fileId: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}`, headers: bearer(key) }));
const download = (fileId: string) => h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: bearer(key) });

/** A body with no Content-Length (chunked), delivered in several pieces. */
function chunked(content: Buffer) {
  const pieces = [content.subarray(0, 1000), content.subarray(1000)];
  return { payload: Readable.from(pieces), headers: { 'transfer-encoding': 'chunked' } };
}

function sendForm(transferId: string, parts: Part[], headers: Record<string, string> = {}) {
  const form = multipart(parts);
  return h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), ...form.headers, ...headers }, payload: form.payload });
}

async function expectStillPending(fileId: string) {
  expect(await fileView(fileId)).toMatchObject({ state: 'pending', sha256: null, crc32: null });
  expectError(await download(fileId), 409, 'file_incomplete');
}

describe('raw PUT .../files/:fileId/content', () => {
  it('exactly the declared size completes the file; its SHA-256 matches and the bytes come back', async () => {
    const content = bytes(300_000);
    const { transferId, fileId } = await declared(content.length);
    const done = expectData(await putContent(h.app, key, transferId, fileId, content));
    expect(done).toMatchObject({ id: fileId, state: 'complete', size: content.length, sha256: sha256(content), crc32: expect.stringMatching(/^[0-9a-f]{8}$/) });
    expect(done.upload).toBeUndefined();
    expect(done.download_url).toEqual(expect.any(String));
    const res = await download(fileId);
    expect(res.statusCode).toBe(200);
    expect(res.headers.etag).toBe(`"${sha256(content)}"`);
    expect(sha256(res.rawPayload)).toBe(sha256(content));
  });

  it('a zero-byte file completes with an empty body', async () => {
    const { transferId, fileId } = await declared(0);
    expect(expectData(await putContent(h.app, key, transferId, fileId, Buffer.alloc(0)))).toMatchObject({ state: 'complete', sha256: sha256('') });
  });

  it('B24: a body longer than declared is 413 and the file stays pending', async () => {
    const { transferId, fileId } = await declared(100);
    const res = await putContent(h.app, key, transferId, fileId, bytes(150));
    expect(expectError(res, 413, 'payload_too_large').declared_size).toBe(100);
    await expectStillPending(fileId);
  });

  it('B25: a chunked body (no Content-Length) running past the declared size is cut off with 413', async () => {
    const { transferId, fileId } = await declared(1500);
    const body = chunked(bytes(4000));
    const res = await h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${transferId}/files/${fileId}/content`, headers: { ...bearer(key), ...body.headers }, payload: body.payload });
    expectError(res, 413, 'payload_too_large');
    await expectStillPending(fileId);
  });

  it('a body shorter than declared is 400 size_mismatch (with and without Content-Length); the file stays pending', async () => {
    const { transferId, fileId } = await declared(2000);
    const short = expectError(await putContent(h.app, key, transferId, fileId, bytes(1999)), 400, 'size_mismatch');
    expect(short).toMatchObject({ declared_size: 2000, received_size: 1999 });
    const body = chunked(bytes(1500));
    const res = await h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${transferId}/files/${fileId}/content`, headers: { ...bearer(key), ...body.headers }, payload: body.payload });
    expect(expectError(res, 400, 'size_mismatch')).toMatchObject({ declared_size: 2000, received_size: 1500 });
    await expectStillPending(fileId);
    // The file can still be uploaded properly afterwards.
    const content = bytes(2000);
    expect(expectData(await putContent(h.app, key, transferId, fileId, content)).sha256).toBe(sha256(content));
  });

  it('I103: a Content-Encoding: gzip body is 415 and is not decompressed', async () => {
    const content = bytes(1000);
    const { transferId, fileId } = await declared(content.length);
    const gz = zlib.gzipSync(content);
    for (const encoding of ['gzip', 'deflate', 'br', 'gzip, identity']) {
      expectError(await putContent(h.app, key, transferId, fileId, gz, { 'content-encoding': encoding }), 415, 'unsupported_media_type');
    }
    await expectStillPending(fileId);
    expect(expectData(await putContent(h.app, key, transferId, fileId, content, { 'content-encoding': 'identity' })).sha256).toBe(sha256(content));
  });

  it('B35: uploading into a complete file is 409 file_complete and the bytes stay untouched', async () => {
    const first = bytes(500);
    const { transferId, fileId } = await declared(first.length);
    expectData(await putContent(h.app, key, transferId, fileId, first));
    expectError(await putContent(h.app, key, transferId, fileId, bytes(500)), 409, 'file_complete');
    expectError(await putContent(h.app, key, transferId, fileId, Buffer.alloc(0)), 409, 'file_complete');
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(first));
  });

  it('two concurrent uploads of one file: exactly one wins (200), the other is 409, and the winner\'s bytes are served', async () => {
    const a = bytes(50_000);
    const b = bytes(50_000);
    const { transferId, fileId } = await declared(a.length);
    const results = await Promise.all([putContent(h.app, key, transferId, fileId, a), putContent(h.app, key, transferId, fileId, b)]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const winner = results[0]!.statusCode === 200 ? a : b;
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(winner));
  });

  it('an unknown file id or a file of another transfer is 404; a malformed id is 404', async () => {
    const { transferId } = await declared(1);
    const other = await declared(1);
    expectError(await putContent(h.app, key, transferId, 'fl_AAAAAAAAAAAAAAAAAAAAAA', 'x'), 404, 'not_found');
    expectError(await putContent(h.app, key, transferId, other.fileId, 'x'), 404, 'not_found');
    expectError(await putContent(h.app, key, transferId, '..%2F..%2Fetc%2Fpasswd', 'x'), 404, 'not_found');
  });
});

describe('multipart POST /transfers/:id/files (declare and upload at once)', () => {
  it('with a size field: 201, complete, SHA-256 matches, name from the part, type from the field', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const content = bytes(200_000);
    const res = await sendForm(transferId, [{ name: 'size', value: String(content.length) }, { name: 'content_type', value: 'image/png' }, { name: 'file', filename: 'photo.png', content, contentType: 'application/octet-stream' }]);
    const file = expectData(res, 201);
    expect(file).toMatchObject({ name: 'photo.png', size: content.length, content_type: 'image/png', state: 'complete', sha256: sha256(content) });
    expect(sha256((await download(file.id)).rawPayload)).toBe(sha256(content));
  });

  it('without a size field: the size is what arrived; the part\'s type is the label', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const content = bytes(12_345);
    const file = expectData(await sendForm(transferId, [{ name: 'file', filename: 'notes.txt', content, contentType: 'text/plain' }]), 201);
    expect(file).toMatchObject({ name: 'notes.txt', size: 12_345, content_type: 'text/plain', sha256: sha256(content) });
  });

  it('a size field that disagrees with the bytes is refused (400 shorter, 413 longer) and no file is created', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const content = bytes(1000);
    expect(expectError(await sendForm(transferId, [{ name: 'size', value: '1001' }, { name: 'file', filename: 'a.bin', content }]), 400, 'size_mismatch')).toMatchObject({ declared_size: 1001, received_size: 1000 });
    expectError(await sendForm(transferId, [{ name: 'size', value: '999' }, { name: 'file', filename: 'a.bin', content }]), 413, 'payload_too_large');
    const files = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }));
    expect(files.map((f: { name: string }) => f.name)).toEqual(['other.bin']);
  });

  it('B18/B20: a size field that is not a plain whole number is 400', async () => {
    const { transferId } = await declared(1, 'other.bin');
    for (const size of ['-1', '1e3', '0x10', ' 12 ', '12abc', '1.5', '', '9'.repeat(20)]) {
      expectError(await sendForm(transferId, [{ name: 'size', value: size }, { name: 'file', filename: 'a.bin', content: 'x'.repeat(12) }]), 400, 'validation_failed');
    }
  });

  it('without a size field the plan\'s room is the cap: more bytes than the plan allows is 413', async () => {
    const { transferId } = await declared(PLAN_BYTES - 10_000, 'big.bin');
    expectError(await sendForm(transferId, [{ name: 'file', filename: 'more.bin', content: bytes(20_000) }]), 413, 'payload_too_large');
    expectError(await sendForm(transferId, [{ name: 'size', value: '20000' }, { name: 'file', filename: 'more.bin', content: bytes(20_000) }]), 413, 'payload_too_large');
    expect(expectData(await sendForm(transferId, [{ name: 'file', filename: 'fits.bin', content: bytes(10_000) }]), 201).size).toBe(10_000);
  });

  it('a form without a file part is 400 missing_file; a form without boundary is 400 invalid_multipart', async () => {
    const { transferId } = await declared(1, 'other.bin');
    expectError(await sendForm(transferId, [{ name: 'size', value: '3' }]), 400, 'missing_file');
    const noBoundary = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), 'content-type': 'multipart/form-data' }, payload: 'garbage' });
    expectError(noBoundary, 400, 'invalid_multipart');
  });

  it('a form cut short inside its file part (with or without size) is 400 upload_interrupted; nothing is kept', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const content = bytes(900_000);
    for (const parts of [[{ name: 'file', filename: 'cut.bin', content }], [{ name: 'size', value: String(content.length) }, { name: 'file', filename: 'cut.bin', content }]] as Part[][]) {
      for (const keep of [3_000, 700_000]) {
        const form = multipart(parts);
        const res = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), ...form.headers }, payload: form.payload.subarray(0, keep) });
        expectError(res, 400, 'upload_interrupted');
      }
    }
    const files = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }));
    expect(files.map((f: { name: string }) => f.name)).toEqual(['other.bin']);
    expect(await tempBlobCount(h.stores)).toBe(0);
  });

  it('I103: a Content-Encoding other than identity on a form is 415; so are text and body-less requests', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const form = multipart([{ name: 'file', filename: 'a.txt', content: 'abc' }]);
    for (const payload of [form.payload, zlib.gzipSync(form.payload)]) {
      const res = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), ...form.headers, 'content-encoding': 'gzip' }, payload });
      expectError(res, 415, 'unsupported_media_type');
    }
    const text = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), 'content-type': 'text/plain' }, payload: 'hello' });
    expectError(text, 415, 'unsupported_media_type');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }), 415, 'unsupported_media_type');
    const urlencoded = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x&size=1' });
    expectError(urlencoded, 415, 'unsupported_media_type');
  });

  it('B22: JSON declaration beyond the plan is 413; negative or fractional sizes are 400', async () => {
    const { transferId } = await declared(1, 'other.bin');
    const declare = (payload: unknown) => h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key), payload: payload as object });
    expectError(await declare({ name: 'x', size: PLAN_BYTES }), 413, 'payload_too_large');
    for (const size of [-1, 1.5, '10', null]) expectError(await declare({ name: 'x', size }), 400, 'validation_failed');
    expectError(await declare({ name: 'x' }), 400, 'validation_failed');
    expectError(await declare({ name: 'x', size: 1, sha256: 'abc' }), 400, 'validation_failed');
  });
});
