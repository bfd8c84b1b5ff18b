import type { Redis } from 'ioredis';
import type { LeaseStore } from '../services/upload-leases.ts';

/*
 * A lease is one string key holding its holder's id, with a Redis expiry: a dead holder's lease
 * simply disappears, so nothing needs sweeping (LocksRepository.deleteExpired stays DB-only).
 * Renew and release compare the holder inside a script, so a holder whose lease lapsed and was
 * taken by another can never extend or free the new holder's lease.
 */

/** KEYS[1] lease; ARGV holder, ttl ms. 1 when extended, 0 when the lease is not the holder's. */
const RENEW_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS[1] lease; ARGV holder. 1 when deleted, 0 when the lease is not the holder's. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const RENEW = 'ferryLeaseRenew';
const RELEASE = 'ferryLeaseRelease';

interface LeaseScripts {
  [RENEW](key: string, holder: string, ttlMs: number): Promise<number>;
  [RELEASE](key: string, holder: string): Promise<number>;
}

export interface RedisLeaseStoreOptions {
  /** Namespace of every key this class writes; default `ferry:`. */
  prefix?: string;
  /** Clock for renewals whose caller passes no `nowIso`; default Date.now. */
  now?: () => number;
}

/** Upload leases in Redis (FERRY_REDIS_URL). Errors from Redis propagate to the caller. */
export class RedisLeaseStore implements LeaseStore {
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly scripts: LeaseScripts;

  constructor(
    private readonly redis: Redis,
    options: RedisLeaseStoreOptions = {},
  ) {
    this.prefix = options.prefix ?? 'ferry:';
    this.now = options.now ?? Date.now;
    redis.defineCommand(RENEW, { numberOfKeys: 1, lua: RENEW_LUA });
    redis.defineCommand(RELEASE, { numberOfKeys: 1, lua: RELEASE_LUA });
    this.scripts = redis as unknown as LeaseScripts;
  }

  /** Redis owns expiry, so only the span from `nowIso` to `expiresAtIso` matters. */
  async acquire(key: string, holder: string, expiresAtIso: string, nowIso: string): Promise<boolean> {
    const ttlMs = ttlBetween(Date.parse(nowIso), expiresAtIso);
    const reply = await this.redis.set(this.keyOf(key), holder, 'PX', ttlMs, 'NX');
    return reply === 'OK';
  }

  async renew(key: string, holder: string, expiresAtIso: string, nowIso?: string): Promise<boolean> {
    const from = nowIso === undefined ? this.now() : Date.parse(nowIso);
    const reply = await this.scripts[RENEW](this.keyOf(key), holder, ttlBetween(from, expiresAtIso));
    return Number(reply) === 1;
  }

  async release(key: string, holder: string): Promise<boolean> {
    const reply = await this.scripts[RELEASE](this.keyOf(key), holder);
    return Number(reply) === 1;
  }

  private keyOf(key: string): string {
    return `${this.prefix}lease:${key}`;
  }
}

/** Milliseconds from `fromMs` to `untilIso`; at least 1, since PX rejects zero and negatives. */
function ttlBetween(fromMs: number, untilIso: string): number {
  const ms = Math.round(Date.parse(untilIso) - fromMs);
  if (!Number.isFinite(ms)) throw new Error(`Invalid lease times: ${untilIso}`);
  return Math.max(1, ms);
}
