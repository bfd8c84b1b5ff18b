import { Type, type TSchema, type TString } from '@sinclair/typebox';
import { MAX_PASSWORD_BYTES, MIN_ACCOUNT_PASSWORD_LENGTH } from '../domain/passwords.ts';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

/** Shared TypeBox schemas: they validate requests, shape responses and feed /openapi.json. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const DateTime = Type.String({ format: 'date-time' });

export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: ERROR_CODES, description: 'Stable lower snake_case error code; README.md lists each with its status.' }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
    request_id: Type.Optional(Type.String()),
  },
  { $id: 'ErrorEnvelope', additionalProperties: true, description: 'Every error, with optional context fields beside `error`.' },
);

export const ErrorRef = Type.Ref('ErrorEnvelope');

export const Data = <T extends TSchema>(schema: T) => Type.Object({ data: schema });

export const Pagination = Type.Object({ limit: Type.Integer(), offset: Type.Integer(), total: Type.Integer() });

export const Page = <T extends TSchema>(item: T) => Type.Object({ data: Type.Array(item), pagination: Pagination });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
};

/**
 * Passwords as domain/passwords.ts and the services check them. The byte limit has no JSON
 * Schema keyword, so it is stated in the description (the request body limit bounds the rest).
 */
const TOO_LONG = `at most ${MAX_PASSWORD_BYTES} bytes in UTF-8 (longer: 413 payload_too_large)`;
export const Passwords = {
  /** A new account's password. */
  account: Type.String({
    minLength: MIN_ACCOUNT_PASSWORD_LENGTH,
    description: `At least ${MIN_ACCOUNT_PASSWORD_LENGTH} characters (Unicode code points) and ${TOO_LONG}. Nothing else is required.`,
  }),
  /** An existing account's password, as typed at sign-in. */
  signIn: Type.String({ minLength: 1, description: `The account's password: ${TOO_LONG}.` }),
  /** A transfer's link password. */
  link: Type.String({ minLength: 1, description: `A password recipients must give before they see the transfer: at least 1 character, ${TOO_LONG}. null removes it.` }),
};

/** The error responses a route may give, each as the envelope. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorRef> {
  const out: Record<number, typeof ErrorRef> = {};
  for (const status of [...statuses, 429, 500]) out[status] = ErrorRef;
  return out;
}

/** A download revalidated with If-None-Match. */
export const NotModified = Type.Null({ description: 'If-None-Match named the current ETag: no body, not counted as a download.' });

export const IdParam = <K extends string>(name: K, prefix: string) =>
  Type.Object({ [name]: Type.String({ pattern: `^${prefix}_[0-9a-zA-Z]{22}$`, description: `${prefix}_ id` }) } as Record<K, TString>);

export const UploadInstructions = Type.Object({
  method: Type.String(),
  url: Type.String(),
  content_type: Type.String(),
});

export const FileView = Type.Object(
  {
    id: Type.String(),
    transfer_id: Type.String(),
    name: Type.String(),
    path: Type.String({ description: 'The name with its folders ("photos/2024/a.jpg") when uploaded from a folder (tus relativePath); else the name.' }),
    size: Type.Integer(),
    content_type: Type.String(),
    state: Type.Union([Type.Literal('pending'), Type.Literal('complete')]),
    sha256: Nullable(Type.String()),
    crc32: Nullable(Type.String({ description: '8 hex digits' })),
    download_count: Type.Integer(),
    created_at: DateTime,
    completed_at: Nullable(DateTime),
    upload: Type.Optional(UploadInstructions),
    multipart: Type.Optional(
      Type.Object(
        {
          part_numbers: Type.Integer({ description: 'How many parts; numbered from 1.' }),
          chunk_size: Type.Integer({ description: 'Bytes in every part but the last.' }),
        },
        { description: 'Signed-part uploads (the WeTransfer flow): GET .../upload-url/{n} for each part, then PUT .../upload-complete.' },
      ),
    ),
    download_url: Type.Optional(Type.String({ description: 'Signed URL, usable without credentials until it expires.' })),
    download_url_expires_at: Type.Optional(DateTime),
  },
  { $id: 'File' },
);

export const TransferView = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    message: Nullable(Type.String()),
    recipients: Type.Array(Type.String()),
    state: Type.Union([Type.Literal('uploading'), Type.Literal('ready'), Type.Literal('expired'), Type.Literal('deleted')]),
    slug: Nullable(Type.String()),
    url: Nullable(Type.String({ description: 'The shared link /t/{slug}; null while public_link is false (and once purged).' })),
    public_link: Type.Boolean({ description: 'Whether the shared link works. When false, only recipients\' own /d/ links lead to the transfer.' }),
    expires_at: Nullable(DateTime),
    password_protected: Type.Boolean(),
    max_downloads: Nullable(Type.Integer()),
    confirmation: Type.Boolean({ description: 'The sender is emailed when the transfer is ready.' }),
    notify: Type.Boolean({ description: 'The sender is emailed at the first download and after the second.' }),
    reminders: Type.Boolean({ description: 'Recipients who have not downloaded are reminded one day before expiry.' }),
    download_count: Type.Integer(),
    size: Type.Integer(),
    file_count: Type.Integer(),
    files: Type.Array(Type.Ref('File')),
    created_at: DateTime,
    updated_at: DateTime,
    finalized_at: Nullable(DateTime),
    upload_url: Type.String({ description: 'tus 1.0 endpoint for resumable uploads into this transfer.' }),
    upload_token: Type.Optional(
      Type.String({
        description:
          'Grants uploads into this transfer only (file declarations and PUT content, multipart, tus, chunks, signed parts, finalize), ' +
          'for browsers and scripts that must not hold an API key. Shown once, at creation and when rotated.',
      }),
    ),
    file_request_id: Nullable(Type.String({ description: 'The file request (frq_ id) this transfer was received through, else null.' })),
    uploader: Nullable(
      Type.Object(
        { name: Nullable(Type.String()), email: Nullable(Type.String()), message: Nullable(Type.String()) },
        { description: 'What the uploader of a file request gave about themselves; null for other transfers.' },
      ),
    ),
  },
  { $id: 'Transfer' },
);

