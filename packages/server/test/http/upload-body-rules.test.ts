import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBodyRoutes } from '../../src/http/upload-body-scope.ts';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer, declaredFile } from '../support/transfers.ts';
import { idOf, metadata, UPLOADS, V } from '../support/tus-http.ts';

/**
 * Every route that streams an upload body obeys the same rules, because they are hooks of the
 * one scope those routes live in: no compressed bodies, a strict Content-Length, the per-account
 * cap on bodies in flight, and a cut when the body idles. The list of cases must name every
 * route of that scope, so a new upload route without a case here fails this file.
 */

const SIZE = 1000;
/** The upload routes' scopes, the speed test upload's included. */
const SCOPES = [...ALL_USER_SCOPES, 'speed:write'];
const BOUNDARY = 'ferryBoundary';

interface RawUpload {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** The first bytes of the body (the rest is never sent). */
  prefix: string;
}

type Case = (h: Harness, key: string) => Promise<RawUpload>;

async function tusUpload(h: Harness, key: string): Promise<string> {
  const t = await createTransfer(h.app, key, { title: 'rules' });
  const res = await h.app.inject({
    method: 'POST',
    url: UPLOADS,
    headers: { ...V, ...bearer(key), 'upload-length': String(SIZE), 'upload-metadata': metadata({ transfer_id: t.id, filename: 'f.bin' }) },
  });
  expect(res.statusCode).toBe(201);
  return idOf(res);
}

