import { fail, transferClosed } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { effectiveState, SLUG_RESERVATION_DAYS } from '../domain/transfer-rules.ts';
import type { PlanLimits } from '../config.ts';
import type { Db } from '../db/database.ts';
import { SlugTakenError, type DbOrTx, type TransfersRepository, type TransferRow, type TransferWithTotals, type TransferListQuery } from '../repositories/transfers-repository.ts';
import type { FilesRepository, FileRow } from '../repositories/files-repository.ts';
import type { RecipientService } from './recipient-service.ts';
import { prepareDeclaredFiles } from './file-declarations.ts';
import type { Principal } from './principal.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { StorageReservation } from './storage-reservation.ts';
import { newUploadToken } from './upload-tokens.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import { fileData, transferData } from '../events/event-data.ts';
import type { FileRequestCaps } from './file-request-caps.ts';
import { newTransferRow, transferChanges, type TransferInput } from './transfer-input.ts';

export type { TransferInput } from './transfer-input.ts';

/** A transfer with the addresses of its live recipients, oldest first. */
export type TransferWithRecipients = TransferWithTotals & { recipient_emails: string[] };

/** A file's bytes already stored and checked, before any row names them. */
export interface StoredFile {
  name: string;
  content_type?: string;
  size: number;
  sha256: string;
  crc32: number;
  store_id: string;
  storage_key: string;
}

export interface TransferDetail {
  transfer: TransferWithRecipients;
  files: FileRow[];
  /** Only when just issued (creation); it is stored hashed and never shown again. */
  uploadToken?: string;
}

/** Transfer envelopes: creation, the owner's reads and edits, finalize, soft delete. */
export class TransferService {
  constructor(
    private readonly db: Db,
    private readonly transfers: TransfersRepository,
    private readonly files: FilesRepository,
    private readonly stores: BlobStoreRegistry,
    private readonly clock: Clock,
    private readonly plan: PlanLimits,
    private readonly reservation: StorageReservation,
    private readonly caps: FileRequestCaps,
    private readonly partSize: number,
    private readonly events: DomainEvents,
    private readonly recipients: RecipientService,
    /** Aborts parts sent straight to object storage, so their presigned URLs die with the transfer. */
    private readonly abortDirectUploads: (fileIds: string[]) => Promise<void> = async () => undefined,
  ) {}

  async create(owner: Principal, input: TransferInput & { title: string }): Promise<TransferDetail> {
    const now = this.clock.now();
    const uploadToken = newUploadToken();
    const row = await newTransferRow(owner.userId, input, this.plan, now, uploadToken.hash);
    const recipients = this.recipients.checkEmails(input.recipients ?? []);
    const fileRows = prepareDeclaredFiles(row.id, input.files ?? [], [], this.plan, this.stores.defaultStoreId, now, this.partSize);
    const reserveRoom = (work: (tx: DbOrTx) => Promise<void>) => this.reservation.reserve(owner.userId, fileRows.reduce((sum, f) => sum + f.size, 0), work);
    await this.claimingSlug(owner.userId, input.slug ? row.slug : null, async (tx) => {
      await this.transfers.insert(row, tx);
      for (const file of fileRows) await this.files.insert(file, tx);
      if (recipients.length > 0) await this.recipients.replaceIn(row.id, recipients, false, tx);
      await this.events.emit('transfer.created', owner.userId, { transfer: transferData(row) }, tx);
    }, reserveRoom);
    return { ...(await this.get(owner.userId, row.id)), uploadToken: uploadToken.token };
  }

  /**
   * A transfer born finalized around one file whose bytes are already stored and checked (the
   * one-request upload): transfer, complete file and ready state are one transaction, so nobody
   * ever sees it half-made. The caller deletes the blob when this throws. No upload token: there
   * is nothing left to upload.
   */
  async createReadyWithFile(owner: Principal, input: TransferInput & { title: string }, file: StoredFile): Promise<TransferDetail> {
    const now = this.clock.now();
    const row: TransferRow = { ...(await newTransferRow(owner.userId, input, this.plan, now, null)), state: 'ready', finalized_at: iso(now) };
    const [declared] = prepareDeclaredFiles(row.id, [{ name: file.name, size: file.size, content_type: file.content_type }], [], this.plan, file.store_id, now, this.partSize);
    const complete: FileRow = { ...declared!, state: 'complete', sha256: file.sha256, crc32: file.crc32, storage_key: file.storage_key, completed_at: iso(now) };
    const recipients = this.recipients.checkEmails(input.recipients ?? []);
    await this.claimingSlug(owner.userId, input.slug ? row.slug : null, async (tx) => {
      await this.transfers.insert(row, tx);
      await this.files.insert(complete, tx);
      if (recipients.length > 0) await this.recipients.replaceIn(row.id, recipients, false, tx);
      const data = { transfer: { ...transferData(row), file_count: 1, size: complete.size } };
      await this.events.emit('transfer.created', owner.userId, data, tx);
      await this.events.emit('file.uploaded', owner.userId, { ...data, file: fileData(complete) }, tx);
      await this.events.emit('transfer.ready', owner.userId, data, tx);
    });
    return this.get(owner.userId, row.id);
  }

