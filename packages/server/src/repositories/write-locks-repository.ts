import type { Db } from '../db/database.ts';
import type { DbOrTx } from './transfers-repository.ts';

/** Named locks held for the rest of a transaction (see migration 007). */
export class WriteLocksRepository {
  constructor(private readonly db: Db) {}

  /** Takes `name` inside `tx` until it commits or rolls back; a second taker waits for it. */
  async hold(name: string, nowIso: string, tx: DbOrTx): Promise<void> {
    await tx
      .insertInto('write_locks')
      .values({ name, taken_at: nowIso })
      .onConflict((oc) => oc.column('name').doUpdateSet({ taken_at: nowIso }))
      .execute();
  }
}
