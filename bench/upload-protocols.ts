/**
 * Upload throughput of each of Ferry's upload protocols against a bare node:http server that
 * streams the same bytes to disk, same run, same client code (bench/upload-clients.ts).
 *
 *   npm run bench:uploads                                               # 1 GiB, 3 rounds
 *   FERRY_BENCH_SIZE=134217728 FERRY_BENCH_ROUNDS=2 npm run bench:uploads   # quick check
 *   FERRY_BENCH_PARALLEL (default 4): streams of the parallel protocols
 *   FERRY_BENCH_PART_SIZE (default 5 MiB, Ferry's FERRY_PART_SIZE default): signed-part size and chunk size
 *
 * One Ferry and one bare server (`node --import tsx`, own data dirs in one temp dir) serve all
 * rounds. In each round every protocol runs once (the order rotates per round), each right after
 * its own baseline: a bare single-stream upload of the same bytes, and for parallel protocols also
 * a bare upload of N quarters in parallel (to N separate files: the bare server has no offsets,
 * so that baseline never joins them). Ratios are per pair, so drift on this noisy machine hits
 * both sides. `sync` runs (untimed) before every timed upload; peak RSS is reset before each one
 * (clear_refs) so it is that upload's peak. Set-up (creating the transfer) and the check of the
 * stored SHA-256 are untimed; everything from the first upload request to the answer that says the
 * file is complete is timed. After every upload its file is deleted (untimed; Ferry's transfer via
 * DELETE and the sweeper, see deleteAndPurge), so every upload starts from the same state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GiB, MiB, api, fmtSize, freePort, generateFile, mibps, procCpuSeconds, procStatusBytes, startServer, stopServer, syncDisks, type Server } from './bench-util.ts';
import { createApiKey, envInt, resetPeakRss } from './bench-client.ts';
import { BenchLifecycle } from './bench-lifecycle.ts';
import { PROTOCOLS, bareParallel, bareSingle, type Done, type Job, type Protocol, type Target } from './upload-clients.ts';
import { report, type Measure, type Outcome } from './upload-report.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(benchDir, '..');
const serverDir = path.join(repoRoot, 'packages', 'server');

const SIZE = envInt('FERRY_BENCH_SIZE', GiB, 8);
const ROUNDS = envInt('FERRY_BENCH_ROUNDS', 3, 1);
const PARALLEL = envInt('FERRY_BENCH_PARALLEL', 4, 2);
const PART_SIZE = envInt('FERRY_BENCH_PART_SIZE', 5 * MiB, 64 * 1024);
/** Ferry's blob store (FERRY_DATA_DIR/blobs), set once the work dir exists. */
let ferryBlobs = '';

// ---------------------------------------------------------------- cleanup (errors, Ctrl-C, exit)

const life = new BenchLifecycle();

// ---------------------------------------------------------------- availability

/** Why each protocol cannot run on this server (missing route, missing tus extension), or null. */
async function availability(target: Target): Promise<Map<string, string | null>> {
  const { json } = await api(target.base, 'GET', '/openapi.json', { expect: 200 });
  const paths = new Set(Object.keys(json.paths ?? {}));
  const result = new Map<string, string | null>();
  for (const p of PROTOCOLS) {
    const missing = p.routes.filter((r) => !paths.has(r));
    let reason = missing.length ? `not in /openapi.json: ${missing.join(', ')}` : null;
    if (!reason && p.probe) reason = await p.probe(target).catch((e: unknown) => `probe failed: ${String(e)}`);
    result.set(p.id, reason);
  }
  return result;
}

// ---------------------------------------------------------------- one timed upload

