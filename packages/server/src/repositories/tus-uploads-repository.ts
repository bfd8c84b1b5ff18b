import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { TusUploadsTable } from '../db/schema.ts';
import { expiredAt, liveAt } from './expiry-predicates.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type TusUploadRow = TusUploadsTable;

const normalize = (row: TusUploadRow): TusUploadRow => ({ ...row, size: row.size === null ? null : Number(row.size) });

/** Ferry's record of each tus upload: who owns it, where it goes, and the tus library's own state. */
export class TusUploadsRepository {
  constructor(private readonly db: Db) {}

  insert(row: TusUploadRow, tx: DbOrTx = this.db): Promise<unknown> {
    return tx.insertInto('tus_uploads').values(row).execute();
  }

  async find(id: string): Promise<TusUploadRow | undefined> {
    const row = await this.db.selectFrom('tus_uploads').selectAll().where('id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  async update(id: string, changes: Partial<TusUploadRow>, tx: DbOrTx = this.db): Promise<void> {
    await tx.updateTable('tus_uploads').set(changes).where('id', '=', id).execute();
  }

  /** Records a deferred upload's length once: false when it was already set. */
  async setSizeOnce(id: string, size: number, tx: DbOrTx = this.db): Promise<boolean> {
    const result = await tx.updateTable('tus_uploads').set({ size }).where('id', '=', id).where('size', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('tus_uploads').where('id', '=', id).execute();
  }

  /** Ids of uploads the tus library still tracks (its expiration sweep walks these). */
  async listTracked(): Promise<string[]> {
    const rows = await this.db.selectFrom('tus_uploads').select('id').where('info', 'is not', null).execute();
    return rows.map((r) => r.id);
  }

  /**
   * Bytes promised to unfinished, unexpired partial uploads (parallel parts of one file, which
   * has no row until the final upload joins them): of one account, or of all.
   */
  async pendingPartialBytes(filter: { userId?: string; nowIso: string }, tx: DbOrTx = this.db): Promise<number> {
    let query = tx
      .selectFrom('tus_uploads')
      .select(sql<number>`coalesce(sum(size), 0)`.as('bytes'))
      .where('kind', '=', 'partial')
      .where('completed_at', 'is', null)
      .where('received_at', 'is', null)
      .where(liveAt('expires_at', filter.nowIso));
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.bytes);
  }

  /** Unfinished uploads past their expiry, oldest first. */
  async listExpired(nowIso: string, limit: number): Promise<TusUploadRow[]> {
    const rows = await this.db
      .selectFrom('tus_uploads')
      .selectAll()
      .where('completed_at', 'is', null)
      .where(expiredAt('expires_at', nowIso))
      .orderBy('expires_at')
      .limit(limit)
      .execute();
    return rows.map(normalize);
  }
}
