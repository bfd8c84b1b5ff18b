import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Upload } from '@tus/utils';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Principal } from '../services/principal.ts';
import type { FerryTusStore } from './tus-store.ts';
import type { TusUploadRules } from './tus-upload-rules.ts';

/**
 * Turns a finished tus upload into a verified file: digests (from the running hash, or read
 * back once), the bytes handed to the blob store without a copy (see FerryTusStore.settle), and the
 * file marked complete in one conditional update, so a file completed another way first wins
 * and this upload's bytes are discarded. A finished partial upload just waits for its final.
 */
export class TusCompletion {
  constructor(
    private readonly uploads: Pick<TusUploadsRepository, 'find' | 'update' | 'delete'>,
    private readonly files: Pick<FilesRepository, 'findById' | 'markComplete' | 'delete'>,
    private readonly rules: Pick<TusUploadRules, 'parseTarget' | 'resolveTarget'>,
    private readonly datastore: Pick<FerryTusStore, 'settle' | 'forget'>,
    private readonly blobs: Pick<BlobStore, 'delete'>,
    private readonly clock: Clock,
  ) {}

  async finish(principal: Principal, upload: Upload): Promise<FileRow | null> {
    const row = await this.uploads.find(upload.id);
    if (!row) throw fail.upload_terminated('This upload was terminated.');
    const now = iso(this.clock.now());
    if (row.kind === 'partial') {
      // A finished partial stays an unfinished upload (completed_at null) until a final upload
      // joins it: it still expires, is swept and can be terminated like any other. Its bytes are
      // stored now, so its length no longer counts as pending (the final reserves the file's).
      await this.uploads.update(upload.id, { size: upload.size ?? null, received_at: now });
      return null;
    }
    const size = upload.size ?? 0;
    // Checked again at the end: the transfer may have been deleted or expired meanwhile.
    const target = row.file_id && row.transfer_id ? { transferId: row.transfer_id, fileId: row.file_id } : this.rules.parseTarget(upload.metadata);
    const file = await this.rules.resolveTarget(principal, target, size);
    const { storageKey: key, ...digest } = await this.datastore.settle(upload.id, size);
    const won = await this.files.markComplete(file.id, { ...digest, storage_key: key }, now);
    if (!won) {
      await this.blobs.delete(key);
      await this.uploads.update(upload.id, { completed_at: now, info: null });
      throw fail.file_complete('This file was completed by another upload first.');
    }
    // The tus library forgets the upload (its bytes now belong to the file); Ferry keeps the row
    // so HEAD still answers the finished offset.
    await this.uploads.update(upload.id, { completed_at: now, file_id: file.id, info: null });
    return (await this.files.findById(file.id))!;
  }

  /**
   * A creation POST that failed after the upload was made (460, 507, an aborted body...): the
   * client got no Location and cannot resume it, so it goes, with the file it declared; else
   * the name would stay taken by a file nobody can upload.
   */
  async discard(uploadId: string, declaredFileId: string | null): Promise<void> {
    const row = await this.uploads.find(uploadId);
    if (row && row.completed_at === null) {
      // The store may be what failed (S3 down): its leftovers are then an abandoned multipart
      // upload, which the store's sweep aborts; the record and the declared file go now.
      await this.datastore.forget(uploadId).catch(() => undefined);
      await this.uploads.delete(uploadId);
    }
    if (declaredFileId) await this.dropPendingFile(declaredFileId);
  }

  /** A file an upload declared by filename goes with that upload while it has no bytes. */
  async dropPendingFile(fileId: string): Promise<void> {
    const file = await this.files.findById(fileId);
    if (file?.state === 'pending') await this.files.delete(file.id);
  }
}
