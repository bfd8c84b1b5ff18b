import { tooManyRequests } from '../errors.ts';

/**
 * Caps how many upload bodies one account streams at once (docs/security-checklist.md I101), whatever the
 * protocol: the next one beyond the cap answers 429 with Retry-After before a byte is read.
 * UploadConcurrency counts per process; RedisUploadSlots counts across instances.
 */
export interface UploadSlots {
  /**
   * Takes one of `userId`'s slots (429 rate_limited when all are taken) and answers the function
   * that frees it; calling that more than once frees it once.
   */
  acquire(userId: string): Promise<() => void>;
}

/** The error every UploadSlots implementation throws when an account has no slot free. */
export const uploadSlotsFull = (maxPerUser: number) =>
  tooManyRequests(1, `At most ${maxPerUser} uploads may stream at once; retry when one ends.`);

/**
 * In-memory slots: a body in flight is bound to this process anyway, and the count dies with
 * it, so a crash can never leave an account locked out.
 */
export class UploadConcurrency implements UploadSlots {
  private readonly active = new Map<string, number>();

  constructor(private readonly maxPerUser: number) {}

  async acquire(userId: string): Promise<() => void> {
    const count = this.active.get(userId) ?? 0;
    if (count >= this.maxPerUser) throw uploadSlotsFull(this.maxPerUser);
    this.active.set(userId, count + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const left = (this.active.get(userId) ?? 1) - 1;
      if (left > 0) this.active.set(userId, left);
      else this.active.delete(userId);
    };
  }
}
