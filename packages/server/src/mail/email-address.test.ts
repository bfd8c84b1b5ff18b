import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import { isEmailAddress, normalizeEmail, parseEmailAddress, quoteForMessage } from './email-address.ts';

const refusal = (raw: unknown, field?: string): AppError => {
  try {
    parseEmailAddress(raw, field);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('validation_failed');
    return error as AppError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
};

describe('parseEmailAddress', () => {
  it('accepts plain addresses, trims spaces and lower-cases them', () => {
    expect(parseEmailAddress('  Ann.Lee+ferry@Example.COM\t')).toBe('ann.lee+ferry@example.com');
    expect(parseEmailAddress("o'brien@mail.example.co.uk")).toBe("o'brien@mail.example.co.uk");
    expect(parseEmailAddress('x_y-z@sub-domain.example.io')).toBe('x_y-z@sub-domain.example.io');
    expect(parseEmailAddress('jörg@bücher.de')).toBe('jörg@bücher.de');
    expect(normalizeEmail('Owner@Example.com')).toBe('owner@example.com');
  });

  it('refuses control characters anywhere, CR and LF included', () => {
    for (const raw of ['ann@example.com\r\nBcc: x@evil.com', 'ann@example.com\n', '\rann@example.com', 'an\u0000n@example.com', 'ann@exa\u007fmple.com', 'ann\u0085@example.com', 'ann@example.com\u2028', 'ann\u202e@example.com', 'ann\u200b@example.com']) {
      expect(refusal(raw).message, JSON.stringify(raw)).toContain('control or invisible character');
    }
  });

  it('refuses names, lists, quotes, spaces, comments and brackets', () => {
    for (const raw of ['Ann <ann@example.com>', '<ann@example.com>', 'ann@example.com, bob@example.com', 'ann@example.com;bob@example.com', '"ann"@example.com', 'an n@example.com', 'ann(comment)@example.com', 'ann@[127.0.0.1]', 'a\\b@example.com', 'ann@example.com:25']) {
      refusal(raw);
    }
  });

  it('refuses malformed local parts and domains', () => {
    const refused = [
      '', 'ann', '@example.com', 'ann@', 'ann@@example.com', 'a@b@example.com',
      '.ann@example.com', 'ann.@example.com', 'an..n@example.com', '=?utf-8?b?QQ==?=@example.com',
      'ann@localhost', 'ann@example', 'ann@127.0.0.1', 'ann@example.123', 'ann@-example.com', 'ann@example-.com',
      'ann@example..com', 'ann@.example.com', 'ann@example.com.', `ann@${'a'.repeat(64)}.com`,
      `${'a'.repeat(65)}@example.com`, `a@${`${'b'.repeat(60)}.`.repeat(4)}${'c'.repeat(10)}.com`,
    ];
    for (const raw of refused) refusal(raw);
    expect(parseEmailAddress(`${'a'.repeat(64)}@example.com`)).toHaveLength(76);
  });

  it('refuses what is not a string', () => {
    for (const raw of [null, undefined, 42, ['a@example.com'], { email: 'a@example.com' }]) refusal(raw);
  });

  it('names the field and the refused value, escaped and shortened', () => {
    const error = refusal('ann@example.com\r\nBcc: "x"@evil.com', 'recipients[2]');
    expect(error.message).toMatch(/^recipients\[2\] "ann@example\.com\\u000d\\u000aBcc: \\"x\\"@evil\.com" is not a valid email address: /);
    expect(error.message).not.toMatch(/[\r\n]/);
    const long = refusal(`${'x'.repeat(300)}@example.com`);
    expect(long.message).toContain(`"${'x'.repeat(60)}…"`);
    expect(long.message.length).toBeLessThan(200);
  });

  it('isEmailAddress agrees without throwing', () => {
    expect(isEmailAddress('ann@example.com')).toBe(true);
    expect(isEmailAddress('ann@example.com\n')).toBe(false);
    expect(isEmailAddress(5)).toBe(false);
  });

  it('quoteForMessage escapes invisible characters and lone surrogates', () => {
    expect(quoteForMessage('a\u202eb\ud800c')).toBe('"a\\u202eb\\ud800c"');
  });
});
