import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encrypts webhook signing secrets for the database. Ferry must read a secret back to sign with
 * it, so it cannot store a hash; instead each secret is sealed with AES-256-GCM under a key
 * derived (HKDF-SHA256) from the server secret, with the endpoint id as associated data, so a
 * copy of the database alone reveals no secret and a sealed value moved to another row fails to
 * open. Changing the server secret makes every stored webhook secret unreadable (rotate them).
 *
 * Format: `v1.<base64url of 12-byte IV | 16-byte tag | ciphertext>`.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  private readonly key: Buffer;

  constructor(serverSecret: string) {
    this.key = Buffer.from(hkdfSync('sha256', serverSecret, 'ferry', 'webhook-secrets/v1', 32));
  }

  seal(plain: string, boundTo: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const encrypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), encrypted]).toString('base64url')}`;
  }

  /** Throws when the value was not sealed by this key for `boundTo` (or was altered). */
  open(sealed: string, boundTo: string): string {
    const [version, payload] = sealed.split('.');
    if (version !== VERSION || payload === undefined) throw new Error('unknown sealed secret format');
    const raw = Buffer.from(payload, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) throw new Error('sealed secret too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
