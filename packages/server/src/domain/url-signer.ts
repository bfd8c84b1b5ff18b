import { hmacBase64Url, safeEqual, sha256Hex } from './secrets.ts';

/**
 * HMAC capabilities: signed download URLs (file id + expiry), signed part upload URLs (file id +
 * part number + expiry; the WeTransfer flow) and password access tokens
 * (transfer id + expiry + a fingerprint of the current password hash, so changing or clearing
 * the password kills every token issued before), and device tokens (an email + a nonce + expiry:
 * the browser that signed in to that account before).
 */
export class UrlSigner {
  constructor(private readonly secret: string) {}

  signDownload(fileId: string, expiresAtSeconds: number): string {
    return hmacBase64Url(this.secret, `download:${fileId}:${expiresAtSeconds}`);
  }

  verifyDownload(fileId: string, expires: string, signature: string, nowMs: number): boolean {
    if (!/^\d{1,12}$/.test(expires)) return false;
    const ok = safeEqual(this.signDownload(fileId, Number(expires)), signature);
    return ok && Number(expires) * 1000 > nowMs;
  }

  /** The signature of a part upload URL: one part of one file, until `expiresAtSeconds`. */
  signPart(fileId: string, partNumber: number, expiresAtSeconds: number): string {
    return hmacBase64Url(this.secret, `part:${fileId}:${partNumber}:${expiresAtSeconds}`);
  }

  /**
   * True when `signature` was issued for exactly this file and part with this expiry, and the
   * expiry has not passed. `expires` is the raw query value: anything but plain digits is false.
   * The `part:` domain keeps a part signature from ever passing as a download signature.
   */
  verifyPart(fileId: string, partNumber: number, expires: string, signature: string, nowMs: number): boolean {
    if (!/^\d{1,12}$/.test(expires) || !Number.isSafeInteger(partNumber) || partNumber < 1) return false;
    const ok = safeEqual(this.signPart(fileId, partNumber, Number(expires)), signature);
    return ok && Number(expires) * 1000 > nowMs;
  }

  issueAccessToken(transferId: string, passwordHash: string, expiresAtSeconds: number): string {
    const mac = hmacBase64Url(this.secret, `access:${transferId}:${expiresAtSeconds}:${sha256Hex(passwordHash)}`);
    return `${expiresAtSeconds}.${mac}`;
  }

  verifyAccessToken(token: string, transferId: string, passwordHash: string, nowMs: number): boolean {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expires = Number(match[1]);
    const expected = hmacBase64Url(this.secret, `access:${transferId}:${expires}:${sha256Hex(passwordHash)}`);
    return safeEqual(expected, match[2]!) && expires * 1000 > nowMs;
  }

  /**
   * A device token: `<expires>.<nonce>.<mac>`, for the account of `email` (normalised) only. It
   * carries neither the email nor the account, so it tells nothing to whoever reads it.
   */
  issueDeviceToken(email: string, nonce: string, expiresAtSeconds: number): string {
    return `${expiresAtSeconds}.${nonce}.${this.deviceMac(email, nonce, expiresAtSeconds)}`;
  }

  /** The nonce and expiry of a device token issued for exactly this email and not expired, else null. */
  readDeviceToken(token: string, email: string, nowMs: number): { nonce: string; expiresAtSeconds: number } | null {
    const match = /^(\d{1,12})\.([A-Za-z0-9]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return null;
    const expires = Number(match[1]);
    const nonce = match[2]!;
    if (!safeEqual(this.deviceMac(email, nonce, expires), match[3]!) || expires * 1000 <= nowMs) return null;
    return { nonce, expiresAtSeconds: expires };
  }

  private deviceMac(email: string, nonce: string, expiresAtSeconds: number): string {
    return hmacBase64Url(this.secret, `device:${sha256Hex(email)}:${nonce}:${expiresAtSeconds}`);
  }
}
