import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, declaredFile, type DeclaredFile } from '../support/transfers.ts';
import { bytes, expectData, expectError, type Injected } from '../support/http.ts';
import { base64Digest, sha256 } from '../support/hashing.ts';
import { blobKeys, tempBlobCount } from '../support/stored-blobs.ts';

/** Signed part URLs (the WeTransfer flow) through inject(): docs/security-checklist.md B26-B34, D56, F76, I103. */

const PART = 64 * 1024; // FERRY_PART_SIZE's smallest value, so files of a few parts stay small
let h: Harness;
let key: string;
let otherKey: string;

beforeAll(async () => {
  h = await startHarness({
    FERRY_PART_SIZE: String(PART),
    FERRY_RATE_LIMIT_PER_MINUTE: '100000',
    // Parts below S3's 5 MiB minimum: Ferry's own part protocol, on the local store on both stacks.
    // The S3 flow (presigned UploadPart URLs straight to the bucket) is test/e2e/s3-signed-parts.test.ts.
    FERRY_STORAGE: 'local',
  });
  ({ key } = await createAccount(h.app, 'parts@example.com'));
  ({ key: otherKey } = await createAccount(h.app, 'other-parts@example.com'));
});
afterAll(() => h.close());

type Declared = Pick<DeclaredFile, 'transferId' | 'fileId'>;

const declared = (size: number, name?: string) => declaredFile(h.app, key, { size, name, title: 'parts' });

const base = (d: Declared) => `/api/v1/transfers/${d.transferId}/files/${d.fileId}`;
const getUrl = (d: Declared, part: string | number, as = key) => h.app.inject({ method: 'GET', url: `${base(d)}/upload-url/${part}`, headers: bearer(as) });

const signedUrl = async (d: Declared, part: number): Promise<string> => pathOf(expectData(await getUrl(d, part)).url);
/** PUT to a path (a signed URL's path and query, or a bare part path with `headers` credentials). */
const put = (url: string, body: Buffer | Readable, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'PUT', url, headers: { 'content-type': 'application/octet-stream', ...headers }, payload: body });

const putSigned = async (d: Declared, part: number, body: Buffer, headers: Record<string, string> = {}) => put(await signedUrl(d, part), body, headers);

/** upload-complete; a `payload` goes as JSON (a string as is), none sends no body at all. */
function complete(d: Declared, payload?: unknown, as = key, headers: Record<string, string> = {}) {
  const body = payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) };
  const type = payload === undefined ? {} : { 'content-type': 'application/json' };
  return h.app.inject({ method: 'PUT', url: `${base(d)}/upload-complete`, headers: { ...bearer(as), ...type, ...headers }, ...body });
}

