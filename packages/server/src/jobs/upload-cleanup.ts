import type { Clock } from '../domain/clock.ts';
import { lifetimeEdge } from '../domain/expiry.ts';
import type { UploadPartsRepository } from '../repositories/upload-parts-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { LocksRepository } from '../repositories/locks-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';

const BATCH = 100;

/**
 * Removes what unfinished uploads leave behind: parts older than the upload expiry or of files
 * and transfers that no longer take them, tus uploads past their Upload-Expires, and leases whose
 * holder died. Everything is found through the database, so a crash mid-sweep loses nothing.
 */
export class UploadCleanup {
  constructor(
    private readonly deps: {
      parts: UploadPartsRepository;
      tusUploads: TusUploadsRepository;
      /** Drops an expired tus upload's bytes, wherever the tus store keeps them, and a file it declared by filename. */
      expireTusUpload: (upload: TusUploadRow) => Promise<void>;
      locks: LocksRepository;
      stores: BlobStoreRegistry;
      clock: Clock;
      expirySeconds: number;
      /** Multipart uploads sent straight to object storage and never completed. */
      abortStaleDirectUploads?: (edgeIso: string) => Promise<number>;
      /** tus uploads the store holds without a record (their creation failed half-way). */
      sweepTusOrphans?: () => Promise<number>;
    },
  ) {}

  /** One pass; answers how many parts and uploads were removed. */
  async sweep(): Promise<number> {
    const { parts, tusUploads, stores, clock } = this.deps;
    const now = clock.now();
    const edge = lifetimeEdge(now, this.deps.expirySeconds);
    let removed = 0;
    for (;;) {
      const abandoned = await parts.listAbandoned(edge, BATCH);
      for (const part of abandoned) {
        await stores.get(part.store_id).delete(part.storage_key);
        await parts.delete(part.file_id, part.part_number, part.storage_key);
      }
      removed += abandoned.length;
      if (abandoned.length < BATCH) break;
    }
    for (;;) {
      const expired = await tusUploads.listExpired(now.toISOString(), BATCH);
      for (const upload of expired) {
        await this.deps.expireTusUpload(upload);
        await tusUploads.delete(upload.id);
      }
      removed += expired.length;
      if (expired.length < BATCH) break;
    }
    removed += (await this.deps.abortStaleDirectUploads?.(edge)) ?? 0;
    removed += (await this.deps.sweepTusOrphans?.()) ?? 0;
    await this.deps.locks.deleteExpired(now.toISOString());
    return removed;
  }
}
