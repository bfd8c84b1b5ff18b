import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

export class SizeExceededError extends Error {
  constructor(readonly limit: number) {
    super(`body is larger than the declared ${limit} bytes`);
    this.name = 'SizeExceededError';
  }
}

/**
 * Pass-through that counts bytes and computes SHA-256 and CRC-32 while the body streams, once.
 * It fails the pipeline the moment more than `limit` bytes arrive, so nothing past the declared
 * size is ever written.
 */
export class DigestMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private crc = 0;
  bytes = 0;

  constructor(private readonly limit: number) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new SizeExceededError(this.limit));
      return;
    }
    this.hash.update(chunk);
    this.crc = zlib.crc32(chunk, this.crc);
    callback(null, chunk);
  }

  /** Valid once the stream has ended. */
  result(): { size: number; sha256: string; crc32: number } {
    return { size: this.bytes, sha256: this.hash.digest('hex'), crc32: this.crc >>> 0 };
  }
}
