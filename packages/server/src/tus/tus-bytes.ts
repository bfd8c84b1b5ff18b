import type { Readable } from 'node:stream';
import type { DataStore } from '@tus/utils';

/** SHA-256 and CRC-32 of a finished upload, and the blob key its bytes now live under. */
export interface SettledUpload {
  sha256: string;
  crc32: number;
  storageKey: string;
}

/**
 * What Ferry needs from a tus data store beyond the tus protocol itself, whichever medium holds
 * the bytes (FerryFileStore on the local disk, FerryS3Store in the bucket).
 */
export interface FerryTusStore extends DataStore {
  /** Bytes received so far (0 when the upload has none). */
  offsetOf(id: string): Promise<number>;
  /** Drops an unfinished upload's bytes (a discarded creation, a joined partial, an expiry). */
  forget(id: string): Promise<void>;
  /** A finished upload's bytes, in order. */
  openRead(id: string): Promise<Readable>;
  /**
   * Hands a finished upload's bytes to the default blob store and answers their digests, read or
   * followed exactly once; the returned key is committed (readable through the blob store).
   */
  settle(id: string, size: number): Promise<SettledUpload>;
  /**
   * Drops bytes the store holds for uploads Ferry has no record of (a creation that failed after
   * the store made the upload), older than `olderThanMs`; answers how many. Optional: the local
   * store keeps no such leftovers outside its folder, which the upload sweep already covers.
   */
  sweepOrphans?(isTracked: (id: string) => Promise<boolean>, olderThanMs: number): Promise<number>;
}

/** Ids issued from now on: 25 lower-case base36 characters (129 bits), usable as blob keys. */
export const NEW_UPLOAD_ID = /^up_[0-9a-z]{25}$/;
/** Every id this server ever issued (before S3 support they were 22 base62 characters). */
export const UPLOAD_ID = /^up_(?:[0-9A-Za-z]{22}|[0-9a-z]{25})$/;
