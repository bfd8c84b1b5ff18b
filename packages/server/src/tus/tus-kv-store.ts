import { Upload, type KvStore } from '@tus/utils';
import type { TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';

/** Marks the record of an upload whose bytes have left the tus folder (see FerryFileStore.getUpload). */
export const FINISHED_STORAGE = 'ferry-finished';

/**
 * The tus library's per-upload record (size, metadata, creation date) kept in the database row
 * Ferry already has for the upload, so upload state survives restarts and is shared by every
 * instance. The row itself is created by Ferry's creation hook before the library calls `set`.
 */
export class TusKvStore implements KvStore<Upload> {
  constructor(private readonly uploads: TusUploadsRepository) {}

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
