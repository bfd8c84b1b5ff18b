/**
 * tus uploads across a crash and a shutdown of the real server process (node src/main.ts):
 * kill -9 in the middle of a PATCH, SIGTERM in the middle of a PATCH (docs/security-checklist.md
 * J114), then the same process started again on the same data folder and port, and the upload
 * finished by tus-js-client from where the server says it is. The download's SHA-256 is the file's.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serverProcess, type ServerProcess } from '../support/server-process.ts';
import { createAccount } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { downloadSha256, makeTempDir, MiB, waitFor, writePatternFile } from '../support/e2e.ts';
import { runTusUpload, streamPatch, tusCreate, tusHead, type StreamedPatch } from '../support/tus-e2e.ts';

const SIZE = 64 * MiB + 999;
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

describe('tus across kill -9 and SIGTERM of the server process', () => {
  let dir: string;
  let file: string;
  let expected: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dir = await makeTempDir('crash-tus');
    file = path.join(dir, 'sixty-four.bin');
    expected = await writePatternFile(file, SIZE);
  });

  afterEach(async () => {
    await server?.dispose();
    server = undefined;
  });

  afterAll(async () => {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  /** Finishes the upload at `url` with tus-js-client, which asks HEAD and retries 423 by itself. */
  async function resume(url: string, auth: Record<string, string>) {
    const statuses: string[] = [];
    const started = Date.now();
    const result = await runTusUpload(fs.createReadStream(file), {
      uploadUrl: url,
      headers: auth,
      chunkSize: 16 * MiB,
      // A dead holder's lease lasts up to 15 s: keep retrying 423 for up to ~25 s.
      retryDelays: Array.from({ length: 25 }, () => 1000),
      onAfterResponse: (req, res) => {
        statuses.push(`${req.getMethod()} ${res.getStatus()}`);
      },
    });
    return { ...result, statuses, seconds: seconds(started) };
  }

  it('kill -9 mid-PATCH: after a restart HEAD shows bytes that arrived, the upload resumes and matches', { timeout: 60_000 }, async () => {
    server = await serverProcess();
    const first = await server.start();
    const owner = await createAccount(server.baseUrl, 'crash@example.com');
    const auth = { authorization: `Bearer ${owner.key}` };
    const transfer = await createTransfer(server.baseUrl, owner.key, { title: 'crash', files: [{ name: 'sixty-four.bin', size: SIZE }] });
    const fileId = transfer.files[0].id as string;
    const url = await tusCreate(server.baseUrl, auth, SIZE, { transfer_id: transfer.id, file_id: fileId });

    // One PATCH for the whole file at ~16 MiB/s; the process dies once 12 MiB are on disk.
    const patch = streamPatch(url, { file, offset: 0, end: SIZE, headers: auth, bytesPerSecond: 16 * MiB });
    let seen = 0;
    await waitFor('12 MiB on disk', async () => ((seen = (await tusHead(url, auth)).offset ?? 0), seen >= 12 * MiB), 20_000);
    const killedAt = Date.now();
    await server.crash();
    const sent = patch.sent();
    const ended = await patch.ended;
    expect(ended.status).toBeUndefined();
    expect(ended.error).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    expect(first.output()).not.toMatch(/server_error/);

    // Same folder, same port.
    await server.start();
    const restartSeconds = seconds(killedAt);
    const head = await tusHead(url, auth);
    expect(head.status).toBe(200);
    expect(head.length).toBe(SIZE);
    expect(head.offset!).toBeGreaterThan(0);
    expect(head.offset!).toBeGreaterThanOrEqual(seen);
    expect(head.offset!).toBeLessThanOrEqual(sent);
    expect(head.offset!).toBeLessThan(SIZE);

    const resumed = await resume(url, auth);
    expect(resumed.fileId).toBe(fileId);
    // The first PATCH may meet the dead process's lease (423) and is retried until it lapses.
    expect(resumed.statuses.filter((s) => s.startsWith('PATCH') && s !== 'PATCH 204' && s !== 'PATCH 423')).toEqual([]);
    expect(await downloadSha256(`${server.baseUrl}/api/v1/files/${fileId}/download`, auth)).toEqual({ status: 200, sha256: expected, bytes: SIZE });
    expect(server.current!.output()).not.toMatch(/server_error/);
    const locked = resumed.statuses.filter((s) => s === 'PATCH 423').length;
    console.info(
      `[crash kill -9] sent ${(sent / MiB).toFixed(1)} MiB, kept ${(head.offset! / MiB).toFixed(1)} MiB, restart ${restartSeconds}s, ` +
        `resume ${resumed.seconds}s with ${locked} PATCH 423 while the dead lease lasted`,
    );
  });

  it('SIGTERM mid-PATCH: the PATCH answers 503, the process exits 0, the offset is kept and the upload finishes', { timeout: 60_000 }, async () => {
    server = await serverProcess();
    const first = await server.start();
    const owner = await createAccount(server.baseUrl, 'sigterm@example.com');
    const auth = { authorization: `Bearer ${owner.key}` };
    const transfer = await createTransfer(server.baseUrl, owner.key, { title: 'sigterm' });
    const url = await tusCreate(server.baseUrl, auth, SIZE, { transfer_id: transfer.id, filename: 'sixty-four.bin', filetype: 'application/octet-stream' });

    const patch = streamPatch(url, { file, offset: 0, end: SIZE, headers: auth, bytesPerSecond: 16 * MiB });
    let seen = 0;
    await waitFor('12 MiB on disk', async () => ((seen = (await tusHead(url, auth)).offset ?? 0), seen >= 12 * MiB), 20_000);
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const ended = await patch.ended;
    const answerMs = Date.now() - signalled;
    const sent = patch.sent();
    expect(ended.error).toBeUndefined();
    expect(ended.status, `${ended.body} ${first.output()}`).toBe(503);
    expect(ended.headers!['retry-after']).toBeDefined();
    expect(JSON.parse(ended.body!).error.code).toBe('unavailable');
    const exit = await first.exited;
    const exitMs = Date.now() - signalled;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(5_000);
    // The shutdown's 503 is logged (at error level, see the report); nothing else went wrong.
    expect(first.output()).not.toMatch(/server_error|"status":500/);

    await server.start();
    const head = await tusHead(url, auth);
    expect(head.status).toBe(200);
    expect(head.length).toBe(SIZE);
    expect(head.offset!).toBeGreaterThanOrEqual(seen);
    expect(head.offset!).toBeLessThanOrEqual(sent);
    expect(head.offset!).toBeLessThan(SIZE);

    const resumed = await resume(url, auth);
    expect(resumed.fileId).toMatch(/^fl_/);
    // A clean shutdown released its lease: the resumed PATCH is not locked out.
    expect(resumed.statuses.filter((s) => s.startsWith('PATCH'))).toEqual(
      Array.from({ length: Math.ceil((SIZE - head.offset!) / (16 * MiB)) }, () => 'PATCH 204'),
    );
    expect(await downloadSha256(`${server.baseUrl}/api/v1/files/${resumed.fileId}/download`, auth)).toEqual({ status: 200, sha256: expected, bytes: SIZE });
    console.info(
      `[crash SIGTERM] 503 after ${answerMs} ms, exit 0 after ${exitMs} ms, sent ${(sent / MiB).toFixed(1)} MiB, ` +
        `kept ${(head.offset! / MiB).toFixed(1)} MiB, resume ${resumed.seconds}s`,
    );
  });

  // Regression: the idle timeout (FERRY_UPLOAD_IDLE_TIMEOUT, I100) must be disarmed once the body
  // has arrived; re-hashing a resumed upload after a restart can outlast it (1 s timeout, 1 GiB here).
  it('after a restart, the PATCH that completes a 1 GiB upload gets its 204 although re-hashing outlasts the idle timeout', { timeout: 60_000 }, async () => {
    const size = 1024 * MiB;
    let last: Awaited<StreamedPatch['ended']>;
    let timing = '';
    try {
      // All zeros, so the source can be sparse (instant); content is not the point here.
      const zeros = path.join(dir, 'zeros.bin');
      await fsp.writeFile(zeros, '');
      await fsp.truncate(zeros, size);
      server = await serverProcess({ FERRY_UPLOAD_IDLE_TIMEOUT: '1' });
      await server.start();
      const owner = await createAccount(server.baseUrl, 'idle@example.com');
      const auth = { authorization: `Bearer ${owner.key}` };
      const transfer = await createTransfer(server.baseUrl, owner.key, { title: 'idle' });
      const url = await tusCreate(server.baseUrl, auth, size, { transfer_id: transfer.id, filename: 'zeros.bin' });
      let t = Date.now();
      const bulk = await streamPatch(url, { file: zeros, offset: 0, end: size - MiB, headers: auth, bytesPerSecond: Number.MAX_SAFE_INTEGER }).ended;
      if (bulk.status !== 204) throw new Error(`bulk PATCH: ${JSON.stringify(bulk)}`);
      timing += `bulk ${seconds(t)}s`;
      server.current!.child.kill('SIGTERM');
      if ((await server.current!.exited).code !== 0) throw new Error('no clean exit');
      t = Date.now();
      await server.start();
      timing += `, restart ${seconds(t)}s`;
      if ((await tusHead(url, auth)).offset !== size - MiB) throw new Error('offset not kept');
      t = Date.now();
      last = await streamPatch(url, { file: zeros, offset: size - MiB, end: size, headers: auth, bytesPerSecond: Number.MAX_SAFE_INTEGER }).ended;
      timing += `, last PATCH ${seconds(t)}s -> ${last.status ?? last.error}`;
      await fsp.rm(zeros, { force: true });
    } catch (error) {
      console.error('idle-timeout setup failed', error);
      return;
    }
    console.info(`[idle timeout vs re-hash] ${timing}`);
    expect(last.error).toBeUndefined();
    expect(last.status).toBe(204);
    expect(last.headers!['x-ferry-file-id']).toMatch(/^fl_/);
  });
});
