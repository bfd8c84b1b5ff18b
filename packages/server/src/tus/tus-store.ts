import type { Readable } from 'node:stream';
import { Upload, type DataStore, type KvStore } from '@tus/utils';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';

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

/** Marks the record of an upload whose bytes have left the tus store (see the stores' getUpload). */
export const FINISHED_STORAGE = 'ferry-finished';

/**
 * The tus library's per-upload record (size, metadata, creation date) kept in the database row
 * Ferry already has for the upload, so upload state survives restarts and is shared by every
 * instance. The row itself is created by Ferry's creation hook before the library calls `set`.
 * The stores read what else they need of an upload (its kind) from the same row.
 */
export class TusRecords implements KvStore<Upload> {
  constructor(private readonly uploads: Pick<TusUploadsRepository, 'find' | 'update' | 'delete' | 'listTracked'>) {}

  async get(key: string): Promise<Upload | undefined> {
    const row = await this.uploads.find(key);
    if (!row) return undefined;
    if (!row.info) {
      // A finished upload whose bytes became a file. @tus/server still reads it once after
      // onUploadFinish (a POST with the whole body, or of length 0): it is complete, not missing.
      if (row.completed_at === null || row.size === null) return undefined;
      return new Upload({ id: key, size: row.size, offset: row.size, creation_date: row.created_at, storage: { type: FINISHED_STORAGE, path: '' } });
    }
    return new Upload(JSON.parse(row.info));
  }

  /** Single or partial (a part of a later final upload); undefined without a record. */
  async kindOf(key: string): Promise<TusUploadRow['kind'] | undefined> {
    return (await this.uploads.find(key))?.kind;
  }

  async set(key: string, value: Upload): Promise<void> {
    const { id, size, offset, metadata, creation_date } = value;
    await this.uploads.update(key, { info: JSON.stringify({ id, size, offset, metadata, creation_date }), size: size ?? null });
  }

  /** Termination or expiry: an unfinished upload is forgotten entirely. */
  async delete(key: string): Promise<void> {
    const row = await this.uploads.find(key);
    if (row && row.completed_at === null) await this.uploads.delete(key);
    else if (row) await this.uploads.update(key, { info: null });
  }

  list(): Promise<string[]> {
    return this.uploads.listTracked();
  }
}
