import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError, fail, unavailable, type ErrorCode } from '../errors.ts';
import type { ExpectedChecksum } from '../services/digest-meter.ts';

export const TUS_PATH = '/api/v1/uploads';

/**
 * An upload's URL, always on FERRY_PUBLIC_URL: a request's Host (or X-Forwarded-Host) must never
 * decide where a client sends its bytes next.
 */
export const uploadUrl = (publicUrl: string, id: string): string => `${publicUrl}${TUS_PATH}/${id}`;

/**
 * The shape @tus/server answers an error with (its status and a plain-text body), carrying the
 * Ferry error it stands for so the route answers that one in Ferry's envelope.
 */
export interface TusError {
  status_code: number;
  body: string;
  refusal: AppError;
}

/** A Ferry error in the shape @tus/server expects to be thrown (from a hook, a store or the locker). */
export function toTusError(error: AppError): TusError {
  return { status_code: error.status, body: `${error.message}\n`, refusal: error };
}

/**
 * `error`, raised by a store while the library's own stream pipeline runs, made to answer as
 * `refusal`: the library may see this very object first (through a stream it destroyed), before
 * whatever the store throws.
 */
export function refusing<E extends Error>(error: E, refusal: AppError): E & TusError {
  return Object.assign(error, toTusError(refusal));
}

/** The Ferry error behind something @tus/server caught, if it was one. */
export function refusalOf(error: unknown): AppError | undefined {
  const refusal = (error as Partial<TusError> | null)?.refusal;
  return refusal instanceof AppError ? refusal : undefined;
}

export const checksumMismatch = () =>
  fail.checksum_mismatch('The chunk does not match its Upload-Checksum; it was discarded and the offset is unchanged.');

export const shuttingDown = () =>
  unavailable('unavailable', 'The server is shutting down; the bytes received so far are kept. Resume shortly.');

/** Stable codes for the statuses @tus/server answers on its own. */
const CODES: Record<number, ErrorCode> = {
  400: 'validation_failed',
  403: 'forbidden',
  404: 'not_found',
  409: 'offset_mismatch',
  410: 'upload_expired',
  412: 'unsupported_tus_version',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  423: 'upload_locked',
  460: 'checksum_mismatch',
  500: 'server_error',
  501: 'not_implemented',
  503: 'unavailable',
  507: 'storage_full',
};

export function codeForStatus(status: number): ErrorCode {
  return CODES[status] ?? (status >= 500 ? 'server_error' : 'validation_failed');
}

/**
 * The chunk's Upload-Checksum, the one thing about a request the data stores need that the
 * upload record cannot tell them: @tus/server hands a store only the bytes, the upload id and
 * the offset.
 */
const requestChecksum = new AsyncLocalStorage<ExpectedChecksum | undefined>();

export function withChecksum<T>(checksum: ExpectedChecksum | undefined, run: () => Promise<T>): Promise<T> {
  return requestChecksum.run(checksum, run);
}

export function currentChecksum(): ExpectedChecksum | undefined {
  return requestChecksum.getStore();
}
