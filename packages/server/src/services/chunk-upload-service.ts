import type { Readable } from 'node:stream';
import { fail } from '../errors.ts';
import { normalizeFileName } from '../domain/file-name.ts';
import { effectiveState, type EffectiveState } from '../domain/transfer-rules.ts';
import type { FileRow } from '../repositories/files-repository.ts';
import type { UploadPartRow } from '../repositories/upload-parts-repository.ts';
import type { ExpectedChecksum } from './digest-meter.ts';
import type { Principal } from './principal.ts';
import type { UploadServiceDeps } from './upload-service-deps.ts';
import { sizeTooLarge } from './verified-write.ts';

/** Most chunks one file may be announced in; far above any sane chunk size, and it bounds assembly. */
export const MAX_CHUNKS = 100_000;

/** A client's own id for a file within its transfer (X-File-Id). */
export const CLIENT_FILE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const DECLARED_FILE_ID = /^fl_[0-9A-Za-z]{22}$/;

/** One chunk as the headers describe it, numbers already parsed strictly by the route. */
export interface ChunkInput {
  /** X-Transfer-Id; with an upload token it may be left out (the token names the transfer). */
  transferId?: string;
  /** X-File-Id: the client's own id, or the fl_ id of a file declared in the transfer. */
  fileRef: string;
  index: number;
  total: number;
  /** X-File-Name, already percent-decoded; required for a new client file id. */
  name?: string;
  /** X-File-Size; required for a new client file id. */
  size?: number;
  contentLength?: number;
  expected: ExpectedChecksum[];
}

export interface ChunkResult {
  file_id: string;
  client_file_id: string | null;
  chunk_index: number;
  received_chunks: number;
  total_chunks: number;
  file_state: FileRow['state'];
  transfer_state: EffectiveState;
  sha256?: string;
}

const mismatch = (what: string) =>
  fail.chunk_mismatch(`${what} disagrees with the first chunk of this file; every chunk must announce the same X-File-Name, X-File-Size and X-Total-Chunks.`);

/**
 * Idempotent chunk POSTs (the Trinsfer flow). The first chunk of a new X-File-Id declares the
 * file; every chunk is stored as a numbered part (a retry of an index replaces it); the request
 * that brings the last missing chunk assembles the file, and when every file of the transfer is
 * complete the transfer turns ready by itself: there is no finalize call in this protocol.
 */
export class ChunkUploadService {
  constructor(private readonly deps: UploadServiceDeps) {}

  async receive(principal: Principal, chunk: ChunkInput, body: Readable | AsyncIterable<Buffer>): Promise<ChunkResult> {
    const transferId = chunk.transferId ?? principal.transferId;
    if (transferId === undefined) throw fail.missing_transfer_id('Send the transfer\'s upload token (X-Token), or X-Transfer-Id with an API key.');
    if (chunk.total < 1 || chunk.total > MAX_CHUNKS) throw fail.validation_failed(`X-Total-Chunks must be from 1 to ${MAX_CHUNKS}.`);
    if (chunk.index >= chunk.total) throw fail.validation_failed('X-Chunk-Index must be below X-Total-Chunks (chunks are numbered from 0).');
    const transfer = await this.deps.transfers.openForUpload(principal, transferId);
    const file = await this.resolveFile(principal, transfer.id, chunk);
    if (file.state === 'complete') throw fail.file_complete('This file is already complete; its chunks can no longer change.');
    // The chunks together are never larger than their file (a re-sent index replaces its copy):
    // refuse before reading when the length says so, and cut the body where it would be.
    const others = (await this.deps.parts.list(file.id)).filter((p) => p.part_number !== chunk.index);
    const room = Math.max(0, file.size - others.reduce((sum, p) => sum + p.size, 0));
    if (chunk.contentLength !== undefined && chunk.contentLength > room) throw sizeTooLarge(room);

    await this.deps.parts.storePart(file, chunk.index, body, { maxSize: room, expected: chunk.expected });
    const stored = (await this.deps.parts.list(file.id)).filter((p) => p.part_number < chunk.total);
    let current = file;
    if (stored.length === chunk.total) {
      const numbers = Array.from({ length: chunk.total }, (_, i) => i);
      current = await this.deps.parts.assemble(file.id, numbers, (row, parts) => checkChunks(row, parts, chunk.total));
      await this.deps.transfers.readyIfComplete(transfer.id);
    }
    const after = await this.deps.transfers.requireOwned(principal.userId, transfer.id);
    return {
      file_id: current.id,
      client_file_id: current.client_file_id,
      chunk_index: chunk.index,
      received_chunks: current.state === 'complete' ? chunk.total : stored.length,
      total_chunks: chunk.total,
      file_state: current.state,
      transfer_state: effectiveState(after, this.deps.clock.now()),
      ...(current.state === 'complete' && current.sha256 ? { sha256: current.sha256 } : {}),
    };
  }

