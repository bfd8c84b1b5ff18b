import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type OpenedDatabase } from '../../src/db/database.ts';
import { JobsRepository } from '../../src/repositories/jobs-repository.ts';
import { JobQueue } from '../../src/jobs/job-queue.ts';
import { JobWorker } from '../../src/jobs/job-worker.ts';
import { PermanentJobError, RetryableJobError, exponentialDelay, type JobKind } from '../../src/jobs/job-kind.ts';
import { TestClock } from '../support/harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

/*
 * The durable job queue on SQLite by default and on PostgreSQL when FERRY_TEST_DATABASE_URL is
 * set. Two connections to one database stand for two server instances.
 */
let dir: string;
let testDb: TestDatabase;
let first: OpenedDatabase;
let second: OpenedDatabase;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const settings = { pollMs: 20, leaseSeconds: 30, backoffScale: 1 };
let workers: JobWorker[] = [];

beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-jobs-'));
  testDb = await createTestDatabase();
  const url = testDb.url || `sqlite://${path.join(dir, 'ferry.db')}`;
  first = await openDatabase(url);
  second = await openDatabase(url);
});

afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop(1000)));
  workers = [];
  await first.db.deleteFrom('jobs').execute();
});

afterAll(async () => {
  await second?.close();
  await first?.close();
  await testDb?.drop();
  await fsp.rm(dir, { recursive: true, force: true });
});

function instance(db: OpenedDatabase, clock = new TestClock(), overrides: Partial<typeof settings> = {}) {
  const repo = new JobsRepository(db.db);
  const queue = new JobQueue(repo, clock);
  const worker = new JobWorker(repo, queue, clock, { ...settings, ...overrides }, quiet);
  workers.push(worker);
  return { repo, queue, worker, clock };
}

function kind(name: string, run: JobKind<any>['run'], extra: Partial<JobKind<any>> = {}): JobKind<any> {
  return { kind: name, concurrency: 4, maxAttempts: 3, retryDelayMs: exponentialDelay(1000, 60_000), run, ...extra };
}

