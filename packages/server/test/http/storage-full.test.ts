import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, postTransfer } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { smallBlobDisk } from '../support/stored-blobs.ts';
import { metadata, V } from '../support/tus-http.ts';

/**
 * docs/security-checklist.md I105 and I106 on a real, small filesystem: a tmpfs mounted over the
 * blob store (the suite runs as root on these machines, as CI does). Declared sizes are reserved at creation
 * (507 when the disk cannot hold them, however many uploads share it), and a disk that fills
 * during a tus PATCH answers 507 with HEAD still telling the truth, after which the upload resumes.
 */

const MiB = 1024 * 1024;
let h: Harness;
let key: string;
let blobs: string;
let unmount: () => void;

beforeAll(async () => {
  // Tests the local store's disk-full handling (object storage reports no free space): local folder on every stack.
  h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(2 ** 50), FERRY_STORAGE: 'local' });
  ({ blobs, unmount } = await smallBlobDisk(h.dataDir, '16m'));
  ({ key } = await createAccount(h.app, 'full@example.com'));
});
afterAll(async () => {
  unmount?.();
  await h.close();
});

const free = async () => (await h.stores.defaultStore.freeSpace())!;

describe('I106: reservation at creation', () => {
  it('a declared file larger than the free space is 507 storage_full, and no transfer is made', async () => {
    const res = await postTransfer(h.app, key, { title: 'huge', files: [{ name: 'big.bin', size: 64 * MiB }] });
    expectError(res, 507, 'storage_full');
    const list = expectData(await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(key) }));
    expect(list).toHaveLength(0);
  });

  it('uploads that fit one by one but not together: the one that crosses the line is 507', async () => {
    const room = await free();
    const first = await createTransfer(h.app, key, { title: 'a', files: [{ name: 'a.bin', size: room - 2 * MiB }] });
    const second = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${first.id}/files`, headers: bearer(key), payload: { name: 'b.bin', size: 4 * MiB } });
    expectError(second, 507, 'storage_full');
    const tusCreate = await h.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...bearer(key), ...V, 'upload-length': String(4 * MiB), 'upload-metadata': metadata({ transfer_id: first.id, filename: 'c.bin' }) },
    });
    expectError(tusCreate, 507, 'storage_full');
    // Removing the reservation (deleting the transfer) frees the room again.
    await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${first.id}`, headers: bearer(key) });
    const third = await postTransfer(h.app, key, { title: 'c', files: [{ name: 'c.bin', size: 4 * MiB }] });
    expectData(third, 201);
    await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${third.json().data.id}`, headers: bearer(key) });
  });
});

describe('I105: the disk fills during a PATCH', () => {
  it('answers 507, HEAD shows only bytes that arrived, and the upload resumes once there is room', async () => {
    const content = bytes(6 * MiB);
    const t = await createTransfer(h.app, key, { title: 'fill', files: [{ name: 'f.bin', size: content.length }] });
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...bearer(key), ...V, 'upload-length': String(content.length), 'upload-metadata': metadata({ transfer_id: t.id, file_id: t.files[0].id }) },
    });
    expect(created.statusCode, created.body).toBe(201);
    const url = new URL(created.headers.location as string).pathname;
    // Something else takes the disk meanwhile (the reservation cannot stop other writers).
    const filler = path.join(blobs, 'filler');
    await fs.writeFile(filler, Buffer.alloc((await free()) - 2 * MiB));
    const patch = await h.app.inject({
      method: 'PATCH',
      url,
      headers: { ...bearer(key), ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      payload: content,
    });
    expectError(patch, 507, 'storage_full');
    const head = await h.app.inject({ method: 'HEAD', url, headers: { ...bearer(key), ...V } });
    expect(head.statusCode).toBe(200);
    const offset = Number(head.headers['upload-offset']);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(content.length);
    expect((await fs.stat(path.join(blobs, '.tus', path.basename(url)))).size).toBe(offset);
    // Other requests are still served while the disk is full.
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(key) })).statusCode).toBe(200);

    await fs.rm(filler);
    const resumed = await h.app.inject({
      method: 'PATCH',
      url,
      headers: { ...bearer(key), ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset) },
      payload: content.subarray(offset),
    });
    expect(resumed.statusCode, resumed.body).toBe(204);
    const fileId = resumed.headers['x-ferry-file-id'] as string;
    const download = await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: bearer(key) });
    expect(sha256(download.rawPayload)).toBe(sha256(content));
  });
});
