import type { Readable } from 'node:stream';

/** Inclusive byte range, as in HTTP Range: `end` is the last byte served. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A blob written to a temporary key: invisible to `read` until committed. */
export interface TempBlob {
  tempKey: string;
  size: number;
}

/**
 * Bytes by opaque, server-generated keys. A store knows nothing about transfers or files.
 *
 * Contract (every implementation passes test/contract/blob-store.contract.ts):
 * - `writeTemp` streams `body` with backpressure under a fresh temporary key; it resolves once
 *   every byte is durable, and rejects (leaving nothing behind) if `body` errors or the medium
 *   is full (`StorageFullError`).
 * - `commit` moves a temporary blob to its final key atomically; readers never see a partial blob.
 * - `read` of a missing key rejects with `BlobNotFoundError`; a range is clamped by the caller,
 *   the store serves exactly `start..end`.
 * - `delete` of a missing key succeeds (idempotent), as does `discardTemp`.
 * - Keys match KEY_PATTERN; anything else is rejected with `InvalidBlobKeyError` before any I/O.
 */
export interface BlobStore {
  /** Stable id recorded on each file row, so a file is always served by the store that holds it. */
  readonly id: string;
  writeTemp(body: Readable): Promise<TempBlob>;
  commit(tempKey: string, key: string): Promise<void>;
  discardTemp(tempKey: string): Promise<void>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<{ size: number } | null>;
  delete(key: string): Promise<void>;
  /** Resolves when the store is reachable and writable (readiness probe). */
  check(): Promise<void>;
  /** Bytes that can still be written, or null when the store cannot tell (object storage). */
  freeSpace(): Promise<number | null>;
}

/** Server-generated keys only: lower-case alphanumerics, `_`, `-`, and `/` between segments. */
export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,127}(\/[a-z0-9][a-z0-9_-]{0,127}){0,3}$/;

export class BlobNotFoundError extends Error {
  constructor(key: string) {
    super(`blob not found: ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

export class InvalidBlobKeyError extends Error {
  constructor(key: string) {
    super(`invalid blob key: ${JSON.stringify(key.slice(0, 80))}`);
    this.name = 'InvalidBlobKeyError';
  }
}

export class StorageFullError extends Error {
  constructor() {
    super('storage is full');
    this.name = 'StorageFullError';
  }
}

/** The medium did not answer or failed (an object store down, a network error): retry later. */
export class StorageUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('storage is unavailable');
    this.name = 'StorageUnavailableError';
    this.cause = cause;
  }
}
