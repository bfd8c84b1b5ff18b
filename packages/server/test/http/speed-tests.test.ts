import http from 'node:http';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey, type Account } from '../support/accounts.ts';
import { emittedEvents } from '../support/events.ts';
import { expectData, expectError, ghostId, type Injected } from '../support/http.ts';

/**
 * Speed tests (the Trinsfer resource): CRUD with its scopes, isolation between accounts, the
 * public list without credentials and without owners, bad input, the event, and a measured
 * round trip over real HTTP through ping, download and upload.
 */

const SPEED = ['speed:read', 'speed:write'];
const MiB = 1024 * 1024;
const RESULT = { ping_ms: 12.5, jitter_ms: 1.8, download_mbps: 95.4, upload_mbps: 48.3, public: true, display_name: 'my-edge-node', isp: 'Acme ISP', country: 'US', location: 'New York' };

let h: Harness;
let base: string;
let owner: Account;
let other: Account;

beforeAll(async () => {
  h = await startHarness();
  base = await h.listen();
  owner = await createAccount(h.app, 'speedy@example.com', SPEED);
  other = await createAccount(h.app, 'other-speedy@example.com', SPEED);
});
afterAll(() => h.close());

const api = (method: 'GET' | 'POST' | 'DELETE', url: string, key: string | null = owner.key, payload?: unknown): Promise<Injected> =>
  h.app.inject({ method, url, headers: key ? bearer(key) : {}, ...(payload === undefined ? {} : { payload: payload as object }) });