  /**
   * Chunk uploads into a file declared up front: records the chunk count its first chunk
   * announced, once (later calls change nothing). Answers the file as it now is.
   */
  async claimChunkCount(fileId: string, count: number): Promise<FileRow | undefined> {
    await this.files.setChunkCountOnce(fileId, count);
    return this.files.findById(fileId);
  }

  async list(query: Omit<TransferListQuery, 'nowIso'>): Promise<{ rows: TransferWithRecipients[]; total: number }> {
    const { rows, total } = await this.transfers.list({ ...query, nowIso: iso(this.clock.now()) });
    const emails = await this.recipients.liveEmails(rows.map((r) => r.id));
    return { rows: rows.map((r) => ({ ...r, recipient_emails: emails.get(r.id) ?? [] })), total };
  }

  async get(userId: string, id: string): Promise<TransferDetail> {
    const transfer = await this.requireOwned(userId, id);
    const emails = await this.recipients.liveEmails([id]);
    return { transfer: { ...transfer, recipient_emails: emails.get(id) ?? [] }, files: await this.files.listForTransfer(id) };
  }

  async update(owner: Principal, id: string, input: TransferInput): Promise<TransferDetail> {
    const transfer = await this.requireOwned(owner.userId, id);
    const now = this.clock.now();
    if (effectiveState(transfer, now) === 'expired') {
      throw transferClosed('An expired transfer can no longer be changed.');
    }
    if (input.files !== undefined) throw fail.validation_failed('Add files with POST /api/v1/transfers/{id}/files.');
    const { changes, newSlug } = await transferChanges(transfer, input, this.plan, now);
    const recipients = input.recipients === undefined ? undefined : this.recipients.checkEmails(input.recipients);
    await this.claimingSlug(owner.userId, newSlug, async (tx) => {
      await this.transfers.update(id, changes, tx);
      const changed = Object.keys(changes).filter((k) => k !== 'updated_at' && k !== 'slug_key').map((k) => (k === 'password_hash' ? 'password' : k));
      if (recipients !== undefined) changed.push('recipients');
      await this.events.emit('transfer.updated', owner.userId, { transfer: transferData({ ...transfer, ...changes }), changed }, tx);
      // Read after the write above, which holds the row: a finalize cannot slip in between.
      if (recipients !== undefined) await this.recipients.replaceIn(id, recipients, (await this.transfers.findById(id, tx))?.state === 'ready', tx);
    });
    return this.get(owner.userId, id);
  }

  /**
   * A transfer opened through a file request for one uploader: owned by the requester, empty,
   * with an upload token (the uploader's only credential) that is answered once.
   */
  async createForRequest(
    requesterId: string,
    request: { id: string; title: string },
    uploader: { name: string | null; email: string | null; message: string | null },
  ): Promise<{ transfer: TransferWithTotals; uploadToken: string }> {
    const now = this.clock.now();
    const uploadToken = newUploadToken();
    const row: TransferRow = {
      ...(await newTransferRow(requesterId, { title: request.title }, this.plan, now, uploadToken.hash)),
      file_request_id: request.id,
      uploader_name: uploader.name,
      uploader_email: uploader.email,
      uploader_message: uploader.message,
    };
    await this.transfers.insert(row);
    return { transfer: await this.requireOwned(requesterId, row.id), uploadToken: uploadToken.token };
  }

  /**
   * Idempotent: a ready transfer finalizes again with 200; exactly one caller makes the change.
   * An upload token finalizes its own transfer only (any other is 404).
   */
  async finalize(principal: Principal, id: string): Promise<TransferDetail> {
    const userId = principal.userId;
    if (principal.transferId !== undefined && principal.transferId !== id) throw fail.not_found('Transfer not found.');
    const transfer = await this.requireOwned(userId, id);
    const now = this.clock.now();
    const state = effectiveState(transfer, now);
    if (state === 'ready') return this.get(userId, id);
    if (state !== 'uploading') throw transferClosed(`A ${state} transfer cannot be finalized.`);
    const files = await this.files.listForTransfer(id);
    if (files.length === 0) throw fail.no_files('A transfer needs at least one file before it is finalized.');
    const incomplete = files.filter((f) => f.state !== 'complete');
    if (incomplete.length > 0) {
      throw fail.files_incomplete(`${incomplete.length} file(s) are not completely uploaded.`, { details: { incomplete_file_ids: incomplete.map((f) => f.id) } });
    }
    await this.markReady(transfer, now);
    return this.get(userId, id);
  }

