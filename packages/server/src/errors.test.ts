import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, ERRORS, fail, locked, tooManyRequests, transferClosed, unavailable, type ErrorCode } from './errors.ts';

describe('error codes', () => {
  it('a factory per code, its status from the table', () => {
    for (const code of ERROR_CODES) {
      const error = (fail[code] as (message: string) => AppError)('why');
      expect(error).toBeInstanceOf(AppError);
      expect([error.code, error.status, error.message]).toEqual([code, ERRORS[code].status, 'why']);
    }
  });

  it('codes with a fixed message need none; context, details and headers are carried as given', () => {
    expect(fail.storage_full().message).toBe('The server has no room for this upload.');
    const error = fail.parts_missing('Chunks 2 are still missing', { context: { missing_parts: [2] }, details: { a: 1 }, headers: { x: 'y' } });
    expect([error.context, error.details, error.headers]).toEqual([{ missing_parts: [2] }, { a: 1 }, { x: 'y' }]);
  });

  it('a protocol status changes the status only', () => {
    const error = fail.checksum_mismatch('bad chunk', { headers: { x: 'y' } });
    const tus = error.withStatus(460);
    expect([tus.status, tus.code, tus.message, tus.headers]).toEqual([460, 'checksum_mismatch', 'bad chunk', { x: 'y' }]);
    expect(error.status).toBe(400);
  });

  it('the factories that add what a client acts on', () => {
    expect(tooManyRequests(7)).toMatchObject({ status: 429, code: 'rate_limited', context: { retry_after: 7 }, headers: { 'retry-after': '7' } });
    expect(locked()).toMatchObject({ status: 423, code: 'upload_locked', headers: { 'retry-after': '1' } });
    expect(unavailable('database_unavailable')).toMatchObject({ status: 503, message: 'The database is unavailable; retry shortly.', headers: { 'retry-after': '5' } });
    expect(transferClosed('The transfer is expired.')).toMatchObject({ status: 409, code: 'transfer_expired' });
  });

  it("README's error code list is the table, each code under its status", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('### Transfers'));
    const listed: ErrorCode[] = [];
    for (const [, status, codes] of section.matchAll(/^\| (\d{3}) \| (.*) \|$/gm)) {
      for (const [, code] of codes!.matchAll(/`([a-z_]+)`/g)) {
        expect(ERRORS[code as ErrorCode]?.status, code).toBe(Number(status));
        listed.push(code as ErrorCode);
      }
    }
    expect([...listed].sort()).toEqual([...ERROR_CODES].sort());
  });
});
