import type { Db } from '../db/database.ts';
import { expiredAt } from './expiry-predicates.ts';

/** Leases in the database: shared by every instance, and a dead holder's lease simply runs out. */
export class LocksRepository {
  constructor(private readonly db: Db) {}

  /** Takes `key` if it is free or its lease ran out; true when this holder now has it. */
  async acquire(key: string, holder: string, expiresAtIso: string, nowIso: string): Promise<boolean> {
    const result = await this.db
      .insertInto('upload_locks')
      .values({ key, holder, expires_at: expiresAtIso })
      .onConflict((oc) => oc.column('key').doUpdateSet({ holder, expires_at: expiresAtIso }).where(expiredAt('upload_locks.expires_at', nowIso)))
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async renew(key: string, holder: string, expiresAtIso: string): Promise<boolean> {
    const r = await this.db.updateTable('upload_locks').set({ expires_at: expiresAtIso }).where('key', '=', key).where('holder', '=', holder).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async release(key: string, holder: string): Promise<boolean> {
    const r = await this.db.deleteFrom('upload_locks').where('key', '=', key).where('holder', '=', holder).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  deleteExpired(nowIso: string): Promise<unknown> {
    return this.db.deleteFrom('upload_locks').where(expiredAt('expires_at', nowIso)).execute();
  }
}
