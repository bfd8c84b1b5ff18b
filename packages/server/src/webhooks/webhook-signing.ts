import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures. Secrets have the Standard Webhooks form `whsec_<base64 of 32 random bytes>`
 * and the HMAC key is the decoded base64 part, so a receiver verifies with the `standardwebhooks`
 * package unchanged. The Trinsfer-style `X-Ferry-Signature` uses the SAME decoded key bytes (not
 * the `whsec_...` text), so one secret serves both schemes.
 *
 * Secrets are passed newest first. During a rotation both the new and the old secret sign
 * `webhook-signature` (one `v1,` entry each, as the standard allows), while `X-Ferry-Signature`,
 * which holds one value, is signed with the newest.
 */

const PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A fresh signing secret, shown to its owner once. */
export function generateWebhookSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** The HMAC key of a secret (the base64 part decoded); throws on anything not of that form. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new Error('webhook secret must start with whsec_');
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('webhook secret must be base64 after whsec_');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) throw new Error('webhook secret must decode to 24-64 bytes');
  return key;
}

const hmac = (secret: string, data: string) => createHmac('sha256', secretKey(secret)).update(data, 'utf8').digest();

/** `webhook-signature`: `v1,<base64>` for each secret, space-separated. */
export function signStandard(secrets: readonly string[], id: string, timestampSeconds: number, body: string): string {
  if (secrets.length === 0) throw new Error('at least one webhook secret is needed to sign');
  return secrets.map((secret) => `v1,${hmac(secret, `${id}.${timestampSeconds}.${body}`).toString('base64')}`).join(' ');
}

/** `X-Ferry-Signature`: `sha256=<hex HMAC-SHA256 of the raw body>`. */
export function signFerry(secret: string, body: string): string {
  return `sha256=${hmac(secret, body).toString('hex')}`;
}

/** Constant-time check of an `X-Ferry-Signature` value against any of the secrets. */
export function verifyFerrySignature(secrets: readonly string[], body: string, header: string): boolean {
  const given = Buffer.from(header, 'utf8');
  let ok = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signFerry(secret, body), 'utf8');
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  return ok;
}

export interface WebhookHeaderInput {
  /** The delivery id (`msg_...`-like), the same on every retry so receivers can deduplicate. */
  id: string;
  /** The event type, e.g. `transfer.ready`. */
  type: string;
  /** When this attempt is sent; receivers refuse timestamps far from their clock. */
  timestamp: Date;
  /** The exact body bytes that will be sent. */
  body: string;
  /** Active secrets, newest first. */
  secrets: readonly string[];
}

/** Every signature and identification header of one delivery attempt. */
export function webhookHeaders({ id, type, timestamp, body, secrets }: WebhookHeaderInput): Record<string, string> {
  if (secrets.length === 0) throw new Error('at least one webhook secret is needed to sign');
  const seconds = Math.floor(timestamp.getTime() / 1000);
  return {
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': signStandard(secrets, id, seconds, body),
    'x-ferry-event': type,
    'x-ferry-delivery': id,
    'x-ferry-signature': signFerry(secrets[0]!, body),
  };
}
