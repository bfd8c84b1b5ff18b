import { EMAIL_RETRY } from '../notifications/mail-delivery.ts';
import { newId, randomBase62 } from '../ids.ts';
import { fail, transferClosed } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import { normalizeRecipientEmail, RECIPIENT_TOKEN_LENGTH } from '../domain/recipients.ts';
import type { Db } from '../db/database.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { RecipientRow, RecipientsRepository } from '../repositories/recipients-repository.ts';
import type { DbOrTx, TransfersRepository, TransferWithTotals } from '../repositories/transfers-repository.ts';

/**
 * The job that emails one recipient their link (the transfer is ready). Its handler belongs to
 * the mail module; payload `{ recipientId }`, and the handler reads everything else when it runs.
 */
export const RECIPIENT_EMAIL_JOB = 'email.recipient_ready';
export interface RecipientEmailJob {
  recipientId: string;
}
const RECIPIENT_EMAIL_MAX_ATTEMPTS = EMAIL_RETRY.maxAttempts;

/**
 * Recipients of a transfer: each a row with a link of its own. The set changes with the transfer
 * (creation, PATCH) or one by one (add, remove), always in one transaction with the transfer's
 * row written first, so concurrent changes take turns and the per-transfer cap holds.
 */
export class RecipientService {
  constructor(
    private readonly db: Db,
    private readonly recipients: RecipientsRepository,
    private readonly transfers: TransfersRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    /** Live recipients one transfer may have (FERRY_MAX_RECIPIENTS_PER_TRANSFER). */
    private readonly maxRecipients: number,
  ) {}

  /**
   * Normalised, deduplicated addresses; 400 validation_failed naming the first bad entry (its
   * index, never its text, which may hold control characters) or a list longer than the cap.
   */
  checkEmails(raw: string[], field = 'recipients'): string[] {
    if (raw.length > this.maxRecipients) throw tooMany(this.maxRecipients);
    const emails = raw.map((entry, i) => {
      const email = typeof entry === 'string' ? normalizeRecipientEmail(entry) : null;
      if (email === null) throw fail.validation_failed(`${field}[${i}] is not a plain email address (like ann@example.com).`, { details: { index: i } });
      return email;
    });
    return [...new Set(emails)];
  }

  /** Live recipients of the owner's transfer, oldest first. */
  async list(userId: string, transferId: string): Promise<RecipientRow[]> {
    await this.requireOwned(userId, transferId);
    return this.recipients.listLive(transferId);
  }

  liveEmails(transferIds: string[]): Promise<Map<string, string[]>> {
    return this.recipients.liveEmails(transferIds);
  }

  /**
   * Adds recipients to the owner's transfer; addresses already there are answered as they are.
   * New ones of a ready transfer are emailed (a job in the same transaction).
   */
  async add(userId: string, transferId: string, raw: string[]): Promise<{ recipients: RecipientRow[]; created: number }> {
    const emails = this.checkEmails(raw, 'emails');
    if (emails.length === 0) throw fail.validation_failed('Give at least one email address.');
    const transfer = await this.requireOwned(userId, transferId);
    if (effectiveState(transfer, this.clock.now()) === 'expired') throw transferClosed('An expired transfer can no longer be changed.');
    const now = iso(this.clock.now());
    return this.db.transaction().execute(async (tx) => {
      if (!(await this.transfers.lockForUser(userId, transferId, now, tx))) throw notFound();
      const live = new Map((await this.recipients.listLive(transferId, tx)).map((r) => [r.email, r]));
      const fresh = emails.filter((e) => !live.has(e));
      if (live.size + fresh.length > this.maxRecipients) throw tooMany(this.maxRecipients);
      const ready = (await this.transfers.findById(transferId, tx))?.state === 'ready';
      let position = await this.recipients.nextPosition(transferId, tx);
      for (const email of fresh) live.set(email, await this.insert(transferId, email, position++, ready, now, tx));
      return { recipients: emails.map((e) => live.get(e)!), created: fresh.length };
    });
  }

