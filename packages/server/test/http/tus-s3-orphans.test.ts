import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBase36 } from '../../src/ids.ts';
import type { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { idOf, metadata, UPLOADS, V } from '../support/tus-http.ts';
import { testS3Server } from '../support/test-s3.ts';

// tus uploads on S3 whose creation failed half-way leave an open multipart upload (scale-out run only).
describe.runIf(testS3Server())('tus on S3: orphaned multipart uploads', () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startHarness();
    ({ key } = await createAccount(h.app, 'orphans@example.com'));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('are aborted by the sweep once old enough; uploads with a record are kept', async () => {
    const store = h.stores.defaultStore as S3BlobStore;
    const transfer = await createTransfer(h.app, key, { title: 'orphans' });
    const res = await h.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...bearer(key), 'upload-length': '100', 'upload-metadata': metadata({ transfer_id: transfer.id, filename: 'kept.bin' }) } });
    const tracked = idOf(res);
    const orphan = `up_${randomBase36(25)}`;
    await store.multipart.create(orphan);
    const open = async () => (await store.multipart.listOpen('up_')).map((u) => u.objectKey);
    expect(await open()).toEqual(expect.arrayContaining([tracked, orphan]));

    const tus = h.app.services.tus;
    expect(await tus.sweepOrphans(3600_000)).toBe(0);
    expect(await tus.sweepOrphans(0)).toBe(1);
    expect(await open()).toContain(tracked);
    expect(await open()).not.toContain(orphan);
    expect((await h.app.inject({ method: 'HEAD', url: `${UPLOADS}/${tracked}`, headers: { ...V, ...bearer(key) } })).statusCode).toBe(200);
  });
});
