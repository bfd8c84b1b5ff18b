/**
 * Single-stream transfer throughput of Ferry against a bare node:http baseline, same run, same client.
 *
 *   npm run bench                                              # 2 GiB, 3 rounds
 *   FERRY_BENCH_SIZE=268435456 FERRY_BENCH_ROUNDS=2 npm run bench   # quick check
 *   FERRY_BENCH_BASELINE_FSYNC=1 npm run bench                 # also time a baseline upload that fsyncs
 *
 * Both servers are separate `node --import tsx` processes. Each phase (first 1/8 of the size, then
 * the full size) starts fresh servers, runs FERRY_BENCH_ROUNDS interleaved rounds of
 * baseline upload, Ferry upload, baseline download, Ferry download, and reads each server's peak
 * RSS (VmHWM) at the end. The baseline writes a new file per upload, as Ferry stores each upload
 * as a new blob (overwriting one file is cheaper on this VM). Before every timed operation `sync` flushes dirty pages (untimed), so
 * one operation's writeback does not land in the next one's time. The machine is noisy: read the
 * ratios, not the absolute numbers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GiB,
  MiB,
  api,
  fmtSize,
  freePort,
  generateFile,
  mibps,
  procCpuSeconds,
  procStatusBytes,
  startServer,
  stopServer,
  syncDisks,
  timedDownload,
  timedUpload,
  type Server,
  type Timed,
} from './bench-util.ts';
import { BenchLifecycle } from './bench-lifecycle.ts';
import { createApiKey, envInt } from './bench-client.ts';
import { report, type Op, type PhaseResult, type Sample, type Who } from './bench-report.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const serverDir = path.join(repoRoot, 'packages', 'server');


const SIZE = envInt('FERRY_BENCH_SIZE', 2 * GiB, 8);
const ROUNDS = envInt('FERRY_BENCH_ROUNDS', 3, 1);
const BASELINE_FSYNC = ['1', 'true', 'yes'].includes(process.env.FERRY_BENCH_BASELINE_FSYNC?.trim().toLowerCase() ?? '');
/** The smaller size run first, to show peak RSS does not follow file size. Whole MiB when possible. */
const SMALL = SIZE >= 8 * MiB ? Math.floor(SIZE / 8 / MiB) * MiB : Math.floor(SIZE / 8);

// ---------------------------------------------------------------- cleanup (errors, Ctrl-C, exit)

const life = new BenchLifecycle();

// ---------------------------------------------------------------- one phase

async function startBoth(size: number, phaseDir: string, bareDir: string): Promise<{ ferry: Server; bare: Server }> {
  const [barePort, ferryPort] = [await freePort(), await freePort()];
  const bareScript = path.join(benchDir, 'bare-server.ts');
  const bare = await startServer('baseline', bareScript, repoRoot, barePort, { BARE_PORT: String(barePort), BARE_DIR: bareDir });
  life.live.add(bare);
  const ferry = await startServer('ferry', 'src/main.ts', serverDir, ferryPort, {
    FERRY_DATA_DIR: path.join(phaseDir, 'ferry-data'),
    FERRY_PORT: String(ferryPort),
    FERRY_LOG_LEVEL: 'warn',
    FERRY_RATE_LIMIT_PER_MINUTE: '100000',
    FERRY_MAX_TRANSFER_SIZE: String(2 * size + GiB),
  });
  life.live.add(ferry);
  return { ferry, bare };
}


function check(t: Timed, what: string, status: number, bytes: number): void {
  if (t.status !== status) throw new Error(`${what}: HTTP ${t.status}, expected ${status}: ${t.body.slice(0, 2000)}`);
  if (t.bytes !== bytes) throw new Error(`${what}: ${t.bytes} bytes, expected ${bytes}`);
}

