import { expect } from 'vitest';
import { call, expectStatus, pathOf, type Target } from './client.ts';
import { sha256 } from './hashing.ts';

/**
 * Transfers made through the API, on the in-process app or a listening server alike: created,
 * with one declared file, or uploaded and finalized. A failed step throws `<step>: <status> <JSON answer>`.
 * Requests whose refusal a test asserts are sent by the test itself (postTransfer in http.ts).
 */

/** POST /api/v1/transfers; answers the transfer's data (id, files, upload_token, url, ...). */
export async function createTransfer(target: Target, key: string, body: Record<string, unknown>): Promise<any> {
  return expectStatus('transfer', await call(target, 'POST', '/api/v1/transfers', { key, json: body }), 201).body.data;
}

export interface DeclaredFile {
  transferId: string;
  fileId: string;
  /** The file's view at creation (upload URL, multipart layout). */
  file: any;
  transfer: any;
}

/** A new transfer declaring one file of `size` bytes, nothing uploaded yet. */
export async function declaredFile(target: Target, key: string, options: { size: number; name?: string; title?: string }): Promise<DeclaredFile> {
  const transfer = await createTransfer(target, key, { title: options.title ?? 'Transfer', files: [{ name: options.name ?? 'f.bin', size: options.size }] });
  return { transferId: transfer.id, fileId: transfer.files[0].id, file: transfer.files[0], transfer };
}

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

/**
 * Creates a transfer with `files`, uploads every file (PUT .../content, its SHA-256 checked) and
 * finalizes it (unless `finalize: false`).
 */
export async function readyTransfer(
  target: Target,
  key: string,
  files: FileSpec[],
  extra: Record<string, unknown> = {},
  options: { finalize?: boolean } = {},
): Promise<ReadyTransfer> {
  const created = await createTransfer(target, key, {
    title: 'Transfer',
    ...extra,
    files: files.map((f) => ({ name: f.name, size: Buffer.byteLength(f.content), ...(f.content_type ? { content_type: f.content_type } : {}) })),
  });
  for (const [i, spec] of files.entries()) {
    const uploaded = await call(target, 'PUT', `/api/v1/transfers/${created.id}/files/${created.files[i].id}/content`, {
      key,
      headers: { 'content-type': 'application/octet-stream' },
      body: spec.content,
    });
    expect(expectStatus('upload', uploaded, 200).body.data.sha256).toBe(sha256(spec.content));
  }
  const transfer =
    options.finalize === false
      ? expectStatus('transfer', await call(target, 'GET', `/api/v1/transfers/${created.id}`, { key }), 200).body.data
      : expectStatus('finalize', await call(target, 'POST', `/api/v1/transfers/${created.id}/finalize`, { key }), 200).body.data;
  const byName: Record<string, any> = {};
  transfer.files.forEach((f: any, i: number) => (byName[files[i]!.name] = f));
  return { transfer, files: byName, link: pathOf(transfer.url) };
}
