import { fail } from '../errors.ts';

/**
 * The one email address check Ferry uses everywhere an address comes in (accounts, recipients,
 * file-request uploaders, the configured sender). It accepts a plain `local@domain` address and
 * nothing that could smuggle anything into a mail header or an SMTP command:
 *
 * - no control characters anywhere (CR and LF included, even at the ends), no spaces, no quotes,
 *   no display names (`Ann <ann@example.com>`), no lists (`,` `;`), no comments, no `<>` `[]`;
 * - the local part is a dot-atom (RFC 5322 atext, letters and digits of any script), at most 64
 *   bytes, without leading, trailing or doubled dots and without `=?` (which mail clients would
 *   read as an encoded word);
 * - the domain is a name of at least two labels (letters, digits, inner hyphens, at most 63
 *   characters each) whose last label has a letter: no IP literals, no dot-less hosts;
 * - the whole address is at most 254 bytes (the longest an SMTP path allows).
 *
 * Surrounding spaces and tabs are dropped and the whole address is lower-cased, as accounts always
 * were: `Ann@Example.COM` and `ann@example.com` are one account and one recipient.
 */
export const MAX_EMAIL_BYTES = 254;
export const MAX_LOCAL_PART_BYTES = 64;

const ATOM = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~-]+$/u;
const LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;
// C0 and C1 controls, DEL, format characters (bidi overrides, zero-width), line/paragraph separators.
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Why `value` is not an acceptable address, or null when it is one. `value` is already trimmed. */
export function emailAddressProblem(value: string): string | null {
  if (value === '') return 'it is empty';
  if (INVISIBLE.test(value)) return 'it contains a control or invisible character';
  if (/\s/u.test(value)) return 'it contains a space';
  if (/[<>]/.test(value)) return 'it must be a bare address, without a name or <>';
  if (/[,;]/.test(value)) return 'it must be one address, not a list';
  if (/["()\\[\]:]/.test(value)) return 'it contains a quote, bracket, colon or backslash';
  if (Buffer.byteLength(value) > MAX_EMAIL_BYTES) return `it is longer than ${MAX_EMAIL_BYTES} bytes`;
  const at = value.lastIndexOf('@');
  if (at < 0 || value.indexOf('@') !== at) return 'it must have exactly one @';
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local === '') return 'the part before @ is empty';
  if (Buffer.byteLength(local) > MAX_LOCAL_PART_BYTES) return `the part before @ is longer than ${MAX_LOCAL_PART_BYTES} bytes`;
  if (!local.split('.').every((atom) => ATOM.test(atom))) return 'the part before @ has a character or dot that is not allowed';
  if (local.includes('=?')) return 'the part before @ contains =?';
  const labels = domain.split('.');
  if (labels.length < 2) return 'the domain must have a dot (like example.com)';
  if (!labels.every((label) => LABEL.test(label))) return 'the domain is not a host name';
  if (!/\p{L}/u.test(labels[labels.length - 1]!)) return 'the domain is not a host name';
  return null;
}

/**
 * Checks and normalises one address (see above); throws `validation_failed` naming the field and
 * the refused value (escaped and shortened, so the message is one safe line).
 */
export function parseEmailAddress(raw: unknown, field = 'email'): string {
  if (typeof raw !== 'string') throw fail.validation_failed(`${field} must be an email address.`);
  const value = raw.replace(/^[ \t]+|[ \t]+$/g, '');
  const problem = emailAddressProblem(value);
  if (problem !== null) throw fail.validation_failed(`${field} ${quoteForMessage(value)} is not a valid email address: ${problem}.`);
  return value.toLowerCase();
}

/**
 * The same check under the name accounts have used, with the field named `email`. One argument
 * only, so `list.map(normalizeEmail)` cannot pass an index as the field name.
 */
export const normalizeEmail = (raw: unknown): string => parseEmailAddress(raw);

/** True when `raw` would pass `parseEmailAddress`. */
export function isEmailAddress(raw: unknown): boolean {
  return typeof raw === 'string' && emailAddressProblem(raw.replace(/^[ \t]+|[ \t]+$/g, '')) === null;
}

const QUOTE_MAX_CHARS = 60;

/**
 * `value` in double quotes for an error message or a log line: at most 60 characters, with
 * quotes, backslashes and every control or invisible character written as an escape.
 */
export function quoteForMessage(value: string): string {
  const chars = [...value];
  const shown = chars.slice(0, QUOTE_MAX_CHARS).map((char) => {
    if (char === '"' || char === '\\') return `\\${char}`;
    if (/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(char)) return `\\u${char.codePointAt(0)!.toString(16).padStart(4, '0')}`;
    return char;
  });
  return `"${shown.join('')}${chars.length > QUOTE_MAX_CHARS ? '…' : ''}"`;
}
