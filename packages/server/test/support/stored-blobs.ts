import { execFileSync } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStoreRegistry } from '../../src/storage/blob-store-registry.ts';
import type { BlobStore } from '../../src/storage/blob-store.ts';
import { LocalBlobStore } from '../../src/storage/local-blob-store.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { filesUnder } from './e2e.ts';
import { listObjectKeys } from './test-s3.ts';

/**
 * What a blob store holds, looked at directly (the folder on disk, or the bucket through
 * ListObjectsV2 and ListMultipartUploads), not through the store's own code: the same question
 * answered on the default stack (LocalBlobStore) and the scale-out one (S3BlobStore).
 *
 * Each helper takes the harness's registry (meaning its default store, where new files go) or
 * one store (e.g. `stores.get(row.store_id)` for the store a file row names).
 */
export type Stores = BlobStoreRegistry | BlobStore;

/** Where tus keeps its uploads in the bucket: objects and multipart uploads keyed by upload id. */
const TUS_KEY = /^up_/;

function storeOf(stores: Stores): LocalBlobStore | S3BlobStore {
  const store = 'defaultStore' in stores ? stores.defaultStore : stores;
  if (store instanceof LocalBlobStore || store instanceof S3BlobStore) return store;
  throw new Error(`stored-blobs: no way to look into a store of type ${store.constructor.name}`);
}

/**
 * Keys of the committed blobs under `folder` ('files', 'parts'), sorted: files below
 * `<root>/<folder>` on disk, or objects under `<folder>/` in the bucket. Temp blobs are never
 * included (they live under `.tmp`, which no key can start with).
 */
export async function blobKeys(stores: Stores, folder: string): Promise<string[]> {
  const store = storeOf(stores);
  const prefix = folder.replace(/\/+$/, '');
  if (store instanceof LocalBlobStore) return (await filesUnder(path.join(store.root, prefix))).map((f) => `${prefix}/${f}`).sort();
  return (await listObjectKeys(store.client, store.bucket, `${prefix}/`)).sort();
}

/** Whether the blob `key` is stored: the file `<root>/<key>`, or the object `key` in the bucket. */
export async function blobExists(stores: Stores, key: string): Promise<boolean> {
  const store = storeOf(stores);
  if (store instanceof LocalBlobStore) return stat(path.join(store.root, key)).then((s) => s.isFile(), () => false);
  return (await listObjectKeys(store.client, store.bucket, key)).includes(key);
}

/**
 * Object keys of the multipart uploads still open in the bucket under `prefix` (all of them when
 * omitted); always [] for a local folder, which has no such thing.
 */
export async function openMultipartKeys(stores: Stores, prefix?: string): Promise<string[]> {
  const store = storeOf(stores);
  if (store instanceof LocalBlobStore) return [];
  return (await store.multipart.listOpen(prefix)).map((u) => u.objectKey).sort();
}

/**
 * How many temp blobs the store holds: files in `<root>/.tmp`, or objects under `.tmp/` in the
 * bucket plus multipart uploads still open there (a large temp write in progress or left behind).
 */
export async function tempBlobCount(stores: Stores): Promise<number> {
  const store = storeOf(stores);
  if (store instanceof LocalBlobStore) return (await readdir(store.tempDir)).length;
  const objects = await listObjectKeys(store.client, store.bucket, '.tmp/');
  return objects.length + (await openMultipartKeys(store, '.tmp/')).length;
}

/**
 * Signed parts the store still holds: blobs under `parts/`, and on S3 also every multipart upload
 * left open other than tus's own (`up_...`, see tusUploadsStored in tus-http.ts), so the check
 * holds whether parts are stored as `parts/...` objects or sent straight to S3 as the parts of a
 * multipart upload.
 */
export async function partsLeft(stores: Stores): Promise<string[]> {
  const open = (await openMultipartKeys(stores)).filter((k) => !TUS_KEY.test(k));
  return [...(await blobKeys(stores, 'parts')), ...open.map((k) => `multipart:${k}`)];
}

/**
 * Mounts a tmpfs of `size` (e.g. '16m') over the local blob folder of the data folder `dataDir`,
 * so a full disk is real (the suite runs as root, as CI does). Answers the folder and the unmount.
 */
export async function smallBlobDisk(dataDir: string, size: string): Promise<{ blobs: string; unmount(): void }> {
  const blobs = path.join(dataDir, 'blobs');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', blobs]);
  await mkdir(path.join(blobs, '.tmp'), { recursive: true });
  await mkdir(path.join(blobs, '.tus'), { recursive: true });
  return { blobs, unmount: () => execFileSync('umount', ['-l', blobs]) };
}
