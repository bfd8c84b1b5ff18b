import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { createS3Client, type S3Settings } from '../../src/storage/s3-client.ts';
import { S3_MIN_PART_SIZE } from '../../src/storage/s3-multipart.ts';
import { StorageUnavailableError } from '../../src/storage/blob-store.ts';
import { runBlobStoreContract } from './blob-store.contract.ts';
import { sha256 } from '../support/hashing.ts';
import { dropBucket, freshBucketName, listObjectKeys, testS3Server } from '../support/test-s3.ts';

// Runs where an S3 server is given (the scale-out run starts Ceph radosgw, which checks signatures).
const server = testS3Server();
const settings: S3Settings | null = server ? { ...server, bucket: freshBucketName() } : null;

describe.runIf(settings)('S3BlobStore on a real S3 server', () => {
  let store: S3BlobStore;
  beforeAll(async () => {
    store = await new S3BlobStore({ client: createS3Client(settings!), bucket: settings!.bucket }).init();
  }, 60_000);
  afterAll(async () => {
    await dropBucket(settings!);
  }, 60_000);

  runBlobStoreContract('S3BlobStore', async () => ({ store, cleanup: async () => undefined }));

  it('creates a missing bucket once and accepts it existing', async () => {
    await expect(new S3BlobStore({ client: createS3Client(settings!), bucket: settings!.bucket }).init()).resolves.toBeDefined();
  });

  it('leaves no temp object behind after commit or a failed body', async () => {
    const temp = await store.writeTemp(Readable.from([randomBytes(1000)]));
    await store.commit(temp.tempKey, `k-${randomBytes(4).toString('hex')}`);
    async function* failing() {
      yield randomBytes(9 * 1024 * 1024);
      throw new Error('client went away');
    }
    await expect(store.writeTemp(Readable.from(failing()))).rejects.toThrow('client went away');
    expect(await listObjectKeys(store.client, store.bucket, '.tmp/')).toEqual([]);
    expect(await store.multipart.listOpen('.tmp/')).toEqual([]);
  });

  it('serves a presigned GET, and S3 refuses it tampered or expired', async () => {
    const data = randomBytes(4096);
    const key = `get-${randomBytes(4).toString('hex')}`;
    const temp = await store.writeTemp(Readable.from([data]));
    await store.commit(temp.tempKey, key);
    const url = await store.multipart.presignGet(key, 60, { contentDisposition: 'attachment; filename="a.bin"', contentType: 'application/octet-stream' });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-disposition')).toBe('attachment; filename="a.bin"');
    expect(sha256(Buffer.from(await ok.arrayBuffer()))).toBe(sha256(data));
    const ranged = await fetch(url, { headers: { range: 'bytes=10-19' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(data.subarray(10, 20));

    const tampered = new URL(url);
    tampered.pathname = tampered.pathname.replace(key, `${key}x`);
    expect((await fetch(tampered)).status).toBe(403);
    const badSignature = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    expect((await fetch(badSignature)).status).toBe(403);
    const expired = await store.multipart.presignGet(key, 1, { contentDisposition: 'attachment', contentType: 'application/octet-stream' });
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(expired)).status).toBe(403);
  });

  it('takes parts through presigned UploadPart URLs, enforces the signed size, and completes', async () => {
    const key = `mp-${randomBytes(4).toString('hex')}`;
    const uploadId = await store.multipart.create(key);
    const first = randomBytes(S3_MIN_PART_SIZE);
    const last = randomBytes(1234);
    const url1 = await store.multipart.presignPart(key, uploadId, 1, first.length, 60);
    const url2 = await store.multipart.presignPart(key, uploadId, 2, last.length, 60);
    // A body of another size than the signed Content-Length is refused by S3 itself.
    expect((await fetch(url2, { method: 'PUT', body: randomBytes(last.length + 1) })).status).toBe(403);
    expect((await fetch(url1, { method: 'PUT', body: first })).status).toBe(200);
    expect((await fetch(url2, { method: 'PUT', body: last })).status).toBe(200);
    const parts = await store.multipart.listParts(key, uploadId);
    expect(parts!.map((p) => [p.partNumber, p.size])).toEqual([[1, first.length], [2, last.length]]);
    expect((await store.multipart.listOpen(key)).map((u) => u.uploadId)).toContain(uploadId);
    await store.multipart.complete(key, uploadId, parts!);
    expect(await store.stat(key)).toEqual({ size: first.length + last.length });
    const back: Buffer[] = [];
    for await (const c of await store.read(key)) back.push(c as Buffer);
    expect(sha256(Buffer.concat(back))).toBe(sha256(Buffer.concat([first, last])));
  }, 60_000);

  it('aborts a multipart upload; its part URLs stop working and it is listed no more', async () => {
    const key = `ab-${randomBytes(4).toString('hex')}`;
    const uploadId = await store.multipart.create(key);
    const url = await store.multipart.presignPart(key, uploadId, 1, 10, 60);
    await store.multipart.abort(key, uploadId);
    await store.multipart.abort(key, uploadId);
    expect((await fetch(url, { method: 'PUT', body: randomBytes(10) })).status).toBe(404);
    expect(await store.multipart.listParts(key, uploadId)).toBeNull();
    expect((await store.multipart.listOpen(key)).map((u) => u.uploadId)).not.toContain(uploadId);
  });

  it('sweeps temp objects and abandoned multipart uploads under the temp prefix, and nothing else', async () => {
    const kept = `kept-${randomBytes(4).toString('hex')}`;
    const temp = await store.writeTemp(Readable.from([randomBytes(100)]));
    await store.commit(temp.tempKey, kept);
    const orphan = await store.writeTemp(Readable.from([randomBytes(100)]));
    const { CreateMultipartUploadCommand } = await import('@aws-sdk/client-s3');
    await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: '.tmp/crashed-write' }));
    const live = await store.multipart.create(`live-${randomBytes(4).toString('hex')}`);
    expect(await store.sweepStaleTemps(3600_000)).toBe(0);
    expect(await store.sweepStaleTemps(0)).toBe(2);
    expect(await listObjectKeys(store.client, store.bucket, '.tmp/')).toEqual([]);
    expect(await store.multipart.listOpen('.tmp/')).toEqual([]);
    expect((await store.multipart.listOpen()).map((u) => u.uploadId)).toContain(live);
    expect(await store.stat(kept)).toEqual({ size: 100 });
    await expect(store.commit(orphan.tempKey, 'x')).rejects.toThrow();
  });

  it('answers StorageUnavailableError when the S3 server cannot be reached', async () => {
    const down = new S3BlobStore({ client: createS3Client({ ...settings!, endpoint: 'http://127.0.0.1:9' }), bucket: settings!.bucket });
    await expect(down.stat('anything')).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(down.check()).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
