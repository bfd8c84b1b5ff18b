import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('has working defaults for a fresh machine', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toMatch(/^sqlite:\/\/.*data\/ferry\.db$/);
    expect(config.signup).toBe('open');
    expect(config.signedUrlTtlSeconds).toBe(3600);
    expect(config.purgeGraceSeconds).toBe(86400);
  });

  it('names every bad variable in one error', () => {
    try {
      loadConfig({ FERRY_PORT: 'eighty', FERRY_SIGNUP: 'maybe', FERRY_SECRET: 'short', FERRY_MAX_EXPIRY_DAYS: '1e3' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      for (const name of ['FERRY_PORT', 'FERRY_SIGNUP', 'FERRY_SECRET', 'FERRY_MAX_EXPIRY_DAYS']) expect(message).toContain(name);
    }
  });

  it('caps pending upload bytes per account at two transfers by default, or at FERRY_MAX_PENDING_BYTES_PER_ACCOUNT', () => {
    expect(loadConfig({}).uploads.maxPendingBytesPerAccount).toBe(20 * 1024 ** 3);
    expect(loadConfig({ FERRY_MAX_TRANSFER_SIZE: '1000' }).uploads.maxPendingBytesPerAccount).toBe(2000);
    expect(loadConfig({ FERRY_MAX_TRANSFER_SIZE: String(2 ** 52 + 1) }).uploads.maxPendingBytesPerAccount).toBe(Number.MAX_SAFE_INTEGER);
    expect(loadConfig({ FERRY_MAX_PENDING_BYTES_PER_ACCOUNT: '5000' }).uploads.maxPendingBytesPerAccount).toBe(5000);
    expect(() => loadConfig({ FERRY_MAX_PENDING_BYTES_PER_ACCOUNT: '0' })).toThrow(/FERRY_MAX_PENDING_BYTES_PER_ACCOUNT/);
  });

  it('trims the public URL and follows the data folder', () => {
    const config = loadConfig({ FERRY_PUBLIC_URL: 'https://files.example.com/', FERRY_DATA_DIR: '/srv/ferry' });
    expect(config.publicUrl).toBe('https://files.example.com');
    expect(config.cookieSecure).toBe(true);
    expect(config.databaseUrl).toBe('sqlite:///srv/ferry/ferry.db');
  });
});

describe('loadConfig: email', () => {
  it('writes to the outbox from Ferry at the public host by default', () => {
    expect(loadConfig({ FERRY_PUBLIC_URL: 'https://Files.Example.com' }).mail).toEqual({
      smtpUrl: null,
      from: { name: 'Ferry', address: 'ferry@files.example.com' },
      maxPerAccountPerDay: 500,
    });
    expect(loadConfig({ FERRY_MAX_EMAILS_PER_DAY: '20' }).mail.maxPerAccountPerDay).toBe(20);
    expect(loadConfig({ FERRY_PUBLIC_URL: 'http://127.0.0.1:8080' }).mail.from.address).toBe('ferry@localhost');
    expect(loadConfig({}).mail.from.address).toBe('ferry@localhost');
  });

  it('takes smtp:// and smtps:// URLs with credentials', () => {
    expect(loadConfig({ FERRY_SMTP_URL: 'smtps://user:p%40ss@mail.example.com:465' }).mail.smtpUrl).toBe('smtps://user:p%40ss@mail.example.com:465');
    expect(loadConfig({ FERRY_SMTP_URL: ' smtp://mail.example.com ' }).mail.smtpUrl).toBe('smtp://mail.example.com');
  });

  it('refuses other SMTP URLs, naming the variable but never the value', () => {
    for (const url of ['http://user:hunter2@mail.example.com', 'direct://hunter2', 'hunter2', 'smtp://user:hunter2@', 'smtp://user:hunter2@mail.example.com/ x']) {
      try {
        loadConfig({ FERRY_SMTP_URL: url });
        expect.unreachable(url);
      } catch (error) {
        expect(error, url).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).message).toContain('FERRY_SMTP_URL');
        expect((error as ConfigError).message).not.toContain('hunter2');
      }
    }
  });

  it('reads FERRY_MAIL_FROM as an address or "Name <address>"', () => {
    expect(loadConfig({ FERRY_MAIL_FROM: 'Files@Example.org' }).mail.from).toEqual({ name: null, address: 'files@example.org' });
    expect(loadConfig({ FERRY_MAIL_FROM: 'Acme Files <files@example.org>' }).mail.from).toEqual({ name: 'Acme Files', address: 'files@example.org' });
    expect(loadConfig({ FERRY_MAIL_FROM: '"Acme, Inc." <files@example.org>' }).mail.from).toEqual({ name: 'Acme, Inc.', address: 'files@example.org' });
  });

  it('refuses a FERRY_MAIL_FROM that is not one clean sender', () => {
    for (const from of ['files', 'files@localhost', 'a@example.org, b@example.org', 'Acme <files@example.org>\r\nBcc: x@evil.com', 'Ac"me <files@example.org>', `${'n'.repeat(101)} <files@example.org>`, 'Acme\n <files@example.org>']) {
      expect(() => loadConfig({ FERRY_MAIL_FROM: from }), from).toThrow(/FERRY_MAIL_FROM/);
    }
  });

  it('reads the GeoIP database: the bundled DB-IP Lite file, an operator\'s own, or off; a missing file is a start-up error', () => {
    expect(loadConfig({}).analytics.geoipPath).toMatch(/dbip-country\.mmdb$/);
    expect(loadConfig({ FERRY_GEOIP_DB: 'off' }).analytics.geoipPath).toBeNull();
    const own = loadConfig({}).analytics.geoipPath!;
    expect(loadConfig({ FERRY_GEOIP_DB: own }).analytics.geoipPath).toBe(own);
    expect(() => loadConfig({ FERRY_GEOIP_DB: '/nowhere/GeoLite2-Country.mmdb' })).toThrow(/FERRY_GEOIP_DB/);
    expect(loadConfig({}).analytics.rawRetentionDays).toBe(90);
    expect(() => loadConfig({ FERRY_ANALYTICS_RAW_DAYS: '1' })).toThrow(/FERRY_ANALYTICS_RAW_DAYS/);
  });
});
