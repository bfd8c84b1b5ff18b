/**
 * Fixed-window hit counters shared by every instance. The database implementation is
 * CountersRepository (it satisfies this structurally); RedisRateCounters is used when
 * FERRY_REDIS_URL is set.
 */
export interface RateCounters {
  /**
   * Adds one to `bucket` in its current window and answers the new count and when that window
   * resets. A window opens at the first hit after the previous one ended and lasts
   * `windowSeconds`; `now` is the caller's clock, used to express the reset as a Date.
   */
  hit(bucket: string, now: Date, windowSeconds: number): Promise<{ count: number; resetsAt: Date }>;
}
