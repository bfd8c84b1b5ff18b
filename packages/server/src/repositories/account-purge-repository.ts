import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { TusUploadRow } from './tus-uploads-repository.ts';
import type { UploadPartRow } from './upload-parts-repository.ts';

const JOB_BATCH = 50;

/** `%id%` for LIKE, with `_` taken literally (ids are made of letters, digits and `_`). */
const mentioning = (id: string): string => `%${id.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** What the deletion of an account reads and removes beyond the blobs (those go through the stores). */
export class AccountPurgeRepository {
  constructor(private readonly db: Db) {}

  /** The account as far as its deletion is concerned; undefined once its row is gone. */
  findAccount(userId: string): Promise<{ id: string; deleted_at: string | null } | undefined> {
    return this.db
      .selectFrom('users')
      .select(['id', 'deleted_at'])
      .where('id', '=', userId)
      .executeTakeFirst()
      .then((row) => row && { id: row.id, deleted_at: row.deleted_at ?? null });
  }

  /** Transfers of the account whose blobs may still be stored, at most `limit`. */
  unpurgedTransfers(userId: string, limit: number): Promise<{ id: string }[]> {
    return this.db.selectFrom('transfers').select('id').where('user_id', '=', userId).where('purged_at', 'is', null).orderBy('id').limit(limit).execute();
  }

  /** Every file id of the account's transfers, purged ones included (their parts may remain). */
  async fileIds(userId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('files')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .select('files.id')
      .where('transfers.user_id', '=', userId)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Stored parts (awaiting assembly) of the account's files, at most `limit`. */
  async parts(userId: string, limit: number): Promise<UploadPartRow[]> {
    const rows = await this.db
      .selectFrom('upload_parts')
      .innerJoin('files', 'files.id', 'upload_parts.file_id')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .selectAll('upload_parts')
      .where('transfers.user_id', '=', userId)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, size: Number(r.size), part_number: Number(r.part_number) }));
  }

  async tusUploads(userId: string, limit: number): Promise<TusUploadRow[]> {
    const rows = await this.db.selectFrom('tus_uploads').selectAll().where('user_id', '=', userId).orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ ...r, size: r.size === null ? null : Number(r.size) }));
  }

  /**
   * Removes the account's row and with it (foreign keys cascade) its sessions, keys, transfers,
   * files, parts, recipients, receipts, file requests, tus records and webhooks; also its monthly
   * counters and analytics, and the jobs not running whose payload names the account or one of its transfers
   * (events about it, emails about its transfers). One transaction.
   */
  async deleteAccount(userId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const transferIds = (await tx.selectFrom('transfers').select('id').where('user_id', '=', userId).execute()).map((r) => r.id);
      const ids = [userId, ...transferIds];
      for (let i = 0; i < ids.length; i += JOB_BATCH) {
        const batch = ids.slice(i, i + JOB_BATCH);
        await tx
          .deleteFrom('jobs')
          .where('state', '!=', 'running')
          .where((eb) => eb.or(batch.map((id) => sql<boolean>`payload like ${mentioning(id)} escape '\\'`)))
          .execute();
      }
      await tx.deleteFrom('usage_counters').where('user_id', '=', userId).execute();
      // Analytics rows name the account without a foreign key (they outlive receipts on purpose).
      await tx.deleteFrom('download_events').where('user_id', '=', userId).execute();
      await tx.deleteFrom('upload_events').where('user_id', '=', userId).execute();
      await tx.deleteFrom('analytics_daily').where('user_id', '=', userId).execute();
      await tx.updateTable('invites').set({ created_by: null }).where('created_by', '=', userId).execute();
      await tx.deleteFrom('users').where('id', '=', userId).execute();
    });
  }
}
