import { describe, expect, it } from 'vitest';
import { fileNameKey, normalizeContentType, normalizeFileName } from './file-name.ts';

const accepted = (raw: string) => ({ ok: true, name: raw });
const SEPARATOR = { ok: false, reason: 'file name must not contain a path separator (/ or \\)' };
const EMPTY = { ok: false, reason: 'file name must not be empty' };
const TOO_LONG = { ok: false, reason: 'file name must be at most 255 bytes in UTF-8' };
const control = (cp: string) => ({ ok: false, reason: `file name must not contain a control character (${cp})` });
const invisible = (cp: string) => ({
  ok: false,
  reason: `file name must not contain an invisible formatting character (bidi control or zero-width character) (${cp})`,
});

describe('normalizeFileName', () => {
  it.each([
    '../../etc/passwd', // A1
    '..\\..\\windows\\win.ini', // A2
    'a\\..\\b',
    '/etc/passwd', // A3
    'C:\\x',
    '\\\\server\\share',
    'dir/file.txt',
    'trailing/',
  ])('A1–A3: rejects path separators in %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual(SEPARATOR);
  });

  it.each(['C:', 'C:x.txt', 'z:evil', ' D:x'])('A3: rejects drive prefix %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual({
      ok: false,
      reason: 'file name must not start with a drive letter (such as "C:")',
    });
  });

  it.each(['Re: notes.txt', 'ab:c.txt', '1:2.txt', 'time 10:30.txt'])('accepts a colon that is no drive prefix: %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual(accepted(raw));
  });

  it.each([
    ['a.txt\u0000.exe', 'U+0000'], // A4
    ['a\r\nSet-Cookie: x=1', 'U+000D'], // A5
    ['a\nb', 'U+000A'],
    ['a.txt\n', 'U+000A'], // refused, not trimmed away
    ['\ta.txt', 'U+0009'],
    ['a\u007Fb', 'U+007F'],
    ['a\u0085b', 'U+0085'],
    ['a\u009Bb', 'U+009B'],
  ])('A4/A5: rejects control characters in %j', (raw, cp) => {
    expect(normalizeFileName(raw)).toEqual(control(cp));
  });

  it.each([
    ['invoice\u202Egpj.exe', 'U+202E'], // A6
    ['a\u202Ab', 'U+202A'],
    ['a\u2066b', 'U+2066'],
    ['a\u2067b', 'U+2067'],
    ['a\u2068b', 'U+2068'],
    ['a\u2069b', 'U+2069'],
    ['a\u200Eb', 'U+200E'],
    ['a\u200Fb', 'U+200F'],
    ['a\u061Cb', 'U+061C'],
    ['a\u200Bb.txt', 'U+200B'],
    ['a\u200Cb.txt', 'U+200C'],
    ['a\u200Db.txt', 'U+200D'],
    ['\uFEFFa.txt', 'U+FEFF'],
    ['a\u2060b', 'U+2060'],
    ['a\u00ADb', 'U+00AD'],
    ['\u{1F3F4}\u{E0067}\u{E0062}', 'U+E0067'], // tags without a cancel tag are hidden text
  ])('A6: rejects bidi and zero-width characters in %j', (raw, cp) => {
    expect(normalizeFileName(raw)).toEqual(invisible(cp));
  });

  it.each([
    ['a\u2028b', 'U+2028'],
    ['a\u2029b', 'U+2029'],
  ])('rejects line/paragraph separators in %j', (raw, cp) => {
    expect(normalizeFileName(raw)).toEqual({
      ok: false,
      reason: `file name must not contain a line or paragraph separator (${cp})`,
    });
  });

  it('rejects unpaired surrogates (not encodable as UTF-8)', () => {
    const result = { ok: false, reason: 'file name is not valid Unicode (unpaired surrogate)' };
    expect(normalizeFileName('a\uD800b')).toEqual(result);
    expect(normalizeFileName('a\uDE00')).toEqual(result);
  });

  it.each([
    '😀.txt', // A7
    'résumé.pdf',
    '日本語の資料／2024.pdf', // fullwidth solidus is an ordinary character
    'Ελληνικά.docx',
    'عربي.txt',
    '👩\u200D💻 notes.txt', // emoji ZWJ sequences keep their joiner
    '🏳\uFE0F\u200D🌈.png',
    '👩🏽\u200D🚀.png',
    '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}.png', // England flag tag sequence
  ])('A7: accepts non-Latin-1 and emoji name %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual(accepted(raw));
  });

  it('rejects a ZWJ that does not join two pictographs', () => {
    expect(normalizeFileName('😀\u200Da.txt')).toEqual(invisible('U+200D'));
    expect(normalizeFileName('a\u200D😀.txt')).toEqual(invisible('U+200D'));
  });

  it.each(['', ' ', '   ', '\u00A0', '\u3000 \u2003'])('A8: rejects empty or whitespace-only %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual(EMPTY);
  });

  it.each(['.', '..', ' .. ', ' . '])('A8: rejects dot names %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual({ ok: false, reason: 'file name must not be "." or ".."' });
  });

  it.each([
    '\uFF0E\uFF0E', // fullwidth full stops
    '\uFF0E',
    '\u2025', // two dot leader
    '\uFE52\uFE52', // small full stops
    '%2e%2e',
    '%2E%2e',
    '%2e.',
    '%2e',
    '%252e%252e', // encoded twice
    '.\u3164.', // dots around a Hangul filler
    '.\uFE0F.',
  ])('rejects dot names written with look-alike or encoded dots: %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual({
      ok: false,
      reason: 'file name must not be "." or "..", also not written with fullwidth or percent-encoded dots or invisible characters',
    });
  });

  it.each([
    '\u3164', // Hangul filler
    '\u115F\u1160',
    '\uFFA0',
    '\u2800', // blank Braille pattern
    '\uFE0F', // variation selector
    '\u034F', // combining grapheme joiner
    '\u3164 \u3164',
  ])('rejects a name made only of invisible characters: %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual({ ok: false, reason: 'file name must not be made only of invisible characters' });
  });

  it.each(['\u200B', '\u2060', '\uFEFF'])('rejects a lone zero-width character %j as invisible formatting', (raw) => {
    expect(normalizeFileName(raw).ok).toBe(false);
  });

  it.each(['%2e%2e%2fetc%2fpasswd', 'a%2fb.txt', 'a%5Cb.txt', 'a%252fb'])('rejects percent-encoded separators in %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual({ ok: false, reason: 'file name must not contain a path separator (/ or \\), also not percent-encoded' });
  });

  it('rejects a percent-encoded drive prefix', () => {
    expect(normalizeFileName('%43:x.txt')).toEqual({ ok: false, reason: 'file name must not start with a drive letter (such as "C:"), also not percent-encoded' });
  });

  it.each(['\uFF0E\uFF0E\uFF0E', '\uFF0Eprofile', '\u3164\uD55C\uAE00.txt', '\uFF23\uFF1Ax.txt'])('accepts look-alike dots and fullwidth letters inside a real name: %j', (raw) => {
    expect(normalizeFileName(raw)).toEqual(accepted(raw));
  });

  it('trims surrounding whitespace', () => {
    expect(normalizeFileName('  report.pdf \u00A0')).toEqual({ ok: true, name: 'report.pdf' });
  });

  it('A9: limits the UTF-8 byte length (after NFC) to 255', () => {
    expect(normalizeFileName('😀'.repeat(100))).toEqual(TOO_LONG); // 400 bytes, 200 UTF-16 units
    expect(normalizeFileName('😀'.repeat(63) + 'abc')).toEqual(accepted('😀'.repeat(63) + 'abc')); // 255
    expect(normalizeFileName('😀'.repeat(63) + 'abcd')).toEqual(TOO_LONG); // 256
    expect(normalizeFileName('a'.repeat(255))).toEqual(accepted('a'.repeat(255)));
    expect(normalizeFileName('\u00E9'.repeat(128))).toEqual(TOO_LONG); // 128 chars, 256 bytes
    // NFD input that only fits once composed: 'e' + U+0301 is 3 bytes, 'é' is 2.
    expect(normalizeFileName('e\u0301'.repeat(127))).toEqual(accepted('\u00E9'.repeat(127)));
    expect(normalizeFileName('a'.repeat(1_000_000))).toEqual(TOO_LONG);
  });

  it.each(['CON', 'nul.txt', 'COM1', 'LPT9.log', 'aux', 'name.', 'name...', '...'])(
    'A10: accepts Windows-reserved %j as data',
    (raw) => {
      expect(normalizeFileName(raw)).toEqual(accepted(raw));
    },
  );

  it('A10: trailing spaces are trimmed rather than refused', () => {
    expect(normalizeFileName('name ')).toEqual(accepted('name'));
  });

  it.each([
    '<img src=x onerror=alert(1)>.png', // A12
    '{{7*7}}', // A13
    '${7*7}',
    '<%= 7*7 %>',
    "'; DROP TABLE files; --.txt",
    '"quoted".txt',
    '100% sure.txt',
    '%41.txt', // an encoded letter is no path: only dots, separators and drive letters count
  ])('A12/A13: accepts markup and template text %j literally', (raw) => {
    expect(normalizeFileName(raw)).toEqual(accepted(raw));
  });

  it('returns the NFC form', () => {
    expect(normalizeFileName('re\u0301sume\u0301.pdf')).toEqual({ ok: true, name: 'r\u00E9sum\u00E9.pdf' });
  });
});