  /**
   * The transfer `principal` may upload into: its own, open (uploading) transfer, and for an
   * upload token only the token's transfer (any other is 404, as if it did not exist).
   */
  async openForUpload(principal: Principal, id: string): Promise<TransferWithTotals> {
    if (principal.transferId !== undefined && principal.transferId !== id) throw fail.not_found('Transfer not found.');
    const transfer = await this.requireOwned(principal.userId, id);
    const state = effectiveState(transfer, this.clock.now());
    if (state === 'ready') throw fail.transfer_finalized('The transfer is finalized; its files can no longer change.');
    if (state !== 'uploading') throw transferClosed(`The transfer is ${state}.`);
    // Opened through a file request: uploads stop when the request ends (what came in stays).
    await this.caps.assertOpen(transfer.file_request_id);
    return transfer;
  }

  /** Turns the transfer ready once every file is complete (the chunk flow needs no finalize call). */
  async readyIfComplete(id: string): Promise<boolean> {
    const files = await this.files.listForTransfer(id);
    if (files.length === 0 || files.some((f) => f.state !== 'complete')) return false;
    const transfer = await this.transfers.findById(id);
    return transfer ? this.markReady(transfer, this.clock.now()) : false;
  }

  /**
   * Every transfer turns ready here (finalize, or the last chunk of the chunk flow): exactly one
   * caller makes the change, and that one writes `transfer.ready` with it, and for a transfer
   * opened through a file request, `file_request.received` (the requester's notice follows).
   */
  private markReady(transfer: TransferWithTotals, now: Date): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const won = await this.transfers.markReady(transfer.id, iso(now), tx);
      if (!won) return false;
      const data = { transfer: transferData({ ...transfer, state: 'ready', finalized_at: iso(now) }) };
      await this.events.emit('transfer.ready', transfer.user_id, data, tx);
      if (transfer.file_request_id) {
        const uploader = { name: transfer.uploader_name ?? null, email: transfer.uploader_email ?? null, message: transfer.uploader_message ?? null };
        await this.events.emit('file_request.received', transfer.user_id, { file_request: { id: transfer.file_request_id }, ...data, uploader }, tx);
      }
      return true;
    });
  }

  /** Soft delete: the transfer leaves lists, its links answer 410, the sweeper purges its blobs later. */
  async delete(userId: string, id: string): Promise<void> {
    const transfer = await this.requireOwned(userId, id);
    const now = iso(this.clock.now());
    await this.db.transaction().execute(async (tx) => {
      await this.transfers.update(id, { state: 'deleted', deleted_at: now, updated_at: now }, tx);
      await this.events.emit('transfer.deleted', userId, { transfer: transferData({ ...transfer, state: 'deleted' }) }, tx);
    });
    const pending = (await this.files.listForTransfer(id)).filter((f) => f.state !== 'complete');
    // The deletion stands even if the bucket is unreachable now: the upload sweep aborts them later.
    await this.abortDirectUploads(pending.map((f) => f.id)).catch(() => undefined);
  }

  async requireOwned(userId: string, id: string): Promise<TransferWithTotals> {
    const transfer = await this.transfers.findForUser(userId, id);
    if (!transfer) throw fail.not_found('Transfer not found.');
    return transfer;
  }

  /**
   * Runs `write` in a transaction that may take `slug` for `userId`: a slug only reserved for that
   * account (or whose reservation ended) is freed first. Whether it is free is settled by the
   * unique slug key as the row is written, so of two racing claims exactly one wins; the other,
   * or a claim of a slug held or reserved elsewhere in any letter case, is 409 slug_taken.
   */
  private async claimingSlug(
    userId: string,
    slug: string | null,
    write: (tx: DbOrTx) => Promise<unknown>,
    /** The transaction to write in (the creation's room reservation runs it); a new one by default. */
    inTransaction: (work: (tx: DbOrTx) => Promise<void>) => Promise<unknown> = (work) => this.db.transaction().execute(work),
  ): Promise<void> {
    const reservedSince = iso(new Date(this.clock.now().getTime() - SLUG_RESERVATION_DAYS * 86_400_000));
    try {
      await inTransaction(async (tx) => {
        if (slug !== null) await this.transfers.releaseReservedSlug(slug, userId, reservedSince, tx);
        await write(tx);
      });
    } catch (error) {
      if (error instanceof SlugTakenError) throw fail.slug_taken('That slug is already in use.');
      throw error;
    }
  }
}
