import { randomBase36 } from '../../src/ids.ts';
import { createTestDatabase } from './test-database.ts';
import { dropBucket, freshBucketName, testS3Server } from './test-s3.ts';

/**
 * The FERRY_* environment one test server runs on. On the default stack that is nothing (SQLite
 * and the local folder in its data dir). In the scale-out run (FERRY_TEST_* set by
 * scripts/services.sh) it is a fresh PostgreSQL database, a fresh bucket on the S3 server and a
 * Redis key prefix of its own, so test files running in parallel never share state.
 */
export interface TestStack {
  env: Record<string, string>;
  s3: boolean;
  drop(): Promise<void>;
}

export async function createTestStack(): Promise<TestStack> {
  const database = await createTestDatabase();
  const env: Record<string, string> = {};
  if (database.url) env.FERRY_DATABASE_URL = database.url;
  const s3 = testS3Server();
  const bucket = freshBucketName();
  if (s3) {
    Object.assign(env, {
      FERRY_STORAGE: 's3',
      FERRY_S3_ENDPOINT: s3.endpoint!,
      FERRY_S3_BUCKET: bucket,
      FERRY_S3_REGION: s3.region,
      FERRY_S3_ACCESS_KEY_ID: s3.accessKeyId ?? '',
      FERRY_S3_SECRET_ACCESS_KEY: s3.secretAccessKey ?? '',
      FERRY_S3_FORCE_PATH_STYLE: 'true',
    });
  }
  const redis = process.env.FERRY_TEST_REDIS_URL;
  if (redis) Object.assign(env, { FERRY_REDIS_URL: redis, FERRY_REDIS_PREFIX: `ferry-test-${randomBase36(12)}:` });
  return {
    env,
    s3: !!s3,
    async drop() {
      await database.drop();
      if (s3) await dropBucket({ ...s3, bucket });
    },
  };
}
