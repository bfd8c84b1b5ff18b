import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, putContent } from '../support/http.ts';
import { base64Digest, sha256 } from '../support/hashing.ts';

/** POST /api/v1/upload-chunk, the Trinsfer flow: docs/security-checklist.md B20, B21, B30, B31, B34, I103, I106 and D (tokens). */

const PLAN_BYTES = 4 * 1024 * 1024 * 1024 * 1024 * 1024; // 4 PiB: larger than any test disk, so 507 is reachable
let h: Harness;
let key: string;
let other: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(PLAN_BYTES) });
  ({ key } = await createAccount(h.app, 'chunks@example.com'));
  ({ key: other } = await createAccount(h.app, 'chunks-other@example.com'));
});
afterAll(() => h.close());

/** A fresh open transfer; answers its id and upload token. */
async function openTransfer(body: Record<string, unknown> = {}, as = key) {
  const t = await createTransfer(h.app, as, { title: 'chunks', ...body });
  return { id: t.id as string, token: t.upload_token as string, files: t.files as { id: string }[] };
}

interface ChunkHeaders {
  token?: string;
  fileId: string;
  index: number | string;
  total: number | string;
  name?: string;
  size?: number | string;
  extra?: Record<string, string>;
}

function sendChunk(c: ChunkHeaders, body: Buffer | string, to: Harness = h) {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'x-file-id': c.fileId, 'x-chunk-index': String(c.index), 'x-total-chunks': String(c.total) };
  if (c.token !== undefined) headers['x-token'] = c.token;
  if (c.name !== undefined) headers['x-file-name'] = c.name;
  if (c.size !== undefined) headers['x-file-size'] = String(c.size);
  return to.app.inject({ method: 'POST', url: '/api/v1/upload-chunk', headers: { ...headers, ...c.extra }, payload: body });
}

/** Sends every chunk of `content` (cut into `total` near-equal pieces) in order; answers the last receipt. */
async function sendAll(base: Omit<ChunkHeaders, 'index' | 'total'>, content: Buffer, total: number) {
  const size = Math.ceil(content.length / total);
  let last: any;
  for (let i = 0; i < total; i++) last = expectData(await sendChunk({ ...base, index: i, total, size: content.length }, content.subarray(i * size, (i + 1) * size)));
  return last;
}

