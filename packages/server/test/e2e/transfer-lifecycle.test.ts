import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { runningSha256, sha256, sha256File } from '../support/hashing.ts';
import { unzipHashes } from '../support/zip.ts';
import { curlStatus, fetchToFile, putStream, readSlice, writeRandomFile } from '../support/e2e.ts';

const BIG_SIZE = 50 * 1024 * 1024;
const SMALL_TEXT = 'Ferry e2e notes\n'.repeat(700);

describe('transfer lifecycle over real HTTP (50 MiB streamed upload, ranges, ZIP)', () => {
  let server: ListeningHarness;
  let base: string;
  let dir: string;
  let owner: Account;
  const big = { name: 'big file.bin', path: '', sha: '', id: '' };
  const small = { name: 'notes.txt', path: '', sha: sha256(SMALL_TEXT), id: '' };
  let transferId = '';
  let auth: Record<string, string>;

  beforeAll(async () => {
    server = await startListening('owner@example.com');
    ({ base, dir, owner, auth } = server);
    big.path = path.join(dir, 'big.bin');
    big.sha = await writeRandomFile(big.path, BIG_SIZE);
    small.path = path.join(dir, 'notes.txt');
    await fsp.writeFile(small.path, SMALL_TEXT);
  });

  afterAll(() => server?.close());

  it('creates a transfer declaring two files, each with an upload URL', async () => {
    const created = await call(base, 'POST', '/api/v1/transfers', {
      key: owner.key,
      json: { title: 'Quarterly assets', files: [{ name: big.name, size: BIG_SIZE }, { name: small.name, size: SMALL_TEXT.length }] },
    });
    expect(created.status).toBe(201);
    const { data } = created.body;
    expect(data).toMatchObject({ state: 'uploading', file_count: 2, size: BIG_SIZE + SMALL_TEXT.length });
    transferId = data.id;
    for (const file of data.files) {
      expect(file.state).toBe('pending');
      expect(file.upload).toMatchObject({ method: 'PUT' });
      expect(file.upload.url).toContain(`/api/v1/transfers/${transferId}/files/${file.id}/content`);
    }
    big.id = data.files.find((f: { name: string }) => f.name === big.name).id;
    small.id = data.files.find((f: { name: string }) => f.name === small.name).id;

    const early = await call(base, 'POST', `/api/v1/transfers/${transferId}/finalize`, { key: owner.key });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('files_incomplete');
  });

  it('uploads the 50 MiB file streamed from disk and the small one with curl -T', async () => {
    const detail = await call(base, 'GET', `/api/v1/transfers/${transferId}`, { key: owner.key });
    const urlOf = (id: string) => rebase(base, detail.body.data.files.find((f: { id: string }) => f.id === id).upload.url);

    const uploaded = await putStream(urlOf(big.id), big.path, auth);
    expect(uploaded.status).toBe(200);
    expect(uploaded.body.data).toMatchObject({ id: big.id, state: 'complete', size: BIG_SIZE, sha256: big.sha });

    const out = path.join(dir, 'curl-upload.json');
    const status = await curlStatus(['-T', small.path, '-H', `Authorization: Bearer ${owner.key}`, '-o', out, urlOf(small.id)]);
    expect(status).toBe(200);
    expect(JSON.parse(await fsp.readFile(out, 'utf8')).data).toMatchObject({ state: 'complete', sha256: small.sha });

    const again = await call(base, 'PUT', urlOf(small.id), { key: owner.key, body: SMALL_TEXT });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('file_complete');
  });

  it('finalizes, then lists and gets the transfer with signed download URLs', async () => {
    const finalized = await call(base, 'POST', `/api/v1/transfers/${transferId}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body.data.state).toBe('ready');

    const list = await call(base, 'GET', '/api/v1/transfers', { key: owner.key });
    expect(list.status).toBe(200);
    expect(list.body.pagination.total).toBe(1);
    expect(list.body.data[0]).toMatchObject({ id: transferId, state: 'ready', file_count: 2, size: BIG_SIZE + SMALL_TEXT.length });

    const got = await call(base, 'GET', `/api/v1/transfers/${transferId}`, { key: owner.key });
    expect(got.status).toBe(200);
    for (const file of got.body.data.files) {
      expect(file.state).toBe('complete');
      expect(file.sha256).toBe(file.id === big.id ? big.sha : small.sha);
      expect(file.download_url).toMatch(/\/api\/v1\/files\/fl_\w+\/download\?expires=\d+&signature=/);
    }

    // Finalized: its files can no longer change.
    const late = await call(base, 'PUT', `/api/v1/transfers/${transferId}/files/${small.id}/content`, { key: owner.key, body: SMALL_TEXT });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('transfer_finalized');
  });

  it('downloads each file whole, with the key and with the signed URL alone', async () => {
    const got = await call(base, 'GET', `/api/v1/transfers/${transferId}`, { key: owner.key });
    for (const file of [big, small]) {
      const out = path.join(dir, `whole-${file.id}`);
      const res = await fetchToFile(`${base}/api/v1/files/${file.id}/download`, out, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('etag')).toBe(`"${file.sha}"`);
      expect(res.headers.get('content-disposition')).toContain('attachment');
      expect(await sha256File(out)).toBe(file.sha);

      const head = await fetch(`${base}/api/v1/files/${file.id}/download`, { method: 'HEAD', headers: auth });
      expect(head.status).toBe(200);
      expect(Number(head.headers.get('content-length'))).toBe(file.id === big.id ? BIG_SIZE : SMALL_TEXT.length);
      expect((await head.arrayBuffer()).byteLength).toBe(0);

      const signed = got.body.data.files.find((f: { id: string }) => f.id === file.id).download_url as string;
      const viaSigned = await fetchToFile(rebase(base, signed), out);
      expect(viaSigned.status).toBe(200);
      expect(await sha256File(out)).toBe(file.sha);
    }
  });

  it('serves single byte ranges, including the last byte, and refuses ranges past the end', async () => {
    const last = BIG_SIZE - 1;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=0-99', 0, 99],
      ['bytes=1048570-1048600', 1048570, 1048600],
      [`bytes=${BIG_SIZE / 2}-${BIG_SIZE / 2 + 65535}`, BIG_SIZE / 2, BIG_SIZE / 2 + 65535],
      [`bytes=${last - 4096}-`, last - 4096, last],
      [`bytes=${last}-`, last, last],
      [`bytes=${last}-${last + 1000}`, last, last],
      ['bytes=-1', last, last],
      ['bytes=-300', last - 299, last],
    ];
    for (const [range, start, end] of cases) {
      const res = await fetch(`${base}/api/v1/files/${big.id}/download`, { headers: { ...auth, range } });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${BIG_SIZE}`);
      expect(Number(res.headers.get('content-length')), range).toBe(end - start + 1);
      expect(body.equals(await readSlice(big.path, start, end)), range).toBe(true);
    }

    const tail = await fetch(`${base}/api/v1/files/${small.id}/download`, { headers: { ...auth, range: 'bytes=-1' } });
    expect(tail.status).toBe(206);
    expect(await tail.text()).toBe(SMALL_TEXT.slice(-1));

    const past = await fetch(`${base}/api/v1/files/${big.id}/download`, { headers: { ...auth, range: `bytes=${BIG_SIZE}-` } });
    await past.arrayBuffer();
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${BIG_SIZE}`);

    const stale = await fetch(`${base}/api/v1/files/${small.id}/download`, { headers: { ...auth, range: 'bytes=5-9', 'if-range': '"0000"' } });
    expect(stale.status).toBe(200);
    expect(sha256(Buffer.from(await stale.arrayBuffer()))).toBe(small.sha);
  });

  it('downloads the ZIP, which unzip extracts to the original bytes', async () => {
    const zip = path.join(dir, 'all.zip');
    const res = await fetchToFile(`${base}/api/v1/transfers/${transferId}/download.zip`, zip, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(Number(res.headers.get('content-length'))).toBe((await fsp.stat(zip)).size);
    expect(await unzipHashes(zip, path.join(dir, 'unzipped'))).toEqual({ [big.name]: big.sha, [small.name]: small.sha });
  });

  it('resumes the ZIP from the middle: first part + resumed part equals the whole ZIP', async () => {
    const whole = path.join(dir, 'all.zip');
    const size = (await fsp.stat(whole)).size;
    const wholeSha = await sha256File(whole);
    const url = `${base}/api/v1/transfers/${transferId}/download.zip`;

    // With fetch: the first half, then a resume from the middle; together they are the whole ZIP.
    const cut = Math.floor(size / 2);
    const hash = runningSha256();
    const first = await fetch(url, { headers: { ...auth, range: `bytes=0-${cut - 1}` } });
    expect(first.status).toBe(206);
    hash.update(Buffer.from(await first.arrayBuffer()));
    const rest = await fetch(url, { headers: { ...auth, range: `bytes=${cut}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${cut}-${size - 1}/${size}`);
    hash.update(Buffer.from(await rest.arrayBuffer()));
    expect(hash.digest('hex')).toBe(wholeSha);

    // Resumes that start inside the first local header, and in the central directory / end records.
    for (const [range, start, end] of [['bytes=30-99', 30, 99], [`bytes=${size - 200}-`, size - 200, size - 1], ['bytes=-22', size - 22, size - 1]] as const) {
      const part = await fetch(url, { headers: { ...auth, range } });
      expect(part.status, range).toBe(206);
      expect(Buffer.from(await part.arrayBuffer()).equals(await readSlice(whole, start, end)), range).toBe(true);
    }

    // With curl -C -: a partial file on disk is completed by a resumed request.
    const partial = path.join(dir, 'partial.zip');
    await fsp.writeFile(partial, await readSlice(whole, 0, Math.floor(size / 3)));
    const status = await curlStatus(['-C', '-', '-H', `Authorization: Bearer ${owner.key}`, '-o', partial, url]);
    expect(status).toBe(206);
    expect(await sha256File(partial)).toBe(wholeSha);
    expect(await unzipHashes(partial, path.join(dir, 'unzipped-resumed'))).toEqual({ [big.name]: big.sha, [small.name]: small.sha });
  });
});
