import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { FileRequestsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type FileRequestRow = FileRequestsTable;

/** What a request has received: its transfers that are not deleted, and their files (pending ones too). */
export interface FileRequestUsage {
  transfers: number;
  files: number;
  bytes: number;
}

export interface FileRequestListQuery {
  userId: string;
  limit: number;
  offset: number;
  sort: 'created_at' | 'expires_at' | 'title';
  order: 'asc' | 'desc';
}

const NONE: FileRequestUsage = { transfers: 0, files: 0, bytes: 0 };

const normalize = (row: FileRequestRow): FileRequestRow => ({
  ...row,
  max_files: row.max_files === null ? null : Number(row.max_files),
  max_bytes: row.max_bytes === null ? null : Number(row.max_bytes),
  max_file_size: row.max_file_size === null ? null : Number(row.max_file_size),
  require_name: Number(row.require_name),
  require_email: Number(row.require_email),
  notify: Number(row.notify),
});

export class FileRequestsRepository {
  constructor(private readonly db: Db) {}

  insert(row: FileRequestRow): Promise<unknown> {
    return this.db.insertInto('file_requests').values(row).execute();
  }

  /** The owner's view: a deleted request is gone (404). */
  async findForUser(userId: string, id: string): Promise<FileRequestRow | undefined> {
    const row = await this.db.selectFrom('file_requests').selectAll().where('id', '=', id).where('user_id', '=', userId).where('deleted_at', 'is', null).executeTakeFirst();
    return row && normalize(row);
  }

  /** The request a link names, deleted ones included (their link answers 410). */
  async findByTokenHash(hash: string): Promise<FileRequestRow | undefined> {
    const row = await this.db.selectFrom('file_requests').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return row && normalize(row);
  }

  async findById(id: string, tx: DbOrTx = this.db): Promise<FileRequestRow | undefined> {
    const row = await tx.selectFrom('file_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  /**
   * Takes the request's row for the rest of `tx` (a no-op write, which PostgreSQL keeps locked
   * until commit; SQLite runs one write transaction at a time) and reads it: declarations into
   * any of its transfers take turns, so each counts what the one before it wrote.
   */
  async lockForUpdate(id: string, tx: DbOrTx): Promise<FileRequestRow | undefined> {
    await tx.updateTable('file_requests').set((eb) => ({ notify: eb.ref('notify') })).where('id', '=', id).execute();
    return this.findById(id, tx);
  }

  async list(query: FileRequestListQuery): Promise<{ rows: FileRequestRow[]; total: number }> {
    const base = this.db.selectFrom('file_requests').where('user_id', '=', query.userId).where('deleted_at', 'is', null);
    const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await base
      .selectAll()
      .orderBy(query.sort, query.order)
      .orderBy('id', query.order)
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return { rows: rows.map(normalize), total };
  }

  async update(id: string, changes: Partial<Omit<FileRequestRow, 'id' | 'user_id' | 'created_at'>>): Promise<void> {
    await this.db.updateTable('file_requests').set(changes).where('id', '=', id).execute();
  }

  async usage(id: string, tx: DbOrTx = this.db): Promise<FileRequestUsage> {
    return (await this.usageOf([id], tx)).get(id) ?? NONE;
  }

  /** Usage of several requests in one query (a page of the list). */
  async usageOf(ids: string[], tx: DbOrTx = this.db): Promise<Map<string, FileRequestUsage>> {
    const out = new Map<string, FileRequestUsage>();
    if (ids.length === 0) return out;
    const rows = await tx
      .selectFrom('transfers')
      .leftJoin('files', 'files.transfer_id', 'transfers.id')
      .select([
        'transfers.file_request_id as id',
        sql<number>`count(distinct transfers.id)`.as('transfers'),
        sql<number>`count(files.id)`.as('files'),
        sql<number>`coalesce(sum(files.size), 0)`.as('bytes'),
      ])
      .where('transfers.file_request_id', 'in', ids)
      .where('transfers.state', '!=', 'deleted')
      .groupBy('transfers.file_request_id')
      .execute();
    for (const row of rows) out.set(row.id!, { transfers: Number(row.transfers), files: Number(row.files), bytes: Number(row.bytes) });
    return out;
  }
}
