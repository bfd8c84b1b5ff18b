/**
 * Helpers for the tus end-to-end tests: tus-js-client wrapped in promises, HEAD and creation
 * with fetch, and a throttled PATCH streamed from disk with node:http.
 */
import fs from 'node:fs';
import http from 'node:http';
import * as tus from 'tus-js-client';
import { UPLOADS, metadata } from './tus-http.ts';

export interface TusResult {
  url: string;
  fileId: string | null;
  status: number;
}

/**
 * Runs one tus-js-client Upload to its end. `onStarted` gets the Upload once started (to abort it
 * from a progress callback). Rejects with the client's error (and its response status).
 */
export function runTusUpload(
  input: Buffer | fs.ReadStream,
  options: tus.UploadOptions,
  onStarted?: (upload: tus.Upload) => void,
): Promise<TusResult> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(input, {
      retryDelays: [0, 500, 1000, 2000, 3000, 5000, 5000, 5000],
      ...options,
      onError: (error) => {
        options.onError?.(error);
        reject(error);
      },
      onSuccess: (payload) => {
        const last = payload?.lastResponse;
        resolve({ url: upload.url ?? '', fileId: last?.getHeader('X-Ferry-File-Id') ?? null, status: last?.getStatus() ?? 0 });
      },
    });
    upload.start();
    onStarted?.(upload);
  });
}

export interface HeadResult {
  status: number;
  offset: number | null;
  length: number | null;
  headers: Headers;
}

/** tus HEAD: the upload's offset and length as the server reports them. */
export async function tusHead(url: string, headers: Record<string, string>): Promise<HeadResult> {
  const response = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0', ...headers } });
  const num = (name: string) => (response.headers.get(name) === null ? null : Number(response.headers.get(name)));
  return { status: response.status, offset: num('upload-offset'), length: num('upload-length'), headers: response.headers };
}

/** tus POST (creation) with fetch; answers the absolute upload URL. */
export async function tusCreate(base: string, headers: Record<string, string>, length: number, meta: Record<string, string>): Promise<string> {
  const response = await fetch(`${base}${UPLOADS}`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'upload-length': String(length), 'upload-metadata': metadata(meta), ...headers },
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`tus create: ${response.status} ${text}`);
  return new URL(response.headers.get('location')!, base).toString();
}

export interface StreamedPatch {
  /** Bytes handed to the socket so far (an upper bound of what the server received). */
  sent(): number;
  /** Settles with the answer (status, headers, body) or the transport error's code. */
  ended: Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string }>;
  /** Stops sending and drops the connection. */
  destroy(): void;
}

/**
 * One PATCH with a body streamed from `file` (bytes offset..end-1) over node:http, throttled to
 * about `bytesPerSecond` (in 64 KiB writes), with Content-Length of the whole slice. The request
 * stops writing as soon as an answer arrives.
 */
export function streamPatch(
  url: string,
  options: { file: string; offset: number; end: number; headers: Record<string, string>; bytesPerSecond: number },
): StreamedPatch {
  const { file, offset, end, bytesPerSecond } = options;
  let sent = 0;
  let stopped = false;
  const request = http.request(url, {
    method: 'PATCH',
    agent: false,
    headers: {
      'tus-resumable': '1.0.0',
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'content-length': String(end - offset),
      ...options.headers,
    },
  });
  const ended = new Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string }>((resolve) => {
    request.on('response', (res) => {
      stopped = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode, headers: res.headers, body });
        request.destroy();
      });
      res.on('error', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    request.on('error', (err) => {
      stopped = true;
      resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message });
    });
  });
  // Throttled writer: 64 KiB at a time, paced to the wanted rate.
  const piece = 64 * 1024;
  const started = Date.now();
  void (async () => {
    const handle = await fs.promises.open(file, 'r');
    try {
      let position = offset;
      while (!stopped && position < end) {
        const buffer = Buffer.alloc(Math.min(piece, end - position));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0 || stopped) break;
        const ok = request.write(buffer.subarray(0, bytesRead));
        sent += bytesRead;
        position += bytesRead;
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              request.off('drain', done).off('close', done);
              resolve();
            };
            request.on('drain', done).on('close', done);
          });
        }
        const due = started + (sent / bytesPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      if (!stopped) request.end();
    } catch {
      // The connection went away under us (kill -9, reset): `ended` reports it.
    } finally {
      await handle.close();
    }
  })();
  return { sent: () => sent, ended, destroy: () => ((stopped = true), request.destroy()) };
}
