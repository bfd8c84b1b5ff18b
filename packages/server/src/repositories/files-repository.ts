import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { FilesTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';
import { liveAt, withinLifetime } from './expiry-predicates.ts';

export type FileRow = Omit<FilesTable, 'download_count'> & { download_count: number };

const normalize = (row: FileRow): FileRow => ({
  ...row,
  size: Number(row.size),
  part_size: row.part_size === null ? null : Number(row.part_size),
  part_count: row.part_count === null ? null : Number(row.part_count),
  crc32: row.crc32 === null ? null : Number(row.crc32),
  download_count: Number(row.download_count),
});

export class FilesRepository {
  /**
   * Called inside the transaction of each file's completion, by the one call that completed it
   * (the composition root writes the `file.uploaded` event here, whichever protocol finished it).
   */
  onCompleted: ((fileId: string, tx: DbOrTx) => Promise<void>) | null = null;

  constructor(private readonly db: Db) {}

  insert(row: FileRow, tx: DbOrTx = this.db): Promise<unknown> {
    return tx.insertInto('files').values(row).execute();
  }

  /**
   * The chunk count of a file declared up front, set by its first chunk and never changed after
   * (racing first chunks: one wins, the others see its count). A pending file only.
   */
  async setChunkCountOnce(fileId: string, count: number): Promise<boolean> {
    const r = await this.db
      .updateTable('files')
      .set({ part_count: count })
      .where('id', '=', fileId)
      .where('part_count', 'is', null)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async findById(id: string, tx: DbOrTx = this.db): Promise<FileRow | undefined> {
    const row = await tx.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
    return row && normalize(row as FileRow);
  }

  async findByClientId(transferId: string, clientFileId: string, tx: DbOrTx = this.db): Promise<FileRow | undefined> {
    const row = await tx.selectFrom('files').selectAll().where('transfer_id', '=', transferId).where('client_file_id', '=', clientFileId).executeTakeFirst();
    return row && normalize(row as FileRow);
  }

  async listForTransfer(transferId: string, tx: DbOrTx = this.db): Promise<FileRow[]> {
    const rows = await tx
      .selectFrom('files')
      .selectAll()
      .where('transfer_id', '=', transferId)
      .orderBy('position')
      .execute();
    return rows.map((r) => normalize(r as FileRow));
  }

  async nameTaken(transferId: string, name: string, tx: DbOrTx = this.db): Promise<boolean> {
    const row = await tx
      .selectFrom('files')
      .select('id')
      .where('transfer_id', '=', transferId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** pending -> complete with its digests; false if another writer completed it first. */
  async markComplete(
    id: string,
    result: { sha256: string; crc32: number; storage_key: string },
    nowIso: string,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('files')
        .set({ ...result, state: 'complete', completed_at: nowIso, updated_at: nowIso })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .executeTakeFirst();
      const won = Number(r.numUpdatedRows) === 1;
      if (won) await this.onCompleted?.(id, tx);
      return won;
    });
  }

  /**
   * Bytes promised to pending files of open, unexpired transfers, declared after `declaredAfterIso`
   * (an older declaration lapsed with its upload): of one account's transfers, or of all.
   */
  async pendingBytes(filter: { userId?: string; declaredAfterIso: string; nowIso: string }, tx: DbOrTx = this.db): Promise<number> {
    let query = tx
      .selectFrom('files')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .select(sql<number>`coalesce(sum(files.size), 0)`.as('bytes'))
      .where('files.state', '=', 'pending')
      .where(withinLifetime('files.created_at', filter.declaredAfterIso))
      .where('transfers.state', '=', 'uploading')
      .where(liveAt('transfers.expires_at', filter.nowIso));
    if (filter.userId !== undefined) query = query.where('transfers.user_id', '=', filter.userId);
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.bytes);
  }

  incrementDownloads(ids: string[]): Promise<unknown> {
    if (ids.length === 0) return Promise.resolve();
    return this.db
      .updateTable('files')
      .set({ download_count: sql`download_count + 1` })
      .where('id', 'in', ids)
      .execute();
  }

  delete(id: string, tx: DbOrTx = this.db): Promise<unknown> {
    return tx.deleteFrom('files').where('id', '=', id).execute();
  }
}
