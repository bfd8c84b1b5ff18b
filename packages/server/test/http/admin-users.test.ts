import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey, sessionHeaders, signIn, PASSWORD, type Account } from '../support/accounts.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, putContent } from '../support/http.ts';
import { blobExists, partsLeft } from '../support/stored-blobs.ts';
import { createTestStack } from '../support/test-stack.ts';
import { tusHelpers, tusUploadsStored } from '../support/tus-http.ts';

/**
 * Administration of accounts: disabling stops every credential and link of the account at its
 * next use and re-enabling brings them back; deleting removes every row and blob of the account
 * and nothing of anyone else's. Credentials and links read the account's row at every use (no
 * cache in any process or in Redis), so the same holds on the scale-out stack, where this file runs too.
 */

const SCOPES = [...ALL_USER_SCOPES, 'requests:read', 'requests:write', 'webhooks:read', 'webhooks:write'];
const ADMIN_SCOPES = [...SCOPES, 'admin'];

let h: Harness;
let admin: Account;
let user: Account;

beforeAll(async () => {
  h = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000', FERRY_PART_SIZE: String(64 * 1024), FERRY_STORAGE: 'local' });
  admin = await createAccount(h.app, 'admin@example.com', ADMIN_SCOPES);
  user = await createAccount(h.app, 'Someone.Else@example.com', SCOPES);
});
afterAll(() => h.close());

const as = (key: string) => ({ headers: bearer(key) });
const get = (url: string, key?: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url, headers: { ...(key ? bearer(key) : {}), ...headers } });
const post = (url: string, key: string, payload?: unknown) => h.app.inject({ method: 'POST', url, ...as(key), ...(payload === undefined ? {} : { payload: payload as object }) });
const del = (url: string, key: string, payload?: unknown) => h.app.inject({ method: 'DELETE', url, ...as(key), ...(payload === undefined ? {} : { payload: payload as object }) });

/** Every admin route, with a well-formed target. */
const ADMIN_ROUTES = (userId: string, transferId: string) => [
  ['GET', '/api/v1/admin/users'],
  ['GET', `/api/v1/admin/users/${userId}`],
  ['POST', `/api/v1/admin/users/${userId}/disable`],
  ['POST', `/api/v1/admin/users/${userId}/enable`],
  ['DELETE', `/api/v1/admin/users/${userId}`],
  ['GET', '/api/v1/admin/stats'],
  ['GET', '/api/v1/admin/transfers'],
  ['GET', `/api/v1/admin/transfers/${transferId}`],
  ['DELETE', `/api/v1/admin/transfers/${transferId}`],
  ['POST', `/api/v1/admin/transfers/${transferId}/expiry`],
] as const;

/** Everything through which `account` and its recipients reach its data, made once. */
async function everyWayIn(account: Account) {
  const ready = await readyTransfer(h.app, account.key, [{ name: 'a.txt', content: 'alpha' }], { recipients: ['friend@example.com'] });
  const recipient = expectData(await get(`/api/v1/transfers/${ready.transfer.id}/recipients`, account.key))[0];
  const open = await createTransfer(h.app, account.key, { title: 'open', files: [{ name: 'later.txt', size: 5 }, { name: 'part.bin', size: 5 }] });
  const partUrl = expectData(await get(`/api/v1/transfers/${open.id}/files/${open.files[1].id}/upload-url/1`, account.key)).url as string;
  const request = expectData(await post('/api/v1/file-requests', account.key, { title: 'Send me things' }), 201);
  return {
    ready,
    open,
    /** Ferry's own signed part URL (a path), or null where parts go straight to S3. */
    partUrl: partUrl.includes('/api/v1/') ? pathOf(partUrl) : null,
    links: {
      shared: ready.link,
      sharedJson: `/api/v1/public/transfers/${ready.transfer.slug}`,
      recipient: pathOf(recipient.url),
      signed: pathOf(ready.files['a.txt'].download_url),
      request: pathOf(request.url),
      requestJson: `/api/v1/public/file-requests/${pathOf(request.url).slice(3)}`,
    },
  };
}

