import type { Readable } from 'node:stream';
import { fail } from '../errors.ts';
import type { Clock } from '../domain/clock.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import type { UrlSigner } from '../domain/url-signer.ts';
import type { ByteRange } from '../storage/blob-store.ts';
import type { FilesRepository, FileRow } from '../repositories/files-repository.ts';
import type { TransfersRepository, TransferWithTotals } from '../repositories/transfers-repository.ts';
import { planZip, type ZipPlan } from '../zip/zip-plan.ts';
import { sanitizeZipEntryNames } from '../zip/zip-entry-names.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { TransferService } from './transfer-service.ts';
import type { RecipientRow, RecipientsRepository } from '../repositories/recipients-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';

/** Finds the caller's access token for a transfer (a header, or the cookie named after the transfer). */
export type AccessTokenLookup = (transferId: string) => string | undefined;

/** Gives back the bytes of a reservation that were not sent (the client went away). */
export type Refund = (unsentBytes: number) => Promise<void>;
const noRefund: Refund = async () => undefined;
const RESUME_SLACK_BYTES = 8 * 1024 * 1024;
/**
 * A redirect URL only has to live until the client follows it: S3 checks it when a GET starts, so
 * a long download outlives it, and a resume goes through Ferry again (which re-checks the link).
 * This also bounds how long a URL handed out before a deletion keeps working.
 */
const REDIRECT_TTL_SECONDS = 60;

/** Who is downloading decides whether the download counts against the link's allowance. */
export type Audience = 'owner' | 'recipient';

/** A link recipients follow: the transfer's shared link, or one recipient's own. */
export type LinkRef = { slug: string } | { token: string };

/** A transfer reached through a link; `recipient` is the link's recipient (null for the shared link). */
export interface LinkVisit {
  transfer: TransferWithTotals;
  recipient: RecipientRow | null;
}

export interface FileDownload {
  transfer: TransferWithTotals;
  file: FileRow;
  audience: Audience;
  /** Set for downloads through a link, which leave receipts. */
  visit?: LinkVisit;
}

export interface ZipDownload {
  transfer: TransferWithTotals;
  files: FileRow[];
  plan: ZipPlan;
  audience: Audience;
  visit?: LinkVisit;
}

/**
 * Resolves every way of reaching bytes (owner key, signed URL, public link) to the same checks:
 * the transfer is live, the file is complete, the password token fits, the allowance holds.
 */
export class DownloadService {
  constructor(
    private readonly transfers: TransfersRepository,
    private readonly files: FilesRepository,
    private readonly recipients: RecipientsRepository,
    private readonly transferService: TransferService,
    private readonly stores: BlobStoreRegistry,
    private readonly signer: UrlSigner,
    private readonly clock: Clock,
    /** Whether a transfer's owner account is active: a disabled account's links stop. */
    private readonly owners: Pick<UsersRepository, 'isActive'>,
    private readonly redirectDownloads = false,
  ) {}

  async ownerFile(userId: string, fileId: string): Promise<FileDownload> {
    const file = await this.files.findById(fileId);
    if (!file) throw fail.not_found('File not found.');
    const transfer = await this.transferService.requireOwned(userId, file.transfer_id).catch(() => {
      throw fail.not_found('File not found.');
    });
    this.assertLive(transfer);
    return { transfer, file: requireComplete(file), audience: 'owner' };
  }

  /** A signed URL is a capability on its own; it dies with its expiry or its transfer. */
  async signedFile(fileId: string, expires: string, signature: string): Promise<FileDownload> {
    if (!this.signer.verifyDownload(fileId, expires, signature, this.clock.now().getTime())) {
      throw fail.invalid_signature('The download link is invalid or has expired.');
    }
    const file = await this.files.findById(fileId);
    const transfer = file && (await this.transfers.findById(file.transfer_id));
    if (!file || !transfer) throw fail.not_found('File not found.');
    assertNotRemoved(transfer);
    this.assertLive(transfer);
    if (!(await this.owners.isActive(transfer.user_id))) throw fail.not_found('File not found.');
    this.assertFinalized(transfer);
    return { transfer, file: requireComplete(file), audience: 'recipient' };
  }

