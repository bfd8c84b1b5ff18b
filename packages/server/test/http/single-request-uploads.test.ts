import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { blobKeys } from '../support/stored-blobs.ts';

/** PUT / and PUT /:name (curl -T): one request makes a ready transfer. docs/security-checklist.md A, B20, B21, F, I103, I106. */

const PLAN_BYTES = 1024 * 1024;
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(PLAN_BYTES), FERRY_MAX_EXPIRY_DAYS: '30' });
  ({ key } = await createAccount(h.app, 'curl@example.com'));
});
afterAll(() => h.close());

function put(url: string, payload: Buffer | string | Readable, headers: Record<string, string> = {}, as = key) {
  return h.app.inject({ method: 'PUT', url, headers: { ...bearer(as), ...headers }, payload });
}

async function transferCount(as = key): Promise<number> {
  const res = await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(as) });
  return expectData(res) && res.json().pagination.total;
}

/** Stored blobs of finished files: none may be left behind by a refused upload. */
async function storedBlobs(): Promise<number> {
  return (await blobKeys(h.stores, 'files')).length;
}

async function expectNothingCreated(action: () => Promise<unknown>) {
  const [transfers, blobs] = [await transferCount(), await storedBlobs()];
  await action();
  expect(await transferCount()).toBe(transfers);
  expect(await storedBlobs()).toBe(blobs);
}

