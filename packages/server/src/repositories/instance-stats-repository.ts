import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { expiredAt } from './expiry-predicates.ts';

/** Totals across every account, for the instance's administrators. */
export class InstanceStatsRepository {
  constructor(private readonly db: Db) {}

  /** Transfers per state as callers see it (past expires_at counts as expired before any sweep). */
  async transfersByState(nowIso: string): Promise<Record<string, number>> {
    const state = sql<string>`case when transfers.state in ('uploading', 'ready') and ${expiredAt('transfers.expires_at', nowIso)} then 'expired' else transfers.state end`;
    // Grouped in an outer query: PostgreSQL would not see a parameterised expression repeated in GROUP BY as the same.
    const rows = await this.db
      .selectFrom(this.db.selectFrom('transfers').select(state.as('state')).as('t'))
      .select(['t.state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('t.state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Bytes and count of complete files each store holds for transfers not purged yet. */
  async storageByStore(): Promise<{ store: string; bytes: number; files: number }[]> {
    const rows = await this.db
      .selectFrom('files')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .select(['files.store_id as store', sql<number>`coalesce(sum(files.size), 0)`.as('bytes'), (eb) => eb.fn.countAll<number>().as('files')])
      .where('files.state', '=', 'complete')
      .where('transfers.purged_at', 'is', null)
      .groupBy('files.store_id')
      .orderBy('files.store_id')
      .execute();
    return rows.map((r) => ({ store: r.store, bytes: Number(r.bytes), files: Number(r.files) }));
  }

  /** Downloads (a file or a ZIP, through any link) that handed every byte to the client. */
  async completedDownloads(): Promise<number> {
    const row = await this.db
      .selectFrom('receipts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('completed', '=', 1)
      .where('kind', 'in', ['file', 'zip'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