const getTransfer = async (id: string, as = key) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${id}`, headers: bearer(as) }));
const downloadSha = async (fileId: string) => {
  const res = await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: bearer(key) });
  expect(res.statusCode).toBe(200);
  return sha256(res.rawPayload);
};

describe('one file by chunks', () => {
  it('retried and out-of-order chunks assemble into the right bytes; the transfer turns ready without finalize', async () => {
    const { id, token } = await openTransfer();
    const content = bytes(10_000);
    const piece = (i: number) => content.subarray(i * 2500, (i + 1) * 2500);
    const base = { token, fileId: '11111111-2222-3333-4444-555555555555', total: 4, name: 'r%C3%A9sum%C3%A9.pdf', size: content.length };

    const first = expectData(await sendChunk({ ...base, index: 2 }, piece(2)));
    expect(first).toMatchObject({ chunk_index: 2, received_chunks: 1, total_chunks: 4, file_state: 'pending', transfer_state: 'uploading', client_file_id: base.fileId });
    expect(first.file_id).toMatch(/^fl_/);
    expect(first.sha256).toBeUndefined();
    // Index 0 first with the wrong bytes, then again with the right ones: the retry replaces it.
    expect(expectData(await sendChunk({ ...base, index: 0 }, bytes(2500))).received_chunks).toBe(2);
    expect(expectData(await sendChunk({ ...base, index: 0 }, piece(0))).received_chunks).toBe(2);
    expect(expectData(await sendChunk({ ...base, index: 3 }, piece(3))).received_chunks).toBe(3);
    const done = expectData(await sendChunk({ ...base, index: 1 }, piece(1)));
    expect(done).toMatchObject({ file_id: first.file_id, received_chunks: 4, file_state: 'complete', transfer_state: 'ready', sha256: sha256(content) });

    const transfer = await getTransfer(id);
    expect(transfer).toMatchObject({ state: 'ready', file_count: 1, size: content.length });
    expect(transfer.finalized_at).toEqual(expect.any(String));
    expect(transfer.files[0]).toMatchObject({ id: first.file_id, name: 'résumé.pdf', state: 'complete', sha256: sha256(content) });
    expect(await downloadSha(first.file_id)).toBe(sha256(content));
    // The chunks are gone once joined.
    expect(await h.repositories.uploadParts.list(first.file_id)).toEqual([]);
  });

  it('any Content-Type is taken as raw bytes', async () => {
    const { token } = await openTransfer();
    const body = '{"not": "parsed"';
    const done = expectData(await sendChunk({ token, fileId: 'json', index: 0, total: 1, name: 'j.json', size: body.length, extra: { 'content-type': 'application/json' } }, body));
    expect(done).toMatchObject({ file_state: 'complete', sha256: sha256(body) });
  });

  it('a zero-byte file is one empty chunk', async () => {
    const { token } = await openTransfer();
    const done = expectData(await sendChunk({ token, fileId: 'empty', index: 0, total: 1, name: 'empty.txt', size: 0 }, Buffer.alloc(0)));
    expect(done).toMatchObject({ file_state: 'complete', transfer_state: 'ready', sha256: sha256('') });
  });

  it('an API key (files:write) names the transfer with X-Transfer-Id; without it the request is 400', async () => {
    const { id } = await openTransfer();
    const content = bytes(3000);
    const done = await sendAll({ fileId: 'by-key', name: 'k.bin', extra: { ...bearer(key), 'x-transfer-id': id } }, content, 2);
    expect(done).toMatchObject({ file_state: 'complete', transfer_state: 'ready', sha256: sha256(content) });
    expectError(await sendChunk({ fileId: 'x', index: 0, total: 1, name: 'x', size: 1, extra: bearer(key) }, 'x'), 400, 'missing_transfer_id');
  });

  it('chunks that do not add up to X-File-Size are 400 size_mismatch and kept; resending the wrong one completes the file', async () => {
    const { token } = await openTransfer();
    const content = bytes(100);
    const base = { token, fileId: 'sum', total: 2, name: 'sum.bin', size: 100 };
    expectData(await sendChunk({ ...base, index: 0 }, content.subarray(0, 60)));
    const wrong = expectError(await sendChunk({ ...base, index: 1 }, bytes(30)), 400, 'size_mismatch');
    expect(wrong).toMatchObject({ declared_size: 100, received_size: 90 });
    const done = expectData(await sendChunk({ ...base, index: 1 }, content.subarray(60)));
    expect(done).toMatchObject({ file_state: 'complete', sha256: sha256(content) });
  });

  it('a chunk larger than its file is 413; nothing is stored for it', async () => {
    const { token } = await openTransfer();
    const base = { token, fileId: 'big', total: 2, name: 'big.bin', size: 50 };
    expectData(await sendChunk({ ...base, index: 0 }, bytes(25)));
    expectError(await sendChunk({ ...base, index: 1 }, bytes(51)), 413, 'payload_too_large');
    expect(expectData(await sendChunk({ ...base, index: 1 }, bytes(25))).file_state).toBe('complete');
  });

  it('the chunks together never hold more than the file: past it a chunk is 413 and nothing is stored; a re-sent index replaces its copy', async () => {
    const { token, id } = await openTransfer();
    const content = bytes(1000);
    const base = { token, fileId: 'filled', total: 50, name: 'filled.bin', size: 1000 };
    expectData(await sendChunk({ ...base, index: 0 }, bytes(1000)));
    for (const index of [1, 2, 49]) expectError(await sendChunk({ ...base, index }, bytes(1000)), 413, 'payload_too_large');
    expectError(await sendChunk({ ...base, index: 1 }, bytes(1)), 413, 'payload_too_large');
    // Chunk 0 again, smaller: it replaces the first copy, which frees room for the others.
    expectData(await sendChunk({ ...base, index: 0 }, content.subarray(0, 20)));
    for (let index = 1; index < 50; index++) expectData(await sendChunk({ ...base, index }, content.subarray(index * 20, index * 20 + 20)));
    const [file] = (await getTransfer(id)).files;
    expect(file).toMatchObject({ state: 'complete', size: 1000, sha256: sha256(content) });
  });

  it('I106: a file the disk cannot hold is refused at its first chunk (507)', async () => {
    // The local store's disk-full check (object storage reports no free space), so on a local folder on every stack.
    const disk = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(PLAN_BYTES), FERRY_STORAGE: 'local' });
    try {
      const { key: diskKey } = await createAccount(disk.app, 'chunks-disk@example.com');
      const t = await createTransfer(disk.app, diskKey, { title: 'chunks' });
      expectError(await sendChunk({ token: t.upload_token, fileId: 'huge', index: 0, total: 2, name: 'huge.bin', size: 2 ** 50 }, bytes(10), disk), 507, 'storage_full');
      expect(expectData(await disk.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}`, headers: bearer(diskKey) })).files).toEqual([]);
    } finally {
      await disk.close();
    }
  });

  it('I103: compressed bodies are 415', async () => {
    const { token } = await openTransfer();
    const gz = zlib.gzipSync(bytes(100));
    expectError(await sendChunk({ token, fileId: 'gz', index: 0, total: 1, name: 'gz.bin', size: 100, extra: { 'content-encoding': 'gzip' } }, gz), 415, 'unsupported_media_type');
  });
});

