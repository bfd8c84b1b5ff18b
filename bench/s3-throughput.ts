/**
 * Ferry on S3: upload and download throughput through Ferry against the same bytes moved directly
 * to and from the same S3 server with the AWS SDK, same run, interleaved rounds.
 *
 *   env=$(scripts/services.sh start) || exit 1; eval "$env"     # PostgreSQL, Redis, S3 (radosgw)
 *   npx tsx bench/s3-throughput.ts                               # 256 MiB, 3 rounds
 *   BENCH_S3_SIZE_MIB=1024 BENCH_ROUNDS=3 npx tsx bench/s3-throughput.ts
 *
 * Needs the scale-out services and their FERRY_TEST_* settings (scripts/services.sh prints them).
 * The run makes its own fresh bucket (ferry-bench-<random>), PostgreSQL database
 * (ferry_bench_<random>) and Redis key prefix, and removes all three at the end (also on error
 * or Ctrl-C). Two Ferry servers (`node --import tsx`, FERRY_STORAGE=s3) share them, as two
 * instances of one deployment do: "stream" (FERRY_S3_REDIRECT_DOWNLOADS=false, Ferry streams
 * downloads from S3) takes every upload and the streamed downloads; "redirect" (=true, downloads
 * answer 302 to a presigned S3 GET) takes the redirected downloads.
 *
 * Every round runs each operation once on the same random file (orders rotate per round):
 *   uploads    S3 multipart (lib-storage, 8 MiB parts, 4 in flight; the baseline),
 *              S3 PutObject (one stream; a reference for Ferry's single-stream uploads),
 *              Ferry tus (POST + one PATCH of the whole file) and Ferry curl -T (PUT /<name>),
 *              the same clients as bench/upload-protocols.ts (bench/upload-clients.ts).
 *   downloads  S3 GetObject with the SDK (the baseline) and a presigned S3 GET read with node:http
 *              (the client of the Ferry rows, so client differences show) of the multipart-uploaded
 *              object; Ferry streamed and Ferry redirected (the client follows the 302, without the
 *              API key) of the file uploaded by tus.
 * Every download hashes the body in the timed part and must equal the source's SHA-256; every Ferry
 * upload's stored SHA-256 is checked (untimed). Timed: from the first request to the answer that says
 * the file is complete (uploads; for tus this includes Ferry reading the object back for its
 * digest, for curl -T the copy from the temp object to the file's key) or to the last body byte
 * (downloads). Untimed between operations: `sync`, and deleting what is no longer needed (Ferry
 * transfers via DELETE and the sweeper, FERRY_PURGE_GRACE=0) until the bucket holds only what the
 * next operations read. Peak RSS is reset (clear_refs) before each Ferry operation, so it is that
 * operation's own peak; CPU is the Ferry process's user+system seconds during the operation.
 *
 * The direct-S3 clients use Ferry's own S3 client configuration (s3ClientConfig: keep-alive,
 * checksums only when required). Each round writes about 5x the file size to S3 (baseline,
 * PutObject, tus, curl -T's temp object and its copy), with up to 3 copies live at once; radosgw
 * frees deleted data only after its garbage collection (about a minute with scripts/services.sh,
 * whose in-memory OSD holds 8 GiB, shared with whatever else runs on it).
 *
 * The S3 server shares this machine's CPUs with Ferry and the client: read the ratios, not the
 * absolute numbers.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createS3Client, type S3Settings } from '../packages/server/src/storage/s3-client.ts';
import { dropBucket } from '../packages/server/test/support/test-s3.ts';
import { GiB, MiB, api, fmtSize, freePort, generateFile, median, mibps, procCpuSeconds, procStatusBytes, startServer, stopServer, syncDisks, table, type Server } from './bench-util.ts';
import { createApiKey, envInt, resetPeakRss } from './bench-client.ts';
import { BenchLifecycle } from './bench-lifecycle.ts';
import { curlPut, tusSingle, type Done, type Job, type Protocol, type Target } from './upload-clients.ts';
import { hashedGet, s3Delete, s3GetHashed, s3Keys, s3MultipartUpload, s3PresignedGet, s3PutObject, s3Size, type HashedGet } from './s3-clients.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const serverDir = path.join(benchDir, '..', 'packages', 'server');

// ---------------------------------------------------------------- settings

const REQUIRED_ENV = [
  'FERRY_TEST_DATABASE_URL',
  'FERRY_TEST_REDIS_URL',
  'FERRY_TEST_S3_ENDPOINT',
  'FERRY_TEST_S3_ACCESS_KEY_ID',
  'FERRY_TEST_S3_SECRET_ACCESS_KEY',
  'FERRY_TEST_S3_REGION',
] as const;

const missingEnv = REQUIRED_ENV.filter((name) => !process.env[name]?.trim());
if (missingEnv.length) {
  process.stderr.write(
    `s3-throughput: needs the scale-out services (PostgreSQL, Redis, S3); not set: ${missingEnv.join(', ')}.\n` +
      'Start them and export their settings, then run the bench again:\n\n' +
      '  eval "$(scripts/services.sh start)"\n' +
      '  npx tsx bench/s3-throughput.ts\n',
  );
  process.exit(2);
}
const env = (name: (typeof REQUIRED_ENV)[number]) => process.env[name]!.trim();

const SIZE = envInt('BENCH_S3_SIZE_MIB', 256, 1) * MiB;
const ROUNDS = envInt('BENCH_ROUNDS', 3, 1);
const BASE_PART_SIZE = 8 * MiB;
const BASE_QUEUE_SIZE = 4;
/** How long an S3 write may take before the preflight calls the S3 server stuck. */
const PREFLIGHT_MS = 30_000;

