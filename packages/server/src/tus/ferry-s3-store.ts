import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { S3Store } from '@tus/s3-store';
import { ERRORS, type KvStore, type Upload } from '@tus/utils';
import { randomBase36 } from '../ids.ts';
import type { S3BlobStore } from '../storage/s3-blob-store.ts';
import type { S3Settings } from '../storage/s3-client.ts';
import { s3ClientConfig } from '../storage/s3-client.ts';
import { isS3NotFound, toStoreError } from '../storage/s3-errors.ts';
import { FINISHED_STORAGE, NEW_UPLOAD_ID, type FerryTusStore, type SettledUpload, type TusRecords } from './tus-store.ts';
import { checksumMismatch, currentChecksum, refusing, shuttingDown, toTusError } from './tus-request.ts';
import { RunningDigest } from './upload-hashers.ts';

class ShutdownError extends Error {}
const shutdownError = () => refusing(new ShutdownError('shutting down'), shuttingDown());

/**
 * No caching of S3Store's per-upload metadata: another instance may have changed it (a deferred
 * length declared there), so each request reads the `.info` object again (one small GET).
 */
class NoCache<T> implements KvStore<T> {
  async get(): Promise<T | undefined> {
    return undefined;
  }
  async set(): Promise<void> {}
  async delete(): Promise<void> {}
  async list(): Promise<string[]> {
    return [];
  }
}

export interface FerryS3StoreOptions {
  settings: S3Settings;
  blobs: S3BlobStore;
  records: TusRecords;
  expirationPeriodInMilliseconds: number;
  shutdown: AbortSignal;
}

/**
 * @tus/s3-store with Ferry's rules: an upload is a multipart upload on the object named by its
 * id, so every instance sees the same offset (S3's part list) and a client resumes through any
 * of them. Ferry adds the checksum extension (a PATCH with Upload-Checksum is spooled to a temp
 * file and checked before any byte reaches S3), 503 at shutdown, Ferry's database record of each
 * upload, and `settle`: the completed object becomes the file's blob as it is (no copy), after
 * it was read back once for its SHA-256 and CRC-32.
 */
export class FerryS3Store extends S3Store implements FerryTusStore {
  private readonly blobs: S3BlobStore;
  private readonly records: TusRecords;
  private readonly shutdown: AbortSignal;

  constructor(options: FerryS3StoreOptions) {
    super({
      s3ClientConfig: { ...s3ClientConfig(options.settings), bucket: options.settings.bucket },
      cache: new NoCache(),
      useTags: false,
      expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds,
    });
    this.blobs = options.blobs;
    this.records = options.records;
    this.shutdown = options.shutdown;
    // Same as FerryFileStore: Ferry's route handles final uploads, the store sees partials only.
    this.extensions = [...this.extensions, 'checksum', 'concatentation'];
  }

  override async create(upload: Upload): Promise<Upload> {
    if (!NEW_UPLOAD_ID.test(upload.id)) throw new Error(`upload id ${upload.id} cannot name an object`);
    const created = await super.create(upload);
    await this.records.set(upload.id, created);
    return created;
  }

  override async declareUploadLength(id: string, length: number): Promise<void> {
    await super.declareUploadLength(id, length);
    const record = await this.records.get(id);
    if (record) await this.records.set(id, Object.assign(record, { size: length }));
  }

