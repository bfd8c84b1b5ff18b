import type { Redis } from 'ioredis';
import type { RateCounters } from '../services/rate-counters.ts';

/**
 * One round trip: a window opens with its first hit and lasts `window` ms, as the database
 * counters do (the key holds the count `c` and the window's end `e`). Times come from the
 * caller's clock, so instances agree as far as their clocks do, and a test clock moves windows.
 * The key expires a minute after its window, so clocks a little apart still share it.
 */
const HIT_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local ends = tonumber(redis.call('HGET', KEYS[1], 'e') or '0')
local count
if ends <= now then
  ends = now + window
  count = 1
  redis.call('HSET', KEYS[1], 'c', 1, 'e', ends)
else
  count = redis.call('HINCRBY', KEYS[1], 'c', 1)
end
redis.call('PEXPIRE', KEYS[1], ends - now + 60000)
return {count, ends}
`;

const COMMAND = 'ferryRateHit';

interface HitScript {
  [COMMAND](key: string, nowMs: number, windowMs: number): Promise<[number, number]>;
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
    const [count, endsAt] = await script[COMMAND](`${this.prefix}rate:${bucket}`, now.getTime(), windowMs);
    return { count: Number(count), resetsAt: new Date(Number(endsAt)) };
  }
}