const runId = randomBytes(6).toString('hex');
const BUCKET = `ferry-bench-${runId}`;
const DB_NAME = `ferry_bench_${runId}`;
const REDIS_PREFIX = `ferry-bench-${runId}:`;
const s3Settings: S3Settings = {
  endpoint: env('FERRY_TEST_S3_ENDPOINT'),
  bucket: BUCKET,
  region: env('FERRY_TEST_S3_REGION'),
  accessKeyId: env('FERRY_TEST_S3_ACCESS_KEY_ID'),
  secretAccessKey: env('FERRY_TEST_S3_SECRET_ACCESS_KEY'),
  forcePathStyle: true,
};

// ---------------------------------------------------------------- cleanup (errors, Ctrl-C, exit)

/** BenchLifecycle (servers, work dir), then the bucket, database and Redis keys of this run. */
class S3BenchLifecycle extends BenchLifecycle {
  readonly undo: { what: string; run: () => Promise<void> }[] = [];

  override async cleanup(): Promise<void> {
    await super.cleanup();
    while (this.undo.length) {
      const step = this.undo.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        // Bounded: a stuck S3 server (or database) must not keep the bench from exiting.
        await Promise.race([
          step.run(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('no answer within 120 s')), 120_000);
          }),
        ]);
      } catch (error) {
        process.stderr.write(`  cleanup: could not remove ${step.what}: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
const life = new S3BenchLifecycle();

async function pgAdmin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: env('FERRY_TEST_DATABASE_URL') });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function createDatabase(): Promise<string> {
  await pgAdmin(`CREATE DATABASE ${DB_NAME}`);
  life.undo.push({ what: `database ${DB_NAME}`, run: () => pgAdmin(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`) });
  const url = new URL(env('FERRY_TEST_DATABASE_URL'));
  url.pathname = `/${DB_NAME}`;
  return url.toString();
}

async function dropRedisKeys(): Promise<void> {
  const redis = new Redis(env('FERRY_TEST_REDIS_URL'), { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Creates the run's bucket and writes and deletes one small object, each within PREFLIGHT_MS: an
 * S3 server that cannot take writes (a full Ceph OSD makes radosgw hang) fails here with a clear
 * message instead of hanging Ferry's start-up.
 */
async function preflight(client: S3Client): Promise<void> {
  const step = async (what: string, run: (signal: AbortSignal) => Promise<unknown>) => {
    const signal = AbortSignal.timeout(PREFLIGHT_MS);
    try {
      await run(signal);
    } catch (error) {
      const hung = signal.aborted;
      throw new Error(
        `S3 preflight: ${what} on ${s3Settings.endpoint} ${hung ? `did not finish within ${PREFLIGHT_MS / 1000} s` : `failed: ${String(error)}`}.` +
          (hung ? ' The S3 server takes no writes; radosgw hangs like this when its Ceph OSD is full (see `ceph health` with the ceph.conf of scripts/services.sh).' : ''),
      );
    }
  };
  // Registered first: if creation hangs and completes later, the bucket is still removed.
  life.undo.push({ what: `bucket ${BUCKET}`, run: () => dropBucket(s3Settings) });
  await step(`CreateBucket ${BUCKET}`, (abortSignal) => client.send(new CreateBucketCommand({ Bucket: BUCKET }), { abortSignal }));
  await step('PutObject of a 1 KiB probe', (abortSignal) => client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'preflight', Body: randomBytes(1024) }), { abortSignal }));
  await step('DeleteObject of the probe', (abortSignal) => client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'preflight' }), { abortSignal }));
}

