import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';

/** File downloads: Range, If-Range, HEAD, safe serving, signed URLs, download limits (docs/security-checklist.md F72-F76, G80-G83). */

const SIZE = 10_000;
const content = bytes(SIZE);
let h: Harness;
let key: string;
let t: ReadyTransfer;
let fileId: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'downloads@example.com'));
  t = await readyTransfer(h.app, key, [{ name: 'data.bin', content }]);
  fileId = t.files['data.bin'].id;
});
afterAll(() => h.close());

const ownerGet = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  h.app.inject({ method, url: `/api/v1/files/${fileId}/download`, headers: { ...bearer(key), ...headers } });

describe('Range, If-Range and HEAD', () => {
  it.each([
    ['first byte', 'bytes=0-0', 0, 0],
    ['last byte', `bytes=${SIZE - 1}-`, SIZE - 1, SIZE - 1],
    ['middle', 'bytes=1000-1999', 1000, 1999],
    ['suffix', 'bytes=-10', SIZE - 10, SIZE - 1],
    ['end past EOF is clamped', `bytes=9990-${SIZE * 2}`, 9990, SIZE - 1],
  ])('G81: one range (%s) answers 206 with exactly those bytes', async (_label, range, start, end) => {
    const res = await ownerGet({ range });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(sha256(res.rawPayload)).toBe(sha256(content.subarray(start, end + 1)));
  });

  it('G81: a range starting past EOF is 416 with Content-Range: bytes */size', async () => {
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 5}-${SIZE + 10}`, 'bytes=-0']) {
      const res = await ownerGet({ range });
      expect(expectError(res, 416, 'range_not_satisfiable').size).toBe(SIZE);
      expect(res.headers['content-range']).toBe(`bytes */${SIZE}`);
    }
  });

  it('G81: multiple ranges (even 1 000) and malformed ranges are ignored: 200 with the whole file', async () => {
    const many = `bytes=${Array.from({ length: 1000 }, (_, i) => `${i}-${i}`).join(',')}`;
    for (const range of ['bytes=0-0,5-5', many, 'bytes=5-1', 'items=0-1', 'bytes=abc', `bytes=0-${'9'.repeat(40)}`]) {
      const res = await ownerGet({ range });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-range']).toBeUndefined();
      expect(sha256(res.rawPayload)).toBe(sha256(content));
    }
  });

  it('If-Range with a stale ETag sends the whole file (200); with the current ETag or date, the range (206)', async () => {
    const whole = await ownerGet();
    const etag = String(whole.headers.etag);
    const lastModified = String(whole.headers['last-modified']);
    expect(etag).toBe(`"${sha256(content)}"`);
    const stale = await ownerGet({ range: 'bytes=0-9', 'if-range': `"${'0'.repeat(64)}"` });
    expect(stale.statusCode).toBe(200);
    expect(sha256(stale.rawPayload)).toBe(sha256(content));
    expect((await ownerGet({ range: 'bytes=0-9', 'if-range': `W/${etag}` })).statusCode).toBe(200);
    expect((await ownerGet({ range: 'bytes=0-9', 'if-range': etag })).statusCode).toBe(206);
    expect((await ownerGet({ range: 'bytes=0-9', 'if-range': lastModified })).statusCode).toBe(206);
  });

  it('HEAD answers the GET headers with Content-Length and no body', async () => {
    const head = await ownerGet({}, 'HEAD');
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(SIZE));
    expect(head.headers.etag).toBe(`"${sha256(content)}"`);
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.rawPayload.length).toBe(0);
    const ranged = await ownerGet({ range: 'bytes=0-99' }, 'HEAD');
    expect([ranged.statusCode, ranged.headers['content-length'], ranged.rawPayload.length]).toEqual([206, '100', 0]);
  });
});

describe('serving user content safely', () => {
  it('G80: HTML, SVG, XML, XSL and JS are served as application/octet-stream attachments with nosniff and a sandbox CSP', async () => {
    const specs = [
      { name: 'page.html', content: '<script>alert(1)</script>', content_type: 'text/html' },
      { name: 'img.svg', content: '<svg onload="alert(1)"/>', content_type: 'image/svg+xml' },
      { name: 'feed.xml', content: '<?xml version="1.0"?><x/>', content_type: 'application/xml' },
      { name: 'style.xsl', content: '<xsl:stylesheet/>', content_type: 'text/xsl' },
      { name: 'app.js', content: 'alert(1)', content_type: 'text/javascript' },
      { name: 'subs.vtt', content: 'WEBVTT', content_type: 'text/vtt' },
      { name: 'noext', content: '<html><body onload=alert(1)>' },
    ];
    const { files, link } = await readyTransfer(h.app, key, specs);
    for (const spec of specs) {
      for (const url of [`/api/v1/files/${files[spec.name].id}/download`, `${link}/files/${files[spec.name].id}`]) {
        const res = await h.app.inject({ method: 'GET', url, headers: url.startsWith('/api') ? bearer(key) : {} });
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
        expect(res.headers['content-disposition']).toMatch(/^attachment;/);
        expect(res.body).toBe(spec.content);
      }
    }
    // Harmless types keep their label, still as attachments.
    const png = await readyTransfer(h.app, key, [{ name: 'p.png', content: 'png', content_type: 'image/png' }]);
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/files/${png.files['p.png'].id}/download`, headers: bearer(key) });
    expect([res.headers['content-type'], res.headers['content-disposition']]).toEqual(['image/png', 'attachment; filename=p.png']);
  });

  it('G82: quotes, emoji and percent signs in names become a safe Content-Disposition (filename*)', async () => {
    const { files } = await readyTransfer(h.app, key, [{ name: '"quoted" 100%.txt', content: 'q' }, { name: 'ünïcødé 😀.txt', content: 'u' }]);
    const quoted = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['"quoted" 100%.txt'].id}/download`, headers: bearer(key) });
    expect(quoted.headers['content-disposition']).toBe('attachment; filename="\\"quoted\\" 100%.txt"');
    const unicode = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['ünïcødé 😀.txt'].id}/download`, headers: bearer(key) });
    expect(unicode.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('ünïcødé 😀.txt')}`);
    expect(unicode.headers['content-disposition']).toMatch(/^[\x20-\x7e]+$/);
  });

  it('G83: traversal-looking paths never reach the file system: 404', async () => {
    const urls = [
      `${t.link}/files/..%2F..%2Fetc%2Fpasswd`,
      `${t.link}/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
      `${t.link}/files/%252e%252e%252f`,
      '/t/..%2F..%2Fetc%2Fpasswd',
      '/t/%2e%2e/files/x',
      `/api/v1/files/..%2F..%2Fetc%2Fpasswd/download`,
      `/api/v1/files/%2e%2e%2f/download`,
    ];
    for (const url of urls) expectError(await h.app.inject({ method: 'GET', url, headers: url.startsWith('/api') ? bearer(key) : {} }), 404, 'not_found');
  });
});

