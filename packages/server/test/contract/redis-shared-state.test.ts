import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { randomBase62 } from '../../src/ids.ts';
import { RateLimiter } from '../../src/services/rate-limiter.ts';
import { UploadLeases } from '../../src/services/upload-leases.ts';
import { closeRedis, openRedis } from '../../src/shared-state/redis-connection.ts';
import { RedisLeaseStore } from '../../src/shared-state/redis-lease-store.ts';
import { RedisRateCounters } from '../../src/shared-state/redis-rate-counters.ts';
import { RedisUploadSlots } from '../../src/shared-state/redis-upload-slots.ts';

/*
 * Runs against a real redis-server (FERRY_TEST_REDIS_URL, set by the scale-out run). Two
 * connections stand for two Ferry instances. Every key lives under a prefix unique to this run.
 */
const url = process.env.FERRY_TEST_REDIS_URL ?? '';
const prefix = `ferry-test:${randomBase62(12)}:`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves once `fn` stops throwing, or rethrows its last error after `timeoutMs`. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(stepMs);
    }
  }
}

async function expect429(promise: Promise<unknown>): Promise<void> {
  const err = await promise.then(
    () => {
      throw new Error('expected 429');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).status).toBe(429);
  expect((err as AppError).code).toBe('rate_limited');
  expect((err as AppError).headers['retry-after']).toBe('1');
}