  /**
   * The file a chunk belongs to. A fl_ id names a file declared in this transfer (404 otherwise,
   * whatever transfer it belongs to); any other id is the client's own, declared by its first
   * chunk. Either way every chunk must agree with what the file was declared as (409).
   */
  private async resolveFile(principal: Principal, transferId: string, chunk: ChunkInput): Promise<FileRow> {
    if (!CLIENT_FILE_ID.test(chunk.fileRef)) throw fail.validation_failed('X-File-Id must be 1-64 letters, digits, ".", "_" or "-".');
    const name = chunk.name === undefined ? undefined : checkedName(chunk.name);
    if (DECLARED_FILE_ID.test(chunk.fileRef)) {
      const declared = await this.deps.filesRepo.findById(chunk.fileRef);
      if (!declared || declared.transfer_id !== transferId) throw fail.not_found('File not found.');
      if (name !== undefined && name !== declared.name) throw mismatch('X-File-Name');
      if (chunk.size !== undefined && chunk.size !== declared.size) throw mismatch('X-File-Size');
      const file = declared.part_count === null && declared.state === 'pending' ? await this.deps.transfers.claimChunkCount(declared.id, chunk.total) : declared;
      if (!file) throw fail.not_found('File not found.');
      if (file.state === 'pending' && file.part_count !== chunk.total) throw mismatch('X-Total-Chunks');
      return file;
    }
    if (name === undefined || chunk.size === undefined) {
      throw fail.validation_failed('X-File-Name and X-File-Size are required for a file id the server does not know yet.');
    }
    const file = await this.deps.files.declareForUpload(principal, transferId, { name, size: chunk.size, clientFileId: chunk.fileRef, partCount: chunk.total });
    if (file.name !== name) throw mismatch('X-File-Name');
    if (file.size !== chunk.size) throw mismatch('X-File-Size');
    if (file.part_count !== chunk.total) throw mismatch('X-Total-Chunks');
    return file;
  }
}

function checkedName(raw: string): string {
  const checked = normalizeFileName(raw);
  if (!checked.ok) throw fail.invalid_file_name(`X-File-Name: ${checked.reason}`);
  return checked.name;
}

/**
 * Runs under the assembly lease on the chunks as stored. A wrong total refuses assembly and keeps
 * every chunk, so the client can resend the one it got wrong and the next request assembles.
 */
function checkChunks(file: FileRow, parts: UploadPartRow[], total: number): void {
  if (parts.length !== total) throw fail.chunks_missing('Some chunks are missing; send them and retry.');
  const received = parts.reduce((sum, p) => sum + p.size, 0);
  if (received !== file.size) {
    throw fail.size_mismatch(`The chunks hold ${received} bytes; X-File-Size declared ${file.size}. Resend the wrong chunk; the others are kept.`, {
      context: { declared_size: file.size, received_size: received },
    });
  }
}
