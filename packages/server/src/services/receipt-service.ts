import { newId } from '../ids.ts';
import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Db } from '../db/database.ts';
import type { ReceiptKind } from '../db/schema.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import type { FileRow } from '../repositories/files-repository.ts';
import type { ReceiptListRow, ReceiptsRepository } from '../repositories/receipts-repository.ts';
import type { RecipientsRepository } from '../repositories/recipients-repository.ts';
import type { DbOrTx, TransfersRepository } from '../repositories/transfers-repository.ts';
import type { LinkVisit } from './download-service.ts';
import type { ClientClassifier, ClientInfo, ClientTraits } from '../analytics/client-traits.ts';
import type { AnalyticsEventsRepository } from '../repositories/analytics-events-repository.ts';

/** One response body about to be streamed through a link. */
export interface DownloadStart {
  kind: Exclude<ReceiptKind, 'page_view'>;
  /** The file of a single-file download; null for the ZIP. */
  file: FileRow | null;
  /** Byte positions served, of a body of `total` bytes (the file or the whole ZIP). */
  start: number;
  end: number;
  total: number;
  ranged: boolean;
}

/** How a streamed body ended: bytes handed on, and whether the response finished. */
export interface DownloadEnd {
  bytesSent: number;
  completed: boolean;
}

export interface ReceiptHandle {
  /** Settles the receipt; called once when the response ends, never awaited by the request. */
  finish(end: DownloadEnd): void;
}

export interface ReceiptListQuery {
  limit: number;
  offset: number;
  recipientId?: string;
  kind?: ReceiptKind;
}

type WarnLog = { warn(obj: unknown, msg: string): void };

/**
 * Receipts: every visit of a download page and every download through a link (the shared one or
 * a recipient's), so the owner sees who opened and fetched what. The owner's own downloads
 * through the API are not receipts. A download is settled when its response ends; one that
 * delivered the last byte of its body counts as a completed download: it moves the recipient's
 * counters and emits its events then, never when it starts.
 */
export class ReceiptService {
  private readonly settling = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly receipts: ReceiptsRepository,
    private readonly recipients: RecipientsRepository,
    private readonly transfers: TransfersRepository,
    private readonly events: DomainEvents,
    private readonly clock: Clock,
    private readonly log: WarnLog,
    private readonly analytics: { classifier: ClientClassifier; events: AnalyticsEventsRepository },
  ) {}

  /** A recipient's visit of their download page; their first also emits `recipient.opened`, once. */
  async pageView({ transfer, recipient }: LinkVisit): Promise<void> {
    // Visits of the shared link are anonymous and free for anyone to repeat: no row (only
    // downloads through it are receipts), so nobody can grow the owner's receipts with page loads.
    if (!recipient) return;
    const now = iso(this.clock.now());
    await this.db.transaction().execute(async (tx) => {
      await this.receipts.insert(
        { id: newId('rct'), transfer_id: transfer.id, recipient_id: recipient?.id ?? null, kind: 'page_view', file_id: null, range: null, started_at: now, finished_at: now, completed: 1 },
        tx,
      );
      if (recipient && (await this.recipients.markOpened(recipient.id, now, tx))) {
        await this.events.emit('recipient.opened', transfer.user_id, { transfer: transferRef(transfer), recipient: recipientRef(recipient) }, tx);
      }
    });
  }

  /**
   * Writes the receipt of a download as its body starts; the handle settles it when it ends and
   * records it for analytics with the client's country and user-agent family (never its address).
   */
  async start(visit: LinkVisit, download: DownloadStart, client: ClientInfo): Promise<ReceiptHandle> {
    const id = newId('rct');
    const traits = this.analytics.classifier.classify(client);
    const startedAt = iso(this.clock.now());
    await this.receipts.insert({
      id,
      transfer_id: visit.transfer.id,
      recipient_id: visit.recipient?.id ?? null,
      kind: download.kind,
      file_id: download.file?.id ?? null,
      range: download.ranged ? `${download.start}-${download.end}` : null,
      started_at: startedAt,
      finished_at: null,
    });
    let finished = false;
    return {
      finish: (end) => {
        if (finished) return;
        finished = true;
        const work = this.settle(id, visit, download, end, { startedAt, traits })
          .catch((err: unknown) => this.log.warn({ err, receipt: id }, 'receipt not settled'))
          .finally(() => this.settling.delete(work));
        this.settling.add(work);
      },
    };
  }

  /** Resolves once every receipt settling now has been written (tests, shutdown). */
  async idle(): Promise<void> {
    // A response's 'close' comes a tick after its end; let it arrive first.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.settling.size > 0) await Promise.all([...this.settling]);
  }

  /** The owner's receipts of one transfer, newest first. */
  async list(userId: string, transferId: string, query: ReceiptListQuery): Promise<{ rows: ReceiptListRow[]; total: number }> {
    if (!(await this.transfers.findForUser(userId, transferId))) throw fail.not_found('Transfer not found.');
    return this.receipts.list({ transferId, ...query });
  }

  private async settle(id: string, { transfer, recipient }: LinkVisit, download: DownloadStart, end: DownloadEnd, client: { startedAt: string; traits: ClientTraits }): Promise<void> {
    const now = iso(this.clock.now());
    // The last byte of the body went out: a whole download, or the tail that finishes a resumed one.
    const delivered = end.completed && download.end === download.total - 1;
    await this.db.transaction().execute(async (tx) => {
      if (!(await this.receipts.finish(id, { finishedAt: now, bytesSent: end.bytesSent, completed: end.completed }, tx))) return;
      await this.analytics.events.insertDownload(
        {
          id,
          user_id: transfer.user_id,
          transfer_id: transfer.id,
          file_id: download.file?.id ?? null,
          recipient_id: recipient?.id ?? null,
          kind: download.kind,
          started_at: client.startedAt,
          at: now,
          bytes_sent: end.bytesSent,
          completed: delivered ? 1 : 0,
          country: client.traits.country,
          ua_family: client.traits.uaFamily,
        },
        tx,
      );
      if (delivered) await this.downloaded(id, { transfer, recipient }, download, end.bytesSent, now, client.traits.country, tx);
    });
  }

  private async downloaded(receiptId: string, { transfer, recipient }: LinkVisit, download: DownloadStart, bytes: number, nowIso: string, country: string | null, tx: DbOrTx): Promise<void> {
    const base = { transfer: transferRef(transfer), recipient: recipient ? recipientRef(recipient) : null };
    const file = download.file ? { id: download.file.id, name: download.file.name, size: download.file.size } : null;
    if (recipient) {
      await this.recipients.recordDownload(recipient.id, nowIso, tx);
      await this.events.emit('recipient.downloaded', transfer.user_id, { ...base, kind: download.kind, file, bytes, receipt_id: receiptId }, tx);
    }
    if (file) await this.events.emit('file.downloaded', transfer.user_id, { ...base, file, bytes, country, receipt_id: receiptId }, tx);
    else await this.events.emit('transfer.downloaded', transfer.user_id, { ...base, bytes, country, receipt_id: receiptId }, tx);
  }
}

const transferRef = (t: { id: string; title: string }) => ({ id: t.id, title: t.title });
const recipientRef = (r: { id: string; email: string }) => ({ id: r.id, email: r.email });