// ---------------------------------------------------------------- operations

type OpId = 's3-multipart' | 's3-put' | 'tus' | 'curl-T' | 's3-get' | 's3-url' | 'stream' | 'redirect';
interface OpDef {
  id: OpId;
  kind: 'upload' | 'download';
  label: string;
  /** The direct-S3 operation this one is compared with (none for the baselines). */
  baseline?: OpId;
  /**
   * A second direct-S3 reference: for uploads one PutObject stream (Ferry's uploads are single
   * streams), for downloads a presigned GET read with the same node:http client as Ferry's rows.
   */
  ref?: OpId;
  /** Which Ferry server does the work (none for direct S3). */
  server?: 'stream' | 'redirect';
}
const OPS: OpDef[] = [
  { id: 's3-multipart', kind: 'upload', label: `S3 multipart (${BASE_PART_SIZE / MiB} MiB x ${BASE_QUEUE_SIZE})` },
  { id: 's3-put', kind: 'upload', label: 'S3 PutObject (1 stream)', baseline: 's3-multipart' },
  { id: 'tus', kind: 'upload', label: 'Ferry tus (POST + 1 PATCH)', baseline: 's3-multipart', ref: 's3-put', server: 'stream' },
  { id: 'curl-T', kind: 'upload', label: 'Ferry curl -T (PUT /name)', baseline: 's3-multipart', ref: 's3-put', server: 'stream' },
  { id: 's3-get', kind: 'download', label: 'S3 GetObject (SDK)' },
  { id: 's3-url', kind: 'download', label: 'S3 presigned GET (node:http)', baseline: 's3-get' },
  { id: 'stream', kind: 'download', label: 'Ferry streamed (200)', baseline: 's3-get', ref: 's3-url', server: 'stream' },
  { id: 'redirect', kind: 'download', label: 'Ferry redirect (302 -> S3)', baseline: 's3-get', ref: 's3-url', server: 'redirect' },
];

interface Measure {
  round: number;
  seconds: number;
  mibps: number;
  /** Ferry operations: CPU seconds of the Ferry process, its peak RSS during the operation. */
  serverCpu?: number;
  peakRss?: number;
  rssReset?: boolean;
}
interface OpResult {
  def: OpDef;
  measures: Measure[];
  error?: string;
}

interface Ctx {
  client: S3Client;
  source: string;
  sha256: string;
  servers: Record<'stream' | 'redirect', Server>;
  target: Target;
  results: Map<OpId, OpResult>;
}

/** What one round keeps between its uploads and its downloads. */
interface RoundState {
  baselineKey?: string;
  /** The Ferry file the Ferry downloads read (the tus one), and its transfer. */
  ferryFile?: { fileId: string; transferId: string; via: OpId };
}

/** Deletes a Ferry transfer and waits (untimed) until its objects left the bucket: `keep` is what should stay. */
async function deleteTransfer(ctx: Ctx, transferId: string, keep: string[]): Promise<void> {
  await api(ctx.target.base, 'DELETE', `/api/v1/transfers/${transferId}`, { headers: ctx.target.auth, expect: 204 });
  await waitForBucket(ctx, keep, `deleting transfer ${transferId}`);
}

/** Polls the bucket until it holds exactly `keep`; warns (with the leftovers) after 30 s. */
async function waitForBucket(ctx: Ctx, keep: string[], after: string): Promise<void> {
  const want = [...keep].sort().join('\n');
  const deadline = Date.now() + 30_000;
  let keys = await s3Keys(ctx.client, BUCKET);
  while (keys.join('\n') !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    keys = await s3Keys(ctx.client, BUCKET);
  }
  const extra = keys.filter((k) => !keep.includes(k));
  const gone = keep.filter((k) => !keys.includes(k));
  if (extra.length || gone.length) {
    console.log(`  warning: 30 s after ${after} the bucket ${extra.length ? `still holds ${extra.join(', ')}` : ''}${gone.length ? ` lacks ${gone.join(', ')}` : ''}`);
  }
}

