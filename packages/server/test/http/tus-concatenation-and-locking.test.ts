import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness } from '../support/harness.ts';
import { bytes, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { expectHeadStatus, idOf, metadata, OCTET, startTusHttp, tusHelpers, UPLOADS, V, type HeaderMap } from '../support/tus-http.ts';

/**
 * tus concatenation (partial and final uploads, another account's partials, URLs that are not
 * this server's uploads) and the per-upload lock against a second writer
 * (docs/security-checklist.md section C).
 */

let h: Harness;
let key: string;
let other: string;
beforeAll(async () => {
  ({ h, key, other } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, started, head, patch, offsetOf, fileView, download, transferFiles, tusUploadsStored } = tusHelpers(() => ({ h, key }));

describe('tus concatenation and upload locks', () => {
  describe('concatenation', () => {
    async function partial(content: Buffer, auth: HeaderMap = bearer(key)) {
      const res = await tus('POST', UPLOADS, { ...auth, 'upload-length': String(content.length), 'upload-concat': 'partial' });
      const id = idOf(res);
      if (content.length > 0) expect((await patch(id, 0, content, {}, auth)).statusCode).toBe(204);
      return id;
    }
    const final = (t: { id: string }, urls: string[], headers: HeaderMap = {}, auth: HeaderMap = bearer(key)) =>
      tus('POST', UPLOADS, { ...auth, 'upload-concat': `final;${urls.join(' ')}`, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'joined.bin' }), ...headers });

    it('joins finished partial uploads (relative and absolute URLs) into a verified file', async () => {
      const content = bytes(90_000);
      const parts = [content.subarray(0, 30_000), content.subarray(30_000, 60_000), content.subarray(60_000)];
      const ids = await Promise.all(parts.map((p) => partial(p)));
      const status = await head(ids[0]!);
      expect(status.headers['upload-concat']).toBe('partial');
      const t = await transfer();
      const urls = [`${UPLOADS}/${ids[0]}`, `http://localhost:80${UPLOADS}/${ids[1]}`, `${UPLOADS}/${ids[2]}`];
      const res = await final(t, urls);
      const id = idOf(res);
      expect(res.headers['upload-offset']).toBe(String(content.length));
      const fileId = String(res.headers['x-ferry-file-id']);
      expect(await fileView(fileId)).toMatchObject({ state: 'complete', size: content.length, sha256: sha256(content) });
      expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
      const finished = await head(id);
      expect(finished.statusCode).toBe(200);
      expect(finished.headers['upload-concat']).toMatch(/^final;/);
      // C45: PATCH on a final upload is 403; the partials are gone once joined.
      expectError(await patch(id, content.length, bytes(10)), 403, 'final_upload');
      expectHeadStatus(await head(ids[0]!), 404);
    });

    it('a finished partial upload that was never joined can be terminated', async () => {
      const id = await partial(bytes(1000));
      expect(await tusUploadsStored()).toContain(id);
      expect((await tus('DELETE', `${UPLOADS}/${id}`, bearer(key))).statusCode).toBe(204);
      expect(await tusUploadsStored()).not.toContain(id);
      expectHeadStatus(await head(id), 404);
    });

    it("C43: a final listing another account's partial upload is 404 and that partial is untouched", async () => {
      const theirs = await partial(bytes(1000), bearer(other));
      const mine = await partial(bytes(1000));
      const t = await transfer();
      expectError(await final(t, [`${UPLOADS}/${mine}`, `${UPLOADS}/${theirs}`]), 404, 'not_found');
      expect((await head(theirs, bearer(other))).headers['upload-offset']).toBe('1000');
      expect(await offsetOf(mine)).toBe(1000);
      expect(await transferFiles(t.id)).toHaveLength(0);
    });

    it('C44: a final naming a foreign host, a metadata address or a non-upload URL is 400 and nothing is fetched', async () => {
      const mine = await partial(bytes(100));
      const t = await transfer();
      for (const url of [
        'http://169.254.169.254/x',
        `http://169.254.169.254${UPLOADS}/${mine}`,
        `https://evil.example${UPLOADS}/${mine}`,
        `//evil.example${UPLOADS}/${mine}`,
        `file:///etc/passwd`,
        `${UPLOADS}/../keys`,
        `${UPLOADS}/${mine}?x=1`,
      ]) {
        expectError(await final(t, [url]), 400, 'invalid_concat');
      }
      expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-concat': 'final;' }), 400, 'invalid_concat');
      expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-concat': 'whole', 'upload-length': '1' }), 400, 'invalid_header');
      expect(await offsetOf(mine)).toBe(100);
      expect(await transferFiles(t.id)).toHaveLength(0);
    });

    it('C45: a final naming a non-partial or unfinished partial, or with Upload-Length, is 400', async () => {
      const single = (await started(100)).id;
      const unfinished = await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': '100', 'upload-concat': 'partial' }).then(idOf);
      expect((await patch(unfinished, 0, bytes(50))).statusCode).toBe(204);
      const done = await partial(bytes(100));
      const t = await transfer();
      expectError(await final(t, [`${UPLOADS}/${done}`, `${UPLOADS}/${single}`]), 400, 'invalid_concat');
      expectError(await final(t, [`${UPLOADS}/${done}`, `${UPLOADS}/${unfinished}`]), 400, 'invalid_concat');
      expectError(await final(t, [`${UPLOADS}/${done}`, `${UPLOADS}/${done}`]), 400, 'invalid_concat');
      expectError(await final(t, [`${UPLOADS}/${done}`], { 'upload-length': '100' }), 400, 'invalid_header');
      expectError(await final(t, [`${UPLOADS}/${done}`], { 'upload-defer-length': '1' }), 400, 'invalid_header');
      expect(await offsetOf(done)).toBe(100);
      expect(await offsetOf(unfinished)).toBe(50);
      expect(await transferFiles(t.id)).toHaveLength(0);
    });
  });

  it('C46: a second writer on a locked upload gets 423 and writes nothing', async () => {
    const content = bytes(2000);
    const { id } = await started(content.length);
    const lease = await h.app.services.leases.tryAcquire(`tus:${id}`);
    expect(lease).not.toBeNull();
    try {
      expectError(await patch(id, 0, content), 423, 'upload_locked');
      expect(await offsetOf(id)).toBe(0);
      expectError(await tus('DELETE', `${UPLOADS}/${id}`, bearer(key)), 423, 'upload_locked');
    } finally {
      await lease!.release();
    }
    const res = await patch(id, 0, content);
    expect(res.statusCode).toBe(204);
    expect(sha256((await download(String(res.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content));
  });

  it('C46: two real concurrent PATCHes: the second is 423 while the first streams; bytes are not interleaved', async () => {
    const base = await h.listen();
    const content = bytes(100_000);
    const { id, transferId } = await started(content.length);
    const url = new URL(`${UPLOADS}/${id}`, base);
    let firstStatus = 0;
    const first = new Promise<void>((resolve, reject) => {
      const req = http.request(url, {
        method: 'PATCH',
        headers: { ...V, ...bearer(key), ...OCTET, 'upload-offset': '0', 'content-length': String(content.length) },
      });
      req.on('response', (res) => {
        firstStatus = res.statusCode ?? 0;
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.write(content.subarray(0, 40_000));
      setTimeout(async () => {
        try {
          // The first request holds the lease now; a second writer is refused.
          const second = await fetch(url, {
            method: 'PATCH',
            headers: { ...V, ...bearer(key), ...OCTET, 'upload-offset': '0' },
            body: new Uint8Array(bytes(100_000)),
          });
          expect(second.status).toBe(423);
          expect((await second.json()).error.code).toBe('upload_locked');
          req.end(content.subarray(40_000));
        } catch (error) {
          req.destroy();
          reject(error);
        }
      }, 300);
    });
    await first;
    expect(firstStatus).toBe(204);
    const status = await head(id);
    expect(status.headers['upload-offset']).toBe(String(content.length));
    const fileId = (await transferFiles(transferId))[0].id;
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
  });
});
