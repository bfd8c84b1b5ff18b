import { afterAll, beforeAll, describe } from 'vitest';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { createS3Client, type S3Settings } from '../../src/storage/s3-client.ts';
import { FerryS3Store } from '../../src/tus/ferry-s3-store.ts';
import { runTusStoreContract } from './tus-store.contract.ts';
import { dropBucket, freshBucketName, testS3Server } from '../support/test-s3.ts';

// Runs where an S3 server is given (the scale-out run), as the S3 blob store's contract does.
const server = testS3Server();
const settings: S3Settings | null = server ? { ...server, bucket: freshBucketName() } : null;

describe.runIf(settings)('FerryS3Store on a real S3 server', () => {
  let blobs: S3BlobStore;
  beforeAll(async () => {
    blobs = await new S3BlobStore({ client: createS3Client(settings!), bucket: settings!.bucket }).init();
  }, 60_000);
  afterAll(async () => {
    await dropBucket(settings!);
  }, 60_000);

  runTusStoreContract('FerryS3Store', async (records, shutdown) => ({
    store: new FerryS3Store({ settings: settings!, blobs, records, expirationPeriodInMilliseconds: 3600_000, shutdown }),
    blobs,
    cleanup: async () => undefined,
  }));
});
