import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalBlobStore } from '../../src/storage/local-blob-store.ts';
import { FerryFileStore } from '../../src/tus/ferry-file-store.ts';
import { UploadHashers } from '../../src/tus/upload-hashers.ts';
import { runTusStoreContract } from './tus-store.contract.ts';

runTusStoreContract('FerryFileStore', async (records, shutdown) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-tus-store-'));
  const blobs = await new LocalBlobStore({ root: dir }).init();
  const store = new FerryFileStore({ directory: path.join(dir, '.tus'), records, expirationPeriodInMilliseconds: 3600_000, hashers: new UploadHashers(), shutdown, blobs });
  return { store, blobs, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});
