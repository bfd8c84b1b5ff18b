import type { Generated } from 'kysely';

/** Row types for Kysely. Timestamps are ISO 8601 UTC text on both dialects; booleans are 0/1. */
export interface UsersTable {
  id: string;
  email: string;
  name: string | null;
  password_hash: string;
  is_admin: number;
  created_at: string;
  /** Set while an administrator has disabled the account: its credentials and links stop (migration 016). */
  disabled_at?: string | null;
  disabled_reason?: string | null;
  /** Set once the account's deletion is asked; the purge job then removes its blobs and rows. */
  deleted_at?: string | null;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  csrf_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  prefix: string;
  secret_hash: string;
  name: string;
  scopes: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface InvitesTable {
  id: string;
  token_hash: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export type TransferState = 'uploading' | 'ready' | 'expired' | 'deleted';

export interface TransfersTable {
  id: string;
  user_id: string;
  title: string;
  message: string | null;
  /**
   * JSON list of addresses, superseded by the recipients table (migration 009 copied every list
   * into rows). Kept for older readers; new transfers write `[]` and nothing reads it.
   */
  recipients: string;
  /** The link's slug as its owner wrote it; null once purged. */
  slug: string | null;
  /**
   * The slug in lower case, unique: `Report` and `report` are one link. Kept after a purge so the
   * slug stays reserved for its former owner (SLUG_RESERVATION_DAYS).
   */
  slug_key: string | null;
  password_hash: string | null;
  max_downloads: number | null;
  download_count: Generated<number>;
  /** Bytes served to recipients; max_downloads caps it at max_downloads x the transfer's size. */
  bytes_served: Generated<number>;
  state: TransferState;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  finalized_at: string | null;
  deleted_at: string | null;
  purged_at: string | null;
  /** SHA-256 of the transfer's upload token (grants uploads into this transfer only). */
  upload_token_hash: string | null;
  /** 1: email the sender when the transfer is ready (migration 012). */
  confirmation: number;
  /** 1: email the sender at the first download and a summary after the second. */
  notify: number;
  /** 1 (default): remind recipients who have not downloaded one day before expiry. */
  reminders: number;
  /** Download notices sent so far (0, 1 or 2; never more). */
  notices_sent: number;
  reminded_at: string | null;
  /** 1 while the shared /t/{slug} link works; 0 when only recipients' own links do (migration 009). */
  public_link: Generated<number>;
  /** The file request this transfer was opened through (its owner is the requester). */
  file_request_id?: string | null;
  /** What the uploader of a file request gave about themselves (the request may require them). */
  uploader_name?: string | null;
  uploader_email?: string | null;
  uploader_message?: string | null;
  /** An administrator's removal (abuse takedown): when, by whom (null: the operator CLI) and why (migration 016). */
  takedown_at?: string | null;
  takedown_by?: string | null;
  takedown_reason?: string | null;
}

/**
 * A file request: whoever holds its link (`/r/{token}`, stored as SHA-256 only) may open
 * transfers owned by `user_id` and upload into them, within caps that count every file of every
 * transfer opened through it (null = no cap). Soft-deleted: the link dies, received transfers stay.
 */
export interface FileRequestsTable {
  id: string;
  user_id: string;
  token_hash: string;
  title: string;
  message: string | null;
  expires_at: string | null;
  max_files: number | null;
  max_bytes: number | null;
  max_file_size: number | null;
  /** JSON array of lower-case MIME types (`image/*` allowed) and extensions (`.pdf`); null = any. */
  allowed_types: string | null;
  password_hash: string | null;
  require_name: number;
  require_email: number;
  notify: number;
  created_at: string;
  updated_at: string;
  deleted_at: string | null;
}

export type FileState = 'pending' | 'complete';

export interface FilesTable {
  id: string;
  transfer_id: string;
  name: string;
  /** Declaration order within the transfer. */
  position: number;
  size: number;
  content_type: string;
  sha256: string | null;
  crc32: number | null;
  state: FileState;
  store_id: string;
  storage_key: string;
  download_count: Generated<number>;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** Signed-part uploads: every part but the last is exactly part_size bytes. */
  part_size: number | null;
  /** Chunk uploads: how many chunks the client announced. */
  part_count: number | null;
  /** Chunk uploads: the client's own id for the file (X-File-Id), unique within the transfer. */
  client_file_id: string | null;
}

/** A stored part of a file awaiting assembly (signed parts, numbered from 1; chunks, from 0). */
export interface UploadPartsTable {
  file_id: string;
  part_number: number;
  size: number;
  store_id: string;
  storage_key: string;
  created_at: string;
}

export type TusUploadKind = 'single' | 'partial' | 'final';

/** A tus upload: Ferry's view (owner, target) beside the tus library's own record (`info`). */
export interface TusUploadsTable {
  id: string;
  user_id: string;
  transfer_id: string | null;
  file_id: string | null;
  kind: TusUploadKind;
  size: number | null;
  info: string | null;
  /** Final uploads: JSON array of the partial upload ids, in order. */
  concat: string | null;
  created_at: string;
  expires_at: string;
  completed_at: string | null;
  /** Partial uploads: when the last byte arrived (their length stops counting as pending). */
  received_at?: string | null;
}

export interface UploadLocksTable {
  key: string;
  holder: string;
  expires_at: string;
}

export interface RateCountersTable {
  bucket: string;
  count: number;
  window_ends_at: string;
}

export interface UsageCountersTable {
  user_id: string;
  period: string;
  count: number;
}

export interface DirectMultipartUploadsTable {
  file_id: string;
  store_id: string;
  object_key: string;
  upload_id: string;
  created_at: string;
}

/** One-time events claimed by a conditional insert ('first_account': the first account was made). */
export interface WriteLocksTable {
  name: string;
  taken_at: string;
}

export interface InstanceClaimsTable {
  name: string;
  claimed_at: string;
}

/**
 * Sign-in attempts per email or per device cookie (subject = SHA-256 of the normalised email or
 * of the cookie's nonce, under distinct prefixes): consecutive failures until `window_ends_at`
 * (then forgotten; a device's last as long as its cookie) and the earliest time the next attempt
 * may start.
 */
export interface LoginThrottlesTable {
  subject: string;
  failures: number;
  window_ends_at: string;
  next_attempt_at: string;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed';

/** A durable job (migration 008). `payload` is JSON; `lease_*` is set while a worker runs it. */
export interface JobsTable {
  id: string;
  kind: string;
  payload: string;
  state: JobState;
  group_key: string | null;
  dedupe_key: string | null;
  attempts: number;
  max_attempts: number;
  run_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** A webhook endpoint (migration 010). `secret`/`previous_secret` are encrypted (secret-box.ts). */
export interface WebhookEndpointsTable {
  id: string;
  user_id: string;
  url: string;
  description: string | null;
  /** JSON list of event types, or ["*"] for all. */
  events: string;
  secret: string;
  /** The secret before the last rotation; it signs too until previous_secret_expires_at. */
  previous_secret: string | null;
  previous_secret_expires_at: string | null;
  enabled: number;
  disabled_at: string | null;
  disabled_reason: string | null;
  /** When the current run of failed attempts began; null after a success. */
  failing_since: string | null;
  created_at: string;
  updated_at: string;
}

export type WebhookDeliveryState = 'pending' | 'succeeded' | 'failed';

/** One event for one endpoint (migration 010); `id` is the webhook-id, `body` the bytes sent. */
export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  user_id: string;
  event_id: string;
  event_type: string;
  body: string;
  state: WebhookDeliveryState;
  attempts: number;
  response_status: number | null;
  response_excerpt: string | null;
  duration_ms: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

export type EmailStatus = 'pending' | 'sent' | 'bounced' | 'failed';

/**
 * A recipient of a transfer (migration 009). `token` is their link `/d/{token}`, stored as it is:
 * like the public slug it is a capability the owner must be able to show and the email job must
 * put into the message, so it cannot be kept only as a hash. A removed recipient keeps its row
 * (`revoked_at`) for its receipts; its link is dead.
 */
export interface RecipientsTable {
  id: string;
  transfer_id: string;
  /** Normalised (trimmed, lower case); unique per transfer among live recipients. */
  email: string;
  /** Order of addition within the transfer (revoked rows keep theirs). */
  position: number;
  token: string;
  email_status: Generated<EmailStatus>;
  email_sent_at: string | null;
  email_error: string | null;
  /** The first and the latest visit of their download page. */
  opened_at: string | null;
  last_opened_at: string | null;
  /** Completed downloads only (see receipts). */
  first_download_at: string | null;
  last_download_at: string | null;
  download_count: Generated<number>;
  created_at: string;
  revoked_at: string | null;
}

export type ReceiptKind = 'page_view' | 'file' | 'zip';

/**
 * One visit of a download page or one download through a link (migration 009): the public link
 * (`recipient_id` null) or a recipient's. Written when the response starts and settled when it
 * ends: `completed` is 1 only when every byte was handed to the client.
 */
export interface ReceiptsTable {
  id: string;
  transfer_id: string;
  recipient_id: string | null;
  kind: ReceiptKind;
  file_id: string | null;
  /** "first-last" byte positions of a 206 answer; null for the whole body. */
  range: string | null;
  started_at: string;
  finished_at: string | null;
  bytes_sent: Generated<number>;
  completed: Generated<number>;
}

/** One download through a link, written when it settles (migration 013); kept FERRY_ANALYTICS_RAW_DAYS. */
export interface DownloadEventsTable {
  /** The receipt's id. */
  id: string;
  user_id: string;
  transfer_id: string;
  /** null for the ZIP. */
  file_id: string | null;
  recipient_id: string | null;
  kind: 'file' | 'zip';
  started_at: string;
  /** When it ended: the time analytics count it at. */
  at: string;
  bytes_sent: number;
  /** 1 when the last byte of the body reached the client (what emits `*.downloaded`). */
  completed: number;
  /** ISO 3166 alpha-2 from the client address; null when private or not in the database. */
  country: string | null;
  ua_family: string | null;
}

/** One completed upload of a file (migration 013); `id` is the file's id. */
export interface UploadEventsTable {
  id: string;
  user_id: string;
  transfer_id: string;
  at: string;
  bytes: number;
}

export type AnalyticsMetric = 'download' | 'upload';

/** Raw events summed per UTC day and dimensions (migration 013); a day is rewritten whole. */
export interface AnalyticsDailyTable {
  /** YYYY-MM-DD */
  day: string;
  metric: AnalyticsMetric;
  user_id: string;
  transfer_id: string;
  file_id: string | null;
  recipient_id: string | null;
  country: string | null;
  ua_family: string | null;
  events: number;
  completed: number;
  bytes: number;
}

export interface AnalyticsRollupDaysTable {
  day: string;
  rolled_at: string;
}

export type ReportType = 'transfers' | 'downloads' | 'usage';
export type ReportFormat = 'json' | 'csv';
export type ReportInterval = 'daily' | 'weekly' | 'monthly';

/** A report emailed to its account's owner every period (migration 013). */
export interface ReportSchedulesTable {
  id: string;
  user_id: string;
  type: ReportType;
  interval: ReportInterval;
  format: ReportFormat;
  created_at: string;
  /** The start of the next period: when the report of the period before it is due. */
  next_run_at: string;
  last_run_at: string | null;
}

/** One stored speed test result (migration 014); `public` is 0/1. */
export interface SpeedTestsTable {
  id: string;
  user_id: string;
  ping_ms: number;
  jitter_ms: number | null;
  download_mbps: number;
  upload_mbps: number;
  public: number;
  display_name: string | null;
  isp: string | null;
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  location: string | null;
  created_at: string;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  invites: InvitesTable;
  transfers: TransfersTable;
  file_requests: FileRequestsTable;
  files: FilesTable;
  upload_parts: UploadPartsTable;
  direct_multipart_uploads: DirectMultipartUploadsTable;
  tus_uploads: TusUploadsTable;
  upload_locks: UploadLocksTable;
  rate_counters: RateCountersTable;
  usage_counters: UsageCountersTable;
  instance_claims: InstanceClaimsTable;
  write_locks: WriteLocksTable;
  login_throttles: LoginThrottlesTable;
  jobs: JobsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  recipients: RecipientsTable;
  receipts: ReceiptsTable;
  download_events: DownloadEventsTable;
  upload_events: UploadEventsTable;
  analytics_daily: AnalyticsDailyTable;
  analytics_rollup_days: AnalyticsRollupDaysTable;
  report_schedules: ReportSchedulesTable;
  speed_tests: SpeedTestsTable;
}
