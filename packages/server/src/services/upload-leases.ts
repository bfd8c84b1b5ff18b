import { randomBase62 } from '../ids.ts';
import { locked } from '../errors.ts';

/**
 * Where leases live: LocksRepository (database) or RedisLeaseStore. A lease on `key` belongs to
 * one holder until `expiresAtIso`; only that holder may renew or release it.
 */
export interface LeaseStore {
  /** Takes `key` if it is free or its lease ran out; true when `holder` now has it. */
  acquire(key: string, holder: string, expiresAtIso: string, nowIso: string): Promise<boolean>;
  /**
   * Moves the expiry of `holder`'s lease on `key`; false when it is no longer theirs. `nowIso` is
   * the caller's clock, for stores that keep a time-to-live rather than an instant.
   */
  renew(key: string, holder: string, expiresAtIso: string, nowIso?: string): Promise<boolean>;
  /** Frees `key` if `holder` still has it (true); false, changing nothing, otherwise. */
  release(key: string, holder: string): Promise<boolean>;
}

/** A held lease; renewed in the background until released. */
export interface Lease {
  release(): Promise<void>;
}

const TTL_MS = 15_000;

/**
 * Exclusive, short leases on upload resources (a tus upload, a file being assembled), held in a
 * shared LeaseStore (database or Redis) so two instances exclude each other too. A lease is
 * renewed every TTL/3 while held; if its holder dies (kill -9) it runs out within TTL_MS and the
 * upload can continue elsewhere.
 */
export class UploadLeases {
  /** Identifies this process as a holder; a restarted process never owns an old lease. */
  readonly holder = `proc_${randomBase62(16)}`;

  constructor(
    private readonly locks: LeaseStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The lease, or null when another holder has it. */
  async tryAcquire(key: string): Promise<Lease | null> {
    const now = this.now();
    const ok = await this.locks.acquire(key, this.holder, new Date(now + TTL_MS).toISOString(), new Date(now).toISOString());
    if (!ok) return null;
    const timer = setInterval(() => {
      const at = this.now();
      void this.locks.renew(key, this.holder, new Date(at + TTL_MS).toISOString(), new Date(at).toISOString()).catch(() => undefined);
    }, TTL_MS / 3);
    timer.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await this.locks.release(key, this.holder);
      },
    };
  }

  /** The lease, or 423 upload_locked. */
  async acquire(key: string): Promise<Lease> {
    const lease = await this.tryAcquire(key);
    if (!lease) throw locked();
    return lease;
  }

  /** Runs `fn` holding the lease on `key` (423 when someone else holds it). */
  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(key);
    try {
      return await fn();
    } finally {
      await lease.release();
    }
  }
}
