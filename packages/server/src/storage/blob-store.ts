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
  /** What this store can do beyond the contract; each is absent where the medium lacks it. */
  readonly capabilities: BlobStoreCapabilities;
}

/**
 * Optional capabilities. Callers ask for the one they need (`store.capabilities.multipart`) and
 * take the plain path when it is absent; nothing outside the store factory checks a store's class.
 */
export interface BlobStoreCapabilities {
  /** URLs the medium answers itself, so downloads can skip Ferry (FERRY_S3_REDIRECT_DOWNLOADS). */
  presignedGet?: PresignedGets;
  /** Multipart uploads whose parts clients send straight to the medium (signed part URLs on S3). */
  multipart?: MultipartUploads;
  /** Removes leftovers of crashed or abandoned writes older than `olderThanMs`; answers how many went. */
  sweepStaleTemps?(olderThanMs: number): Promise<number>;
  /** Takes a finished file from this store's filesystem (a tus upload) without copying it. */
  adopt?: FileAdoption;
}

export interface PresignedGets {
  /** A GET answered by the medium for `ttlSeconds`, with the download's headers baked in. */
  presignGet(key: string, ttlSeconds: number, headers: { contentDisposition: string; contentType: string }): Promise<string>;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  etag: string;
}

export interface OpenMultipartUpload {
  objectKey: string;
  uploadId: string;
  initiated: Date | null;
}

/**
 * A multipart upload is named by the blob key it completes into. Part URLs carry their size in
 * the signature, so the medium itself refuses a body of any other size; aborting an upload kills
 * every URL it handed out.
 */
export interface MultipartUploads {
  create(key: string, contentType?: string): Promise<string>;
  presignPart(key: string, uploadId: string, partNumber: number, size: number, ttlSeconds: number): Promise<string>;
  /** Every part held for the upload, in part order; null when the upload is gone. */
  listParts(key: string, uploadId: string): Promise<StoredPart[] | null>;
  complete(key: string, uploadId: string, parts: StoredPart[]): Promise<void>;
  /** Idempotent: an upload already completed or aborted is not an error. */
  abort(key: string, uploadId: string): Promise<void>;
  /** Uploads still open under `prefix` (all when omitted). */
  listOpen(prefix?: string): Promise<OpenMultipartUpload[]>;
}

export interface FileAdoption {
  /** The store's root directory: a file to adopt must be on the same filesystem. */
  readonly root: string;
  /** Moves `sourcePath` to blob `key` atomically (a rename), as commit does for temp blobs. */
  adopt(sourcePath: string, key: string): Promise<void>;
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
