import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness } from '../support/harness.ts';
import { bytes, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { b64, idOf, startTusHttp, TUS_MAX, tusHelpers, UPLOADS } from '../support/tus-http.ts';

/**
 * The tus 1.0 endpoint (/api/v1/uploads) through `inject()`: discovery (OPTIONS, J109 without
 * FERRY_CORS_ORIGINS) and creation (declared files, new names, creation-with-upload, zero-length
 * and deferred-length uploads, A14 metadata), each upload resumed by PATCH to its end.
 */

let h: Harness;
let key: string;
beforeAll(async () => {
  ({ h, key } = await startTusHttp());
});
afterAll(() => h?.close());
const { tus, transfer, create, head, patch, offsetOf, fileView, download, transferFiles, tusUploadsStored } = tusHelpers(() => ({ h, key }));

describe('discovery (OPTIONS)', () => {
  it('announces version, extensions, max size and checksum algorithms without credentials', async () => {
    const res = await h.app.inject({ method: 'OPTIONS', url: UPLOADS });
    expect(res.statusCode).toBe(204);
    expect(res.headers['tus-version']).toBe('1.0.0');
    const extensions = String(res.headers['tus-extension']).split(',');
    expect(extensions).toEqual(
      expect.arrayContaining(['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration', 'checksum', 'concatenation']),
    );
    expect(extensions).not.toContain('concatentation');
    expect(res.headers['tus-max-size']).toBe(String(TUS_MAX));
    expect(String(res.headers['tus-checksum-algorithm']).split(',').sort()).toEqual(['md5', 'sha1', 'sha256']);
  });

  it('J109: no CORS allowance for a foreign origin (no FERRY_CORS_ORIGINS configured)', async () => {
    const origin = { origin: 'https://evil.example' };
    const preflight = await h.app.inject({ method: 'OPTIONS', url: UPLOADS, headers: { ...origin, 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const t = await transfer();
    const post = await create({ transfer_id: t.id, filename: 'cors.bin' }, 10, origin);
    expect(post.statusCode).toBe(201);
    expect(post.headers['access-control-allow-origin']).toBeUndefined();
    expect(post.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('answers on an upload URL too', async () => {
    const res = await h.app.inject({ method: 'OPTIONS', url: `${UPLOADS}/up_${'A'.repeat(22)}` });
    expect(res.statusCode).toBe(204);
    expect(res.headers['tus-version']).toBe('1.0.0');
  });
});

describe('creation', () => {
  it('creates an upload for a declared file; PATCHes complete it and the download has the same SHA-256', async () => {
    const content = bytes(150_000);
    const t = await transfer([{ name: 'declared.bin', size: content.length }]);
    const res = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length);
    const id = idOf(res);
    expect(res.headers['tus-resumable']).toBe('1.0.0');
    expect(res.headers['upload-expires']).toEqual(expect.any(String));

    const first = await head(id);
    expect(first.statusCode).toBe(200);
    expect(first.headers['upload-offset']).toBe('0');
    expect(first.headers['upload-length']).toBe(String(content.length));
    expect(first.headers['cache-control']).toBe('no-store');

    const a = await patch(id, 0, content.subarray(0, 60_000));
    expect(a.statusCode, a.body).toBe(204);
    expect(a.headers['upload-offset']).toBe('60000');
    expect(await offsetOf(id)).toBe(60_000);
    expect((await fileView(t.fileIds[0]!)).state).toBe('pending');

    const b = await patch(id, 60_000, content.subarray(60_000));
    expect(b.statusCode, b.body).toBe(204);
    expect(b.headers['upload-offset']).toBe(String(content.length));
    expect(b.headers['x-ferry-file-id']).toBe(t.fileIds[0]);

    expect(await fileView(t.fileIds[0]!)).toMatchObject({ state: 'complete', size: content.length, sha256: sha256(content) });
    const done = await head(id);
    expect([done.statusCode, done.headers['upload-offset'], done.headers['upload-length']]).toEqual([200, String(content.length), String(content.length)]);
    const got = await download(t.fileIds[0]!);
    expect(got.statusCode).toBe(200);
    expect(sha256(got.rawPayload)).toBe(sha256(content));
  });

  it('a declared file with another Upload-Length is 400 size_mismatch and creates nothing', async () => {
    const t = await transfer([{ name: 'sized.bin', size: 1000 }]);
    const before = await tusUploadsStored();
    const res = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, 999);
    expect(expectError(res, 400, 'size_mismatch').declared_size).toBe(1000);
    expect(res.headers.location).toBeUndefined();
    expect(await tusUploadsStored()).toEqual(before);
  });

  it('a new filename declares a new file in the transfer', async () => {
    const content = bytes(5000);
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'new.txt', filetype: 'text/plain' }, content.length));
    const files = await transferFiles(t.id);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ name: 'new.txt', size: content.length, state: 'pending' });
    const res = await patch(id, 0, content);
    expect(res.statusCode, res.body).toBe(204);
    expect(res.headers['x-ferry-file-id']).toBe(files[0].id);
    expect(await fileView(files[0].id)).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('creation-with-upload: the POST body is the first chunk', async () => {
    const content = bytes(8000);
    const t = await transfer();
    const res = await create({ transfer_id: t.id, filename: 'with-body.bin' }, content.length, {}, bearer(key), content.subarray(0, 3000));
    const id = idOf(res);
    expect(res.headers['upload-offset']).toBe('3000');
    expect(await offsetOf(id)).toBe(3000);
    const rest = await patch(id, 3000, content.subarray(3000));
    expect(rest.statusCode, rest.body).toBe(204);
    const fileId = String(rest.headers['x-ferry-file-id']);
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
  });

  it('creation-with-upload of the whole file completes it in the POST', async () => {
    const content = bytes(4096);
    const t = await transfer();
    const res = await create({ transfer_id: t.id, filename: 'whole.bin' }, content.length, {}, bearer(key), content);
    idOf(res);
    expect(res.headers['upload-offset']).toBe(String(content.length));
    const fileId = String(res.headers['x-ferry-file-id']);
    expect(await fileView(fileId)).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('B19: a zero-length upload is 201 and complete at once', async () => {
    const t = await transfer([{ name: 'empty.bin', size: 0 }]);
    const res = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, 0);
    const id = idOf(res);
    expect(res.headers['x-ferry-file-id']).toBe(t.fileIds[0]);
    expect(await fileView(t.fileIds[0]!)).toMatchObject({ state: 'complete', size: 0, sha256: sha256('') });
    const status = await head(id);
    expect([status.statusCode, status.headers['upload-offset'], status.headers['upload-length']]).toEqual([200, '0', '0']);

    const byName = await transfer();
    const named = await create({ transfer_id: byName.id, filename: 'empty.txt' }, 0);
    idOf(named);
    expect(await fileView(String(named.headers['x-ferry-file-id']))).toMatchObject({ state: 'complete', size: 0 });
  });

  it('defer-length: the length is declared in a PATCH, then the upload completes', async () => {
    const content = bytes(7000);
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'deferred.bin' }, null));
    const status = await head(id);
    expect(status.headers['upload-defer-length']).toBe('1');
    expect(status.headers['upload-length']).toBeUndefined();

    expect((await patch(id, 0, content.subarray(0, 2000))).statusCode).toBe(204);
    const last = await patch(id, 2000, content.subarray(2000), { 'upload-length': String(content.length) });
    expect(last.statusCode, last.body).toBe(204);
    const fileId = String(last.headers['x-ferry-file-id']);
    expect(await fileView(fileId)).toMatchObject({ name: 'deferred.bin', state: 'complete', size: content.length, sha256: sha256(content) });
  });

  it('A14: malformed Upload-Metadata (non-base64 value, empty or duplicate key) is 400 and declares nothing', async () => {
    const t = await transfer();
    const good = `transfer_id ${b64(t.id)},filename ${b64('m.bin')}`;
    for (const bad of [`${good},x not*base64`, `${good}, ${b64('v')}`, `${good},filename ${b64('other.bin')}`]) {
      const res = await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': '10', 'upload-metadata': bad });
      expect(res.statusCode, `${bad}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
    }
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('metadata must name the transfer and a file', async () => {
    const t = await transfer();
    expectError(await create({ filename: 'x.bin' }, 10), 400, 'missing_metadata');
    expectError(await create({ transfer_id: t.id }, 10), 400, 'missing_metadata');
    expectError(await create({ transfer_id: t.id, filename: '../../etc/passwd' }, 10), 400, 'invalid_file_name');
    expect(await transferFiles(t.id)).toHaveLength(0);
  });
});
