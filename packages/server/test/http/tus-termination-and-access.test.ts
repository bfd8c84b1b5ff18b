import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness } from '../support/harness.ts';
import { bytes, expectError } from '../support/http.ts';
import { expectHeadStatus, idOf, OCTET, startTusHttp, tusHelpers, UPLOADS, type HeaderMap } from '../support/tus-http.ts';

/**
 * Who may end or reach a tus upload: termination (and what it takes back), X-HTTP-Method-Override
 * authorized on the effective method, read-only keys, and upload ids that try traversal or
 * encodings (docs/security-checklist.md section C).
 */

let h: Harness;
let key: string;
let readOnly: string;
beforeAll(async () => {
  ({ h, key, readOnly } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, create, started, head, patch, offsetOf, fileView, transferFiles, tusUploadsStored } = tusHelpers(() => ({ h, key }));

describe('tus termination and access', () => {
  it('C48: after termination HEAD and PATCH are 404 and the bytes are gone', async () => {
    const { id } = await started(1000);
    expect((await patch(id, 0, bytes(300))).statusCode).toBe(204);
    expect(await tusUploadsStored()).toContain(id);
    const del = await tus('DELETE', `${UPLOADS}/${id}`, bearer(key));
    expect(del.statusCode, del.body).toBe(204);
    expect(await tusUploadsStored()).not.toContain(id);
    expectHeadStatus(await head(id), 404);
    expectError(await patch(id, 300, bytes(10)), 404, 'not_found');
    expectError(await tus('DELETE', `${UPLOADS}/${id}`, bearer(key)), 404, 'not_found');
  });

  it('termination takes back the file the upload declared by filename, but not a file declared beforehand', async () => {
    const t = await transfer([{ name: 'declared.bin', size: 100 }]);
    const byName = idOf(await create({ transfer_id: t.id, filename: 'by-name.bin' }, 100));
    const byId = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, 100));
    expect(await transferFiles(t.id)).toHaveLength(2);
    expect((await tus('DELETE', `${UPLOADS}/${byName}`, bearer(key))).statusCode).toBe(204);
    expect((await tus('DELETE', `${UPLOADS}/${byId}`, bearer(key))).statusCode).toBe(204);
    expect(await transferFiles(t.id)).toMatchObject([{ id: t.fileIds[0], state: 'pending' }]);
    // The name is free again.
    idOf(await create({ transfer_id: t.id, filename: 'by-name.bin' }, 100));
  });

  it('C48: a finished upload cannot be terminated (409); its file stays', async () => {
    const content = bytes(100);
    const { id } = await started(content.length);
    const res = await patch(id, 0, content);
    expectError(await tus('DELETE', `${UPLOADS}/${id}`, bearer(key)), 409, 'upload_complete');
    expect((await fileView(String(res.headers['x-ferry-file-id']))).state).toBe('complete');
  });

  it('C49: X-HTTP-Method-Override is authorized on the effective method; GET or unknown is 405', async () => {
    const content = bytes(100);
    const { id } = await started(content.length);
    const override = (method: string, auth: HeaderMap, extra: HeaderMap = {}, body?: Buffer) =>
      tus('POST', `${UPLOADS}/${id}`, { ...auth, 'x-http-method-override': method, ...extra }, body);
    expectError(await override('PATCH', bearer(readOnly), { ...OCTET, 'upload-offset': '0' }, content), 403, 'insufficient_scope');
    expectError(await override('DELETE', bearer(readOnly)), 403, 'insufficient_scope');
    expect(await offsetOf(id)).toBe(0);
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'FOO', '']) {
      const res = await override(method, bearer(key));
      expectError(res, 405, 'method_not_allowed');
    }
    expect(await offsetOf(id)).toBe(0);
    const p = await override('PATCH', bearer(key), { ...OCTET, 'upload-offset': '0' }, content.subarray(0, 40));
    expect(p.statusCode, p.body).toBe(204);
    expect(await offsetOf(id)).toBe(40);
    const d = await override('DELETE', bearer(key));
    expect(d.statusCode, d.body).toBe(204);
    expectHeadStatus(await head(id), 404);
  });

  it('C49: a read-only key cannot use the tus methods directly either', async () => {
    const { id } = await started(100);
    expectError(await patch(id, 0, bytes(10), {}, bearer(readOnly)), 403, 'insufficient_scope');
    expectHeadStatus(await head(id, bearer(readOnly)), 403);
    expectError(await tus('POST', UPLOADS, { ...bearer(readOnly), 'upload-length': '1' }), 403, 'insufficient_scope');
    expect(await offsetOf(id)).toBe(0);
  });

  it('C50: traversal, encoded, non-ASCII and over-long upload ids are 404 for every method', async () => {
    const ids = ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%252e%252e', '..', 'up_%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9', encodeURIComponent('up_ééééééééééééééééééééé'), 'a'.repeat(10_000), `up_${'A'.repeat(23)}`, '.tus'];
    for (const raw of ids) {
      const url = `${UPLOADS}/${raw}`;
      for (const res of [await head(raw), await patch(raw, 0, bytes(10)), await tus('DELETE', url, bearer(key))]) {
        expect(res.statusCode, `${raw.slice(0, 40)} ${res.body.slice(0, 200)}`).toBe(404);
        if (res.body) expect(res.json().error.code).toBe('not_found');
      }
    }
  });
});
