/**
 * Typed errors thrown by services and mapped to the error envelope by the HTTP layer.
 * Codes are lower snake_case and never change once published.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra top-level fields of the envelope, beside `error` (as the Trinsfer guide shows). */
    readonly context: Record<string, unknown> = {},
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (message: string, code = 'validation_failed', details?: unknown) =>
  new AppError(400, code, message, {}, details);
export const unauthorized = (code = 'invalid_token', message = 'Missing or invalid credentials.') =>
  new AppError(401, code, message);
export const forbidden = (message: string, code = 'insufficient_scope') => new AppError(403, code, message);
export const notFound = (what = 'Resource') => new AppError(404, 'not_found', `${what} not found.`);
export const conflict = (message: string, code = 'conflict', details?: unknown) =>
  new AppError(409, code, message, {}, details);
export const gone = (message: string, code = 'gone') => new AppError(410, code, message);
export const payloadTooLarge = (message: string) => new AppError(413, 'payload_too_large', message);
export const tooManyRequests = (retryAfterSeconds: number, message = 'Too many requests; retry later.') =>
  new AppError(429, 'rate_limited', message, { retry_after: retryAfterSeconds }, undefined, {
    'retry-after': String(retryAfterSeconds),
  });
/** The account's own cap on bytes declared but not yet uploaded; the server may still have room. */
export const pendingUploadsLimit = (limitBytes: number, pendingBytes: number) =>
  new AppError(
    413,
    'pending_uploads_limit',
    `This account already has ${pendingBytes} bytes declared in unfinished uploads and may have at most ${limitBytes}. Finish or delete some of them, or wait until abandoned ones expire.`,
    { max_pending_bytes: limitBytes, pending_bytes: pendingBytes },
  );
export const storageFull = () => new AppError(507, 'storage_full', 'The server has no room for this upload.');
export const locked = (message = 'Another request is writing to this upload; retry when it ends.') =>
  new AppError(423, 'upload_locked', message, {}, undefined, { 'retry-after': '1' });
export const unavailable = (message = 'The server is shutting down; retry shortly.') =>
  new AppError(503, 'unavailable', message, {}, undefined, { 'retry-after': '5' });
