import { createHash } from 'node:crypto';
import http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBlobStore } from '../../src/storage/local-blob-store.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { bytes, createTransfer, expectData, expectError, sha256, type Injected } from '../support/http.ts';

/**
 * The tus 1.0 endpoint (/api/v1/uploads) through `inject()`: discovery, creation, resumption and
 * every tus row of SECURITY.md section C, the tus rows of B (B18-B25, B34, B35) and I103, plus
 * isolation between accounts and between transfers' upload tokens.
 */

const TUS_MAX = 200_000;
const TRANSFER_MAX = 300_000;
const UPLOADS = '/api/v1/uploads';
const V = { 'tus-resumable': '1.0.0' } as const;
const OCTET = { 'content-type': 'application/offset+octet-stream' } as const;

let h: Harness;
let key: string;
let other: string;
let readOnly: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(TRANSFER_MAX), FERRY_TUS_MAX_SIZE: String(TUS_MAX) });
  ({ key } = await createAccount(h.app, 'tus@example.com'));
  ({ key: other } = await createAccount(h.app, 'tus-other@example.com'));
  readOnly = expectData(
    await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: bearer(key), payload: { name: 'ro', scopes: ['files:read', 'transfers:read'] } }),
    201,
  ).key;
});
afterAll(() => h?.close());

type HeaderMap = Record<string, string>;

const b64 = (value: string) => Buffer.from(value).toString('base64');
const metadata = (pairs: Record<string, string>) =>
  Object.entries(pairs)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');
const digest = (algorithm: string, body: Buffer) => createHash(algorithm).update(body).digest('base64');

function tus(method: string, url: string, headers: HeaderMap = {}, payload?: Buffer | string | Readable): Promise<Injected> {
  return h.app.inject({ method: method as 'POST', url, headers: { ...V, ...headers }, ...(payload !== undefined ? { payload } : {}) });
}

async function transfer(files: { name: string; size: number }[] = [], apiKey = key) {
  const t = expectData(await createTransfer(h.app, apiKey, { title: 'tus', files }), 201);
  return { id: t.id as string, token: t.upload_token as string, fileIds: (t.files as { id: string }[]).map((f) => f.id) };
}

const idOf = (res: Injected): string => {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(201);
  const location = String(res.headers.location);
  expect(location).toMatch(new RegExp(`${UPLOADS}/up_[0-9A-Za-z]{22}$`));
  return location.slice(location.lastIndexOf('/') + 1);
};

/** POST with `meta` as Upload-Metadata and `length` as Upload-Length (or deferred when null). */
function create(meta: Record<string, string>, length: number | null, headers: HeaderMap = {}, auth: HeaderMap = bearer(key), body?: Buffer) {
  const lengthHeader: HeaderMap = length === null ? { 'upload-defer-length': '1' } : { 'upload-length': String(length) };
  return tus('POST', UPLOADS, { ...auth, ...lengthHeader, 'upload-metadata': metadata(meta), ...(body ? OCTET : {}), ...headers }, body);
}

/** A new unfinished upload of `size` bytes into a fresh transfer, by filename. */
async function started(size: number, name = 'data.bin') {
  const t = await transfer();
  const id = idOf(await create({ transfer_id: t.id, filename: name }, size));
  return { id, transferId: t.id, token: t.token };
}

const head = (id: string, auth: HeaderMap = bearer(key)) => tus('HEAD', `${UPLOADS}/${id}`, auth);
const patch = (id: string, offset: number, body: Buffer | Readable, headers: HeaderMap = {}, auth: HeaderMap = bearer(key)) =>
  tus('PATCH', `${UPLOADS}/${id}`, { ...auth, ...OCTET, 'upload-offset': String(offset), ...headers }, body);

/** HEAD answers carry no body: the status (and that nothing leaks in headers) is what there is. */
function expectHeadStatus(res: Injected, status: number) {
  expect(res.statusCode).toBe(status);
  expect(res.body).toBe('');
  expect(res.headers['upload-offset']).toBeUndefined();
}

async function offsetOf(id: string): Promise<number> {
  const res = await head(id);
  expect(res.statusCode, res.body).toBe(200);
  return Number(res.headers['upload-offset']);
}