  /** Removes a recipient: their link is dead from this commit on; the row stays for its receipts. */
  async remove(userId: string, transferId: string, recipientId: string): Promise<void> {
    const now = iso(this.clock.now());
    await this.db.transaction().execute(async (tx) => {
      if (!(await this.transfers.lockForUser(userId, transferId, now, tx))) throw notFound();
      if ((await this.recipients.revoke(transferId, [recipientId], now, tx)) === 0) throw fail.not_found('Recipient not found.');
    });
  }

  /** Emails the recipient their link again; only a ready transfer has one worth sending. */
  async resend(userId: string, transferId: string, recipientId: string): Promise<RecipientRow> {
    const transfer = await this.requireOwned(userId, transferId);
    const state = effectiveState(transfer, this.clock.now());
    if (state === 'expired') throw transferClosed('An expired transfer can no longer be sent.');
    if (state !== 'ready') throw fail.transfer_not_ready('The transfer is still being uploaded; its recipients are emailed once it is finalized.');
    return this.db.transaction().execute(async (tx) => {
      const recipient = await this.recipients.findLive(transferId, recipientId, tx);
      if (!recipient) throw fail.not_found('Recipient not found.');
      await this.requestRecipientEmail(recipient.id, tx);
      return { ...recipient, email_status: 'pending' as const, email_error: null };
    });
  }

  /**
   * Makes `emails` (checked by checkEmails) the transfer's live recipients, inside the caller's
   * transaction, which has written the transfer's row already: new addresses get rows (and, when
   * the transfer is ready, an email), missing ones are revoked, the rest keep their links.
   */
  async replaceIn(transferId: string, emails: string[], ready: boolean, tx: DbOrTx): Promise<void> {
    const now = iso(this.clock.now());
    const live = await this.recipients.listLive(transferId, tx);
    const wanted = new Set(emails);
    await this.recipients.revoke(transferId, live.filter((r) => !wanted.has(r.email)).map((r) => r.id), now, tx);
    const kept = new Set(live.map((r) => r.email));
    let position = await this.recipients.nextPosition(transferId, tx);
    for (const email of emails) if (!kept.has(email)) await this.insert(transferId, email, position++, ready, now, tx);
  }

  /**
   * Queues the email that sends a recipient their link, in the caller's transaction; the
   * recipient shows `pending` until the job reports. Every path that emails a recipient (a new
   * recipient of a ready transfer, a resend) comes through here.
   */
  async requestRecipientEmail(recipientId: string, tx: DbOrTx, options: { first?: boolean } = {}): Promise<void> {
    const payload: RecipientEmailJob = { recipientId };
    // The first email has one key, so the transfer turning ready and a recipient added to the
    // ready transfer at the same moment send it once; a resend is a new email every time.
    const dedupeKey = options.first ? `${RECIPIENT_EMAIL_JOB}:${recipientId}:first` : undefined;
    const queued = await this.queue.enqueue({ kind: RECIPIENT_EMAIL_JOB, payload, maxAttempts: RECIPIENT_EMAIL_MAX_ATTEMPTS, dedupeKey }, tx);
    if (queued !== null) await this.recipients.markEmailPending(recipientId, tx);
  }

  /** The transfer turned ready: every live recipient gets their link (inside the caller's transaction). */
  async emailAll(transferId: string, tx: DbOrTx): Promise<void> {
    for (const recipient of await this.recipients.listLive(transferId, tx)) await this.requestRecipientEmail(recipient.id, tx, { first: true });
  }

  private async insert(transferId: string, email: string, position: number, ready: boolean, nowIso: string, tx: DbOrTx): Promise<RecipientRow> {
    const row = await this.recipients.insert({ id: newId('rcp'), transfer_id: transferId, email, position, token: randomBase62(RECIPIENT_TOKEN_LENGTH), created_at: nowIso }, tx);
    if (ready) await this.requestRecipientEmail(row.id, tx, { first: true });
    return row;
  }

  private async requireOwned(userId: string, transferId: string): Promise<TransferWithTotals> {
    const transfer = await this.transfers.findForUser(userId, transferId);
    if (!transfer) throw notFound();
    return transfer;
  }
}

const notFound = () => fail.not_found('Transfer not found.');
const tooMany = (max: number) => fail.validation_failed(`A transfer has at most ${max} recipients.`, { details: { max_recipients: max } });
