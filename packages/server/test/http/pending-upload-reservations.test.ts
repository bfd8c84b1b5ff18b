import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, multipart, postTransfer, putContent, type Injected } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { smallBlobDisk } from '../support/stored-blobs.ts';
import { metadata, V } from '../support/tus-http.ts';

/**
 * One account cannot reserve the disk away from the others: bytes it declared but has not sent
 * are capped (FERRY_MAX_PENDING_BYTES_PER_ACCOUNT, 413 pending_uploads_limit) on every route that
 * declares, the cap holds under concurrent declarations, and a declaration lapses with its upload
 * (FERRY_UPLOAD_EXPIRY). The blob store sits on a 16 MiB tmpfs, as in storage-full.test.ts, so the
 * server-wide 507 is real.
 */

const MiB = 1024 * 1024;
const CAP = 4 * MiB;
const EXPIRY_SECONDS = 60;

let h: Harness;
let blobs: string;
let unmount: () => void;

beforeAll(async () => {
  h = await startHarness({ FERRY_STORAGE: 'local', FERRY_MAX_PENDING_BYTES_PER_ACCOUNT: String(CAP), FERRY_UPLOAD_EXPIRY: String(EXPIRY_SECONDS) });
  ({ blobs, unmount } = await smallBlobDisk(h.dataDir, '16m'));
});
afterAll(async () => {
  unmount?.();
  await h.close();
});

const declareFile = (key: string, transferId: string, name: string, size: number) =>
  h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key), payload: { name, size } });
const tusCreate = (key: string, size: number, headers: Record<string, string>) =>
  h.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...bearer(key), ...V, 'upload-length': String(size), ...headers } });
