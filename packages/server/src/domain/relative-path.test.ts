import { describe, expect, it } from 'vitest';
import { baseName, normalizeRelativePath } from './relative-path.ts';

describe('normalizeRelativePath', () => {
  it('joins folders and name; a relativePath that already ends with the name is not doubled (Uppy)', () => {
    expect(normalizeRelativePath('photos/2024', 'a.jpg')).toEqual({ ok: true, name: 'photos/2024/a.jpg' });
    expect(normalizeRelativePath('photos/2024/a.jpg', 'a.jpg')).toEqual({ ok: true, name: 'photos/2024/a.jpg' });
    expect(normalizeRelativePath('photos\\raw//', 'b.cr2')).toEqual({ ok: true, name: 'photos/raw/b.cr2' });
    expect(normalizeRelativePath('', 'c.txt')).toEqual({ ok: true, name: 'c.txt' });
  });

  it('refuses traversal, absolute paths, drive letters and bad folder names (docs/security-checklist.md A1-A6)', () => {
    for (const folder of ['../etc', 'a/../../b', '/etc', '\\\\server\\share', 'C:\\x', 'a/\u202Eevil', 'a/.', 'x\u0000y']) {
      expect(normalizeRelativePath(folder, 'f.txt').ok, folder).toBe(false);
    }
    expect(normalizeRelativePath('ok', '../f.txt').ok).toBe(false);
    for (const folder of ['a/\uFF0E\uFF0E/b', '%2e%2e', 'a/%2e%2e%2f%2e%2e', '\u2025/x', 'a/\u3164/b', 'a/\u200B/b', '%2E%2E%5Cwin']) {
      expect(normalizeRelativePath(folder, 'f.txt').ok, folder).toBe(false);
    }
    expect(normalizeRelativePath('ok', '\uFF0E\uFF0E').ok).toBe(false);
    expect(normalizeRelativePath('a/'.repeat(40), 'f.txt').ok).toBe(false);
  });

  it('baseName is the last segment', () => {
    expect(baseName('a/b/c.txt')).toBe('c.txt');
    expect(baseName('c.txt')).toBe('c.txt');
  });
});
