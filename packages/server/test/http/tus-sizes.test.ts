import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness } from '../support/harness.ts';
import { bytes, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { idOf, metadata, startTusHttp, TRANSFER_MAX, TUS_MAX, tusHelpers, UPLOADS } from '../support/tus-http.ts';

/**
 * The tus rows of docs/security-checklist.md section B (B18-B25, B34, B35): malformed and
 * oversized Upload-Length (Tus-Max-Size and the transfer maximum, at creation and when a deferred
 * length is declared), bodies running past Upload-Length, finalized or deleted transfers, finished
 * uploads.
 */

let h: Harness;
let key: string;
beforeAll(async () => {
  ({ h, key } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, create, started, head, patch, offsetOf, download, transferFiles, tusBytes } = tusHelpers(() => ({ h, key }));

describe('sizes (docs/security-checklist.md B18-B25, B34, B35)', () => {
  it('B18/B20/B21: Upload-Length -1, 1e3, 12abc, 0x10, " 12 ", 1.5 and 40 digits are 400', async () => {
    const t = await transfer();
    for (const length of ['-1', '1e3', '12abc', '0x10', '1.5', '+12', '9'.repeat(40), '9007199254740993', '']) {
      const res = await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': length, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'b.bin' }) });
      expect(res.statusCode, `${length}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toMatch(/invalid_header|validation_failed/);
    }
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('B22: a length above Tus-Max-Size is 413 at creation', async () => {
    const t = await transfer();
    expectError(await create({ transfer_id: t.id, filename: 'big.bin' }, TUS_MAX + 1), 413, 'payload_too_large');
    expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': String(TUS_MAX + 1), 'upload-concat': 'partial' }), 413, 'payload_too_large');
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('B22: a deferred length declared above Tus-Max-Size is 413', async () => {
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'grow.bin' }, null));
    const res = await patch(id, 0, bytes(10), { 'upload-length': String(TUS_MAX + 1) });
    expectError(res, 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(0);
    expect((await head(id)).headers['upload-defer-length']).toBe('1');
  });

  it('B23: a file that would take the transfer over its maximum is 413 at creation', async () => {
    const t = await transfer([{ name: 'first.bin', size: 150_000 }]);
    expectError(await create({ transfer_id: t.id, filename: 'second.bin' }, TRANSFER_MAX - 150_000 + 1), 413, 'payload_too_large');
    expect(await transferFiles(t.id)).toHaveLength(1);
    idOf(await create({ transfer_id: t.id, filename: 'second.bin' }, TRANSFER_MAX - 150_000));
  });

  it('B23: a deferred length that would take the transfer over its maximum is 413 at the PATCH declaring it', async () => {
    const t = await transfer([{ name: 'first.bin', size: 150_000 }]);
    const id = idOf(await create({ transfer_id: t.id, filename: 'second.bin' }, null));
    expect((await patch(id, 0, bytes(1000))).statusCode).toBe(204);
    const res = await patch(id, 1000, bytes(1000), { 'upload-length': String(TRANSFER_MAX - 150_000 + 1) });
    expect(expectError(res, 413, 'payload_too_large').max_transfer_size).toBe(TRANSFER_MAX);
    const status = await head(id);
    expect([status.headers['upload-offset'], status.headers['upload-defer-length']]).toEqual(['1000', '1']);
    // A length that fits is still accepted, and the upload completes.
    const content = bytes(TRANSFER_MAX - 150_000);
    const last = await patch(id, 1000, content.subarray(1000), { 'upload-length': String(content.length) });
    expect(last.statusCode, last.body).toBe(204);
    expect(await transferFiles(t.id)).toMatchObject([{ name: 'first.bin' }, { name: 'second.bin', size: content.length, state: 'complete' }]);
  });

  it('a deferred upload by a name already in the transfer is refused at creation, not after its bytes', async () => {
    const t = await transfer([{ name: 'taken.bin', size: 10 }]);
    expectError(await create({ transfer_id: t.id, filename: 'taken.bin' }, null), 400, 'duplicate_file_name');
    expectError(await create({ transfer_id: t.id, filename: 'taken.bin' }, 10), 400, 'duplicate_file_name');
    expect(await transferFiles(t.id)).toHaveLength(1);
  });

  it('B24: a PATCH body longer than Upload-Length is 413 and nothing is written past it', async () => {
    const { id } = await started(100);
    expectError(await patch(id, 0, bytes(150)), 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(0);
    expect((await patch(id, 0, bytes(60))).statusCode).toBe(204);
    expectError(await patch(id, 60, bytes(41)), 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(60);
  });

  it('B25: a chunked PATCH body running past Upload-Length is 413 and nothing past Upload-Length is written', async () => {
    const content = bytes(4000);
    const { id } = await started(1500);
    const res = await patch(id, 0, Readable.from([content.subarray(0, 1000), content.subarray(1000)]), { 'transfer-encoding': 'chunked' });
    expectError(res, 413, 'payload_too_large');
    const offset = await offsetOf(id);
    expect(offset).toBeLessThanOrEqual(1500);
    const onDisk = await tusBytes(id);
    expect(onDisk.length).toBe(offset);
    expect(onDisk.equals(content.subarray(0, offset))).toBe(true);
    // The upload goes on from there.
    const rest = await patch(id, offset, content.subarray(offset, 1500));
    expect(rest.statusCode, rest.body).toBe(204);
    expect(sha256((await download(String(rest.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content.subarray(0, 1500)));
  });

  it('B34: tus creation into a finalized transfer is 409', async () => {
    const content = bytes(100);
    const t = await transfer([{ name: 'a.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/finalize`, headers: bearer(key) })).statusCode).toBe(200);
    expectError(await create({ transfer_id: t.id, filename: 'late.bin' }, 10), 409, 'transfer_finalized');
    expectError(await create({ transfer_id: t.id, filename: 'late.bin' }, null), 409, 'transfer_finalized');
    expectError(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length), 409, 'transfer_finalized');
    expect(await transferFiles(t.id)).toHaveLength(1);
  });

  it('B34: PATCHes into an upload whose transfer was deleted are refused and complete no file', async () => {
    const content = bytes(1000);
    const t = await transfer([{ name: 'doomed.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    const named = idOf(await create({ transfer_id: t.id, filename: 'named.bin' }, content.length));
    expect((await patch(id, 0, content.subarray(0, 500))).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await patch(id, 500, content.subarray(500)), 404, 'not_found');
    expectError(await patch(named, 0, content), 404, 'not_found');
    expect(await offsetOf(id)).toBe(500);
    const row = await h.database.db.selectFrom('files').select(['state', 'sha256']).where('id', '=', t.fileIds[0]!).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'pending', sha256: null });
  });

  it('B35: a PATCH into a completed upload is 409 and the bytes are untouched; an empty PATCH at the end is 204', async () => {
    const content = bytes(500);
    const { id } = await started(content.length);
    const done = await patch(id, 0, content);
    const fileId = String(done.headers['x-ferry-file-id']);
    expectError(await patch(id, 500, bytes(10)), 409, 'upload_complete');
    expectError(await patch(id, 0, bytes(500)), 409, 'upload_complete');
    const empty = await patch(id, 500, Buffer.alloc(0));
    expect([empty.statusCode, empty.headers['upload-offset']]).toEqual([204, '500']);
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
  });

  it('B35: a second upload into a declared file that was already completed is 409 at creation', async () => {
    const content = bytes(100);
    const t = await transfer([{ name: 'once.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    expectError(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length), 409, 'file_complete');
  });
});
