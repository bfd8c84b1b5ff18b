import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Uniform base62 string from the CSPRNG (rejection sampling avoids modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Lower-case alphanumeric (base36) from the CSPRNG, for storage keys and key prefixes. */
export function randomBase36(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 252) out += ALPHABET[byte % 36];
      if (out.length === length) break;
    }
  }
  return out;
}

export type IdPrefix = 'usr' | 'tr' | 'fl' | 'key' | 'ses' | 'inv' | 'up' | 'job' | 'evt' | 'rcp' | 'wh' | 'whd' | 'frq' | 'rct' | 'rsc' | 'spd';

/** 22 base62 characters carry 131 bits: ids can be neither guessed nor enumerated. */
export const newId = (prefix: IdPrefix): string => `${prefix}_${randomBase62(22)}`;
