import type { Redis } from 'ioredis';
import type { RateCounters } from '../services/rate-counters.ts';

/**
 * One round trip: count the hit and report how long the window has left. The window opens with
 * the first hit (the key's expiry is set only when INCR created it), so Redis's clock owns it
 * and every instance sees the same reset whatever its own clock says. A key found without an
 * expiry (written by hand, or a lost PEXPIRE) gets one rather than counting forever.
 */
const HIT_LUA = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

const COMMAND = 'ferryRateHit';

interface HitScript {
  [COMMAND](key: string, windowMs: number): Promise<[number, number]>;
}

export interface RedisRateCountersOptions {
  /** Namespace of every key this class writes; default `ferry:`. */
  prefix?: string;
}

/** Fixed-window counters in Redis (FERRY_REDIS_URL), shared by every instance. */
export class RedisRateCounters implements RateCounters {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis,
    options: RedisRateCountersOptions = {},
  ) {
    this.prefix = options.prefix ?? 'ferry:';
    // Sent as EVALSHA, falling back to EVAL once per connection when Redis lacks the script.
    redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: HIT_LUA });
  }

  async hit(bucket: string, now: Date, windowSeconds: number): Promise<{ count: number; resetsAt: Date }> {
    const windowMs = Math.max(1, Math.round(windowSeconds * 1000));
    const script = this.redis as unknown as HitScript;
    const [count, ttlMs] = await script[COMMAND](`${this.prefix}rate:${bucket}`, windowMs);
    return { count: Number(count), resetsAt: new Date(now.getTime() + Math.max(0, Number(ttlMs))) };
  }
}
