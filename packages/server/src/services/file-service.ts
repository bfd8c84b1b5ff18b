import type { Readable } from 'node:stream';
import type { Multipart } from '@fastify/multipart';
import { AppError, fail, transferClosed } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import type { PlanLimits } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { FilesRepository, FileRow } from '../repositories/files-repository.ts';
import type { DbOrTx, TransferWithTotals } from '../repositories/transfers-repository.ts';
import type { TransferService } from './transfer-service.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { StorageReservation } from './storage-reservation.ts';
import type { DeclaredFileFacts, FileRequestCaps } from './file-request-caps.ts';
import type { Principal } from './principal.ts';
import { prepareDeclaredFiles, type FileDeclaration } from './file-declarations.ts';
import { sizeMismatch, sizeTooLarge, storeVerified } from './verified-write.ts';

/** Files of a transfer: declaring them, receiving their bytes in one request, removing them. */
export class FileService {
  constructor(
    private readonly db: Db,
    private readonly files: FilesRepository,
    private readonly transfers: TransferService,
    private readonly stores: BlobStoreRegistry,
    private readonly clock: Clock,
    private readonly plan: PlanLimits,
    private readonly reservation: StorageReservation,
    /** A file request's caps, checked in the transaction of every declaration into its transfers. */
    private readonly caps: FileRequestCaps,
    private readonly partSize: number,
    /** Aborts a pending file's parts sent straight to object storage (their URLs die with it). */
    private readonly abortDirectUploads: (fileIds: string[]) => Promise<void> = async () => undefined,
  ) {}

  /** A JSON declaration by the owner, or by an upload token into its own transfer. */
  async declare(principal: Principal, transferId: string, declaration: FileDeclaration): Promise<FileRow> {
    const transfer = await this.transfers.openForUpload(principal, transferId);
    return this.reservation.reserve(principal.userId, reservable(declaration.size), async (tx) => {
      const existing = await this.files.listForTransfer(transfer.id, tx);
      const [row] = prepareDeclaredFiles(transfer.id, [declaration], existing, this.plan, this.stores.defaultStoreId, this.clock.now(), this.partSize);
      await this.insertDeclared(tx, transfer, row!);
      return row!;
    });
  }

  /**
   * Declares a file on behalf of an upload protocol (tus with a filename, the chunk flow): the
   * caller may be an upload token, pinned to its transfer. `clientFileId` is the client's own id
   * (X-File-Id); declaring it twice returns the first file, so racing first chunks agree.
   */
  async declareForUpload(principal: Principal, transferId: string, declaration: FileDeclaration & { clientFileId?: string; partCount?: number }): Promise<FileRow> {
    const transfer = await this.transfers.openForUpload(principal, transferId);
    if (declaration.clientFileId !== undefined) {
      const existing = await this.files.findByClientId(transfer.id, declaration.clientFileId);
      if (existing) return existing;
    }
    try {
      return await this.reservation.reserve(principal.userId, reservable(declaration.size), async (tx) => {
        const existing = await this.files.listForTransfer(transfer.id, tx);
        const [row] = prepareDeclaredFiles(transfer.id, [declaration], existing, this.plan, this.stores.defaultStoreId, this.clock.now(), this.partSize);
        const file: FileRow = { ...row!, client_file_id: declaration.clientFileId ?? null, part_count: declaration.partCount ?? null };
        await this.insertDeclared(tx, transfer, file);
        return file;
      });
    } catch (error) {
      // A concurrent first chunk of the same client file won the insert: use its row.
      if (declaration.clientFileId !== undefined) {
        const winner = await this.files.findByClientId(transfer.id, declaration.clientFileId);
        if (winner) return winner;
      }
      throw error;
    }
  }

  /**
   * A file about to stream in before it is declared (a tus upload whose length comes late),
   * against its transfer's file request; the declaration decides again.
   */
  async checkRequestCaps(transfer: Pick<TransferWithTotals, 'file_request_id'>, file: DeclaredFileFacts): Promise<void> {
    await this.caps.precheck(transfer.file_request_id, file);
  }

  /** The bytes of a part of a file not declared yet must fit the transfer's file request, if any. */
  async checkRequestBytes(transfer: Pick<TransferWithTotals, 'file_request_id'>, size: number): Promise<void> {
    await this.caps.precheckBytes(transfer.file_request_id, size);
  }

  async list(userId: string, transferId: string): Promise<FileRow[]> {
    await this.transfers.requireOwned(userId, transferId);
    return this.files.listForTransfer(transferId);
  }

  /** A file of one of the caller's live transfers, else 404 (no oracle for other accounts). */
  async getOwned(userId: string, fileId: string): Promise<{ file: FileRow; transfer: TransferWithTotals }> {
    const file = await this.files.findById(fileId);
    if (!file) throw fail.not_found('File not found.');
    const transfer = await this.transfers.requireOwned(userId, file.transfer_id).catch(() => {
      throw fail.not_found('File not found.');
    });
    return { file, transfer };
  }

  async delete(userId: string, fileId: string): Promise<void> {
    const { file, transfer } = await this.getOwned(userId, fileId);
    this.assertOpen(transfer);
    if (file.state !== 'complete') await this.abortDirectUploads([file.id]);
    await this.files.delete(file.id);
    if (file.storage_key) await this.stores.get(file.store_id).delete(file.storage_key);
  }