describe('who may administer', () => {
  it('every admin route answers 403 insufficient_scope to a user, even one whose key asks for admin in vain', async () => {
    const { transfer } = await readyTransfer(h.app, user.key, [{ name: 'x.txt', content: 'x' }]);
    for (const [method, url] of ADMIN_ROUTES(admin.userId, transfer.id)) {
      const res = await h.app.inject({ method, url, ...as(user.key), payload: method === 'GET' ? undefined : { reason: 'x' } });
      expect(expectError(res, 403, 'insufficient_scope').required_scope).toBe('admin');
      expectError(await h.app.inject({ method, url }), 401, 'missing_token');
    }
    expectError(await post('/api/v1/keys', user.key, { name: 'wider', scopes: ['admin'] }), 403, 'insufficient_scope');
    // Nothing changed.
    expect(expectData(await get(`/api/v1/admin/users/${admin.userId}`, admin.key)).status).toBe('active');
    expect(expectData(await get(`/api/v1/transfers/${transfer.id}`, user.key)).state).toBe('ready');
  });
});

describe('listing accounts', () => {
  it('searches email and name in any letter case, pages, counts transfers and stored bytes, and never shows a password hash', async () => {
    const other = await createAccount(h.app, 'counted@example.com', SCOPES);
    await readyTransfer(h.app, other.key, [{ name: 'one.txt', content: '12345' }, { name: 'two.txt', content: '678' }]);
    await createTransfer(h.app, other.key, { title: 'declared only', files: [{ name: 'p.bin', size: 1000 }] });
    const found = await get('/api/v1/admin/users?q=COUNTED', admin.key);
    expect(found.json().pagination).toEqual({ limit: 20, offset: 0, total: 1 });
    expect(found.json().data).toEqual([
      {
        id: other.userId, email: 'counted@example.com', name: null, is_admin: false, status: 'active',
        disabled_at: null, disabled_reason: null, deleted_at: null, created_at: expect.any(String),
        transfer_count: 2, storage_bytes: 8,
      },
    ]);
    expect(found.body).not.toMatch(/password|argon/);
    expect(expectData(await get('/api/v1/admin/users?q=someone.else', admin.key)).map((u: any) => u.id)).toEqual([user.userId]);
    expect(expectData(await get('/api/v1/admin/users?q=%25', admin.key))).toEqual([]); // LIKE's wildcard is a literal
    const page = await get('/api/v1/admin/users?limit=1&offset=1', admin.key);
    expect(page.json().data).toHaveLength(1);
    expect(page.json().pagination.total).toBeGreaterThanOrEqual(3);
    expect(expectData(await get(`/api/v1/admin/users/${admin.userId}`, admin.key))).toMatchObject({ email: 'admin@example.com', is_admin: true });
  });

  it('bad input is a clear 4xx', async () => {
    expectError(await get('/api/v1/admin/users?limit=0', admin.key), 400, 'validation_failed');
    expectError(await get('/api/v1/admin/users?limit=101', admin.key), 400, 'validation_failed');
    expectError(await get(`/api/v1/admin/users?q=${'x'.repeat(321)}`, admin.key), 400, 'validation_failed');
    expectError(await get(`/api/v1/admin/users/usr_${'A'.repeat(22)}`, admin.key), 404, 'not_found');
    expectError(await get('/api/v1/admin/users/not-an-id', admin.key), 404, 'not_found');
    for (const action of ['disable', 'enable']) expectError(await post(`/api/v1/admin/users/usr_${'A'.repeat(22)}/${action}`, admin.key), 404, 'not_found');
    expectError(await del(`/api/v1/admin/users/usr_${'A'.repeat(22)}`, admin.key), 404, 'not_found');
    expectError(await post(`/api/v1/admin/users/${user.userId}/disable`, admin.key, { reason: 'x'.repeat(1001) }), 400, 'validation_failed');
    expectError(await post(`/api/v1/admin/users/${user.userId}/disable`, admin.key, { why: 'x' }), 400, 'validation_failed');
    expect(expectData(await get(`/api/v1/admin/users/${user.userId}`, admin.key)).status).toBe('active');
  });
});

