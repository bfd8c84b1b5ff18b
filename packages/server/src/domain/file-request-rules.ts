import { randomBase62 } from '../ids.ts';
import { sha256Hex } from './secrets.ts';
import { baseName } from './relative-path.ts';

/**
 * File request links: `/r/{token}`, 32 base62 characters (190 bits). Only its SHA-256 is stored,
 * so the link is shown once, when made or replaced.
 */
export const FILE_REQUEST_TOKEN = /^[0-9A-Za-z]{32}$/;

export function newFileRequestToken(): { token: string; hash: string } {
  const token = randomBase62(32);
  return { token, hash: sha256Hex(token) };
}

export const MAX_ALLOWED_TYPES = 50;
export const MAX_UPLOADER_NAME_LENGTH = 200;

const EXTENSION = /^\.[a-z0-9][a-z0-9._+-]{0,31}$/;
const TOKEN_CHARS = "[a-z0-9][a-z0-9!#$&^_.+-]{0,126}";
const MEDIA_RANGE = new RegExp(`^${TOKEN_CHARS}/(\\*|${TOKEN_CHARS})$`);

/**
 * An `allowed_types` entry in its stored form (lower case), or null when it is neither a file
 * extension (`.pdf`, `.tar.gz`) nor a MIME type (`application/pdf`) or range (`image/*`).
 */
export function normalizeAllowedType(raw: string): string | null {
  const entry = raw.trim().toLowerCase();
  if (EXTENSION.test(entry)) return entry;
  if (MEDIA_RANGE.test(entry) && !entry.startsWith('*/')) return entry;
  return null;
}

/**
 * Whether a file may be uploaded into a request accepting `allowed` (null or empty: anything).
 * An extension entry matches the end of the file's name, a MIME entry its content type, both as
 * the uploader declared them (Ferry does not look inside files), in any letter case.
 */
export function typeAllowed(allowed: readonly string[] | null, name: string, contentType: string): boolean {
  if (allowed === null || allowed.length === 0) return true;
  const lowerName = baseName(name).toLowerCase();
  const type = contentType.toLowerCase();
  return allowed.some((entry) => {
    if (entry.startsWith('.')) return lowerName.endsWith(entry) && lowerName.length > entry.length;
    if (entry.endsWith('/*')) return type.startsWith(entry.slice(0, -1));
    return type === entry;
  });
}
