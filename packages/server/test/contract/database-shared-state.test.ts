import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type OpenedDatabase } from '../../src/db/database.ts';
import { CountersRepository } from '../../src/repositories/counters-repository.ts';
import { LocksRepository } from '../../src/repositories/locks-repository.ts';
import { UploadConcurrency } from '../../src/services/upload-concurrency.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { runLeaseStoreContract, runRateCountersContract, runUploadSlotsContract } from './shared-state.contract.ts';

/*
 * The database implementations of the shared-state ports: SQLite by default, PostgreSQL when
 * FERRY_TEST_DATABASE_URL is set. Two connections to one database stand for two instances.
 */
let dir: string;
let testDb: TestDatabase;
let first: OpenedDatabase;
let second: OpenedDatabase;

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-shared-state-'));
  testDb = await createTestDatabase();
  const url = testDb.url || `sqlite://${path.join(dir, 'ferry.db')}`;
  first = await openDatabase(url);
  second = await openDatabase(url);
});

afterAll(async () => {
  await second?.close();
  await first?.close();
  await testDb?.drop();
  await fsp.rm(dir, { recursive: true, force: true });
});

runRateCountersContract('database (CountersRepository)', () => ({ one: new CountersRepository(first.db), two: new CountersRepository(second.db) }));
runLeaseStoreContract('database (LocksRepository)', () => ({ one: new LocksRepository(first.db), two: new LocksRepository(second.db) }));
// In-process slots: a body in flight is bound to its process, so they are not shared.
runUploadSlotsContract('in-process (UploadConcurrency)', (max) => {
  const slots = new UploadConcurrency(max);
  return { one: slots, two: slots };
}, { shared: false });
