/**
 * More bench helpers, used by bench/upload-protocols.ts (bench-util.ts holds the first ones):
 * environment numbers, the API key set-up, peak-RSS reset, and a ranged, any-method upload client.
 */
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { MiB, api, type Timed } from './bench-util.ts';

/** A whole-number environment variable >= `min`, or `def` when unset. */
export function envInt(name: string, def: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return def;
  if (!/^\d+$/.test(raw) || Number(raw) < min || !Number.isSafeInteger(Number(raw))) {
    throw new Error(`${name} must be a whole number >= ${min} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

/** signup -> login (cookie + CSRF) -> API key with the transfer and file scopes. */
export async function createApiKey(base: string): Promise<string> {
  const email = `bench-${Date.now()}-${process.pid}@example.com`;
  const password = 'bench-password-0123456789';
  await api(base, 'POST', '/api/v1/auth/signup', { body: { email, password }, expect: 202 });
  const login = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password }, expect: 200 });
  const csrf: string = login.json.data.csrf_token;
  const session = login.res.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith('ferry_session='));
  if (!session || !csrf) throw new Error('login did not return a ferry_session cookie and a csrf_token');
  const key = await api(base, 'POST', '/api/v1/keys', {
    headers: { cookie: session, 'x-csrf-token': csrf },
    body: { name: 'bench', scopes: ['transfers:read', 'transfers:write', 'files:read', 'files:write'] },
    expect: 201,
  });
  return key.json.data.key as string;
}

/** Resets the process's peak RSS (VmHWM) to its current RSS (Linux clear_refs "5"); false if not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Sends bytes [start, start + length) of `file` as the body of one request (1 MiB reads, piped
 * with backpressure, Content-Length set) and collects the answer. `agent` defaults to none (a new
 * connection), as timedUpload; pass a keep-alive agent for many requests.
 */
export function sendFileRange(
  url: string,
  file: string,
  start: number,
  length: number,
  opts: { method?: string; headers?: Record<string, string>; agent?: http.Agent } = {},
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(url, {
      method: opts.method ?? 'PUT',
      agent: opts.agent ?? false,
      headers: { 'content-type': 'application/octet-stream', ...opts.headers, 'content-length': String(length) },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, bytes: length, seconds: (performance.now() - started) / 1000, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
    });
    if (length === 0) return void req.end();
    const source = fs.createReadStream(file, { highWaterMark: MiB, start, end: start + length - 1 });
    source.once('error', (error) => {
      req.destroy(error);
      reject(error);
    });
    source.pipe(req);
  });
}
