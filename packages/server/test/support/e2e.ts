/**
 * Helpers for the end-to-end tests: a real listening server driven by real clients (Node's
 * fetch, the curl CLI, the unzip CLI), with every step of the README walkthrough over HTTP.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { ALL_USER_SCOPES } from './harness.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Account {
  email: string;
  key: string;
  cookie: string;
  csrf: string;
  userId: string;
}

export interface JsonReply {
  status: number;
  headers: Headers;
  /** The API's JSON, loosely typed on purpose: tests assert on its shape. */
  body: any;
}

export interface CallOptions {
  key?: string;
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
}

/** One request; the answer's body is parsed as JSON when it says so, else kept as text. */
export async function call(baseUrl: string, method: string, pathOrUrl: string, options: CallOptions = {}): Promise<JsonReply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${baseUrl}${pathOrUrl}`;
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json') && text !== '';
  return { status: response.status, headers: response.headers, body: isJson ? JSON.parse(text) : text };
}

/** Signs up, signs in (session cookie + CSRF token) and creates an API key, all over HTTP. */
export async function signUp(baseUrl: string, email: string, scopes: string[] = ALL_USER_SCOPES): Promise<Account> {
  const signup = await call(baseUrl, 'POST', '/api/v1/auth/signup', { json: { email, password: PASSWORD } });
  if (signup.status !== 202) throw new Error(`signup: ${signup.status} ${JSON.stringify(signup.body)}`);
  const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  const loginBody = (await login.json()) as { data: { csrf_token: string; user: { id: string } } };
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(loginBody)}`);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('ferry_session='));
  if (!session) throw new Error('login set no ferry_session cookie');
  const partial = { email, key: '', cookie: session.split(';')[0]!, csrf: loginBody.data.csrf_token, userId: loginBody.data.user.id };
  return { ...partial, key: await createKey(baseUrl, partial, 'e2e', scopes) };
}

/** POST /api/v1/keys with the session cookie and X-CSRF-Token; answers the whole key. */
export async function createKey(baseUrl: string, account: Pick<Account, 'cookie' | 'csrf'>, name: string, scopes: string[]): Promise<string> {
  const created = await call(baseUrl, 'POST', '/api/v1/keys', {
    headers: { cookie: account.cookie, 'x-csrf-token': account.csrf },
    json: { name, scopes },
  });
  if (created.status !== 201) throw new Error(`key: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.data.key as string;
}

/** URLs in answers are built on FERRY_PUBLIC_URL; tests reach the same path on the real port. */
export function rebase(baseUrl: string, url: string): string {
  const parsed = new URL(url);
  return `${baseUrl}${parsed.pathname}${parsed.search}`;
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

export const makeTempDir = (label: string): Promise<string> => fsp.mkdtemp(path.join(os.tmpdir(), `ferry-e2e-${label}-`));

/** Writes `size` random bytes to `file` in 1 MiB chunks; answers their SHA-256. */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = fs.createWriteStream(file);
  async function* chunks() {
    for (let left = size; left > 0; left -= 1024 * 1024) {
      const chunk = randomBytes(Math.min(left, 1024 * 1024));
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(chunks()), out);
  return hash.digest('hex');
}

/** Bytes start..end (inclusive) of a file on disk. */
export async function readSlice(file: string, start: number, end: number): Promise<Buffer> {
  const handle = await fsp.open(file, 'r');
  try {
    const buffer = Buffer.alloc(end - start + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** GETs `url` streaming the body into `file` (never holding it in memory). */
export async function fetchToFile(url: string, file: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  if (!response.body) throw new Error(`no body from ${url}`);
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream), fs.createWriteStream(file));
  return { status: response.status, headers: response.headers };
}

/** A PUT whose body is streamed from disk (chunked, no Content-Length), as a large upload would be. */
export async function putStream(url: string, file: string, headers: Record<string, string>): Promise<JsonReply> {
  // Node's fetch streams a ReadableStream body only with duplex: 'half' (not yet in the DOM typings).
  const init: RequestInit & { duplex: 'half' } = {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: Readable.toWeb(fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) as ReadableStream,
    duplex: 'half',
  };
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

const execFileAsync = promisify(execFile);

/** Runs a command line tool; rejects with its stderr when it exits non-zero. */
export async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** curl -sS ... -w '%{http_code}'; answers the HTTP status curl saw. */
export async function curlStatus(args: string[]): Promise<number> {
  const out = await run('curl', ['-sS', '-w', '%{http_code}', ...args]);
  return Number(out.trim().slice(-3));
}

/** Extracts `zipFile` with the system unzip into a fresh folder; answers path -> SHA-256 (see treeHashes). */
export async function unzipHashes(zipFile: string, into: string): Promise<Record<string, string>> {
  await fsp.mkdir(into, { recursive: true });
  await run('unzip', ['-q', '-o', zipFile, '-d', into]);
  return treeHashes(into);
}

/** Extracts `zipFile` with Python's zipfile.extractall into a fresh folder; answers path -> SHA-256. */
export async function pythonUnzipHashes(zipFile: string, into: string): Promise<Record<string, string>> {
  await fsp.mkdir(into, { recursive: true });
  await run('python3', ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zipFile, into]);
  return treeHashes(into);
}

/** Every file under `root`, by its path relative to `root` with `/` between folders, sorted. */
async function treeHashes(root: string): Promise<Record<string, string>> {
  const files = (await fsp.readdir(root, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  const paths = files.map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/')).sort();
  const out: Record<string, string> = {};
  for (const name of paths) out[name] = await sha256File(path.join(root, name));
  return out;
}
