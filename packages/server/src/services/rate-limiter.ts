import type { Clock } from '../domain/clock.ts';
import type { RateCounters } from './rate-counters.ts';

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** Fixed-window limits over shared counters: every instance enforces the same numbers. */
export class RateLimiter {
  constructor(
    private readonly counters: RateCounters,
    private readonly clock: Clock,
  ) {}

  async consume(bucket: string, limit: number, windowSeconds: number): Promise<RateDecision> {
    const now = this.clock.now();
    const { count, resetsAt } = await this.counters.hit(bucket, now, windowSeconds);
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetSeconds: Math.max(1, Math.ceil((resetsAt.getTime() - now.getTime()) / 1000)),
    };
  }
}
