import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';

/**
 * The digests tests compare: SHA-256 in hex (what Ferry reports and ETags carry) and base64
 * digests of other algorithms (tus Upload-Checksum, Content-MD5, x-amz-checksum headers).
 */

export const sha256 = (data: Buffer | Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** A SHA-256 fed piece by piece (a file written in chunks, a download read in two ranges); `.digest('hex')` at the end. */
export const runningSha256 = (): Hash => createHash('sha256');

/** The digest of `data` with `algorithm` ('md5', 'sha1', 'sha256'), in base64. */
export const base64Digest = (algorithm: string, data: Buffer | Uint8Array | string): string => createHash(algorithm).update(data).digest('base64');

/** SHA-256 of a file on disk, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = runningSha256();
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** SHA-256 and length of a stream of bytes, hashed as it flows (never held in memory). */
export async function sha256Stream(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; bytes: number }> {
  const hash = runningSha256();
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.length;
    hash.update(chunk);
  }
  return { sha256: hash.digest('hex'), bytes };
}