const tusPartial = (key: string, size: number) => tusCreate(key, size, { 'upload-concat': 'partial' });
const transfers = async (key: string) => expectData<any[]>(await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(key) }));
const filesOf = async (key: string, id: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${id}`, headers: bearer(key) })).files as any[];

function expectOverCap(res: Injected, pending: number) {
  const body = expectError(res, 413, 'pending_uploads_limit');
  expect(body.max_pending_bytes).toBe(CAP);
  expect(body.pending_bytes).toBe(pending);
}

describe('the per-account cap on pending uploads', () => {
  it('every declaring route answers 413 pending_uploads_limit past the cap and declares nothing; another account still declares and uploads', async () => {
    const { key: alice } = await createAccount(h.app, 'alice@example.com');
    const t = await createTransfer(h.app, alice, { title: 'mine', files: [{ name: 'a.bin', size: 3 * MiB }] });

    expectOverCap(await postTransfer(h.app, alice, { title: 'more', files: [{ name: 'b.bin', size: 2 * MiB }] }), 3 * MiB);
    expectOverCap(await declareFile(alice, t.id, 'b.bin', 2 * MiB), 3 * MiB);
    expectOverCap(await tusCreate(alice, 2 * MiB, { 'upload-metadata': metadata({ transfer_id: t.id, filename: 'c.bin' }) }), 3 * MiB);
    expectOverCap(await tusPartial(alice, 2 * MiB), 3 * MiB);
    const chunk = await h.app.inject({
      method: 'POST',
      url: '/api/v1/upload-chunk',
      headers: { 'content-type': 'application/octet-stream', 'x-token': t.upload_token, 'x-file-id': 'd1', 'x-chunk-index': '0', 'x-total-chunks': '2', 'x-file-name': 'd.bin', 'x-file-size': String(2 * MiB) },
      payload: bytes(MiB),
    });
    expectOverCap(chunk, 3 * MiB);
    const form = multipart([{ name: 'size', value: String(2 * MiB) }, { name: 'file', filename: 'e.bin', content: bytes(2 * MiB) }]);
    expectOverCap(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/files`, headers: { ...bearer(alice), ...form.headers }, payload: form.payload }), 3 * MiB);
    const curl = await h.app.inject({ method: 'PUT', url: '/f.bin', headers: { ...bearer(alice), 'content-type': 'application/octet-stream' }, payload: bytes(2 * MiB) });
    expectOverCap(curl, 3 * MiB);

    // Nothing was declared by the refusals.
    expect(await transfers(alice)).toHaveLength(1);
    expect((await filesOf(alice, t.id)).map((f) => f.name)).toEqual(['a.bin']);
    // Up to the cap is fine; one byte more is not.
    expectData(await declareFile(alice, t.id, 'b.bin', MiB), 201);
    expectOverCap(await declareFile(alice, t.id, 'c.bin', 1), CAP);

    // Someone else is not locked out by alice's declarations.
    const { key: bob } = await createAccount(h.app, 'bob@example.com');
    const content = bytes(CAP);
    const theirs = await createTransfer(h.app, bob, { title: 'theirs', files: [{ name: 'b.bin', size: content.length }] });
    expectData(await putContent(h.app, bob, theirs.id, theirs.files[0].id, content));
    const download = await h.app.inject({ method: 'GET', url: `/api/v1/files/${theirs.files[0].id}/download`, headers: bearer(bob) });
    expect(sha256(download.rawPayload)).toBe(sha256(content));

    // An upload that finishes gives its reservation back.
    const [a] = await filesOf(alice, t.id);
    expectData(await putContent(h.app, alice, t.id, a.id, bytes(3 * MiB)));
    expectData(await declareFile(alice, t.id, 'c.bin', 3 * MiB), 201);
    for (const [key, id] of [[alice, t.id], [bob, theirs.id]]) await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers: bearer(key) });
  });

  it('concurrent declarations of one account never pass the cap together: exactly one of those that fit alone is made', async () => {
    const { key } = await createAccount(h.app, 'racer@example.com');
    const open = await createTransfer(h.app, key, { title: 'open' });
    const size = 3 * MiB;
    const answers = await Promise.all([
      ...[0, 1, 2].map((i) => postTransfer(h.app, key, { title: `t${i}`, files: [{ name: 'x.bin', size }] })),
      ...[0, 1, 2].map((i) => declareFile(key, open.id, `f${i}.bin`, size)),
      ...[0, 1].map(() => tusPartial(key, size)),
    ]);
    const statuses = answers.map((res) => res.statusCode);
    expect(statuses.filter((s) => s === 201), statuses.join(',')).toHaveLength(1);
    for (const res of answers.filter((r) => r.statusCode !== 201)) expectError(res, 413, 'pending_uploads_limit');
    const partial = answers.slice(6).find((r) => r.statusCode === 201);
    const declared = (await transfers(key)).reduce((sum, t) => sum + t.size, 0);
    expect(declared + (partial ? size : 0)).toBe(size);
    // Leave the disk to the next test.
    for (const t of await transfers(key)) await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) });
    if (partial) await h.app.inject({ method: 'DELETE', url: new URL(partial.headers.location as string).pathname, headers: { ...bearer(key), ...V } });
  });

  it('a deferred partial reserves its length when it declares it: past the cap the PATCH is 413 and nothing is recorded', async () => {
    const { key } = await createAccount(h.app, 'deferrer@example.com');
    const created: string[] = [];
    const declare = async (size: number) => {
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...bearer(key), ...V, 'upload-concat': 'partial', 'upload-defer-length': '1' } });
      expect(res.statusCode, res.body).toBe(201);
      const url = new URL(res.headers.location as string).pathname;
      created.push(url);
      const patch = { ...bearer(key), ...V, 'upload-offset': '0', 'upload-length': String(size), 'content-type': 'application/offset+octet-stream' };
      return { url, res: await h.app.inject({ method: 'PATCH', url, headers: patch, payload: Buffer.alloc(0) }) };
    };
    expect((await declare(3 * MiB)).res.statusCode).toBe(204);
    const over = await declare(3 * MiB);
    expectOverCap(over.res, 3 * MiB);
    const head = await h.app.inject({ method: 'HEAD', url: over.url, headers: { ...bearer(key), ...V } });
    expect(head.headers['upload-defer-length']).toBe('1');
    // The refused length counts for nothing: the account still has 1 MiB to declare.
    await createTransfer(h.app, key, { title: 'fits', files: [{ name: 'a.bin', size: MiB }] });
    for (const url of created) await h.app.inject({ method: 'DELETE', url, headers: { ...bearer(key), ...V } });
    for (const t of await transfers(key)) await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) });
  });

  it('of two PATCHes declaring a deferred partial\'s length at once, one is recorded and the other is 400 length_already_set', async () => {
    const { key } = await createAccount(h.app, 'twice@example.com');
    for (let round = 0; round < 4; round++) {
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...bearer(key), ...V, 'upload-concat': 'partial', 'upload-defer-length': '1' } });
      const url = new URL(res.headers.location as string).pathname;
      const patch = (length: number) =>
        h.app.inject({ method: 'PATCH', url, headers: { ...bearer(key), ...V, 'upload-offset': '0', 'upload-length': String(length), 'content-type': 'application/offset+octet-stream' }, payload: Buffer.alloc(0) });
      const answers = await Promise.all([patch(300), patch(1)]);
      const won = answers.filter((a) => a.statusCode === 204);
      expect(won, answers.map((a) => a.body).join(' ')).toHaveLength(1);
      expectError(answers.find((a) => a.statusCode !== 204)!, 400, 'length_already_set');
      const head = await h.app.inject({ method: 'HEAD', url, headers: { ...bearer(key), ...V } });
      const recorded = await h.repositories.tusUploads.find(url.split('/').pop()!);
      expect(recorded?.size).toBe(Number(head.headers['upload-length']));
      await h.app.inject({ method: 'DELETE', url, headers: { ...bearer(key), ...V } });
    }
  });

  it('partials whose bytes all arrived stop counting, so the final upload that joins them fits the cap', async () => {
    const { key } = await createAccount(h.app, 'joiner@example.com');
    const t = await createTransfer(h.app, key, { title: 'joined' });
    const parts = [bytes(2 * MiB), bytes(2 * MiB)];
    const urls: string[] = [];
    for (const part of parts) {
      const res = await tusCreate(key, part.length, { 'upload-concat': 'partial', 'content-type': 'application/offset+octet-stream' });
      expect(res.statusCode, res.body).toBe(201);
      const url = new URL(res.headers.location as string).pathname;
      const patch = { ...bearer(key), ...V, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' };
      expect((await h.app.inject({ method: 'PATCH', url, headers: patch, payload: part })).statusCode).toBe(204);
      urls.push(url);
    }
    const final = await h.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...bearer(key), ...V, 'upload-concat': `final;${urls.join(' ')}`, 'upload-metadata': metadata({ transfer_id: t.id, filename: 'joined.bin' }) },
    });
    expect(final.statusCode, final.body).toBe(201);
    const [file] = await filesOf(key, t.id);
    expect(file).toMatchObject({ name: 'joined.bin', state: 'complete', sha256: sha256(Buffer.concat(parts)) });
    await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) });
    for (const url of urls) await h.app.inject({ method: 'DELETE', url, headers: { ...bearer(key), ...V } });
  });
});

