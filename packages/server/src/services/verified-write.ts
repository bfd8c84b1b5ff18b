import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBase36 } from '../ids.ts';
import { AppError, fail } from '../errors.ts';
import { StorageFullError, type BlobStore } from '../storage/blob-store.ts';
import { ChecksumMismatchError, DigestMeter, SizeExceededError, type ExpectedChecksum } from './digest-meter.ts';

export interface VerifiedBlob {
  key: string;
  digest: { size: number; sha256: string; crc32: number };
}

export interface VerifiedWriteOptions {
  /** Most bytes accepted; one more fails with 413 and nothing is kept. */
  maxSize: number;
  /** When set, any other size fails with 400 size_mismatch and nothing is kept. */
  exactSize?: number;
  /** Digests the client sent for this body; a mismatch fails with 400 checksum_mismatch. */
  expected?: ExpectedChecksum[];
  /** Key folder: `files` for finished files, `parts` for parts awaiting assembly. */
  folder?: 'files' | 'parts';
}

/**
 * Streams a body into `store` under a temporary key with a size cap and digests, and commits it
 * under a fresh key only when size and client digests are right: a short, long or corrupt body
 * never becomes visible.
 */
export async function storeVerified(store: BlobStore, body: Readable | AsyncIterable<Buffer>, options: VerifiedWriteOptions): Promise<VerifiedBlob> {
  const meter = new DigestMeter(options.maxSize, options.expected, options.folder !== 'parts');
  const written = store.writeTemp(meter);
  try {
    const copied = Promise.all([pipeline(body, meter), written]);
    await (body instanceof Readable ? Promise.race([copied, closedEarly(body)]) : copied);
  } catch (error) {
    meter.destroy();
    await written.then((t) => store.discardTemp(t.tempKey)).catch(() => undefined);
    throw mapWriteError(error, options.maxSize);
  }
  const temp = await written;
  const digest = meter.result();
  try {
    if (options.exactSize !== undefined && digest.size !== options.exactSize) throw sizeMismatch(options.exactSize, digest.size);
    meter.verify();
  } catch (error) {
    await store.discardTemp(temp.tempKey);
    throw mapWriteError(error, options.maxSize);
  }
  const key = `${options.folder ?? 'files'}/${randomBase36(26)}`;
  await store.commit(temp.tempKey, key);
  return { key, digest };
}

/**
 * Rejects when `stream` is destroyed before its end. busboy gives up on a file part (form cut
 * short, a form limit hit) by destroying it without an error, and pipeline() then waits forever.
 */
function closedEarly(stream: Readable): Promise<never> {
  return new Promise((_resolve, reject) => {
    const interrupted = () => reject(fail.upload_interrupted('The body ended before the declared size arrived (cut short, or over a form limit).'));
    if (stream.destroyed && !stream.readableEnded) interrupted();
    else stream.once('close', () => stream.readableEnded || interrupted());
  });
}

export const sizeTooLarge = (size: number) =>
  fail.payload_too_large(`The body is larger than the expected ${size} bytes.`, { context: { declared_size: size } });

export const sizeMismatch = (size: number, received: number) =>
  fail.size_mismatch(`Received ${received} bytes; expected ${size}.`, { context: { declared_size: size, received_size: received } });

const checksumMismatch = (error: ChecksumMismatchError) =>
  fail.checksum_mismatch(`The body does not match its ${error.expected.header} (${error.expected.algorithm}); nothing was stored.`);

function mapWriteError(error: unknown, size: number): unknown {
  if (error instanceof SizeExceededError) return sizeTooLarge(size);
  if (error instanceof StorageFullError) return fail.storage_full();
  if (error instanceof ChecksumMismatchError) return checksumMismatch(error);
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // The client went away or sent a broken body: nothing was stored, and the answer is theirs.
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR') {
    return fail.upload_interrupted('The upload was interrupted before the declared size arrived.');
  }
  return error;
}
