/**
 * tus 1.0 with real clients on a listening Ferry: tus-js-client (a 1 GiB upload aborted and
 * resumed, parallelUploads through concatenation) and curl speaking the checksum extension by
 * hand. Every upload ends with the SHA-256 of the download.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import { call } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { base64Digest, sha256 } from '../support/hashing.ts';
import { MiB, readSlice, run, writePatternFile } from '../support/e2e.ts';
import { b64, metadata, UPLOADS } from '../support/tus-http.ts';
import { runTusUpload, tusHead } from '../support/tus-e2e.ts';

const GiB = 1024 * MiB;
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

describe('tus uploads with real clients (tus-js-client, curl)', () => {
  let base: string;
  let dir: string;
  let owner: Account;
  let auth: Record<string, string>;

  let server: ListeningHarness;
  beforeAll(async () => {
    server = await startListening('tus-owner@example.com', { FERRY_MAX_TRANSFER_SIZE: String(2 * 1024 ** 3) });
    ({ base, dir, owner, auth } = server);
  });
  afterAll(() => server?.close());

  const download = (fileId: string) => server.download(fileId);

  it('tus-js-client: a 1 GiB upload aborted part-way resumes from its uploadUrl; the download matches', { timeout: 90_000 }, async () => {
    const size = GiB;
    const chunkSize = 128 * MiB;
    const file = path.join(dir, 'one-gib.bin');
    let t = Date.now();
    const expected = await writePatternFile(file, size);
    const writeSeconds = seconds(t);

    const transfer = await createTransfer(base, owner.key, { title: 'one gib', files: [{ name: 'one-gib.bin', size }] });
    const declared = transfer.files[0].id as string;
    const options = {
      endpoint: `${base}${UPLOADS}`,
      headers: auth,
      chunkSize,
      metadata: { transfer_id: transfer.id, file_id: declared, filename: 'one-gib.bin' },
    };

    // First run: aborted (no termination) once about 300 MiB went out, in the middle of the
    // third 128 MiB PATCH, so the server also has to keep a partial chunk.
    t = Date.now();
    let uploadUrl = '';
    let abortedAt = 0;
    const aborted = new Promise<void>((resolve, reject) => {
      let upload: tus.Upload;
      void runTusUpload(fs.createReadStream(file), {
        ...options,
        onProgress: (sent) => {
          if (abortedAt || sent < 300 * MiB) return;
          abortedAt = sent;
          uploadUrl = upload.url!;
          upload.abort(false).then(resolve, reject);
        },
      }, (u) => (upload = u)).then(() => reject(new Error('the upload finished before it was aborted')), reject);
    });
    await aborted;
    const firstRunSeconds = seconds(t);
    expect(uploadUrl).toMatch(new RegExp(`${UPLOADS}/up_[0-9a-z]{25}$`));

    // The server keeps what arrived: at least the two acknowledged chunks, never the whole file.
    // (The aborted PATCH may still be landing its last bytes: wait for the offset to settle.)
    let head = await tusHead(uploadUrl, auth);
    for (let previous = -1; head.offset !== previous; ) {
      previous = head.offset!;
      await new Promise((r) => setTimeout(r, 200));
      head = await tusHead(uploadUrl, auth);
    }
    expect(head.status).toBe(200);
    expect(head.length).toBe(size);
    expect(head.offset!).toBeGreaterThanOrEqual(2 * chunkSize);
    expect(head.offset!).toBeLessThan(size);
    const keptOffset = head.offset!;

    // Second run: a new Upload on the same URL asks HEAD and sends only the rest.
    t = Date.now();
    const patchOffsets: number[] = [];
    const resumed = await runTusUpload(fs.createReadStream(file), {
      ...options,
      uploadUrl,
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        if (req.getMethod() === 'POST') throw new Error('the resumed upload must not create a new one');
      },
    });
    const resumeSeconds = seconds(t);
    expect(resumed.url).toBe(uploadUrl);
    expect(resumed.fileId).toBe(declared);
    expect(patchOffsets[0]).toBe(keptOffset);
    // Each remaining chunk once (a PATCH retried after a 423 would repeat its offset).
    expect(new Set(patchOffsets).size).toBe(Math.ceil((size - keptOffset) / chunkSize));

    t = Date.now();
    const got = await download(declared);
    const downloadSeconds = seconds(t);
    expect(got).toEqual({ status: 200, sha256: expected, bytes: size });

    const after = await tusHead(uploadUrl, auth);
    expect([after.status, after.offset, after.length]).toEqual([200, size, size]);
    const detail = await call(base, 'GET', `/api/v1/transfers/${transfer.id}`, { key: owner.key });
    expect(detail.body.data.files[0]).toMatchObject({ id: declared, state: 'complete', size, sha256: expected });
    const finalized = await call(base, 'PUT', `/api/v1/transfers/${transfer.id}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);

    console.info(
      `[tus 1 GiB] write+hash ${writeSeconds}s, first run ${firstRunSeconds}s (aborted at ${(abortedAt / MiB).toFixed(0)} MiB, ` +
        `kept ${(keptOffset / MiB).toFixed(1)} MiB), resume ${resumeSeconds}s (${patchOffsets.length} PATCHes), download+hash ${downloadSeconds}s`,
    );
    await fsp.rm(file, { force: true });
  });

  it('tus-js-client parallelUploads: 4 on a 64 MiB file (concatenation); the download matches', { timeout: 60_000 }, async () => {
    const size = 64 * MiB + 12_345;
    const file = path.join(dir, 'parallel.bin');
    const expected = await writePatternFile(file, size);
    const transfer = await createTransfer(base, owner.key, { title: 'parallel' });

    const t = Date.now();
    const requests: string[] = [];
    const result = await runTusUpload(fs.createReadStream(file), {
      endpoint: `${base}${UPLOADS}`,
      headers: auth,
      parallelUploads: 4,
      chunkSize: 8 * MiB,
      metadata: { transfer_id: transfer.id, filename: 'parallel.bin', filetype: 'application/octet-stream' },
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'POST') requests.push(String(req.getHeader('Upload-Concat')));
      },
    });
    const uploadSeconds = seconds(t);
    // Four partial uploads, then one final upload naming them.
    expect(requests.filter((c) => c === 'partial')).toHaveLength(4);
    expect(requests.filter((c) => c.startsWith('final;'))).toHaveLength(1);
    expect(result.status).toBe(201);
    expect(result.fileId).toMatch(/^fl_/);

    const got = await download(result.fileId!);
    expect(got).toEqual({ status: 200, sha256: expected, bytes: size });
    const detail = await call(base, 'GET', `/api/v1/transfers/${transfer.id}`, { key: owner.key });
    expect(detail.body.data.files).toHaveLength(1);
    expect(detail.body.data.files[0]).toMatchObject({ id: result.fileId, name: 'parallel.bin', state: 'complete', size, sha256: expected });
    const final = await tusHead(result.url, auth);
    expect([final.status, final.offset]).toEqual([200, size]);
    expect(final.headers.get('upload-concat')).toMatch(/^final;/);
    console.info(`[tus parallel 4 x 64 MiB] upload ${uploadSeconds}s`);
    await fsp.rm(file, { force: true });
  });

  it('curl speaks the checksum extension: right digests 204, a wrong one 460 with the offset unchanged', { timeout: 60_000 }, async () => {
    const size = 3 * MiB + 4321;
    const file = path.join(dir, 'checksum.bin');
    const expected = await writePatternFile(file, size);
    const transfer = await createTransfer(base, owner.key, { title: 'checksums' });
    const bearer = `Authorization: Bearer ${owner.key}`;

    // Creation with curl; Location from the response headers.
    const created = await run('curl', [
      '-sS', '-o', '/dev/null', '-X', 'POST',
      '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Length: ${size}`, '-H', bearer,
      '-H', `Upload-Metadata: ${metadata({ transfer_id: transfer.id, filename: 'checksum.bin', filetype: 'application/octet-stream' })}`,
      '-w', '%{http_code} %header{location}', `${base}${UPLOADS}`,
    ]);
    const [createdStatus, location] = created.trim().split(' ');
    expect(createdStatus).toBe('201');
    const url = new URL(location!, base).toString();

    const chunkFile = async (name: string, start: number, end: number) => {
      const bytes = await readSlice(file, start, end - 1);
      const target = path.join(dir, name);
      await fsp.writeFile(target, bytes);
      return { path: target, bytes };
    };
    /** One PATCH with curl; answers status, Upload-Offset and X-Ferry-File-Id from the response. */
    const patch = async (offset: number, chunk: string, checksum?: string) => {
      const out = await run('curl', [
        '-sS', '-o', '/dev/null', '-X', 'PATCH',
        '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Offset: ${offset}`, '-H', 'Content-Type: application/offset+octet-stream', '-H', bearer,
        ...(checksum ? ['-H', `Upload-Checksum: ${checksum}`] : []),
        '--data-binary', `@${chunk}`,
        '-w', '%{http_code} %header{upload-offset} %header{x-ferry-file-id}', url,
      ]);
      const [status, uploadOffset, fileId] = out.trim().split(' ');
      return { status: Number(status), offset: uploadOffset ? Number(uploadOffset) : null, fileId: fileId || null };
    };
    const headOffset = async () => (await tusHead(url, auth)).offset;

    const a = await chunkFile('a.part', 0, MiB);
    const b = await chunkFile('b.part', MiB, 2 * MiB);
    const c = await chunkFile('c.part', 2 * MiB, size);

    // Chunk A with its SHA-256: accepted.
    expect(await patch(0, a.path, `sha256 ${base64Digest('sha256', a.bytes)}`)).toMatchObject({ status: 204, offset: MiB });
    expect(await headOffset()).toBe(MiB);

    // Chunk B with the SHA-256 of other bytes: 460, discarded, offset unchanged.
    expect(await patch(MiB, b.path, `sha256 ${base64Digest('sha256', a.bytes)}`)).toMatchObject({ status: 460 });
    expect(await headOffset()).toBe(MiB);
    // An algorithm the server does not offer: 400 (tus checksum extension), nothing written.
    expect((await patch(MiB, b.path, `crc32 ${b64('abcd')}`)).status).toBe(400);
    expect(await headOffset()).toBe(MiB);

    // Chunk B again with a right SHA-1, then the rest with a right MD5: the upload finishes.
    expect(await patch(MiB, b.path, `sha1 ${base64Digest('sha1', b.bytes)}`)).toMatchObject({ status: 204, offset: 2 * MiB });
    const last = await patch(2 * MiB, c.path, `md5 ${base64Digest('md5', c.bytes)}`);
    expect(last).toMatchObject({ status: 204, offset: size });
    expect(last.fileId).toMatch(/^fl_/);

    expect(await download(last.fileId!)).toEqual({ status: 200, sha256: expected, bytes: size });
    expect(sha256(Buffer.concat([a.bytes, b.bytes, c.bytes]))).toBe(expected);
    await fsp.rm(file, { force: true });
  });
});