async function runPhase(sourceFile: string, size: number, sha256: string): Promise<PhaseResult> {
  const phaseDir = path.join(life.workDir!, `phase-${size}`);
  fs.mkdirSync(phaseDir);
  const bareDir = path.join(phaseDir, 'baseline-data');
  fs.mkdirSync(bareDir);
  const { ferry, bare } = await startBoth(size, phaseDir, bareDir);
  console.log(`  servers: ferry pid ${ferry.pid} (${ferry.base}), baseline pid ${bare.pid} (${bare.base})`);
  const key = await createApiKey(ferry.base);
  const auth = { authorization: `Bearer ${key}` };
  const idle = { ferry: procStatusBytes(ferry.pid, 'VmRSS'), baseline: procStatusBytes(bare.pid, 'VmRSS') };
  const samples: Sample[] = [];

  const timed = async (who: Who, op: Op, round: number, server: Server, run: () => Promise<Timed>, verify: (t: Timed) => void) => {
    if (life.aborting) throw new Error('aborted');
    syncDisks();
    const cpu0 = procCpuSeconds(server.pid);
    const t = await run();
    const serverCpu = procCpuSeconds(server.pid) - cpu0;
    verify(t);
    const sample: Sample = { who, op, round, seconds: t.seconds, mibps: mibps(size, t.seconds), serverCpu };
    samples.push(sample);
    console.log(
      `  round ${round}/${ROUNDS}  ${`${who} ${op}`.padEnd(24)} ${sample.mibps.toFixed(1).padStart(8)} MiB/s` +
        `  ${t.seconds.toFixed(2).padStart(7)} s  server CPU ${serverCpu.toFixed(2)} s`,
    );
  };

  for (let round = 1; round <= ROUNDS; round++) {
    const created = await api(ferry.base, 'POST', '/api/v1/transfers', {
      headers: auth,
      body: { title: `bench ${fmtSize(size)} round ${round}`, files: [{ name: 'big.bin', size }] },
      expect: 201,
    });
    const transferId: string = created.json.data.id;
    const fileId: string = created.json.data.files[0].id;
    const ferryPut = `${ferry.base}/api/v1/transfers/${transferId}/files/${fileId}/content`;
    const ferryGet = `${ferry.base}/api/v1/files/${fileId}/download`;
    // A new baseline file per round, as Ferry stores every upload as a new blob.
    const bareUrl = `${bare.base}/blob/round-${round}.bin`;

    await timed('baseline', 'upload', round, bare, () => timedUpload(bareUrl, sourceFile, size), (t) => check(t, 'baseline upload', 200, size));
    if (BASELINE_FSYNC) {
      await timed('baseline+fsync', 'upload', round, bare, () => timedUpload(`${bare.base}/blob/round-${round}-fsync.bin?fsync=1`, sourceFile, size), (t) =>
        check(t, 'baseline+fsync upload', 200, size),
      );
    }
    await timed('ferry', 'upload', round, ferry, () => timedUpload(ferryPut, sourceFile, size, auth), (t) => {
      check(t, 'ferry upload', 200, size);
      const file = JSON.parse(t.body).data;
      if (file.state !== 'complete' || file.size !== size || file.sha256 !== sha256) {
        throw new Error(`ferry upload: unexpected file ${JSON.stringify(file)} (expected sha256 ${sha256})`);
      }
    });
    await timed('baseline', 'download', round, bare, () => timedDownload(bareUrl), (t) => check(t, 'baseline download', 200, size));
    await timed('ferry', 'download', round, ferry, () => timedDownload(ferryGet, auth), (t) => {
      check(t, 'ferry download', 200, size);
      if (t.headers.etag !== `"${sha256}"`) throw new Error(`ferry download: ETag ${t.headers.etag}, expected "${sha256}"`);
    });
  }

  const rss = {
    ferry: { idle: idle.ferry, peak: procStatusBytes(ferry.pid, 'VmHWM'), pid: ferry.pid },
    baseline: { idle: idle.baseline, peak: procStatusBytes(bare.pid, 'VmHWM'), pid: bare.pid },
  };
  for (const s of [ferry, bare]) {
    await stopServer(s);
    life.live.delete(s);
    // FERRY_LOG_LEVEL=warn: anything a server printed during the rounds deserves a look.
    const said = s.output().trim();
    if (said) console.log(`  ${s.name} printed (last 8000 chars):\n${said.replace(/^/gm, '    ')}`);
  }
  fs.rmSync(phaseDir, { recursive: true, force: true });
  return { size, samples, rss };
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const sizes = SMALL > 0 && SMALL < SIZE ? [SMALL, SIZE] : [SIZE];
  const stat = fs.statfsSync(os.tmpdir());
  const free = stat.bavail * stat.bsize;
  // source file + one phase's files (Ferry and baseline each keep one per round) + 1 GiB slack
  const needed = SIZE + (BASELINE_FSYNC ? 3 : 2) * ROUNDS * SIZE + GiB;
  if (free < needed) {
    throw new Error(`${os.tmpdir()} has ${fmtSize(free)} free; this run needs about ${fmtSize(needed)}. Lower FERRY_BENCH_SIZE or FERRY_BENCH_ROUNDS.`);
  }
  console.log(
    `Ferry transfer throughput: sizes ${sizes.map(fmtSize).join(' then ')}, ${ROUNDS} rounds, node ${process.version}, ` +
      `${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );

  life.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-'));
  const sourceFile = path.join(life.workDir, 'source.bin');
  const started = Date.now();
  const digests = await generateFile(sourceFile, SIZE, sizes);
  syncDisks();
  console.log(`Generated ${fmtSize(SIZE)} test file in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sourceFile}`);

  const results: PhaseResult[] = [];
  for (const size of sizes) {
    console.log(`\nPhase: ${fmtSize(size)} (${size} bytes)`);
    results.push(await runPhase(sourceFile, size, digests.get(size)!));
  }
  report(results, ROUNDS, BASELINE_FSYNC);
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
