import { sql, type Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { RecipientsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type RecipientRow = Selectable<RecipientsTable>;
export type NewRecipient = Pick<RecipientRow, 'id' | 'transfer_id' | 'email' | 'position' | 'token' | 'created_at'>;

const normalize = (row: RecipientRow): RecipientRow => ({ ...row, download_count: Number(row.download_count) });

/** The recipients table (migration 009): live rows have no revoked_at. */
export class RecipientsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: NewRecipient, tx: DbOrTx = this.db): Promise<RecipientRow> {
    await tx.insertInto('recipients').values(row).execute();
    return normalize((await tx.selectFrom('recipients').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow()) as RecipientRow);
  }

  /** Live recipients of one transfer, oldest first. */
  async listLive(transferId: string, tx: DbOrTx = this.db): Promise<RecipientRow[]> {
    const rows = await tx.selectFrom('recipients').selectAll().where('transfer_id', '=', transferId).where('revoked_at', 'is', null).orderBy('position').execute();
    return rows.map(normalize);
  }

  /** The position the next recipient of the transfer takes (the caller holds the transfer's row). */
  async nextPosition(transferId: string, tx: DbOrTx = this.db): Promise<number> {
    const r = await tx.selectFrom('recipients').select((eb) => eb.fn.max('position').as('p')).where('transfer_id', '=', transferId).executeTakeFirst();
    return r?.p === null || r?.p === undefined ? 0 : Number(r.p) + 1;
  }

  /** The live addresses of each transfer in `transferIds`, oldest first (for the transfer's `recipients`). */
  async liveEmails(transferIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(transferIds.map((id) => [id, []]));
    if (transferIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('recipients')
      .select(['transfer_id', 'email'])
      .where('transfer_id', 'in', transferIds)
      .where('revoked_at', 'is', null)
      .orderBy('transfer_id')
      .orderBy('position')
      .execute();
    for (const row of rows) out.get(row.transfer_id)!.push(row.email);
    return out;
  }

  async findLive(transferId: string, id: string, tx: DbOrTx = this.db): Promise<RecipientRow | undefined> {
    const row = await tx.selectFrom('recipients').selectAll().where('id', '=', id).where('transfer_id', '=', transferId).where('revoked_at', 'is', null).executeTakeFirst();
    return row && normalize(row);
  }

  /** The recipient a link names, revoked or not (the caller refuses revoked ones). */
  async findByToken(token: string): Promise<RecipientRow | undefined> {
    const row = await this.db.selectFrom('recipients').selectAll().where('token', '=', token).executeTakeFirst();
    return row && normalize(row);
  }

  /** Revokes live recipients; answers how many this call revoked. */
  async revoke(transferId: string, ids: string[], nowIso: string, tx: DbOrTx = this.db): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await tx.updateTable('recipients').set({ revoked_at: nowIso }).where('transfer_id', '=', transferId).where('id', 'in', ids).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  findById(id: string, tx: DbOrTx = this.db): Promise<RecipientRow | undefined> {
    return tx.selectFrom('recipients').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** What the email job reports: sent, or bounced/failed with the mail server's reason. */
  async markEmailOutcome(id: string, outcome: { status: 'sent' | 'bounced' | 'failed'; error: string | null; nowIso: string }): Promise<void> {
    await this.db
      .updateTable('recipients')
      .set({ email_status: outcome.status, email_error: outcome.error, ...(outcome.status === 'sent' ? { email_sent_at: outcome.nowIso } : {}) })
      .where('id', '=', id)
      .execute();
  }

  /** Live recipients who have not downloaded yet (reminders go to them). */
  listNotDownloaded(transferId: string): Promise<RecipientRow[]> {
    return this.db.selectFrom('recipients').selectAll().where('transfer_id', '=', transferId).where('revoked_at', 'is', null).where('download_count', '=', 0).orderBy('position').execute();
  }

  /** Addresses of live recipients who downloaded through their own link, first downloads first. */
  async downloadedEmails(transferId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('recipients').select('email').where('transfer_id', '=', transferId).where('download_count', '>', 0).orderBy('first_download_at').execute();
    return rows.map((r) => r.email);
  }

  /** A new email is on its way: the status shows it until the email job reports. */
  markEmailPending(id: string, tx: DbOrTx = this.db): Promise<unknown> {
    return tx.updateTable('recipients').set({ email_status: 'pending', email_error: null }).where('id', '=', id).execute();
  }

  /**
   * Records a visit of the recipient's page. Answers true for the first one only: the
   * conditional update lets exactly one of two concurrent first visits set opened_at.
   */
  async markOpened(id: string, nowIso: string, tx: DbOrTx = this.db): Promise<boolean> {
    const first = await tx.updateTable('recipients').set({ opened_at: nowIso }).where('id', '=', id).where('opened_at', 'is', null).executeTakeFirst();
    await tx.updateTable('recipients').set({ last_opened_at: nowIso }).where('id', '=', id).execute();
    return Number(first.numUpdatedRows) === 1;
  }

  /** One more completed download. */
  recordDownload(id: string, nowIso: string, tx: DbOrTx = this.db): Promise<unknown> {
    return tx
      .updateTable('recipients')
      .set({
        download_count: sql`download_count + 1`,
        first_download_at: sql`coalesce(first_download_at, ${nowIso})`,
        last_download_at: nowIso,
      })
      .where('id', '=', id)
      .execute();
  }
}