const fileView = async (fileId: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}`, headers: bearer(key) }));
const download = (fileId: string) => h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: bearer(key) });
const transferFiles = async (transferId: string) =>
  expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}`, headers: bearer(key) })).files as any[];

/** Files left in the tus working directory (bytes of unfinished uploads). */
const tusDir = () => path.join((h.stores.defaultStore as LocalBlobStore).root, '.tus');

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
    const before = await readdir(tusDir());
    const res = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, 999);
    expect(expectError(res, 400, 'size_mismatch').declared_size).toBe(1000);
    expect(res.headers.location).toBeUndefined();
    expect(await readdir(tusDir())).toEqual(before);
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

describe('SECURITY C36-C50', () => {
  it('C36: missing or other Tus-Resumable is 412 with Tus-Version, and nothing is processed', async () => {
    const t = await transfer();
    const { id } = await started(100);
    for (const version of [undefined, '0.2.2']) {
      const headers: HeaderMap = { ...bearer(key), 'upload-length': '10', 'upload-metadata': metadata({ transfer_id: t.id, filename: 'v.bin' }) };
      if (version) headers['tus-resumable'] = version;
      const post = await h.app.inject({ method: 'POST', url: UPLOADS, headers });
      expect(expectError(post, 412, 'unsupported_tus_version') && post.headers['tus-version']).toBe('1.0.0');

      const p = { ...bearer(key), ...OCTET, 'upload-offset': '0', ...(version ? { 'tus-resumable': version } : {}) };
      const res = await h.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: p, payload: bytes(10) });
      expectError(res, 412, 'unsupported_tus_version');
      expect(res.headers['tus-version']).toBe('1.0.0');
      const hd = await h.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...bearer(key), ...(version ? { 'tus-resumable': version } : {}) } });
      expect([hd.statusCode, hd.headers['tus-version']]).toEqual([412, '1.0.0']);
    }
    expect(await transferFiles(t.id)).toHaveLength(0);
    expect(await offsetOf(id)).toBe(0);
  });

  it('C37: PATCH with text/plain, no Content-Type or a parameterised type is 415', async () => {
    const { id } = await started(100);
    for (const type of ['text/plain', undefined, 'application/octet-stream', 'application/offset+octet-stream; charset=utf-8']) {
      const headers: HeaderMap = { ...bearer(key), 'upload-offset': '0' };
      if (type) headers['content-type'] = type;
      expectError(await tus('PATCH', `${UPLOADS}/${id}`, headers, bytes(50)), 415, 'unsupported_media_type');
    }
    expect(await offsetOf(id)).toBe(0);
  });

  it('C38: a stale or future Upload-Offset is 409 and the upload is not modified', async () => {
    const content = bytes(1000);
    const { id } = await started(content.length);
    expect((await patch(id, 0, content.subarray(0, 400))).statusCode).toBe(204);
    expectError(await patch(id, 0, bytes(400)), 409, 'offset_mismatch');
    expectError(await patch(id, 200, bytes(400)), 409, 'offset_mismatch');
    expectError(await patch(id, 600, bytes(400)), 409, 'offset_mismatch');
    expect(await offsetOf(id)).toBe(400);
    const rest = await patch(id, 400, content.subarray(400));
    expect(rest.statusCode).toBe(204);
    expect(sha256((await download(String(rest.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content));
  });

  it('C38: Upload-Offset must be a plain non-negative integer', async () => {
    const { id } = await started(100);
    for (const offset of ['-1', '1e1', '0x0', ' 0', '00', '0.0', 'abc']) {
      const res = await patch(id, 0, bytes(10), { 'upload-offset': offset });
      expect(res.statusCode, `${offset}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toMatch(/invalid_header|validation_failed/);
    }
    expect((await tus('PATCH', `${UPLOADS}/${id}`, { ...bearer(key), ...OCTET }, bytes(10))).statusCode).toBe(400);
    expect(await offsetOf(id)).toBe(0);
  });

  it('C39: both lengths, Upload-Defer-Length 2 or abc, and neither are 400', async () => {
    const t = await transfer();
    const meta = { transfer_id: t.id, filename: 'c39.bin' };
    expectError(await create(meta, 10, { 'upload-defer-length': '1' }), 400, 'invalid_header');
    expectError(await create(meta, null, { 'upload-defer-length': '2' }), 400, 'invalid_header');
    expectError(await create(meta, null, { 'upload-defer-length': 'abc' }), 400, 'invalid_header');
    expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-metadata': metadata(meta) }), 400, 'invalid_header');
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('C40: a deferred length below the received bytes is 409; a length once set cannot change (400)', async () => {
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'c40.bin' }, null));
    expect((await patch(id, 0, bytes(500))).statusCode).toBe(204);
    expectError(await patch(id, 500, bytes(10), { 'upload-length': '400' }), 409, 'length_below_offset');
    expect(await offsetOf(id)).toBe(500);
    expect((await head(id)).headers['upload-defer-length']).toBe('1');

    expect((await patch(id, 500, bytes(100), { 'upload-length': '1000' })).statusCode).toBe(204);
    expect((await head(id)).headers['upload-length']).toBe('1000');
    expectError(await patch(id, 600, bytes(100), { 'upload-length': '2000' }), 400, 'length_already_set');
    expectError(await patch(id, 600, bytes(100), { 'upload-length': '1000' }), 400, 'length_already_set');
    const status = await head(id);
    expect([status.headers['upload-offset'], status.headers['upload-length']]).toEqual(['600', '1000']);

    // An upload created with its length cannot declare one either.
    const fixed = (await started(100)).id;
    expectError(await patch(fixed, 0, bytes(10), { 'upload-length': '100' }), 400, 'length_already_set');
    expect(await offsetOf(fixed)).toBe(0);
  });

  it('C41: a wrong Upload-Checksum is 460 and the chunk is discarded', async () => {
    const content = bytes(3000);
    const { id } = await started(content.length);
    const first = content.subarray(0, 1000);
    expect((await patch(id, 0, first, { 'upload-checksum': `sha256 ${digest('sha256', first)}` })).statusCode).toBe(204);
    const second = content.subarray(1000, 2000);
    const bad = await patch(id, 1000, second, { 'upload-checksum': `sha256 ${digest('sha256', bytes(1000))}` });
    expectError(bad, 460, 'checksum_mismatch');
    expect(await offsetOf(id)).toBe(1000);
    // The same chunk with its right digest goes through, and the running SHA-256 stays right.
    expect((await patch(id, 1000, second, { 'upload-checksum': `sha1 ${digest('sha1', second)}` })).statusCode).toBe(204);
    const third = content.subarray(2000);
    const last = await patch(id, 2000, third, { 'upload-checksum': `md5 ${digest('md5', third)}` });
    expect(last.statusCode, last.body).toBe(204);
    expect(await fileView(String(last.headers['x-ferry-file-id']))).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('C41: creation-with-upload with a wrong Upload-Checksum is 460 and nothing is kept', async () => {
    const content = bytes(500);
    const t = await transfer();
    const before = await readdir(tusDir());
    const res = await create({ transfer_id: t.id, filename: 'c41.bin' }, 1000, { 'upload-checksum': `sha1 ${digest('sha1', bytes(500))}` }, bearer(key), content);
    expectError(res, 460, 'checksum_mismatch');
    expect(res.headers.location).toBeUndefined();
    // The client never learnt the upload's URL: neither the upload nor its declared file remain,
    // so the same creation can simply be retried.
    expect(await readdir(tusDir())).toEqual(before);
    expect(await transferFiles(t.id)).toHaveLength(0);
    const retry = await create({ transfer_id: t.id, filename: 'c41.bin' }, 1000, { 'upload-checksum': `sha1 ${digest('sha1', content)}` }, bearer(key), content);
    expect(await offsetOf(idOf(retry))).toBe(500);
    expect(await transferFiles(t.id)).toMatchObject([{ name: 'c41.bin', size: 1000, state: 'pending' }]);
  });

  it('C41: creation-with-upload into a declared file with a wrong checksum leaves the file declared and uploadable', async () => {
    const content = bytes(500);
    const t = await transfer([{ name: 'kept.bin', size: content.length }]);
    const bad = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length, { 'upload-checksum': `md5 ${digest('md5', bytes(10))}` }, bearer(key), content);
    expectError(bad, 460, 'checksum_mismatch');
    expect(await transferFiles(t.id)).toMatchObject([{ id: t.fileIds[0], state: 'pending' }]);
    const good = await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length, { 'upload-checksum': `md5 ${digest('md5', content)}` }, bearer(key), content);
    expect(good.headers['x-ferry-file-id']).toBe(t.fileIds[0]);
    expect(await fileView(t.fileIds[0]!)).toMatchObject({ state: 'complete', sha256: sha256(content) });
  });

  it('C42: crc32, upper-case SHA1, bad base64 or a short digest are 400 and nothing is written', async () => {
    const body = bytes(100);
    const { id } = await started(1000);
    const sha1 = digest('sha1', body);
    const cases: [string, string][] = [
      [`crc32 ${Buffer.alloc(4).toString('base64')}`, 'unsupported_checksum_algorithm'],
      [`SHA1 ${sha1}`, 'unsupported_checksum_algorithm'],
      ['sha1 !!!not-base64!!!', 'invalid_checksum'],
      [`sha1 ${sha1.slice(0, -2)}`, 'invalid_checksum'],
      [`sha256 ${sha1}`, 'invalid_checksum'],
      ['sha1', 'invalid_checksum'],
      ['', 'invalid_checksum'],
    ];
    for (const [value, code] of cases) expectError(await patch(id, 0, body, { 'upload-checksum': value }), 400, code);
    expect(await offsetOf(id)).toBe(0);
  });

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
      expect(await readdir(tusDir())).toContain(id);
      expect((await tus('DELETE', `${UPLOADS}/${id}`, bearer(key))).statusCode).toBe(204);
      expect(await readdir(tusDir())).not.toContain(id);
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
    const { id } = await started(content.length);
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
    const fileId = (await transferFiles((await h.app.services.tus.uploads.find(id))!.transfer_id!))[0].id;
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
  });

  it('C47: HEAD carries Cache-Control: no-store, for unfinished and finished uploads', async () => {
    const content = bytes(100);
    const { id } = await started(content.length);
    expect((await head(id)).headers['cache-control']).toBe('no-store');
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    const done = await head(id);
    expect([done.statusCode, done.headers['cache-control'], done.headers['tus-resumable']]).toEqual([200, 'no-store', '1.0.0']);
  });

  it('C48: after termination HEAD and PATCH are 404 and the bytes are gone', async () => {
    const { id } = await started(1000);
    expect((await patch(id, 0, bytes(300))).statusCode).toBe(204);
    expect(await readdir(tusDir())).toContain(id);
    const del = await tus('DELETE', `${UPLOADS}/${id}`, bearer(key));
    expect(del.statusCode, del.body).toBe(204);
    expect(await readdir(tusDir())).not.toContain(id);
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

describe('sizes (SECURITY B18-B25, B34, B35)', () => {
  it('B18/B20/B21: Upload-Length -1, 1e3, 12abc, 0x10, " 12 ", 1.5 and 40 digits are 400', async () => {
    const t = await transfer();
    for (const length of ['-1', '1e3', '12abc', '0x10', '1.5', '+12', '9'.repeat(40), '9007199254740993', '']) {
      const res = await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': length, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'b.bin' }) });
      expect(res.statusCode, `${length}: ${res.body}`).toBe(400);
      expect(res.json().error.code).toMatch(/invalid_header|validation_failed/);
    }
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('B22: a length above Tus-Max-Size is 413 at creation', async () => {
    const t = await transfer();
    expectError(await create({ transfer_id: t.id, filename: 'big.bin' }, TUS_MAX + 1), 413, 'payload_too_large');
    expectError(await tus('POST', UPLOADS, { ...bearer(key), 'upload-length': String(TUS_MAX + 1), 'upload-concat': 'partial' }), 413, 'payload_too_large');
    expect(await transferFiles(t.id)).toHaveLength(0);
  });

  it('B22: a deferred length declared above Tus-Max-Size is 413', async () => {
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: 'grow.bin' }, null));
    const res = await patch(id, 0, bytes(10), { 'upload-length': String(TUS_MAX + 1) });
    expectError(res, 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(0);
    expect((await head(id)).headers['upload-defer-length']).toBe('1');
  });

  it('B23: a file that would take the transfer over its maximum is 413 at creation', async () => {
    const t = await transfer([{ name: 'first.bin', size: 150_000 }]);
    expectError(await create({ transfer_id: t.id, filename: 'second.bin' }, TRANSFER_MAX - 150_000 + 1), 413, 'payload_too_large');
    expect(await transferFiles(t.id)).toHaveLength(1);
    idOf(await create({ transfer_id: t.id, filename: 'second.bin' }, TRANSFER_MAX - 150_000));
  });

  it('B23: a deferred length that would take the transfer over its maximum is 413 at the PATCH declaring it', async () => {
    const t = await transfer([{ name: 'first.bin', size: 150_000 }]);
    const id = idOf(await create({ transfer_id: t.id, filename: 'second.bin' }, null));
    expect((await patch(id, 0, bytes(1000))).statusCode).toBe(204);
    const res = await patch(id, 1000, bytes(1000), { 'upload-length': String(TRANSFER_MAX - 150_000 + 1) });
    expect(expectError(res, 413, 'payload_too_large').max_transfer_size).toBe(TRANSFER_MAX);
    const status = await head(id);
    expect([status.headers['upload-offset'], status.headers['upload-defer-length']]).toEqual(['1000', '1']);
    // A length that fits is still accepted, and the upload completes.
    const content = bytes(TRANSFER_MAX - 150_000);
    const last = await patch(id, 1000, content.subarray(1000), { 'upload-length': String(content.length) });
    expect(last.statusCode, last.body).toBe(204);
    expect(await transferFiles(t.id)).toMatchObject([{ name: 'first.bin' }, { name: 'second.bin', size: content.length, state: 'complete' }]);
  });

  it('a deferred upload by a name already in the transfer is refused at creation, not after its bytes', async () => {
    const t = await transfer([{ name: 'taken.bin', size: 10 }]);
    expectError(await create({ transfer_id: t.id, filename: 'taken.bin' }, null), 400, 'duplicate_file_name');
    expectError(await create({ transfer_id: t.id, filename: 'taken.bin' }, 10), 400, 'duplicate_file_name');
    expect(await transferFiles(t.id)).toHaveLength(1);
  });

  it('B24: a PATCH body longer than Upload-Length is 413 and nothing is written past it', async () => {
    const { id } = await started(100);
    expectError(await patch(id, 0, bytes(150)), 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(0);
    expect((await patch(id, 0, bytes(60))).statusCode).toBe(204);
    expectError(await patch(id, 60, bytes(41)), 413, 'payload_too_large');
    expect(await offsetOf(id)).toBe(60);
  });

  it('B25: a chunked PATCH body running past Upload-Length is 413 and nothing past Upload-Length is written', async () => {
    const content = bytes(4000);
    const { id } = await started(1500);
    const res = await patch(id, 0, Readable.from([content.subarray(0, 1000), content.subarray(1000)]), { 'transfer-encoding': 'chunked' });
    expectError(res, 413, 'payload_too_large');
    const offset = await offsetOf(id);
    expect(offset).toBeLessThanOrEqual(1500);
    const onDisk = await readFile(path.join(tusDir(), id));
    expect(onDisk.length).toBe(offset);
    expect(onDisk.equals(content.subarray(0, offset))).toBe(true);
    // The upload goes on from there.
    const rest = await patch(id, offset, content.subarray(offset, 1500));
    expect(rest.statusCode, rest.body).toBe(204);
    expect(sha256((await download(String(rest.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content.subarray(0, 1500)));
  });

  it('B34: tus creation into a finalized transfer is 409', async () => {
    const content = bytes(100);
    const t = await transfer([{ name: 'a.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/finalize`, headers: bearer(key) })).statusCode).toBe(200);
    expectError(await create({ transfer_id: t.id, filename: 'late.bin' }, 10), 409, 'transfer_finalized');
    expectError(await create({ transfer_id: t.id, filename: 'late.bin' }, null), 409, 'transfer_finalized');
    expectError(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length), 409, 'transfer_finalized');
    expect(await transferFiles(t.id)).toHaveLength(1);
  });

  it('B34: PATCHes into an upload whose transfer was deleted are refused and complete no file', async () => {
    const content = bytes(1000);
    const t = await transfer([{ name: 'doomed.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    const named = idOf(await create({ transfer_id: t.id, filename: 'named.bin' }, content.length));
    expect((await patch(id, 0, content.subarray(0, 500))).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await patch(id, 500, content.subarray(500)), 404, 'not_found');
    expectError(await patch(named, 0, content), 404, 'not_found');
    expect(await offsetOf(id)).toBe(500);
    const row = await h.database.db.selectFrom('files').select(['state', 'sha256']).where('id', '=', t.fileIds[0]!).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'pending', sha256: null });
  });

  it('B35: a PATCH into a completed upload is 409 and the bytes are untouched; an empty PATCH at the end is 204', async () => {
    const content = bytes(500);
    const { id } = await started(content.length);
    const done = await patch(id, 0, content);
    const fileId = String(done.headers['x-ferry-file-id']);
    expectError(await patch(id, 500, bytes(10)), 409, 'upload_complete');
    expectError(await patch(id, 0, bytes(500)), 409, 'upload_complete');
    const empty = await patch(id, 500, Buffer.alloc(0));
    expect([empty.statusCode, empty.headers['upload-offset']]).toEqual([204, '500']);
    expect(sha256((await download(fileId)).rawPayload)).toBe(sha256(content));
  });

  it('B35: a second upload into a declared file that was already completed is 409 at creation', async () => {
    const content = bytes(100);
    const t = await transfer([{ name: 'once.bin', size: content.length }]);
    const id = idOf(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length));
    expect((await patch(id, 0, content)).statusCode).toBe(204);
    expectError(await create({ transfer_id: t.id, file_id: t.fileIds[0]! }, content.length), 409, 'file_complete');
  });
});