  /**
   * What a link leads to, under the same rules for the shared link and a recipient's own: only
   * finalized, live transfers serve recipients. A shared link the owner turned off, a removed
   * recipient's link and a purged transfer's are 404, as if they never existed; so are the links
   * of a disabled account's live transfers while it stays disabled (an account being deleted has
   * deleted transfers: 410). A transfer an administrator removed is 410 transfer_removed, before
   * and after its purge.
   */
  async openLink(link: LinkRef): Promise<LinkVisit> {
    const visit = 'slug' in link ? await this.bySlug(link.slug) : await this.byToken(link.token);
    if (!visit) throw fail.not_found('Transfer not found.');
    assertNotRemoved(visit.transfer);
    this.assertLive(visit.transfer);
    if (!(await this.owners.isActive(visit.transfer.user_id))) throw fail.not_found('Transfer not found.');
    this.assertFinalized(visit.transfer);
    return visit;
  }

  private async bySlug(slug: string): Promise<LinkVisit | null> {
    const transfer = await this.transfers.findBySlug(slug);
    return transfer && transfer.public_link !== 0 ? { transfer, recipient: null } : null;
  }

  private async byToken(token: string): Promise<LinkVisit | null> {
    const recipient = await this.recipients.findByToken(token);
    if (!recipient || recipient.revoked_at !== null) return null;
    const transfer = await this.transfers.findById(recipient.transfer_id);
    return transfer && (transfer.purged_at === null || transfer.takedown_at) ? { transfer, recipient } : null;
  }

  /** Throws 401 unless the transfer has no password or the access token was issued for it. */
  assertUnlocked(transfer: TransferWithTotals, accessToken: string | undefined): void {
    if (!transfer.password_hash) return;
    const now = this.clock.now().getTime();
    if (!accessToken || !this.signer.verifyAccessToken(accessToken, transfer.id, transfer.password_hash, now)) {
      throw fail.password_required('This transfer is password protected; unlock it first.');
    }
  }

  /** The files a recipient sees listed: the complete ones (the caller checked the transfer is public and unlocked). */
  async listedFiles(transfer: TransferWithTotals): Promise<FileRow[]> {
    return (await this.files.listForTransfer(transfer.id)).filter((f) => f.state === 'complete');
  }

  async publicFile(link: LinkRef, fileId: string, tokenFor: AccessTokenLookup): Promise<FileDownload> {
    const visit = await this.openLink(link);
    const { transfer } = visit;
    this.assertUnlocked(transfer, tokenFor(transfer.id));
    const file = await this.files.findById(fileId);
    if (!file || file.transfer_id !== transfer.id) throw fail.not_found('File not found.');
    return { transfer, file: requireComplete(file), audience: 'recipient', visit };
  }

  async ownerZip(userId: string, transferId: string): Promise<ZipDownload> {
    const transfer = await this.transferService.requireOwned(userId, transferId);
    this.assertLive(transfer);
    return this.zip(transfer, 'owner');
  }

  async publicZip(link: LinkRef, tokenFor: AccessTokenLookup): Promise<ZipDownload> {
    const visit = await this.openLink(link);
    this.assertUnlocked(visit.transfer, tokenFor(visit.transfer.id));
    return { ...(await this.zip(visit.transfer, 'recipient')), visit };
  }

