import type { Lock, Locker } from '@tus/utils';
import { locked } from '../errors.ts';
import type { Lease, UploadLeases } from '../services/upload-leases.ts';
import { toTusError } from './tus-errors.ts';

/**
 * @tus/server's Locker over Ferry's database leases: a second writer on the same upload gets 423
 * at once (SECURITY C46) instead of interleaving bytes, on this instance or any other. tus-js-client
 * retries 423 by itself. HEAD takes no lock: it only reads the offset.
 */
export class LeaseLocker implements Locker {
  constructor(private readonly leases: UploadLeases) {}

  newLock(id: string): Lock {
    let lease: Lease | null = null;
    return {
      lock: async () => {
        lease = await this.leases.tryAcquire(`tus:${id}`);
        if (!lease) throw toTusError(locked());
      },
      unlock: async () => {
        await lease?.release();
        lease = null;
      },
    };
  }
}

export const noLocking: Locker = {
  newLock: () => ({ lock: async () => undefined, unlock: async () => undefined }),
};
