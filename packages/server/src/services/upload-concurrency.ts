import { tooManyRequests } from '../errors.ts';

/**
 * Caps how many upload bodies one account streams at once (SECURITY I101), whatever the
 * protocol: the next one beyond the cap answers 429 with Retry-After before a byte is read.
 * Counted per instance, in memory: a body in flight is bound to this process anyway, and the
 * count dies with it, so a crash can never leave an account locked out.
 */
export class UploadConcurrency {
  private readonly active = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  async run<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const count = this.active.get(userId) ?? 0;
    if (count >= this.maxPerUser) throw tooManyRequests(1, `At most ${this.maxPerUser} uploads may stream at once; retry when one ends.`);
    this.active.set(userId, count + 1);
    try {
      return await fn();
    } finally {
      const left = (this.active.get(userId) ?? 1) - 1;
      if (left > 0) this.active.set(userId, left);
      else this.active.delete(userId);
    }
  }
}
