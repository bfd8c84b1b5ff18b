import type { Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ReceiptKind, ReceiptsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type ReceiptRow = Selectable<ReceiptsTable>;

/** A receipt with what its ids name, for the owner's list. */
export type ReceiptListRow = ReceiptRow & { recipient_email: string | null; file_name: string | null };

export interface ReceiptListQuery {
  transferId: string;
  limit: number;
  offset: number;
  recipientId?: string;
  kind?: ReceiptKind;
}

const normalize = <R extends ReceiptRow>(row: R): R => ({ ...row, bytes_sent: Number(row.bytes_sent), completed: Number(row.completed) });

/** The receipts table (migration 009): visits and downloads through links. */
export class ReceiptsRepository {
  constructor(private readonly db: Db) {}

  insert(row: Omit<ReceiptRow, 'bytes_sent' | 'completed'> & { bytes_sent?: number; completed?: number }, tx: DbOrTx = this.db): Promise<unknown> {
    return tx.insertInto('receipts').values(row).execute();
  }

  /** Settles a receipt once; a second call changes nothing. */
  async finish(id: string, result: { finishedAt: string; bytesSent: number; completed: boolean }, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('receipts')
      .set({ finished_at: result.finishedAt, bytes_sent: result.bytesSent, completed: result.completed ? 1 : 0 })
      .where('id', '=', id)
      .where('finished_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async findById(id: string): Promise<ReceiptRow | undefined> {
    const row = await this.db.selectFrom('receipts').selectAll().where('id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  /** Newest first. */
  async list(query: ReceiptListQuery): Promise<{ rows: ReceiptListRow[]; total: number }> {
    let base = this.db.selectFrom('receipts').where('receipts.transfer_id', '=', query.transferId);
    if (query.recipientId) base = base.where('receipts.recipient_id', '=', query.recipientId);
    if (query.kind) base = base.where('receipts.kind', '=', query.kind);
    const total = await base
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
    const rows = await base
      .leftJoin('recipients', 'recipients.id', 'receipts.recipient_id')
      .leftJoin('files', 'files.id', 'receipts.file_id')
      .selectAll('receipts')
      .select(['recipients.email as recipient_email', 'files.name as file_name'])
      .orderBy('receipts.started_at', 'desc')
      .orderBy('receipts.id', 'desc')
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return { rows: rows.map(normalize), total };
  }
}