describe('header values (B20, B21)', () => {
  const BAD = ['1e3', '0x10', ' 12 ', '12abc', '-1', '1.5', '+5', '1_000', '9'.repeat(40), '9007199254740993'];

  it.each(['x-chunk-index', 'x-total-chunks', 'x-file-size'])('%s must be digits only, a safe integer', async (header) => {
    const { id, token } = await openTransfer();
    for (const value of BAD) {
      const res = await sendChunk({ token, fileId: 'n', index: 0, total: 2, name: 'n.bin', size: 10, extra: { [header]: value } }, bytes(5));
      expectError(res, 400, 'validation_failed');
    }
    expect((await getTransfer(id)).files).toEqual([]);
  });

  it('index must be below total; total is 1 to 100000', async () => {
    const { id, token } = await openTransfer();
    const base = { token, fileId: 'r', name: 'r.bin', size: 10 };
    expectError(await sendChunk({ ...base, index: 2, total: 2 }, bytes(5)), 400, 'validation_failed');
    expectError(await sendChunk({ ...base, index: 0, total: 0 }, bytes(5)), 400, 'validation_failed');
    expectError(await sendChunk({ ...base, index: 0, total: 100_001 }, bytes(5)), 400, 'validation_failed');
    expect((await getTransfer(id)).files).toEqual([]);
  });

  it('X-File-Id, X-File-Name and X-Transfer-Id are checked too', async () => {
    const { token } = await openTransfer();
    const ok = { token, index: 0, total: 1, size: 1 };
    expectError(await sendChunk({ ...ok, fileId: 'a/b', name: 'a' }, 'x'), 400, 'validation_failed');
    expectError(await sendChunk({ ...ok, fileId: 'x'.repeat(65), name: 'a' }, 'x'), 400, 'validation_failed');
    expectError(await sendChunk({ ...ok, fileId: 'n1', name: '..%2Fetc%2Fpasswd' }, 'x'), 400, 'invalid_file_name');
    expectError(await sendChunk({ ...ok, fileId: 'n2', name: '%E2%80%AEgpj.exe' }, 'x'), 400, 'invalid_file_name');
    expectError(await sendChunk({ ...ok, fileId: 'n3', name: '100%.txt' }, 'x'), 400, 'invalid_file_name');
    expectError(await sendChunk({ ...ok, fileId: 'n4' }, 'x'), 400, 'validation_failed');
    expectError(await sendChunk({ ...ok, fileId: 'n5', name: 'a', extra: { 'x-transfer-id': 'tr_nope' } }, 'x'), 400, 'validation_failed');
    expect(expectData(await sendChunk({ ...ok, fileId: 'n6', name: '100%25.txt' }, 'x'))).toMatchObject({ file_state: 'complete' });
  });
});

