import { AppError, unavailable } from '../errors.ts';
import { StorageUnavailableError } from '../storage/blob-store.ts';
import { toStoreError } from '../storage/s3-errors.ts';

/** Connecting failed (not a client hanging up, which is ECONNRESET or EPIPE on its own socket). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * PostgreSQL SQLSTATE classes that mean the server, not the request, is the problem: connection
 * exceptions (08), too many connections (53300), admin shutdown / crash (57P01-57P03).
 */
function isDatabaseDown(error: { code?: unknown; message?: unknown }): boolean {
  const code = typeof error.code === 'string' ? error.code : '';
  if (code.startsWith('08') || code === '53300' || code === '57P01' || code === '57P02' || code === '57P03') return true;
  const message = typeof error.message === 'string' ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
}

/** ioredis: the connection is gone, or a command timed out or ran out of retries. */
function isRedisDown(error: { name?: unknown; message?: unknown }): boolean {
  const message = typeof error.message === 'string' ? error.message : '';
  return error.name === 'MaxRetriesPerRequestError' || /Connection is closed|Command timed out|Stream isn't writeable/.test(message);
}

/**
 * A failure of something Ferry depends on (object storage, PostgreSQL, Redis) met mid-request:
 * 503 with Retry-After in the usual envelope, never a 500. Anything else answers null.
 */
export function dependencyDown(error: unknown): AppError | null {
  if (!error || typeof error !== 'object') return null;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  // AWS SDK errors carry $metadata; network failures of S3 requests made outside a store method
  // (the tus data store's own calls) arrive here unconverted.
  if (error instanceof StorageUnavailableError || ('$metadata' in e && toStoreError(error) instanceof StorageUnavailableError)) {
    return unavailable('storage_unavailable');
  }
  // A bare socket error (no $metadata) from a query: pg reports refused connections that way.
  if (isDatabaseDown(e) || (typeof e.code === 'string' && NETWORK_CODES.has(e.code))) {
    return unavailable('database_unavailable');
  }
  if (isRedisDown(e)) return unavailable('shared_state_unavailable');
  return null;
}