const octets = { 'content-type': 'application/octet-stream' };
const tusBody = { ...V, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' };

const cases: Record<string, Case> = {
  'PUT /api/v1/transfers/:id/files/:fileId/content': async (h, key) => {
    const { transferId, fileId } = await declaredFile(h.app, key, { size: SIZE, title: 'rules' });
    return { method: 'PUT', path: `/api/v1/transfers/${transferId}/files/${fileId}/content`, headers: octets, prefix: 'x' };
  },
  'PUT /api/v1/transfers/:id/files/:fileId/parts/:partNumber': async (h, key) => {
    const { transferId, fileId } = await declaredFile(h.app, key, { size: SIZE, title: 'rules' });
    return { method: 'PUT', path: `/api/v1/transfers/${transferId}/files/${fileId}/parts/1`, headers: octets, prefix: 'x' };
  },
  'POST /api/v1/upload-chunk': async (h, key) => {
    const t = await createTransfer(h.app, key, { title: 'rules' });
    const headers = { ...octets, 'x-transfer-id': t.id, 'x-file-id': 'one', 'x-chunk-index': '0', 'x-total-chunks': '1', 'x-file-name': 'f.bin', 'x-file-size': String(SIZE) };
    return { method: 'POST', path: '/api/v1/upload-chunk', headers, prefix: 'x' };
  },
  'PUT /': async () => ({ method: 'PUT', path: '/', headers: octets, prefix: 'x' }),
  'PUT /:name': async () => ({ method: 'PUT', path: '/rules.bin', headers: octets, prefix: 'x' }),
  'POST /api/v1/transfers/:id/files': async (h, key) => {
    const t = await createTransfer(h.app, key, { title: 'rules' });
    const prefix = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\nx`;
    return { method: 'POST', path: `/api/v1/transfers/${t.id}/files`, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, prefix };
  },
  [`POST ${UPLOADS}`]: async (h, key) => {
    const t = await createTransfer(h.app, key, { title: 'rules' });
    const headers = { ...V, 'content-type': 'application/offset+octet-stream', 'upload-length': String(SIZE), 'upload-metadata': metadata({ transfer_id: t.id, filename: 'f.bin' }) };
    return { method: 'POST', path: UPLOADS, headers, prefix: 'x' };
  },
  [`PATCH ${UPLOADS}/:id`]: async (h, key) => ({ method: 'PATCH', path: `${UPLOADS}/${await tusUpload(h, key)}`, headers: tusBody, prefix: 'x' }),
  'POST /api/v1/speed-tests/upload': async () => ({ method: 'POST', path: '/api/v1/speed-tests/upload', headers: octets, prefix: 'x' }),
  [`POST ${UPLOADS}/:id`]: async (h, key) => ({
    method: 'POST',
    path: `${UPLOADS}/${await tusUpload(h, key)}`,
    headers: { ...tusBody, 'x-http-method-override': 'PATCH' },
    prefix: 'x',
  }),
};

interface Sent {
  socket: net.Socket;
  /** The answer's status, or null when the connection closed without one. */
  status: Promise<number | null>;
  closed: Promise<void>;
}

/** Writes the request head and the body's first bytes over a plain socket, then stalls. */
function send(baseUrl: string, key: string, upload: RawUpload, headers: Record<string, string>): Sent {
  const { port } = new URL(baseUrl);
  const socket = net.connect(Number(port), '127.0.0.1');
  const all = { host: '127.0.0.1', ...bearer(key), ...upload.headers, ...headers };
  socket.write(`${upload.method} ${upload.path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${upload.prefix}`);
  let answer = '';
  const status = new Promise<number | null>((resolve) => {
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) resolve(Number(match[1]));
    });
    socket.on('close', () => resolve(null));
    socket.on('error', () => resolve(null));
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, status, closed };
}

/** The declared size: the body never ends, but never goes past what the file may hold either. */
const withLength = (_upload: RawUpload) => ({ 'content-length': String(SIZE) });

describe('the upload body scope holds every body-streaming route', () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startHarness({ FERRY_UPLOAD_IDLE_TIMEOUT: '1' });
    await h.listen();
    ({ key } = await createAccount(h.app, 'rules@example.com', SCOPES));
  });
  afterAll(() => h.close());

  it('the cases below name exactly the routes of the upload scope', () => {
    expect([...uploadBodyRoutes(h.app)].sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.keys(cases))('%s refuses a compressed body with 415 before reading it', async (route) => {
    const upload = await cases[route]!(h, key);
    const sent = send(h.baseUrl, key, upload, { ...withLength(upload), 'content-encoding': 'gzip' });
    expect(await sent.status).toBe(415);
    sent.socket.destroy();
  });

  it.each(Object.keys(cases))('%s refuses a Content-Length that is no safe whole number with 400', async (route) => {
    const upload = await cases[route]!(h, key);
    const sent = send(h.baseUrl, key, upload, { 'content-length': '12345678901234567' });
    expect(await sent.status).toBe(400);
    sent.socket.destroy();
  });

  it.each(Object.keys(cases))('%s cuts a body that stops arriving', async (route) => {
    const upload = await cases[route]!(h, key);
    const started = Date.now();
    const sent = send(h.baseUrl, key, upload, withLength(upload));
    const outcome = await Promise.race([sent.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 6_000))]);
    sent.socket.destroy();
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('the per-account cap on bodies in flight holds on every body-streaming route', () => {
  let h: Harness;
  let key: string;
  beforeAll(async () => {
    h = await startHarness({ FERRY_MAX_CONCURRENT_UPLOADS: '1' });
    await h.listen();
    ({ key } = await createAccount(h.app, 'cap@example.com', SCOPES));
  });
  afterAll(() => h.close());

  it.each(Object.keys(cases))('%s answers 429 while another body of the account streams', async (route) => {
    const stalled = await cases['PUT /api/v1/transfers/:id/files/:fileId/content']!(h, key);
    const holder = send(h.baseUrl, key, stalled, withLength(stalled));
    await new Promise((r) => setTimeout(r, 200));
    const upload = await cases[route]!(h, key);
    const sent = send(h.baseUrl, key, upload, withLength(upload));
    expect(await sent.status).toBe(429);
    sent.socket.destroy();
    holder.socket.destroy();
    await holder.closed;
    await new Promise((r) => setTimeout(r, 100));
  });
});
