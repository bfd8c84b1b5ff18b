import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const sha256Hex = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

export const hmacBase64Url = (secret: string, value: string): string =>
  createHmac('sha256', secret).update(value).digest('base64url');

/**
 * Constant-time equality of two strings of any length: both sides are hashed to 32 bytes first,
 * so timingSafeEqual never sees unequal lengths (it would throw) and length leaks nothing.
 */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
