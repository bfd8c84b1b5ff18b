import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { openDatabase, type OpenedDatabase } from '../../src/db/database.ts';
import { toEnvelope } from '../../src/http/error-handler.ts';
import { BlobStoreRegistry } from '../../src/storage/blob-store-registry.ts';
import { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { bearer, createAccount } from '../support/harness.ts';
import { bytes, expectData, expectError, putContent } from '../support/http.ts';
import { createTransfer } from '../support/transfers.ts';
import { metadata } from '../support/tus-http.ts';

// Nothing listens on port 9 (discard) on loopback: every dependency below is really unreachable.
const DEAD = 'http://127.0.0.1:9';

describe('a dependency failing mid-request answers 503 in the envelope, and nothing is half-written', () => {
  let dir: string;
  let app: App;
  let database: OpenedDatabase;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-deps-'));
    // The database works; the bucket's server is down (as if S3 failed after start).
    const config = loadConfig({ FERRY_DATA_DIR: dir, FERRY_LOG_LEVEL: 'silent', FERRY_STORAGE: 's3', FERRY_S3_ENDPOINT: DEAD, FERRY_S3_BUCKET: 'ferry-down', FERRY_S3_ACCESS_KEY_ID: 'k', FERRY_S3_SECRET_ACCESS_KEY: 's' });
    database = await openDatabase(config.databaseUrl);
    const s3 = new S3BlobStore({ client: createS3Client(config.storage.s3!), bucket: 'ferry-down' });
    app = await buildApp({ config, db: database.db, stores: new BlobStoreRegistry({ kind: 's3', store: s3, settings: config.storage.s3! }), secret: 'test-secret-'.padEnd(48, 'x') });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('S3 down during an upload: 503 storage_unavailable with Retry-After; the file stays pending', async () => {
    const { key } = await createAccount(app, 'deps@example.com');
    const created = await createTransfer(app, key, { title: 'x', files: [{ name: 'a.bin', size: 1000 }] });
    const res = await putContent(app, key, created.id, created.files[0].id, bytes(1000));
    const body = expectError(res, 503, 'storage_unavailable');
    expect(res.headers['retry-after']).toBe('5');
    expect(body.request_id).toBeDefined();
    const file = expectData(await app.inject({ method: 'GET', url: `/api/v1/files/${created.files[0].id}`, headers: bearer(key) }));
    expect(file.state).toBe('pending');
  }, 60_000);

  it('S3 down during a tus creation: 503 storage_unavailable, and no upload is left behind', async () => {
    const { key } = await createAccount(app, 'deps-tus@example.com');
    const created = await createTransfer(app, key, { title: 't' });
    const meta = metadata({ transfer_id: created.id, filename: 'a.bin' });
    const res = await app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...bearer(key), 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': meta } });
    expectError(res, 503, 'storage_unavailable');
    const files = expectData(await app.inject({ method: 'GET', url: `/api/v1/transfers/${created.id}/files`, headers: bearer(key) }));
    expect(files).toEqual([]);
  }, 60_000);

  it('PostgreSQL unreachable: a real connection error maps to 503 database_unavailable', async () => {
    const client = new pg.Client({ connectionString: 'postgres://ferry@127.0.0.1:9/ferry', connectionTimeoutMillis: 2000 });
    const error = await client.connect().then(() => null, (e: unknown) => e);
    expect(error).not.toBeNull();
    const { status, body, headers } = toEnvelope(error, 'req_1');
    expect([status, body.error.code, headers['retry-after']]).toEqual([503, 'database_unavailable', '5']);
  });

  it('Redis unreachable: a real command failure maps to 503 shared_state_unavailable', async () => {
    const redis = new Redis('redis://127.0.0.1:9', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const error = await redis.incr('x').then(() => null, (e: unknown) => e);
    redis.disconnect();
    expect(error).not.toBeNull();
    const { status, body } = toEnvelope(error, 'req_1');
    expect([status, body.error.code]).toEqual([503, 'shared_state_unavailable']);
  });

  it('an unrelated failure stays a 500 server_error without internals', () => {
    const { status, body } = toEnvelope(new Error('boom: secret detail'), 'req_2');
    expect([status, body.error.code, JSON.stringify(body).includes('secret')]).toEqual([500, 'server_error', false]);
  });
});
