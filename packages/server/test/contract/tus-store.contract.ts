import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Upload } from '@tus/utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { refusalOf, withChecksum } from '../../src/tus/tus-request.ts';
import { TusRecords, type FerryTusStore } from '../../src/tus/tus-store.ts';
import { newUploadId } from '../../src/tus/tus-upload-rules.ts';
import type { TusUploadRow } from '../../src/repositories/tus-uploads-repository.ts';
import { FakeTusUploads, uploadRow } from '../support/tus-fakes.ts';

/** A tus store over `records`, writing into `blobs` once settled; `shutdown` aborts its writes. */
export type MakeTusStore = (records: TusRecords, shutdown: AbortSignal) => Promise<{ store: FerryTusStore; blobs: BlobStore; cleanup: () => Promise<void> }>;

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const digestOf = (data: Buffer) => ({ sha256: sha256(data), crc32: zlib.crc32(data) >>> 0 });

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * What Ferry adds to a tus data store (FerryTusStore: offset, forget, openRead, settle), its
 * checksum extension and its answer at shutdown, whatever medium holds the bytes. Store-agnostic,
 * like the BlobStore contract: it runs unchanged against every implementation.
 */
export function runTusStoreContract(name: string, makeStore: MakeTusStore): void {
  describe(`FerryTusStore contract: ${name}`, () => {
    let uploads: FakeTusUploads;
    let store: FerryTusStore;
    let blobs: BlobStore;
    let shutdown: AbortController;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      uploads = new FakeTusUploads();
      shutdown = new AbortController();
      ({ store, blobs, cleanup } = await makeStore(new TusRecords(uploads), shutdown.signal));
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    /** A new upload of `size` bytes, recorded as Ferry's creation hook records it, then made by the store. */
    async function created(size: number, kind: TusUploadRow['kind'] = 'single'): Promise<string> {
      const id = newUploadId();
      await uploads.insert(uploadRow({ id, kind, size }));
      await store.create(new Upload({ id, size, offset: 0, metadata: {}, creation_date: new Date().toISOString() }));
      return id;
    }
    const write = (id: string, offset: number, ...chunks: Buffer[]) => store.write(Readable.from(chunks), id, offset);

    it('counts the bytes received across writes and reads them back in order', async () => {
      const data = randomBytes(300_000);
      const id = await created(data.length);
      expect(await store.offsetOf(id)).toBe(0);
      expect(await write(id, 0, data.subarray(0, 100_000))).toBe(100_000);
      expect(await store.offsetOf(id)).toBe(100_000);
      expect(await write(id, 100_000, data.subarray(100_000, 200_000), data.subarray(200_000))).toBe(data.length);
      expect(await store.offsetOf(id)).toBe(data.length);
      expect(sha256(await readAll(await store.openRead(id)))).toBe(sha256(data));
    });

    it.each([
      ['in one write', 'single', 1],
      ['over several writes', 'single', 3],
      ['of a partial upload (not hashed while it streams)', 'partial', 2],
    ] as const)('settles a finished upload %s into a committed blob with its digests', async (_label, kind, writes) => {
      const data = randomBytes(6 * MiB + 123);
      const id = await created(data.length, kind);
      const step = Math.ceil(data.length / writes);
      for (let offset = 0; offset < data.length; offset += step) await write(id, offset, data.subarray(offset, offset + step));
      const settled = await store.settle(id, data.length);
      expect({ sha256: settled.sha256, crc32: settled.crc32 }).toEqual(digestOf(data));
      expect(await blobs.stat(settled.storageKey)).toEqual({ size: data.length });
      expect(sha256(await readAll(await blobs.read(settled.storageKey)))).toBe(sha256(data));
    }, 60_000);

    it('settles a zero-byte upload into an empty blob', async () => {
      const id = await created(0);
      const settled = await store.settle(id, 0);
      expect({ sha256: settled.sha256, crc32: settled.crc32 }).toEqual(digestOf(Buffer.alloc(0)));
      expect(await blobs.stat(settled.storageKey)).toEqual({ size: 0 });
    });

    it('answers a settled upload as complete from its record, and forgetting it later keeps the blob', async () => {
      const data = randomBytes(1000);
      const id = await created(data.length);
      await write(id, 0, data);
      const settled = await store.settle(id, data.length);
      await uploads.update(id, { completed_at: new Date().toISOString(), info: null });
      expect(await store.getUpload(id)).toMatchObject({ id, size: data.length, offset: data.length });
      await store.forget(id);
      expect(sha256(await readAll(await blobs.read(settled.storageKey)))).toBe(sha256(data));
    });

    it('forgets an unfinished upload\'s bytes; an unknown upload is nothing to forget', async () => {
      const id = await created(1000);
      await write(id, 0, randomBytes(400));
      await store.forget(id);
      expect(await store.offsetOf(id)).toBe(0);
      await expect(store.forget(newUploadId())).resolves.toBeUndefined();
      expect(await store.offsetOf(newUploadId())).toBe(0);
    });

    it('terminates an unfinished upload: its bytes and its record go', async () => {
      const id = await created(1000);
      await write(id, 0, randomBytes(400));
      await store.remove(id);
      expect(await store.offsetOf(id)).toBe(0);
      expect(await uploads.find(id)).toBeUndefined();
    });

    it('takes a chunk that matches its Upload-Checksum and refuses one that does not (checksum_mismatch, 460 on the wire), offset unchanged', async () => {
      const data = randomBytes(2000);
      const id = await created(data.length);
      const checksum = (chunk: Buffer, algorithm: 'sha1' | 'md5' = 'sha1') => ({ algorithm, digest: createHash(algorithm).update(chunk).digest(), header: 'Upload-Checksum' });
      const first = data.subarray(0, 1000);
      expect(await withChecksum(checksum(first), () => write(id, 0, first))).toBe(1000);
      const bad = await withChecksum(checksum(randomBytes(1000), 'md5'), () => write(id, 1000, data.subarray(1000))).catch((e: unknown) => e);
      expect(refusalOf(bad)).toMatchObject({ code: 'checksum_mismatch' });
      expect(await store.offsetOf(id)).toBe(1000);
      expect(await withChecksum(checksum(data.subarray(1000)), () => write(id, 1000, data.subarray(1000)))).toBe(data.length);
      const settled = await store.settle(id, data.length);
      expect(settled.sha256).toBe(sha256(data));
    });

    it('at shutdown stops reading and answers 503 unavailable; the upload resumes where its bytes end', async () => {
      const data = randomBytes(3000);
      const id = await created(data.length);
      await write(id, 0, data.subarray(0, 1000));
      shutdown.abort();
      const refused = await write(id, 1000, data.subarray(1000)).catch((e: unknown) => e);
      expect(refusalOf(refused)).toMatchObject({ status: 503, code: 'unavailable', headers: { 'retry-after': '5' } });
      expect(await store.offsetOf(id)).toBe(1000);
    });
  });
}