const finalize = (d: Declared) => h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${d.transferId}/finalize`, headers: bearer(key) });
const slice = (content: Buffer, part: number) => content.subarray((part - 1) * PART, part * PART);
const storedParts = async (d: Declared) => (await h.app.services.parts.list(d.fileId)).map((p) => p.part_number);

/** A body without Content-Length (chunked), in two pieces. */
const chunked = (content: Buffer) => Readable.from([content.subarray(0, 1000), content.subarray(1000)]);

async function uploadAll(d: Declared, content: Buffer, order: number[]): Promise<void> {
  for (const n of order) expect(expectData(await putSigned(d, n, slice(content, n)))).toEqual({ part_number: n, size: slice(content, n).length });
}

describe('upload-url', () => {
  it('a pending file shows multipart; each part gets a signed URL on the public origin valid for one hour', async () => {
    const d = await declared(2 * PART + 1000);
    expect(d.file.multipart).toEqual({ part_numbers: 3, chunk_size: PART });
    const data = expectData(await getUrl(d, 3));
    expect(data.part_number).toBe(3);
    expect(data.url).toMatch(new RegExp(`^${h.config.publicUrl}${base(d)}/parts/3\\?expires=\\d+&signature=[A-Za-z0-9_-]{43}$`));
    const ttl = Date.parse(data.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
  });

  it('B27: part 0 is 417 "Chunk numbers are 1-based", by URL request and by PUT', async () => {
    const d = await declared(PART);
    expect(expectError(await getUrl(d, 0), 417, 'invalid_part_number').error.message).toBe('Chunk numbers are 1-based');
    expectError(await put(`${base(d)}/parts/0`, bytes(PART), bearer(key)), 417, 'invalid_part_number');
  });

  it('B28: a part past part_numbers, -1, 1.5, 01, 1e1 and other non-plain numbers are 400', async () => {
    const d = await declared(2 * PART + 1);
    for (const part of ['4', '-1', '1.5', '01', '1e1', '00', '+1', '%201', '0x1', 'abc', '1_000', '9'.repeat(30)]) {
      expectError(await getUrl(d, part), 400, 'invalid_part_number');
      expectError(await put(`${base(d)}/parts/${part}`, bytes(10), bearer(key)), 400, 'invalid_part_number');
    }
    expect(expectData(await getUrl(d, 3)).part_number).toBe(3);
  });

  it('D55/D56: another account\'s file, and a file under another transfer\'s path, are 404 everywhere', async () => {
    const d = await declared(PART);
    const mine = await declared(PART);
    const crossed = { ...d, transferId: mine.transferId };
    for (const res of [
      await getUrl(d, 1, otherKey),
      await put(`${base(d)}/parts/1`, bytes(PART), bearer(otherKey)),
      await complete(d, undefined, otherKey),
      await getUrl(crossed, 1),
      await put(`${base(crossed)}/parts/1`, bytes(PART), bearer(key)),
      await complete(crossed),
      // A valid signature of d's part, sent under another transfer's path.
      await put((await signedUrl(d, 1)).replace(d.transferId, mine.transferId), bytes(PART)),
    ]) {
      expectError(res, 404, 'not_found');
    }
  });
});

describe('part PUT', () => {
  it('B31/B30: parts out of order and one retried; complete joins them in order; finalize and download work', async () => {
    const content = bytes(2 * PART + 1000);
    const d = await declared(content.length);
    expectData(await putSigned(d, 3, slice(content, 3)));
    expectData(await putSigned(d, 1, bytes(PART))); // wrong bytes first, then the retry replaces them
    expect(expectData(await putSigned(d, 1, slice(content, 1)))).toEqual({ part_number: 1, size: PART });
    expectData(await putSigned(d, 2, slice(content, 2)));
    expect(await storedParts(d)).toEqual([1, 2, 3]);
    const done = expectData(await complete(d));
    expect(done).toEqual({
      id: d.fileId, name: 'f.bin', size: content.length, part_numbers: 3, chunk_size: PART, retries: 0, state: 'complete',
      sha256: sha256(content), crc32: (zlib.crc32(content) >>> 0).toString(16).padStart(8, '0'),
    });
    expect(await storedParts(d)).toEqual([]);
    expect(expectData(await finalize(d)).state).toBe('ready');
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/files/${d.fileId}/download`, headers: bearer(key) });
    expect(sha256(res.rawPayload)).toBe(sha256(content));
  });

  it('B31: parts PUT in parallel are all kept', async () => {
    const content = bytes(5 * PART);
    const d = await declared(content.length);
    const urls = await Promise.all([1, 2, 3, 4, 5].map((n) => signedUrl(d, n)));
    const results = await Promise.all(urls.map((url, i) => put(url, slice(content, i + 1))));
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(expectData(await complete(d)).sha256).toBe(sha256(content));
  });

  it('an owner\'s key without a signature works too; no credentials and no signature is 401', async () => {
    const content = bytes(1234);
    const d = await declared(content.length);
    expectError(await put(`${base(d)}/parts/1`, content), 401, 'missing_token');
    expect(expectData(await put(`${base(d)}/parts/1`, content, bearer(key)))).toEqual({ part_number: 1, size: 1234 });
  });

  it('B29: a part longer than its size is 413, shorter is 400 size_mismatch (with and without Content-Length); nothing is kept', async () => {
    const d = await declared(2 * PART + 1000);
    const cases: [number, number, number, string][] = [
      [1, PART + 1, 413, 'payload_too_large'], [1, PART - 1, 400, 'size_mismatch'],
      [3, 1001, 413, 'payload_too_large'], [3, 999, 400, 'size_mismatch'], [3, PART, 413, 'payload_too_large'],
    ];
    for (const [part, size, status, code] of cases) {
      expectError(await putSigned(d, part, bytes(size)), status, code);
      expectError(await put(await signedUrl(d, part), chunked(bytes(size)), { 'transfer-encoding': 'chunked' }), status, code);
    }
    expect(await storedParts(d)).toEqual([]);
    expect(await tempBlobCount(h.stores)).toBe(0);
    // A refused retry leaves the good copy of the part in place.
    const good = bytes(PART);
    expectData(await putSigned(d, 1, good));
    expectError(await putSigned(d, 1, bytes(PART - 5)), 400, 'size_mismatch');
    expect((await h.app.services.parts.list(d.fileId)).map((p) => p.size)).toEqual([PART]);
  });

  it('Content-MD5 and Content-Digest are checked: a mismatch is 400 checksum_mismatch and nothing is kept', async () => {
    const d = await declared(PART);
    const content = bytes(PART);
    expectError(await putSigned(d, 1, content, { 'content-md5': base64Digest('md5', bytes(16)) }), 400, 'checksum_mismatch');
    expectError(await putSigned(d, 1, content, { 'content-digest': `sha-256=:${base64Digest('sha256', bytes(16))}:` }), 400, 'checksum_mismatch');
    expectError(await putSigned(d, 1, content, { 'content-md5': 'not base64!' }), 400, 'invalid_checksum');
    expect(await storedParts(d)).toEqual([]);
    expectData(await putSigned(d, 1, content, { 'content-md5': base64Digest('md5', content), 'content-digest': `sha-256=:${base64Digest('sha256', content)}:` }));
    expect(expectData(await complete(d)).sha256).toBe(sha256(content));
  });

  it('I103: a compressed body is 415 and not decompressed', async () => {
    const d = await declared(PART);
    for (const encoding of ['gzip', 'deflate', 'br']) {
      expectError(await putSigned(d, 1, zlib.gzipSync(bytes(PART)), { 'content-encoding': encoding }), 415, 'unsupported_media_type');
    }
    expect(await storedParts(d)).toEqual([]);
  });

  it('F76: a tampered, transplanted, expired or download signature is 403 invalid_signature', async () => {
    const d = await declared(2 * PART);
    const other = await declared(PART);
    const url = await signedUrl(d, 1);
    const signature = new URL(url, 'http://x').searchParams.get('signature')!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
    const past = Math.floor(Date.now() / 1000) - 10;
    const signer = h.app.services.signer;
    const forged = [
      url.replace(signature, flipped),
      url.replace('/parts/1?', '/parts/2?'),
      url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 1}`),
      `${base(other)}/parts/1?${url.split('?')[1]}`,
      `${base(d)}/parts/1?expires=${past}&signature=${signer.signPart(d.fileId, 1, past)}`,
      `${base(d)}/parts/1?expires=${past + 3600}&signature=${signer.signDownload(d.fileId, past + 3600)}`,
      `${base(d)}/parts/1?expires=abc&signature=${signature}`,
    ];
    for (const forgedUrl of forged) expectError(await put(forgedUrl, bytes(PART)), 403, 'invalid_signature');
    h.clock.advance(3601_000);
    const late = await put(url, bytes(PART)).finally(() => h.clock.advance(-3601_000));
    expectError(late, 403, 'invalid_signature');
    expect(expectData(await put(url, bytes(PART))).part_number).toBe(1);
  });
});

describe('upload-complete', () => {
  it('B26: missing parts are 409 parts_missing in WeTransfer\'s words, listed in missing_parts; the file stays pending', async () => {
    const content = bytes(4 * PART + 10);
    const d = await declared(content.length);
    await uploadAll(d, content, [4, 1, 2]);
    const body = expectError(await complete(d), 409, 'parts_missing');
    expect(body.error.message).toBe('Chunks 3, 5 are still missing');
    expect(body.missing_parts).toEqual([3, 5]);
    expectError(await finalize(d), 409, 'files_incomplete');
    await uploadAll(d, content, [5, 3]);
    expect(expectData(await complete(d)).sha256).toBe(sha256(content));
  });

  it('B32: part_numbers, when sent, must equal the part count and be a plain integer; an empty JSON body is fine', async () => {
    const content = bytes(2 * PART + 7);
    const d = await declared(content.length);
    await uploadAll(d, content, [1, 2, 3]);
    expectError(await complete(d, { part_numbers: 2 }), 400, 'invalid_part_numbers');
    expectError(await complete(d, { part_numbers: 4 }), 400, 'invalid_part_numbers');
    for (const bad of [{ part_numbers: '3' }, { part_numbers: 3.5 }, { part_numbers: 3, state: 'complete' }, [3]]) {
      expectError(await complete(d, bad), 400, 'validation_failed');
    }
    expectError(await complete(d, '{"part_numbers":'), 400, 'invalid_json');
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      expectError(await complete(d, 'part_numbers=3', key, { 'content-type': type }), 415, 'unsupported_media_type');
    }
    expect(expectData(await complete(d, { part_numbers: 3 })).state).toBe('complete');
    expect(expectData(await complete(d, '')).sha256).toBe(sha256(content));
  });

  it('a part total different from the declared size is 400 size_mismatch (parts stored by another flow)', async () => {
    const d = await declared(2 * PART);
    const file = (await h.repositories.files.findById(d.fileId))!;
    expectData(await putSigned(d, 1, bytes(PART)));
    await h.app.services.parts.storePart(file, 2, Readable.from([bytes(PART - 100)]), { maxSize: PART });
    expect(expectError(await complete(d), 400, 'size_mismatch')).toMatchObject({ declared_size: 2 * PART, received_size: 2 * PART - 100 });
  });

  it('a complete file: same 200 again (also after finalize); no more URLs or parts (409 file_complete)', async () => {
    const content = bytes(PART + 1);
    const d = await declared(content.length);
    const early = await signedUrl(d, 1);
    await uploadAll(d, content, [2, 1]);
    const first = expectData(await complete(d));
    expect(expectData(await complete(d))).toEqual(first);
    expectError(await getUrl(d, 1), 409, 'file_complete');
    expectError(await put(early, slice(content, 1)), 409, 'file_complete');
    expectData(await finalize(d));
    expect(expectData(await complete(d, { part_numbers: 2 }))).toEqual(first);
    expectError(await complete(d, { part_numbers: 1 }), 400, 'invalid_part_numbers');
  });

  it('B33: concurrent upload-complete calls all answer 200 with one state change', async () => {
    const content = bytes(6 * PART + 3);
    const d = await declared(content.length);
    await uploadAll(d, content, [7, 6, 5, 4, 3, 2, 1]);
    const before = (await blobKeys(h.stores, 'files')).length;
    const results: Injected[] = await Promise.all([complete(d), complete(d), complete(d, { part_numbers: 7 })]);
    const views = results.map((r) => expectData(r));
    expect(new Set(views.map((v) => JSON.stringify(v))).size).toBe(1);
    expect(views[0].sha256).toBe(sha256(content));
    expect((await blobKeys(h.stores, 'files')).length).toBe(before + 1);
    expect(await storedParts(d)).toEqual([]);
    const row = (await h.repositories.files.findById(d.fileId))!;
    expect(row.completed_at).not.toBeNull();
  });

  it('a zero-byte file has no parts and completes with none; then the transfer finalizes', async () => {
    const d = await declared(0, 'empty.txt');
    expect(d.file.multipart).toEqual({ part_numbers: 0, chunk_size: PART });
    expectError(await getUrl(d, 1), 400, 'invalid_part_number');
    expect(expectData(await complete(d, { part_numbers: 0 }))).toMatchObject({ size: 0, part_numbers: 0, state: 'complete', sha256: sha256('') });
    expect(expectData(await finalize(d)).files[0].state).toBe('complete');
  });

  it('B34: a finalized transfer refuses URLs, parts and completion of its files (409 transfer_finalized)', async () => {
    const t = await createTransfer(h.app, key, { title: 'two', files: [{ name: 'a.bin', size: 10 }, { name: 'b.bin', size: 10 }] });
    const a: Declared = { transferId: t.id, fileId: t.files[0].id };
    const b: Declared = { transferId: t.id, fileId: t.files[1].id };
    const aUrl = await signedUrl(a, 1);
    expectData(await putSigned(a, 1, bytes(10)));
    expectData(await complete(a));
    const bUrl = await signedUrl(b, 1);
    // b is removed so the transfer can be finalized with a alone; its URL must then die too.
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/files/${b.fileId}`, headers: bearer(key) })).statusCode).toBe(204);
    expectData(await finalize(a));
    expectError(await getUrl(a, 1), 409, 'transfer_finalized');
    expectError(await put(`${base(a)}/parts/1`, bytes(10), bearer(key)), 409, 'transfer_finalized');
    expectError(await put(aUrl, bytes(10)), 409, 'transfer_finalized');
    expectError(await put(bUrl, bytes(10)), 404, 'not_found');
  });
});
