/**
 * File names and client-declared media types as accepted by the native API (docs/security-checklist.md A1–A15).
 *
 * A name is data only: storage keys never derive from it, so these rules exist to keep what a
 * recipient sees honest (no hidden or reordered characters, no path semantics) and to keep the
 * name encodable in headers, JSON and ZIP entries. Windows-reserved names (`CON`, `nul.txt`,
 * trailing dots) and markup-like text are accepted; the ZIP writer and the renderers deal with them.
 */

export type FileNameResult = { ok: true; name: string } | { ok: false; reason: string };

/** UTF-8 byte limit of a stored name (common file-system limit). */
export const MAX_FILE_NAME_BYTES = 255;

// Cheap guard before normalising: NFC can shrink UTF-8 by at most 3x, so anything this long
// cannot fit MAX_FILE_NAME_BYTES unless it is mostly surrounding whitespace, which we refuse too.
const MAX_RAW_LENGTH = 4096;

// Unpaired UTF-16 surrogates: not encodable as UTF-8 (encodeURIComponent throws on them).
const LONE_SURROGATE = /\p{Cs}/u;

// Controls (C0, DEL, C1), format characters (bidi controls and marks, zero-width characters,
// U+FEFF, U+2060, soft hyphen, tag characters, ...) and line/paragraph separators.
const FORBIDDEN_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

// Format characters that are part of an emoji rather than hidden text (UTS #51): a ZWJ between
// two pictographs (👩‍💻, 🏳️‍🌈) and a tag sequence after a black flag (🏴 England). They are
// masked before FORBIDDEN_CHAR so that emoji names are accepted.
const EMOJI_ZWJ = /(?<=[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\uFE0F])\u200D(?=\p{Extended_Pictographic})/gu;
const EMOJI_TAG_SEQUENCE = /\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}/gu;

const PATH_SEPARATOR = /[/\\]/;
const DRIVE_PREFIX = /^[A-Za-z]:/;

// What renders as nothing: default-ignorable code points (Hangul fillers, variation selectors,
// the combining grapheme joiner...), white space, and the blank Braille pattern.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{White_Space}\u2800]/gu;
// A percent-encoded ASCII character (`%2e`, `%2F`, `%5c`); other bytes cannot form `.`, `/` or `\`.
const PERCENT_ASCII = /%([0-7][0-9A-Fa-f])/g;

function codePointLabel(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Validates and canonicalises a client-supplied file name. The returned name is NFC with
 * surrounding whitespace trimmed; store it as is. `reason` is meant for a 400 response body.
 */
export function normalizeFileName(raw: string): FileNameResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'file name must be a string' };
  if (raw.length > MAX_RAW_LENGTH) {
    return { ok: false, reason: `file name must be at most ${MAX_FILE_NAME_BYTES} bytes in UTF-8` };
  }
  if (LONE_SURROGATE.test(raw)) {
    return { ok: false, reason: 'file name is not valid Unicode (unpaired surrogate)' };
  }
  const nfc = raw.normalize('NFC');

  // Checked before trimming, so a trailing CR/LF/tab is refused rather than silently dropped.
  const masked = nfc.replace(EMOJI_TAG_SEQUENCE, '\u{1F3F4}').replace(EMOJI_ZWJ, '');
  const bad = FORBIDDEN_CHAR.exec(masked);
  if (bad) {
    const what = /\p{Cc}/u.test(bad[0])
      ? 'a control character'
      : /[\u2028\u2029]/.test(bad[0])
        ? 'a line or paragraph separator'
        : 'an invisible formatting character (bidi control or zero-width character)';
    return { ok: false, reason: `file name must not contain ${what} (${codePointLabel(bad[0])})` };
  }
  if (PATH_SEPARATOR.test(nfc)) {
    return { ok: false, reason: 'file name must not contain a path separator (/ or \\)' };
  }

  const name = nfc.trim();
  if (name === '') return { ok: false, reason: 'file name must not be empty' };
  if (name === '.' || name === '..') return { ok: false, reason: 'file name must not be "." or ".."' };
  if (DRIVE_PREFIX.test(name)) {
    return { ok: false, reason: 'file name must not start with a drive letter (such as "C:")' };
  }
  const lookalike = lookalikeProblem(name);
  if (lookalike) return { ok: false, reason: lookalike };
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) {
    return { ok: false, reason: `file name must be at most ${MAX_FILE_NAME_BYTES} bytes in UTF-8` };
  }
  return { ok: true, name };
}

/**
 * A name that other software may turn into a plain one that is refused. Percent-decoding (also of
 * a twice-encoded `%252e`) can make `%2e%2e` into `..` and `a%2fb` into a path; compatibility
 * normalisation (NFKC) makes fullwidth `．．` or `‥` into `..`; and with its invisible characters
 * left out a name may be nothing at all. Such a name is refused as its plain form is, so no
 * unzipper, browser or sync client downstream makes it a path. Fullwidth `／` and `：` stay
 * ordinary characters (CJK names use them): only a name that is all dots or all invisible is
 * judged by its NFKC form.
 */
function lookalikeProblem(name: string): string | null {
  let decoded = name;
  for (let round = 0; round < 3; round++) {
    const next = decoded.replace(PERCENT_ASCII, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (next === decoded) break;
    decoded = next;
  }
  if (PATH_SEPARATOR.test(decoded)) return 'file name must not contain a path separator (/ or \\), also not percent-encoded';
  if (DRIVE_PREFIX.test(decoded)) return 'file name must not start with a drive letter (such as "C:"), also not percent-encoded';
  for (const form of new Set([name, decoded, name.normalize('NFKC'), decoded.normalize('NFKC')])) {
    const visible = form.replace(INVISIBLE, '');
    if (visible === '') return 'file name must not be made only of invisible characters';
    if (visible === '.' || visible === '..') {
      return 'file name must not be "." or "..", also not written with fullwidth or percent-encoded dots or invisible characters';
    }
  }
  return null;
}

/**
 * Uniqueness key of a name within one transfer: the NFC form, case-sensitive (as WeTransfer).
 * `é` precomposed and `e` + U+0301 collide; `A.txt` and `a.txt` do not (the ZIP writer dedupes
 * case-insensitively on its own).
 */
export function fileNameKey(name: string): string {
  return name.normalize('NFC');
}

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_CONTENT_TYPE_LENGTH = 127;

// RFC 6838 restricted-name for type and subtype. Matched before lower-casing and without the `u`
// flag, so non-ASCII look-alikes (U+212A KELVIN SIGN lower-cases to `k`) cannot sneak in.
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;
const TOP_LEVEL_TYPES = new Set([
  'application', 'audio', 'font', 'haptics', 'image', 'message', 'model', 'multipart', 'text', 'video',
]);

/**
 * The client-declared media type reduced to a lower-case `type/subtype` (parameters dropped) with
 * a registered top-level type, or `application/octet-stream` when missing or invalid. It is a
 * label only: it is stored faithfully (even `text/html`) and neutralised when served.
 */
export function normalizeContentType(raw: string | undefined): string {
  if (typeof raw !== 'string') return DEFAULT_CONTENT_TYPE;
  const semicolon = raw.indexOf(';');
  const essence = (semicolon === -1 ? raw : raw.slice(0, semicolon)).trim();
  if (essence.length > MAX_CONTENT_TYPE_LENGTH || !MEDIA_TYPE.test(essence)) return DEFAULT_CONTENT_TYPE;
  const lower = essence.toLowerCase();
  if (!TOP_LEVEL_TYPES.has(lower.slice(0, lower.indexOf('/')))) return DEFAULT_CONTENT_TYPE;
  return lower;
}
