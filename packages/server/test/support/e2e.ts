/**
 * Helpers for the end-to-end tests: a real listening server driven by real clients (Node's
 * fetch, the curl CLI), with large source files written quickly and bodies streamed from and to
 * disk. Requests, accounts and transfers are in client.ts, accounts.ts and transfers.ts.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import type { JsonReply } from './client.ts';
import { runningSha256, sha256Stream } from './hashing.ts';

export const MiB = 1024 * 1024;

export const makeTempDir = (label: string): Promise<string> => fsp.mkdtemp(path.join(os.tmpdir(), `ferry-e2e-${label}-`));

/** Writes `size` bytes to `file` in 1 MiB chunks made by `chunk(index, length)`; answers their SHA-256, computed while writing. */
async function writeChunks(file: string, size: number, chunk: (index: number, length: number) => Buffer): Promise<string> {
  const hash = runningSha256();
  async function* chunks() {
    for (let index = 0, left = size; left > 0; index++, left -= MiB) {
      const piece = chunk(index, Math.min(left, MiB));
      hash.update(piece);
      yield piece;
    }
  }
  await pipeline(Readable.from(chunks()), fs.createWriteStream(file, { highWaterMark: MiB }));
  return hash.digest('hex');
}

/** Writes `size` random bytes to `file`; answers their SHA-256. */
export const writeRandomFile = (file: string, size: number): Promise<string> => writeChunks(file, size, (_index, length) => randomBytes(length));

/**
 * Writes `size` bytes of random-looking content quickly (for files of a GiB): one random 1 MiB
 * block repeated, each copy stamped with its index (so no two MiB are alike and a shifted or
 * repeated chunk changes the digest). Answers the SHA-256.
 */
export function writePatternFile(file: string, size: number): Promise<string> {
  const block = randomBytes(MiB);
  return writeChunks(file, size, (index, length) => {
    const chunk = Buffer.from(block.subarray(0, length));
    // Stamp the index in several places of the block, not only at its start.
    for (let at = 0; at + 8 <= chunk.length; at += 64 * 1024) chunk.writeBigUInt64BE(BigInt(index) ^ BigInt(at), at);
    return chunk;
  });
}

/** Every regular file below `dir`, relative to it with `/` between folders, sorted; [] when `dir` is missing. */
export async function filesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
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

/** GETs `url` and hashes the body as it streams; answers status, SHA-256 and length. */
export async function downloadSha256(url: string, headers: Record<string, string>): Promise<{ status: number; sha256: string; bytes: number }> {
  const response = await fetch(url, { headers });
  const { sha256, bytes } = response.body ? await sha256Stream(Readable.fromWeb(response.body as NodeReadableStream)) : await sha256Stream(Readable.from([]));
  return { status: response.status, sha256, bytes };
}

/**
 * A PUT whose body is streamed from disk (chunked, no Content-Length), as a large upload would
 * be: the whole file, or bytes start..end (inclusive) of it.
 */
export async function putStream(url: string, file: string, headers: Record<string, string>, range: { start: number; end: number } | null = null): Promise<JsonReply> {
  // Node's fetch streams a ReadableStream body only with duplex: 'half' (not yet in the DOM typings).
  const init: RequestInit & { duplex: 'half' } = {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    body: Readable.toWeb(fs.createReadStream(file, { ...range, highWaterMark: MiB })) as ReadableStream,
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

/** Polls `probe` until it answers true (or throws after `timeoutMs`). */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
