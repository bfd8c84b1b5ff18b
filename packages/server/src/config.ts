import path from 'node:path';
import type { WebhookPolicy } from './webhooks/webhook-url.ts';
import type { MailFrom } from './mail/mail-from.ts';
import type { S3Settings } from './storage/s3-client.ts';
import { MAX_RECIPIENTS, RECIPIENTS_CEILING } from './domain/transfer-rules.ts';
import { readGeoipPath, readMail, readRedisUrl, readStorage, readWebhookPorts } from './config-sections.ts';

/** Everything Ferry reads from the environment, read once by the composition root. */
export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string;
  secret: string | null;
  signup: 'open' | 'invite' | 'closed';
  login: LoginThrottleSettings;
  signedUrlTtlSeconds: number;
  accessTokenTtlSeconds: number;
  sessionTtlSeconds: number;
  purgeGraceSeconds: number;
  sweepIntervalSeconds: number;
  jobs: JobSettings;
  trustProxy: boolean | string;
  cookieSecure: boolean;
  logLevel: string;
  shutdownGraceSeconds: number;
  uploads: UploadSettings;
  storage: StorageSettings;
  /** FERRY_REDIS_URL: shared rate limits, upload slots and leases across instances. */
  redisUrl: string | null;
  /** FERRY_REDIS_PREFIX: prefix of every Redis key, so several deployments can share a server. */
  redisPrefix: string;
  plan: PlanLimits;
  webhooks: WebhookSettings;
  mail: MailSettings;
  analytics: AnalyticsSettings;
}

/** Download and upload analytics, and reports. */
export interface AnalyticsSettings {
  /** FERRY_GEOIP_DB: the country mmdb file; the bundled DB-IP Lite database by default, null when `off`. */
  geoipPath: string | null;
  /** FERRY_ANALYTICS_RAW_DAYS: days raw events (each download, each upload) are kept; daily rollups stay. */
  rawRetentionDays: number;
}

/** Which URLs webhooks may call (SSRF guard); see src/webhooks/. */
export interface WebhookSettings {
  /** FERRY_WEBHOOK_ALLOW_HTTP: allow http:// receivers (https only by default). */
  allowHttp: boolean;
  /** FERRY_WEBHOOK_ALLOW_PRIVATE: allow loopback and private addresses. For tests only. */
  allowPrivate: boolean;
  /** FERRY_WEBHOOK_PORTS: ports a receiver URL may name, or 'any'. */
  allowedPorts: number[] | 'any';
  /** FERRY_WEBHOOK_TIMEOUT_MS: how long one delivery attempt may take, answer included. */
  timeoutMs: number;
  /** FERRY_MAX_WEBHOOKS_PER_ACCOUNT: webhook endpoints one account may have. */
  maxPerAccount: number;
}

/** Outgoing email: through SMTP when configured, else written as .eml files under `<dataDir>/outbox`. */
export interface MailSettings {
  /** FERRY_SMTP_URL: `smtp://` or `smtps://`, credentials included; a secret, never logged. */
  smtpUrl: string | null;
  /** FERRY_MAIL_FROM: the From of every email. */
  from: MailFrom;
  /** FERRY_MAX_EMAILS_PER_DAY: emails Ferry sends on behalf of one account in 24 hours. */
  maxPerAccountPerDay: number;
}

/** The durable job queue every server process works on (emails, webhooks, sweeps). */
export interface JobSettings {
  /** FERRY_JOBS_POLL_MS: how often an idle worker looks for due jobs. */
  pollMs: number;
  /** FERRY_JOBS_LEASE_SECONDS: a claimed job whose worker stops renewing is taken over after this. */
  leaseSeconds: number;
  /** FERRY_JOBS_BACKOFF_SCALE: multiplies every retry delay (1 in production; tests shrink it). */
  backoffScale: number;
  /** FERRY_JOBS_WORKER: false leaves this process out of job processing (it still enqueues). */
  worker: boolean;
}

/** The per-email delay on failed sign-ins (beside the per-address limit). */
export interface LoginThrottleSettings {
  /** FERRY_LOGIN_FAILURES_BEFORE_DELAY: failed sign-ins an email may have before attempts are delayed. */
  failuresBeforeDelay: number;
  /** FERRY_LOGIN_MAX_DELAY: the longest delay, in seconds, between attempts for one email. */
  maxDelaySeconds: number;
}

/** Where new files go (FERRY_STORAGE); files already stored stay where their row says. */
export interface StorageSettings {
  driver: 'local' | 's3';
  s3: S3Settings | null;
  /** FERRY_S3_REDIRECT_DOWNLOADS: answer downloads with a 302 to a short-lived presigned GET. */
  redirectDownloads: boolean;
}

