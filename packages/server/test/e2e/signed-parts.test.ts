import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type Harness, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { sha256File } from '../support/hashing.ts';
import { curlStatus, fetchToFile, putStream, writeRandomFile } from '../support/e2e.ts';
import { partsLeft } from '../support/stored-blobs.ts';

/**
 * The WeTransfer flow over real HTTP, as an SDK does it: a ~40 MiB file cut into 1 MiB parts,
 * a signed URL per part, the parts PUT in shuffled order with 4 requests in flight (bodies
 * streamed from disk, no credentials), one part by `curl -T` as WeTransfer documents, then
 * upload-complete, finalize and a download whose SHA-256 must equal the original's.
 */

const PART = 1024 * 1024;
const SIZE = 40 * PART + 12_345;
const PARTS = Math.ceil(SIZE / PART);
const IN_FLIGHT = 4;

function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('signed part URLs over real HTTP (~40 MiB in 1 MiB parts)', () => {
  let server: ListeningHarness;
  let h: Harness;
  let base: string;
  let dir: string;
  let owner: Account;
  let source: string;
  let sourceSha: string;
  let transferId: string;
  let fileId: string;

  beforeAll(async () => {
    server = await startListening('wetransfer@example.com', {
      FERRY_PART_SIZE: String(PART),
      FERRY_RATE_LIMIT_PER_MINUTE: '100000',
      // Parts below S3's 5 MiB minimum: Ferry's own part protocol, on the local store on both stacks.
      // The S3 flow (presigned UploadPart URLs straight to the bucket) is test/e2e/s3-signed-parts.test.ts.
      FERRY_STORAGE: 'local',
    });
    ({ h, base, dir, owner } = server);
    source = path.join(dir, 'source.bin');
    sourceSha = await writeRandomFile(source, SIZE);
  });

  afterAll(() => server?.close());

  it('declares the file; it shows multipart {part_numbers, chunk_size}', async () => {
    const created = await call(base, 'POST', '/api/v1/transfers', { key: owner.key, json: { title: 'Big one', files: [{ name: 'big.bin', size: SIZE }] } });
    expect(created.status).toBe(201);
    transferId = created.body.data.id;
    fileId = created.body.data.files[0].id;
    expect(created.body.data.files[0].multipart).toEqual({ part_numbers: PARTS, chunk_size: PART });
  });

  it('uploads every part to its signed URL, shuffled, 4 at a time, without credentials', async () => {
    const queue = shuffled(Array.from({ length: PARTS }, (_, i) => i + 1));
    const last = queue.splice(queue.indexOf(PARTS), 1)[0]!;
    const sent: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
        const granted = await call(base, 'GET', `/api/v1/transfers/${transferId}/files/${fileId}/upload-url/${n}`, { key: owner.key });
        expect(granted.status).toBe(200);
        inFlight++;
        peak = Math.max(peak, inFlight);
        const start = (n - 1) * PART;
        const put = await putStream(rebase(base, granted.body.data.url), source, {}, { start, end: Math.min(start + PART, SIZE) - 1 });
        inFlight--;
        expect({ n, status: put.status, body: put.body }).toEqual({ n, status: 200, body: { data: { part_number: n, size: Math.min(PART, SIZE - start) } } });
        sent.push(n);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(IN_FLIGHT);
    expect(sent).not.toEqual([...sent].sort((a, b) => a - b));

    // The last part as WeTransfer documents it: `curl -T file <signed url>` (no Content-Type, no key).
    const granted = await call(base, 'GET', `/api/v1/transfers/${transferId}/files/${fileId}/upload-url/${last}`, { key: owner.key });
    const tail = path.join(dir, 'tail.bin');
    await pipeline(fs.createReadStream(source, { start: (last - 1) * PART }), fs.createWriteStream(tail));
    expect(await curlStatus(['-o', path.join(dir, 'curl.json'), '-T', tail, rebase(base, granted.body.data.url)])).toBe(200);
    expect(JSON.parse(await fsp.readFile(path.join(dir, 'curl.json'), 'utf8'))).toEqual({ data: { part_number: last, size: SIZE - (last - 1) * PART } });
  });

  it('a tampered signature is refused over the wire too (403)', async () => {
    const granted = await call(base, 'GET', `/api/v1/transfers/${transferId}/files/${fileId}/upload-url/1`, { key: owner.key });
    const forged = rebase(base, granted.body.data.url).replace(/signature=./, (m) => (m.endsWith('A') ? 'signature=B' : 'signature=A'));
    const res = await putStream(forged, source, {}, { start: 0, end: PART - 1 });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('invalid_signature');
  });

  it('completes the file (the SHA-256 of the original), finalizes, and the download matches byte for byte', async () => {
    const done = await call(base, 'PUT', `/api/v1/transfers/${transferId}/files/${fileId}/upload-complete`, { key: owner.key, json: { part_numbers: PARTS } });
    expect(done.status).toBe(200);
    expect(done.body.data).toMatchObject({ id: fileId, size: SIZE, part_numbers: PARTS, chunk_size: PART, retries: 0, state: 'complete', sha256: sourceSha });
    const finalized = await call(base, 'PUT', `/api/v1/transfers/${transferId}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body.data.state).toBe('ready');
    const target = path.join(dir, 'downloaded.bin');
    const got = await fetchToFile(rebase(base, finalized.body.data.files[0].download_url), target);
    expect(got.status).toBe(200);
    expect(await sha256File(target)).toBe(sourceSha);
    expect(await partsLeft(h.stores)).toEqual([]);
  });
});
