/**
 * Every error code Ferry answers, with its HTTP status and, where the answer never varies, its
 * message. Codes are lower snake_case, part of the public API, and never change once published;
 * README.md's error code list and the OpenAPI error envelope are checked against this table.
 *
 * A few codes answer another status in one protocol, and only the HTTP layer knows protocols
 * (`AppError.withStatus`): `checksum_mismatch` is 460 on tus, `invalid_part_number` is 417 for
 * part 0 as WeTransfer documents, and `transfer_expired` is 409 for a change to an ended transfer
 * (`transferClosed`).
 */
export const ERRORS = {
  // 400: the request itself is wrong.
  validation_failed: { status: 400 },
  bad_request: { status: 400 },
  bad_url: { status: 400 },
  invalid_json: { status: 400 },
  invalid_content_length: { status: 400 },
  invalid_header: { status: 400 },
  invalid_checksum: { status: 400 },
  unsupported_checksum_algorithm: { status: 400 },
  checksum_mismatch: { status: 400 },
  size_mismatch: { status: 400 },
  upload_interrupted: { status: 400 },
  invalid_file_name: { status: 400 },
  duplicate_file_name: { status: 400 },
  too_many_files: { status: 400 },
  missing_file: { status: 400 },
  invalid_multipart: { status: 400 },
  missing_transfer_id: { status: 400 },
  missing_metadata: { status: 400 },
  metadata_too_large: { status: 400 },
  invalid_concat: { status: 400 },
  length_already_set: { status: 400 },
  invalid_part_number: { status: 400 },
  invalid_part_numbers: { status: 400 },
  key_revoked: { status: 400 },
  not_protected: { status: 400 },
  // 401: no credentials, or not good ones.
  missing_token: { status: 401 },
  invalid_token: { status: 401 },
  token_revoked: { status: 401 },
  token_expired: { status: 401 },
  invalid_credentials: { status: 401 },
  invalid_password: { status: 401 },
  password_required: { status: 401 },
  // 403: known caller, not allowed.
  insufficient_scope: { status: 403 },
  forbidden: { status: 403 },
  invalid_signature: { status: 403 },
  session_required: { status: 403 },
  csrf_failed: { status: 403 },
  route_unguarded: { status: 403 },
  signup_closed: { status: 403 },
  invite_required: { status: 403 },
  upload_unauthenticated: { status: 403 },
  final_upload: { status: 403 },
  not_found: { status: 404, message: 'Resource not found.' },
  method_not_allowed: { status: 405 },
  // 409: the request conflicts with the state of what it names.
  chunk_mismatch: { status: 409 },
  chunks_missing: { status: 409 },
  parts_missing: { status: 409 },
  file_complete: { status: 409 },
  file_removed: { status: 409 },
  file_incomplete: { status: 409 },
  files_incomplete: { status: 409 },
  no_files: { status: 409 },
  assembly_in_progress: { status: 409 },
  transfer_finalized: { status: 409 },
  transfer_not_ready: { status: 409 },
  slug_taken: { status: 409 },
  upload_complete: { status: 409 },
  upload_terminated: { status: 409 },
  length_below_offset: { status: 409 },
  offset_mismatch: { status: 409 },
  // 410: it existed and is gone for good.
  transfer_expired: { status: 410 },
  transfer_deleted: { status: 410 },
  download_limit_reached: { status: 410 },
  upload_expired: { status: 410 },
  unsupported_tus_version: { status: 412 },
  payload_too_large: { status: 413 },
  pending_uploads_limit: { status: 413 },
  unsupported_media_type: { status: 415 },
  range_not_satisfiable: { status: 416 },
  expiry_too_long: { status: 422 },
  upload_locked: { status: 423, message: 'Another request is writing to this upload; retry when it ends.' },
  rate_limited: { status: 429, message: 'Too many requests; retry later.' },
  // 5xx: the server's side. Planned states (shutdown, a dependency down, no room) say so.
  server_error: { status: 500, message: 'Something went wrong on our side; retry later.' },
  not_implemented: { status: 501 },
  unavailable: { status: 503, message: 'The server is shutting down; retry shortly.' },
  storage_unavailable: { status: 503, message: 'File storage is unavailable; retry shortly.' },
  database_unavailable: { status: 503, message: 'The database is unavailable; retry shortly.' },
  shared_state_unavailable: { status: 503, message: 'Shared state (Redis) is unavailable; retry shortly.' },
  storage_full: { status: 507, message: 'The server has no room for this upload.' },
  webhook_url_forbidden: { status: 400 },
  job_not_finished: { status: 409 },
  // File requests: the request's caps across all its uploads, and its end.
  file_request_full: { status: 409 },
  file_request_expired: { status: 410 },
  file_request_deleted: { status: 410 },
  file_type_not_allowed: { status: 422 },
  webhook_limit_reached: { status: 403 },
  // Administration: disabled accounts, refused admin actions, removed and purged transfers.
  account_disabled: { status: 401, message: 'This account is disabled.' },
  cannot_target_self: { status: 409 },
  last_admin: { status: 409 },
  transfer_removed: { status: 410, message: 'This transfer was removed by the operator of this server.' },
  transfer_purged: { status: 409 },
} as const satisfies Record<string, { status: number; message?: string }>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** The codes the table answers with `status`. */
export type CodeWithStatus<S extends number> = { [C in ErrorCode]: (typeof ERRORS)[C]['status'] extends S ? C : never }[ErrorCode];

