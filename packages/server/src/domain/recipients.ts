import type { EmailStatus } from '../db/schema.ts';
import { emailAddressProblem } from '../mail/email-address.ts';

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

/**
 * The address in its stored form (trimmed, lower case), or null when it is not a plain address
 * Ferry will send to (the one email-address check of src/mail). A CR or LF anywhere is refused,
 * never trimmed away.
 */
export function normalizeRecipientEmail(raw: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(raw)) return null;
  const email = raw.trim().toLowerCase();
  return emailAddressProblem(email) === null ? email : null;
}

export type RecipientStatus = EmailStatus | 'opened' | 'downloaded';

/** What a recipient did last outranks what was sent to them: downloaded, then opened, then the email's state. */
export function recipientStatus(row: { email_status: EmailStatus; opened_at: string | null; download_count: number }): RecipientStatus {
  if (row.download_count > 0) return 'downloaded';
  if (row.opened_at !== null) return 'opened';
  return row.email_status;
}