describe.runIf(!!url)('Redis shared state (real redis-server)', () => {
  let a: Redis;
  let b: Redis;
  const extra: Redis[] = [];

  beforeAll(async () => {
    a = await openRedis(url);
    b = await openRedis(url);
  });

  afterAll(async () => {
    if (a) {
      let cursor = '0';
      do {
        const [next, keys] = await a.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length > 0) await a.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    await Promise.all([a, b, ...extra].filter(Boolean).map((r) => closeRedis(r)));
  });

  describe('connection', () => {
    it('fails fast with a clear error that hides the password when Redis is unreachable', async () => {
      const started = Date.now();
      const err = await openRedis('redis://:s3cret@127.0.0.1:1', { connectTimeoutMs: 1_000 }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^Cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
      expect((err as Error).message).not.toContain('s3cret');
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('surfaces command failures instead of swallowing them', async () => {
      const c = await openRedis(url);
      await closeRedis(c);
      await expect(new RedisRateCounters(c, { prefix }).hit('closed', new Date(), 1)).rejects.toThrow();
      await expect(new RedisLeaseStore(c, { prefix }).acquire('closed', 'h', new Date(Date.now() + 1000).toISOString(), new Date().toISOString())).rejects.toThrow();
      await expect(new RedisUploadSlots(c, 1, { prefix }).run('usr_closed', async () => 1)).rejects.toThrow();
    });
  });

  describe('RedisRateCounters', () => {
    it('opens a window at the first hit (caller clock), counts in it under the prefix, and starts over after it', async () => {
      const counters = new RedisRateCounters(a, { prefix });
      const now = new Date('2030-01-01T00:00:00.250Z');
      const first = await counters.hit('window', now, 1);
      expect(first.count).toBe(1);
      expect(first.resetsAt.toISOString()).toBe('2030-01-01T00:00:01.250Z');
      // A window is not cut by clock boundaries: 1.0 s is still inside the one opened at 0.25 s.
      expect((await counters.hit('window', new Date('2030-01-01T00:00:01.000Z'), 1)).count).toBe(2);
      expect(await a.exists(`${prefix}rate:window`)).toBe(1);
      const next = await counters.hit('window', new Date('2030-01-01T00:00:01.250Z'), 1);
      expect([next.count, next.resetsAt.toISOString()]).toEqual([1, '2030-01-01T00:00:02.250Z']);
      expect(await a.pttl(`${prefix}rate:window`)).toBeGreaterThan(0);
    });

    it('does not extend the window on later hits', async () => {
      const counters = new RedisRateCounters(a, { prefix });
      const start = new Date('2030-01-01T00:00:10.000Z');
      await counters.hit('fixed', start, 2);
      const later = await counters.hit('fixed', new Date(start.getTime() + 1500), 2);
      expect(later.count).toBe(2);
      expect(later.resetsAt.toISOString()).toBe('2030-01-01T00:00:12.000Z');
    });

    it('shares counts between two instances and keeps buckets apart', async () => {
      const one = new RedisRateCounters(a, { prefix });
      const two = new RedisRateCounters(b, { prefix });
      const now = new Date();
      expect((await one.hit('shared', now, 60)).count).toBe(1);
      expect((await two.hit('shared', now, 60)).count).toBe(2);
      expect((await one.hit('shared', now, 60)).count).toBe(3);
      expect((await two.hit('other', now, 60)).count).toBe(1);
    });

    it('drives RateLimiter across instances', async () => {
      const clock = { now: () => new Date() };
      const limiterA = new RateLimiter(new RedisRateCounters(a, { prefix }), clock);
      const limiterB = new RateLimiter(new RedisRateCounters(b, { prefix }), clock);
      expect(await limiterA.consume('limited', 2, 60)).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
      expect(await limiterB.consume('limited', 2, 60)).toMatchObject({ allowed: true, remaining: 0 });
      const denied = await limiterA.consume('limited', 2, 60);
      expect(denied).toMatchObject({ allowed: false, remaining: 0 });
      expect(denied.resetSeconds).toBeGreaterThanOrEqual(1);
      expect(denied.resetSeconds).toBeLessThanOrEqual(60);
    });
  });

  describe('RedisUploadSlots', () => {
    it('caps uploads in flight at max with a 429 and frees a slot when one ends', async () => {
      const slots = new RedisUploadSlots(a, 2, { prefix });
      const user = `usr_${randomBase62(8)}`;
      const first = deferred<string>();
      const second = deferred<string>();
      const running1 = slots.run(user, () => first.promise);
      const running2 = slots.run(user, () => second.promise);
      await eventually(async () => expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(2), 2_000);
      await expect429(slots.run(user, async () => 'third'));
      expect(await slots.run(`usr_${randomBase62(8)}`, async () => 'other user')).toBe('other user');

      first.resolve('one');
      expect(await running1).toBe('one');
      expect(await slots.run(user, async () => 'after')).toBe('after');
      second.resolve('two');
      expect(await running2).toBe('two');
      expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(0);
    });

    it('releases the slot when the upload throws', async () => {
      const slots = new RedisUploadSlots(a, 1, { prefix });
      const user = `usr_${randomBase62(8)}`;
      await expect(slots.run(user, async () => {
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await slots.run(user, async () => 'free again')).toBe('free again');
    });

    it('shares the cap between two instances', async () => {
      const one = new RedisUploadSlots(a, 2, { prefix });
      const two = new RedisUploadSlots(b, 2, { prefix });
      const user = `usr_${randomBase62(8)}`;
      const holdA = deferred();
      const holdB = deferred();
      const runA = one.run(user, () => holdA.promise);
      const runB = two.run(user, () => holdB.promise);
      await eventually(async () => expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(2), 2_000);
      await expect429(one.run(user, async () => undefined));
      await expect429(two.run(user, async () => undefined));
      holdA.resolve();
      await runA;
      expect(await two.run(user, async () => 'fits')).toBe('fits');
      holdB.resolve();
      await runB;
    });

    it('keeps a live slot renewed past its ttl', async () => {
      const holder = new RedisUploadSlots(a, 1, { prefix, ttlMs: 600, renewEveryMs: 100 });
      const other = new RedisUploadSlots(b, 1, { prefix, ttlMs: 600 });
      const user = `usr_${randomBase62(8)}`;
      const hold = deferred();
      const running = holder.run(user, () => hold.promise);
      await eventually(async () => expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(1), 2_000);
      await sleep(1_500);
      await expect429(other.run(user, async () => undefined));
      hold.resolve();
      await running;
    });

    it("frees a dead holder's slot within its ttl", async () => {
      const dying = await openRedis(url);
      extra.push(dying);
      const dead = new RedisUploadSlots(dying, 1, { prefix, ttlMs: 1_000, renewEveryMs: 100 });
      const alive = new RedisUploadSlots(b, 1, { prefix, ttlMs: 1_000 });
      const user = `usr_${randomBase62(8)}`;
      const hold = deferred<string>();
      const running = dead.run(user, () => hold.promise);
      await eventually(async () => expect(await b.zcard(`${prefix}upload-slots:${user}`)).toBe(1), 2_000);
      // The process "dies": its connection drops, so its renewals stop (and fail silently).
      dying.disconnect();
      const died = Date.now();
      await expect429(alive.run(user, async () => undefined));
      const value = await eventually(() => alive.run(user, async () => 'taken over'), 3_000, 100);
      expect(value).toBe('taken over');
      expect(Date.now() - died).toBeLessThan(2_500);
      // The dead holder's upload still ends normally; its failed release does not mask the result.
      hold.resolve('finished');
      expect(await running).toBe('finished');
    });
  });

  describe('RedisLeaseStore', () => {
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

    it('is exclusive across two stores', async () => {
      const one = new RedisLeaseStore(a, { prefix });
      const two = new RedisLeaseStore(b, { prefix });
      const key = `tus:${randomBase62(8)}`;
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(false);
      expect(await a.get(`${prefix}lease:${key}`)).toBe('h1');
    });

    it('renews only for its holder', async () => {
      const one = new RedisLeaseStore(a, { prefix });
      const two = new RedisLeaseStore(b, { prefix });
      const key = `tus:${randomBase62(8)}`;
      expect(await one.acquire(key, 'h1', at(2_000), at(0))).toBe(true);
      expect(await two.renew(key, 'h2', at(60_000), at(0))).toBe(false);
      expect(await a.pttl(`${prefix}lease:${key}`)).toBeLessThanOrEqual(2_000);
      expect(await one.renew(key, 'h1', at(60_000), at(0))).toBe(true);
      expect(await a.pttl(`${prefix}lease:${key}`)).toBeGreaterThan(50_000);
      // Without nowIso the store's own clock measures the ttl.
      expect(await one.renew(key, 'h1', at(30_000))).toBe(true);
      const pttl = await a.pttl(`${prefix}lease:${key}`);
      expect(pttl).toBeGreaterThan(25_000);
      expect(pttl).toBeLessThanOrEqual(30_000);
    });

    it('releases only for its holder', async () => {
      const one = new RedisLeaseStore(a, { prefix });
      const two = new RedisLeaseStore(b, { prefix });
      const key = `tus:${randomBase62(8)}`;
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(true);
      expect(await two.release(key, 'h2')).toBe(false);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      expect(await one.release(key, 'h1')).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(true);
    });

    it('runs out after its ttl, and the old holder can no longer renew or release it', async () => {
      const one = new RedisLeaseStore(a, { prefix });
      const two = new RedisLeaseStore(b, { prefix });
      const key = `tus:${randomBase62(8)}`;
      expect(await one.acquire(key, 'h1', at(300), at(0))).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      await sleep(400);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(true);
      expect(await one.renew(key, 'h1', at(5_000), at(0))).toBe(false);
      expect(await one.release(key, 'h1')).toBe(false);
      expect(await a.get(`${prefix}lease:${key}`)).toBe('h2');
    });

    it('backs UploadLeases in two instances', async () => {
      const leasesA = new UploadLeases(new RedisLeaseStore(a, { prefix }));
      const leasesB = new UploadLeases(new RedisLeaseStore(b, { prefix }));
      const key = `file:${randomBase62(8)}`;
      await leasesA.with(key, async () => {
        expect(await leasesB.tryAcquire(key)).toBeNull();
        await expect(leasesB.acquire(key)).rejects.toMatchObject({ status: 423, code: 'upload_locked' });
      });
      const lease = await leasesB.acquire(key);
      expect(await a.get(`${prefix}lease:${key}`)).toBe(leasesB.holder);
      await lease.release();
      expect(await a.exists(`${prefix}lease:${key}`)).toBe(0);
    });
  });
});
