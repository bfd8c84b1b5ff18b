/**
 * Ferry's real server process that can be killed and started again on the same data folder and
 * port, as an operator would after a crash (server-process.ts always makes a fresh folder/port).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnFerry, waitHealthy } from './server-process.ts';
import { createTestStack } from './test-stack.ts';

export interface RunningServer {
  child: ChildProcess;
  pid: number;
  output: () => string;
  /** Exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RestartableServer {
  dataDir: string;
  port: number;
  baseUrl: string;
  current: RunningServer | null;
  /** Starts the process (again) on the same folder and port; waits for /healthz. */
  start(): Promise<RunningServer>;
  /** kill -9 and wait for the process to be gone. */
  crash(): Promise<void>;
  /** Kills whatever runs and removes the data folder. */
  dispose(): Promise<void>;
}

export async function restartableServer(env: Record<string, string> = {}): Promise<RestartableServer> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-crash-'));
  const stack = await createTestStack();
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server: RestartableServer = {
    dataDir,
    port,
    baseUrl,
    current: null,
    async start() {
      const { child, output, exited } = spawnFerry({ FERRY_DATA_DIR: dataDir, ...stack.env, FERRY_PORT: String(port), ...env });
      const running: RunningServer = { child, pid: child.pid!, output, exited };
      server.current = running;
      await waitHealthy(baseUrl, child, output);
      return running;
    },
    async crash() {
      const running = server.current;
      if (!running) return;
      if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill('SIGKILL');
      await running.exited;
      server.current = null;
    },
    async dispose() {
      await server.crash();
      await stack.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return server;
}