export interface ErrorExtras {
  /** Extra top-level fields of the envelope, beside `error` (as the Trinsfer API places them). */
  context?: Record<string, unknown>;
  details?: unknown;
  headers?: Record<string, string>;
}

/**
 * Typed errors thrown by services and mapped to the error envelope by the HTTP layer. The status
 * follows from the code; services never name one.
 */
export class AppError extends Error {
  readonly status: number;
  readonly context: Record<string, unknown>;
  readonly details?: unknown;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    extras: ErrorExtras = {},
  ) {
    const spec: { status: number; message?: string } = ERRORS[code];
    super(message ?? spec.message ?? code);
    this.name = 'AppError';
    this.status = spec.status;
    this.context = extras.context ?? {};
    this.details = extras.details;
    this.headers = extras.headers ?? {};
  }

  /**
   * The same error answered with the status a protocol prescribes for it (tus's 460 for a
   * checksum mismatch, WeTransfer's 417 for part 0). For the HTTP layer, which knows protocols.
   */
  withStatus(status: number): AppError {
    const copy = new AppError(this.code, this.message, { context: this.context, details: this.details, headers: this.headers });
    (copy as { status: number }).status = status;
    return copy;
  }
}

/** A code with a fixed message may leave it out; any other names what went wrong. */
type Factory<C extends ErrorCode> = (typeof ERRORS)[C] extends { message: string }
  ? (message?: string, extras?: ErrorExtras) => AppError
  : (message: string, extras?: ErrorExtras) => AppError;

/** One factory per code: `throw fail.file_complete('This file is already uploaded.')`. */
export const fail = Object.fromEntries(
  ERROR_CODES.map((code) => [code, (message?: string, extras?: ErrorExtras) => new AppError(code, message, extras)]),
) as { readonly [C in ErrorCode]: Factory<C> };

/** 429 with the wait in Retry-After and in the envelope, so a client knows when to come back. */
export const tooManyRequests = (retryAfterSeconds: number, message?: string) =>
  fail.rate_limited(message, { context: { retry_after: retryAfterSeconds }, headers: { 'retry-after': String(retryAfterSeconds) } });

/** 423 for a writer that came second; tus clients retry it after Retry-After. */
export const locked = (message?: string) => fail.upload_locked(message, { headers: { 'retry-after': '1' } });

/** 503 for a state that passes (shutting down, a dependency down), with Retry-After. */
export const unavailable = (code: CodeWithStatus<503> = 'unavailable', message?: string) =>
  new AppError(code, message, { headers: { 'retry-after': '5' } });

/**
 * A change to a transfer that has ended: a conflict with its state (409), under the code its
 * reads answer 410 with, as published.
 */
export const transferClosed = (message: string) => fail.transfer_expired(message).withStatus(409);

/** A change to a deleted transfer: a conflict with its state (409), under the code its reads answer 410 with. */
export const transferDeletedConflict = (message: string) => fail.transfer_deleted(message).withStatus(409);
