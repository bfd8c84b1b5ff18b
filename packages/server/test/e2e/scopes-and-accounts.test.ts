import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import { createAccount, createKey, type Account } from '../support/accounts.ts';
import { declaredFile, readyTransfer } from '../support/transfers.ts';
import { sha256 } from '../support/hashing.ts';
import { curlStatus } from '../support/e2e.ts';

describe('scopes and account isolation over real HTTP', () => {
  let server: ListeningHarness;
  let base: string;
  let dir: string;
  let alice: Account;
  let bob: Account;
  let readOnlyKey = '';
  const content = randomBytes(64 * 1024);
  /** Alice's finalized transfer with one file, and one still uploading with a pending file. */
  const shared = { id: '', fileId: '', link: '' };
  const open = { id: '', fileId: '', uploadUrl: '' };

  beforeAll(async () => {
    server = await startListening('alice@example.com');
    ({ base, dir, owner: alice } = server);
    await fsp.writeFile(path.join(dir, 'payload.bin'), content);
    bob = await createAccount(base, 'bob@example.com');
    readOnlyKey = (await createKey(base, alice, { name: 'read only', scopes: ['transfers:read'] })).key;

    const ready = await readyTransfer(base, alice.key, [{ name: 'alice.bin', content }], { title: "Alice's files" });
    shared.id = ready.transfer.id;
    shared.fileId = ready.transfer.files[0].id;
    shared.link = `${base}${ready.link}`;

    const pending = await declaredFile(base, alice.key, { size: content.length, name: 'later.bin', title: 'Still uploading' });
    open.id = pending.transferId;
    open.fileId = pending.fileId;
    open.uploadUrl = rebase(base, pending.file.upload.url);
  });

  afterAll(() => server?.close());

  const fileState = async () =>
    (await call(base, 'GET', `/api/v1/transfers/${open.id}`, { key: alice.key })).body.data.files[0].state as string;

  it('a transfers:read key can read but not create transfers (403 insufficient_scope)', async () => {
    expect((await call(base, 'GET', '/api/v1/transfers', { key: readOnlyKey })).status).toBe(200);
    expect((await call(base, 'GET', `/api/v1/transfers/${shared.id}`, { key: readOnlyKey })).status).toBe(200);

    const create = await call(base, 'POST', '/api/v1/transfers', { key: readOnlyKey, json: { title: 'nope', files: [{ name: 'x', size: 1 }] } });
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('insufficient_scope');
    expect(create.body.required_scope).toBe('transfers:write');
    const listed = await call(base, 'GET', '/api/v1/transfers', { key: alice.key });
    expect(listed.body.data.map((t: { title: string }) => t.title)).not.toContain('nope');

    for (const [method, url] of [
      ['POST', `/api/v1/transfers/${open.id}/finalize`],
      ['DELETE', `/api/v1/transfers/${open.id}`],
      ['GET', `/api/v1/files/${shared.fileId}/download`],
      ['GET', `/api/v1/transfers/${shared.id}/download.zip`],
    ] as const) {
      const reply = await call(base, method, url, { key: readOnlyKey });
      expect(reply.status, `${method} ${url}`).toBe(403);
      expect(reply.body.error.code).toBe('insufficient_scope');
    }
  });

  it('a transfers:read key cannot upload (403), with fetch or curl -T, and the file stays pending', async () => {
    const viaFetch = await call(base, 'PUT', open.uploadUrl, { key: readOnlyKey, body: content });
    expect(viaFetch.status).toBe(403);
    expect(viaFetch.body.error.code).toBe('insufficient_scope');

    const out = path.join(dir, 'curl-403.json');
    const status = await curlStatus(['-T', path.join(dir, 'payload.bin'), '-H', `Authorization: Bearer ${readOnlyKey}`, '-o', out, open.uploadUrl]);
    expect(status).toBe(403);
    expect(JSON.parse(await fsp.readFile(out, 'utf8')).error.code).toBe('insufficient_scope');

    const declare = await call(base, 'POST', `/api/v1/transfers/${open.id}/files`, { key: readOnlyKey, json: { name: 'y', size: 1 } });
    expect(declare.status).toBe(403);
    expect(await fileState()).toBe('pending');
  });

  it('rejects missing and unknown credentials with 401', async () => {
    const none = await call(base, 'GET', '/api/v1/transfers');
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('missing_token');
    const bogus = await call(base, 'GET', '/api/v1/transfers', { key: `${alice.key.slice(0, -4)}zzzz` });
    expect(bogus.status).toBe(401);
    expect((await call(base, 'PUT', open.uploadUrl, { body: content })).status).toBe(401);
  });

  it("another account gets 404 for everything of Alice's, and cannot upload into her transfer", async () => {
    const reads = [
      `/api/v1/transfers/${shared.id}`,
      `/api/v1/transfers/${shared.id}/files`,
      `/api/v1/files/${shared.fileId}`,
      `/api/v1/files/${shared.fileId}/download`,
      `/api/v1/transfers/${shared.id}/download.zip`,
    ];
    for (const url of reads) {
      const reply = await call(base, 'GET', url, { key: bob.key });
      expect(reply.status, url).toBe(404);
      expect(reply.body.error.code, url).toBe('not_found');
    }
    const ranged = await call(base, 'GET', `/api/v1/files/${shared.fileId}/download`, { key: bob.key, headers: { range: 'bytes=0-9' } });
    expect(ranged.status).toBe(404);

    const writes: Array<[string, string, unknown]> = [
      ['PATCH', `/api/v1/transfers/${shared.id}`, { title: 'mine now' }],
      ['DELETE', `/api/v1/transfers/${shared.id}`, undefined],
      ['POST', `/api/v1/transfers/${open.id}/finalize`, undefined],
      ['POST', `/api/v1/transfers/${open.id}/files`, { name: 'intruder.bin', size: 3 }],
      ['DELETE', `/api/v1/files/${open.fileId}`, undefined],
    ];
    for (const [method, url, json] of writes) {
      expect((await call(base, method, url, { key: bob.key, json })).status, `${method} ${url}`).toBe(404);
    }

    const upload = await call(base, 'PUT', open.uploadUrl, { key: bob.key, body: content });
    expect(upload.status).toBe(404);
    const out = path.join(dir, 'curl-404.json');
    expect(await curlStatus(['-T', path.join(dir, 'payload.bin'), '-H', `Authorization: Bearer ${bob.key}`, '-o', out, open.uploadUrl])).toBe(404);
    expect(await fileState()).toBe('pending');

    const bobsList = await call(base, 'GET', '/api/v1/transfers', { key: bob.key });
    expect(bobsList.body.pagination.total).toBe(0);
    const mine = await call(base, 'GET', `/api/v1/transfers/${shared.id}`, { key: alice.key });
    expect(mine.body.data).toMatchObject({ title: "Alice's files", state: 'ready', file_count: 1 });
    const aliceOpen = await call(base, 'GET', `/api/v1/transfers/${open.id}`, { key: alice.key });
    expect(aliceOpen.body.data.file_count).toBe(1);
  });

  it("Alice's public link still works for anyone, with or without someone else's credentials", async () => {
    const callers: Array<Record<string, string>> = [{}, { authorization: `Bearer ${bob.key}` }, { authorization: 'Bearer not-a-key' }];
    for (const headers of callers) {
      const page = await call(base, 'GET', shared.link, { headers });
      expect(page.status).toBe(200);
      expect(page.body).toContain('alice.bin');
      const file = await fetch(`${shared.link}/files/${shared.fileId}`, { headers });
      expect(file.status).toBe(200);
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(content));
      const zip = await fetch(`${shared.link}/download.zip`, { headers });
      expect(zip.status).toBe(200);
      await zip.arrayBuffer();
    }
    const out = path.join(dir, 'curl-public.bin');
    expect(await curlStatus(['-o', out, `${shared.link}/files/${shared.fileId}`])).toBe(200);
    expect(sha256(await fsp.readFile(out))).toBe(sha256(content));
  });
});
