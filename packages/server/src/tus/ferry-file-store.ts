import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/utils';
import { fail } from '../errors.ts';
import { randomBase36 } from '../ids.ts';
import type { LocalBlobStore } from '../storage/local-blob-store.ts';
import { makePrivateDirSync, PRIVATE_FILE_MODE } from '../storage/private-paths.ts';
import { FINISHED_STORAGE, type FerryTusStore, type SettledUpload, type TusRecords } from './tus-store.ts';
import { checksumMismatch, currentChecksum, refusing, shuttingDown, toTusError } from './tus-request.ts';
import { RunningDigest, type UploadHashers } from './upload-hashers.ts';

/** 1 MiB write buffers: about three times the throughput of the 64 KiB default (330 against 960 MiB/s measured on loopback). */
const HIGH_WATER_MARK = 1024 * 1024;

class ShutdownError extends Error {}
const shutdownError = () => refusing(new ShutdownError('shutting down'), shuttingDown());

export interface FerryFileStoreOptions {
  directory: string;
  /** The library's records, and Ferry's row of each upload (its kind). */
  records: TusRecords;
  expirationPeriodInMilliseconds: number;
  hashers: UploadHashers;
  shutdown: AbortSignal;
  /** Finished uploads become blobs here by rename: `directory` must be on the same filesystem. */
  blobs: LocalBlobStore;
}

/**
 * @tus/file-store with what Ferry needs on the write path: 1 MiB buffers, SHA-256/CRC-32 while the
 * bytes stream (carried across PATCHes), the checksum extension (a mismatching chunk is cut off
 * again and answered 460), 507 when the disk fills, and 503 at shutdown. The offset is always
 * the file's length on disk, so whatever happens HEAD shows bytes that really arrived.
 */
export class FerryFileStore extends FileStore implements FerryTusStore {
  private readonly records: TusRecords;
  private readonly hashers: UploadHashers;
  private readonly shutdown: AbortSignal;
  private readonly blobs: LocalBlobStore;

  constructor(options: FerryFileStoreOptions) {
    // The library would make its folder and files with the umask's modes; Ferry's data is private.
    makePrivateDirSync(options.directory);
    super({ directory: options.directory, configstore: options.records, expirationPeriodInMilliseconds: options.expirationPeriodInMilliseconds });
    this.records = options.records;
    this.hashers = options.hashers;
    this.shutdown = options.shutdown;
    this.blobs = options.blobs;
    // @tus/server checks for this (misspelt) name before accepting Upload-Concat; Ferry's route
    // handles final uploads itself, so the store only ever sees ordinary and partial uploads.
    this.extensions = [...this.extensions, 'concatentation'];
  }

  pathOf(id: string): string {
    return `${this.directory}/${id}`;
  }

  override async create(upload: Upload): Promise<Upload> {
    const created = await super.create(upload);
    await fsp.chmod(this.pathOf(upload.id), PRIVATE_FILE_MODE);
    return created;
  }

  /** Bytes received so far: the length of the upload's file (0 if it has none). */
  async offsetOf(id: string): Promise<number> {
    try {
      return (await fsp.stat(this.pathOf(id))).size;
    } catch {
      return 0;
    }
  }

  async openRead(id: string): Promise<Readable> {
    return fs.createReadStream(this.pathOf(id), { highWaterMark: HIGH_WATER_MARK });
  }

  /** Digests (followed or read back once), then fsync and a rename into the blob store. */
  async settle(id: string, size: number): Promise<SettledUpload> {
    const digest = await this.digestOf(id, size);
    const storageKey = `files/${randomBase36(26)}`;
    await this.sync(id);
    await this.blobs.adopt(this.pathOf(id), storageKey);
    return { ...digest, storageKey };
  }

  /** Drops an upload's bytes and running digest (a discarded creation, a joined partial). */
  async forget(id: string): Promise<void> {
    this.hashers.drop(id);
    await fsp.rm(this.pathOf(id), { force: true });
  }

  /** A finished upload's bytes were moved into the blob store: it answers complete, not gone. */
  override async getUpload(id: string): Promise<Upload> {
    const record = await this.configstore.get(id);
    if (record?.storage?.type === FINISHED_STORAGE) return record;
    return super.getUpload(id);
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const expected = currentChecksum();
    // A partial upload's digest would be thrown away: the final upload hashes the joined bytes.
    const digest = (await this.records.kindOf(id)) === 'partial' ? null : this.hashers.take(id, offset);
    const before = digest?.copy() ?? null;
    const check = expected ? createHash(expected.algorithm) : null;
    let received = 0;
    const shutdown = this.shutdown;
    const tap = new Transform({
      highWaterMark: HIGH_WATER_MARK,
      transform(chunk: Buffer, _encoding, callback) {
        if (shutdown.aborted) return callback(shutdownError());
        received += chunk.length;
        digest?.update(chunk);
        check?.update(chunk);
        callback(null, chunk);
      },
    });
    const onShutdown = () => tap.destroy(shutdownError());
    shutdown.addEventListener('abort', onShutdown, { once: true });
    const out = fs.createWriteStream(this.pathOf(id), { flags: 'r+', start: offset, highWaterMark: HIGH_WATER_MARK });
    try {
      await pipeline(readable, tap, out);
    } catch (error) {
      // Bytes that reached the file are the client's, in order: they stay and HEAD reports them.
      // The running digest can no longer be trusted, so the upload is hashed again at the end.
      this.hashers.drop(id);
      if (check) await fsp.truncate(this.pathOf(id), offset);
      if (error instanceof ShutdownError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw refusing(error as Error, fail.storage_full());
      throw error;
    } finally {
      shutdown.removeEventListener('abort', onShutdown);
    }
    if (check && !check.digest().equals(expected!.digest)) {
      await fsp.truncate(this.pathOf(id), offset);
      if (before) this.hashers.put(id, before);
      throw toTusError(checksumMismatch());
    }
    if (digest) this.hashers.put(id, digest);
    return offset + received;
  }

  /** Flushes a finished upload's bytes to disk before it becomes a file (as every blob write does). */
  async sync(id: string): Promise<void> {
    const handle = await fsp.open(this.pathOf(id), 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** SHA-256 and CRC-32 of a finished upload: from the running digest, else read back once. */
  async digestOf(id: string, size: number): Promise<{ sha256: string; crc32: number }> {
    const followed = this.hashers.finish(id, size);
    if (followed) return followed;
    const digest = new RunningDigest();
    for await (const chunk of fs.createReadStream(this.pathOf(id), { highWaterMark: HIGH_WATER_MARK })) digest.update(chunk as Buffer);
    return digest.result();
  }
}
