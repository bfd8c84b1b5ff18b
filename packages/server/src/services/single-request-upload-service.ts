import type { Readable } from 'node:stream';
import { AppError, fail } from '../errors.ts';
import { normalizeFileName } from '../domain/file-name.ts';
import { MAX_DOWNLOADS_LIMIT, MAX_TITLE_LENGTH } from '../domain/transfer-rules.ts';
import { hasScope, type Principal } from './principal.ts';
import { resolveExpiry } from './expiry-policy.ts';
import type { TransferDetail } from './transfer-service.ts';
import type { UploadServiceDeps } from './upload-service-deps.ts';
import { storeVerified } from './verified-write.ts';

/** The name a body gets when the request names none (`PUT /`). */
export const DEFAULT_UPLOAD_NAME = 'upload.bin';

export interface SingleRequestInput {
  /** The file name from the path (already percent-decoded), or undefined for `PUT /`. */
  name?: string;
  contentType?: string;
  /** Content-Length when sent: the exact size. Without it (chunked) the plan's cap bounds the body. */
  contentLength?: number;
  /** Max-Days: days until expiry, capped by the plan; -1 = permanent where the plan allows. */
  maxDays?: number;
  /** Max-Downloads. */
  maxDownloads?: number;
}

/**
 * One-request uploads (curl -T on /, the transfer.sh habit): the body becomes a new transfer
 * holding that one file, already finalized. Bytes are stored and checked first; only then are
 * transfer, file and ready state written, in one transaction, so a failed or cut-short upload
 * leaves nothing behind, not even an empty transfer.
 */
export class SingleRequestUploadService {
  constructor(private readonly deps: UploadServiceDeps) {}

  async upload(principal: Principal, input: SingleRequestInput, body: Readable | AsyncIterable<Buffer>): Promise<TransferDetail> {
    // The route's own scope (files:write) is checked by the guard; creating a transfer needs this too.
    if (!hasScope(principal, 'transfers:write')) {
      throw fail.insufficient_scope('This request creates a transfer and needs the transfers:write scope too.', { context: { required_scope: 'transfers:write' } });
    }
    const { plan } = this.deps.config;
    const checked = normalizeFileName(input.name ?? DEFAULT_UPLOAD_NAME);
    if (!checked.ok) throw fail.invalid_file_name(`file name: ${checked.reason}`);
    const name = checked.name;
    // Everything the client can get wrong is refused before a byte is read.
    resolveExpiry({ expires_days: input.maxDays }, plan, this.deps.clock.now(), true);
    if (input.maxDownloads !== undefined && (input.maxDownloads < 1 || input.maxDownloads > MAX_DOWNLOADS_LIMIT)) {
      throw fail.validation_failed(`Max-Downloads must be a whole number from 1 to ${MAX_DOWNLOADS_LIMIT}.`);
    }
    const length = input.contentLength;
    if (length !== undefined) {
      if (length > plan.maxTransferSizeBytes) throw transferTooLarge(plan.maxTransferSizeBytes);
      await this.deps.reservation.assertRoom(principal.userId, length);
    }

    const store = this.deps.stores.defaultStore;
    const stored = await storeVerified(store, body, { maxSize: length ?? plan.maxTransferSizeBytes, exactSize: length }).catch((error: unknown) => {
      // Chunked bodies have no size of their own: running past the plan's cap is the transfer's limit.
      if (length === undefined && error instanceof AppError && error.code === 'payload_too_large') throw transferTooLarge(plan.maxTransferSizeBytes);
      throw error;
    });
    try {
      return await this.deps.transfers.createReadyWithFile(
        principal,
        {
          title: titleFor(name),
          ...(input.maxDays !== undefined ? { expires_days: input.maxDays } : {}),
          ...(input.maxDownloads !== undefined ? { max_downloads: input.maxDownloads } : {}),
        },
        {
          name,
          content_type: input.contentType,
          size: stored.digest.size,
          sha256: stored.digest.sha256,
          crc32: stored.digest.crc32,
          store_id: store.id,
          storage_key: stored.key,
        },
      );
    } catch (error) {
      await store.delete(stored.key).catch(() => undefined);
      throw error;
    }
  }
}

const transferTooLarge = (max: number) =>
  fail.payload_too_large(`A transfer holds at most ${max} bytes.`, { context: { max_transfer_size: max } });

/** The transfer's title is the file name, cut (by code points) to the title limit. */
function titleFor(name: string): string {
  const points = [...name];
  return points.length <= MAX_TITLE_LENGTH ? name : points.slice(0, MAX_TITLE_LENGTH).join('').trim();
}
