import { transferReadyForSender, firstDownloadForSender, downloadSummaryForSender, fileRequestReceived, type RenderedEmail } from '../mail/index.ts';
import type { FileRequestsRepository } from '../repositories/file-requests-repository.ts';
import { PermanentJobError, type JobKind } from '../jobs/job-kind.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import { EMAIL_CONCURRENCY, EMAIL_RETRY, type MailDelivery } from './mail-delivery.ts';

export interface SenderNoticeDeps {
  delivery: MailDelivery;
  transfers: TransfersRepository;
  users: UsersRepository;
  fileRequests: FileRequestsRepository;
  publicUrl: string;
  /** Recipients of a transfer who downloaded through their own link. */
  downloadedBy(transferId: string): Promise<string[]>;
  /** Every live recipient's address. */
  recipientEmails(transferId: string): Promise<string[]>;
}

export interface ConfirmationJob {
  transferId: string;
}
export interface FirstDownloadJob {
  transferId: string;
  recipient: string | null;
  fileName: string | null;
  at: string;
}
export interface SummaryJob {
  transferId: string;
}
export interface FileRequestReceivedJob {
  fileRequestId: string;
  transferId: string;
}

/** The owner is told nothing: their request turned its notices off, or is gone. */
class NoticeNotWanted extends Error {}

/** Emails to a transfer's owner: the confirmation when ready, and the two download notices. */
export function senderNoticeJobs(deps: SenderNoticeDeps): JobKind<any>[] {
  const toOwner = async (transferId: string, render: (t: NonNullable<Awaited<ReturnType<TransfersRepository['findById']>>>) => Promise<RenderedEmail>) => {
    const transfer = await deps.transfers.findById(transferId);
    if (!transfer) throw new PermanentJobError('The transfer no longer exists.');
    const owner = await deps.users.findById(transfer.user_id);
    if (!owner) throw new PermanentJobError('The account no longer exists.');
    let email: RenderedEmail;
    try {
      email = await render(transfer);
    } catch (error) {
      if (error instanceof NoticeNotWanted) return;
      throw error;
    }
    await deps.delivery.send(owner.id, { to: owner.email, ...email }, { toOwner: true });
  };
  const link = (slug: string | null) => (slug ? `${deps.publicUrl}/t/${encodeURIComponent(slug)}` : deps.publicUrl);
  const kind = <P>(name: string, run: (payload: P) => Promise<void>): JobKind<P> => ({ kind: name, concurrency: EMAIL_CONCURRENCY, ...EMAIL_RETRY, run });
  return [
    kind<ConfirmationJob>('email.sender_confirmation', ({ transferId }) =>
      toOwner(transferId, async (t) =>
        transferReadyForSender({ title: t.title, link: link(t.slug), recipients: await deps.recipientEmails(t.id), expiresAt: t.expires_at, fileCount: t.file_count, totalSize: t.size }),
      ),
    ),
    kind<FirstDownloadJob>('email.first_download', ({ transferId, recipient, fileName, at }) =>
      toOwner(transferId, async (t) => firstDownloadForSender({ title: t.title, who: recipient, when: at, fileName })),
    ),
    kind<SummaryJob>('email.download_summary', ({ transferId }) =>
      toOwner(transferId, async (t) => downloadSummaryForSender({ title: t.title, downloads: t.download_count, downloadedBy: await deps.downloadedBy(t.id) })),
    ),
    kind<FileRequestReceivedJob>('email.file_request_received', ({ fileRequestId, transferId }) =>
      toOwner(transferId, async (t) => {
        const request = await deps.fileRequests.findForUser(t.user_id, fileRequestId);
        if (!request || request.notify !== 1) throw new NoticeNotWanted();
        return fileRequestReceived({ requestTitle: request.title, uploaderName: t.uploader_name, uploaderEmail: t.uploader_email, fileCount: t.file_count, totalBytes: t.size, link: link(t.slug) });
      }),
    ),
  ];
}
