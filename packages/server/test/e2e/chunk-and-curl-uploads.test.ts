import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type Harness, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { sha256, sha256File } from '../support/hashing.ts';
import { fetchToFile, readSlice, run, writeRandomFile } from '../support/e2e.ts';
import { blobKeys, tempBlobCount } from '../support/stored-blobs.ts';

/**
 * The two upload flows with real clients on a real listening server: `curl -T` (file and stdin)
 * and Trinsfer-style chunks sent by curl and fetch, each downloaded back and compared by SHA-256.
 */

const CURL_SIZE = 20 * 1024 * 1024 + 12_345;
const CHUNKED_SIZE = 12 * 1024 * 1024 + 777;
const CHUNK = 5 * 1024 * 1024;
const IDLE_SECONDS = 2;

/** Runs curl with `stdinFile` piped to it (for `curl -T -`); answers stdout. */
function curlWithStdin(args: string[], stdinFile: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exited ${code}: ${err}`))));
    fs.createReadStream(stdinFile).pipe(child.stdin);
  });
}

/** Sends raw bytes on a fresh connection, half-closes it, and answers whatever the server said before closing. */
function rawExchange(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(answer) : reject(error)));
    socket.on('close', () => resolve(answer));
    socket.write(request, () => socket.end());
  });
}

/** Sends raw bytes and then nothing more; answers how long the server took to close the connection. */
function rawStall(port: number, request: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now() - started));
    socket.write(request);
  });
}

describe('curl -T and chunk uploads over real HTTP', () => {
  let server: ListeningHarness;
  let h: Harness;
  let base: string;
  let dir: string;
  let me: Account;

  beforeAll(async () => {
    server = await startListening('curl-e2e@example.com', { FERRY_UPLOAD_IDLE_TIMEOUT: String(IDLE_SECONDS) });
    ({ h, base, dir, owner: me } = server);
  });

  afterAll(() => server?.close());

  /** The public file URLs of a transfer's link, through the public JSON API. */
  async function publicFiles(link: string): Promise<{ name: string; url: string; sha256: string }[]> {
    const slug = new URL(link).pathname.split('/').pop()!;
    const view = await call(base, 'GET', `/api/v1/public/transfers/${slug}`);
    expect(view.status).toBe(200);
    return view.body.data.files;
  }

  it('curl -T uploads a 20 MiB file in one request; the link serves the same bytes', async () => {
    const file = path.join(dir, 'payload-20m.bin');
    const sha = await writeRandomFile(file, CURL_SIZE);
    const headersFile = path.join(dir, 'headers.txt');
    const link = await run('curl', ['-sS', '--fail-with-body', '-T', file, '-H', `Authorization: Bearer ${me.key}`, '-D', headersFile, `${base}/`]);
    expect(link).toMatch(new RegExp(`^${h.config.publicUrl}/t/[A-Za-z0-9]{22}\n$`));
    const headers = await fsp.readFile(headersFile, 'utf8');
    expect(headers).toMatch(/^HTTP\/1\.1 201/m);
    const transferId = /^x-ferry-transfer-id: (tr_\w+)\r?$/im.exec(headers)?.[1];
    expect(transferId).toBeDefined();

    const transfer = await call(base, 'GET', `/api/v1/transfers/${transferId}`, { key: me.key });
    expect(transfer.body.data).toMatchObject({ title: 'payload-20m.bin', state: 'ready', size: CURL_SIZE, files: [{ name: 'payload-20m.bin', sha256: sha }] });
    const [served] = await publicFiles(link.trim());
    const copy = path.join(dir, 'copy-20m.bin');
    await run('curl', ['-sS', '--fail', '-o', copy, rebase(base, served!.url)]);
    expect(await sha256File(copy)).toBe(sha);
  });

  it('curl -T - streams stdin (chunked, no Content-Length), with Max-Days, Max-Downloads and a JSON answer', async () => {
    const file = path.join(dir, 'stdin.bin');
    const sha = await writeRandomFile(file, 3 * 1024 * 1024 + 5);
    const out = await curlWithStdin(
      ['-sS', '--fail-with-body', '-T', '-', '-H', `Authorization: Bearer ${me.key}`, '-H', 'Accept: application/json', '-H', 'Max-Days: 2', '-H', 'Max-Downloads: 3', `${base}/backup.tar`],
      file,
    );
    const { data } = JSON.parse(out);
    expect(data).toMatchObject({ title: 'backup.tar', state: 'ready', max_downloads: 3, files: [{ name: 'backup.tar', sha256: sha }] });
    expect(Date.parse(data.expires_at) - Date.now()).toBeLessThanOrEqual(2 * 86_400_000);
    const copy = path.join(dir, 'stdin-copy.bin');
    const got = await fetchToFile(rebase(base, data.files[0].download_url), copy);
    expect(got.status).toBe(200);
    expect(await sha256File(copy)).toBe(sha);
  });

  it('a body cut short of its Content-Length is refused and creates nothing', async () => {
    const blobsIn = async () => (await blobKeys(h.stores, 'files')).length;
    const before = (await call(base, 'GET', '/api/v1/transfers', { key: me.key })).body.pagination.total;
    const blobsBefore = await blobsIn();
    const port = Number(new URL(base).port);
    const head = `PUT /short.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${me.key}\r\nContent-Length: 100000\r\n\r\n`;
    const answer = await rawExchange(port, Buffer.concat([Buffer.from(head), Buffer.alloc(40_000, 7)]));
    // Node's parser sees the early end and Fastify answers 400 before closing the connection.
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const after = await call(base, 'GET', '/api/v1/transfers', { key: me.key });
    expect(after.body.pagination.total).toBe(before);
    expect(await blobsIn()).toBe(blobsBefore);
    // The bytes that did arrive are discarded, not left as a temporary blob.
    const temps = () => tempBlobCount(h.stores);
    for (let i = 0; i < 50 && (await temps()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await temps()).toBe(0);
  });

  it('I100: a body that stalls is cut after the idle timeout, for both routes; nothing is created', async () => {
    const before = (await call(base, 'GET', '/api/v1/transfers', { key: me.key })).body.pagination.total;
    const port = Number(new URL(base).port);
    const created = await createTransfer(base, me.key, { title: 'stalled' });
    const requests = [
      `PUT /stalled.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${me.key}\r\nContent-Length: 1000\r\n\r\n`,
      `POST /api/v1/upload-chunk HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: ${created.upload_token}\r\nX-File-Id: stall\r\n` +
        'X-Chunk-Index: 0\r\nX-Total-Chunks: 1\r\nX-File-Name: stall.bin\r\nX-File-Size: 1000\r\nContent-Length: 1000\r\n\r\n',
    ];
    const waited = await Promise.all(requests.map((head) => rawStall(port, Buffer.concat([Buffer.from(head), Buffer.alloc(300, 1)]))));
    for (const ms of waited) {
      expect(ms).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 100);
      expect(ms).toBeLessThan(IDLE_SECONDS * 1000 + 15_000);
    }
    const transfers = await call(base, 'GET', '/api/v1/transfers', { key: me.key });
    expect(transfers.body.pagination.total).toBe(before + 1);
    const stalled = await call(base, 'GET', `/api/v1/transfers/${created.id}`, { key: me.key });
    expect(stalled.body.data.files[0]).toMatchObject({ state: 'pending', sha256: null });
  });

  it('chunks sent by curl and fetch, out of order and one retried, assemble into the same bytes; the transfer turns ready', async () => {
    const file = path.join(dir, 'chunked.bin');
    const sha = await writeRandomFile(file, CHUNKED_SIZE);
    const { upload_token: token, id } = await createTransfer(base, me.key, { title: 'chunks', expires_days: 7 });
    const total = Math.ceil(CHUNKED_SIZE / CHUNK);
    const headers = (i: number) => ({
      'X-Token': token,
      'X-File-Id': '11111111-2222-3333-4444-555555555555',
      'X-Chunk-Index': String(i),
      'X-Total-Chunks': String(total),
      'X-File-Name': encodeURIComponent('backup 2024 – ünïcode.zip'),
      'X-File-Size': String(CHUNKED_SIZE),
      'Content-Type': 'application/octet-stream',
    });
    const slice = (i: number) => readSlice(file, i * CHUNK, Math.min(CHUNKED_SIZE, (i + 1) * CHUNK) - 1);
    const post = async (i: number, body: Buffer) => call(base, 'POST', '/api/v1/upload-chunk', { headers: headers(i), body: new Uint8Array(body) });

    // The last chunk first, then a broken copy of chunk 0 that the retry replaces.
    expect((await post(total - 1, await slice(total - 1))).body.data).toMatchObject({ received_chunks: 1, file_state: 'pending' });
    const broken = Buffer.from(await slice(0));
    broken[0] = broken[0]! ^ 0xff;
    expect((await post(0, broken)).status).toBe(200);
    expect((await post(0, await slice(0))).body.data.received_chunks).toBe(2);
    for (let i = 1; i < total - 2; i++) expect((await post(i, await slice(i))).status).toBe(200);

    // The last missing chunk goes with curl, exactly as Trinsfer clients do it.
    const part = path.join(dir, 'part');
    await fsp.writeFile(part, await slice(total - 2));
    const args = ['-sS', '--fail-with-body', '-X', 'POST', `${base}/api/v1/upload-chunk`, '--data-binary', `@${part}`];
    for (const [name, value] of Object.entries(headers(total - 2))) args.push('-H', `${name}: ${value}`);
    const receipt = JSON.parse(await run('curl', args)).data;
    expect(receipt).toMatchObject({ received_chunks: total, total_chunks: total, file_state: 'complete', transfer_state: 'ready', sha256: sha });

    const transfer = await call(base, 'GET', `/api/v1/transfers/${id}`, { key: me.key });
    expect(transfer.body.data).toMatchObject({ state: 'ready', files: [{ name: 'backup 2024 – ünïcode.zip', size: CHUNKED_SIZE, sha256: sha }] });
    const [served] = await publicFiles(transfer.body.data.url);
    const copy = path.join(dir, 'chunked-copy.bin');
    expect((await fetchToFile(rebase(base, served!.url), copy)).status).toBe(200);
    expect(await sha256File(copy)).toBe(sha);
    expect(sha256(await fsp.readFile(copy))).toBe(sha);
  });
});
