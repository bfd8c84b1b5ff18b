import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { Multipart } from '@fastify/multipart';
import { randomBase36 } from '../ids.ts';
import { AppError, badRequest, conflict, notFound, storageFull } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { effectiveState } from '../domain/transfer-rules.ts';
import { StorageFullError, type BlobStore } from '../storage/blob-store.ts';
import type { PlanLimits } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { FilesRepository, FileRow } from '../repositories/files-repository.ts';
import type { TransferWithTotals } from '../repositories/transfers-repository.ts';
import type { TransferService } from './transfer-service.ts';
import type { BlobStoreRegistry } from './blob-store-registry.ts';
import { prepareDeclaredFiles, type FileDeclaration } from './file-declarations.ts';
import { DigestMeter, SizeExceededError } from './digest-meter.ts';

/** Files of a transfer: declaring them, receiving their bytes in one request, removing them. */
export class FileService {
  constructor(
    private readonly db: Db,
    private readonly files: FilesRepository,
    private readonly transfers: TransferService,
    private readonly stores: BlobStoreRegistry,
    private readonly clock: Clock,
    private readonly plan: PlanLimits,
  ) {}

  async declare(userId: string, transferId: string, declaration: FileDeclaration): Promise<FileRow> {
    const transfer = await this.openTransfer(userId, transferId);
    const [row] = await this.db.transaction().execute(async (tx) => {
      const existing = await this.files.listForTransfer(transfer.id, tx);
      const rows = prepareDeclaredFiles(transfer.id, [declaration], existing, this.plan, this.stores.defaultStoreId, this.clock.now());
      await this.files.insert(rows[0]!, tx);
      return rows;
    });
    return row!;
  }

  async list(userId: string, transferId: string): Promise<FileRow[]> {
    await this.transfers.requireOwned(userId, transferId);
    return this.files.listForTransfer(transferId);
  }

  /** A file of one of the caller's live transfers, else 404 (no oracle for other accounts). */
  async getOwned(userId: string, fileId: string): Promise<{ file: FileRow; transfer: TransferWithTotals }> {
    const file = await this.files.findById(fileId);
    if (!file) throw notFound('File');
    const transfer = await this.transfers.requireOwned(userId, file.transfer_id).catch(() => {
      throw notFound('File');
    });
    return { file, transfer };
  }

  async delete(userId: string, fileId: string): Promise<void> {
    const { file, transfer } = await this.getOwned(userId, fileId);
    this.assertOpen(transfer);
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
    userId: string,
    transferId: string,
    fileId: string,
    body: Readable,
    contentLength: number | undefined,
  ): Promise<FileRow> {
    const transfer = await this.openTransfer(userId, transferId);
    const file = await this.files.findById(fileId);
    if (!file || file.transfer_id !== transfer.id) throw notFound('File');
    if (file.state === 'complete') throw conflict('This file is already uploaded.', 'file_complete');
    if (contentLength !== undefined && contentLength > file.size) throw sizeTooLarge(file.size);
    if (contentLength !== undefined && contentLength < file.size) throw sizeMismatch(file.size, contentLength);

    const store = this.stores.get(file.store_id);
    // Read through an iterator that leaves the request alone when we stop early (body too long):
    // pipeline() would destroy the request, and with it the socket the 413 must be answered on.
    const { digest, key } = await storeVerified(store, body.iterator({ destroyOnReturn: false }), file.size, file.size);
    const won = await this.files.markComplete(file.id, { sha256: digest.sha256, crc32: digest.crc32, storage_key: key }, iso(this.clock.now()));
    if (!won) {
      await store.delete(key);
      throw conflict('This file is already uploaded.', 'file_complete');
    }
    return (await this.files.findById(file.id))!;
  }