  /** A finished upload became a file: it answers complete from Ferry's record, not from S3. */
  override async getUpload(id: string): Promise<Upload> {
    const record = await this.records.get(id);
    if (record?.storage?.type === FINISHED_STORAGE) return record;
    // The library reports every metadata failure as 404; an unreachable bucket must stay a 503,
    // or clients would drop their upload and start again from zero.
    try {
      await this.getMetadata(id);
    } catch (error) {
      if (!isS3NotFound(error)) throw toStoreError(error);
    }
    return super.getUpload(id);
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const expected = currentChecksum();
    let spool: string | null = null;
    // The library's own pipeline sees `readable` fail first and answers with that error as it
    // is, so at shutdown it fails with the tus-shaped 503 (and the refusal it stands for) itself.
    const shutdown = this.shutdown;
    const onShutdown = () => readable.destroy(shutdownError());
    shutdown.addEventListener('abort', onShutdown, { once: true });
    try {
      if (shutdown.aborted) throw shutdownError();
      let source: Readable = readable;
      if (expected) {
        spool = path.join(os.tmpdir(), `ferry-tus-${randomBytes(12).toString('hex')}`);
        const hash = createHash(expected.algorithm);
        await pipeline(readable, async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        }, fs.createWriteStream(spool, { highWaterMark: 1024 * 1024 }));
        if (!hash.digest().equals(expected.digest)) throw toTusError(checksumMismatch());
        source = fs.createReadStream(spool, { highWaterMark: 1024 * 1024 });
      }
      return await super.write(source, id, offset);
    } catch (error) {
      if (error instanceof ShutdownError) throw error;
      if (shutdown.aborted) throw toTusError(shuttingDown());
      throw error;
    } finally {
      shutdown.removeEventListener('abort', onShutdown);
      if (spool) await fsp.rm(spool, { force: true });
    }
  }

  /**
   * Termination: the multipart upload is aborted if it is still open (a finished partial has
   * none left), and the object, its info and any incomplete part go. A missing upload is 404.
   */
  override async remove(id: string): Promise<void> {
    let uploadId: string | undefined;
    try {
      uploadId = (await this.getMetadata(id))['upload-id'];
    } catch (error) {
      if (isS3NotFound(error)) throw ERRORS.FILE_NOT_FOUND;
      throw error;
    }
    if (uploadId) await this.blobs.multipart.abort(id, uploadId);
    await this.deleteObjects([id, `${id}.info`, `${id}.part`]);
    await this.records.delete(id);
  }

  async offsetOf(id: string): Promise<number> {
    try {
      return (await this.getUpload(id)).offset;
    } catch (error) {
      if (error === ERRORS.FILE_NOT_FOUND) return 0;
      throw error;
    }
  }

  async forget(id: string): Promise<void> {
    try {
      await this.remove(id);
    } catch (error) {
      if (error !== ERRORS.FILE_NOT_FOUND) throw error;
      // No info: the upload never started, or it was settled and its object is now a file's
      // blob. Only a stray incomplete part may go; the object itself never does.
      await this.deleteObjects([`${id}.part`]);
    }
  }

  async sweepOrphans(isTracked: (id: string) => Promise<boolean>, olderThanMs: number): Promise<number> {
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const open of await this.blobs.multipart.listOpen('up_')) {
      if (!NEW_UPLOAD_ID.test(open.objectKey) || (open.initiated && open.initiated.getTime() > cutoff)) continue;
      if (await isTracked(open.objectKey)) continue;
      await this.blobs.multipart.abort(open.objectKey, open.uploadId);
      await this.deleteObjects([`${open.objectKey}.info`, `${open.objectKey}.part`]);
      removed += 1;
    }
    return removed;
  }

  /** A zero-byte upload never completed its multipart upload: it reads as empty. */
  async openRead(id: string): Promise<Readable> {
    if ((await this.records.get(id))?.size === 0) return Readable.from([]);
    return this.blobs.read(id);
  }

  /**
   * The completed object keeps its key (the upload id) and becomes the file's blob; its digests
   * come from reading it back once. A zero-byte upload never completed its multipart upload, so
   * it gets a fresh empty blob instead.
   */
  async settle(id: string, size: number): Promise<SettledUpload> {
    if (size === 0) {
      // Not forget(): that would also drop Ferry's record, which completion still needs.
      const uploadId = (await this.getMetadata(id).catch(() => null))?.['upload-id'];
      if (uploadId) await this.blobs.multipart.abort(id, uploadId);
      await this.deleteObjects([`${id}.info`, `${id}.part`]);
      const storageKey = `files/${randomBase36(26)}`;
      const temp = await this.blobs.writeTemp(Readable.from([]));
      await this.blobs.commit(temp.tempKey, storageKey);
      return { ...new RunningDigest().result(), storageKey };
    }
    const stored = await this.blobs.stat(id);
    if (stored?.size !== size) throw new Error(`upload ${id} holds ${stored?.size ?? 'no'} bytes, expected ${size}`);
    const digest = new RunningDigest();
    for await (const chunk of await this.blobs.read(id)) digest.update(chunk as Buffer);
    await this.deleteObjects([`${id}.info`, `${id}.part`]);
    return { ...digest.result(), storageKey: id };
  }

  private async deleteObjects(keys: string[]): Promise<void> {
    await this.blobs.client.send(new DeleteObjectsCommand({ Bucket: this.blobs.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
  }
}