/** Bytes of all files under `dir` (0 if it does not exist). */
function treeBytes(dir: string): number {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name), { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/**
 * Deletes the transfer and waits (untimed) until Ferry's sweeper (FERRY_PURGE_GRACE=0, every
 * second) has removed its blobs. On this VM writing new data is about 3x dearer in kernel CPU
 * when no file was deleted just before (measured: bare PUTs fall from ~650 to ~190 MiB/s once a
 * few uploads are kept), so every timed upload starts right after a 1-file delete, Ferry's and
 * the baseline's alike. It also keeps the disk use at one upload.
 */
async function deleteAndPurge(target: Target, transferId: string): Promise<void> {
  await api(target.base, 'DELETE', `/api/v1/transfers/${transferId}`, { headers: target.auth, expect: 204 });
  const deadline = Date.now() + 30_000;
  let left = treeBytes(ferryBlobs);
  while (left > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    left = treeBytes(ferryBlobs);
  }
  if (left > 0) console.log(`  warning: ${left} bytes still in ${ferryBlobs} 30 s after deleting ${transferId}`);
}

async function timedRun(p: Protocol, server: Server, target: Target, job: Job, sha256: string, bareDir: string): Promise<Measure> {
  if (life.aborting) throw new Error('aborted');
  const run = await p.prepare(target, job);
  syncDisks();
  const rssReset = resetPeakRss(server.pid);
  const cpu0 = procCpuSeconds(server.pid);
  const started = performance.now();
  // Nothing reads the bare uploads back; removed at once (untimed), as Ferry's are (deleteAndPurge).
  const dropBare = () => p.server === 'bare' && fs.readdirSync(bareDir).forEach((f) => fs.rmSync(path.join(bareDir, f), { force: true }));
  let done: Done;
  try {
    done = await run();
  } catch (error) {
    dropBare();
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  const measure: Measure = {
    mibps: mibps(job.size, seconds),
    seconds,
    serverCpu: procCpuSeconds(server.pid) - cpu0,
    peakRss: procStatusBytes(server.pid, 'VmHWM'),
    rssReset,
    joinSeconds: done.joinSeconds,
  };
  dropBare();
  if (p.server === 'ferry') {
    let stored = done.sha256;
    if (!stored) {
      if (!done.fileId) throw new Error(`${p.id}: the answer named no file`);
      const file = (await api(target.base, 'GET', `/api/v1/files/${done.fileId}`, { headers: target.auth, expect: 200 })).json.data;
      if (file.state !== 'complete' || file.size !== job.size) throw new Error(`${p.id}: stored file ${JSON.stringify(file)}`);
      stored = file.sha256;
    }
    if (stored !== sha256) throw new Error(`${p.id}: stored SHA-256 ${stored}, expected ${sha256}`);
    if (done.transferId) await deleteAndPurge(target, done.transferId);
  }
  const label = `${p.id}${p.server === 'bare' ? '' : ' (ferry)'}`;
  console.log(
    `  ${label.padEnd(22)} ${measure.mibps.toFixed(1).padStart(8)} MiB/s ${seconds.toFixed(2).padStart(7)} s` +
      `  server CPU ${measure.serverCpu.toFixed(2)} s  peak RSS ${(measure.peakRss / MiB).toFixed(0)} MiB` +
      (done.joinSeconds === undefined ? '' : `  join ${done.joinSeconds.toFixed(2)} s`),
  );
  return measure;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const stat = fs.statfsSync(os.tmpdir());
  const free = stat.bavail * stat.bsize;
  // source + one upload at a time (parts and their join, or partials and their join) + 1 GiB slack
  const needed = 3 * SIZE + GiB;
  if (free < needed) throw new Error(`${os.tmpdir()} has ${fmtSize(free)} free; this run needs about ${fmtSize(needed)}. Lower FERRY_BENCH_SIZE or FERRY_BENCH_ROUNDS.`);
  console.log(
    `Ferry upload protocols: ${fmtSize(SIZE)}, ${ROUNDS} rounds, ${PARALLEL} streams for parallel protocols, parts/chunks of ${fmtSize(PART_SIZE)}, ` +
      `node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  life.workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-bench-uploads-'));
  const sourceFile = path.join(life.workDir, 'source.bin');
  const t0 = Date.now();
  const sha256 = (await generateFile(sourceFile, SIZE, [])).get(SIZE)!;
  syncDisks();
  console.log(`Generated ${fmtSize(SIZE)} test file in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const bareDir = path.join(life.workDir, 'baseline-data');
  fs.mkdirSync(bareDir);
  ferryBlobs = path.join(life.workDir, 'ferry-data', 'blobs');
  const [barePort, ferryPort] = [await freePort(), await freePort()];
  const bare = await startServer('baseline', path.join(benchDir, 'bare-server.ts'), repoRoot, barePort, { BARE_PORT: String(barePort), BARE_DIR: bareDir });
  life.live.add(bare);
  const ferry = await startServer('ferry', 'src/main.ts', serverDir, ferryPort, {
    FERRY_DATA_DIR: path.dirname(ferryBlobs),
    FERRY_PURGE_GRACE: '0',
    FERRY_SWEEP_INTERVAL: '1',
    FERRY_PORT: String(ferryPort),
    FERRY_HOST: '127.0.0.1',
    FERRY_PUBLIC_URL: `http://127.0.0.1:${ferryPort}`,
    FERRY_LOG_LEVEL: 'warn',
    FERRY_RATE_LIMIT_PER_MINUTE: '1000000',
    FERRY_MAX_TRANSFER_SIZE: String(2 * SIZE + GiB),
    FERRY_PART_SIZE: String(PART_SIZE),
  });
  life.live.add(ferry);
  console.log(`  servers: ferry pid ${ferry.pid} (${ferry.base}), baseline pid ${bare.pid} (${bare.base})`);

  const ferryTarget: Target = { base: ferry.base, auth: { authorization: `Bearer ${await createApiKey(ferry.base)}` } };
  const bareTarget: Target = { base: bare.base, auth: {} };
  const idle = { ferry: procStatusBytes(ferry.pid, 'VmRSS'), bare: procStatusBytes(bare.pid, 'VmRSS') };
  const outcomes: Outcome[] = [];
  const avail = await availability(ferryTarget);
  for (const p of PROTOCOLS) {
    const reason = avail.get(p.id) ?? null;
    outcomes.push({ protocol: p, unavailable: reason ?? undefined, rounds: [] });
    if (reason) console.log(`  ${p.id}: unavailable (${reason})`);
  }

  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`\nRound ${round}/${ROUNDS}`);
    const order = outcomes.map((_, i) => outcomes[(i + round - 1) % outcomes.length]!);
    for (const o of order) {
      if (o.unavailable || o.error) continue;
      const job = (suffix: string): Job => ({ file: sourceFile, size: SIZE, tag: `r${round}-${o.protocol.id}${suffix}`, parallel: PARALLEL, chunkSize: PART_SIZE });
      try {
        const base = await timedRun(bareSingle, bare, bareTarget, job('-bare'), sha256, bareDir);
        const basePar = o.protocol.streams(job('')) > 1 ? await timedRun(bareParallel, bare, bareTarget, job('-barepar'), sha256, bareDir) : undefined;
        const ferryM = await timedRun(o.protocol, ferry, ferryTarget, job(''), sha256, bareDir);
        o.rounds.push({ round, ferry: ferryM, base, basePar });
      } catch (error) {
        if (ferry.child.exitCode !== null || ferry.child.signalCode !== null || life.aborting) throw error;
        o.error = error instanceof Error ? error.message : String(error);
        console.log(`  ${o.protocol.id}: FAILED, skipped from now on: ${o.error}`);
      }
    }
  }

  for (const s of [ferry, bare]) {
    await stopServer(s);
    life.live.delete(s);
    const said = s.output().trim();
    if (said) console.log(`\n  ${s.name} printed (last 8000 chars):\n${said.replace(/^/gm, '    ')}`);
  }
  report(outcomes, { size: SIZE, rounds: ROUNDS, parallel: PARALLEL, idle });
  console.log(`\nload at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main()
  .then(() => life.cleanup())
  .catch(async (error: unknown) => {
    if (life.aborting) return;
    process.stderr.write(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    for (const s of life.live) process.stderr.write(`\n--- last output of ${s.name} (pid ${s.pid}) ---\n${s.output()}\n`);
    await life.cleanup();
    process.exitCode = 1;
  });
