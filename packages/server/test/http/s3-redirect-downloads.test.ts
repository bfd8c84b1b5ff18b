import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer } from '../support/transfers.ts';
import { bytes, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { testS3Server } from '../support/test-s3.ts';

// FERRY_S3_REDIRECT_DOWNLOADS: the bucket answers downloads itself (scale-out run only).
describe.runIf(testS3Server())('downloads redirected to presigned S3 GETs', () => {
  let h: Harness;
  let key: string;
  const content = bytes(3 * 1024 * 1024 + 5);

  beforeAll(async () => {
    h = await startHarness({ FERRY_S3_REDIRECT_DOWNLOADS: 'true' });
    ({ key } = await createAccount(h.app, 'redirect@example.com'));
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('answers a GET with 302 to the bucket, which serves the exact bytes with Ferry\'s headers, ranges included', async () => {
    const { files } = await readyTransfer(h.app, key, [{ name: 'report.pdf', content, content_type: 'application/pdf' }]);
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['report.pdf'].id}/download`, headers: bearer(key) });
    expect(res.statusCode).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const location = res.headers.location as string;
    expect(location.startsWith(process.env.FERRY_TEST_S3_ENDPOINT!)).toBe(true);
    expect(location).toMatch(/X-Amz-Expires=60(&|$)/);

    const whole = await fetch(location);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-disposition')).toMatch(/^attachment; filename="?report\.pdf"?/);
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(sha256(content));
    const ranged = await fetch(location, { headers: { range: 'bytes=1048576-' } });
    expect(ranged.status).toBe(206);
    expect(sha256(Buffer.from(await ranged.arrayBuffer()))).toBe(sha256(content.subarray(1048576)));

    // The signature covers the key and the response headers: change either and S3 refuses.
    const otherKey = new URL(location);
    otherKey.pathname = otherKey.pathname.replace(/[a-z0-9]$/, (c) => (c === 'a' ? 'b' : 'a'));
    expect((await fetch(otherKey)).status).toBe(403);
    const otherHeaders = new URL(location);
    otherHeaders.searchParams.set('response-content-type', 'text/html');
    expect((await fetch(otherHeaders)).status).toBe(403);

    // HEAD is answered by Ferry itself.
    const head = await h.app.inject({ method: 'HEAD', url: `/api/v1/files/${files['report.pdf'].id}/download`, headers: bearer(key) });
    expect([head.statusCode, head.headers['content-length']]).toEqual([200, String(content.length)]);
  });

  it('counts a redirected download against max_downloads and redirects no more after the limit or a deletion', async () => {
    const { transfer, files, link } = await readyTransfer(h.app, key, [{ name: 'once.bin', content: bytes(1000) }], { max_downloads: 1 });
    // A recipient by the public link: the redirect is the one download the link allows.
    const url = `${link}/files/${files['once.bin'].id}`;
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(302);
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'download_limit_reached');

    const { transfer: other, files: otherFiles } = await readyTransfer(h.app, key, [{ name: 'gone.bin', content: bytes(1000) }]);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${other.id}`, headers: bearer(key) })).statusCode).toBe(204);
    const after = await h.app.inject({ method: 'GET', url: `/api/v1/files/${otherFiles['gone.bin'].id}/download`, headers: bearer(key) });
    expect(after.statusCode).not.toBe(302);
    expect(transfer.id).not.toBe(other.id);
  });

  it('streams probes and resumes itself: a presigned URL is not bound to a range, so only whole counted GETs redirect', async () => {
    const content = bytes(10_000);
    const { transfer, files, link } = await readyTransfer(h.app, key, [{ name: 'probe.bin', content }], { max_downloads: 1 });
    const url = `${link}/files/${files['probe.bin'].id}`;
    const probe = await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=0-0' } });
    expect([probe.statusCode, probe.rawPayload.length]).toEqual([206, 1]);
    const resume = await h.app.inject({ method: 'GET', url, headers: { range: 'bytes=5000-' } });
    expect([resume.statusCode, sha256(resume.rawPayload)]).toEqual([206, sha256(content.subarray(5000))]);
    const view = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transfer.id}`, headers: bearer(key) });
    expect(view.json().data.download_count).toBe(0);
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(302);
    expectError(await h.app.inject({ method: 'GET', url }), 410, 'download_limit_reached');
  });

  it('never redirects the ZIP of a transfer: it is assembled by Ferry', async () => {
    const { transfer } = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'a' }, { name: 'b.txt', content: 'b' }]);
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transfer.id}/download.zip`, headers: bearer(key) });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
  });

  it('keeps the error envelope for a file of another account', async () => {
    const other = await createAccount(h.app, 'redirect-other@example.com');
    const { files } = await readyTransfer(h.app, other.key, [{ name: 'x.bin', content: bytes(10) }]);
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['x.bin'].id}/download`, headers: bearer(key) }), 404, 'not_found');
  });
});
