import { expiryReminderForRecipient, transferReadyForRecipient, type RenderedEmail } from '../mail/index.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import { PermanentJobError, type JobKind } from '../jobs/job-kind.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { RecipientRow, RecipientsRepository } from '../repositories/recipients-repository.ts';
import type { TransfersRepository, TransferWithTotals } from '../repositories/transfers-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import { BouncedError, EMAIL_CONCURRENCY, EMAIL_RETRY, type MailDelivery } from './mail-delivery.ts';

export interface RecipientEmailDeps {
  delivery: MailDelivery;
  recipients: RecipientsRepository;
  transfers: TransfersRepository;
  files: FilesRepository;
  users: UsersRepository;
  clock: Clock;
  publicUrl: string;
}

interface RecipientJob {
  recipientId: string;
}

/** The recipient was removed or their transfer can no longer be downloaded: nothing to send. */
class NothingToSend extends PermanentJobError {}

/**
 * Emails to recipients: their own link when the transfer is ready (and on each resend), and the
 * reminder a day before expiry. Each records its outcome on the recipient: sent, bounced (the
 * mail server refused the address) or failed (the retries ran out). Never the password.
 */
export function recipientEmailJobs(deps: RecipientEmailDeps): JobKind<RecipientJob>[] {
  /** `render` answers null when the email is no longer needed. `required`: a link email that cannot go out is a failure. */
  const sendTo = async (recipientId: string, required: boolean, render: (r: RecipientRow, t: TransferWithTotals, sender: { name: string | null; email: string }, link: string) => Promise<RenderedEmail | null>) => {
    const recipient = await deps.recipients.findById(recipientId);
    if (!recipient || recipient.revoked_at !== null) return;
    const transfer = await deps.transfers.findById(recipient.transfer_id);
    const owner = transfer ? await deps.users.findById(transfer.user_id) : undefined;
    if (!transfer || !owner || effectiveState(transfer, deps.clock.now()) !== 'ready') {
      if (required) throw new NothingToSend('The transfer can no longer be downloaded.');
      return;
    }
    const email = await render(recipient, transfer, { name: owner.name, email: owner.email }, `${deps.publicUrl}/d/${recipient.token}`);
    if (email === null) return;
    try {
      await deps.delivery.send(owner.id, { to: recipient.email, replyTo: owner.email, ...email });
    } catch (error) {
      if (error instanceof BouncedError) await deps.recipients.markEmailOutcome(recipient.id, { status: 'bounced', error: error.message, nowIso: iso(deps.clock.now()) });
      throw error;
    }
    await deps.recipients.markEmailOutcome(recipient.id, { status: 'sent', error: null, nowIso: iso(deps.clock.now()) });
  };
  const markFailed = async ({ recipientId }: RecipientJob, _job: unknown, error: string) => {
    const recipient = await deps.recipients.findById(recipientId);
    // A bounce was recorded as such already.
    if (recipient && recipient.email_status === 'pending') await deps.recipients.markEmailOutcome(recipientId, { status: 'failed', error, nowIso: iso(deps.clock.now()) });
  };
  return [
    {
      kind: 'email.recipient_ready',
      concurrency: EMAIL_CONCURRENCY,
      ...EMAIL_RETRY,
      onFailed: markFailed,
      run: ({ recipientId }) =>
        sendTo(recipientId, true, async (_r, t, sender, link) => {
          const files = (await deps.files.listForTransfer(t.id)).map((f) => ({ name: f.name, size: f.size }));
          return transferReadyForRecipient({ sender, title: t.title, message: t.message, files, totalSize: t.size, expiresAt: t.expires_at, link, hasPassword: t.password_hash !== null });
        }),
    },
    {
      kind: 'email.expiry_reminder',
      concurrency: EMAIL_CONCURRENCY,
      ...EMAIL_RETRY,
      run: ({ recipientId }) =>
        sendTo(recipientId, false, async (r, t, sender, link) => {
          // Downloaded since the reminder was queued, or the expiry was lifted: nothing to remind of.
          if (r.download_count > 0 || t.expires_at === null) return null;
          return expiryReminderForRecipient({ sender, title: t.title, expiresAt: t.expires_at, link });
        }),
    },
  ];
}
