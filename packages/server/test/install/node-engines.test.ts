import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

type Version = [number, number, number];

/** The lowest version a `>=X.Y.Z` floor names. */
function floorOf(range: string): Version {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) throw new Error(`engines.node of the project is not a >= floor: ${range}`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/**
 * Whether `version` satisfies an npm `engines.node` range, for the forms packages use there:
 * `*`, `||` alternatives of space-separated comparators (`>=`, `>`, `<`, `^`, `~`, bare or `x`
 * versions). An unknown form fails loudly rather than passing by accident.
 */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().replace(/(>=|<=|>|<|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return comparators.every((c) => {
      if (c === '*' || c === 'x') return true;
      const m = /^(>=|<=|>|<|\^|~)?(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(c);
      if (!m) throw new Error(`unsupported engines.node comparator ${JSON.stringify(c)} in ${JSON.stringify(range)}`);
      const [, op, major, minor, patch] = m;
      const v: Version = [Number(major), minor && minor !== 'x' ? Number(minor) : 0, patch && patch !== 'x' ? Number(patch) : 0];
      const cmp = compare(version, v);
      switch (op) {
        case '>=': return cmp >= 0;
        case '>': return cmp > 0;
        case '<': return cmp < 0;
        case '<=': return cmp <= 0;
        case '^': return version[0] === v[0] && cmp >= 0;
        case '~': return version[0] === v[0] && version[1] === v[1] && cmp >= 0;
        default: // a bare version: 20 means 20.x, 20.19 means 20.19.x
          return version[0] === v[0] && (minor === undefined || minor === 'x' || version[1] === v[1]) && (patch === undefined || patch === 'x' || version[2] === v[2]);
      }
    });
  });
}

describe('installing on the oldest supported Node', () => {
  it('every locked package accepts the Node version package.json promises, so npm ci warns of no EBADENGINE', () => {
    const oldest = floorOf(read('package.json').engines.node);
    const lock = read('package-lock.json') as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const refused = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines && !Array.isArray(entry.engines) && entry.engines.node)
      .filter(([, entry]) => !satisfies(oldest, (entry.engines as { node: string }).node))
      .map(([name, entry]) => `${name} (node ${(entry.engines as { node: string }).node})`);
    expect(refused).toEqual([]);
  });

  it('reads engine ranges as npm does', () => {
    const v20: Version = [20, 19, 0];
    expect(satisfies(v20, '>=22')).toBe(false);
    expect(satisfies(v20, '>= 18.19.0')).toBe(true);
    expect(satisfies(v20, '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies(v20, '^20.0.0 || ^22.0.0 || >=24.0.0')).toBe(true);
    expect(satisfies(v20, '20.x || 22.x')).toBe(true);
    expect(satisfies(v20, '18 || 20 || >=22')).toBe(true);
    expect(satisfies(v20, '^20.20.0 || >=22')).toBe(false);
    expect(satisfies(v20, '>=16 || 14 >=14.17')).toBe(true);
  });
});
