import { createHash, randomBytes } from 'node:crypto';
import yauzl from 'yauzl';
import { expect } from 'vitest';
import type { App } from '../../src/app.ts';
import { bearer } from './harness.ts';

/** Helpers for the HTTP tier (test/http): requests through `app.inject()` and what users check. */

export type Injected = Awaited<ReturnType<App['inject']>>;

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** Deterministic-enough random content of `size` bytes. */
export const bytes = (size: number): Buffer => randomBytes(size);

/** Asserts the error envelope `{ error: { code, message } }` with the given status and stable code; answers the body. */
export function expectError(res: Injected, status: number, code: string): Record<string, unknown> & { error: { code: string; message: string; details?: unknown } } {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json();
  expect(body.error).toMatchObject({ code });
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** Asserts a success status and answers `data` of the `{ data }` envelope. */
export function expectData<T = any>(res: Injected, status = 200): T {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(status);
  return res.json().data as T;
}

/** The path (and query) of an absolute URL the API handed out, for `inject`. */
export const pathOf = (url: string): string => {
  const u = new URL(url);
  return u.pathname + u.search;
};

export interface FileSpec {
  name: string;
  content: Buffer | string;
  content_type?: string;
}

export interface ReadyTransfer {
  transfer: any;
  /** File views by the name given in the spec (after finalize, with signed download URLs). */
  files: Record<string, any>;
  /** `/t/{slug}` */
  link: string;
}

export async function createTransfer(app: App, key: string, body: Record<string, unknown>): Promise<Injected> {
  return app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(key), payload: body });
}

export function putContent(app: App, key: string, transferId: string, fileId: string, content: Buffer | string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'PUT',
    url: `/api/v1/transfers/${transferId}/files/${fileId}/content`,
    headers: { ...bearer(key), 'content-type': 'application/octet-stream', ...headers },
    payload: content,
  });
}

/** Creates a transfer with `files`, uploads every file and finalizes it (unless `finalize: false`). */
export async function readyTransfer(
  app: App,
  key: string,
  files: FileSpec[],
  extra: Record<string, unknown> = {},
  options: { finalize?: boolean } = {},
): Promise<ReadyTransfer> {
  const created = expectData(
    await createTransfer(app, key, {
      title: 'Transfer',
      ...extra,
      files: files.map((f) => ({ name: f.name, size: Buffer.byteLength(f.content), ...(f.content_type ? { content_type: f.content_type } : {}) })),
    }),
    201,
  );
  for (const [i, spec] of files.entries()) {
    const uploaded = expectData(await putContent(app, key, created.id, created.files[i].id, spec.content));
    expect(uploaded.sha256).toBe(sha256(spec.content));
  }
  const transfer =
    options.finalize === false
      ? expectData(await app.inject({ method: 'GET', url: `/api/v1/transfers/${created.id}`, headers: bearer(key) }))
      : expectData(await app.inject({ method: 'POST', url: `/api/v1/transfers/${created.id}/finalize`, headers: bearer(key) }));
  const byName: Record<string, any> = {};
  transfer.files.forEach((f: any, i: number) => (byName[files[i]!.name] = f));
  return { transfer, files: byName, link: pathOf(transfer.url) };
}

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; content: Buffer | string; contentType?: string; disposition?: string };

/** A multipart/form-data body; `disposition` replaces the whole Content-Disposition value of a file part. */
export function multipart(parts: Part[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----ferry${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n`));
    if ('value' in part) {
      chunks.push(Buffer.from(`Content-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      const disposition = part.disposition ?? `form-data; name="${part.name}"; filename="${part.filename}"`;
      chunks.push(Buffer.from(`Content-Disposition: ${disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`));
      chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
      chunks.push(Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

export interface ZipEntry {
  name: string;
  content: Buffer;
}

/**
 * Reads a whole ZIP with yauzl, which refuses absolute names, `..` components and backslashes
 * (zip-slip) and checks every entry's size and CRC-32.
 */
export function readZip(buffer: Buffer): Promise<ZipEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: ZipEntry[] = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err ?? new Error('no stream'));
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, content: Buffer.concat(parts) });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** A well-formed id that names nothing. */
export const ghostId = (prefix: 'tr' | 'fl' | 'key'): string => `${prefix}_${'A'.repeat(22)}`;
