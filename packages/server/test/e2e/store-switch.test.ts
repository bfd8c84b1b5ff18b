import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectData } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { blobExists } from '../support/stored-blobs.ts';
import { createTestStack, type TestStack } from '../support/test-stack.ts';
import { testS3Server } from '../support/test-s3.ts';

// An instance that ran on local files is restarted with FERRY_STORAGE=s3 (scale-out run only).
describe.runIf(testS3Server())('switching an instance from local files to S3', () => {
  let stack: TestStack;
  let dataDir: string;
  let h: Harness | undefined;

  afterAll(async () => {
    await h?.close();
    await stack?.drop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('keeps serving and deleting the files written before, and writes new ones to the bucket', async () => {
    stack = await createTestStack();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-switch-'));
    const before = bytes(200_000);

    const local = await startHarness({ FERRY_STORAGE: 'local' }, { stack, dataDir });
    const { key } = await createAccount(local.app, 'switch@example.com');
    const old = await readyTransfer(local.app, key, [{ name: 'old.bin', content: before }]);
    const oldFile = old.files['old.bin'];
    await local.close();

    h = await startHarness({}, { stack, dataDir });
    const row = await h.repositories.files.findById(oldFile.id);
    expect(row!.store_id).toBe('local');
    const served = await h.app.inject({ method: 'GET', url: `/api/v1/files/${oldFile.id}/download`, headers: bearer(key) });
    expect([served.statusCode, sha256(served.rawPayload)]).toEqual([200, sha256(before)]);

    const fresh = await readyTransfer(h.app, key, [{ name: 'new.bin', content: 'new bytes' }]);
    const newRow = await h.repositories.files.findById(fresh.files['new.bin'].id);
    expect(newRow!.store_id).toBe('s3');
    expect(await blobExists(h.stores.get('s3'), newRow!.storage_key)).toBe(true);

    // Deleting the old transfer purges its blob from the local folder it was written to.
    expect(await blobExists(h.stores.get('local'), row!.storage_key)).toBe(true);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${old.transfer.id}`, headers: bearer(key) })).statusCode).toBe(204);
    h.clock.advance(h.config.purgeGraceSeconds * 1000 + 60_000);
    expect((await h.sweeper.sweep()).purged).toBeGreaterThanOrEqual(1);
    expect(await blobExists(h.stores.get('local'), row!.storage_key)).toBe(false);
    expectData(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fresh.files['new.bin'].id}`, headers: bearer(key) }));
  }, 60_000);
});
