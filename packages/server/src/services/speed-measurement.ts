import { createCipheriv, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError, fail } from '../errors.ts';

const MiB = 1024 * 1024;

/** Bounds of the measurement endpoints: what one request may move either way. */
export const SPEED_MEASUREMENT = {
  defaultDownloadBytes: 10 * MiB,
  maxDownloadBytes: 100 * MiB,
  maxUploadBytes: 100 * MiB,
} as const;

const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

/**
 * `size` bytes that no compressor can shrink, made a chunk at a time as the client reads (never a
 * buffer of `size`): the AES-128-CTR keystream under a key and counter drawn for this response,
 * which costs far less CPU than the CSPRNG for the same bytes.
 */
export function incompressibleStream(size: number): Readable {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  let left = size;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK, left);
      left -= n;
      this.push(cipher.update(n === CHUNK ? ZEROS : ZEROS.subarray(0, n)));
    },
  });
}

export interface UploadMeasurement {
  bytes: number;
  duration_ms: number;
  mbps: number;
}

/**
 * Reads and discards an upload body, timing it from the first read to the last byte. A body
 * declared or found larger than the cap stops being read and answers 413; a body cut short
 * answers 400 upload_interrupted.
 */
export async function measureUpload(body: AsyncIterable<Buffer>, declaredLength: number | undefined, maxBytes = SPEED_MEASUREMENT.maxUploadBytes): Promise<UploadMeasurement> {
  const tooLarge = () => fail.payload_too_large(`A speed test upload may be at most ${maxBytes} bytes.`, { context: { max_bytes: maxBytes } });
  if (declaredLength !== undefined && declaredLength > maxBytes) throw tooLarge();
  const started = process.hrtime.bigint();
  let bytes = 0;
  try {
    for await (const chunk of body) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooLarge();
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw fail.upload_interrupted('The upload body ended before it was whole.');
  }
  if (bytes === 0) throw fail.validation_failed('Send the bytes to time as the body (application/octet-stream).');
  // At least a microsecond, so a tiny body still answers a finite rate.
  const nanoseconds = Math.max(1000, Number(process.hrtime.bigint() - started));
  const mbps = (bytes * 8) / (nanoseconds / 1e9) / 1e6;
  return { bytes, duration_ms: round(nanoseconds / 1e6), mbps: round(mbps) };
}

/** Six significant digits: more than any measurement over a network means. */
const round = (value: number): number => Number(value.toPrecision(6));