describe('PUT /:name answers the public link', () => {
  it('creates a ready transfer titled with the name, holding the file; text/plain link and X-Ferry-Transfer-Id', async () => {
    const content = bytes(50_000);
    const res = await put('/report.pdf', content, { 'content-type': 'application/pdf' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(new RegExp(`^${h.config.publicUrl}/t/[A-Za-z0-9]{22}\n$`));
    const id = res.headers['x-ferry-transfer-id'] as string;
    expect(id).toMatch(/^tr_/);

    const transfer = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${id}`, headers: bearer(key) }));
    expect(transfer).toMatchObject({ title: 'report.pdf', state: 'ready', file_count: 1, size: content.length, url: res.body.trim() });
    expect(transfer.finalized_at).toEqual(expect.any(String));
    expect(transfer.files[0]).toMatchObject({ name: 'report.pdf', content_type: 'application/pdf', state: 'complete', sha256: sha256(content) });
    // Anyone with the link gets the bytes back.
    const download = await h.app.inject({ method: 'GET', url: `${pathOf(res.body.trim())}/files/${transfer.files[0].id}` });
    expect(download.statusCode).toBe(200);
    expect(sha256(download.rawPayload)).toBe(sha256(content));
  });

  it('Accept: application/json answers 201 with the transfer and signed download URLs', async () => {
    const res = await put('/data.csv', 'a,b\n1,2\n', { accept: 'application/json' });
    const data = expectData(res, 201);
    expect(res.headers['x-ferry-transfer-id']).toBe(data.id);
    expect(data).toMatchObject({ title: 'data.csv', state: 'ready', file_count: 1, size: 8 });
    expect(data.files[0]).toMatchObject({ name: 'data.csv', state: 'complete', sha256: sha256('a,b\n1,2\n'), content_type: 'application/octet-stream' });
    expect(data.files[0].download_url).toEqual(expect.stringContaining('signature='));
    expect(data.upload_token).toBeUndefined();
  });

  it('PUT / names the file upload.bin; non-ASCII names arrive percent-encoded; an empty body is a 0-byte file', async () => {
    const plain = expectData(await put('/', 'x', { accept: 'application/json' }), 201);
    expect(plain.files[0].name).toBe('upload.bin');
    const accented = expectData(await put('/r%C3%A9sum%C3%A9%20final.pdf', 'x', { accept: 'application/json' }), 201);
    expect(accented).toMatchObject({ title: 'résumé final.pdf', files: [{ name: 'résumé final.pdf' }] });
    const empty = expectData(await put('/empty.txt', Buffer.alloc(0), { accept: 'application/json' }), 201);
    expect(empty.files[0]).toMatchObject({ size: 0, sha256: sha256('') });
  });

  it('any Content-Type is stored as raw bytes, never parsed', async () => {
    for (const [name, type, body] of [['a.json', 'application/json', '{"not":"parsed"'], ['f.txt', 'multipart/form-data; boundary=x', '--x\r\n'], ['u.txt', 'application/x-www-form-urlencoded', 'a=1&b']]) {
      const data = expectData(await put(`/${name}`, body!, { 'content-type': type!, accept: 'application/json' }), 201);
      expect(data.files[0]).toMatchObject({ name, sha256: sha256(body!) });
    }
  });

  it('a name longer than a title keeps the whole name on the file and a cut title', async () => {
    const name = `${'n'.repeat(190)}.txt`;
    expect(expectData(await put(`/${name}`, 'x', { accept: 'application/json' }), 201).title).toBe(name);
  });

  it.each([
    ['/..%2F..%2Fetc%2Fpasswd', 'traversal'],
    ['/a%2Fb', 'encoded slash'],
    ['/%5C..%5Cwin.ini', 'backslash'],
    ['/invoice%E2%80%AEgpj.exe', 'bidi control'],
    ['/a%00.txt', 'NUL'],
    ['/%20%20', 'whitespace only'],
  ])('A: a bad name (%s, %s) is 400 and creates nothing', async (url) => {
    await expectNothingCreated(async () => expectError(await put(url, 'x'), 400, 'invalid_file_name'));
  });
});

describe('Max-Days and Max-Downloads', () => {
  it('are honoured', async () => {
    const before = Date.now();
    const data = expectData(await put('/kept.txt', 'x', { 'max-days': '3', 'max-downloads': '5', accept: 'application/json' }), 201);
    expect(data.max_downloads).toBe(5);
    const days = (Date.parse(data.expires_at) - before) / 86_400_000;
    expect(days).toBeGreaterThan(2.99);
    expect(days).toBeLessThan(3.01);
  });

  it('beyond the plan is 422 expiry_too_long, with the plan beside the error', async () => {
    await expectNothingCreated(async () => {
      expect(expectError(await put('/long.txt', 'x', { 'max-days': '31' }), 422, 'expiry_too_long')).toMatchObject({ max_expiry_days: 30 });
      expectError(await put('/forever.txt', 'x', { 'max-days': '-1' }), 422, 'expiry_too_long');
    });
  });

  it.each(['0', '1e3', '0x10', '12abc', '1.5', '-2', ' 7 ', '9'.repeat(40), 'abc'])('B20/B21: Max-Days %j is 400', async (value) => {
    await expectNothingCreated(async () => expectError(await put('/x.txt', 'x', { 'max-days': value }), 400, 'validation_failed'));
  });

  it.each(['0', '1e3', '-1', '12abc', '1.5', '9'.repeat(40), '1000001'])('B20/B21: Max-Downloads %j is 400', async (value) => {
    await expectNothingCreated(async () => expectError(await put('/x.txt', 'x', { 'max-downloads': value }), 400, 'validation_failed'));
  });
});

describe('scopes', () => {
  it('needs transfers:write as well as files:write (403), and credentials (401)', async () => {
    const { key: filesOnly } = await createAccount(h.app, 'files-only@example.com', ['files:write', 'transfers:read']);
    const { key: transfersOnly } = await createAccount(h.app, 'transfers-only@example.com', ['transfers:write', 'transfers:read']);
    const needTransfers = expectError(await put('/a.txt', 'x', {}, filesOnly), 403, 'insufficient_scope');
    expect(needTransfers.required_scope).toBe('transfers:write');
    expect(expectError(await put('/a.txt', 'x', {}, transfersOnly), 403, 'insufficient_scope').required_scope).toBe('files:write');
    expectError(await h.app.inject({ method: 'PUT', url: '/a.txt', payload: 'x' }), 401, 'missing_token');
    expectError(await h.app.inject({ method: 'PUT', url: '/', payload: 'x', headers: { authorization: 'Bearer fy_nope' } }), 401, 'invalid_token');
    expect(await transferCount(filesOnly)).toBe(0);
    expect(await transferCount(transfersOnly)).toBe(0);
  });
});

describe('sizes', () => {
  it('a chunked body (no Content-Length) is read whole', async () => {
    const content = bytes(300_000);
    const body = Readable.from([content.subarray(0, 100_000), content.subarray(100_000)]);
    const data = expectData(await put('/streamed.bin', body, { 'transfer-encoding': 'chunked', accept: 'application/json' }), 201);
    expect(data.files[0]).toMatchObject({ size: content.length, sha256: sha256(content) });
  });

  it('B25: a chunked body past the plan\'s transfer size is 413 and creates nothing', async () => {
    await expectNothingCreated(async () => {
      const body = Readable.from([bytes(PLAN_BYTES), bytes(1000)]);
      expect(expectError(await put('/too-big.bin', body, { 'transfer-encoding': 'chunked' }), 413, 'payload_too_large').max_transfer_size).toBe(PLAN_BYTES);
    });
  });

  it('B22: a Content-Length over the plan is 413 before a byte is read', async () => {
    await expectNothingCreated(async () => expectError(await put('/too-big.bin', bytes(PLAN_BYTES + 1)), 413, 'payload_too_large'));
  });

  it('B20: a malformed Content-Length never reaches the handler as a number', async () => {
    await expectNothingCreated(async () => {
      const res = await put('/x.bin', 'abc', { 'content-length': '3abc' });
      expect(res.statusCode).toBe(400);
    });
  });

  it('I103: a compressed body is 415', async () => {
    await expectNothingCreated(async () => expectError(await put('/x.gz', zlib.gzipSync('hello'), { 'content-encoding': 'gzip' }), 415, 'unsupported_media_type'));
  });
});

describe('I106: a body the disk cannot hold', () => {
  let big: Harness;
  let bigKey: string;
  beforeAll(async () => {
    // The local store's disk-full check (object storage reports no free space), so on a local folder on every stack.
    big = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(2 ** 52), FERRY_STORAGE: 'local' });
    ({ key: bigKey } = await createAccount(big.app, 'disk@example.com'));
  });
  afterAll(() => big.close());

  it('is refused with 507 from its Content-Length, before a byte is read', async () => {
    const res = await big.app.inject({ method: 'PUT', url: '/huge.iso', headers: { ...bearer(bigKey), 'content-length': String(2 ** 50) }, payload: Readable.from([bytes(10)]) });
    expectError(res, 507, 'storage_full');
    const list = await big.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(bigKey) });
    expect(list.json().pagination.total).toBe(0);
  });
});