describe('signed URLs', () => {
  it('a signed URL works without credentials and serves the same bytes', async () => {
    const res = await h.app.inject({ method: 'GET', url: pathOf(t.files['data.bin'].download_url) });
    expect(res.statusCode).toBe(200);
    expect(sha256(res.rawPayload)).toBe(sha256(content));
  });

  it('F76: a tampered signature, expiry or file id is 403 invalid_signature; a missing one is 401', async () => {
    const url = new URL(t.files['data.bin'].download_url);
    const signature = url.searchParams.get('signature')!;
    const expires = url.searchParams.get('expires')!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
    const other = (await readyTransfer(h.app, key, [{ name: 'o.txt', content: 'o' }])).files['o.txt'].id;
    for (const path of [
      `/api/v1/files/${fileId}/download?expires=${expires}&signature=${flipped}`,
      `/api/v1/files/${fileId}/download?expires=${Number(expires) + 1000}&signature=${signature}`,
      `/api/v1/files/${other}/download?expires=${expires}&signature=${signature}`,
      `/api/v1/files/${fileId}/download?expires=1e12&signature=${signature}`,
      `/api/v1/files/${fileId}/download?expires=${expires}&signature=`,
    ]) {
      expectError(await h.app.inject({ method: 'GET', url: path }), 403, 'invalid_signature');
    }
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download?expires=${expires}` }), 401, 'missing_token');
  });

  it('F76: a signed URL of a deleted transfer is 410', async () => {
    const doomed = await readyTransfer(h.app, key, [{ name: 'd.txt', content: 'd' }]);
    const url = pathOf(doomed.files['d.txt'].download_url);
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${doomed.transfer.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'transfer_deleted');
    expectError(await h.app.inject({ method: 'GET', url: `${doomed.link}/files/${doomed.files['d.txt'].id}` }), 410, 'transfer_deleted');
    expectError(await h.app.inject({ method: 'GET', url: doomed.link }), 410, 'transfer_deleted');
  });
});

describe('F72/F73. download limits', () => {
  it('F72: max_downloads 1 and two concurrent GETs: exactly one 200 and one 410', async () => {
    const limited = await readyTransfer(h.app, key, [{ name: 'once.bin', content }], { max_downloads: 1 });
    const url = `${limited.link}/files/${limited.files['once.bin'].id}`;
    const results = await Promise.all([h.app.inject({ method: 'GET', url }), h.app.inject({ method: 'GET', url })]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 410]);
    const loser = results.find((r) => r.statusCode === 410)!;
    expectError(loser, 410, 'download_limit_reached');
    expect(sha256(results.find((r) => r.statusCode === 200)!.rawPayload)).toBe(sha256(content));
    const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${limited.transfer.id}`, headers: bearer(key) }));
    expect(view.download_count).toBe(1);
    // Every recipient path is closed now, signed URLs and the ZIP included; the owner still downloads.
    expectError(await h.app.inject({ method: 'GET', url: pathOf(limited.files['once.bin'].download_url) }), 410, 'download_limit_reached');
    expectError(await h.app.inject({ method: 'GET', url: `${limited.link}/download.zip` }), 410, 'download_limit_reached');
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/files/${limited.files['once.bin'].id}/download`, headers: bearer(key) })).statusCode).toBe(200);
  });

  it('F73: HEAD and bytes=0-0 probes do not consume; a resume completes a download; probe + resume cannot dodge the limit', async () => {
    const limited = await readyTransfer(h.app, key, [{ name: 'twice.bin', content }], { max_downloads: 1 });
    const url = `${limited.link}/files/${limited.files['twice.bin'].id}`;
    const count = async () => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${limited.transfer.id}`, headers: bearer(key) })).download_count;
    for (let i = 0; i < 3; i++) {
      expect((await h.app.inject({ method: 'HEAD', url })).statusCode).toBe(200);
      const probe = await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=0-0' } });
      expect([probe.statusCode, probe.rawPayload[0]]).toEqual([206, content[0]]);
      expect((await h.app.inject({ method: 'HEAD', url: `${limited.link}/download.zip` })).statusCode).toBe(200);
    }
    expect(await count()).toBe(0);
    const firstHalf = await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=0-4999' } });
    expect(firstHalf.statusCode).toBe(206);
    expect(await count()).toBe(1);
    const resumed = await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=5000-' } });
    expect(resumed.statusCode).toBe(206);
    expect(sha256(Buffer.concat([firstHalf.rawPayload, resumed.rawPayload]))).toBe(sha256(content));
    expect(await count()).toBe(1);
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'download_limit_reached');
    // A 0-0 probe followed by a bytes=1- "resume" would be a whole second copy: refused.
    expectError(await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=1-' } }), 410, 'download_limit_reached');
  });

  it('owner downloads are never counted nor limited', async () => {
    const limited = await readyTransfer(h.app, key, [{ name: 'own.bin', content: 'own' }], { max_downloads: 1 });
    for (let i = 0; i < 3; i++) {
      expect((await h.app.inject({ method: 'GET', url: `/api/v1/files/${limited.files['own.bin'].id}/download`, headers: bearer(key) })).statusCode).toBe(200);
    }
    expect((await h.app.inject({ method: 'GET', url: `${limited.link}/files/${limited.files['own.bin'].id}` })).statusCode).toBe(200);
  });

  it('F74: a file whose row is gone is 404 on every path, even though its blob is still stored', async () => {
    const orphan = await readyTransfer(h.app, key, [{ name: 'keep.txt', content: 'k' }, { name: 'gone.txt', content: 'g' }]);
    const gone = orphan.files['gone.txt'];
    await h.database.db.deleteFrom('files').where('id', '=', gone.id).execute();
    expectError(await h.app.inject({ method: 'GET', url: `${orphan.link}/files/${gone.id}` }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: pathOf(gone.download_url) }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${gone.id}/download`, headers: bearer(key) }), 404, 'not_found');
  });
});
