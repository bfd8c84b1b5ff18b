import type { Db } from '../db/database.ts';
import type { UploadPartsTable } from '../db/schema.ts';
import { outlived } from './expiry-predicates.ts';

export type UploadPartRow = UploadPartsTable;

const normalize = (row: UploadPartRow): UploadPartRow => ({ ...row, size: Number(row.size), part_number: Number(row.part_number) });

/** Parts of files awaiting assembly; one row per (file, part number), the latest write wins. */
export class UploadPartsRepository {
  constructor(private readonly db: Db) {}

  /** Records a stored part and returns the blob it replaced, if any (to delete). */
  async upsert(row: UploadPartRow): Promise<{ store_id: string; storage_key: string } | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const previous = await tx
        .selectFrom('upload_parts')
        .select(['store_id', 'storage_key'])
        .where('file_id', '=', row.file_id)
        .where('part_number', '=', row.part_number)
        .executeTakeFirst();
      await tx
        .insertInto('upload_parts')
        .values(row)
        .onConflict((oc) => oc.columns(['file_id', 'part_number']).doUpdateSet({ size: row.size, store_id: row.store_id, storage_key: row.storage_key, created_at: row.created_at }))
        .execute();
      return previous;
    });
  }

  async list(fileId: string): Promise<UploadPartRow[]> {
    const rows = await this.db.selectFrom('upload_parts').selectAll().where('file_id', '=', fileId).orderBy('part_number').execute();
    return rows.map(normalize);
  }

  async deleteForFile(fileId: string): Promise<UploadPartRow[]> {
    const rows = await this.list(fileId);
    await this.db.deleteFrom('upload_parts').where('file_id', '=', fileId).execute();
    return rows;
  }

  /** Parts that outlived the upload expiry (written at or before `edgeIso`), or whose transfer no longer takes uploads: due for removal. */
  async listAbandoned(edgeIso: string, limit: number): Promise<UploadPartRow[]> {
    const rows = await this.db
      .selectFrom('upload_parts')
      .innerJoin('files', 'files.id', 'upload_parts.file_id')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .selectAll('upload_parts')
      .where((eb) => eb.or([outlived('upload_parts.created_at', edgeIso), eb('transfers.state', '!=', 'uploading'), eb('files.state', '=', 'complete')]))
      .limit(limit)
      .execute();
    return rows.map(normalize);
  }

  delete(fileId: string, partNumber: number, storageKey: string): Promise<unknown> {
    return this.db.deleteFrom('upload_parts').where('file_id', '=', fileId).where('part_number', '=', partNumber).where('storage_key', '=', storageKey).execute();
  }
}
