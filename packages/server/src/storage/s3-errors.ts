import { StorageUnavailableError } from './blob-store.ts';

interface S3ErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchUpload']);

/** A missing key, bucket or multipart upload (HEAD answers a bare 404 with no code). */
export function isS3NotFound(err: unknown): boolean {
  const e = err as S3ErrorShape | null;
  return !!e && (NOT_FOUND_NAMES.has(e.name ?? '') || e.$metadata?.httpStatusCode === 404);
}

/**
 * S3 failures that are the server's or the network's (5xx, timeouts, refused connections) become
 * StorageUnavailableError, which the HTTP layer answers with 503; anything else is passed on.
 */
export function toStoreError(err: unknown): unknown {
  const e = err as S3ErrorShape | null;
  if (!e || typeof e !== 'object') return err;
  const status = e.$metadata?.httpStatusCode;
  const network = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(e.code ?? '')
    || e.name === 'TimeoutError' || e.name === 'RequestTimeout';
  if (network || (status !== undefined && status >= 500) || (status === undefined && e.$fault === 'server')) {
    return new StorageUnavailableError(err);
  }
  return err;
}