const submit = (body: Record<string, unknown>, key = owner.key) => api('POST', '/api/v1/speed-tests', key, body);
const expectDeleted = (res: Injected) => expect(res.statusCode, res.body).toBe(204);
const stored = async () => Number((await h.database.db.selectFrom('speed_tests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

describe('speed test results', () => {
  it('stores the guide\'s example, reads it back, lists it newest first and deletes it', async () => {
    const created = expectData(await submit({ ...RESULT, display_name: '  my-edge-node ', country: 'us' }), 201);
    expect(created).toEqual({ ...RESULT, id: expect.stringMatching(/^spd_[0-9a-zA-Z]{22}$/), created_at: expect.any(String) });
    expect(expectData(await api('GET', `/api/v1/speed-tests/${created.id}`))).toEqual(created);

    h.clock.advance(10); // newest first: a later created_at, not the same millisecond
    const second = expectData(await submit({ ping_ms: 0, download_mbps: 0.5, upload_mbps: 1000000 }), 201);
    expect(second).toMatchObject({ ping_ms: 0, jitter_ms: null, public: false, display_name: null, isp: null, country: null, location: null });
    const listed = (await api('GET', '/api/v1/speed-tests?limit=1')).json();
    expect(listed.pagination).toEqual({ limit: 1, offset: 0, total: 2 });
    expect(listed.data.map((t: { id: string }) => t.id)).toEqual([second.id]);
    expect((await api('GET', '/api/v1/speed-tests?offset=1')).json().data.map((t: { id: string }) => t.id)).toEqual([created.id]);

    for (const id of [created.id, second.id]) expectDeleted(await api('DELETE', `/api/v1/speed-tests/${id}`));
    expectError(await api('GET', `/api/v1/speed-tests/${created.id}`), 404, 'not_found');
    expectError(await api('DELETE', `/api/v1/speed-tests/${created.id}`), 404, 'not_found');
    expect((await api('GET', '/api/v1/speed-tests')).json()).toEqual({ data: [], pagination: { limit: 20, offset: 0, total: 0 } });
  });

  it('emits speed_test.submitted with the result\'s id and numbers, never the owner\'s email', async () => {
    const created = expectData(await submit(RESULT), 201);
    const [event] = (await emittedEvents(h, 'speed_test.submitted')).filter((e) => e.data.speed_test.id === created.id);
    expect(event).toMatchObject({ userId: owner.userId, data: { speed_test: { id: created.id, ping_ms: 12.5, jitter_ms: 1.8, download_mbps: 95.4, upload_mbps: 48.3, public: true, country: 'US' } } });
    expect(JSON.stringify(event)).not.toContain(owner.email);
    expectDeleted(await api('DELETE', `/api/v1/speed-tests/${created.id}`));
  });

  it('a key without speed:read or speed:write gets 403 insufficient_scope; no credentials 401', async () => {
    const readOnly = (await createKey(h.app, owner, { scopes: ['speed:read'] })).key;
    const writeOnly = (await createKey(h.app, owner, { scopes: ['speed:write'] })).key;
    const neither = (await createKey(h.app, owner, { scopes: ['transfers:read'] })).key;
    const { id } = expectData(await submit(RESULT, writeOnly), 201);
    const reads = [['GET', '/api/v1/speed-tests'], ['GET', `/api/v1/speed-tests/${id}`]] as const;
    const writes = [['POST', '/api/v1/speed-tests'], ['DELETE', `/api/v1/speed-tests/${id}`], ['GET', '/api/v1/speed-tests/ping'], ['GET', '/api/v1/speed-tests/download?bytes=1'], ['POST', '/api/v1/speed-tests/upload']] as const;
    for (const [method, url] of reads) {
      expectData(await api(method, url, readOnly));
      for (const key of [writeOnly, neither]) expect(expectError(await api(method, url, key), 403, 'insufficient_scope').required_scope).toBe('speed:read');
      expectError(await api(method, url, null), 401, 'missing_token');
    }
    for (const [method, url] of writes) {
      for (const key of [readOnly, neither]) expect(expectError(await api(method, url, key, method === 'POST' ? RESULT : undefined), 403, 'insufficient_scope').required_scope).toBe('speed:write');
      expectError(await api(method, url, null), 401, 'missing_token');
    }
    expect(expectData(await api('GET', `/api/v1/speed-tests/${id}`))).toMatchObject({ id });
    expectDeleted(await api('DELETE', `/api/v1/speed-tests/${id}`, writeOnly));
  });

  it("another account's result is 404 to read and to delete, and absent from its list", async () => {
    const { id } = expectData(await submit(RESULT), 201);
    expectError(await api('GET', `/api/v1/speed-tests/${id}`, other.key), 404, 'not_found');
    expectError(await api('DELETE', `/api/v1/speed-tests/${id}`, other.key), 404, 'not_found');
    expect((await api('GET', '/api/v1/speed-tests', other.key)).json().pagination.total).toBe(0);
    expect(expectData(await api('GET', `/api/v1/speed-tests/${id}`))).toMatchObject({ id });
    expectDeleted(await api('DELETE', `/api/v1/speed-tests/${id}`));
  });

  it('the public list needs no credentials, holds only public results and nothing about their owners', async () => {
    const shown = expectData(await submit(RESULT), 201);
    h.clock.advance(10);
    const anonymous = expectData(await submit({ ...RESULT, display_name: null, isp: null, location: null }, other.key), 201);
    const hidden = expectData(await submit({ ...RESULT, public: false, display_name: 'private-node' }), 201);
    const res = await api('GET', '/api/v1/speed-tests/public', null);
    const body = res.json();
    expect(body.pagination).toEqual({ limit: 20, offset: 0, total: 2 });
    expect(body.data.map((t: { id: string }) => t.id)).toEqual([anonymous.id, shown.id]);
    expect(body.data[1]).toEqual({ id: shown.id, ping_ms: 12.5, jitter_ms: 1.8, download_mbps: 95.4, upload_mbps: 48.3, display_name: 'my-edge-node', isp: 'Acme ISP', country: 'US', location: 'New York', created_at: shown.created_at });
    expect(body.data[0].display_name).toBeNull();
    for (const secret of [owner.userId, other.userId, owner.email, other.email, 'speedy', 'private-node', hidden.id]) expect(res.body).not.toContain(secret);
    expect(res.body).not.toMatch(/user|email|owner|"public"/);
    const page = (await api('GET', '/api/v1/speed-tests/public?limit=1&offset=1', null)).json();
    expect(page).toMatchObject({ data: [{ id: shown.id }], pagination: { limit: 1, offset: 1, total: 2 } });
    for (const t of [shown, hidden]) expectDeleted(await api('DELETE', `/api/v1/speed-tests/${t.id}`));
    expectDeleted(await api('DELETE', `/api/v1/speed-tests/${anonymous.id}`, other.key));
    expect((await api('GET', '/api/v1/speed-tests/public', null)).json().pagination.total).toBe(0);
  });

  it('bad input answers 400 validation_failed and stores nothing', async () => {
    const before = await stored();
    const bad: Record<string, unknown>[] = [
      { ping_ms: -1 },
      { ping_ms: 60_001 },
      { jitter_ms: -0.5 },
      { download_mbps: 1_000_001 },
      { upload_mbps: '48.3' },
      { ping_ms: null },
      { public: 'yes' },
      { user_id: other.userId },
      { id: 'spd_AAAAAAAAAAAAAAAAAAAAAA' },
      { created_at: '2020-01-01T00:00:00Z' },
      { country: 'USA' },
      { country: 'ZZ' },
      { country: 'U1' },
      { country: '' },
      { display_name: 'a'.repeat(65) },
      { display_name: 'nul\u0000byte' },
      { isp: 'line\nbreak' },
      { location: 'esc\u001b[31mred' },
      { display_name: 'evil\u202Etxt.exe' },
      { location: 'sep\u2028line' },
      { display_name: 12 },
    ];
    for (const change of bad) expectError(await submit({ ...RESULT, ...change }), 400, 'validation_failed');
    for (const field of ['ping_ms', 'download_mbps', 'upload_mbps']) {
      const { [field]: _gone, ...rest } = RESULT as Record<string, unknown>;
      expectError(await submit(rest), 400, 'validation_failed');
    }
    // What JSON.stringify cannot send: an infinite number and a lone surrogate.
    const raw = (text: string) => h.app.inject({ method: 'POST', url: '/api/v1/speed-tests', headers: { ...bearer(owner.key), 'content-type': 'application/json' }, payload: text });
    expectError(await raw('{"ping_ms":1e400,"download_mbps":1,"upload_mbps":1}'), 400, 'validation_failed');
    expectError(await raw('{"ping_ms":1,"download_mbps":1,"upload_mbps":1,"display_name":"\\ud800"}'), 400, 'validation_failed');
    expect(await stored()).toBe(before);

    expect(expectData(await submit({ ...RESULT, display_name: 'Zürich 🚀 node', country: 'de' }), 201)).toMatchObject({ display_name: 'Zürich 🚀 node', country: 'DE' });
    for (const query of ['limit=0', 'limit=101', 'offset=-1', 'limit=abc']) {
      expectError(await api('GET', `/api/v1/speed-tests?${query}`), 400, 'validation_failed');
      expectError(await api('GET', `/api/v1/speed-tests/public?${query}`, null), 400, 'validation_failed');
    }
    for (const id of ['nope', ghostId('spd'), ghostId('tr')]) expectError(await api('GET', `/api/v1/speed-tests/${id}`), 404, 'not_found');
    for (const bytes of ['0', '-1', String(100 * MiB + 1), 'abc', '1.5']) expectError(await api('GET', `/api/v1/speed-tests/download?bytes=${bytes}`), 400, 'validation_failed');
  });
});

/** A request whose body is written in chunks until the server answers; resolves with its status. */
function endlessUpload(key: string, headers: Record<string, string>): Promise<number> {
  // A raw socket: the server may answer and close while chunks are still being written, and the
  // status line must be read whatever happens to the writes (an EPIPE is expected here).
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    const all = { host: '127.0.0.1', ...bearer(key), 'content-type': 'application/octet-stream', ...headers };
    const chunk = Buffer.concat([Buffer.from(`${MiB.toString(16)}\r\n`), Buffer.alloc(MiB, 7), Buffer.from('\r\n')]);
    let answer = '';
    let done = false;
    const finish = (status: number | Error) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (typeof status === 'number') resolve(status);
      else reject(status);
    };
    socket.on('data', (data) => {
      answer += data.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) finish(Number(match[1]));
    });
    socket.on('error', () => undefined);
    // The server answers 413 and closes; a client still writing may see the close as a reset
    // before it reads the answer (TCP discards it then), so a close without a status is 0.
    socket.on('close', () => finish(answer === '' ? 0 : new Error(`closed without a status line: ${JSON.stringify(answer.slice(0, 200))}`)));
    socket.write(`POST /api/v1/speed-tests/upload HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    const pump = () => {
      while (!done && !socket.destroyed && socket.write(chunk));
      if (!done && !socket.destroyed) socket.once('drain', pump);
    };
    pump();
  });
}

/** Sends only a request head over a socket and answers the status line's code. */
function headOnly(key: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    const all = { host: '127.0.0.1', ...bearer(key), 'content-type': 'application/octet-stream', ...headers };
    socket.write(`POST /api/v1/speed-tests/upload HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\nxx`);
    let answer = '';
    socket.on('data', (data) => {
      answer += data.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) {
        resolve(Number(match[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
  });
}

describe('a measured round trip over real HTTP', () => {
  it('ping, download N bytes, upload M bytes, store the result and read it back', async () => {
    const auth = bearer(owner.key);
    const pings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const ping = await fetch(`${base}/api/v1/speed-tests/ping`, { headers: auth });
      const { data } = await ping.json();
      pings.push(performance.now() - started);
      expect(ping.status).toBe(200);
      expect(ping.headers.get('cache-control')).toMatch(/no-store/);
      expect(Math.abs(Date.parse(data.server_time) - Date.now())).toBeLessThan(60_000);
    }

    const n = 3 * MiB + 123;
    const started = performance.now();
    const download = await fetch(`${base}/api/v1/speed-tests/download?bytes=${n}`, { headers: { ...auth, 'accept-encoding': 'gzip, deflate, br' } });
    const bytes = Buffer.from(await download.arrayBuffer());
    const downloadSeconds = (performance.now() - started) / 1000;
    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(n));
    expect(download.headers.get('content-encoding')).toBeNull();
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    expect(download.headers.get('cache-control')).toMatch(/no-store/);
    expect(bytes.length).toBe(n);
    expect(gzipSync(bytes).length).toBeGreaterThan(n * 0.99);
    // Another download is other bytes: nothing a cache or the client could reuse.
    const again = Buffer.from(await (await fetch(`${base}/api/v1/speed-tests/download?bytes=4096`, { headers: auth })).arrayBuffer());
    expect(again.length).toBe(4096);
    expect(again.equals(bytes.subarray(0, 4096))).toBe(false);
    const byDefault = await fetch(`${base}/api/v1/speed-tests/download`, { headers: auth });
    expect(byDefault.headers.get('content-length')).toBe(String(10 * MiB));
    await byDefault.body!.cancel();

    const m = 5 * MiB + 7;
    const upload = await fetch(`${base}/api/v1/speed-tests/upload`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(m) });
    expect(upload.status).toBe(200);
    const measured = (await upload.json()).data;
    expect(measured.bytes).toBe(m);
    expect(measured.duration_ms).toBeGreaterThan(0);
    expect(measured.mbps).toBeGreaterThan(0);
    expect(measured.mbps).toBeCloseTo((m * 8) / (measured.duration_ms / 1000) / 1e6, -1);

    const jitter = Math.max(...pings) - Math.min(...pings);
    const result = {
      ping_ms: Math.min(...pings),
      jitter_ms: jitter,
      download_mbps: (n * 8) / downloadSeconds / 1e6,
      upload_mbps: measured.mbps,
      public: false,
    };
    const created = await fetch(`${base}/api/v1/speed-tests`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(result) });
    expect(created.status).toBe(201);
    const { data } = await created.json();
    const read = await (await fetch(`${base}/api/v1/speed-tests/${data.id}`, { headers: auth })).json();
    expect(read.data).toMatchObject({ ...result, id: data.id });
  });

  it('an upload over the cap is 413: before reading when declared, and when a chunked body passes it', async () => {
    expect(await headOnly(owner.key, { 'content-length': String(100 * MiB + 1) })).toBe(413);
    const declared = await h.app.inject({ method: 'POST', url: '/api/v1/speed-tests/upload', headers: { ...bearer(owner.key), 'content-type': 'application/octet-stream', 'content-length': String(100 * MiB + 1) }, payload: 'x' });
    expect(expectError(declared, 413, 'payload_too_large').max_bytes).toBe(100 * MiB);
    // Cut by the server either way: 413 when the answer arrives before the reset.
    expect([413, 0]).toContain(await endlessUpload(owner.key, { 'transfer-encoding': 'chunked' }));
    // The server still answers this account afterwards (its upload slot was given back).
    const ok = await fetch(`${base}/api/v1/speed-tests/upload`, { method: 'POST', headers: { ...bearer(owner.key), 'content-type': 'application/octet-stream' }, body: new Uint8Array(1000) });
    expect((await ok.json()).data.bytes).toBe(1000);
  });

  it('an upload must be application/octet-stream, uncompressed and not empty', async () => {
    const post = (headers: Record<string, string>, payload: string | Buffer) => h.app.inject({ method: 'POST', url: '/api/v1/speed-tests/upload', headers: { ...bearer(owner.key), ...headers }, payload });
    for (const type of ['application/json', 'text/plain', 'multipart/form-data; boundary=x']) expectError(await post({ 'content-type': type }, 'abc'), 415, 'unsupported_media_type');
    expectError(await post({}, Buffer.from('abc')), 415, 'unsupported_media_type');
    expectError(await post({ 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(10_000))), 415, 'unsupported_media_type');
    expectError(await post({ 'content-type': 'application/octet-stream' }, ''), 400, 'validation_failed');
    expect(expectData(await post({ 'content-type': 'Application/Octet-Stream; foo=bar' }, 'abc'))).toMatchObject({ bytes: 3 });
  });
});
