import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { OpenedDatabase } from '../../src/db/database.ts';
import { openRuntime } from '../../src/runtime.ts';
import { createTestStack, type TestStack } from './test-stack.ts';
import type { BlobStoreRegistry } from '../../src/storage/blob-store-registry.ts';
import type { Sweeper } from '../../src/jobs/sweeper.ts';
import type { JobWorker } from '../../src/jobs/job-worker.ts';
import { createRepositories, type Repositories } from '../../src/repositories/repositories.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { createAccount, type Account } from './accounts.ts';
import { bearer } from './client.ts';
import { downloadSha256, makeTempDir } from './e2e.ts';
import { freePort } from './server-process.ts';

// In-process tests take these with startHarness; they are defined once, for both tiers.
export { ALL_USER_SCOPES, createAccount } from './accounts.ts';
export { bearer } from './client.ts';

/** A clock tests can move forward, to reach expiry and purge without waiting. */
export class TestClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface Harness {
  app: App;
  config: Config;
  clock: TestClock;
  dataDir: string;
  database: OpenedDatabase;
  stores: BlobStoreRegistry;
  sweeper: Sweeper;
  /** The job worker, not started: `drain()` runs every due job (and those they cause) now. */
  jobs: JobWorker;
  /** Direct reads of the database, for what no API answer shows (part rows, storage keys). */
  repositories: Repositories;
  /** Base URL once `listen()` was called. */
  baseUrl: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A whole Ferry in this process, on real SQLite and a real folder, built like main.ts builds it;
 * requests go through `app.inject()`, or real HTTP once `listen()` was called. Pass FERRY_*
 * overrides in `env`. In the scale-out run the database, the store and Redis follow the
 * FERRY_TEST_* services (test/support/test-stack.ts).
 */
export async function startHarness(env: Record<string, string> = {}, shared?: { stack: TestStack; dataDir: string }): Promise<Harness> {
  // With `shared`, several harnesses run on one database, bucket and data folder, one after the
  // other (an instance restarted with new settings); the caller drops them.
  const dataDir = shared?.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-test-')));
  const stack = shared?.stack ?? (await createTestStack());
  // Answers carry URLs built on FERRY_PUBLIC_URL (tus Locations among them), so the harness
  // listens on the port that URL names.
  const port = await freePort();
  const config = loadConfig({
    FERRY_PUBLIC_URL: `http://127.0.0.1:${port}`,
    FERRY_DATA_DIR: dataDir,
    FERRY_LOG_LEVEL: 'silent',
    ...stack.env,
    ...env,
  });
  const clock = new TestClock();
  const runtime = await openRuntime({ ...config, secret: 'test-secret-'.padEnd(48, 'x') });
  const { database, stores } = runtime;
  const app = await buildApp({ config, db: database.db, stores, redis: runtime.redis, secret: runtime.secret, clock });
  const harness: Harness = {
    app,
    config,
    clock,
    dataDir,
    database,
    stores,
    sweeper: app.services.sweeper,
    jobs: app.services.worker,
    repositories: createRepositories(database.db),
    baseUrl: '',
    async listen() {
      const url = new URL(config.publicUrl);
      await app.listen({ port: url.hostname === '127.0.0.1' ? Number(url.port) : 0, host: '127.0.0.1' });
      harness.baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      return harness.baseUrl;
    },
    async close() {
      await app.close();
      await runtime.close();
      if (shared) return;
      await stack.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A listening in-process Ferry with one account (every scope) and a temp folder for source files. */
export interface ListeningHarness {
  h: Harness;
  /** http://127.0.0.1:<port> */
  base: string;
  owner: Account;
  /** The owner's key as an Authorization header. */
  auth: Record<string, string>;
  dir: string;
  /** SHA-256 and length of a file's download by its owner, streamed. */
  download(fileId: string): ReturnType<typeof downloadSha256>;
  close(): Promise<void>;
}

/** startHarness, listening, with `ownerEmail` signed up over HTTP: what the end-to-end tests start from. */
export async function startListening(ownerEmail: string, env: Record<string, string> = {}): Promise<ListeningHarness> {
  const h = await startHarness(env);
  let base: string, dir: string, owner: Account;
  try {
    base = await h.listen();
    dir = await makeTempDir(ownerEmail.split('@')[0]!);
    owner = await createAccount(base, ownerEmail);
  } catch (error) {
    await h.close();
    throw error;
  }
  const auth = bearer(owner.key);
  return {
    h,
    base,
    owner,
    auth,
    dir,
    download: (fileId) => downloadSha256(`${base}/api/v1/files/${fileId}/download`, auth),
    close: async () => {
      await h.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
