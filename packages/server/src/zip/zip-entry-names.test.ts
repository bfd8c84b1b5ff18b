import { describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { sanitizeZipEntryNames } from './zip-entry-names.ts';

const one = (name: string): string => sanitizeZipEntryNames([name])[0]!;
const bytes = (name: string): number => Buffer.byteLength(name, 'utf8');

describe('sanitizeZipEntryNames', () => {
  it.each([
    ['../../.bashrc', '_.._.bashrc'],
    ['/etc/x', '_etc_x'],
    ['C:\\x', 'C__x'],
    ['a\\..\\b', 'a_.._b'],
    ['..', 'file'],
    ['.', 'file'],
    ['...hidden', 'hidden'],
    ['  . spaced', 'spaced'],
    ['trailing. ', 'trailing'],
    ['name. . .', 'name'],
    ['', 'file'],
    ['   ', 'file'],
    ['a\u0000b\u0007c\u001fd\u007fe\u0085f.txt', 'abcdef.txt'],
    ['line\nbreak\r.txt', 'linebreak.txt'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['what?<>|*"now".txt', 'what______now_.txt'],
    ['ok name (final) v2.pdf', 'ok name (final) v2.pdf'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate'],
  ])('sanitises %j to %j', (raw, expected) => {
    expect(one(raw)).toBe(expected);
  });

  it.each([
    ['CON', '_CON'],
    ['con', '_con'],
    ['nul.txt', '_nul.txt'],
    ['Aux.tar.gz', '_Aux.tar.gz'],
    ['PRN', '_PRN'],
    ['com1', '_com1'],
    ['COM9.log', '_COM9.log'],
    ['LPT1', '_LPT1'],
    ['lpt9.x', '_lpt9.x'],
    ['COM¹', '_COM¹'],
    ['CON .txt', '_CON .txt'],
    ['CON.', '_CON'],
    ['conin$', '_conin$'],
  ])('renames the Windows device name %j to %j', (raw, expected) => {
    expect(one(raw)).toBe(expected);
  });

  it.each(['CONSOLE', 'COM10', 'LPT', 'nul_file.txt', 'icon.png', 'xCON'])('leaves %j alone', (name) => {
    expect(one(name)).toBe(name);
  });

  it('keeps emoji and non-Latin names intact', () => {
    const names = ['Résumé 履歴書.pdf', 'Привет мир.txt', '🎉 party 👨‍👩‍👧.png', 'שלום.doc', 'مرحبا.txt'];
    expect(sanitizeZipEntryNames(names)).toEqual(names);
  });

  it('de-duplicates case-insensitively before the extension, first occurrence wins', () => {
    expect(sanitizeZipEntryNames(['a.txt', 'A.txt'])).toEqual(['a.txt', 'A (1).txt']);
    expect(sanitizeZipEntryNames(['a.txt', 'A.TXT', 'a.txt', 'b', 'B', 'b'])).toEqual([
      'a.txt',
      'A (1).TXT',
      'a (2).txt',
      'b',
      'B (1)',
      'b (2)',
    ]);
    expect(sanitizeZipEntryNames(['ÄBC.txt', 'äbc.txt'])).toEqual(['ÄBC.txt', 'äbc (1).txt']);
  });

  it('de-duplicates names that only collide after sanitising', () => {
    expect(sanitizeZipEntryNames(['a/b', 'a\\b', 'a:b', 'a_b'])).toEqual(['a_b', 'a_b (1)', 'a_b (2)', 'a_b (3)']);
    expect(sanitizeZipEntryNames(['report.pdf', 'report.pdf.', ' report.pdf'])).toEqual([
      'report.pdf',
      'report (1).pdf',
      'report (2).pdf',
    ]);
  });

  it('skips a suffix already taken by an earlier name', () => {
    expect(sanitizeZipEntryNames(['a (1).txt', 'a.txt', 'a.txt'])).toEqual(['a (1).txt', 'a.txt', 'a (2).txt']);
    // A later original colliding with a generated name is itself renamed.
    expect(sanitizeZipEntryNames(['a.txt', 'a.txt', 'a (1).txt'])).toEqual(['a.txt', 'a (1).txt', 'a (1) (1).txt']);
  });

  it('preserves the normalisation form it is given but treats NFC and NFD spellings as duplicates', () => {
    const nfc = 'caf\u00e9.txt';
    const nfd = 'cafe\u0301.txt';
    expect(one(nfc)).toBe(nfc);
    expect(one(nfd)).toBe(nfd);
    expect(sanitizeZipEntryNames([nfc, nfd])).toEqual([nfc, 'cafe\u0301 (1).txt']);
  });

  it('keeps names within 255 UTF-8 bytes without splitting code points, keeping the extension', () => {
    const long = `${'x'.repeat(300)}.txt`;
    expect(one(long)).toBe(`${'x'.repeat(251)}.txt`);

    const emoji = `${'😀'.repeat(100)}.jpeg`; // 400 bytes of 4-byte code points
    const fitted = one(emoji);
    expect(bytes(fitted)).toBeLessThanOrEqual(255);
    expect(fitted).toBe(`${'😀'.repeat(62)}.jpeg`);
    expect(fitted).not.toContain('\uFFFD');

    const [first, second] = sanitizeZipEntryNames([long, long]);
    expect(first).toBe(`${'x'.repeat(251)}.txt`);
    expect(second).toBe(`${'x'.repeat(247)} (1).txt`);
    expect(bytes(second!)).toBe(255);
  });

  it('does not treat a very long tail after the last dot as an extension', () => {
    const name = `a.${'y'.repeat(400)}`;
    expect(one(name)).toBe(`a.${'y'.repeat(253)}`);
    const [, second] = sanitizeZipEntryNames([name, name]);
    expect(second).toBe(`a.${'y'.repeat(249)} (1)`);
  });

  it('strips trailing dots and spaces exposed by truncation', () => {
    const name = `${'z'.repeat(254)} .${'q'.repeat(40)}`;
    expect(one(name)).toBe('z'.repeat(254));
  });

  it('produces names yauzl accepts as safe relative paths, all distinct', () => {
    const hostile = [
      '../../.bashrc', '/etc/passwd', 'C:\\Windows\\x', 'a\\..\\b', '..', '.', '', 'CON', 'nul.txt',
      'trailing. ', '\u0000', '//', '\\\\server\\share', 'x/../../y', ' ../', 'A.txt', 'a.txt',
    ];
    const safe = sanitizeZipEntryNames(hostile);
    expect(new Set(safe.map((n) => n.toLowerCase())).size).toBe(safe.length);
    for (const name of safe) {
      expect(yauzl.validateFileName(name)).toBeNull();
      expect(name).not.toMatch(/[/\\:\u0000-\u001f]|^[. ]|[. ]$|^\.\.?$/);
      expect(bytes(name)).toBeGreaterThan(0);
      expect(bytes(name)).toBeLessThanOrEqual(255);
    }
  });

  it('returns an empty list for no names', () => {
    expect(sanitizeZipEntryNames([])).toEqual([]);
  });
});
