import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBase62 } from '../../src/ids.ts';
import { closeRedis, openRedis } from '../../src/shared-state/redis-connection.ts';
import { RedisLeaseStore } from '../../src/shared-state/redis-lease-store.ts';
import { RedisRateCounters } from '../../src/shared-state/redis-rate-counters.ts';
import { RedisUploadSlots } from '../../src/shared-state/redis-upload-slots.ts';
import { deferred, expectSlotsFull, holding, runLeaseStoreContract, runRateCountersContract, runUploadSlotsContract } from './shared-state.contract.ts';

/*
 * Runs against a real redis-server (FERRY_TEST_REDIS_URL, set by the scale-out run). Two
 * connections stand for two Ferry instances. Every key lives under a prefix unique to this run.
 */
const url = process.env.FERRY_TEST_REDIS_URL ?? '';
const prefix = `ferry-test:${randomBase62(12)}:`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
      await expect(new RedisUploadSlots(c, 1, { prefix }).acquire('usr_closed')).rejects.toThrow();
    });
  });

  runRateCountersContract('Redis', () => ({ one: new RedisRateCounters(a, { prefix }), two: new RedisRateCounters(b, { prefix }) }));
  runLeaseStoreContract('Redis', () => ({ one: new RedisLeaseStore(a, { prefix }), two: new RedisLeaseStore(b, { prefix }) }));
  runUploadSlotsContract('Redis', (max) => ({ one: new RedisUploadSlots(a, max, { prefix }), two: new RedisUploadSlots(b, max, { prefix }) }), { shared: true });

  // Below: what only the Redis implementations promise (key layout under the prefix, TTLs).
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

  });

  describe('RedisUploadSlots', () => {
    it('caps uploads in flight at max with a 429 and frees a slot when one ends', async () => {
      const slots = holding(new RedisUploadSlots(a, 2, { prefix }));
      const user = `usr_${randomBase62(8)}`;
      const first = deferred<string>();
      const second = deferred<string>();
      const running1 = slots.run(user, () => first.promise);
      const running2 = slots.run(user, () => second.promise);
      await eventually(async () => expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(2), 2_000);
      await expectSlotsFull(slots.run(user, async () => 'third'));
      expect(await slots.run(`usr_${randomBase62(8)}`, async () => 'other user')).toBe('other user');

      first.resolve('one');
      expect(await running1).toBe('one');
      expect(await slots.run(user, async () => 'after')).toBe('after');
      second.resolve('two');
      expect(await running2).toBe('two');
      expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(0);
    });

    it('keeps a live slot renewed past its ttl', async () => {
      const holder = holding(new RedisUploadSlots(a, 1, { prefix, ttlMs: 600, renewEveryMs: 100 }));
      const other = holding(new RedisUploadSlots(b, 1, { prefix, ttlMs: 600 }));
      const user = `usr_${randomBase62(8)}`;
      const hold = deferred();
      const running = holder.run(user, () => hold.promise);
      await eventually(async () => expect(await a.zcard(`${prefix}upload-slots:${user}`)).toBe(1), 2_000);
      await sleep(1_500);
      await expectSlotsFull(other.run(user, async () => undefined));
      hold.resolve();
      await running;
    });

    it("frees a dead holder's slot within its ttl", async () => {
      const dying = await openRedis(url);
      extra.push(dying);
      const dead = holding(new RedisUploadSlots(dying, 1, { prefix, ttlMs: 1_000, renewEveryMs: 100 }));
      const alive = holding(new RedisUploadSlots(b, 1, { prefix, ttlMs: 1_000 }));
      const user = `usr_${randomBase62(8)}`;
      const hold = deferred<string>();
      const running = dead.run(user, () => hold.promise);
      await eventually(async () => expect(await b.zcard(`${prefix}upload-slots:${user}`)).toBe(1), 2_000);
      // The process "dies": its connection drops, so its renewals stop (and fail silently).
      dying.disconnect();
      const died = Date.now();
      await expectSlotsFull(alive.run(user, async () => undefined));
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

  });
});
