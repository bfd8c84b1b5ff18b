import type { Redis } from 'ioredis';
import type { RateCounters } from '../services/rate-counters.ts';

/**
 * One round trip: count the hit in its window's own key, which expires a little after the window
 * ends. Windows are aligned to the application clock (window n covers [n*w, (n+1)*w)), so every
 * instance agrees on them as far as their clocks agree, and a test clock moves them too.
 */
const HIT_LUA = `
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
`;

/** Keys outlive their window by this much, so clocks a little apart still count in one key. */
const EXPIRY_MARGIN_MS = 60_000;

const COMMAND = 'ferryRateHit';

interface HitScript {
  [COMMAND](key: string, expiresInMs: number): Promise<number>;
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
    const window = Math.floor(now.getTime() / windowMs);
    const endsAt = (window + 1) * windowMs;
    const script = this.redis as unknown as HitScript;
    const count = await script[COMMAND](`${this.prefix}rate:${bucket}:${window}`, endsAt - now.getTime() + EXPIRY_MARGIN_MS);
    return { count: Number(count), resetsAt: new Date(endsAt) };
  }
}