  /**
   * multipart/form-data: optional `size` and `content_type` fields, then one file part. The file
   * row appears only once its bytes are stored and checked, in one step, so no reader ever sees it
   * half-written.
   */
  async receiveMultipart(userId: string, transferId: string, parts: AsyncIterableIterator<Multipart>): Promise<FileRow> {
    const transfer = await this.openTransfer(userId, transferId);
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
      prepareDeclaredFiles(transfer.id, [declaration], existing, this.plan, this.stores.defaultStoreId, this.clock.now());
      const room = this.plan.maxTransferSizeBytes - existing.reduce((sum, f) => sum + f.size, 0);
      const store = this.stores.defaultStore;
      const stored = await storeVerified(store, part.file, declaredSize ?? room, declaredSize);
      try {
        return await this.db.transaction().execute(async (tx) => {
          const now = this.clock.now();
          const current = await this.files.listForTransfer(transfer.id, tx);
          const [row] = prepareDeclaredFiles(transfer.id, [{ ...declaration, size: stored.digest.size }], current, this.plan, store.id, now);
          const complete: FileRow = {
            ...row!,
            state: 'complete',
            sha256: stored.digest.sha256,
            crc32: stored.digest.crc32,
            storage_key: stored.key,
            completed_at: iso(now),
          };
          await this.files.insert(complete, tx);
          return complete;
        });
      } catch (error) {
        await store.delete(stored.key);
        throw error;
      }
    }
    throw badRequest('The multipart body has no file part.', 'missing_file');
  }

  private async openTransfer(userId: string, transferId: string): Promise<TransferWithTotals> {
    const transfer = await this.transfers.requireOwned(userId, transferId);
    this.assertOpen(transfer);
    return transfer;
  }

  private assertOpen(transfer: TransferWithTotals): void {
    const state = effectiveState(transfer, this.clock.now());
    if (state === 'ready') throw conflict('The transfer is finalized; its files can no longer change.', 'transfer_finalized');
    if (state !== 'uploading') throw conflict(`The transfer is ${state}.`, 'transfer_expired');
  }
}

/**
 * Streams a body into `store` under a temporary key with a size cap and digests, and commits it
 * under a fresh key only when the size is right: a short or long body never becomes visible.
 */
async function storeVerified(store: BlobStore, body: Readable | AsyncIterable<Buffer>, maxSize: number, exactSize?: number) {
  const meter = new DigestMeter(maxSize);
  const written = store.writeTemp(meter);
  try {
    const copied = Promise.all([pipeline(body, meter), written]);
    await (body instanceof Readable ? Promise.race([copied, closedEarly(body)]) : copied);
  } catch (error) {
    meter.destroy();
    await written.then((t) => store.discardTemp(t.tempKey)).catch(() => undefined);
    throw mapWriteError(error, maxSize);
  }
  const temp = await written;
  const digest = meter.result();
  if (exactSize !== undefined && digest.size !== exactSize) {
    await store.discardTemp(temp.tempKey);
    throw sizeMismatch(exactSize, digest.size);
  }
  const key = `files/${randomBase36(26)}`;
  await store.commit(temp.tempKey, key);
  return { key, digest };
}

/**
 * Rejects when `stream` is destroyed before its end. busboy gives up on a file part (form cut
 * short, a form limit hit) by destroying it without an error, and pipeline() then waits forever.
 */
function closedEarly(stream: Readable): Promise<never> {
  return new Promise((_resolve, reject) => {
    const interrupted = () => reject(badRequest('The form ended before its file part did (cut short, or over a form limit).', 'upload_interrupted'));
    if (stream.destroyed && !stream.readableEnded) interrupted();
    else stream.once('close', () => stream.readableEnded || interrupted());
  });
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
        throw badRequest(`The multipart body is malformed: ${(error as Error)?.message ?? 'unreadable'}.`, 'invalid_multipart');
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await parts.return?.();
  }
}

function parseStrictSize(raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw badRequest('size must be a whole number of bytes.');
  return Number(raw);
}

const sizeTooLarge = (size: number) =>
  new AppError(413, 'payload_too_large', `The body is larger than the declared size of ${size} bytes.`, { declared_size: size });

const sizeMismatch = (size: number, received: number) =>
  new AppError(400, 'size_mismatch', `Received ${received} bytes; the file was declared with ${size}.`, {
    declared_size: size,
    received_size: received,
  });

function mapWriteError(error: unknown, size: number): unknown {
  if (error instanceof SizeExceededError) return sizeTooLarge(size);
  if (error instanceof StorageFullError) return storageFull();
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // The client went away or sent a broken body: nothing was stored, and the answer is theirs.
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR') {
    return badRequest('The upload was interrupted before the declared size arrived.', 'upload_interrupted');
  }
  return error;
}

