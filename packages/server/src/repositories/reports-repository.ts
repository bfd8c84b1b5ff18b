import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Rows per database read while a report streams: memory stays flat whatever the range. */
const BATCH = 500;

export interface DownloadReportRow {
  at: string;
  started_at: string;
  transfer_id: string;
  transfer_title: string | null;
  kind: string;
  file_id: string | null;
  file_name: string | null;
  recipient_email: string | null;
  country: string | null;
  ua_family: string | null;
  bytes_sent: number;
  completed: number;
  id: string;
}

export interface TransferReportRow {
  id: string;
  title: string;
  state: string;
  created_at: string;
  expires_at: string | null;
  finalized_at: string | null;
  file_count: number;
  size: number;
  download_count: number;
  recipient_count: number;
}

/**
 * Report rows read in keyset batches (never one query for a year of rows), oldest first, as
 * async iterables the HTTP layer streams and the email job cuts at its bound.
 */
export class ReportsRepository {
  constructor(private readonly db: Db) {}

  /** Raw download events of the account in [from, to). */
  async *downloads(userId: string, from: string, to: string): AsyncGenerator<DownloadReportRow> {
    let after: { at: string; id: string } | null = null;
    for (;;) {
      let q = this.db
        .selectFrom('download_events as e')
        .leftJoin('transfers as t', 't.id', 'e.transfer_id')
        .leftJoin('files as f', 'f.id', 'e.file_id')
        .leftJoin('recipients as r', 'r.id', 'e.recipient_id')
        .select(['e.id', 'e.at', 'e.started_at', 'e.transfer_id', 't.title as transfer_title', 'e.kind', 'e.file_id', 'f.name as file_name', 'r.email as recipient_email', 'e.country', 'e.ua_family', 'e.bytes_sent', 'e.completed'])
        .where('e.user_id', '=', userId)
        .where('e.at', '>=', from)
        .where('e.at', '<', to);
      if (after) {
        const { at, id } = after;
        q = q.where((eb) => eb.or([eb('e.at', '>', at), eb.and([eb('e.at', '=', at), eb('e.id', '>', id)])]));
      }
      const rows = await q.orderBy('e.at').orderBy('e.id').limit(BATCH).execute();
      for (const row of rows) yield { ...row, bytes_sent: Number(row.bytes_sent), completed: Number(row.completed) };
      if (rows.length < BATCH) return;
      const last = rows.at(-1)!;
      after = { at: last.at, id: last.id };
    }
  }

  /** The account's transfers created in [from, to), deleted ones left out. */
  async *transfers(userId: string, from: string, to: string): AsyncGenerator<TransferReportRow> {
    let after: { created: string; id: string } | null = null;
    for (;;) {
      let q = this.db
        .selectFrom('transfers as t')
        .select([
          't.id',
          't.title',
          't.state',
          't.created_at',
          't.expires_at',
          't.finalized_at',
          't.download_count',
          sql<number>`(select count(*) from files where files.transfer_id = t.id)`.as('file_count'),
          sql<number>`(select coalesce(sum(size), 0) from files where files.transfer_id = t.id)`.as('size'),
          sql<number>`(select count(*) from recipients where recipients.transfer_id = t.id and recipients.revoked_at is null)`.as('recipient_count'),
        ])
        .where('t.user_id', '=', userId)
        .where('t.state', '!=', 'deleted')
        .where('t.created_at', '>=', from)
        .where('t.created_at', '<', to);
      if (after) {
        const { created, id } = after;
        q = q.where((eb) => eb.or([eb('t.created_at', '>', created), eb.and([eb('t.created_at', '=', created), eb('t.id', '>', id)])]));
      }
      const rows = await q.orderBy('t.created_at').orderBy('t.id').limit(BATCH).execute();
      for (const row of rows) {
        yield { ...row, file_count: Number(row.file_count), size: Number(row.size), download_count: Number(row.download_count), recipient_count: Number(row.recipient_count) };
      }
      if (rows.length < BATCH) return;
      const last = rows.at(-1)!;
      after = { created: last.created_at, id: last.id };
    }
  }
}
