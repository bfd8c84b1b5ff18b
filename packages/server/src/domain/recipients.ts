import type { EmailStatus } from '../db/schema.ts';

/**
 * Rules for recipients: what an acceptable address is, how long a recipient's link token is, and
 * which status a recipient shows.
 */

/**
 * Base62 characters of a recipient's link token (`/d/{token}`): 32 of them carry 190 bits, so
 * links can be neither guessed nor enumerated.
 */
export const RECIPIENT_TOKEN_LENGTH = 32;
export const RECIPIENT_TOKEN_PATTERN = `^[0-9A-Za-z]{${RECIPIENT_TOKEN_LENGTH}}$`;

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The address in its stored form (trimmed, lower case), or null when it is not a plain address
 * Ferry will send to: no display name, no comments or quoted local parts, no control characters
 * (a CR or LF anywhere is refused, never trimmed away), a dotted domain of valid labels, and the
 * lengths SMTP allows. Every recipient address goes through this one function, so a stricter
 * validator can take its place in one line.
 */
export function normalizeRecipientEmail(raw: string): string | null {
  // Control characters are refused wherever they are, before trimming could hide a trailing CR/LF.
  if (/[\u0000-\u001f\u007f]/.test(raw)) return null;
  const email = raw.trim().toLowerCase();
  if (email.length > 254) return null;
  const at = email.lastIndexOf('@');
  if (at <= 0 || at !== email.indexOf('@')) return null;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || domain.length > 253 || !labels.every((label) => DOMAIN_LABEL.test(label))) return null;
  // A top-level domain is never all digits (that would be an IP address written without brackets).
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return email;
}

export type RecipientStatus = EmailStatus | 'opened' | 'downloaded';

/** What a recipient did last outranks what was sent to them: downloaded, then opened, then the email's state. */
export function recipientStatus(row: { email_status: EmailStatus; opened_at: string | null; download_count: number }): RecipientStatus {
  if (row.download_count > 0) return 'downloaded';
  if (row.opened_at !== null) return 'opened';
  return row.email_status;
}
