import path from 'node:path';
import type { Config } from '../config.ts';
import { BlobStoreRegistry } from './blob-store-registry.ts';
import { LocalBlobStore } from './local-blob-store.ts';
import { S3BlobStore } from './s3-blob-store.ts';
import { createS3Client } from './s3-client.ts';

/**
 * The stores this instance can reach. The local store is always there, so files written before
 * a switch to S3 are still served and deleted; FERRY_STORAGE picks where new files go. The bucket
 * is created when it is missing.
 */
export async function openBlobStores(config: Config): Promise<BlobStoreRegistry> {
  const local = await new LocalBlobStore({ root: path.join(config.dataDir, 'blobs') }).init();
  if (config.storage.driver === 'local' || !config.storage.s3) return new BlobStoreRegistry({ kind: 'local', store: local });
  const s3 = await new S3BlobStore({ client: createS3Client(config.storage.s3), bucket: config.storage.s3.bucket }).init();
  return new BlobStoreRegistry({ kind: 's3', store: s3, settings: config.storage.s3 }, [local]);
}
