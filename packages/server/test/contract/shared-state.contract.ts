import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { randomBase62 } from '../../src/ids.ts';
import type { RateCounters } from '../../src/services/rate-counters.ts';
import { RateLimiter } from '../../src/services/rate-limiter.ts';
import type { UploadSlots } from '../../src/services/upload-concurrency.ts';
import { UploadLeases, type LeaseStore } from '../../src/services/upload-leases.ts';

/*
 * The contracts of the ports that have a database (or in-process) and a Redis implementation.
 * Each suite takes two instances of one implementation that share their state, as two Ferry
 * processes do, and uses only the port's interface, so it runs unchanged against each.
 */

export interface Pair<T> {
  one: T;
  two: T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = (label: string) => `${label}:${randomBase62(10)}`;

export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export async function expectSlotsFull(promise: Promise<unknown>): Promise<void> {
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

export function runRateCountersContract(name: string, make: () => Pair<RateCounters>): void {
  describe(`RateCounters contract: ${name}`, () => {
    it('opens a window at the first hit (caller clock), counts in it, and starts over after it', async () => {
      const { one } = make();
      const bucket = unique('window');
      const first = await one.hit(bucket, new Date('2030-01-01T00:00:00.250Z'), 1);
      expect([first.count, first.resetsAt.toISOString()]).toEqual([1, '2030-01-01T00:00:01.250Z']);
      // A window is not cut at clock boundaries: 1.0 s is still inside the one opened at 0.25 s.
      expect((await one.hit(bucket, new Date('2030-01-01T00:00:01.000Z'), 1)).count).toBe(2);
      const next = await one.hit(bucket, new Date('2030-01-01T00:00:01.250Z'), 1);
      expect([next.count, next.resetsAt.toISOString()]).toEqual([1, '2030-01-01T00:00:02.250Z']);
    });

    it('does not extend the window on later hits', async () => {
      const { one } = make();
      const bucket = unique('fixed');
      const start = new Date('2030-01-01T00:00:10.000Z');
      await one.hit(bucket, start, 2);
      const later = await one.hit(bucket, new Date(start.getTime() + 1500), 2);
      expect([later.count, later.resetsAt.toISOString()]).toEqual([2, '2030-01-01T00:00:12.000Z']);
    });

    it('shares counts between two instances and keeps buckets apart', async () => {
      const { one, two } = make();
      const bucket = unique('shared');
      const now = new Date();
      expect((await one.hit(bucket, now, 60)).count).toBe(1);
      expect((await two.hit(bucket, now, 60)).count).toBe(2);
      expect((await one.hit(bucket, now, 60)).count).toBe(3);
      expect((await two.hit(unique('other'), now, 60)).count).toBe(1);
    });

    it('counts every one of many concurrent hits exactly once', async () => {
      const { one, two } = make();
      const bucket = unique('burst');
      const now = new Date();
      const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).hit(bucket, now, 60)));
      expect(counts.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    });

    it('drives RateLimiter across instances', async () => {
      const { one, two } = make();
      const clock = { now: () => new Date() };
      const bucket = unique('limited');
      const limiterA = new RateLimiter(one, clock);
      const limiterB = new RateLimiter(two, clock);
      expect(await limiterA.consume(bucket, 2, 60)).toMatchObject({ allowed: true, remaining: 1, limit: 2 });
      expect(await limiterB.consume(bucket, 2, 60)).toMatchObject({ allowed: true, remaining: 0 });
      const denied = await limiterA.consume(bucket, 2, 60);
      expect(denied).toMatchObject({ allowed: false, remaining: 0 });
      expect(denied.resetSeconds).toBeGreaterThanOrEqual(1);
      expect(denied.resetSeconds).toBeLessThanOrEqual(60);
    });
  });
}

