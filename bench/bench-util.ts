/**
 * Helpers for bench/transfer-throughput.ts: child servers, the one HTTP client both servers are
 * measured with, /proc readers and number formatting.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

// ---------------------------------------------------------------- test data

/**
 * Writes `size` bytes (a 16 MiB random block, repeated) to `file` and returns the SHA-256 of the
 * whole file and of each prefix length asked for in `prefixes`.
 */
export async function generateFile(file: string, size: number, prefixes: number[]): Promise<Map<number, string>> {
  const block = randomBytes(16 * MiB);
  const hash = createHash('sha256');
  const digests = new Map<number, string>();
  const cuts = [...new Set([...prefixes, size])].filter((n) => n > 0 && n <= size).sort((a, b) => a - b);
  const handle = await fs.promises.open(file, 'w');
  try {
    let written = 0;
    for (const cut of cuts) {
      while (written < cut) {
        const offset = written % block.length;
        const chunk = block.subarray(offset, Math.min(block.length, offset + cut - written));
        await handle.write(chunk);
        hash.update(chunk);
        written += chunk.length;
      }
      digests.set(cut, hash.copy().digest('hex'));
    }
  } finally {
    await handle.close();
  }
  return digests;
}

// ---------------------------------------------------------------- child processes

export interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  base: string;
  /** Last bytes the process wrote to stdout/stderr, for error messages. */
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Starts `node --import tsx <script>` (one node process, no wrapper) and waits for GET /healthz. */
export async function startServer(name: string, script: string, cwd: string, port: number, env: Record<string, string>): Promise<Server> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const server: Server = { name, child, pid: child.pid ?? -1, base: `http://127.0.0.1:${port}`, output: () => tail };
  if (server.pid < 0) throw new Error(`${name}: could not spawn ${process.execPath}`);

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (${child.exitCode ?? child.signalCode}):\n${tail}`);
    }
    try {
      const res = await fetch(`${server.base}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer /healthz within 60 s:\n${tail}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Make sure the pid we will read /proc of is the node process running the script itself.
  const cmdline = fs.readFileSync(`/proc/${server.pid}/cmdline`, 'utf8').split('\0');
  if (!cmdline[0]?.endsWith('node') || !cmdline.includes(script)) {
    throw new Error(`${name}: pid ${server.pid} is not the server process (${cmdline.join(' ')})`);
  }
  return server;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
export async function stopServer(server: Server, graceMs = 5000): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- /proc

/** A field of /proc/<pid>/status in bytes (VmHWM = peak RSS, VmRSS = current RSS). */
export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

let clockTicks: number | undefined;
/** User + system CPU seconds the process has used so far. */
export function procCpuSeconds(pid: number): number {
  clockTicks ??= (() => {
    try {
      return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      return 100;
    }
  })();
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Flushes dirty pages so one timed operation's writeback does not land in the next one's time. */
export function syncDisks(): void {
  execFileSync('sync');
}

// ---------------------------------------------------------------- the HTTP client (same for both servers)

export interface Timed {
  status: number;
  bytes: number;
  seconds: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** PUT `length` bytes of `file` (from byte 0) as the request body, piped with 1 MiB reads. */
export function timedUpload(url: string, file: string, length: number, headers: Record<string, string> = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, {
      method: 'PUT',
      agent: false,
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(length) },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          bytes: length,
          seconds: (performance.now() - started) / 1000,
          body: Buffer.concat(chunks).toString('utf8'),
          headers: res.headers,
        }),
      );
    });
    if (length === 0) return void req.end();
    const source = fs.createReadStream(file, { highWaterMark: MiB, start: 0, end: length - 1 });
    source.once('error', (error) => {
      req.destroy(error);
      reject(error);
    });
    source.pipe(req);
  });
}

/** GET `url`, counting and discarding the body. A non-2xx body is kept (small) for the error message. */
export function timedDownload(url: string, headers: Record<string, string> = {}): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(url, { agent: false, headers }, (res) => {
      const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
      let bytes = 0;
      let body = '';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (!ok && body.length < 4000) body += c.toString('utf8');
      });
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, bytes, seconds: (performance.now() - started) / 1000, body, headers: res.headers }),
      );
    });
    req.once('error', reject);
  });
}

// ---------------------------------------------------------------- JSON control plane

export async function api(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; headers?: Record<string, string>; expect: number },
): Promise<{ json: any; res: Response }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }), ...opts.headers },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  if (res.status !== opts.expect) throw new Error(`${method} ${path}: expected ${opts.expect}, got ${res.status}: ${text.slice(0, 2000)}`);
  return { json: text ? JSON.parse(text) : null, res };
}

// ---------------------------------------------------------------- numbers

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const mibps = (bytes: number, seconds: number) => bytes / MiB / seconds;
export const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
export const fmtSize = (bytes: number) => (bytes >= GiB && bytes % GiB === 0 ? `${bytes / GiB} GiB` : fmtMiB(bytes));

/** Renders rows as a plain-text table; the first row is the header. Numbers-looking cells align right. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r.map((cell, i) => (/^[-+0-9.,x% ]+$|^[0-9.]+ ?(MiB|GiB|s|x)/.test(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}
