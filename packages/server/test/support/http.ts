import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { App } from '../../src/app.ts';
import { bearer } from './client.ts';

/**
 * Helpers for the HTTP tier (test/http): what users check in an answer of `app.inject()`, and
 * the requests whose answers tests assert as they are (refusals included). The steps that set a
 * test up (accounts, transfers) are in accounts.ts and transfers.ts.
 */

export type Injected = Awaited<ReturnType<App['inject']>>;

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

/** POST /api/v1/transfers as it is, for tests that assert its answer (createTransfer in transfers.ts sets one up). */
export function postTransfer(app: App, key: string, body: Record<string, unknown>): Promise<Injected> {
  return app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(key), payload: body });
}

/** PUT .../files/:fileId/content as it is. */
export function putContent(app: App, key: string, transferId: string, fileId: string, content: Buffer | string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'PUT',
    url: `/api/v1/transfers/${transferId}/files/${fileId}/content`,
    headers: { ...bearer(key), 'content-type': 'application/octet-stream', ...headers },
    payload: content,
  });
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

/** A well-formed id that names nothing. */
export const ghostId = (prefix: 'tr' | 'fl' | 'key' | 'spd'): string => `${prefix}_${'A'.repeat(22)}`;