describe('every chunk agrees with the first (409 chunk_mismatch)', () => {
  it('a different name, size or total is refused; the file is untouched', async () => {
    const { token } = await openTransfer();
    const base = { token, fileId: 'mm', index: 0, total: 2, name: 'a.bin', size: 100 };
    expectData(await sendChunk(base, bytes(50)));
    expectError(await sendChunk({ ...base, index: 1, name: 'b.bin' }, bytes(50)), 409, 'chunk_mismatch');
    expectError(await sendChunk({ ...base, index: 1, size: 101 }, bytes(50)), 409, 'chunk_mismatch');
    expectError(await sendChunk({ ...base, index: 1, total: 3 }, bytes(50)), 409, 'chunk_mismatch');
    expect(expectData(await sendChunk({ ...base, index: 1 }, bytes(50))).file_state).toBe('complete');
  });
});

describe('tokens and transfers (checklist D, B34)', () => {
  it('an unknown, malformed or rotated token is 401', async () => {
    const { id, token } = await openTransfer();
    const base = { fileId: 't', index: 0, total: 2, name: 't.bin', size: 10 };
    expectError(await sendChunk({ ...base, token: `fyu_${'A'.repeat(40)}` }, bytes(5)), 401, 'invalid_token');
    expectError(await sendChunk({ ...base, token: 'dta1c9ir' }, bytes(5)), 401, 'invalid_token');
    expectError(await sendChunk(base, bytes(5)), 401, 'missing_token');
    const rotated = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${id}/upload-token`, headers: bearer(key) })).upload_token;
    expectError(await sendChunk({ ...base, token }, bytes(5)), 401, 'invalid_token');
    expect(expectData(await sendChunk({ ...base, token: rotated }, bytes(5))).received_chunks).toBe(1);
  });

  it('the token of transfer A cannot touch transfer B, by X-Transfer-Id or by a declared fl_ id', async () => {
    const a = await openTransfer();
    const b = await openTransfer({ files: [{ name: 'b.bin', size: 10 }] }, other);
    const base = { token: a.token, index: 0, total: 1, size: 10 };
    expectError(await sendChunk({ ...base, fileId: 'z', name: 'z.bin', extra: { 'x-transfer-id': b.id } }, bytes(10)), 404, 'not_found');
    expectError(await sendChunk({ ...base, fileId: b.files[0]!.id, name: 'b.bin' }, bytes(10)), 404, 'not_found');
    // Nor can the other account's API key name A.
    expectError(await sendChunk({ fileId: 'z', index: 0, total: 1, name: 'z.bin', size: 10, extra: { ...bearer(other), 'x-transfer-id': a.id } }, bytes(10)), 404, 'not_found');
    const bAfter = await getTransfer(b.id, other);
    expect(bAfter.files[0]).toMatchObject({ state: 'pending', sha256: null });
    expect((await getTransfer(a.id)).files).toEqual([]);
  });

  it('B34: a ready transfer refuses chunks (409), however it became ready', async () => {
    const byChunks = await openTransfer();
    await sendAll({ token: byChunks.token, fileId: 'one', name: 'one.bin' }, bytes(100), 1);
    expectError(await sendChunk({ token: byChunks.token, fileId: 'two', index: 0, total: 1, name: 'two.bin', size: 1 }, 'x'), 409, 'transfer_finalized');
    expectError(await sendChunk({ token: byChunks.token, fileId: 'one', index: 0, total: 1, name: 'one.bin', size: 100 }, bytes(100)), 409, 'transfer_finalized');

    const finalized = await openTransfer({ files: [{ name: 'f.bin', size: 3 }] });
    expectData(await putContent(h.app, key, finalized.id, finalized.files[0]!.id, 'abc'));
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${finalized.id}/finalize`, headers: bearer(key) }));
    expectError(await sendChunk({ token: finalized.token, fileId: 'late', index: 0, total: 1, name: 'late.bin', size: 1 }, 'x'), 409, 'transfer_finalized');
  });

  it('a key without files:write is 403', async () => {
    const { key: readOnly } = await createAccount(h.app, 'chunks-ro@example.com', ['transfers:read', 'transfers:write']);
    const { id } = await openTransfer({}, readOnly);
    expectError(await sendChunk({ fileId: 'ro', index: 0, total: 1, name: 'ro', size: 1, extra: { ...bearer(readOnly), 'x-transfer-id': id } }, 'x'), 403, 'insufficient_scope');
  });
});