describe('fileNameKey', () => {
  it('A11: NFC and NFD spellings of a name collide', () => {
    expect(fileNameKey('caf\u00E9.txt')).toBe(fileNameKey('cafe\u0301.txt'));
    expect(fileNameKey('cafe\u0301.txt')).toBe('caf\u00E9.txt');
  });

  it('A11: keys are case-sensitive (as WeTransfer)', () => {
    expect(fileNameKey('A.txt')).not.toBe(fileNameKey('a.txt'));
    expect(new Set(['A.txt', 'a.txt', 'a.txt'].map(fileNameKey)).size).toBe(2);
  });

  it('is idempotent on normalised names', () => {
    const name = (normalizeFileName('Ångström.txt') as { name: string }).name;
    expect(fileNameKey(name)).toBe(name);
  });
});

describe('normalizeContentType', () => {
  it.each([
    [undefined, 'application/octet-stream'],
    ['', 'application/octet-stream'],
    ['   ', 'application/octet-stream'],
    ['image/png', 'image/png'],
    ['Image/PNG', 'image/png'],
    [' text/plain ; charset=utf-8', 'text/plain'],
    ['text/html', 'text/html'], // A15: stored as a label; neutralised when served
    ['image/svg+xml', 'image/svg+xml'],
    ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
    ['text', 'application/octet-stream'],
    ['text/', 'application/octet-stream'],
    ['/plain', 'application/octet-stream'],
    ['*/*', 'application/octet-stream'],
    ['text/*', 'application/octet-stream'],
    ['text / plain', 'application/octet-stream'],
    ['text/plain/x', 'application/octet-stream'],
    ['evil/html', 'application/octet-stream'],
    ['x-foo/bar', 'application/octet-stream'],
    ['text/pl\u212Ain', 'application/octet-stream'], // KELVIN SIGN lower-cases to 'k'
    ['text/plain\r\nSet-Cookie: x=1', 'application/octet-stream'],
    ['text/pla"in', 'application/octet-stream'],
    ['text/-plain', 'application/octet-stream'],
    [`application/${'a'.repeat(115)}`, `application/${'a'.repeat(115)}`], // 127 chars
    [`application/${'a'.repeat(116)}`, 'application/octet-stream'], // 128 chars
  ])('%j -> %j', (raw, expected) => {
    expect(normalizeContentType(raw)).toBe(expected);
  });
});
