import { fail } from '../errors.ts';
import type { Clock } from '../domain/clock.ts';
import { isExpired } from '../domain/expiry.ts';
import { typeAllowed } from '../domain/file-request-rules.ts';
import type { FileRequestRow, FileRequestsRepository, FileRequestUsage } from '../repositories/file-requests-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';

/** What a declaration adds to a request: each new file as its row will say. */
export interface DeclaredFileFacts {
  name: string;
  size: number;
  content_type: string;
}

/**
 * The caps of a file request, held across every transfer opened through it: number of files,
 * total bytes (declared sizes, pending files included), size of one file, allowed types, and
 * the request's end (expired, deleted). Every upload protocol declares files through FileService,
 * which calls `admit` inside the transaction that inserts the rows, so the caps hold for all of
 * them at once and two uploaders racing for the last slot cannot both get it.
 */
export class FileRequestCaps {
  constructor(
    private readonly requests: FileRequestsRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Refuses `files` unless they fit the request `requestId` (nothing to check when the transfer
   * came through none): locks the request's row in `tx`, then counts what it has received.
   */
  async admit(tx: DbOrTx, requestId: string | null | undefined, files: DeclaredFileFacts[]): Promise<void> {
    if (!requestId || files.length === 0) return;
    const request = await this.requests.lockForUpdate(requestId, tx);
    this.assertLive(request);
    files.forEach((file, index) => checkFile(request, file, index));
    const usage = await this.requests.usage(requestId, tx);
    const bytes = files.reduce((sum, f) => sum + f.size, 0);
    if (request.max_files !== null && usage.files + files.length > request.max_files) throw tooManyFiles(request, usage);
    if (request.max_bytes !== null && usage.bytes + bytes > request.max_bytes) {
      throw full(request, usage, `This file request takes at most ${request.max_bytes} bytes in all; it has received ${usage.bytes} and this would add ${bytes}.`);
    }
  }

  /**
   * The same checks without the lock, before the bytes of a file stream in (a multipart upload,
   * whose size may be unknown: give 0 then). Answers the most bytes the file may have (null: the
   * request sets no limit); `admit` decides again when its row is written.
   */
  async precheck(requestId: string | null | undefined, file: DeclaredFileFacts): Promise<number | null> {
    if (!requestId) return null;
    const request = await this.requests.findById(requestId);
    this.assertLive(request);
    checkFile(request, file, 0);
    const usage = await this.requests.usage(requestId);
    if (request.max_files !== null && usage.files >= request.max_files) throw tooManyFiles(request, usage);
    const bytesLeft = request.max_bytes === null ? null : request.max_bytes - usage.bytes;
    if (bytesLeft !== null && file.size > bytesLeft) {
      throw full(request, usage, `This file request takes at most ${request.max_bytes} bytes in all; it has received ${usage.bytes} and this would add ${file.size}.`);
    }
    const limits = [request.max_file_size, bytesLeft].filter((n): n is number => n !== null);
    return limits.length === 0 ? null : Math.max(0, Math.min(...limits));
  }

  /**
   * Bytes that will belong to a file not declared yet (a tus partial upload): they must fit the
   * request's per-file and total caps now; the file itself is admitted when a final upload joins
   * the parts.
   */
  async precheckBytes(requestId: string | null | undefined, size: number): Promise<void> {
    if (!requestId) return;
    const request = await this.requests.findById(requestId);
    this.assertLive(request);
    const usage = await this.requests.usage(requestId);
    if (request.max_files !== null && usage.files >= request.max_files) throw tooManyFiles(request, usage);
    if (request.max_file_size !== null && size > request.max_file_size) {
      throw fail.payload_too_large(`A file of this request may have at most ${request.max_file_size} bytes.`, { context: { max_file_size: request.max_file_size } });
    }
    if (request.max_bytes !== null && usage.bytes + size > request.max_bytes) {
      throw full(request, usage, `This file request takes at most ${request.max_bytes} bytes in all; it has received ${usage.bytes} and this would add ${size}.`);
    }
  }

  /** Refuses uploads into a transfer of a request that has ended (its received files stay). */
  async assertOpen(requestId: string | null | undefined): Promise<void> {
    if (requestId) this.assertLive(await this.requests.findById(requestId));
  }

  /** 410 once the request is deleted or expired. */
  assertLive(request: FileRequestRow | undefined): asserts request is FileRequestRow {
    if (!request || request.deleted_at !== null) throw fail.file_request_deleted('This file request has been deleted; it takes no more uploads.');
    if (isExpired(request.expires_at, this.clock.now())) throw fail.file_request_expired('This file request has expired; it takes no more uploads.');
  }

  /** 409 file_request_full when the request holds all the files or bytes it asks for. */
  assertNotFull(request: FileRequestRow, usage: FileRequestUsage): void {
    if (request.max_files !== null && usage.files >= request.max_files) throw tooManyFiles(request, usage);
    if (request.max_bytes !== null && usage.bytes >= request.max_bytes) throw full(request, usage, `This file request is full: it has received all the ${request.max_bytes} bytes it takes.`);
  }
}

function checkFile(request: FileRequestRow, file: DeclaredFileFacts, index: number): void {
  if (request.max_file_size !== null && file.size > request.max_file_size) {
    throw fail.payload_too_large(`files[${index}]: this file request takes files of at most ${request.max_file_size} bytes; "${file.name}" has ${file.size}.`, {
      context: { max_file_size: request.max_file_size },
    });
  }
  const allowed = request.allowed_types === null ? null : (JSON.parse(request.allowed_types) as string[]);
  if (!typeAllowed(allowed, file.name, file.content_type)) {
    throw fail.file_type_not_allowed(`files[${index}]: this file request takes only ${allowed!.join(', ')}; "${file.name}" is ${file.content_type}.`, {
      context: { allowed_types: allowed },
    });
  }
}

const tooManyFiles = (request: FileRequestRow, usage: FileRequestUsage) =>
  full(request, usage, `This file request is full: it takes at most ${request.max_files} file(s) and has received ${usage.files}.`);

function full(request: FileRequestRow, usage: FileRequestUsage, message: string) {
  return fail.file_request_full(message, {
    context: { max_files: request.max_files, max_bytes: request.max_bytes, files_received: usage.files, bytes_received: usage.bytes },
  });
}
