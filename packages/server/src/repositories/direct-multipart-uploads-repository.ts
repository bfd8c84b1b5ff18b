import type { Db } from '../db/database.ts';
import type { DirectMultipartUploadsTable } from '../db/schema.ts';
import { outlived } from './expiry-predicates.ts';

export type DirectUploadRow = DirectMultipartUploadsTable;

/** The S3 multipart upload that holds a file's directly uploaded parts: at most one per file. */
export class DirectMultipartUploadsRepository {
  constructor(private readonly db: Db) {}

  find(fileId: string): Promise<DirectUploadRow | undefined> {
    return this.db.selectFrom('direct_multipart_uploads').selectAll().where('file_id', '=', fileId).executeTakeFirst();
  }

  listForFiles(fileIds: string[]): Promise<DirectUploadRow[]> {
    if (fileIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('direct_multipart_uploads').selectAll().where('file_id', 'in', fileIds).execute();
  }

  /** Uploads that outlived the upload expiry (started at or before `edgeIso`), oldest first, at most `limit`. */
  listOutlived(edgeIso: string, limit: number): Promise<DirectUploadRow[]> {
    return this.db.selectFrom('direct_multipart_uploads').selectAll().where(outlived('created_at', edgeIso)).orderBy('created_at').limit(limit).execute();
  }

  /** Records the file's upload unless one is recorded already; true when this row won. */
  async insertIfAbsent(row: DirectUploadRow): Promise<boolean> {
    const inserted = await this.db.insertInto('direct_multipart_uploads').values(row).onConflict((oc) => oc.column('file_id').doNothing()).executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  delete(fileId: string): Promise<unknown> {
    return this.db.deleteFrom('direct_multipart_uploads').where('file_id', '=', fileId).execute();
  }
}
