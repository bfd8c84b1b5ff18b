import { fail } from '../errors.ts';
import { hashPassword, MAX_PASSWORD_BYTES } from '../domain/passwords.ts';
import { MAX_MESSAGE_LENGTH, MAX_TITLE_LENGTH } from '../domain/transfer-rules.ts';
import { MAX_ALLOWED_TYPES, MAX_UPLOADER_NAME_LENGTH, normalizeAllowedType } from '../domain/file-request-rules.ts';
import type { FileRequestRow } from '../repositories/file-requests-repository.ts';
import { normalizeEmail, passwordTooLong } from './auth-service.ts';

/** What a requester sets on a file request (creation and PATCH); null clears a nullable field. */
export interface FileRequestInput {
  title?: string;
  message?: string | null;
  expires_at?: string | null;
  max_files?: number | null;
  max_bytes?: number | null;
  max_file_size?: number | null;
  allowed_types?: string[] | null;
  password?: string | null;
  require_name?: boolean;
  require_email?: boolean;
  notify?: boolean;
}

/** What an uploader says about themselves when opening a transfer through a request. */
export interface UploaderInput {
  name?: string | null;
  email?: string | null;
  message?: string | null;
  password?: string | null;
}

export const MAX_REQUEST_FILES = 1_000_000;

type Changes = Partial<Pick<FileRequestRow, 'title' | 'message' | 'expires_at' | 'max_files' | 'max_bytes' | 'max_file_size' | 'allowed_types' | 'password_hash' | 'require_name' | 'require_email' | 'notify'>>;

/** Checks every field given (400 validation_failed, 413 for a password too long) and answers the columns they set. */
export async function fileRequestChanges(input: FileRequestInput, now: Date): Promise<Changes> {
  const changes: Changes = {};
  if (input.title !== undefined) {
    const title = input.title.trim();
    if (title.length === 0 || title.length > MAX_TITLE_LENGTH) throw fail.validation_failed(`title must have 1 to ${MAX_TITLE_LENGTH} characters.`);
    changes.title = title;
  }
  if (input.message !== undefined) {
    if (input.message !== null && input.message.length > MAX_MESSAGE_LENGTH) throw fail.validation_failed(`message must have at most ${MAX_MESSAGE_LENGTH} characters.`);
    changes.message = input.message === null || input.message.trim() === '' ? null : input.message;
  }
  if (input.expires_at !== undefined) changes.expires_at = checkExpiry(input.expires_at, now);
  if (input.max_files !== undefined) changes.max_files = checkCount('max_files', input.max_files, MAX_REQUEST_FILES);
  if (input.max_bytes !== undefined) changes.max_bytes = checkCount('max_bytes', input.max_bytes, Number.MAX_SAFE_INTEGER);
  if (input.max_file_size !== undefined) changes.max_file_size = checkCount('max_file_size', input.max_file_size, Number.MAX_SAFE_INTEGER);
  if (input.allowed_types !== undefined) changes.allowed_types = checkAllowedTypes(input.allowed_types);
  if (input.password !== undefined) changes.password_hash = await passwordHash(input.password);
  if (input.require_name !== undefined) changes.require_name = input.require_name ? 1 : 0;
  if (input.require_email !== undefined) changes.require_email = input.require_email ? 1 : 0;
  if (input.notify !== undefined) changes.notify = input.notify ? 1 : 0;
  return changes;
}

/** The uploader's name, email and message, checked against what the request requires. */
export function uploaderFields(request: Pick<FileRequestRow, 'require_name' | 'require_email'>, input: UploaderInput) {
  const name = input.name === undefined || input.name === null ? null : input.name.trim() || null;
  if (name !== null && (name.length > MAX_UPLOADER_NAME_LENGTH || CONTROL.test(name))) {
    throw fail.validation_failed(`name must have at most ${MAX_UPLOADER_NAME_LENGTH} characters and no control characters.`);
  }
  const rawEmail = input.email === undefined || input.email === null || input.email.trim() === '' ? null : input.email;
  if (rawEmail !== null && CONTROL.test(rawEmail)) throw fail.validation_failed('email must be an email address.');
  const email = rawEmail === null ? null : normalizeEmail(rawEmail);
  const message = input.message === undefined || input.message === null || input.message.trim() === '' ? null : input.message;
  if (message !== null && message.length > MAX_MESSAGE_LENGTH) throw fail.validation_failed(`message must have at most ${MAX_MESSAGE_LENGTH} characters.`);
  if (request.require_name && name === null) throw fail.validation_failed('This file request asks for your name: send name.');
  if (request.require_email && email === null) throw fail.validation_failed('This file request asks for your email address: send email.');
  return { name, email, message };
}

// C0 and C1 controls and DEL: never in a name or an address (header injection, log forging).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function checkExpiry(value: string | null, now: Date): string | null {
  if (value === null) return null;
  const time = Date.parse(value);
  if (!Number.isFinite(time) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) throw fail.validation_failed('expires_at must be an ISO 8601 date-time.');
  if (time <= now.getTime()) throw fail.validation_failed('expires_at must be in the future.');
  return new Date(time).toISOString();
}

function checkCount(field: string, value: number | null, max: number): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw fail.validation_failed(`${field} must be a whole number from 1 to ${max}, or null.`);
  return value;
}

function checkAllowedTypes(list: string[] | null): string | null {
  if (list === null || list.length === 0) return null;
  if (list.length > MAX_ALLOWED_TYPES) throw fail.validation_failed(`allowed_types holds at most ${MAX_ALLOWED_TYPES} entries.`);
  const entries = list.map((raw, index) => {
    const entry = normalizeAllowedType(raw);
    if (entry === null) throw fail.validation_failed(`allowed_types[${index}] must be a MIME type ("application/pdf", "image/*") or an extension (".pdf").`);
    return entry;
  });
  return JSON.stringify([...new Set(entries)]);
}

async function passwordHash(password: string | null): Promise<string | null> {
  if (password === null) return null;
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw passwordTooLong();
  if (password.length === 0) throw fail.validation_failed('password must not be empty; send null to remove it.');
  return hashPassword(password);
}