describe('client checksums (Content-MD5, Content-Digest)', () => {
  it('a matching digest is accepted; a wrong one is 400 and the chunk is not counted; a malformed one is 400', async () => {
    const { token } = await openTransfer();
    const content = bytes(2000);
    const [c0, c1] = [content.subarray(0, 1000), content.subarray(1000)];
    const base = { token, fileId: 'sum-md5', total: 2, name: 'md5.bin', size: 2000 };
    expectError(await sendChunk({ ...base, index: 0, extra: { 'content-md5': base64Digest('md5', c1) } }, c0), 400, 'checksum_mismatch');
    expectError(await sendChunk({ ...base, index: 0, extra: { 'content-digest': `sha-256=:${base64Digest('sha256', c1)}:` } }, c0), 400, 'checksum_mismatch');
    expectError(await sendChunk({ ...base, index: 0, extra: { 'content-md5': 'not base64!' } }, c0), 400, 'invalid_checksum');
    expect(expectData(await sendChunk({ ...base, index: 0, extra: { 'content-md5': base64Digest('md5', c0) } }, c0)).received_chunks).toBe(1);
    const done = expectData(await sendChunk({ ...base, index: 1, extra: { 'content-digest': `sha-256=:${base64Digest('sha256', c1)}:`, 'content-md5': base64Digest('md5', c1) } }, c1));
    expect(done).toMatchObject({ file_state: 'complete', sha256: sha256(content) });
  });
});

describe('several files by chunks', () => {
  it('files declared at creation, sent by their fl_ ids: the transfer turns ready only after the last one', async () => {
    const a = bytes(3000);
    const b = bytes(2000);
    const { id, token, files } = await openTransfer({ files: [{ name: 'a.bin', size: a.length }, { name: 'b.bin', size: b.length }] });
    const [fa, fb] = [files[0]!.id, files[1]!.id];
    // A declared file's name and size are checked when sent; X-File-Name may also be left out.
    expectError(await sendChunk({ token, fileId: fa, index: 0, total: 2, name: 'other.bin' }, a.subarray(0, 1500)), 409, 'chunk_mismatch');
    expectError(await sendChunk({ token, fileId: fa, index: 0, total: 2, size: 3001 }, a.subarray(0, 1500)), 409, 'chunk_mismatch');
    expect(expectData(await sendChunk({ token, fileId: fa, index: 1, total: 2 }, a.subarray(1500)))).toMatchObject({ file_id: fa, client_file_id: null, received_chunks: 1 });
    // The first chunk fixed the count: a different total is a mismatch.
    expectError(await sendChunk({ token, fileId: fa, index: 0, total: 3, name: 'a.bin' }, a.subarray(0, 1500)), 409, 'chunk_mismatch');
    const aDone = expectData(await sendChunk({ token, fileId: fa, index: 0, total: 2, name: 'a.bin', size: a.length }, a.subarray(0, 1500)));
    expect(aDone).toMatchObject({ file_state: 'complete', transfer_state: 'uploading', sha256: sha256(a) });
    expect((await getTransfer(id)).state).toBe('uploading');

    expect(expectData(await sendChunk({ token, fileId: fb, index: 0, total: 2 }, b.subarray(0, 1000))).transfer_state).toBe('uploading');
    const bDone = expectData(await sendChunk({ token, fileId: fb, index: 1, total: 2 }, b.subarray(1000)));
    expect(bDone).toMatchObject({ file_state: 'complete', transfer_state: 'ready', sha256: sha256(b) });
    expect(await downloadSha(fa)).toBe(sha256(a));
    expect(await downloadSha(fb)).toBe(sha256(b));
  });

  it('racing last chunks of one file: both succeed and the file is assembled once', async () => {
    const { token } = await openTransfer();
    const content = bytes(4000);
    const base = { token, fileId: 'race', total: 4, name: 'race.bin', size: content.length };
    for (const i of [0, 1]) expectData(await sendChunk({ ...base, index: i }, content.subarray(i * 1000, (i + 1) * 1000)));
    const results = await Promise.all([2, 3].map((i) => sendChunk({ ...base, index: i }, content.subarray(i * 1000, (i + 1) * 1000))));
    const receipts = results.map((r) => expectData(r));
    expect(receipts.some((r) => r.file_state === 'complete')).toBe(true);
    expect(await downloadSha(receipts[0].file_id)).toBe(sha256(content));
  });
});
