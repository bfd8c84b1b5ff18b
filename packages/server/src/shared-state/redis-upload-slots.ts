import type { Redis } from 'ioredis';
import { randomBase62 } from '../ids.ts';
import { uploadSlotsFull, type UploadSlots } from '../services/upload-concurrency.ts';

/*
 * Each account has a sorted set of slot ids scored by the instant (Redis's clock, in ms) the slot
 * expires. A holder renews its slot while its upload streams; a holder that dies stops renewing,
 * so its slot lapses within the TTL and can never lock the account out. Redis's TIME is used
 * instead of each instance's clock so skewed machines agree on what has expired. The key itself
 * expires TTL after the last write, which is never before any live member's score.
 */

/** KEYS[1] set; ARGV slot id, max, ttl ms. 1 when the slot was taken, 0 when all are in use. */
const ACQUIRE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

/** KEYS[1] set; ARGV slot id, ttl ms. 0 when the slot is gone (lapsed and taken by a sweep). */
const RENEW_LUA = `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

const ACQUIRE = 'ferryUploadSlotAcquire';
const RENEW = 'ferryUploadSlotRenew';

interface SlotScripts {
  [ACQUIRE](key: string, slot: string, max: number, ttlMs: number): Promise<number>;
  [RENEW](key: string, slot: string, ttlMs: number): Promise<number>;
}

export interface RedisUploadSlotsOptions {
  /** Namespace of every key this class writes; default `ferry:`. */
  prefix?: string;
  /** How long a slot outlives its last renewal (a dead holder's slot frees within this); default 30 s. */
  ttlMs?: number;
  /** How often a held slot is renewed; default ttlMs / 6 (5 s). */
  renewEveryMs?: number;
}

/** Upload slots counted in Redis (FERRY_REDIS_URL): the per-account cap holds across instances. */
export class RedisUploadSlots implements UploadSlots {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly scripts: SlotScripts;

  constructor(
    private readonly redis: Redis,
    private readonly maxPerUser: number,
    options: RedisUploadSlotsOptions = {},
  ) {
    this.prefix = options.prefix ?? 'ferry:';
    this.ttlMs = options.ttlMs ?? 30_000;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(50, Math.floor(this.ttlMs / 6));
    redis.defineCommand(ACQUIRE, { numberOfKeys: 1, lua: ACQUIRE_LUA });
    redis.defineCommand(RENEW, { numberOfKeys: 1, lua: RENEW_LUA });
    this.scripts = redis as unknown as SlotScripts;
  }

  async acquire(userId: string): Promise<() => void> {
    const key = `${this.prefix}upload-slots:${userId}`;
    const slot = randomBase62(16);
    // A Redis failure here propagates: the request answers 503 rather than streaming uncapped.
    const taken = await this.scripts[ACQUIRE](key, slot, this.maxPerUser, this.ttlMs);
    if (Number(taken) !== 1) throw uploadSlotsFull(this.maxPerUser);
    const timer = setInterval(() => {
      void this.scripts[RENEW](key, slot, this.ttlMs).catch(() => undefined);
    }, this.renewEveryMs);
    timer.unref();
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      clearInterval(timer);
      // A failed release must not turn a stored upload into an error; the slot lapses within ttlMs.
      void this.redis.zrem(key, slot).catch(() => undefined);
    };
  }
}
