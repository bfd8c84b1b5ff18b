/**
 * Making user-supplied values safe and readable in an email. Every template value passes through
 * here: `oneLine` for names, titles and file names, `paragraphText` for a sender's message,
 * `subjectLine` for the subject, and `escapeHtml` for anything that goes into HTML.
 */

// Bidi overrides and isolates (a file named `invoice\u202Efdp.exe` reads as `invoiceexe.pdf`).
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/gu;
// Every control character but the newline and tab, handled by the callers.
const CONTROLS = /[\p{Cc}]/gu;

/** One line: line breaks, tabs and separators become spaces; other controls and bidi marks go. */
export function oneLine(value: string): string {
  return value
    .replace(/\r\n|[\r\n\t\v\f\u0085\u2028\u2029]/g, ' ')
    .replace(BIDI, '')
    .replace(CONTROLS, '');
}

/** Several lines (a sender's message): line ends become `\n`, other controls and bidi marks go. */
export function paragraphText(value: string): string {
  return value
    .replace(/\r\n|[\r\u0085\u2028\u2029]/g, '\n')
    .replace(/\t/g, '    ')
    .replace(BIDI, '')
    // Every control but the newline.
    .replace(/[^\P{Cc}\n]/gu, '')
    .replace(/[ ]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export const MAX_SUBJECT_CHARS = 200;

/** A subject: one line, spaces collapsed, at most 200 characters (cut with `…`). */
export function subjectLine(value: string): string {
  const line = oneLine(value).replace(/\s+/gu, ' ').trim();
  return truncate(line, MAX_SUBJECT_CHARS);
}

/** At most `max` characters (code points, so no emoji is cut in half), ending in `…` when cut. */
export function truncate(value: string, max: number): string {
  const chars = [...value];
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join('')}…`;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML content or a quoted attribute. */
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);

const UNITS = ['kB', 'MB', 'GB', 'TB', 'PB'];

/** Sizes as people read them: `0 bytes`, `1 byte`, `999 bytes`, `1.5 kB`, `12 MB`, `3.4 GB` (powers of 1000). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown size';
  if (bytes < 1000) return bytes === 1 ? '1 byte' : `${Math.round(bytes)} bytes`;
  let value = bytes;
  let unit = -1;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const shown = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  // 999.6 kB rounds to 1000 kB: say 1 MB instead.
  if (shown === '1000' && unit < UNITS.length - 1) return `1 ${UNITS[unit + 1]}`;
  return `${shown} ${UNITS[unit]}`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** `3 January 2030, 14:05 UTC`: one unambiguous form, whatever the reader's locale. */
export function formatDate(value: Date | string): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return 'an unknown date';
  const hh = String(date.getUTCHours()).padStart(2, '0');
  const mm = String(date.getUTCMinutes()).padStart(2, '0');
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${hh}:${mm} UTC`;
}

/** `1 file`, `3 files`. */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
