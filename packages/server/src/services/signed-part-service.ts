import type { Readable } from 'node:stream';
import { AppError, fail } from '../errors.ts';
import type { FileRow } from '../repositories/files-repository.ts';
import type { UploadPartRow } from '../repositories/upload-parts-repository.ts';
import type { ExpectedChecksum } from './digest-meter.ts';
import { partCount } from './file-declarations.ts';
import type { Principal } from './principal.ts';
import type { UploadServiceDeps } from './upload-service-deps.ts';
import { sizeMismatch, sizeTooLarge } from './verified-write.ts';

/** How long a part upload URL stays valid: one hour, as WeTransfer's presigned S3 URLs. */
export const PART_URL_TTL_SECONDS = 3600;

/** What a signed part URL is made of; the HTTP layer turns it into a URL on the public origin. */
export interface PartGrant {
  partNumber: number;
  expiresAtSeconds: number;
  signature: string;
  /** On S3: the presigned UploadPart URL itself (parts then go straight to the bucket). */
  directUrl?: string;
}

export interface PartUpload {
  body: Readable | AsyncIterable<Buffer>;
  /** Content-Length when the client sent one (a chunked body has none). */
  contentLength?: number;
  /** Content-MD5 / Content-Digest the client sent, checked against the bytes. */
  checksums: ExpectedChecksum[];
}

export interface CompletedFile {
  file: FileRow;
  partNumbers: number;
  chunkSize: number;
}

/**
 * Signed part URLs (the WeTransfer flow): a file declared with a size is cut into parts of
 * `part_size` bytes (the last one holds the rest); the owner asks for a signed URL per part, PUTs
 * the parts in any order and in parallel, then completes the file, which joins the parts in order
 * through one SHA-256/CRC-32 pass (PartAssembly). Part numbers arrive parsed (whole numbers from
 * 1) and are checked here against the file's part count.
 */
export class SignedPartService {
  constructor(private readonly deps: UploadServiceDeps) {}

  /** A signed PUT URL for part `number` of a pending file of the caller's open transfer. */
  async grant(principal: Principal, transferId: string, fileId: string, number: number): Promise<PartGrant> {
    const file = await this.pendingFile(principal, transferId, fileId);
    const { count, chunkSize } = this.layout(file);
    partInRange(number, count);
    const expiresAtSeconds = Math.floor(this.deps.clock.now().getTime() / 1000) + PART_URL_TTL_SECONDS;
    const directUrl = this.deps.direct.enabled
      ? await this.deps.direct.partUrl(file, number, expectedPartSize(file.size, chunkSize, number), PART_URL_TTL_SECONDS)
      : undefined;
    return { partNumber: number, expiresAtSeconds, signature: this.deps.signer.signPart(file.id, number, expiresAtSeconds), directUrl };
  }

  /**
   * What a signed part URL stands for: the transfer's owner, pinned to that one transfer with
   * files:write only (the same shape as an upload token), so every later check is the one owners
   * get. 403 invalid_signature for a bad, foreign or expired signature.
   */
  async signedPrincipal(transferId: string, fileId: string, number: number, expires: string, signature: string): Promise<Principal> {
    if (!this.deps.signer.verifyPart(fileId, number, expires, signature, this.deps.clock.now().getTime())) {
      throw fail.invalid_signature('The part upload URL is invalid or has expired; request a new one from .../upload-url/{part_number}.');
    }
    const file = await this.deps.filesRepo.findById(fileId);
    // Signed URLs carry no credentials: the transfer's owner is looked up from the file.
    const transfer = file && (await this.deps.transfersRepo.findById(file.transfer_id));
    if (!file || !transfer || transfer.id !== transferId) throw fail.not_found('File not found.');
    if (!(await this.deps.owners.isActive(transfer.user_id))) throw fail.account_disabled('The account this upload URL belongs to is disabled.');
    return { userId: transfer.user_id, scopes: ['files:write'], via: 'upload_token', transferId: transfer.id };
  }

  /**
   * Stores one part. It must be exactly its size (chunk_size, or the remainder for the last):
   * longer stops reading with 413, shorter is 400 size_mismatch, a wrong client digest is 400
   * checksum_mismatch; in every such case nothing is kept and an earlier copy of the part stays.
   * A part sent again replaces the earlier one (S3 semantics).
   */
  async receivePart(principal: Principal, transferId: string, fileId: string, number: number, upload: PartUpload): Promise<{ partNumber: number; size: number }> {
    const file = await this.pendingFile(principal, transferId, fileId);
    const { count, chunkSize } = this.layout(file);
    partInRange(number, count);
    const expected = expectedPartSize(file.size, chunkSize, number);
    // A declared length decides before a byte is read; a chunked body is cut off while streaming.
    if (upload.contentLength !== undefined && upload.contentLength > expected) throw sizeTooLarge(expected);
    if (upload.contentLength !== undefined && upload.contentLength < expected) throw sizeMismatch(expected, upload.contentLength);
    const row = await this.deps.parts.storePart(file, number, upload.body, { maxSize: expected, exactSize: expected, expected: upload.checksums });
    return { partNumber: number, size: row.size };
  }

