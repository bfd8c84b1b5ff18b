import { newId, randomBase62 } from '../ids.ts';
import { fail } from '../errors.ts';
import { iso } from '../domain/clock.ts';
import { hashPassword, MAX_PASSWORD_BYTES } from '../domain/passwords.ts';
import { MAX_DOWNLOADS_LIMIT, MAX_MESSAGE_LENGTH, MAX_TITLE_LENGTH, SLUG_PATTERN } from '../domain/transfer-rules.ts';
import type { PlanLimits } from '../config.ts';
import type { TransferRow, TransferWithTotals } from '../repositories/transfers-repository.ts';
import { passwordTooLong } from './auth-service.ts';
import type { FileDeclaration } from './file-declarations.ts';
import { resolveExpiry } from './expiry-policy.ts';

/** What a client may give when it creates or edits a transfer, and how each field is checked. */

export interface TransferInput {
  title?: string;
  message?: string | null;
  recipients?: string[];
  expires_days?: number | null;
  expires_at?: string | null;
  password?: string | null;
  slug?: string | null;
  max_downloads?: number | null;
  /** Whether the shared /t/{slug} link works (default true); recipients' own links always do. */
  public_link?: boolean;
  files?: FileDeclaration[];
  /** Email the sender when the transfer is ready. */
  confirmation?: boolean;
  /** Email the sender at the first download, then a summary after the second. */
  notify?: boolean;
  /** Remind recipients who have not downloaded one day before expiry (default true). */
  reminders?: boolean;
}

/** The row of a new, open transfer; every input checked (400, 422 expiry_too_long; a taken slug is 409 when written). */
export async function newTransferRow(ownerId: string, input: TransferInput & { title: string }, plan: PlanLimits, now: Date, uploadTokenHash: string | null): Promise<TransferRow> {
  const slug = input.slug ? checkSlug(input.slug) : randomBase62(22);
  return {
    id: newId('tr'),
    user_id: ownerId,
    title: checkTitle(input.title),
    message: checkMessage(input.message),
    // Superseded by recipient rows, written in the same transaction.
    recipients: '[]',
    slug,
    password_hash: await passwordHash(input.password),
    max_downloads: checkMaxDownloads(input.max_downloads),
    download_count: 0,
    state: 'uploading',
    expires_at: resolveExpiry(input, plan, now, true) ?? null,
    created_at: iso(now),
    updated_at: iso(now),
    finalized_at: null,
    deleted_at: null,
    purged_at: null,
    upload_token_hash: uploadTokenHash,
    confirmation: input.confirmation ? 1 : 0,
    notify: input.notify ? 1 : 0,
    reminders: input.reminders === false ? 0 : 1,
    notices_sent: 0,
    reminded_at: null,
    public_link: input.public_link === false ? 0 : 1,
  };
}

/**
 * The changes an edit makes to `transfer` (every field checked; 400, 422 expiry_too_long), and
 * the slug it claims when the slug changes.
 */
export async function transferChanges(transfer: TransferWithTotals, input: TransferInput, plan: PlanLimits, now: Date): Promise<{ changes: Partial<TransferRow>; newSlug: string | null }> {
  const changes: Partial<TransferRow> = { updated_at: iso(now) };
  if (input.title !== undefined) changes.title = checkTitle(input.title);
  if (input.message !== undefined) changes.message = checkMessage(input.message);
  if (input.public_link !== undefined) changes.public_link = input.public_link ? 1 : 0;
  const expiry = resolveExpiry(input, plan, now, false);
  if (expiry !== undefined) changes.expires_at = expiry;
  if (input.password !== undefined) changes.password_hash = await passwordHash(input.password);
  const newSlug = input.slug !== undefined && input.slug !== null && input.slug !== transfer.slug ? checkSlug(input.slug) : null;
  if (newSlug !== null) changes.slug = newSlug;
  if (input.max_downloads !== undefined) changes.max_downloads = checkMaxDownloads(input.max_downloads);
  if (input.confirmation !== undefined) changes.confirmation = input.confirmation ? 1 : 0;
  if (input.notify !== undefined) changes.notify = input.notify ? 1 : 0;
  if (input.reminders !== undefined) changes.reminders = input.reminders ? 1 : 0;
  return { changes, newSlug };
}

async function passwordHash(password: string | null | undefined): Promise<string | null> {
  if (password === undefined || password === null) return null;
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
  if (password.length === 0) throw fail.validation_failed('password must not be empty; send null to remove it.');
  return hashPassword(password);
}

function checkSlug(slug: string): string {
  if (!SLUG_PATTERN.test(slug)) {
    throw fail.validation_failed('slug must be 3-64 characters of letters, digits, "-" and "_", starting with a letter or digit.');
  }
  return slug;
}

function checkTitle(title: string): string {
  const trimmed = title.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_TITLE_LENGTH) {
    throw fail.validation_failed(`title must have 1 to ${MAX_TITLE_LENGTH} characters.`);
  }
  return trimmed;
}

function checkMessage(message: string | null | undefined): string | null {
  if (message === undefined || message === null || message.trim() === '') return null;
  if (message.length > MAX_MESSAGE_LENGTH) throw fail.validation_failed(`message must have at most ${MAX_MESSAGE_LENGTH} characters.`);
  return message;
}

function checkMaxDownloads(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_DOWNLOADS_LIMIT) {
    throw fail.validation_failed(`max_downloads must be a whole number from 1 to ${MAX_DOWNLOADS_LIMIT}, or null.`);
  }
  return value;
}