function checkDownload(what: string, got: HashedGet, ctx: Ctx, expectFirst: number): void {
  if (got.firstStatus !== expectFirst) throw new Error(`${what}: first answer HTTP ${got.firstStatus}, expected ${expectFirst}${got.body ? `: ${got.body.slice(0, 1000)}` : ''}`);
  if (got.status !== 200) throw new Error(`${what}: HTTP ${got.status}${got.location ? ` from ${got.location}` : ''}: ${got.body.slice(0, 1000)}`);
  if (got.bytes !== SIZE) throw new Error(`${what}: ${got.bytes} bytes, expected ${SIZE}`);
  if (got.sha256 !== ctx.sha256) throw new Error(`${what}: body SHA-256 ${got.sha256}, expected ${ctx.sha256}`);
}

/** A Ferry upload's result must name a complete file of the source's size and SHA-256. */
async function checkFerryUpload(ctx: Ctx, id: string, done: Done): Promise<{ fileId: string; transferId: string }> {
  if (!done.transferId) throw new Error(`${id}: the answer named no transfer`);
  if (!done.fileId) throw new Error(`${id}: the answer named no file`);
  const file = (await api(ctx.target.base, 'GET', `/api/v1/files/${done.fileId}`, { headers: ctx.target.auth, expect: 200 })).json.data;
  if (file.state !== 'complete' || file.size !== SIZE || file.sha256 !== ctx.sha256) {
    throw new Error(`${id}: stored file ${JSON.stringify(file)}, expected complete, ${SIZE} bytes, sha256 ${ctx.sha256}`);
  }
  if (done.sha256 && done.sha256 !== ctx.sha256) throw new Error(`${id}: the upload answered sha256 ${done.sha256}, expected ${ctx.sha256}`);
  return { fileId: done.fileId, transferId: done.transferId };
}

/** An operation that cannot run this round because one it reads from failed (not a failure of its own). */
class Skip extends Error {}

/**
 * Runs one operation: untimed set-up, then the timed part, then the untimed check, which records
 * in `state` what the round's downloads read (the baseline object's key, the Ferry file).
 */
