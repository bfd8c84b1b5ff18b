import { fail } from '../errors.ts';
import { randomBase36 } from '../ids.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { DirectMultipartUploadsRepository, DirectUploadRow } from '../repositories/direct-multipart-uploads-repository.ts';
import type { FileRow, FilesRepository } from '../repositories/files-repository.ts';
import type { BlobStore, MultipartUploads, StoredPart } from '../storage/blob-store.ts';
import { RunningDigest } from '../tus/upload-hashers.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { UploadLeases } from './upload-leases.ts';
import { assembleOnce } from './assembly-lease.ts';

/** A blob store that takes direct multipart uploads. */
interface DirectStore {
  blobs: BlobStore;
  multipart: MultipartUploads;
}

type DirectUpload = DirectUploadRow;

/**
 * Signed part URLs on S3: parts go from the client straight to the bucket as the parts of one S3
 * multipart upload per file (presigned UploadPart URLs; S3 checks signature, expiry and the
 * signed Content-Length itself). Completion checks every part's size from S3's own part list,
 * completes the upload, reads the object back once for SHA-256 and CRC-32, and only then marks
 * the file complete. Aborting the upload (expiry, deleted transfer) makes every URL dead at S3.
 */
export class DirectMultipart {
  constructor(
    private readonly uploads: DirectMultipartUploadsRepository,
    private readonly files: FilesRepository,
    private readonly stores: BlobStoreRegistry,
    private readonly leases: UploadLeases,
    private readonly clock: Clock,
  ) {}

  /** True when new files live in a store that clients can upload parts to directly. */
  get enabled(): boolean {
    return this.stores.defaultStore.capabilities.multipart !== undefined;
  }

  /** A presigned UploadPart URL for part `number` of `size` bytes, valid `ttlSeconds`. */
  async partUrl(file: FileRow, number: number, size: number, ttlSeconds: number): Promise<string> {
    const upload = await this.ensure(file);
    return this.storeOf(upload).multipart.presignPart(upload.object_key, upload.upload_id, number, size, ttlSeconds);
  }

  async find(fileId: string): Promise<DirectUpload | undefined> {
    return this.uploads.find(fileId);
  }

  /**
   * Completes the file from the parts S3 holds. `check` runs under the assembly lease on those
   * parts and throws to refuse (missing parts, wrong sizes). Concurrent callers wait for the one
   * holding the lease and get the same file; exactly one marks it complete.
   */
  async complete(fileId: string, check: (file: FileRow, parts: { part_number: number; size: number }[]) => void): Promise<FileRow> {
    return assembleOnce(this.files, this.leases, fileId, () => this.completeHolding(fileId, check));
  }

  /** Aborts the S3 uploads of these files (their part URLs stop working at S3) and forgets them. */
  async abortForFiles(fileIds: string[]): Promise<void> {
    for (const upload of await this.uploads.listForFiles(fileIds)) await this.abort(upload);
  }

  /** Uploads started at or before `edgeIso` and never completed; answers how many were aborted. */
  async abortStale(edgeIso: string): Promise<number> {
    const stale = await this.uploads.listOutlived(edgeIso, 500);
    for (const upload of stale) await this.abort(upload);
    return stale.length;
  }

  private async completeHolding(fileId: string, check: (file: FileRow, parts: { part_number: number; size: number }[]) => void): Promise<FileRow> {
    const file = await this.files.findById(fileId);
    if (!file) throw fail.file_removed('The file was removed during assembly.');
    if (file.state === 'complete') return file;
    const upload = await this.find(fileId);
    const store = upload && this.storeOf(upload);
    const listed = upload && store ? await store.multipart.listParts(upload.object_key, upload.upload_id) : null;
    if (upload && store && listed === null) {
      // S3 no longer knows the upload: an earlier completion finished it there and then failed
      // (or its holder died) before marking the file; finish from the object. Otherwise it was
      // aborted: forget it, so the next part URL starts a new upload.
      if ((await store.blobs.stat(upload.object_key))?.size === file.size) return this.markVerified(file, upload, store);
      await this.uploads.delete(fileId);
    }
    const parts: StoredPart[] = listed ?? [];
    check(file, parts.map((p) => ({ part_number: p.partNumber, size: p.size })));
    if (!upload || !store || listed === null) throw fail.parts_missing('No parts were uploaded for this file.');
    await store.multipart.complete(upload.object_key, upload.upload_id, parts);
    return this.markVerified(file, upload, store);
  }

  /** Reads the completed object once for its digests; only then is the file complete. */
  private async markVerified(file: FileRow, upload: DirectUpload, store: DirectStore): Promise<FileRow> {
    const digest = new RunningDigest();
    for await (const chunk of await store.blobs.read(upload.object_key)) digest.update(chunk as Buffer);
    const won = await this.files.markComplete(file.id, { ...digest.result(), storage_key: upload.object_key }, iso(this.clock.now()));
    if (!won) await store.blobs.delete(upload.object_key);
    await this.uploads.delete(file.id);
    return (await this.files.findById(file.id))!;
  }

  /** The file's S3 upload, created on first use; a concurrent creator's extra upload is aborted. */
  private async ensure(file: FileRow): Promise<DirectUpload> {
    const existing = await this.find(file.id);
    if (existing) return existing;
    const store = this.direct(this.stores.defaultStore);
    const objectKey = `files/${randomBase36(26)}`;
    const uploadId = await store.multipart.create(objectKey, file.content_type);
    const row = { file_id: file.id, store_id: store.blobs.id, object_key: objectKey, upload_id: uploadId, created_at: iso(this.clock.now()) };
    if (await this.uploads.insertIfAbsent(row)) return row;
    await store.multipart.abort(objectKey, uploadId);
    return (await this.find(file.id))!;
  }

  private async abort(upload: DirectUpload): Promise<void> {
    await this.storeOf(upload).multipart.abort(upload.object_key, upload.upload_id);
    await this.uploads.delete(upload.file_id);
  }

  private storeOf(upload: DirectUpload): DirectStore {
    return this.direct(this.stores.get(upload.store_id));
  }

  private direct(store: BlobStore): DirectStore {
    const multipart = store.capabilities.multipart;
    if (!multipart) throw new Error(`store ${store.id} takes no direct parts`);
    return { blobs: store, multipart };
  }
}