const waitFor = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('durable jobs', () => {
  it('runs an enqueued job once and keeps it as done', async () => {
    const { queue, worker, repo } = instance(first);
    const seen: unknown[] = [];
    worker.register(kind('test.echo', async (payload) => void seen.push(payload)));
    const id = await queue.enqueue({ kind: 'test.echo', payload: { n: 1 }, maxAttempts: 3 });
    await worker.drain();
    await worker.drain();
    expect(seen).toEqual([{ n: 1 }]);
    expect(await repo.findById(id!)).toMatchObject({ state: 'done', attempts: 1, last_error: null });
  });

  it('retries a failing job with growing, jittered delays and ends it failed and visible', async () => {
    const { queue, worker, repo, clock } = instance(first);
    const failures: string[] = [];
    worker.register(kind('test.flaky', async () => { throw new Error('receiver said 500'); }, { onFailed: async (_p, _j, error) => void failures.push(error) }));
    const id = (await queue.enqueue({ kind: 'test.flaky', payload: null, maxAttempts: 3 }))!;
    await worker.drain();
    let job = (await repo.findById(id))!;
    expect(job).toMatchObject({ state: 'queued', attempts: 1, last_error: 'receiver said 500' });
    const firstDelay = Date.parse(job.run_at) - clock.now().getTime();
    expect(firstDelay).toBeGreaterThan(700);
    expect(firstDelay).toBeLessThanOrEqual(1200);
    clock.advance(1300);
    await worker.drain();
    job = (await repo.findById(id))!;
    const secondDelay = Date.parse(job.run_at) - clock.now().getTime();
    expect(job.attempts).toBe(2);
    expect(secondDelay).toBeGreaterThan(1500);
    clock.advance(2500);
    await worker.drain();
    expect(await repo.findById(id)).toMatchObject({ state: 'failed', attempts: 3, last_error: 'receiver said 500' });
    expect(failures).toEqual(['receiver said 500']);
    expect((await repo.list({ state: 'failed', limit: 10, offset: 0 })).rows.map((r) => r.id)).toEqual([id]);
  });

  it('ends a job failed at once on a permanent error and honours a retry-after', async () => {
    const { queue, worker, repo, clock } = instance(first);
    worker.register(kind('test.permanent', async () => { throw new PermanentJobError('mailbox does not exist'); }));
    worker.register(kind('test.later', async () => { throw new RetryableJobError('busy', 600); }));
    const permanent = (await queue.enqueue({ kind: 'test.permanent', payload: null, maxAttempts: 5 }))!;
    const later = (await queue.enqueue({ kind: 'test.later', payload: null, maxAttempts: 5 }))!;
    await worker.drain();
    expect(await repo.findById(permanent)).toMatchObject({ state: 'failed', attempts: 1 });
    const job = (await repo.findById(later))!;
    expect(Date.parse(job.run_at) - clock.now().getTime()).toBeGreaterThanOrEqual(599_000);
  });

  it('writes a job with a dedupe key once', async () => {
    const { queue } = instance(first);
    expect(await queue.enqueue({ kind: 'test.once', payload: 1, dedupeKey: 'k1', maxAttempts: 1 })).not.toBeNull();
    expect(await queue.enqueue({ kind: 'test.once', payload: 2, dedupeKey: 'k1', maxAttempts: 1 })).toBeNull();
  });

  it('lets another instance take over a job whose lease ran out', async () => {
    const clock = new TestClock();
    const a = instance(first, clock);
    const b = instance(second, clock);
    const id = (await a.queue.enqueue({ kind: 'test.lease', payload: null, maxAttempts: 5 }))!;
    // Instance A claims it and dies without settling.
    const [claimed] = await a.repo.claim({ kind: 'test.lease', limit: 1, owner: 'dead', nowIso: clock.now().toISOString(), leaseUntilIso: new Date(clock.now().getTime() + 30_000).toISOString(), perGroup: null });
    expect(claimed!.id).toBe(id);
    const runs: string[] = [];
    b.worker.register(kind('test.lease', async () => void runs.push('b')));
    await b.worker.drain();
    expect(runs).toEqual([]);
    clock.advance(31_000);
    await b.worker.drain();
    expect(runs).toEqual(['b']);
    expect(await b.repo.findById(id)).toMatchObject({ state: 'done', attempts: 2 });
    // The dead owner's late settle changes nothing.
    expect(await a.repo.settle(id, 'dead', { state: 'failed', nowIso: clock.now().toISOString() })).toBe(false);
  });

  it('never runs one job twice when two instances work the same queue', async () => {
    const a = instance(first);
    const b = instance(second);
    const runs = new Map<number, number>();
    const handler = async (n: number) => {
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      runs.set(n, (runs.get(n) ?? 0) + 1);
    };
    a.worker.register(kind('test.shared', handler, { concurrency: 8 }));
    b.worker.register(kind('test.shared', handler, { concurrency: 8 }));
    for (let n = 0; n < 200; n += 1) await a.queue.enqueue({ kind: 'test.shared', payload: n, maxAttempts: 1 });
    a.worker.start();
    b.worker.start();
    await waitFor(() => [...runs.values()].reduce((x, y) => x + y, 0) >= 200);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.size).toBe(200);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
  });

  it('keeps a burst of one kind from starving another, and a slow group from delaying others', async () => {
    const { queue, worker } = instance(first);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let slowRunning = 0;
    const done: string[] = [];
    worker.register(kind('test.burst', async () => { slowRunning += 1; await gate; }, { concurrency: 3, perGroup: 2 }));
    worker.register(kind('test.mail', async () => void done.push('mail')));
    for (let n = 0; n < 50; n += 1) await queue.enqueue({ kind: 'test.burst', payload: n, groupKey: 'slow-endpoint', maxAttempts: 1 });
    await queue.enqueue({ kind: 'test.burst', payload: 'other', groupKey: 'other-endpoint', maxAttempts: 1 });
    await queue.enqueue({ kind: 'test.mail', payload: null, maxAttempts: 1 });
    worker.start();
    await waitFor(() => done.length === 1 && slowRunning === 3);
    // Two of the slow endpoint's jobs run, and the other endpoint's job took the third slot.
    expect(slowRunning).toBe(3);
    release();
  });

  it('writes a fan-out and the job\'s completion in one transaction', async () => {
    const { queue, worker, repo } = instance(first);
    let attempt = 0;
    worker.register(
      kind('test.fanout', async (_p, _job, context) => {
        attempt += 1;
        await first.db.transaction().execute(async (tx) => {
          await queue.enqueue({ kind: 'test.child', payload: null, dedupeKey: 'child-of-fanout', maxAttempts: 1 }, tx);
          if (attempt === 1) throw new Error('crash after the first write');
          await context.completeIn(tx);
        });
      }, { retryDelayMs: () => 0 }),
    );
    worker.register(kind('test.child', async () => undefined));
    const id = (await queue.enqueue({ kind: 'test.fanout', payload: null, maxAttempts: 3 }))!;
    await worker.drain();
    expect(await repo.findById(id)).toMatchObject({ state: 'done', attempts: 2 });
    expect((await repo.list({ kind: 'test.child', limit: 10, offset: 0 })).total).toBe(1);
  });

  it('enqueues one periodic job per slot however many instances run', async () => {
    const clock = new TestClock();
    const a = instance(first, clock);
    const b = instance(second, clock);
    let runs = 0;
    for (const x of [a, b]) {
      x.worker.register(kind('test.sweep', async () => void (runs += 1)));
      x.worker.every({ kind: 'test.sweep', everySeconds: 3600, maxAttempts: 1 });
      x.worker.start();
    }
    await waitFor(() => runs === 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(runs).toBe(1);
  });

  it('never claims more of a group at once than its cap, even in one claim', async () => {
    const { queue, repo, clock } = instance(first);
    for (let n = 0; n < 20; n += 1) await queue.enqueue({ kind: 'test.grouped', payload: n, groupKey: 'one-owner', maxAttempts: 1 });
    for (let n = 0; n < 3; n += 1) await queue.enqueue({ kind: 'test.grouped', payload: n, groupKey: `other-${n}`, maxAttempts: 1 });
    const claim = () => repo.claim({ kind: 'test.grouped', limit: 16, owner: 'w', nowIso: clock.now().toISOString(), leaseUntilIso: new Date(clock.now().getTime() + 60_000).toISOString(), perGroup: 4 });
    const taken = await claim();
    expect(taken.filter((j) => j.group_key === 'one-owner')).toHaveLength(4);
    expect(taken.filter((j) => j.group_key !== 'one-owner')).toHaveLength(3);
    // The group's four are still running: a second claim takes none of it.
    expect(await claim()).toHaveLength(0);
  });
});