  /**
   * Charges a recipient's request against max_downloads: `bytes` come out of the byte allowance
   * and a counted request (a GET from byte 0) also takes one download, atomically, so exactly one
   * of two racing requests gets the last one. Answers how to refund bytes that were never sent.
   * Owners are never charged nor limited.
   */
  async admit(transfer: TransferWithTotals, fileIds: string[], audience: Audience, counts: boolean, bytes: number): Promise<Refund> {
    if (audience === 'owner') return noRefund;
    // Bytes that sat in socket buffers when a client dropped are refunded as "sent"; the slack lets
    // that client resume anyway, and bounds what anyone can take beyond the allowance overall.
    if (!(await this.transfers.reserveDownload(transfer.id, bytes, counts, resumeSlack(transfer)))) throw limitReached();
    if (counts) await this.files.incrementDownloads(fileIds);
    if (transfer.max_downloads === null || bytes === 0) return noRefund;
    return (unsent: number) => (unsent > 0 ? this.transfers.refundBytes(transfer.id, unsent).then(() => undefined) : Promise.resolve());
  }

  /**
   * Throws 410 download_limit_reached when a recipient's whole download of `bytes` would be
   * refused (the conditions `admit` applies); charges nothing.
   */
  assertAllowanceLeft(transfer: TransferWithTotals, audience: Audience, bytes: number): void {
    if (audience === 'owner' || transfer.max_downloads === null) return;
    const allowance = transfer.max_downloads * transfer.size + resumeSlack(transfer);
    if (transfer.download_count >= transfer.max_downloads || (transfer.bytes_served ?? 0) + bytes > allowance) throw limitReached();
  }

  open(file: FileRow, range?: ByteRange): Promise<Readable> {
    return this.stores.get(file.store_id).read(file.storage_key, range);
  }

  /**
   * A short-lived presigned GET that the object store answers itself (FERRY_S3_REDIRECT_DOWNLOADS),
   * with the download's own headers baked in; null when the file's store cannot sign URLs.
   */
  async presignedUrl(file: FileRow, headers: { contentDisposition: string; contentType: string }): Promise<string | null> {
    if (!this.redirectDownloads) return null;
    const presigned = this.stores.get(file.store_id).capabilities.presignedGet;
    if (!presigned || !file.storage_key) return null;
    return presigned.presignGet(file.storage_key, REDIRECT_TTL_SECONDS, headers);
  }

  private zip(transfer: TransferWithTotals, audience: Audience): Promise<ZipDownload> {
    return this.files.listForTransfer(transfer.id).then((all) => {
      const files = all.filter((f) => f.state === 'complete');
      if (files.length === 0) throw fail.not_found('Files not found.');
      const names = sanitizeZipEntryNames(files.map((f) => f.name), { folders: true });
      const plan = planZip(
        files.map((file, i) => ({
          name: names[i]!,
          size: file.size,
          crc32: file.crc32 ?? 0,
          mtime: new Date(file.completed_at ?? file.created_at),
          open: (start: number, end: number) => this.open(file, { start, end }),
        })),
      );
      return { transfer, files, plan, audience };
    });
  }

  /**
   * Recipients reach a transfer once it is finalized. A link or signed URL handed out earlier
   * says so (the holder already knows the transfer exists), rather than looking gone or used up.
   */
  private assertFinalized(transfer: TransferWithTotals): void {
    if (transfer.state !== 'ready') throw transferNotReady();
  }

  private assertLive(transfer: TransferWithTotals): void {
    const state = effectiveState(transfer, this.clock.now());
    if (state === 'expired') throw fail.transfer_expired('This transfer has expired.');
    if (state === 'deleted') throw fail.transfer_deleted('This transfer has been deleted.');
  }
}

/** An administrator's removal is told as such on every recipient path, whatever else holds. */
function assertNotRemoved(transfer: TransferWithTotals): void {
  if (transfer.takedown_at) throw fail.transfer_removed();
}

function requireComplete(file: FileRow): FileRow {
  if (file.state !== 'complete') throw fail.file_incomplete('This file has not been completely uploaded yet.');
  return file;
}

const transferNotReady = () =>
  fail.transfer_not_ready('This transfer is still being uploaded; try again once the sender has finished.');
const resumeSlack = (transfer: TransferWithTotals) => Math.min(RESUME_SLACK_BYTES, Math.floor(transfer.size / 2));
const limitReached = () => fail.download_limit_reached('This transfer has reached its download limit.');
