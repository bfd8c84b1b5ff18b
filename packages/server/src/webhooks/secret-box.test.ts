import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.ts';

describe('SecretBox', () => {
  const box = new SecretBox('server-secret-'.padEnd(48, 'x'));
  const secret = 'whsec_UiQTmDBZxjXzan+glMof5aB7yK+jYDMZDKt2WMwRxYY=';

  it('opens what it sealed for the same row; each seal differs', () => {
    const sealed = box.seal(secret, 'wh_1');
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain(secret.slice(6));
    expect(box.seal(secret, 'wh_1')).not.toBe(sealed);
    expect(box.open(sealed, 'wh_1')).toBe(secret);
  });

  it('refuses a value moved to another row, altered, or sealed under another server secret', () => {
    const sealed = box.seal(secret, 'wh_1');
    expect(() => box.open(sealed, 'wh_2')).toThrow();
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.open(`v1.${raw.toString('base64url')}`, 'wh_1')).toThrow();
    expect(() => new SecretBox('another-secret-'.padEnd(48, 'y')).open(sealed, 'wh_1')).toThrow();
    expect(() => box.open(secret, 'wh_1')).toThrow();
  });
});
