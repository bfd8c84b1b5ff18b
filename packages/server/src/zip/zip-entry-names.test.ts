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
    // Final and medial sigma lower-case apart but are one letter to a case-insensitive disk.
    expect(sanitizeZipEntryNames(['ς.txt', 'σ.txt', 'Σ.txt'])).toEqual(['ς.txt', 'σ (1).txt', 'Σ (2).txt']);
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

  describe('with folders', () => {
    const tree = (names: string[]) => sanitizeZipEntryNames(names, { folders: true });

    /** What a case-insensitive disk needs: unique paths, and no file where a folder is needed. */
    function expectExtractable(paths: string[]): void {
      const keys = paths.map((p) => p.normalize('NFC').toLowerCase());
      expect(new Set(keys).size).toBe(keys.length);
      const folders = new Set(keys.flatMap((k) => k.split('/').slice(0, -1).map((_, i, all) => all.slice(0, i + 1).join('/'))));
      for (const key of keys) expect(folders.has(key), key).toBe(false);
    }

    it('renames a file named like a folder another entry needs, whichever comes first', () => {
      expect(tree(['docs', 'docs/x.txt'])).toEqual(['docs (1)', 'docs/x.txt']);
      expect(tree(['docs/x.txt', 'docs'])).toEqual(['docs/x.txt', 'docs (1)']);
      expect(tree(['a/b/c.txt', 'a/b', 'a'])).toEqual(['a/b/c.txt', 'a/b (1)', 'a (1)']);
      expect(tree(['report.pdf/page1.png', 'report.pdf'])).toEqual(['report.pdf/page1.png', 'report (1).pdf']);
    });

    it('renames files that become a needed folder only after sanitising or in another case', () => {
      expect(tree(['docs.', 'Docs ', 'DOCS', 'docs/x.txt'])).toEqual(['docs (1)', 'Docs (2)', 'DOCS (3)', 'docs/x.txt']);
      expect(tree(['a:b', 'a_b/c'])).toEqual(['a_b (1)', 'a_b/c']);
    });

    it('spells a folder as it first appears, so case variants share one folder', () => {
      expect(tree(['Photos/a.jpg', 'photos/b.jpg', 'PHOTOS/2024/c.jpg', 'photos/2024/C.JPG'])).toEqual([
        'Photos/a.jpg',
        'Photos/b.jpg',
        'Photos/2024/c.jpg',
        'Photos/2024/C (1).JPG',
      ]);
    });

    it('does not let a generated name take a folder', () => {
      expect(tree(['docs', 'docs (1)/x', 'docs/y'])).toEqual(['docs (2)', 'docs (1)/x', 'docs/y']);
    });

    it('sanitises each folder on its own', () => {
      expect(tree(['CON/..', ' ./x', `${'f'.repeat(300)}/a`])).toEqual(['_CON/file', 'file/x', `${'f'.repeat(255)}/a`]);
    });

    it('is deterministic and leaves a list without clashes as it is', () => {
      const names = ['photos/2024/a.jpg', 'photos/2025/a.jpg', 'a.jpg', 'notes/readme.md'];
      expect(tree(names)).toEqual(names);
      expect(tree(names)).toEqual(tree([...names]));
    });

    it('always yields an archive a case-insensitive disk can extract', () => {
      const hostile = [
        'docs', 'docs/x.txt', 'Docs/X.TXT', 'DOCS.', 'docs/x.txt/y', 'a', 'A/b', 'a/B/c', 'a/b', 'a (1)',
        'a (1)/z', 'caf\u00e9/1', 'cafe\u0301', 'CON/nul', 'con', 'x/..', 'x/file',
      ];
      const safe = tree(hostile);
      expect(safe).toHaveLength(hostile.length);
      expectExtractable(safe);
      for (const name of safe) expect(yauzl.validateFileName(name)).toBeNull();
    });
  });

  it('returns an empty list for no names', () => {
    expect(sanitizeZipEntryNames([])).toEqual([]);
  });
});