/** How resumable uploads behave, whatever the protocol. */
export interface UploadSettings {
  /** Signed-part size (FERRY_PART_SIZE); every part but the last has exactly this many bytes. */
  partSizeBytes: number;
  /** Largest single tus upload (Tus-Max-Size); never more than the plan's transfer size. */
  tusMaxSizeBytes: number;
  /** Incomplete uploads (tus, parts, chunks) are removed this long after they were created. */
  expirySeconds: number;
  /** Origins allowed to upload from a browser (CORS); empty means same-origin only. */
  corsOrigins: string[];
  /** Uploads one account may have streaming at once (docs/security-checklist.md I101). */
  maxConcurrentPerUser: number;
  /** An upload body idle this long is cut; the bytes received so far are kept (docs/security-checklist.md I100). */
  idleTimeoutSeconds: number;
  /**
   * Bytes one account may have declared in unfinished uploads at once (FERRY_MAX_PENDING_BYTES_PER_ACCOUNT),
   * so no account can reserve the whole disk with declarations it never sends.
   */
  maxPendingBytesPerAccount: number;
}

/** The one default plan until plans get their own issue; every number comes from config. */
export interface PlanLimits {
  name: string;
  maxExpiryDays: number;
  allowPermanent: boolean;
  maxTransferSizeBytes: number;
  maxFilesPerTransfer: number;
  requestsPerMinute: number;
  requestsPerMonth: number;
  /** FERRY_MAX_RECIPIENTS_PER_TRANSFER: live recipients one transfer may have. */
  maxRecipientsPerTransfer: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Reads and checks every FERRY_* variable; throws one ConfigError naming every bad one. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return def;
    if (!/^-?\d+$/.test(raw.trim())) {
      problems.push(`${name} must be an integer (got ${JSON.stringify(raw)})`);
      return def;
    }
    const value = Number(raw.trim());
    if (value < min || value > max) problems.push(`${name} must be between ${min} and ${max}`);
    return value;
  };
  const bool = (name: string, def: boolean): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return def;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got ${JSON.stringify(raw)})`);
    return def;
  };
  const fraction = (name: string, def: number): number => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return def;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value <= 0 || value > 1) {
      problems.push(`${name} must be a number above 0 and at most 1 (got ${JSON.stringify(raw)})`);
      return def;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, def: T, allowed: readonly T[]): T => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return def;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
      return def;
    }
    return raw as T;
  };

  const port = int('FERRY_PORT', 8080, 0, 65535);
  const dataDir = path.resolve(env.FERRY_DATA_DIR?.trim() || './data');
  const publicUrl = (env.FERRY_PUBLIC_URL?.trim() || `http://localhost:${port}`).replace(/\/+$/, '');
  try {
    const url = new URL(publicUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('FERRY_PUBLIC_URL must be http(s)');
  } catch {
    problems.push(`FERRY_PUBLIC_URL is not a URL (got ${JSON.stringify(publicUrl)})`);
  }
  const secret = env.FERRY_SECRET?.trim() || null;
  if (secret !== null && secret.length < 32) problems.push('FERRY_SECRET must be at least 32 characters');
  const trustProxyRaw = env.FERRY_TRUST_PROXY?.trim();
  const trustProxy =
    !trustProxyRaw || trustProxyRaw === 'false' ? false : trustProxyRaw === 'true' ? true : trustProxyRaw;

  const config: Config = {
    port,
    host: env.FERRY_HOST?.trim() || '0.0.0.0',
    publicUrl,
    dataDir,
    databaseUrl: env.FERRY_DATABASE_URL?.trim() || `sqlite://${path.join(dataDir, 'ferry.db')}`,
    secret,
    signup: oneOf('FERRY_SIGNUP', 'open', ['open', 'invite', 'closed'] as const),
    login: {
      failuresBeforeDelay: int('FERRY_LOGIN_FAILURES_BEFORE_DELAY', 5, 1, 1000),
      maxDelaySeconds: int('FERRY_LOGIN_MAX_DELAY', 300, 1, 900),
    },
    signedUrlTtlSeconds: int('FERRY_SIGNED_URL_TTL', 3600, 10, 7 * 86400),
    accessTokenTtlSeconds: int('FERRY_ACCESS_TOKEN_TTL', 3600, 10, 7 * 86400),
    sessionTtlSeconds: int('FERRY_SESSION_TTL', 14 * 86400, 60, 365 * 86400),
    purgeGraceSeconds: int('FERRY_PURGE_GRACE', 86400, 0, 365 * 86400),
    sweepIntervalSeconds: int('FERRY_SWEEP_INTERVAL', 60, 1, 86400),
    jobs: {
      pollMs: int('FERRY_JOBS_POLL_MS', 1000, 10, 60_000),
      leaseSeconds: int('FERRY_JOBS_LEASE_SECONDS', 60, 1, 3600),
      backoffScale: fraction('FERRY_JOBS_BACKOFF_SCALE', 1),
      worker: bool('FERRY_JOBS_WORKER', true),
    },
    trustProxy,
    cookieSecure: bool('FERRY_COOKIE_SECURE', publicUrl.startsWith('https:')),
    logLevel: oneOf('FERRY_LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    shutdownGraceSeconds: int('FERRY_SHUTDOWN_GRACE', 10, 0, 3600),
    uploads: {
      partSizeBytes: int('FERRY_PART_SIZE', 5 * 1024 * 1024, 64 * 1024, 5 * 1024 ** 3),
      tusMaxSizeBytes: 0,
      expirySeconds: int('FERRY_UPLOAD_EXPIRY', 86400, 60, 30 * 86400),
      corsOrigins: (env.FERRY_CORS_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean),
      maxConcurrentPerUser: int('FERRY_MAX_CONCURRENT_UPLOADS', 32, 1, 10000),
      idleTimeoutSeconds: int('FERRY_UPLOAD_IDLE_TIMEOUT', 60, 1, 3600),
      maxPendingBytesPerAccount: 0,
    },
    storage: readStorage(env, problems),
    redisUrl: readRedisUrl(env, problems),
    redisPrefix: env.FERRY_REDIS_PREFIX?.trim() || 'ferry:',
    plan: {
      name: env.FERRY_PLAN_NAME?.trim() || 'default',
      maxExpiryDays: int('FERRY_MAX_EXPIRY_DAYS', 30, 1, 36500),
      allowPermanent: bool('FERRY_ALLOW_PERMANENT', false),
      maxTransferSizeBytes: int('FERRY_MAX_TRANSFER_SIZE', 10 * 1024 ** 3, 1),
      maxFilesPerTransfer: int('FERRY_MAX_FILES_PER_TRANSFER', 1000, 1, 100000),
      requestsPerMinute: int('FERRY_RATE_LIMIT_PER_MINUTE', 600, 1),
      requestsPerMonth: int('FERRY_QUOTA_PER_MONTH', 1_000_000, 1),
      maxRecipientsPerTransfer: int('FERRY_MAX_RECIPIENTS_PER_TRANSFER', MAX_RECIPIENTS, 1, RECIPIENTS_CEILING),
    },
    webhooks: {
      allowHttp: bool('FERRY_WEBHOOK_ALLOW_HTTP', false),
      allowPrivate: bool('FERRY_WEBHOOK_ALLOW_PRIVATE', false),
      allowedPorts: readWebhookPorts(env, problems),
      timeoutMs: int('FERRY_WEBHOOK_TIMEOUT_MS', 15_000, 100, 60_000),
      maxPerAccount: int('FERRY_MAX_WEBHOOKS_PER_ACCOUNT', 20, 1, 1000),
    },
    mail: readMail(env, publicUrl, problems, int),
    analytics: {
      geoipPath: readGeoipPath(env, problems),
      rawRetentionDays: int('FERRY_ANALYTICS_RAW_DAYS', 90, 2, 3650),
    },
  };
  // Two full transfers by default: one being uploaded while the next is declared.
  config.uploads.maxPendingBytesPerAccount = int('FERRY_MAX_PENDING_BYTES_PER_ACCOUNT', Math.min(2 * config.plan.maxTransferSizeBytes, Number.MAX_SAFE_INTEGER), 1);
  config.uploads.tusMaxSizeBytes = Math.min(int('FERRY_TUS_MAX_SIZE', config.plan.maxTransferSizeBytes, 1), config.plan.maxTransferSizeBytes);
  if (config.storage.driver === 's3') {
    // S3 refuses parts under 5 MiB (but the last); files of more than 10 000 parts get larger ones.
    if (config.uploads.partSizeBytes < 5 * 1024 * 1024) problems.push('FERRY_PART_SIZE must be at least 5242880 (5 MiB) with FERRY_STORAGE=s3');
  }
  for (const origin of config.uploads.corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) problems.push(`FERRY_CORS_ORIGINS entries must be origins like https://app.example (got ${JSON.stringify(origin)})`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

export function webhookPolicy(config: Pick<Config, 'webhooks'>): WebhookPolicy {
  const { allowHttp, allowPrivate, allowedPorts } = config.webhooks;
  return { allowHttp, allowPrivate, allowedPorts };
}
