/**
 * Scale-out end to end: two Ferry processes behind a real nginx (deploy/nginx/ferry.conf, round
 * robin, no sticky sessions) on ONE PostgreSQL database, ONE bucket and ONE Redis prefix.
 *
 * - A 1 GiB tus upload through nginx; the instance receiving its PATCH is killed -9 part-way and
 *   tus-js-client resumes from the upload URL through nginx on the survivor, waiting out the dead
 *   holder's lease (423). The download through nginx has the file's SHA-256; the bytes are one
 *   object in the bucket.
 * - A download aborted part-way and resumed with Range (and If-Range) on the other instance.
 * - The per-minute rate limit is one count across both instances, and a session made on one
 *   instance works (and ends) on the other.
 *
 * Runs when the scale-out services are set (FERRY_TEST_DATABASE_URL, FERRY_TEST_REDIS_URL,
 * FERRY_TEST_S3_ENDPOINT; scripts/services.sh) and nginx is installed; skipped otherwise.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type * as tus from 'tus-js-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { serverProcess, type ServerProcess } from '../support/server-process.ts';
import { call } from '../support/client.ts';
import { ALL_USER_SCOPES, createAccount, signIn, signUp, type Account } from '../support/accounts.ts';
import { runningSha256 } from '../support/hashing.ts';
import { createTransfer } from '../support/transfers.ts';
import { downloadSha256, makeTempDir, MiB, waitFor, writePatternFile } from '../support/e2e.ts';
import { UPLOADS } from '../support/tus-http.ts';
import { runTusUpload, tusHead } from '../support/tus-e2e.ts';
import { createTestStack, type TestStack } from '../support/test-stack.ts';
import { listObjectKeys, testS3Server } from '../support/test-s3.ts';
import { nginxAvailable, startNginx, type Nginx } from '../support/nginx.ts';

const GiB = 1024 * MiB;
const SERVICES = ['FERRY_TEST_DATABASE_URL', 'FERRY_TEST_REDIS_URL', 'FERRY_TEST_S3_ENDPOINT'].every((name) => !!process.env[name]);
const UPSTREAM_HEADER = 'x-ferry-upstream';
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * The instance that gave the answer: the last address of $upstream_addr, which lists every
 * upstream nginx tried ("dead:port, live:port" when it moved on after a refused connection).
 */
const answeredBy = (upstreams: string | null | undefined): string => (upstreams ?? '').trim().split(/[\s,]+/).pop()!;

/** The newest Node diagnostic report in `folder`, cut to what shows a hang: JS stack and TCP peers. */
async function diagnosticReport(folder: string): Promise<string> {
  const reports = (await fsp.readdir(folder)).filter((name) => name.startsWith('report.') && name.endsWith('.json')).sort();
  if (reports.length === 0) return '(no diagnostic report)';
  interface Endpoint { host: string; ip4?: string; port: number }
  const report = JSON.parse(await fsp.readFile(path.join(folder, reports.at(-1)!), 'utf8')) as {
    javascriptStack?: { stack?: string[] };
    libuv?: { type: string; localEndpoint?: Endpoint; remoteEndpoint?: Endpoint }[];
  };
  const tcp = (report.libuv ?? [])
    .filter((h) => h.type === 'tcp')
    .map((h) => `${h.localEndpoint?.port ?? '?'} -> ${h.remoteEndpoint ? `${h.remoteEndpoint.ip4 ?? h.remoteEndpoint.host}:${h.remoteEndpoint.port}` : '(listening)'}`);
  return `JavaScript stack: ${JSON.stringify(report.javascriptStack?.stack ?? [])}\nTCP handles: ${tcp.join(', ')}`;
}

/** One Ferry process slot: a server process (fixed port and data folder), restarted with the shared settings. */
interface Instance {
  name: string;
  /** 127.0.0.1:<port>, as nginx's $upstream_addr names it. */
  addr: string;
  server: ServerProcess;
}

