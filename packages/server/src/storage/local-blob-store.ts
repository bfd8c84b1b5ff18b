import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BlobNotFoundError,
  InvalidBlobKeyError,
  KEY_PATTERN,
  StorageFullError,
  type BlobStore,
  type BlobStoreCapabilities,
  type ByteRange,
  type TempBlob,
} from './blob-store.ts';
import { makePrivateDir, PRIVATE_FILE_MODE } from './private-paths.ts';

/** 1 MiB stream buffers: measured ~3x the throughput of the 64 KiB default. */
const HIGH_WATER_MARK = 1024 * 1024;
/** Temp files live here; keys cannot start with '.', so this never collides with a blob. */
const TEMP_DIR = '.tmp';

export interface LocalBlobStoreOptions {
  root: string;
  id?: string;
}

/**
 * Resolves `relative` under `base`, refusing anything that escapes it or names `base` itself.
 * Defence in depth: keys are already checked against KEY_PATTERN, which cannot express `..`.
 */
export function resolveUnder(base: string, relative: string): string {
  const full = path.resolve(base, relative);
  const rel = path.relative(base, full);
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new InvalidBlobKeyError(relative);
  }
  return full;
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** ENOTDIR: a key segment is a file (`a` exists, `a/b` asked), so the blob cannot exist either. */
function isMissing(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function toStorageError(err: unknown): unknown {
  const code = errorCode(err);
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  const full = new StorageFullError();
  full.cause = err;
  return full;
}

/**
 * BlobStore on a local filesystem: blob `a/b` is the file `<root>/a/b`; temp blobs are flat files
 * in `<root>/.tmp`, which must be on the same filesystem as root so `commit` is a rename.
 * Call `init()` once before use.
 */
export class LocalBlobStore implements BlobStore {
  readonly id: string;
  readonly root: string;
  readonly tempDir: string;
  readonly capabilities: BlobStoreCapabilities = {
    adopt: this,
    sweepStaleTemps: (olderThanMs) => this.sweepStaleTemps(olderThanMs),
  };

  constructor(options: LocalBlobStoreOptions) {
    this.id = options.id ?? 'local';
    this.root = path.resolve(options.root);
    this.tempDir = path.join(this.root, TEMP_DIR);
  }

  /** Creates root and the temp folder (private, as every folder and blob here); idempotent. */
  async init(): Promise<this> {
    await makePrivateDir(this.tempDir);
    return this;
  }

  async writeTemp(body: Readable): Promise<TempBlob> {
    const tempKey = randomBytes(16).toString('hex');
    const tempPath = this.tempPath(tempKey);
    // `flush` fsyncs before the fd is closed; pipeline settles only after 'close', so a resolved
    // pipeline means the bytes are durable, and an fsync failure rejects it.
    // The umask can only take bits away from 0600, so the blob is private from its first byte.
    const out = fs.createWriteStream(tempPath, { flags: 'wx', mode: PRIVATE_FILE_MODE, highWaterMark: HIGH_WATER_MARK, flush: true });
    let created = false;
    out.once('open', () => {
      created = true;
    });
    try {
      await pipeline(body, out);
    } catch (err) {
      // pipeline can reject before the stream's pending open completes, so wait for 'close'
      // (not events.once, which rejects on the 'error' that precedes it) before deciding;
      // then remove only what this call created ('wx': a fresh file).
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      if (created) await fsp.rm(tempPath, { force: true });
      throw toStorageError(err);
    }
    return { tempKey, size: out.bytesWritten };
  }

  async commit(tempKey: string, key: string): Promise<void> {
    const from = this.tempPath(tempKey);
    const to = this.blobPath(key);
    const dir = path.dirname(to);
    try {
      await makePrivateDir(dir);
      // rename(2) replaces an existing file atomically: readers see the old or the new blob.
      await fsp.rename(from, to);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw new BlobNotFoundError(tempKey);
      throw toStorageError(err);
    }
    // Persist the directory entry; best-effort because some filesystems refuse fsync on a dir.
    try {
      const handle = await fsp.open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // the rename itself succeeded; durability of the entry is up to the filesystem
    }
  }

  async discardTemp(tempKey: string): Promise<void> {
    await fsp.rm(this.tempPath(tempKey), { force: true });
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const file = this.blobPath(key);
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new RangeError(`invalid byte range ${range.start}-${range.end}`);
    }
    // Open now so a missing blob rejects here rather than as a later stream error; an open fd
    // also keeps serving the old bytes if the key is overwritten or deleted mid-read.
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key);
      throw err;
    }
    try {
      // A key that is only a prefix of other keys is a directory here, not a blob.
      if (!(await handle.stat()).isFile()) throw new BlobNotFoundError(key);
    } catch (err) {
      await handle.close();
      throw err;
    }
    // The stream owns the handle from here (autoClose): callers must consume or destroy it.
    return fs.createReadStream(file, { fd: handle, highWaterMark: HIGH_WATER_MARK, start: range?.start, end: range?.end });
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const file = this.blobPath(key);
    try {
      const stats = await fsp.stat(file);
      return stats.isFile() ? { size: stats.size } : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.blobPath(key);
    try {
      await fsp.unlink(file);
    } catch (err) {
      // EISDIR: the key is only a prefix of other blobs, so there is no blob to delete.
      if (isMissing(err) || errorCode(err) === 'EISDIR') return;
      throw err;
    }
  }

  async check(): Promise<void> {
    const probe = path.join(this.tempDir, `probe-${randomBytes(8).toString('hex')}`);
    try {
      await fsp.writeFile(probe, 'ferry', { flag: 'wx', mode: PRIVATE_FILE_MODE });
    } catch (err) {
      throw toStorageError(err);
    } finally {
      await fsp.rm(probe, { force: true });
    }
  }

  async freeSpace(): Promise<number | null> {
    const stats = await fsp.statfs(this.root);
    return Number(stats.bavail) * Number(stats.bsize);
  }

  /**
   * Moves a finished file from elsewhere on this filesystem (a tus upload) to `key`, like commit.
   * The source must be on the same filesystem as root, so this is a rename, not a copy.
   */
  async adopt(sourcePath: string, key: string): Promise<void> {
    const to = this.blobPath(key);
    await makePrivateDir(path.dirname(to));
    try {
      await fsp.rename(sourcePath, to);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw new BlobNotFoundError(sourcePath);
      throw toStorageError(err);
    }
    // The file was made by whoever wrote the upload, with their mode.
    await fsp.chmod(to, PRIVATE_FILE_MODE);
  }

  /**
   * Deletes temp files (crash leftovers, abandoned uploads) not modified for `olderThanMs`;
   * returns how many. A write in progress touches its file's mtime, but one stalled for longer
   * than the threshold, or a temp blob awaiting its `commit` that long, is removed too.
   */
  async sweepStaleTemps(olderThanMs: number): Promise<number> {
    if (!(olderThanMs >= 0)) throw new RangeError(`invalid age ${olderThanMs}`);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    for (const entry of await fsp.readdir(this.tempDir, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path.join(this.tempDir, entry.name);
      try {
        if ((await fsp.stat(file)).mtimeMs >= cutoff) continue;
        await fsp.unlink(file);
        removed += 1;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
    return removed;
  }

  private blobPath(key: string): string {
    if (!KEY_PATTERN.test(key)) throw new InvalidBlobKeyError(key);
    return resolveUnder(this.root, key);
  }

  /** Temp keys are flat: this store only ever issues single-segment keys. */
  private tempPath(tempKey: string): string {
    if (!KEY_PATTERN.test(tempKey) || tempKey.includes('/')) throw new InvalidBlobKeyError(tempKey);
    return resolveUnder(this.tempDir, tempKey);
  }
}