export function runLeaseStoreContract(name: string, make: () => Pair<LeaseStore>): void {
  describe(`LeaseStore contract: ${name}`, () => {
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

    it('is exclusive across two instances, and not re-entrant', async () => {
      const { one, two } = make();
      const key = unique('tus');
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(false);
    });

    it('lets exactly one of many concurrent acquirers win', async () => {
      const { one, two } = make();
      const key = unique('race');
      const won = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two).acquire(key, `h${i}`, at(5_000), at(0))));
      expect(won.filter(Boolean)).toHaveLength(1);
    });

    it('renews only for its holder', async () => {
      const { one, two } = make();
      const key = unique('renew');
      expect(await one.acquire(key, 'h1', at(300), at(0))).toBe(true);
      expect(await two.renew(key, 'h2', at(60_000), at(0))).toBe(false);
      expect(await one.renew(key, 'h1', at(60_000), at(0))).toBe(true);
      await sleep(400);
      // Renewed by its holder, the lease outlives its first expiry.
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
    });

    it('releases only for its holder', async () => {
      const { one, two } = make();
      const key = unique('release');
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(true);
      expect(await two.release(key, 'h2')).toBe(false);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      expect(await one.release(key, 'h1')).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(true);
    });

    it('runs out at its expiry, and the old holder can no longer renew or release it', async () => {
      const { one, two } = make();
      const key = unique('expiry');
      expect(await one.acquire(key, 'h1', at(300), at(0))).toBe(true);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(false);
      await sleep(400);
      expect(await two.acquire(key, 'h2', at(5_000), at(0))).toBe(true);
      expect(await one.renew(key, 'h1', at(5_000), at(0))).toBe(false);
      expect(await one.release(key, 'h1')).toBe(false);
      expect(await one.acquire(key, 'h1', at(5_000), at(0))).toBe(false);
    });

    it('backs UploadLeases in two instances', async () => {
      const { one, two } = make();
      const leasesA = new UploadLeases(one);
      const leasesB = new UploadLeases(two);
      const key = unique('file');
      await leasesA.with(key, async () => {
        expect(await leasesB.tryAcquire(key)).toBeNull();
        await expect(leasesB.acquire(key)).rejects.toMatchObject({ status: 423, code: 'upload_locked' });
      });
      const lease = await leasesB.acquire(key);
      expect(await leasesA.tryAcquire(key)).toBeNull();
      await lease.release();
      expect(await leasesA.tryAcquire(key)).not.toBeNull();
    });
  });
}

/** `make(max)` gives two instances capped at `max` uploads per account. */
export function runUploadSlotsContract(name: string, makeSlots: (max: number) => Pair<UploadSlots>, options: { shared: boolean }): void {
  const make = (max: number) => {
    const pair = makeSlots(max);
    return { one: holding(pair.one), two: holding(pair.two), slots: pair };
  };
  describe(`UploadSlots contract: ${name}`, () => {
    it('frees a slot once however often its release is called', async () => {
      const { slots } = make(2);
      const user = unique('usr');
      const release = await slots.one.acquire(user);
      release();
      release();
      const a = await slots.one.acquire(user);
      const b = await slots.one.acquire(user);
      await expectSlotsFull(slots.one.acquire(user));
      a();
      b();
    });

    it('caps uploads in flight at max with a 429 and frees a slot when one ends', async () => {
      const { one } = make(2);
      const user = unique('usr');
      const first = deferred<string>();
      const second = deferred<string>();
      const running1 = one.run(user, () => first.promise);
      const running2 = one.run(user, () => second.promise);
      await sleep(50);
      await expectSlotsFull(one.run(user, async () => 'third'));
      expect(await one.run(unique('usr'), async () => 'other user')).toBe('other user');
      first.resolve('one');
      expect(await running1).toBe('one');
      expect(await one.run(user, async () => 'after')).toBe('after');
      second.resolve('two');
      expect(await running2).toBe('two');
    });

    it('releases the slot when the upload throws', async () => {
      const { one } = make(1);
      const user = unique('usr');
      await expect(one.run(user, async () => {
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect(await one.run(user, async () => 'free again')).toBe('free again');
    });

    it('admits exactly max of many concurrent uploads', async () => {
      const { one } = make(3);
      const user = unique('usr');
      const hold = deferred();
      // Settled at once, so a refusal never sits unobserved while the others are held.
      const runs = Promise.allSettled(Array.from({ length: 8 }, () => one.run(user, () => hold.promise.then(() => 'ran'))));
      await sleep(100);
      hold.resolve();
      const outcomes = await runs;
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refused.map((o) => (o.reason as AppError).code)).toEqual(Array(5).fill('rate_limited'));
    });

    it.runIf(options.shared)('shares the cap between two instances', async () => {
      const { one, two } = make(2);
      const user = unique('usr');
      const holdA = deferred();
      const holdB = deferred();
      const runA = one.run(user, () => holdA.promise);
      const runB = two.run(user, () => holdB.promise);
      await sleep(100);
      await expectSlotsFull(one.run(user, async () => undefined));
      await expectSlotsFull(two.run(user, async () => undefined));
      holdA.resolve();
      await runA;
      expect(await two.run(user, async () => 'fits')).toBe('fits');
      holdB.resolve();
      await runB;
    });
  });
}

/** Holds a slot while `fn` runs, as the upload scope holds one while a body streams. */
export function holding(slots: UploadSlots) {
  return {
    async run<T>(userId: string, fn: () => Promise<T>): Promise<T> {
      const release = await slots.acquire(userId);
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