describe('I103 and credentials', () => {
  it('I103: Content-Encoding: gzip on a PATCH or creation-with-upload is 415 and nothing is decompressed', async () => {
    const content = bytes(1000);
    const { id, transferId } = await started(content.length);
    const gz = zlib.gzipSync(content);
    for (const encoding of ['gzip', 'deflate', 'br', 'gzip, identity']) {
      expectError(await patch(id, 0, gz, { 'content-encoding': encoding }), 415, 'unsupported_media_type');
    }
    expect(await offsetOf(id)).toBe(0);
    expectError(await create({ transfer_id: transferId, filename: 'gz.bin' }, content.length, { 'content-encoding': 'gzip' }, bearer(key), gz), 415, 'unsupported_media_type');
    expect(await transferFiles(transferId)).toHaveLength(1);
  });

  it('the upload token works in X-Token, X-Upload-Token and Bearer fyu_ for its own transfer', async () => {
    const content = bytes(300);
    const t = await transfer();
    const ways: HeaderMap[] = [{ 'x-token': t.token }, { 'x-upload-token': t.token }, { authorization: `Bearer ${t.token}` }];
    for (const [i, auth] of ways.entries()) {
      const id = idOf(await create({ transfer_id: t.id, filename: `tok-${i}.bin` }, content.length, {}, auth));
      expect((await head(id, auth)).statusCode).toBe(200);
      const res = await patch(id, 0, content, {}, auth);
      expect(res.statusCode, res.body).toBe(204);
      expect(sha256((await download(String(res.headers['x-ferry-file-id']))).rawPayload)).toBe(sha256(content));
    }
  });

  it("transfer A's upload token cannot create into transfer B nor touch B's uploads (404)", async () => {
    const a = await transfer();
    const b = await transfer([{ name: 'b.bin', size: 100 }]);
    const tokenA = { 'x-token': a.token };
    expectError(await create({ transfer_id: b.id, filename: 'sneak.bin' }, 10, {}, tokenA), 404, 'not_found');
    expectError(await create({ transfer_id: b.id, file_id: b.fileIds[0]! }, 100, {}, tokenA), 404, 'not_found');
    expectError(await create({ transfer_id: a.id, file_id: b.fileIds[0]! }, 100, {}, tokenA), 404, 'not_found');
    const inB = idOf(await create({ transfer_id: b.id, file_id: b.fileIds[0]! }, 100, {}, { 'x-token': b.token }));
    expectHeadStatus(await head(inB, tokenA), 404);
    expectError(await patch(inB, 0, bytes(100), {}, tokenA), 404, 'not_found');
    expectError(await tus('DELETE', `${UPLOADS}/${inB}`, tokenA), 404, 'not_found');
    // An upload made with the owner's key in transfer B is not A's token's either.
    const byKey = idOf(await create({ transfer_id: b.id, filename: 'by-key.bin' }, 10));
    expectHeadStatus(await head(byKey, tokenA), 404);
    expect(await offsetOf(inB)).toBe(0);
    expect(await transferFiles(a.id)).toHaveLength(0);
  });

  it("another account's uploads and transfers are 404", async () => {
    const { id, transferId } = await started(100);
    expectHeadStatus(await head(id, bearer(other)), 404);
    expectError(await patch(id, 0, bytes(100), {}, bearer(other)), 404, 'not_found');
    expectError(await tus('DELETE', `${UPLOADS}/${id}`, bearer(other)), 404, 'not_found');
    expectError(await tus('POST', `${UPLOADS}/${id}`, { ...bearer(other), 'x-http-method-override': 'DELETE' }), 404, 'not_found');
    expectError(await create({ transfer_id: transferId, filename: 'x.bin' }, 10, {}, bearer(other)), 404, 'not_found');
    expect(await offsetOf(id)).toBe(0);
  });

  it('no or bad credentials are 401', async () => {
    const { id } = await started(100);
    expectError(await tus('POST', UPLOADS, { 'upload-length': '1' }), 401, 'missing_token');
    expectHeadStatus(await head(id, {}), 401);
    const bad = await patch(id, 0, bytes(10), {}, { 'x-token': 'fyu_nope' });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toMatch(/^(invalid_token|token_revoked)$/);
    expect(await offsetOf(id)).toBe(0);
  });
});