  /**
   * Streams `body` into the store under a temporary key, checking size and computing digests on
   * the way, and makes it visible only when exactly the declared bytes arrived. Concurrent
   * uploads of one file each write their own blob; the first to complete wins, the others are
   * discarded, so a stored blob always matches the digest recorded for it.
   */
  async receiveContent(
    principal: Principal,
    transferId: string,
    fileId: string,
    body: Readable,
    contentLength: number | undefined,
  ): Promise<FileRow> {
    const transfer = await this.transfers.openForUpload(principal, transferId);
    const file = await this.files.findById(fileId);
    if (!file || file.transfer_id !== transfer.id) throw fail.not_found('File not found.');
    if (file.state === 'complete') throw fail.file_complete('This file is already uploaded.');
    if (contentLength !== undefined && contentLength > file.size) throw sizeTooLarge(file.size);
    if (contentLength !== undefined && contentLength < file.size) throw sizeMismatch(file.size, contentLength);

    const store = this.stores.get(file.store_id);
    // Read through an iterator that leaves the request alone when we stop early (body too long):
    // pipeline() would destroy the request, and with it the socket the 413 must be answered on.
    const { digest, key } = await storeVerified(store, body.iterator({ destroyOnReturn: false }), { maxSize: file.size, exactSize: file.size });
    const won = await this.files.markComplete(file.id, { sha256: digest.sha256, crc32: digest.crc32, storage_key: key }, iso(this.clock.now()));
    if (!won) {
      await store.delete(key);
      throw fail.file_complete('This file is already uploaded.');
    }
    return (await this.files.findById(file.id))!;
  }

  /**
   * multipart/form-data: optional `size` and `content_type` fields, then one file part. The file
   * row appears only once its bytes are stored and checked, in one step, so no reader ever sees it
   * half-written.
   */
  async receiveMultipart(principal: Principal, transferId: string, parts: AsyncIterableIterator<Multipart>): Promise<FileRow> {
    const userId = principal.userId;
    const transfer = await this.transfers.openForUpload(principal, transferId);
    const fields: Record<string, string> = {};
    for await (const part of clientParts(parts)) {
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      const declaredSize = fields.size === undefined ? undefined : parseStrictSize(fields.size);
      const declaration = { name: part.filename, size: declaredSize ?? 0, content_type: fields.content_type ?? part.mimetype };
      const existing = await this.files.listForTransfer(transfer.id);
      // Checks name, count and plan before a byte is stored; the real size is checked again below.
      const [facts] = prepareDeclaredFiles(transfer.id, [declaration], existing, this.plan, this.stores.defaultStoreId, this.clock.now(), this.partSize);
      const planRoom = this.plan.maxTransferSizeBytes - existing.reduce((sum, f) => sum + f.size, 0);
      // A file request's caps bound it too (checked again, under its lock, when the row is written).
      const requestRoom = await this.caps.precheck(transfer.file_request_id, facts!);
      const room = requestRoom === null ? planRoom : Math.min(planRoom, requestRoom);
      // A size field is a declaration like any other; without one, the bytes are the only measure.
      await this.reservation.assertRoom(userId, declaredSize ?? 0);
      const store = this.stores.defaultStore;
      const stored = await storeVerified(store, part.file, { maxSize: declaredSize ?? room, exactSize: declaredSize });
      try {
        return await this.db.transaction().execute(async (tx) => {
          const now = this.clock.now();
          const current = await this.files.listForTransfer(transfer.id, tx);
          const [row] = prepareDeclaredFiles(transfer.id, [{ ...declaration, size: stored.digest.size }], current, this.plan, store.id, now, this.partSize);
          const complete: FileRow = {
            ...row!,
            state: 'complete',
            sha256: stored.digest.sha256,
            crc32: stored.digest.crc32,
            storage_key: stored.key,
            completed_at: iso(now),
          };
          await this.insertDeclared(tx, transfer, complete);
          return complete;
        });
      } catch (error) {
        await store.delete(stored.key);
        throw error;
      }
    }
    throw fail.missing_file('The multipart body has no file part.');
  }

  /** Every new file row of an existing transfer is written here, after its request's caps. */
  private async insertDeclared(tx: DbOrTx, transfer: TransferWithTotals, row: FileRow): Promise<void> {
    await this.caps.admit(tx, transfer.file_request_id, [row]);
    await this.files.insert(row, tx);
  }

  private assertOpen(transfer: TransferWithTotals): void {
    const state = effectiveState(transfer, this.clock.now());
    if (state === 'ready') throw fail.transfer_finalized('The transfer is finalized; its files can no longer change.');
    if (state !== 'uploading') throw transferClosed(`The transfer is ${state}.`);
  }
}

/**
 * The parts of a multipart body. Errors of the parser itself (no boundary, malformed part
 * headers) are the client's, not ours: 400 instead of 500. Limit errors keep their own status.
 */
async function* clientParts(parts: AsyncIterableIterator<Multipart>): AsyncGenerator<Multipart> {
  try {
    for (;;) {
      let next: IteratorResult<Multipart>;
      try {
        next = await parts.next();
      } catch (error) {
        if (error instanceof AppError || typeof (error as { statusCode?: unknown })?.statusCode === 'number') throw error;
        throw fail.invalid_multipart(`The multipart body is malformed: ${(error as Error)?.message ?? 'unreadable'}.`);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await parts.return?.();
  }
}

/** The bytes a declaration reserves; a size that is not a byte count reserves nothing and is refused by the declaration's own checks. */
const reservable = (size: number): number => (Number.isSafeInteger(size) && size > 0 ? size : 0);

function parseStrictSize(raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw fail.validation_failed('size must be a whole number of bytes.');
  return Number(raw);
}
