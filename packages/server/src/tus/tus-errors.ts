import { AppError } from '../errors.ts';
import { tusContext } from './upload-context.ts';

/** The shape @tus/server answers an error with: its status and a plain-text body. */
export interface TusError {
  status_code: number;
  body: string;
}

/**
 * Turns a Ferry error into what @tus/server expects to be thrown, remembering the original on
 * the request's context so the route can answer it in Ferry's error envelope.
 */
export function toTusError(error: AppError): TusError {
  const context = tusContext.getStore();
  if (context) context.error = error;
  return { status_code: error.status, body: `${error.message}\n` };
}

export const checksumMismatch = () =>
  new AppError(460, 'checksum_mismatch', 'The chunk does not match its Upload-Checksum; it was discarded and the offset is unchanged.');

export const shuttingDown = () =>
  new AppError(503, 'unavailable', 'The server is shutting down; the bytes received so far are kept. Resume shortly.', {}, undefined, { 'retry-after': '5' });

/** Stable codes for the statuses @tus/server answers on its own. */
const CODES: Record<number, string> = {
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

export function codeForStatus(status: number): string {
  return CODES[status] ?? (status >= 500 ? 'server_error' : 'validation_failed');
}
