import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/app.ts';
import { redactUrl } from '../../src/http/request-log.ts';
import { startHarness, type Harness } from '../support/harness.ts';

const SECRET = 'S3CR3Tvalue';

describe('request logs', () => {
  let h: Harness;
  let app: App;
  const lines: string[] = [];
  beforeAll(async () => {
    h = await startHarness();
    // A second app on the harness's database and stores, logging as main.ts configures it.
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    app = await buildApp({ config: h.config, db: h.database.db, stores: h.stores, secret: 'log-test-secret-'.padEnd(48, 'x'), logger: { level: 'info', stream } });
  });
  afterAll(async () => {
    await app?.close();
    await h?.close();
  });

  it('keep signatures, tokens, keys and passwords of query strings out of every line', async () => {
    const urls = [
      `/api/v1/files/fl_${'a'.repeat(22)}/download?expires=4102444800&signature=${SECRET}`,
      `/api/v1/transfers?token=${SECRET}&limit=5`,
      `/t/no-such-link?key=${SECRET}&access_token=${SECRET}&X-Amz-Signature=${SECRET}&X-Amz-Credential=${SECRET}`,
      `/api/v1/public/transfers/no-such-link?password=${SECRET}&api%5Fkey=${SECRET}`,
    ];
    for (const url of urls) await app.inject({ method: 'GET', url });
    const logged = lines.join('\n');
    expect(logged).toContain('incoming request');
    expect(logged).not.toContain(SECRET);
    const loggedUrls = lines.map((l) => JSON.parse(l)).filter((l) => l.req).map((l) => l.req.url as string);
    expect(loggedUrls).toContain('/api/v1/files/fl_aaaaaaaaaaaaaaaaaaaaaa/download?expires=4102444800&signature=[redacted]');
    expect(loggedUrls).toContain('/api/v1/transfers?token=[redacted]&limit=5');
  });

  it('keep the rest of the URL as sent', () => {
    expect(redactUrl('/t/abc')).toBe('/t/abc');
    // File request links are credentials too; the owner's frq_ ids are not.
    expect(redactUrl('/r/AbC123')).toBe('/r/[redacted]');
    expect(redactUrl('/api/v1/file-requests/AbC123/transfers')).toBe('/api/v1/file-requests/[redacted]/transfers');
    expect(redactUrl('/api/v1/public/file-requests/AbC123?x=1')).toBe('/api/v1/public/file-requests/[redacted]?x=1');
    expect(redactUrl('/api/v1/file-requests/frq_AAAAAAAAAAAAAAAAAAAAAA/transfers')).toBe('/api/v1/file-requests/frq_AAAAAAAAAAAAAAAAAAAAAA/transfers');
    expect(redactUrl('/x?limit=5&offset=10&sort=title')).toBe('/x?limit=5&offset=10&sort=title');
    expect(redactUrl('/x?Signature=a&sig=b&flag&sessionKey=c')).toBe('/x?Signature=[redacted]&sig=[redacted]&flag&sessionKey=[redacted]');
    expect(redactUrl('/x?upload%2Dtoken=a&%E0%A4=b')).toBe('/x?upload%2Dtoken=[redacted]&%E0%A4=b');
  });
});