  /**
   * Joins the parts and completes the file. `claimedParts` (the client's part_numbers) must equal
   * the file's part count. Idempotent: a complete file answers as complete again, even once its
   * transfer is finalized, so a retried call after a lost answer is safe; concurrent calls wait for
   * the one assembling and make exactly one state change.
   */
  async complete(principal: Principal, transferId: string, fileId: string, claimedParts?: number): Promise<CompletedFile> {
    const file = await this.fileForCompletion(principal, transferId, fileId);
    const { count, chunkSize } = this.layout(file);
    checkPartNumbers(claimedParts, count);
    if (file.state === 'complete') return { file, partNumbers: count, chunkSize };
    const numbers = Array.from({ length: count }, (_, i) => i + 1);
    // Parts sent straight to S3 are completed there; parts sent through Ferry are joined here.
    if (this.deps.direct.enabled && count > 0 && (await this.deps.direct.find(file.id) || !(await this.hasFerryParts(file.id)))) {
      const done = await this.deps.direct.complete(file.id, (current, parts) => checkAssembly(current, parts, numbers, chunkSize));
      return { file: done, partNumbers: count, chunkSize };
    }
    const done = await this.deps.parts.assemble(file.id, numbers, (current, parts) => checkAssembly(current, parts, numbers, chunkSize));
    return { file: done, partNumbers: count, chunkSize };
  }

  private async hasFerryParts(fileId: string): Promise<boolean> {
    return (await this.deps.parts.list(fileId)).length > 0;
  }

  private async openFile(principal: Principal, transferId: string, fileId: string): Promise<FileRow> {
    const transfer = await this.deps.transfers.openForUpload(principal, transferId);
    const file = await this.deps.filesRepo.findById(fileId);
    if (!file || file.transfer_id !== transfer.id) throw fail.not_found('File not found.');
    return file;
  }

  private async pendingFile(principal: Principal, transferId: string, fileId: string): Promise<FileRow> {
    const file = await this.openFile(principal, transferId, fileId);
    if (file.state === 'complete') throw fail.file_complete('This file is already complete; its parts can no longer change.');
    return file;
  }

  /** The open file, or, once the transfer is finalized, the file if it is complete (a retry). */
  private async fileForCompletion(principal: Principal, transferId: string, fileId: string): Promise<FileRow> {
    try {
      return await this.openFile(principal, transferId, fileId);
    } catch (error) {
      // openForUpload checked ownership (and an upload token's pin) before the state it refused.
      if (!(error instanceof AppError) || error.code !== 'transfer_finalized') throw error;
      const file = await this.deps.filesRepo.findById(fileId);
      if (!file || file.transfer_id !== transferId) throw fail.not_found('File not found.');
      if (file.state !== 'complete') throw error;
      return file;
    }
  }

  /** Files declared with a transfer carry their part size; any other falls back to FERRY_PART_SIZE. */
  private layout(file: FileRow): { count: number; chunkSize: number } {
    const chunkSize = file.part_size ?? this.deps.config.uploads.partSizeBytes;
    return { count: partCount(file.size, chunkSize), chunkSize };
  }
}

function partInRange(number: number, count: number): void {
  if (number > count) {
    throw fail.invalid_part_number(count === 0 ? 'This file is empty and has no parts; complete it directly.' : `This file has ${count} part(s); the part number must be 1 to ${count}.`);
  }
}

/** Bytes part `number` must hold: chunk_size, except the last, which holds the rest. */
function expectedPartSize(size: number, chunkSize: number, number: number): number {
  return Math.min(chunkSize, size - (number - 1) * chunkSize);
}

function checkPartNumbers(claimed: number | undefined, count: number): void {
  if (claimed !== undefined && claimed !== count) {
    throw fail.invalid_part_numbers(`This file has ${count} part(s); part_numbers was ${claimed}.`);
  }
}

/** Missing numbers listed in the envelope at most; the message names the first few. */
const MAX_LISTED_MISSING = 1000;
const MAX_NAMED_MISSING = 20;

/**
 * Runs under the assembly lease on the parts as stored: every part present (409 parts_missing,
 * in WeTransfer's words) and each of its exact size (400 size_mismatch; the PUT already enforces
 * it, this guards parts another flow stored under the same file).
 */
function checkAssembly(file: FileRow, parts: Pick<UploadPartRow, 'part_number' | 'size'>[], numbers: number[], chunkSize: number): void {
  const present = new Set(parts.map((p) => p.part_number));
  const missing = numbers.filter((n) => !present.has(n));
  if (missing.length > 0) {
    const named = missing.slice(0, MAX_NAMED_MISSING).join(', ');
    const more = missing.length > MAX_NAMED_MISSING ? ` and ${missing.length - MAX_NAMED_MISSING} more` : '';
    throw fail.parts_missing(`Chunks ${named}${more} are still missing`, {
      context: { missing_parts: missing.slice(0, MAX_LISTED_MISSING), missing_count: missing.length },
    });
  }
  const total = parts.reduce((sum, p) => sum + p.size, 0);
  const wrong = parts.find((p) => p.size !== expectedPartSize(file.size, chunkSize, p.part_number));
  if (wrong || total !== file.size) throw sizeMismatch(file.size, total);
}