async function runOp(ctx: Ctx, def: OpDef, round: number, state: RoundState): Promise<void> {
  if (life.aborting) throw new Error('aborted');
  const tag = `r${round}-${def.id}-${runId}`;
  const job: Job = { file: ctx.source, size: SIZE, tag, parallel: 1, chunkSize: SIZE };
  const server = def.server ? ctx.servers[def.server] : undefined;

  // Set-up (untimed); `run` is the timed part, `after` the untimed check and tidy-up.
  let run: () => Promise<unknown>;
  let after: (out: unknown) => Promise<void> = async () => undefined;
  switch (def.id) {
    case 's3-multipart': {
      const key = `baseline/${tag}.bin`;
      run = () => s3MultipartUpload(ctx.client, BUCKET, key, ctx.source, BASE_PART_SIZE, BASE_QUEUE_SIZE);
      after = async () => {
        const size = await s3Size(ctx.client, BUCKET, key);
        if (size !== SIZE) throw new Error(`${def.id}: object ${key} has ${size} bytes, expected ${SIZE}`);
        state.baselineKey = key;
      };
      break;
    }
    case 's3-put': {
      const key = `baseline/${tag}.bin`;
      run = () => s3PutObject(ctx.client, BUCKET, key, ctx.source, SIZE);
      after = async () => {
        const size = await s3Size(ctx.client, BUCKET, key);
        await s3Delete(ctx.client, BUCKET, key);
        if (size !== SIZE) throw new Error(`${def.id}: object ${key} has ${size} bytes, expected ${SIZE}`);
      };
      break;
    }
    case 'tus':
    case 'curl-T': {
      const protocol: Protocol = def.id === 'tus' ? tusSingle : curlPut;
      const keysBefore = await s3Keys(ctx.client, BUCKET);
      run = await protocol.prepare(ctx.target, job);
      after = async (out) => {
        const done = out as Done;
        let file: { fileId: string; transferId: string };
        try {
          file = await checkFerryUpload(ctx, def.id, done);
        } catch (error) {
          // Not kept, whatever is wrong with it (the error says what).
          if (done.transferId) await api(ctx.target.base, 'DELETE', `/api/v1/transfers/${done.transferId}`, { headers: ctx.target.auth, expect: 204 }).catch(() => undefined);
          throw error;
        }
        // The tus file is what the Ferry downloads read; the curl -T one goes at once, unless tus
        // has failed for good (then it stands in, and the report says so).
        const tusGone = ctx.results.get('tus')!.error !== undefined;
        if (!state.ferryFile && (def.id === 'tus' || tusGone)) state.ferryFile = { ...file, via: def.id };
        else await deleteTransfer(ctx, file.transferId, keysBefore);
      };
      break;
    }
    case 's3-get': {
      const key = state.baselineKey;
      if (!key) throw new Skip('no baseline object this round (the S3 multipart upload failed)');
      run = () => s3GetHashed(ctx.client, BUCKET, key);
      after = async (out) => checkDownload(def.id, { ...(out as { bytes: number; sha256: string }), status: 200, firstStatus: 200, seconds: 0, body: '' }, ctx, 200);
      break;
    }
    case 's3-url': {
      const key = state.baselineKey;
      if (!key) throw new Skip('no baseline object this round (the S3 multipart upload failed)');
      const url = await s3PresignedGet(ctx.client, BUCKET, key);
      run = () => hashedGet(url, {}, false);
      after = async (out) => checkDownload(def.id, out as HashedGet, ctx, 200);
      break;
    }
    case 'stream':
    case 'redirect': {
      const file = state.ferryFile;
      if (!file) throw new Skip('no Ferry file this round (the Ferry uploads failed)');
      if (file.via !== 'tus') console.log(`  (${def.label} reads the ${file.via} file: tus failed)`);
      const url = `${server!.base}/api/v1/files/${file.fileId}/download`;
      run = () => hashedGet(url, ctx.target.auth, def.id === 'redirect');
      after = async (out) => {
        const got = out as HashedGet;
        checkDownload(def.id, got, ctx, def.id === 'redirect' ? 302 : 200);
        if (def.id === 'redirect' && !got.location?.startsWith(s3Settings.endpoint!)) {
          throw new Error(`redirect: Location ${got.location} does not point at the S3 server ${s3Settings.endpoint}`);
        }
      };
      break;
    }
  }

  syncDisks();
  const rssReset = server ? resetPeakRss(server.pid) : false;
  const cpu0 = server ? procCpuSeconds(server.pid) : 0;
  const started = performance.now();
  const out = await run();
  const seconds = (performance.now() - started) / 1000;
  const m: Measure = { round, seconds, mibps: mibps(SIZE, seconds) };
  if (server) {
    m.serverCpu = procCpuSeconds(server.pid) - cpu0;
    m.peakRss = procStatusBytes(server.pid, 'VmHWM');
    m.rssReset = rssReset;
  }
  await after(out);
  ctx.results.get(def.id)!.measures.push(m);
  console.log(
    `  ${def.label.padEnd(30)} ${m.mibps.toFixed(1).padStart(8)} MiB/s ${seconds.toFixed(2).padStart(7)} s` +
      (server ? `  ${server.name} CPU ${m.serverCpu!.toFixed(2)} s  peak RSS ${(m.peakRss! / MiB).toFixed(0)} MiB` : ''),
  );
}

/** Runs `defs` in an order rotated by the round; a failing operation is reported and skipped from then on. */
async function runGroup(ctx: Ctx, defs: OpDef[], round: number, state: RoundState): Promise<void> {
  const order = defs.map((_, i) => defs[(i + round - 1) % defs.length]!);
  for (const def of order) {
    const result = ctx.results.get(def.id)!;
    if (result.error) continue;
    try {
      await runOp(ctx, def, round, state);
    } catch (error) {
      if (error instanceof Skip) {
        console.log(`  ${def.label}: skipped this round: ${error.message}`);
        continue;
      }
      const dead = Object.values(ctx.servers).find((s) => s.child.exitCode !== null || s.child.signalCode !== null);
      if (dead || life.aborting) throw error;
      result.error = `round ${round}: ${error instanceof Error ? error.message : String(error)}`;
      console.log(`  ${def.label}: FAILED, skipped from now on: ${result.error}`);
    }
  }
}

