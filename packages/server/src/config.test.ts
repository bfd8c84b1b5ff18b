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