describe('the disk is shared', () => {
  it('declarations of different accounts racing for the last free space: exactly one gets it, the others 507', async () => {
    const accounts = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => createAccount(h.app, `sharer${i}@example.com`)));
    const filler = path.join(blobs, 'filler');
    await fs.writeFile(filler, Buffer.alloc((await h.stores.defaultStore.freeSpace())! - 5 * MiB));
    try {
      const answers = await Promise.all(accounts.map(({ key }) => postTransfer(h.app, key, { title: 'last room', files: [{ name: 'x.bin', size: 3 * MiB }] })));
      const statuses = answers.map((a) => a.statusCode);
      expect(statuses.filter((s) => s === 201), statuses.join(',')).toHaveLength(1);
      for (const res of answers.filter((a) => a.statusCode !== 201)) expectError(res, 507, 'storage_full');
    } finally {
      await fs.rm(filler);
      for (const { key } of accounts) for (const t of await transfers(key)) await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) });
    }
  });
});

describe('declarations lapse with their upload', () => {
  it('after FERRY_UPLOAD_EXPIRY an abandoned declaration counts neither against its account nor against the disk', async () => {
    const { key: carol } = await createAccount(h.app, 'carol@example.com');
    const { key: dave } = await createAccount(h.app, 'dave@example.com');
    // Another writer leaves 5 MiB free (beside the reservations of the tests above, all released).
    const filler = path.join(blobs, 'filler');
    await fs.writeFile(filler, Buffer.alloc((await h.stores.defaultStore.freeSpace())! - 5 * MiB));
    try {
      await createTransfer(h.app, carol, { title: 'abandoned', files: [{ name: 'a.bin', size: 2 * MiB }] });
      expect(await tusPartial(carol, 2 * MiB).then((r) => r.statusCode)).toBe(201);
      expectOverCap(await postTransfer(h.app, carol, { title: 'more', files: [{ name: 'b.bin', size: MiB }] }), CAP);
      expectError(await postTransfer(h.app, dave, { title: 'mine', files: [{ name: 'd.bin', size: 2 * MiB }] }), 507, 'storage_full');

      h.clock.advance((EXPIRY_SECONDS + 1) * 1000);
      await createTransfer(h.app, dave, { title: 'mine', files: [{ name: 'd.bin', size: 2 * MiB }] });
      await createTransfer(h.app, carol, { title: 'again', files: [{ name: 'b.bin', size: 2 * MiB }] });
    } finally {
      await fs.rm(filler);
    }
  });
});
