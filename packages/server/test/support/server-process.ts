/**
 * Ferry as users run it: main.ts in its own node process (under tsx) on a loopback port, with a
 * data folder and port of its own that outlive each run, so the process can be stopped, killed
 * -9 and started again on the same state, as an operator would after a crash or to change a
 * setting. The in-process server (harness.ts) is for everything that needs no real process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestStack, type TestStack } from './test-stack.ts';

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface Exit {
  /** Null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One run of the process, from start to exit. */
export interface ServerRun {
  child: ChildProcess;
  /** What this run printed (stdout and stderr), for failure messages. */
  output(): string;
  exited: Promise<Exit>;
}

export interface ServerProcess {
  port: number;
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  dataDir: string;
  /** The run in progress, or null before the first start and after a stop. */
  current: ServerRun | null;
  /** Starts a run (env: the process's, plus `extra`); resolves once /healthz answers, or throws with the run's output. */
  start(extra?: Record<string, string>, healthTimeoutMs?: number): Promise<ServerRun>;
  /** Sends `signal` to the run in progress and waits until it is gone; null when none ran. */
  stop(signal?: NodeJS.Signals): Promise<Exit | null>;
  /** kill -9 and wait for the process to be gone. */
  crash(): Promise<void>;
  /** What every run so far printed. */
  output(): string;
  /** Kills whatever runs, then removes the data folder (and drops the test stack it made). */
  dispose(): Promise<void>;
}

/**
 * A server process (not started yet) on a free port and a fresh data folder. Its database, store
 * and Redis follow the test stack: its own, or `shared.stack` for several processes on one state.
 */
export async function serverProcess(env: Record<string, string> = {}, shared: { stack?: TestStack } = {}): Promise<ServerProcess> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-proc-'));
  const stack = shared.stack ?? (await createTestStack());
  const port = await freePort();
  let past = '';
  const server: ServerProcess = {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    current: null,
    async start(extra = {}, healthTimeoutMs = 30_000) {
      const run = spawnFerry({ FERRY_DATA_DIR: dataDir, ...stack.env, FERRY_PORT: String(port), ...env, ...extra });
      server.current = run;
      await waitHealthy(server.baseUrl, run, healthTimeoutMs);
      return run;
    },
    async stop(signal = 'SIGTERM') {
      const run = server.current;
      if (!run) return null;
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
      const exit = await run.exited;
      past += run.output();
      server.current = null;
      return exit;
    },
    async crash() {
      await server.stop('SIGKILL');
    },
    output: () => past + (server.current?.output() ?? ''),
    async dispose() {
      await server.crash();
      if (!shared.stack) await stack.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}

/** Ferry's main.ts in its own node process on loopback, its output collected; nothing restarts it. */
export function spawnFerry(env: Record<string, string>): ServerRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: SERVER_DIR,
    env: { ...process.env, FERRY_HOST: '127.0.0.1', FERRY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d) => (text += d));
  child.stderr!.on('data', (d) => (text += d));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => text, exited };
}

/** Resolves once /healthz answers; throws with the run's output if it exits or takes longer than `timeoutMs`. */
async function waitHealthy(baseUrl: string, run: ServerRun, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) throw new Error(`server exited early:\n${run.output()}`);
    const ok = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server did not start:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
