import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

/** SHA-256 and CRC-32 of an upload's first `offset` bytes, carried from one PATCH to the next. */
export class RunningDigest {
  constructor(
    readonly sha256: Hash = createHash('sha256'),
    public crc32 = 0,
    public offset = 0,
  ) {}

  update(chunk: Buffer): void {
    this.sha256.update(chunk);
    this.crc32 = zlib.crc32(chunk, this.crc32);
    this.offset += chunk.length;
  }

  copy(): RunningDigest {
    return new RunningDigest(this.sha256.copy(), this.crc32, this.offset);
  }

  result(): { sha256: string; crc32: number } {
    return { sha256: this.sha256.digest('hex'), crc32: this.crc32 >>> 0 };
  }
}

const MAX_ENTRIES = 10_000;

/**
 * Digests of uploads in progress, so each byte is hashed once, while it streams, even across
 * PATCH requests. Purely an optimisation: an entry is used only when its offset is exactly where
 * the next PATCH starts; after a restart, on another instance, or after any doubt (a failed
 * write) it is absent and the finished upload is hashed again from storage.
 */
export class UploadHashers {
  private readonly entries = new Map<string, RunningDigest>();

  /** The digest continuing at `offset`, a fresh one at 0, or null (rehash at the end). */
  take(id: string, offset: number): RunningDigest | null {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    if (entry && entry.offset === offset) return entry;
    return offset === 0 ? new RunningDigest() : null;
  }

  put(id: string, digest: RunningDigest): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, digest);
  }

  /** The digest of a finished upload of `size` bytes, if it was followed all the way. */
  finish(id: string, size: number): { sha256: string; crc32: number } | null {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    return entry && entry.offset === size ? entry.result() : null;
  }

  drop(id: string): void {
    this.entries.delete(id);
  }
}