export const FileRequestView = Type.Object(
  {
    id: Type.String({ description: 'frq_ id' }),
    title: Type.String(),
    message: Nullable(Type.String()),
    url: Nullable(
      Type.String({
        description:
          'The link to hand out, /r/{token}. Only in the answers of creation and of POST .../link (which replaces it): only a hash of the token is stored, so it is null everywhere else.',
      }),
    ),
    state: Type.Union([Type.Literal('open'), Type.Literal('full'), Type.Literal('expired')], {
      description: 'full: it holds max_files files or max_bytes bytes; it takes no more until a cap is raised or a received transfer is deleted.',
    }),
    expires_at: Nullable(DateTime),
    max_files: Nullable(Type.Integer({ description: 'Files across every uploader together; null = no cap.' })),
    max_bytes: Nullable(Type.Integer({ description: 'Declared bytes across every uploader together; null = no cap.' })),
    max_file_size: Nullable(Type.Integer({ description: 'Bytes of one file; null = the plan\'s limits only.' })),
    allowed_types: Type.Array(Type.String(), { description: 'MIME types (image/* allowed) and extensions (.pdf); empty = any type.' }),
    password_protected: Type.Boolean(),
    require_name: Type.Boolean(),
    require_email: Type.Boolean(),
    notify: Type.Boolean({ description: 'Whether the requester is told when files arrive.' }),
    received: Type.Object(
      { transfers: Type.Integer(), files: Type.Integer(), bytes: Type.Integer() },
      { description: 'What the request holds: its transfers that are not deleted and their files, pending ones included (a declared file counts from its declaration).' },
    ),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'FileRequest' },
);

export const ApiKeyView = Type.Object(
  {
    id: Type.String(),
    prefix: Type.String(),
    name: Type.String(),
    scopes: Type.Array(Type.String()),
    created_at: DateTime,
    last_used_at: Nullable(DateTime),
    expires_at: Nullable(DateTime),
    revoked_at: Nullable(DateTime),
  },
  { $id: 'ApiKey' },
);

export const ApiKeyWithSecret = Type.Intersect([
  Type.Ref('ApiKey'),
  Type.Object({ key: Type.String({ description: 'The whole key; shown this once only.' }) }),
]);

export const RecipientView = Type.Object(
  {
    id: Type.String(),
    transfer_id: Type.String(),
    email: Type.String(),
    status: Type.Union(['pending', 'sent', 'bounced', 'failed', 'opened', 'downloaded'].map((s) => Type.Literal(s)), {
      description: 'downloaded (a completed download through their link), else opened (their page was visited), else email_status.',
    }),
    email_status: Type.Union(['pending', 'sent', 'bounced', 'failed'].map((s) => Type.Literal(s)), { description: 'The latest email sending them their link.' }),
    email_sent_at: Nullable(DateTime),
    email_error: Nullable(Type.String()),
    url: Type.String({ description: 'Their own link /d/{token}: it identifies them, so share it with them only.' }),
    opened_at: Nullable(DateTime),
    last_opened_at: Nullable(DateTime),
    first_download_at: Nullable(DateTime),
    last_download_at: Nullable(DateTime),
    download_count: Type.Integer({ description: 'Completed downloads (a file or the ZIP) through their link.' }),
    created_at: DateTime,
  },
  { $id: 'Recipient' },
);

export const ReceiptView = Type.Object(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('page_view'), Type.Literal('file'), Type.Literal('zip')]),
    recipient: Nullable(Type.Object({ id: Type.String(), email: Nullable(Type.String()) }, { description: 'null: through the shared link.' })),
    file: Nullable(Type.Object({ id: Type.String(), name: Nullable(Type.String()) })),
    range: Nullable(Type.String({ description: '"first-last" byte positions of a range request; null for the whole body.' })),
    started_at: DateTime,
    finished_at: Nullable(DateTime),
    bytes_sent: Type.Integer(),
    completed: Type.Boolean({ description: 'Every byte of the response was handed to the client (false: aborted, or still running while finished_at is null).' }),
  },
  { $id: 'Receipt' },
);

export const sharedSchemas = [ErrorEnvelope, FileView, TransferView, ApiKeyView, FileRequestView, RecipientView, ReceiptView];
