/**
 * tus 1.0 on a listening Ferry, continued: the transfer's upload token as the only credential
 * with tus-js-client (declared and new files, no access to another transfer), and PATCHes on one
 * kept-alive connection (no socket 'timeout' listeners piling up). Uploads end with the SHA-256
 * of the download.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type Harness, type ListeningHarness } from '../support/harness.ts';
import { call } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { sha256 } from '../support/hashing.ts';
import { MiB, writePatternFile } from '../support/e2e.ts';
import { metadata, UPLOADS } from '../support/tus-http.ts';
import { runTusUpload, tusCreate, tusHead } from '../support/tus-e2e.ts';

describe('tus uploads with real clients (tus-js-client, curl)', () => {
  let h: Harness;
  let base: string;
  let dir: string;
  let owner: Account;
  let auth: Record<string, string>;

  let server: ListeningHarness;
  beforeAll(async () => {
    server = await startListening('tus-owner@example.com', { FERRY_MAX_TRANSFER_SIZE: String(2 * 1024 ** 3) });
    ({ h, base, dir, owner, auth } = server);
  });
  afterAll(() => server?.close());

  const download = (fileId: string) => server.download(fileId);

  it('the transfer\'s upload token works instead of a key (X-Upload-Token and Bearer fyu_), only for its transfer', { timeout: 60_000 }, async () => {
    const declaredSize = 5 * MiB + 7;
    const declaredFile = path.join(dir, 'token-declared.bin');
    const declaredSha = await writePatternFile(declaredFile, declaredSize);
    const transfer = await createTransfer(base, owner.key, { title: 'by token', files: [{ name: 'declared.bin', size: declaredSize }] });
    const token = transfer.upload_token as string;
    expect(token).toMatch(/^fyu_/);

    // A declared file, credential in X-Upload-Token, streamed from disk in 1 MiB PATCHes.
    const first = await runTusUpload(fs.createReadStream(declaredFile), {
      endpoint: `${base}${UPLOADS}`,
      headers: { 'X-Upload-Token': token },
      chunkSize: MiB,
      metadata: { transfer_id: transfer.id, file_id: transfer.files[0].id },
    });
    expect(first.fileId).toBe(transfer.files[0].id);
    expect(await download(first.fileId!)).toEqual({ status: 200, sha256: declaredSha, bytes: declaredSize });

    // A new file by name, credential as Authorization: Bearer fyu_..., a Buffer source.
    const small = Buffer.alloc(300_001);
    for (let i = 0; i < small.length; i++) small[i] = (i * 31 + (i >> 8)) & 0xff;
    const second = await runTusUpload(small, {
      endpoint: `${base}${UPLOADS}`,
      headers: { authorization: `Bearer ${token}` },
      chunkSize: 100_000,
      metadata: { transfer_id: transfer.id, filename: 'by-token.txt', filetype: 'text/plain' },
    });
    expect(second.fileId).toMatch(/^fl_/);
    expect(await download(second.fileId!)).toEqual({ status: 200, sha256: sha256(small), bytes: small.length });

    // The token is no credential for another transfer of the same owner, nor for uploads there.
    const other = await createTransfer(base, owner.key, { title: 'other' });
    const refused = await fetch(`${base}${UPLOADS}`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', 'x-upload-token': token, 'upload-metadata': metadata({ transfer_id: other.id, filename: 'x.bin' }) },
    });
    expect([403, 404]).toContain(refused.status);
    await refused.arrayBuffer();
    const otherUpload = await fetch(`${base}${UPLOADS}`, {
      method: 'POST',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', ...auth, 'upload-metadata': metadata({ transfer_id: other.id, filename: 'x.bin' }) },
    });
    expect(otherUpload.status).toBe(201);
    const otherUrl = new URL(otherUpload.headers.get('location')!, base).toString();
    expect((await tusHead(otherUrl, { 'x-upload-token': token })).status).toBe(404);

    const finalized = await call(base, 'PUT', `/api/v1/transfers/${transfer.id}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body.data.files.map((f: { state: string }) => f.state)).toEqual(['complete', 'complete']);
    await fsp.rm(declaredFile, { force: true });
  });

  // Regression: each PATCH on a kept-alive connection must not leave a 'timeout' listener behind
  // (tus-js-client sends every chunk on one connection).
  it('PATCHes on one kept-alive connection do not pile up socket timeout listeners', { timeout: 30_000 }, async () => {
    const sockets: Socket[] = [];
    const onConnection = (socket: Socket) => sockets.push(socket);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let listeners = -1;
    try {
      const transfer = await createTransfer(base, owner.key, { title: 'keep-alive' });
      const url = await tusCreate(base, auth, 12 * 1024, { transfer_id: transfer.id, filename: 'keep-alive.bin' });
      h.app.server.on('connection', onConnection);
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        statuses.push(
          await new Promise<number>((resolve, reject) => {
            const req = http.request(url, {
              method: 'PATCH',
              agent,
              headers: { ...auth, 'tus-resumable': '1.0.0', 'upload-offset': String(i * 1024), 'content-type': 'application/offset+octet-stream', 'content-length': '1024' },
            });
            req.on('response', (res) => res.resume().on('end', () => resolve(res.statusCode!)));
            req.on('error', reject);
            req.end(Buffer.alloc(1024, i));
          }),
        );
      }
      if (statuses.some((s) => s !== 204) || sockets.length !== 1) {
        console.error('keep-alive setup went wrong', statuses, sockets.length);
        return;
      }
      listeners = sockets[0]!.listenerCount('timeout');
    } catch (error) {
      console.error('keep-alive setup failed', error);
      return;
    } finally {
      h.app.server.off('connection', onConnection);
      agent.destroy();
    }
    console.info(`[keep-alive] 'timeout' listeners on the server socket after 12 PATCHes: ${listeners}`);
    // Node's own server listener, plus at most the one of a request in flight.
    expect(listeners).toBeLessThanOrEqual(2);
  });
});
