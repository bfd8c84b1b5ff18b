import path from 'node:path';
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { LocalBlobStore } from '../../src/storage/local-blob-store.ts';
import type { S3BlobStore } from '../../src/storage/s3-blob-store.ts';
import { listObjectKeys } from './test-s3.ts';
import { createAccount, createKey } from './accounts.ts';
import { bearer } from './client.ts';
import { startHarness, type Harness } from './harness.ts';
import { expectData, type Injected } from './http.ts';
import { createTransfer } from './transfers.ts';

/**
 * Helpers for the tus 1.0 tests of the HTTP tier (test/http/tus-*.test.ts): a harness with small
 * tus and transfer maxima and three credentials (owner key, another account's key, a read-only
 * key), and tus requests through `inject()` (creation, HEAD, PATCH) with what the tests check.
 */

export const TUS_MAX = 200_000;
export const TRANSFER_MAX = 300_000;
export const UPLOADS = '/api/v1/uploads';
export const V = { 'tus-resumable': '1.0.0' } as const;
export const OCTET = { 'content-type': 'application/offset+octet-stream' } as const;

export type HeaderMap = Record<string, string>;

/** base64 of a UTF-8 string, as Upload-Metadata wants its values. */
export const b64 = (value: string) => Buffer.from(value).toString('base64');
/** An Upload-Metadata header from plain values. */
export const metadata = (pairs: Record<string, string>) =>
  Object.entries(pairs)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

/** The upload id from a 201 creation answer (its Location). */
export const idOf = (res: Injected): string => {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(201);
  const location = String(res.headers.location);
  expect(location).toMatch(new RegExp(`${UPLOADS}/up_[0-9a-z]{25}$`));
  return location.slice(location.lastIndexOf('/') + 1);
};

/** HEAD answers carry no body: the status (and that nothing leaks in headers) is what there is. */
export function expectHeadStatus(res: Injected, status: number) {
  expect(res.statusCode).toBe(status);
  expect(res.body).toBe('');
  expect(res.headers['upload-offset']).toBeUndefined();
}

export interface TusHttp {
  h: Harness;
  /** The owner's key (all scopes). */
  key: string;
  /** Another account's key. */
  other: string;
  /** The owner's key with files:read and transfers:read only. */
  readOnly: string;
}

/** Starts a harness with TRANSFER_MAX and TUS_MAX and makes the three credentials. */
export async function startTusHttp(): Promise<TusHttp> {
  const h = await startHarness({ FERRY_MAX_TRANSFER_SIZE: String(TRANSFER_MAX), FERRY_TUS_MAX_SIZE: String(TUS_MAX) });
  const { key } = await createAccount(h.app, 'tus@example.com');
  const { key: other } = await createAccount(h.app, 'tus-other@example.com');
  const { key: readOnly } = await createKey(h.app, key, { name: 'ro', scopes: ['files:read', 'transfers:read'] });
  return { h, key, other, readOnly };
}

/**
 * Request helpers bound to the harness and owner key that `current` answers when they run (so they
 * can be made at module level, before `beforeAll` has started the harness).
 */
export function tusHelpers(current: () => { h: Harness; key: string }) {
  const app = () => current().h.app;
  const owner = (): HeaderMap => bearer(current().key);

  function tus(method: string, url: string, headers: HeaderMap = {}, payload?: Buffer | string | Readable): Promise<Injected> {
    return app().inject({ method: method as 'POST', url, headers: { ...V, ...headers }, ...(payload !== undefined ? { payload } : {}) });
  }

  async function transfer(files: { name: string; size: number }[] = [], apiKey = current().key) {
    const t = await createTransfer(app(), apiKey, { title: 'tus', files });
    return { id: t.id as string, token: t.upload_token as string, fileIds: (t.files as { id: string }[]).map((f) => f.id) };
  }

  /** POST with `meta` as Upload-Metadata and `length` as Upload-Length (or deferred when null). */
  function create(meta: Record<string, string>, length: number | null, headers: HeaderMap = {}, auth: HeaderMap = owner(), body?: Buffer) {
    const lengthHeader: HeaderMap = length === null ? { 'upload-defer-length': '1' } : { 'upload-length': String(length) };
    return tus('POST', UPLOADS, { ...auth, ...lengthHeader, 'upload-metadata': metadata(meta), ...(body ? OCTET : {}), ...headers }, body);
  }

  /** A new unfinished upload of `size` bytes into a fresh transfer, by filename. */
  async function started(size: number, name = 'data.bin') {
    const t = await transfer();
    const id = idOf(await create({ transfer_id: t.id, filename: name }, size));
    return { id, transferId: t.id, token: t.token };
  }

  const head = (id: string, auth: HeaderMap = owner()) => tus('HEAD', `${UPLOADS}/${id}`, auth);
  const patch = (id: string, offset: number, body: Buffer | Readable, headers: HeaderMap = {}, auth: HeaderMap = owner()) =>
    tus('PATCH', `${UPLOADS}/${id}`, { ...auth, ...OCTET, 'upload-offset': String(offset), ...headers }, body);

  async function offsetOf(id: string): Promise<number> {
    const res = await head(id);
    expect(res.statusCode, res.body).toBe(200);
    return Number(res.headers['upload-offset']);
  }

  const fileView = async (fileId: string) => expectData(await app().inject({ method: 'GET', url: `/api/v1/files/${fileId}`, headers: owner() }));
  const download = (fileId: string) => app().inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: owner() });
  const transferFiles = async (transferId: string) =>
    expectData(await app().inject({ method: 'GET', url: `/api/v1/transfers/${transferId}`, headers: owner() })).files as any[];

  return { tus, transfer, create, started, head, patch, offsetOf, fileView, download, transferFiles, tusUploadsStored: () => tusUploadsStored(current().h), tusBytes: (id: string) => tusBytes(current().h, id) };
}

/**
 * Ids of the tus uploads whose bytes or records the tus store still holds: files in the tus folder
 * beside the local store, or objects and open multipart uploads in the bucket.
 */
export async function tusUploadsStored(h: Harness): Promise<string[]> {
  const store = h.stores.defaultStore;
  if (store instanceof LocalBlobStore) return readdir(path.join(store.root, '.tus')).catch(() => []);
  const s3 = store as S3BlobStore;
  const keys = [...(await listObjectKeys(s3.client, s3.bucket, 'up_')), ...(await s3.multipart.listOpen('up_')).map((u) => u.objectKey)];
  return [...new Set(keys.map((k) => k.replace(/\.(info|part)$/, '')))];
}

/** The bytes an unfinished upload holds so far (small uploads: on S3 they are its `.part` object). */
export async function tusBytes(h: Harness, id: string): Promise<Buffer> {
  const store = h.stores.defaultStore;
  if (store instanceof LocalBlobStore) return readFile(path.join(store.root, '.tus', id));
  const s3 = store as S3BlobStore;
  for (const key of [`${id}.part`, id]) {
    try {
      const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (err) {
      if ((err as Error).name !== 'NoSuchKey') throw err;
    }
  }
  return Buffer.alloc(0);
}
