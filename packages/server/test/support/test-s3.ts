import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBase36 } from '../../src/ids.ts';
import { createS3Client, type S3Settings } from '../../src/storage/s3-client.ts';
import { S3Multipart } from '../../src/storage/s3-multipart.ts';

/** The S3 server of the scale-out run (scripts/services.sh), or null on the default stack. */
export function testS3Server(): Omit<S3Settings, 'bucket'> | null {
  const endpoint = process.env.FERRY_TEST_S3_ENDPOINT;
  if (!endpoint) return null;
  return {
    endpoint,
    region: process.env.FERRY_TEST_S3_REGION ?? 'us-east-1',
    accessKeyId: process.env.FERRY_TEST_S3_ACCESS_KEY_ID ?? null,
    secretAccessKey: process.env.FERRY_TEST_S3_SECRET_ACCESS_KEY ?? null,
    forcePathStyle: true,
  };
}

/** A fresh bucket name for one test file: parallel files never see each other's objects. */
export const freshBucketName = () => `ferry-test-${randomBase36(16)}`;

/** Every object key in the bucket under `prefix`. */
export async function listObjectKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of res.Contents ?? []) keys.push(o.Key!);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Aborts open multipart uploads, deletes every object and then the bucket; missing is fine. */
export async function dropBucket(settings: S3Settings): Promise<void> {
  const client = createS3Client(settings);
  try {
    const multipart = new S3Multipart(client, settings.bucket, (k) => k);
    for (const open of await multipart.listOpen()) await multipart.abort(open.objectKey, open.uploadId);
    for (;;) {
      const keys = await listObjectKeys(client, settings.bucket);
      if (keys.length === 0) break;
      for (let i = 0; i < keys.length; i += 1000) {
        await client.send(new DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
      }
    }
    await client.send(new DeleteBucketCommand({ Bucket: settings.bucket }));
  } catch (err) {
    if ((err as Error).name !== 'NoSuchBucket') throw err;
  } finally {
    client.destroy();
  }
}