describe.runIf(SERVICES && nginxAvailable())('scale-out: two Ferry instances behind nginx on PostgreSQL, S3 and Redis', () => {
  let stack: TestStack | undefined;
  let nginx: Nginx | undefined;
  let dir: string | undefined;
  const instances: Instance[] = [];
  let sharedEnv: Record<string, string>;
  let base: string;
  let owner: Account;
  let auth: Record<string, string>;

  /**
   * Starts the instance and waits for /healthz. A loaded machine (other suites, the S3 server's own
   * work) can make a start take several seconds; up to 90 s are allowed while the process lives.
   * If it still does not answer, a Node diagnostic report (SIGUSR2) names what it waits on: the
   * JavaScript stack and the TCP connections it holds open.
   */
  async function start(instance: Instance, extra: Record<string, string> = {}): Promise<void> {
    const { server } = instance;
    const started = Date.now();
    try {
      await server.start(
        {
          ...sharedEnv,
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${server.dataDir}`,
          ...extra,
        },
        90_000,
      );
    } catch (error) {
      const child = server.current?.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGUSR2');
        await sleep(2000);
      }
      throw new Error(`${instance.name} did not start in ${seconds(started)}s: ${(error as Error).message}\n${await diagnosticReport(server.dataDir)}`);
    }
  }

  /** SIGTERM (or SIGKILL) and wait until the process is gone; its output is kept. */
  async function stop(instance: Instance, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await instance.server.stop(signal);
  }

  const allLogs = () => instances.map((i) => `--- ${i.name} (${i.addr}) ---\n${i.server.output()}`).join('\n');

  /** Polls /healthz through nginx until both instances answered (nginx may still mark one failed). */
  async function waitBothUpstreams(): Promise<void> {
    const seen = new Set<string>();
    await waitFor('nginx to route to both instances', async () => {
      const response = await fetch(`${base}/healthz`);
      await response.arrayBuffer();
      if (response.status === 200) seen.add(answeredBy(response.headers.get(UPSTREAM_HEADER)));
      return instances.every((i) => seen.has(i.addr));
    }, 30_000, 200);
  }

  beforeAll(async () => {
    dir = await makeTempDir('scale-out');
    stack = await createTestStack();
    for (const name of ['ferry-a', 'ferry-b']) {
      const server = await serverProcess({}, { stack });
      instances.push({ name, addr: `127.0.0.1:${server.port}`, server });
    }
    // A test-only response header naming the instance that answered ($upstream_addr).
    nginx = await startNginx({ upstreams: instances.map((i) => i.server.port), extraLocationDirectives: [`add_header X-Ferry-Upstream $upstream_addr always;`] });
    base = nginx.baseUrl;
    sharedEnv = {
      FERRY_SECRET: `scale-out-${randomBytes(24).toString('hex')}`,
      FERRY_PUBLIC_URL: base,
      // nginx connects from loopback; Fastify's trustProxy takes an address (or CIDR) list.
      FERRY_TRUST_PROXY: '127.0.0.1',
      FERRY_MAX_TRANSFER_SIZE: String(2 * GiB),
    };
    // One after the other: the first runs the migrations on the fresh database.
    for (const instance of instances) await start(instance);
    await waitBothUpstreams();
    owner = await createAccount(base, 'scale-owner@example.com');
    auth = { authorization: `Bearer ${owner.key}` };
  }, 240_000);

  // A failed test shows what both instances and nginx said.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`${allLogs()}\n--- nginx ---\n${nginx?.output() ?? ''}`));
  });

  afterAll(async () => {
    for (const instance of instances) await instance.server.dispose().catch(() => undefined);
    await nginx?.stop().catch(() => undefined);
    await stack?.drop().catch((error) => console.error('dropping the test stack failed', error));
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('a 1 GiB tus upload through nginx survives kill -9 of the instance receiving it and resumes on the other; download and bucket match', { timeout: 600_000 }, async () => {
    const size = GiB;
    const chunkSize = 128 * MiB;
    const file = path.join(dir!, 'one-gib.bin');
    const started = Date.now();
    let t = Date.now();
    const expected = await writePatternFile(file, size);
    const writeSeconds = seconds(t);

    const transfer = await createTransfer(base, owner.key, { title: 'scale-out', files: [{ name: 'one-gib.bin', size }] });
    const fileId = transfer.files[0].id as string;
    const served: string[] = [];
    const options: tus.UploadOptions = {
      endpoint: `${base}${UPLOADS}`,
      headers: auth,
      chunkSize,
      metadata: { transfer_id: transfer.id, file_id: fileId, filename: 'one-gib.bin' },
      onAfterResponse: (req, res) => {
        served.push(`${req.getMethod()} ${res.getStatus()} ${res.getHeader('X-Ferry-Upstream') ?? '?'}`);
      },
    };

    // First run: once ~300 MiB went out (the middle of the third 128 MiB PATCH), find the
    // instance nginx streams the PATCH to (its one upstream connection) and kill it -9. Then
    // drop this client run (no termination) as a client would after losing its connection.
    t = Date.now();
    let uploadUrl = '';
    let killedAt = 0;
    let sentAtKill = 0;
    let victim: Instance | undefined;
    await new Promise<void>((resolve, reject) => {
      let upload: tus.Upload;
      let killing = false;
      const killReceiver = async (sent: number) => {
        let ports: number[] = [];
        await waitFor('an upstream connection carrying the PATCH', async () => ((ports = [...new Set(nginx!.upstreamConnections())]), ports.length > 0), 5_000, 5);
        if (ports.length !== 1) throw new Error(`expected one upstream connection, found ports ${ports.join(', ')}`);
        victim = instances.find((i) => i.server.port === ports[0]);
        if (!victim?.server.current) throw new Error(`no running instance on port ${ports[0]}`);
        victim.server.current.child.kill('SIGKILL');
        killedAt = Date.now();
        sentAtKill = sent;
        uploadUrl = upload.url!;
        await upload.abort(false);
      };
      void runTusUpload(fs.createReadStream(file), {
        ...options,
        onProgress: (sent) => {
          if (killing || sent < 300 * MiB) return;
          killing = true;
          killReceiver(sent).then(resolve, reject);
        },
      }, (u) => (upload = u)).then(() => reject(new Error('the upload finished before an instance was killed')), reject);
    });
    const firstRunSeconds = seconds(t);
    await stop(victim!, 'SIGKILL');
    const survivor = instances.find((i) => i !== victim)!;
    expect(uploadUrl).toMatch(new RegExp(`^${base}${UPLOADS}/up_[0-9a-z]{25}$`));
    // Round robin, no stickiness: the PATCHes before the kill were answered by both instances.
    expect(new Set(served.filter((s) => s.startsWith('PATCH 204')).map(answeredBy)).size, served.join('\n')).toBe(2);

    // The survivor (the only one left behind nginx) reports what reached the bucket.
    const head = await tusHead(uploadUrl, auth);
    expect(head.status).toBe(200);
    expect(head.length).toBe(size);
    expect(head.offset!).toBeGreaterThanOrEqual(2 * chunkSize);
    expect(head.offset!).toBeLessThan(size);
    expect(answeredBy(head.headers.get(UPSTREAM_HEADER))).toBe(survivor.addr);
    const keptOffset = head.offset!;

    // Second run: a new tus-js-client Upload on the same URL through nginx. Its first PATCH meets
    // the dead holder's lease (423, up to 15 s) and is retried until the lease lapses.
    t = Date.now();
    const patches: string[] = [];
    const patchOffsets: number[] = [];
    const resumed = await runTusUpload(fs.createReadStream(file), {
      ...options,
      uploadUrl,
      retryDelays: Array.from({ length: 60 }, () => 1000),
      onBeforeRequest: (req) => {
        if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        if (req.getMethod() === 'POST') throw new Error('the resumed upload must not create a new one');
      },
      onAfterResponse: (req, res) => {
        const fileHeader = res.getHeader('X-Ferry-File-Id');
        const line = `${req.getMethod()} ${res.getStatus()}${fileHeader ? ` ${fileHeader}` : ''} ${res.getHeader('X-Ferry-Upstream') ?? '?'}`;
        served.push(line);
        if (req.getMethod() === 'PATCH') patches.push(line);
      },
    });
    const resumeSeconds = seconds(t);
    const killToCompleteSeconds = seconds(killedAt);
    expect(resumed.url).toBe(uploadUrl);
    expect(resumed.fileId).toBe(fileId);
    expect(patchOffsets[0]).toBe(keptOffset);
    const locked = patches.filter((p) => p.startsWith('PATCH 423')).length;
    // Only the lease's 423s and successes; every answer came from the survivor. A 423 is sent
    // before the body is read and the connection closed; when nginx is still writing that body
    // it may meet the closed socket first (EPIPE) and answer 502 in its place. tus-js-client
    // retries both, so that is allowed, but only while the dead instance's lease lasted.
    const firstSuccess = patches.findIndex((p) => p.startsWith('PATCH 204'));
    const leaseWindow = patches.slice(0, firstSuccess === -1 ? patches.length : firstSuccess);
    expect(leaseWindow.filter((p) => !p.startsWith('PATCH 423') && !p.startsWith('PATCH 502')), patches.join('\n')).toEqual([]);
    expect(patches.slice(leaseWindow.length).filter((p) => !p.startsWith('PATCH 204')), patches.join('\n')).toEqual([]);
    expect(patches.filter((p) => answeredBy(p) !== survivor.addr), patches.join('\n')).toEqual([]);
    expect(new Set(patchOffsets).size).toBe(Math.ceil((size - keptOffset) / chunkSize));

    // Download through nginx, hashed as it streams.
    t = Date.now();
    const got = await downloadSha256(`${base}/api/v1/files/${fileId}/download`, auth);
    const downloadSeconds = seconds(t);
    expect(got).toEqual({ status: 200, sha256: expected, bytes: size });

    const detail = await call(base, 'GET', `/api/v1/transfers/${transfer.id}`, { key: owner.key });
    expect(detail.body.data.files[0]).toMatchObject({ id: fileId, state: 'complete', size, sha256: expected });
    const finalized = await call(base, 'PUT', `/api/v1/transfers/${transfer.id}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body.data.state).toBe('ready');

    // The bytes are one object in the shared bucket, named by the upload id; no .info/.part left.
    const s3 = testS3Server()!;
    const bucket = stack!.env.FERRY_S3_BUCKET!;
    const client = createS3Client({ ...s3, bucket });
    try {
      const uploadId = uploadUrl.split('/').pop()!;
      const keys = await listObjectKeys(client, bucket);
      expect(keys.filter((k) => k.startsWith(uploadId))).toEqual([uploadId]);
      const object = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: uploadId }));
      expect(object.ContentLength).toBe(size);
    } finally {
      client.destroy();
    }
    expect(allLogs()).not.toMatch(/server_error/);

    // The killed instance comes back on the same port and folder for the next tests.
    t = Date.now();
    await start(victim!);
    const restartSeconds = seconds(t);
    console.info(
      `[scale-out 1 GiB] write+hash ${writeSeconds}s; first run ${firstRunSeconds}s, killed ${victim!.name} at ${(sentAtKill / MiB).toFixed(0)} MiB sent, ` +
        `kept ${(keptOffset / MiB).toFixed(1)} MiB; resume ${resumeSeconds}s on ${survivor.name} (${patches.length} PATCHes, ${locked} x 423 while the dead lease lasted); ` +
        `download+hash ${downloadSeconds}s; ` +
        `killed instance restarted in ${restartSeconds}s; kill -9 to upload complete ${killToCompleteSeconds}s; total ${seconds(started)}s`,
    );
    console.info(`[scale-out 1 GiB] requests: ${served.join(' | ')}`);
    await fsp.rm(file, { force: true });
  });

  it('a download aborted part-way resumes with Range through nginx on the other instance; the SHA-256 matches', { timeout: 240_000 }, async () => {
    for (const instance of instances) if (!instance.server.current) await start(instance);
    await waitBothUpstreams();
    const size = 48 * MiB + 4321;
    const file = path.join(dir!, 'range.bin');
    const expected = await writePatternFile(file, size);
    const transfer = await createTransfer(base, owner.key, { title: 'range', files: [{ name: 'range.bin', size }] });
    const fileId = transfer.files[0].id as string;
    const uploaded = await runTusUpload(fs.createReadStream(file), {
      endpoint: `${base}${UPLOADS}`,
      headers: auth,
      chunkSize: 16 * MiB,
      metadata: { transfer_id: transfer.id, file_id: fileId, filename: 'range.bin' },
    });
    expect(uploaded.fileId).toBe(fileId);
    const url = `${base}/api/v1/files/${fileId}/download`;

    // First attempt: read ~20 MiB, then drop the connection.
    const t = Date.now();
    const hash = runningSha256();
    const controller = new AbortController();
    const first = await fetch(url, { headers: auth, signal: controller.signal });
    expect(first.status).toBe(200);
    expect(Number(first.headers.get('content-length'))).toBe(size);
    expect(first.headers.get('accept-ranges')).toBe('bytes');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const firstUpstream = answeredBy(first.headers.get(UPSTREAM_HEADER));
    let received = 0;
    const reader = first.body!.getReader();
    while (received < 20 * MiB) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the download ended before it was aborted');
      hash.update(value);
      received += value.length;
    }
    controller.abort();
    await reader.cancel().catch(() => undefined);
    expect(received).toBeLessThan(size);

    // Resume from the first missing byte; If-Range with the ETag the other instance served.
    const rest = await fetch(url, { headers: { ...auth, range: `bytes=${received}-`, 'if-range': etag! } });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes ${received}-${size - 1}/${size}`);
    expect(rest.headers.get('etag')).toBe(etag);
    const secondUpstream = answeredBy(rest.headers.get(UPSTREAM_HEADER));
    expect(new Set([firstUpstream, secondUpstream])).toEqual(new Set(instances.map((i) => i.addr)));
    let restBytes = 0;
    for await (const chunk of Readable.fromWeb(rest.body as NodeReadableStream)) {
      hash.update(chunk as Buffer);
      restBytes += (chunk as Buffer).length;
    }
    expect(received + restBytes).toBe(size);
    expect(hash.digest('hex')).toBe(expected);
    expect(allLogs()).not.toMatch(/server_error/);

    // The request id crosses nginx: the client's own, else one nginx made ($request_id).
    const traced = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'scale-out-trace-1' } });
    expect(traced.headers.get('x-request-id')).toBe('scale-out-trace-1');
    const untraced = await fetch(`${base}/healthz`);
    expect(untraced.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    await Promise.all([traced.arrayBuffer(), untraced.arrayBuffer()]);
    console.info(
      `[scale-out range] ${(received / MiB).toFixed(1)} MiB from ${firstUpstream}, the remaining ${(restBytes / MiB).toFixed(1)} MiB (206) from ${secondUpstream}, ${seconds(t)}s`,
    );
    await fsp.rm(file, { force: true });
  });

  it('one rate-limit count across both instances (20/min: the 21st is 429) and a session from one instance works on the other', { timeout: 300_000 }, async () => {
    const limit = 20;
    // Both instances again, now with a small per-minute limit.
    for (const instance of instances) await stop(instance);
    for (const instance of instances) await start(instance, { FERRY_RATE_LIMIT_PER_MINUTE: String(limit) });
    await waitBothUpstreams();
    const [a, b] = instances.map((i) => i.server) as [ServerProcess, ServerProcess];

    // Session: sign in directly on A; B accepts the cookie for reads and (with the CSRF token)
    // writes; signing out on B ends it on A too.
    const email = 'scale-session@example.com';
    await signUp(a.baseUrl, email);
    const { cookie, csrf } = await signIn(a.baseUrl, email);
    const session = { cookie };
    const onB = await call(b.baseUrl, 'GET', '/api/v1/account', { headers: session });
    expect(onB.status, JSON.stringify(onB.body)).toBe(200);
    expect(JSON.stringify(onB.body.data)).toContain(email);
    const noCsrf = await call(b.baseUrl, 'POST', '/api/v1/keys', { headers: session, json: { name: 'from b', scopes: ['account:read'] } });
    expect([noCsrf.status, noCsrf.body.error?.code]).toEqual([403, 'csrf_failed']);
    const keyFromB = await call(b.baseUrl, 'POST', '/api/v1/keys', {
      headers: { ...session, 'x-csrf-token': csrf },
      json: { name: 'from b', scopes: ['account:read'] },
    });
    expect(keyFromB.status, JSON.stringify(keyFromB.body)).toBe(201);
    expect((await call(a.baseUrl, 'GET', '/api/v1/account', { key: keyFromB.body.data.key })).status).toBe(200);
    expect((await call(b.baseUrl, 'POST', '/api/v1/auth/logout', { headers: { ...session, 'x-csrf-token': csrf } })).status).toBe(204);
    const afterLogout = await call(a.baseUrl, 'GET', '/api/v1/account', { headers: session });
    expect(afterLogout.status).toBe(401);

    // Rate limit: a fresh account (its own count), requests with one key through nginx, which
    // alternates between the instances.
    // Signing up is anonymous, counted per address: the requests above from 127.0.0.1 may have
    // used this window's 20, so wait out Retry-After (a fresh address each attempt: a half-made
    // sign-up must not collide).
    let limited: Account | undefined;
    for (let attempt = 0; !limited; attempt++) {
      try {
        limited = await createAccount(base, `scale-limits-${attempt}@example.com`, ALL_USER_SCOPES);
      } catch (error) {
        const wait = /: 429 .*"retry_after":(\d+)/.exec(String(error));
        if (!wait || attempt > 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, (Number(wait[1]) + 1) * 1000));
      }
    }
    const get = async (target = base) => {
      const reply = await call(target, 'GET', '/api/v1/account', { key: limited.key });
      return {
        status: reply.status,
        body: reply.body,
        limit: Number(reply.headers.get('x-ratelimit-limit')),
        remaining: Number(reply.headers.get('x-ratelimit-remaining')),
        reset: Number(reply.headers.get('x-ratelimit-reset')),
        retryAfter: reply.headers.get('retry-after'),
        upstream: answeredBy(reply.headers.get(UPSTREAM_HEADER)),
      };
    };
    // The window is fixed (60 s): start well inside one so all requests below count in it.
    let probe = await get();
    if (probe.reset < 15) {
      await sleep((probe.reset + 1) * 1000);
      probe = await get();
    }
    expect(probe.status).toBe(200);
    expect(probe.limit).toBe(limit);
    const replies = [probe];
    for (let i = 0; i < limit + 5 && replies.at(-1)!.status === 200; i++) replies.push(await get());
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.at(-1)!;
    const trace = replies.map((r) => `${r.status} remaining=${r.remaining} via ${r.upstream}`).join('\n');
    // Every answer counts down the same counter, whichever instance gave it: request n of the
    // window leaves limit - n, the 20th leaves 0, and the 21st is refused.
    for (let i = 1; i < ok.length; i++) expect(ok[i]!.remaining, trace).toBe(ok[i - 1]!.remaining - 1);
    expect(ok.at(-1)!.remaining, trace).toBe(0);
    const firstIndexInWindow = limit - ok[0]!.remaining;
    expect(firstIndexInWindow + ok.length - 1, trace).toBe(limit);
    expect(refused.status, trace).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    // Both instances answered part of the 20 (each alone would have allowed 20 of its own).
    for (const instance of instances) {
      const count = ok.filter((r) => r.upstream === instance.addr).length;
      expect(count, trace).toBeGreaterThan(0);
      expect(count, trace).toBeLessThan(limit);
    }
    // Asked directly, each instance refuses the key too.
    for (const instance of instances) {
      const direct = await get(instance.server.baseUrl);
      expect([direct.status, direct.body.error?.code], instance.name).toEqual([429, 'rate_limited']);
      expect(direct.retryAfter).toBeTruthy();
    }
    console.info(
      `[scale-out limits] ${ok.length} allowed in the window (from #${firstIndexInWindow}): ` +
        instances.map((i) => `${i.name} ${ok.filter((r) => r.upstream === i.addr).length}`).join(', ') +
        `; #${limit + 1} answered 429 by ${refused.upstream} with Retry-After ${refused.retryAfter}`,
    );
  });
});
