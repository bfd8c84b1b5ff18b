import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

export class SizeExceededError extends Error {
  constructor(readonly limit: number) {
    super(`body is larger than the declared ${limit} bytes`);
    this.name = 'SizeExceededError';
  }
}

export type ChecksumAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** A digest the client sent with a body (Content-MD5, Content-Digest, Upload-Checksum). */
export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
  /** The header it came from, for the error message. */
  header: string;
}

export class ChecksumMismatchError extends Error {
  constructor(readonly expected: ExpectedChecksum) {
    super(`the body does not match its ${expected.header} (${expected.algorithm})`);
    this.name = 'ChecksumMismatchError';
  }
}

/**
 * Pass-through that counts bytes and computes SHA-256 and CRC-32 while the body streams, once,
 * plus any digest the client sent for this body. It fails the pipeline the moment more than
 * `limit` bytes arrive, so nothing past the declared size is ever written.
 */
export class DigestMeter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly checks: { expected: ExpectedChecksum; hash: Hash }[];
  private crc = 0;
  bytes = 0;

  constructor(
    private readonly limit: number,
    expected: ExpectedChecksum[] = [],
    /** False for parts awaiting assembly: the file is hashed once, when its parts are joined. */
    private readonly digests = true,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.checks = expected.map((e) => ({ expected: e, hash: createHash(e.algorithm) }));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new SizeExceededError(this.limit));
      return;
    }
    if (this.digests) {
      this.hash.update(chunk);
      this.crc = zlib.crc32(chunk, this.crc);
    }
    for (const check of this.checks) check.hash.update(chunk);
    callback(null, chunk);
  }

  /** Throws ChecksumMismatchError when a client-sent digest disagrees; valid once ended. */
  verify(): void {
    for (const check of this.checks) {
      if (!check.hash.digest().equals(check.expected.digest)) throw new ChecksumMismatchError(check.expected);
    }
  }

  /** Valid once the stream has ended. */
  result(): { size: number; sha256: string; crc32: number } {
    return { size: this.bytes, sha256: this.hash.digest('hex'), crc32: this.crc >>> 0 };
  }
}