describe('disabling and re-enabling', () => {
  it('the key, the session, sign-in, the upload token and every link stop at their next use; re-enabling restores all but the session', async () => {
    const ways = await everyWayIn(user);
    for (const url of Object.values(ways.links)) expect({ url, status: (await get(url)).statusCode }).toEqual({ url, status: 200 });
    expect((await get('/api/v1/transfers', undefined, { cookie: user.cookie })).statusCode).toBe(200);

    const disabled = expectData(await post(`/api/v1/admin/users/${user.userId}/disable`, admin.key, { reason: '  spam reports  ' }));
    expect(disabled).toMatchObject({ id: user.userId, status: 'disabled', disabled_at: expect.any(String), disabled_reason: 'spam reports' });

    expectError(await get('/api/v1/transfers', user.key), 401, 'account_disabled');
    expectError(await get('/api/v1/transfers', undefined, { cookie: user.cookie }), 401, 'invalid_token');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: PASSWORD } }), 401, 'account_disabled');
    expectError(await putContent(h.app, ways.open.upload_token, ways.open.id, ways.open.files[0].id, 'later'), 401, 'account_disabled');
    for (const url of Object.values(ways.links)) expectError(await get(url), 404, 'not_found');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${ways.links.request.slice(3)}/transfers`, payload: {} }), 404, 'not_found');
    const putPart = () => h.app.inject({ method: 'PUT', url: ways.partUrl!, headers: { 'content-type': 'application/octet-stream' }, payload: 'parts' });
    if (ways.partUrl) expectError(await putPart(), 401, 'account_disabled');
    // Disabling again changes nothing; the first reason stands.
    expect(expectData(await post(`/api/v1/admin/users/${user.userId}/disable`, admin.key, { reason: 'other' })).disabled_reason).toBe('spam reports');

    expect(expectData(await post(`/api/v1/admin/users/${user.userId}/enable`, admin.key))).toMatchObject({ status: 'active', disabled_at: null, disabled_reason: null });
    expect((await get('/api/v1/transfers', user.key)).statusCode).toBe(200);
    for (const url of Object.values(ways.links)) expect({ url, status: (await get(url)).statusCode }).toEqual({ url, status: 200 });
    expect((await get(ways.links.shared + '/download.zip')).statusCode).toBe(200);
    expect(expectData(await putContent(h.app, ways.open.upload_token, ways.open.id, ways.open.files[0].id, 'later'))).toMatchObject({ state: 'complete' });
    if (ways.partUrl) expect(expectData(await putPart())).toEqual({ part_number: 1, size: 5 });
    expectError(await get('/api/v1/transfers', undefined, { cookie: user.cookie }), 401, 'invalid_token');
    user = { ...user, ...(await signIn(h.app, user.email)) };
    expect((await get('/api/v1/transfers', undefined, { cookie: user.cookie })).statusCode).toBe(200);
  });

  it('disabling without a body works; a key of the disabled account is told so only with its real secret', async () => {
    const other = await createAccount(h.app, 'quiet@example.com', SCOPES);
    expect(expectData(await post(`/api/v1/admin/users/${other.userId}/disable`, admin.key)).disabled_reason).toBeNull();
    expectError(await get('/api/v1/account', other.key), 401, 'account_disabled');
    expectError(await get('/api/v1/account', other.key.slice(0, -1) + (other.key.endsWith('A') ? 'B' : 'A')), 401, 'invalid_token');
  });

  it('sends none of its emails while disabled, queued ones included: each such job fails saying why', async () => {
    const spammer = await createAccount(h.app, 'spammer@example.com', SCOPES);
    const x = await readyTransfer(h.app, spammer.key, [{ name: 's.txt', content: 'spam' }], { recipients: ['target@example.com'] });
    expectData(await post(`/api/v1/admin/users/${spammer.userId}/disable`, admin.key));
    await h.jobs.drain();
    const jobs = (await get('/api/v1/admin/jobs?kind=email.recipient_ready&limit=100', admin.key)).json().data;
    const recipient = await h.database.db.selectFrom('recipients').select(['id', 'email_status']).where('transfer_id', '=', x.transfer.id).executeTakeFirstOrThrow();
    const payloads = await h.database.db.selectFrom('jobs').select(['id', 'payload']).where('kind', '=', 'email.recipient_ready').execute();
    const job = jobs.find((j: any) => payloads.some((p) => p.id === j.id && p.payload.includes(recipient.id)));
    expect(job).toMatchObject({ state: 'failed', last_error: 'The account is disabled; the email was not sent.' });
    expect(recipient.email_status).toBe('failed');
  });

  it('an administrator cannot disable or delete their own account', async () => {
    expectError(await post(`/api/v1/admin/users/${admin.userId}/disable`, admin.key), 409, 'cannot_target_self');
    expectError(await del(`/api/v1/admin/users/${admin.userId}`, admin.key), 409, 'cannot_target_self');
    expect((await get('/api/v1/admin/stats', admin.key)).statusCode).toBe(200);
  });

  it('the last active administrator is never disabled nor deleted, even by two admins disabling each other at once', async () => {
    // The operator CLI acts as nobody: only the last-admin rule holds it back.
    await expect(h.app.services.adminUsers.disable(null, admin.userId)).rejects.toMatchObject({ code: 'last_admin' });
    await expect(h.app.services.adminUsers.delete(null, admin.userId)).rejects.toMatchObject({ code: 'last_admin' });

    const second = await h.app.services.auth.createUser({ email: 'second-admin@example.com', password: PASSWORD, name: null, isAdmin: true });
    const { key: secondKey } = await createKey(h.app, await signIn(h.app, 'second-admin@example.com'), { scopes: ADMIN_SCOPES });
    const [a, b] = await Promise.all([
      post(`/api/v1/admin/users/${second!.id}/disable`, admin.key),
      post(`/api/v1/admin/users/${admin.userId}/disable`, secondKey),
    ]);
    const statuses = [a.statusCode, b.statusCode].sort();
    expect(statuses[0]).toBe(200);
    expect([401, 409]).toContain(statuses[1]);
    const admins = expectData(await get('/api/v1/admin/users?q=admin', a.statusCode === 200 ? admin.key : secondKey));
    expect(admins.filter((u: any) => u.is_admin && u.status === 'active')).toHaveLength(1);
    // Back to one active admin (this file's), the other disabled for good.
    if (a.statusCode !== 200) {
      await h.app.services.adminUsers.enable(admin.userId);
      await h.app.services.adminUsers.disable(null, second!.id);
    }
    expect((await get('/api/v1/admin/stats', admin.key)).statusCode).toBe(200);
  });
});

describe('deleting an account', () => {
  it('removes every row and blob of the account (after its purge job), and nothing of another account', async () => {
    const doomed = await createAccount(h.app, 'doomed@example.com', SCOPES);
    const othersParts = await partsLeft(h.stores);
    const ways = await everyWayIn(doomed);
    await readyTransfer(h.app, doomed.key, [{ name: 'b.bin', content: Buffer.alloc(3000, 7) }, { name: 'c.bin', content: 'c' }]);
    // One chunk of two stored, awaiting the other: a part in the store.
    const chunked = await createTransfer(h.app, doomed.key, { title: 'chunks', files: [{ name: 'big.bin', size: 2 * 64 * 1024 }] });
    const chunk = await h.app.inject({
      method: 'POST',
      url: '/api/v1/upload-chunk',
      headers: { 'x-token': chunked.upload_token, 'x-file-id': chunked.files[0].id, 'x-chunk-index': '0', 'x-total-chunks': '2', 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(64 * 1024, 1),
    });
    expect(chunk.statusCode, chunk.body).toBe(200);
    expect((await partsLeft(h.stores)).length).toBeGreaterThan(othersParts.length);
    // A tus upload under way, part of its bytes received.
    const tus = tusHelpers(() => ({ h, key: doomed.key }));
    const upload = await tus.started(1000);
    expect((await tus.patch(upload.id, 0, Buffer.alloc(300, 2))).statusCode).toBe(204);
    expect(await tusUploadsStored(h)).toContain(upload.id);
    expectData(await post('/api/v1/webhooks', doomed.key, { url: 'https://93.184.215.14/hooks', events: ['transfer.expired'] }), 201);
    await get(ways.links.shared + '/files/' + ways.ready.files['a.txt'].id); // a receipt
    await h.app.services.receipts.idle();
    const kept = await readyTransfer(h.app, user.key, [{ name: 'kept.txt', content: 'still here' }]);

    const db = h.database.db;
    const blobs = await db.selectFrom('files').innerJoin('transfers', 'transfers.id', 'files.transfer_id').select(['files.store_id', 'files.storage_key', 'transfers.user_id']).where('files.state', '=', 'complete').execute();
    const doomedBlobs = blobs.filter((b) => b.user_id === doomed.userId);
    expect(doomedBlobs).toHaveLength(3);
    for (const b of doomedBlobs) expect(await blobExists(h.stores.get(b.store_id), b.storage_key)).toBe(true);

    // Two administrators' deletions at once: both answered, one purge.
    const answers = await Promise.all([del(`/api/v1/admin/users/${doomed.userId}`, admin.key), del(`/api/v1/admin/users/${doomed.userId}`, admin.key)]);
    for (const answer of answers) expect(expectData(answer, 202)).toMatchObject({ id: doomed.userId, status: 'deleting', deleted_at: expect.any(String), transfer_count: 0 });
    const purges = await db.selectFrom('jobs').select('id').where('kind', '=', 'account.purge').where('payload', 'like', `%${doomed.userId}%`).execute();
    expect(purges).toHaveLength(1);
    // At once: refused everywhere, links gone.
    expectError(await get('/api/v1/transfers', doomed.key), 401, 'account_disabled');
    expectError(await get(ways.links.shared), 410, 'transfer_deleted');
    expectError(await get(ways.links.request), 404, 'not_found');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: doomed.email, password: PASSWORD } }), 401, 'account_disabled');
    // Asking again while the purge is pending changes nothing.
    expect(expectData(await del(`/api/v1/admin/users/${doomed.userId}`, admin.key), 202).status).toBe('deleting');
    expectError(await post(`/api/v1/admin/users/${doomed.userId}/enable`, admin.key), 404, 'not_found');

    await h.jobs.drain();
    expectError(await get(`/api/v1/admin/users/${doomed.userId}`, admin.key), 404, 'not_found');
    expectError(await del(`/api/v1/admin/users/${doomed.userId}`, admin.key), 404, 'not_found');
    for (const b of doomedBlobs) expect(await blobExists(h.stores.get(b.store_id), b.storage_key)).toBe(false);
    expect(await partsLeft(h.stores)).toEqual(othersParts);
    expect(await tusUploadsStored(h)).not.toContain(upload.id);
    for (const table of ['users', 'sessions', 'api_keys', 'transfers', 'file_requests', 'webhook_endpoints', 'tus_uploads', 'usage_counters'] as const) {
      const column = table === 'users' ? 'id' : 'user_id';
      const rows = await db.selectFrom(table).select(column as 'user_id').where(column as 'user_id', '=', doomed.userId).execute();
      expect({ table, rows }).toEqual({ table, rows: [] });
    }
    const transferIds = [ways.ready.transfer.id, ways.open.id, chunked.id, upload.transferId];
    expect(await db.selectFrom('files').select('id').where('transfer_id', 'in', transferIds).execute()).toEqual([]);
    expect(await db.selectFrom('recipients').select('id').where('transfer_id', 'in', transferIds).execute()).toEqual([]);
    expect(await db.selectFrom('receipts').select('id').where('transfer_id', 'in', transferIds).execute()).toEqual([]);
    const jobs = await db.selectFrom('jobs').select(['payload', 'state']).execute();
    expect(jobs.filter((j) => j.state !== 'done' && j.payload.includes(doomed.userId))).toEqual([]);
    expect(jobs.filter((j) => transferIds.some((id) => j.payload.includes(id)) && j.state === 'queued')).toEqual([]);

    // Another account's transfer and bytes are untouched.
    const download = await get(`${kept.link}/files/${kept.files['kept.txt'].id}`);
    expect([download.statusCode, download.body]).toEqual([200, 'still here']);
    for (const b of blobs.filter((x) => x.user_id !== doomed.userId)) expect(await blobExists(h.stores.get(b.store_id), b.storage_key)).toBe(true);
    expect((await get('/api/v1/transfers', user.key)).statusCode).toBe(200);
  });
});

describe('on every instance at once', () => {
  it('a key, a session and a link that just worked on another instance sharing the database (and Redis) are refused there at their next use', async () => {
    const stack = await createTestStack();
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-admin-two-'));
    const one = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000' }, { stack, dataDir });
    const two = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000' }, { stack, dataDir });
    try {
      const boss = await createAccount(one.app, 'boss@example.com', ADMIN_SCOPES);
      const worker = await createAccount(one.app, 'worker@example.com', SCOPES);
      const { link } = await readyTransfer(one.app, worker.key, [{ name: 'w.txt', content: 'work' }]);
      const onTwo = async () => [
        (await two.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(worker.key) })).statusCode,
        (await two.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: { cookie: worker.cookie } })).statusCode,
        (await two.app.inject({ method: 'GET', url: link })).statusCode,
      ];
      // Used on instance two first, so anything it might keep would be warm.
      expect(await onTwo()).toEqual([200, 200, 200]);
      expectData(await one.app.inject({ method: 'POST', url: `/api/v1/admin/users/${worker.userId}/disable`, headers: bearer(boss.key) }));
      expect(await onTwo()).toEqual([401, 401, 404]);
      expectError(await two.app.inject({ method: 'GET', url: '/api/v1/account', headers: bearer(worker.key) }), 401, 'account_disabled');
      expectData(await one.app.inject({ method: 'POST', url: `/api/v1/admin/users/${worker.userId}/enable`, headers: bearer(boss.key) }));
      expect(await onTwo()).toEqual([200, 401, 200]);
    } finally {
      await two.close();
      await one.close();
      await stack.drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });
});