describe('expiry (C48)', () => {
  let e: Harness;
  let ekey: string;
  beforeAll(async () => {
    e = await startHarness({ FERRY_UPLOAD_EXPIRY: '3600' });
    ({ key: ekey } = await createAccount(e.app, 'tus-expiry@example.com'));
  });
  afterAll(() => e?.close());

  it('HEAD and PATCH of an unfinished upload after FERRY_UPLOAD_EXPIRY are 410; a finished one still answers', async () => {
    const t = expectData(await createTransfer(e.app, ekey, { title: 'exp', files: [] }), 201);
    const post = (length: number) =>
      e.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...bearer(ekey), 'upload-length': String(length), 'upload-metadata': metadata({ transfer_id: t.id, filename: `e${length}.bin` }) } });
    const pending = idOf(await post(100));
    const finished = idOf(await post(10));
    const p = (id: string, body: Buffer) => e.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey), ...OCTET, 'upload-offset': '0' }, payload: body });
    expect((await p(pending, bytes(0))).statusCode).toBe(204);
    expect((await p(finished, bytes(10))).statusCode).toBe(204);
    e.clock.advance(3601 * 1000);
    const hd = await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${pending}`, headers: { ...V, ...bearer(ekey) } });
    expect(hd.statusCode).toBe(410);
    expectError(await p(pending, bytes(10)), 410, 'upload_expired');
    const ok = await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${finished}`, headers: { ...V, ...bearer(ekey) } });
    expect([ok.statusCode, ok.headers['upload-offset']]).toEqual([200, '10']);
  });

  it('a finished partial upload never joined expires too, and the sweep removes its bytes', async () => {
    const res = await e.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...bearer(ekey), 'upload-length': '10', 'upload-concat': 'partial' } });
    const id = idOf(res);
    const p = await e.app.inject({ method: 'PATCH', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey), ...OCTET, 'upload-offset': '0' }, payload: bytes(10) });
    expect(p.statusCode).toBe(204);
    const dir = path.join((e.stores.defaultStore as LocalBlobStore).root, '.tus');
    expect(await readdir(dir)).toContain(id);
    e.clock.advance(3601 * 1000);
    expect((await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey) } })).statusCode).toBe(410);
    const t = expectData(await createTransfer(e.app, ekey, { title: 'late', files: [] }), 201);
    const final = await e.app.inject({
      method: 'POST',
      url: UPLOADS,
      headers: { ...V, ...bearer(ekey), 'upload-concat': `final;${UPLOADS}/${id}`, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'late.bin' }) },
    });
    expectError(final, 410, 'upload_expired');
    await e.app.services.uploadCleanup.sweep();
    expect(await readdir(dir)).not.toContain(id);
    expect((await e.app.inject({ method: 'HEAD', url: `${UPLOADS}/${id}`, headers: { ...V, ...bearer(ekey) } })).statusCode).toBe(404);
  });
});
