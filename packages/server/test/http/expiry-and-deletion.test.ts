import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { expectData, expectError, putContent } from '../support/http.ts';

/** Time and deletion: docs/security-checklist.md F71 and F76, plus the sweeper that deletes the blobs. */

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'expiry@example.com'));
});
afterAll(() => h.close());

const MINUTE = 60_000;

async function blobStored(fileId: string): Promise<boolean> {
  const row = await h.database.db.selectFrom('files').select(['storage_key', 'store_id']).where('id', '=', fileId).executeTakeFirstOrThrow();
  return (await h.stores.get(row.store_id).stat(row.storage_key)) !== null;
}

/** Every way bytes or details of `x` are reached, by its owner and by recipients. */
function everyPath(x: ReadyTransfer) {
  const file = x.transfer.files[0];
  return [
    { label: 'public page', url: x.link, headers: {} },
    { label: 'public JSON', url: `/api/v1/public/transfers/${x.transfer.slug}`, headers: {} },
    { label: 'public file', url: `${x.link}/files/${file.id}`, headers: {} },
    { label: 'public ZIP', url: `${x.link}/download.zip`, headers: {} },
    { label: 'signed URL', url: pathOf(file.download_url), headers: {} },
    { label: 'owner file', url: `/api/v1/files/${file.id}/download`, headers: bearer(key) },
    { label: 'owner ZIP', url: `/api/v1/transfers/${x.transfer.id}/download.zip`, headers: bearer(key) },
  ];
}

async function expectGoneEverywhere(x: ReadyTransfer, code: string, except: string[] = []) {
  for (const path of everyPath(x).filter((p) => !except.includes(p.label))) {
    const res = await h.app.inject({ method: 'GET', url: path.url, headers: path.headers });
    expect({ path: path.label, status: res.statusCode }).toEqual({ path: path.label, status: 410 });
    expectError(res, 410, code);
  }
}

describe('F76. signed URLs expire', () => {
  it('F76: a signed URL used after its expiry is 403 invalid_signature; a fresh one works', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 's.txt', content: 'signed' }]);
    const url = pathOf(x.files['s.txt'].download_url);
    expect(Date.parse(x.files['s.txt'].download_url_expires_at) - h.clock.now().getTime()).toBeLessThanOrEqual(3600 * 1000);
    expect((await h.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    h.clock.advance(3601 * 1000);
    expectError(await h.app.inject({ method: 'GET', url }), 403, 'invalid_signature');
    const fresh = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/files/${x.files['s.txt'].id}`, headers: bearer(key) }));
    const again = await h.app.inject({ method: 'GET', url: pathOf(fresh.download_url) });
    expect([again.statusCode, again.body]).toEqual([200, 'signed']);
  });
});

describe('F71. after expires_at', () => {
  let x: ReadyTransfer;

  beforeAll(async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 30 * MINUTE).toISOString();
    x = await readyTransfer(h.app, key, [{ name: 'e.txt', content: 'expiring' }], { expires_at: expiresAt, password: 'pw for expiry' });
    const pending = await createTransfer(h.app, key, { title: 'pending', expires_at: expiresAt, files: [{ name: 'p.txt', size: 1 }] });
    pendingIds = { transferId: pending.id, fileId: pending.files[0].id };
    h.clock.advance(31 * MINUTE);
  });
  let pendingIds: { transferId: string; fileId: string };

  it('F71: every download path, owner and recipient, answers 410 transfer_expired (the signed URL is still in date)', async () => {
    await expectGoneEverywhere(x, 'transfer_expired');
    const unlock = await h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${x.transfer.slug}/unlock`, payload: { password: 'pw for expiry' } });
    expectError(unlock, 410, 'transfer_expired');
  });

  it('F71: the owner still sees it as expired; it can no longer change (409)', async () => {
    const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(key) }));
    expect(view.state).toBe('expired');
    const listed = expectData(await h.app.inject({ method: 'GET', url: '/api/v1/transfers?state=expired', headers: bearer(key) }));
    expect(listed.map((t: { id: string }) => t.id)).toContain(x.transfer.id);
    expectError(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(key), payload: { expires_days: 5 } }), 409, 'transfer_expired');
    expectError(await putContent(h.app, key, pendingIds.transferId, pendingIds.fileId, 'p'), 409, 'transfer_expired');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${pendingIds.transferId}/files`, headers: bearer(key), payload: { name: 'q', size: 1 } }), 409, 'transfer_expired');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${pendingIds.transferId}/finalize`, headers: bearer(key) }), 409, 'transfer_expired');
  });

  it('F71: the sweeper deletes the blobs; paths by id still answer 410, the freed link 404, never 500', async () => {
    const fileId = x.transfer.files[0].id;
    expect(await blobStored(fileId)).toBe(true);
    const result = await h.sweeper.sweep();
    expect(result.expired).toBeGreaterThanOrEqual(2);
    expect(await blobStored(fileId)).toBe(false);
    await expectGoneEverywhere(x, 'transfer_expired', ['public page', 'public JSON', 'public file', 'public ZIP']);
    // The purge frees the slug (custom links can be reused), so the old link names nothing.
    for (const path of everyPath(x).filter((p) => p.label.startsWith('public'))) {
      expectError(await h.app.inject({ method: 'GET', url: path.url }), 404, 'not_found');
    }
  });
});

describe('F71. after the owner deletes', () => {
  it('F71: recipients get 410 transfer_deleted at once, the owner 404; blobs go after the purge grace', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 'd.txt', content: 'deleted soon' }]);
    const fileId = x.transfer.files[0].id;
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(key) })).statusCode).toBe(204);
    await expectGoneEverywhere(x, 'transfer_deleted', ['owner file', 'owner ZIP']);
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileId}/download`, headers: bearer(key) }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${x.transfer.id}/download.zip`, headers: bearer(key) }), 404, 'not_found');

    await h.sweeper.sweep();
    expect(await blobStored(fileId)).toBe(true); // still inside FERRY_PURGE_GRACE (one day)
    h.clock.advance(h.config.purgeGraceSeconds * 1000 + MINUTE);
    expect((await h.sweeper.sweep()).purged).toBeGreaterThanOrEqual(1);
    expect(await blobStored(fileId)).toBe(false);
    expectError(await h.app.inject({ method: 'GET', url: `${x.link}/files/${fileId}` }), 404, 'not_found');
  });
});
