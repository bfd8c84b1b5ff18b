import type { Upload } from '@tus/utils';
import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Principal } from '../services/principal.ts';
import type { Lease, UploadLeases } from '../services/upload-leases.ts';
import { storeVerified } from '../services/verified-write.ts';
import type { FerryTusStore } from './tus-store.ts';
import type { TusUploadRules } from './tus-upload-rules.ts';

/**
 * The concatenation extension's final upload, which @tus/server lacks. Partial uploads are
 * ordinary tus uploads (sent in parallel, without metadata by tus-js-client); the final upload
 * names them and the transfer. Their ids arrive read from the URLs the final upload lists (only
 * this server's own, never fetched); partials of other callers do not exist. Their bytes are
 * streamed once, in order, through SHA-256/CRC-32 into the file, and the partials are removed.
 */
export class TusConcatenation {
  constructor(
    private readonly uploads: TusUploadsRepository,
    private readonly files: FilesRepository,
    private readonly rules: TusUploadRules,
    private readonly datastore: FerryTusStore,
    private readonly store: BlobStore,
    private readonly leases: UploadLeases,
    private readonly clock: Clock,
    private readonly maxSize: number,
  ) {}

  async finalize(principal: Principal, ids: string[], metadata: Upload['metadata'], finalId: string): Promise<FileRow> {
    if (new Set(ids).size !== ids.length) throw fail.invalid_concat('Upload-Concat names a partial upload twice.');
    const leases: Lease[] = [];
    try {
      for (const id of ids) {
        const lease = await this.leases.tryAcquire(`tus:${id}`);
        if (!lease) throw fail.upload_locked('A partial upload is still being written; retry when it ends.');
        leases.push(lease);
      }
      const partials: TusUploadRow[] = [];
      for (const id of ids) partials.push(await this.checkPartial(principal, id));
      const total = partials.reduce((sum, p) => sum + (p.size ?? 0), 0);
      if (total > this.maxSize) throw fail.payload_too_large(`The joined upload would be larger than Tus-Max-Size (${this.maxSize} bytes).`);
      const file = await this.rules.resolveTarget(principal, this.rules.parseTarget(metadata), total);
      const blob = await storeVerified(this.store, this.concatenate(ids), { maxSize: total, exactSize: total });
      const now = iso(this.clock.now());
      const won = await this.files.markComplete(file.id, { sha256: blob.digest.sha256, crc32: blob.digest.crc32, storage_key: blob.key }, now);
      if (!won) {
        await this.store.delete(blob.key);
        throw fail.file_complete('This file was completed by another upload first.');
      }
      await this.uploads.insert({
        id: finalId,
        user_id: principal.userId,
        transfer_id: file.transfer_id,
        file_id: file.id,
        kind: 'final',
        size: total,
        info: null,
        concat: JSON.stringify(ids),
        created_at: now,
        expires_at: now,
        completed_at: now,
      });
      for (const id of ids) {
        await this.datastore.forget(id);
        await this.uploads.delete(id);
      }
      return (await this.files.findById(file.id))!;
    } finally {
      for (const lease of leases) await lease.release();
    }
  }

  private async checkPartial(principal: Principal, id: string): Promise<TusUploadRow> {
    const row = await this.rules.visible(principal, id);
    if (row.kind !== 'partial') throw fail.invalid_concat(`${id} is not a partial upload (Upload-Concat: partial).`);
    // Finished means every declared byte is on disk (the lease held by finalize keeps writers out).
    if (row.size === null || (await this.datastore.offsetOf(id)) !== row.size) {
      throw fail.invalid_concat(`Partial upload ${id} is not finished yet.`);
    }
    return row;
  }

  private async *concatenate(ids: string[]): AsyncGenerator<Buffer> {
    for (const id of ids) {
      for await (const chunk of await this.datastore.openRead(id)) yield chunk as Buffer;
    }
  }
}
