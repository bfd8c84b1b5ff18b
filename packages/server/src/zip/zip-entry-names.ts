/**
 * Turns user file names into ZIP entry names that extract safely on Windows, macOS and Linux:
 * every path component safe on its own (no traversal, no absolute or drive paths, no reserved
 * device names, no names that Windows would silently alter), and the paths together unique under
 * case-insensitive comparison, with no file where another entry needs a folder.
 *
 * Inputs are treated as untrusted even though upload validation already ran. Names keep their
 * Unicode normalisation form (the caller normalises); only the duplicate check compares NFC forms,
 * since macOS file systems treat NFC and NFD spellings as the same file.
 */

/** UTF-8 byte budget per name: the common file-system limit for one path component. */
const MAX_NAME_BYTES = 255;
const MAX_EXTENSION_BYTES = 32;
const FALLBACK_NAME = 'file';

/** Path separators, plus characters Windows forbids in names (`:` would also open an NTFS stream). */
const UNSAFE_CHARS = /[\\/:*?"<>|]/g;
/**
 * C0/C1 controls and DEL; line/paragraph separators; bidi overrides and isolates, which can
 * make `evil\u202Etxt.exe` display as `evilexe.txt`.
 */
const INVISIBLE_CHARS = /[\p{Cc}\u2028\u2029\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
/** Unpaired UTF-16 surrogates: not encodable as UTF-8. */
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const LEADING_JUNK = /^[. ]+/;
const TRAILING_JUNK = /[. ]+$/;
/**
 * Windows device names, reserved with any extension (`nul.txt`, `con.tar.gz`) and with trailing
 * spaces before the dot; includes COM0/LPT0 and the superscript-digit variants Windows also reserves.
 */
const RESERVED_STEM = /^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])$/i;

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Longest prefix of `text` within `maxBytes` UTF-8 bytes, never splitting a code point. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let result = '';
  let bytes = 0;
  for (const codePoint of text) {
    const length = utf8Length(codePoint);
    if (bytes + length > maxBytes) break;
    result += codePoint;
    bytes += length;
  }
  return result;
}

/** Sanitises one name without regard to the others (no length limit applied yet). */
function sanitizeOne(raw: string): string {
  let name = String(raw)
    .replace(LONE_SURROGATES, '\uFFFD')
    .replace(INVISIBLE_CHARS, '')
    .replace(UNSAFE_CHARS, '_')
    .replace(LEADING_JUNK, '')
    .replace(TRAILING_JUNK, '');
  const dot = name.indexOf('.');
  const stem = (dot === -1 ? name : name.slice(0, dot)).trimEnd();
  if (RESERVED_STEM.test(stem)) name = `_${name}`;
  return name === '' ? FALLBACK_NAME : name;
}

/**
 * Splits at the last dot. A leading dot cannot occur here (stripped), so the stem is never empty;
 * an "extension" longer than MAX_EXTENSION_BYTES is not treated as one, which keeps the stem's
 * budget in fit() above 200 bytes.
 */
function splitExtension(name: string): { stem: string; extension: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || utf8Length(name) - utf8Length(name.slice(0, dot)) > MAX_EXTENSION_BYTES) {
    return { stem: name, extension: '' };
  }
  return { stem: name.slice(0, dot), extension: name.slice(dot) };
}

/**
 * `stem + suffix + extension` within MAX_NAME_BYTES, truncating only the stem. A truncated stem
 * keeps over 200 bytes, so it cannot become a reserved device name or empty; with nothing after
 * it, its trailing dots and spaces are stripped again.
 */
function fit(stem: string, suffix: string, extension: string): string {
  const budget = MAX_NAME_BYTES - utf8Length(suffix) - utf8Length(extension);
  let head = truncateUtf8(stem, budget);
  if (suffix === '' && extension === '') head = head.replace(TRAILING_JUNK, '');
  return head + suffix + extension;
}

/** Key under which two names would collide on a case-insensitive, normalisation-insensitive disk. */
function collisionKey(name: string): string {
  // Upper-casing first folds letters that lower-case apart but share a capital (final sigma: ς, σ, Σ).
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/** A path's sanitised folders (with `folders`, split at `/`) and its sanitised file name. */
function splitPath(raw: string, folders: boolean): { folders: string[]; name: string } {
  // With `folders`, `/` separates folders (stored paths from a browser's relativePath, each
  // segment validated at upload) and each segment is sanitised on its own; otherwise a name is
  // one component and `/` in it is replaced like any unsafe character.
  const segments = folders ? raw.split('/') : [raw];
  return { folders: segments.slice(0, -1).map((s) => fit(sanitizeOne(s), '', '')), name: sanitizeOne(segments.at(-1)!) };
}

/**
 * Returns one safe, unique entry name per input name, in the same order, deterministic for a
 * given list. Every result is 1..255 UTF-8 bytes per component.
 *
 * Archives must extract with every common tool (unzip, Python's zipfile, Windows, macOS), which
 * fail when one entry is a file and another needs a folder of the same name, or when two entries
 * differ only in case on a case-insensitive disk. So:
 * - a folder is spelt as it first appears: `Docs/a` then `docs/b` become `Docs/a`, `Docs/b`;
 * - folders win over files: a file named like a folder (`docs` beside `docs/x.txt`) is renamed;
 * - duplicates (after sanitising, case- and normalisation-insensitively) get ` (1)`, ` (2)`…
 *   before the extension; the first occurrence keeps its name.
 */
export function sanitizeZipEntryNames(names: string[], options: { folders?: boolean } = {}): string[] {
  const paths = names.map((raw) => splitPath(raw, options.folders === true));
  // Every folder any entry needs, keyed like the disk would compare them, with its first spelling.
  const folderSpelling = new Map<string, string>();
  const folderOf = paths.map(({ folders }) => {
    let prefix = '';
    for (const segment of folders) {
      const key = collisionKey(prefix + segment);
      if (!folderSpelling.has(key)) folderSpelling.set(key, prefix + segment);
      prefix = `${folderSpelling.get(key)!}/`;
    }
    return prefix;
  });
  const taken = new Set(folderSpelling.keys());
  return paths.map(({ name }, i) => {
    const { stem, extension } = splitExtension(name);
    for (let n = 0; ; n++) {
      const candidate = folderOf[i]! + fit(stem, n === 0 ? '' : ` (${n})`, extension);
      const key = collisionKey(candidate);
      if (!taken.has(key)) {
        taken.add(key);
        return candidate;
      }
    }
  });
}