// ---------------------------------------------------------------- report

function report(ctx: Ctx, idle: Record<'stream' | 'redirect', number>): void {
  const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
  const medianOf = (id: OpId) => {
    const list = ctx.results.get(id)!.measures;
    return list.length ? median(list.map((m) => m.mibps)) : NaN;
  };
  /** Median ratio, and the same-round ratios in round order. */
  const versus = (r: OpResult, other: OpId | undefined): [string, string] => {
    if (!other) return ['-', '-'];
    const o = ctx.results.get(other)!.measures;
    const perRound = r.measures.map((m) => {
      const b = o.find((x) => x.round === m.round);
      return b ? (m.mibps / b.mibps).toFixed(2) : '-';
    });
    return [ratio(medianOf(r.def.id) / medianOf(other)), perRound.join(' ')];
  };
  const rows: string[][] = [['', 'operation', 'MiB/s', 'per round', 'vs S3 baseline', 'per round', 'vs S3 ref', 'per round', 'Ferry CPU s/GiB', 'Ferry peak RSS']];
  for (const def of OPS) {
    const r = ctx.results.get(def.id)!;
    if (!r.measures.length) {
      rows.push([def.kind, def.label, 'FAILED', ...Array(7).fill('-')]);
      continue;
    }
    const cpu = r.measures.filter((m) => m.serverCpu !== undefined).map((m) => m.serverCpu!);
    const rss = r.measures.filter((m) => m.peakRss !== undefined).map((m) => m.peakRss!);
    rows.push([
      def.kind,
      def.label + (r.error ? ' (then FAILED)' : ''),
      medianOf(def.id).toFixed(1),
      r.measures.map((m) => m.mibps.toFixed(0)).join(' '),
      ...(def.baseline ? versus(r, def.baseline) : ['(baseline)', '']),
      ...versus(r, def.ref),
      cpu.length ? (median(cpu) / (SIZE / GiB)).toFixed(2) : '-',
      rss.length ? `${(Math.max(...rss) / MiB).toFixed(0)} MiB` : '-',
    ]);
  }
  console.log(
    `\nFerry on S3, ${fmtSize(SIZE)}: MiB/s = 2^20 bytes per second, the median of ${ROUNDS} interleaved rounds (per round: in round order).\n` +
      'vs S3 baseline = median / median of the direct-S3 baseline (uploads: S3 multipart; downloads: S3 GetObject with the SDK).\n' +
      'vs S3 ref = the same against a second direct-S3 reference: uploads: one PutObject stream (Ferry\'s uploads here are single\n' +
      'streams); downloads: a presigned GET of the baseline object read with the same node:http client as the Ferry rows.\n' +
      'per round = ratios of same-round pairs.\n',
  );
  console.log(table(rows));
  const resetOk = [...ctx.results.values()].every((r) => r.measures.every((m) => m.rssReset !== false));
  console.log(
    '\nFerry peak RSS: ' +
      (resetOk ? "each operation's own peak (VmHWM reset before it), largest over the rounds" : 'VmHWM could not be reset: peaks since start-up') +
      `; idle RSS after start-up and sign-in: stream server ${(idle.stream / MiB).toFixed(0)} MiB, redirect server ${(idle.redirect / MiB).toFixed(0)} MiB.\n` +
      'Ferry CPU: the Ferry process that served the operation (the redirect server only answers the 302; the bytes come from S3).\n' +
      'Downloads read the tus-uploaded file (Ferry) and the multipart-uploaded object (S3); every body was hashed and matched the source.',
  );
  const failed = [...ctx.results.values()].filter((r) => r.error);
  if (failed.length) {
    console.log('\nFailures');
    for (const r of failed) console.log(`  ${r.def.label}: ${r.error}`);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(
    `Ferry on S3 throughput: ${fmtSize(SIZE)}, ${ROUNDS} rounds, S3 ${s3Settings.endpoint} bucket ${BUCKET}, PostgreSQL database ${DB_NAME}, ` +
      `Redis prefix ${REDIS_PREFIX}, node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const client = createS3Client(s3Settings);
  life.undo.push({ what: 'the S3 client', run: async () => client.destroy() });
  await preflight(client);

  life.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-s3-'));
  const source = path.join(life.workDir, 'source.bin');
  const t0 = Date.now();
  const sha256 = (await generateFile(source, SIZE, [])).get(SIZE)!;
  syncDisks();
  console.log(`Generated ${fmtSize(SIZE)} test file in ${((Date.now() - t0) / 1000).toFixed(1)} s (sha256 ${sha256})`);

  const databaseUrl = await createDatabase();
  life.undo.push({ what: `Redis keys ${REDIS_PREFIX}*`, run: dropRedisKeys });
  const secret = randomBytes(32).toString('hex');
  const start = async (name: 'stream' | 'redirect'): Promise<Server> => {
    const port = await freePort();
    const dataDir = path.join(life.workDir!, `ferry-${name}`);
    const server = await startServer(`ferry-${name}`, 'src/main.ts', serverDir, port, {
      FERRY_DATA_DIR: dataDir,
      FERRY_DATABASE_URL: databaseUrl,
      FERRY_REDIS_URL: env('FERRY_TEST_REDIS_URL'),
      FERRY_REDIS_PREFIX: REDIS_PREFIX,
      FERRY_SECRET: secret,
      FERRY_STORAGE: 's3',
      FERRY_S3_ENDPOINT: s3Settings.endpoint!,
      FERRY_S3_BUCKET: BUCKET,
      FERRY_S3_REGION: s3Settings.region,
      FERRY_S3_ACCESS_KEY_ID: s3Settings.accessKeyId!,
      FERRY_S3_SECRET_ACCESS_KEY: s3Settings.secretAccessKey!,
      FERRY_S3_FORCE_PATH_STYLE: 'true',
      FERRY_S3_REDIRECT_DOWNLOADS: name === 'redirect' ? 'true' : 'false',
      FERRY_PURGE_GRACE: '0',
      FERRY_SWEEP_INTERVAL: '1',
      FERRY_PORT: String(port),
      FERRY_HOST: '127.0.0.1',
      FERRY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      FERRY_LOG_LEVEL: 'warn',
      FERRY_RATE_LIMIT_PER_MINUTE: '1000000',
      FERRY_MAX_TRANSFER_SIZE: String(2 * SIZE + GiB),
    });
    life.live.add(server);
    return server;
  };
  // One after the other: both migrate the same fresh database at start-up.
  const servers = { stream: await start('stream'), redirect: await start('redirect') };
  console.log(`  servers: stream pid ${servers.stream.pid} (${servers.stream.base}), redirect pid ${servers.redirect.pid} (${servers.redirect.base})`);
  const target: Target = { base: servers.stream.base, auth: { authorization: `Bearer ${await createApiKey(servers.stream.base)}` } };
  const idle = { stream: procStatusBytes(servers.stream.pid, 'VmRSS'), redirect: procStatusBytes(servers.redirect.pid, 'VmRSS') };

  const ctx: Ctx = { client, source, sha256, servers, target, results: new Map(OPS.map((def) => [def.id, { def, measures: [] }])) };
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`\nRound ${round}/${ROUNDS}`);
    const state: RoundState = {};
    await runGroup(ctx, OPS.filter((d) => d.kind === 'upload'), round, state);
    await runGroup(ctx, OPS.filter((d) => d.kind === 'download'), round, state);
    // Untimed: the next round starts from an empty bucket.
    if (state.baselineKey) await s3Delete(client, BUCKET, state.baselineKey);
    if (state.ferryFile) await api(target.base, 'DELETE', `/api/v1/transfers/${state.ferryFile.transferId}`, { headers: target.auth, expect: 204 });
    await waitForBucket(ctx, [], `round ${round}`);
  }

  for (const s of Object.values(servers)) {
    await stopServer(s);
    life.live.delete(s);
    const said = s.output().trim();
    if (said) console.log(`\n  ${s.name} printed (last 8000 chars):\n${said.replace(/^/gm, '    ')}`);
  }
  report(ctx, idle);
  console.log(`\nload at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main()
  .then(() => life.cleanup())
  .catch(async (error: unknown) => {
    if (life.aborting) return; // the signal handler is cleaning up and will exit
    process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    for (const s of life.live) process.stderr.write(`\n--- last output of ${s.name} (pid ${s.pid}) ---\n${s.output()}\n`);
    await life.cleanup();
    process.exitCode = 1;
  });
