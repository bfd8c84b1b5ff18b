import type { DomainEvent, EventSubscriber } from '../events/domain-events.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { DbOrTx, TransfersRepository } from '../repositories/transfers-repository.ts';
import { EMAIL_RETRY } from './mail-delivery.ts';
import type { FirstDownloadJob } from './sender-notices.ts';

/** Recipients' emails when their transfer turns ready; wired by the composition root. */
export type RecipientEmails = (transferId: string, eventId: string, tx: DbOrTx) => Promise<void>;

/**
 * Turns events into the emails people asked for, as jobs written in the dispatch transaction:
 * the recipients' links and the sender's confirmation when a transfer turns ready, and the
 * sender's two download notices (the first download, then a summary after the second), and the
 * requester's notice when a file request received files.
 */
export class NotificationSubscriber implements EventSubscriber {
  readonly name = 'notifications';

  constructor(
    private readonly queue: JobQueue,
    private readonly transfers: TransfersRepository,
    private readonly recipientEmails: RecipientEmails,
  ) {}

  async handle(event: DomainEvent, tx: DbOrTx): Promise<void> {
    const transferId = (event.data.transfer as { id?: string } | undefined)?.id;
    if (!transferId) return;
    if (event.type === 'transfer.ready') await this.ready(transferId, event, tx);
    if (event.type === 'file.downloaded' || event.type === 'transfer.downloaded') await this.downloaded(transferId, event, tx);
    if (event.type === 'file_request.received') {
      const fileRequestId = (event.data.file_request as { id: string }).id;
      // Whether the request wants it is read when the email is due (its owner may turn it off meanwhile).
      // One notice per request per hour at most, however many uploaders finish in it.
      const hour = event.occurredAt.slice(0, 13);
      await this.queue.enqueue({ kind: 'email.file_request_received', payload: { fileRequestId, transferId }, dedupeKey: `email.file_request_received:${fileRequestId}:${hour}`, ...retry }, tx);
    }
  }

  private async ready(transferId: string, event: DomainEvent, tx: DbOrTx): Promise<void> {
    const transfer = await this.transfers.findById(transferId, tx);
    if (!transfer) return;
    await this.recipientEmails(transferId, event.id, tx);
    if (transfer.confirmation === 1) {
      await this.queue.enqueue({ kind: 'email.sender_confirmation', payload: { transferId }, dedupeKey: `email.sender_confirmation:${transferId}`, ...retry }, tx);
    }
  }

  private async downloaded(transferId: string, event: DomainEvent, tx: DbOrTx): Promise<void> {
    const notice = await this.transfers.claimDownloadNotice(transferId, tx);
    if (notice === 1) {
      const recipient = (event.data.recipient as { email?: string } | null | undefined)?.email ?? null;
      const file = event.type === 'file.downloaded' ? ((event.data.file as { name?: string } | undefined)?.name ?? null) : null;
      const payload: FirstDownloadJob = { transferId, recipient, fileName: file, at: event.occurredAt };
      await this.queue.enqueue({ kind: 'email.first_download', payload, dedupeKey: `email.first_download:${transferId}`, ...retry }, tx);
    } else if (notice === 2) {
      await this.queue.enqueue({ kind: 'email.download_summary', payload: { transferId }, dedupeKey: `email.download_summary:${transferId}`, ...retry }, tx);
    }
  }
}

const retry = { maxAttempts: EMAIL_RETRY.maxAttempts };
