import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import type { Account } from '../support/accounts.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { expectData, expectError } from '../support/http.ts';
import { blobExists } from '../support/stored-blobs.ts';

/**
 * Administration of transfers: the instance's totals equal what was made, any account's
 * transfers can be found, removed with a reason (abuse takedown: the link then says it was
 * removed) and given a new expiry, which revives an expired transfer until its files are purged.
 */

const DAY = 86_400_000;

let h: Harness;
let admin: Account;
let alice: Account;
let bob: Account;

beforeAll(async () => {
  h = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000' });
  admin = await createAccount(h.app, 'admin@example.com', [...ALL_USER_SCOPES, 'admin']);
  alice = await createAccount(h.app, 'alice@example.com');
  bob = await createAccount(h.app, 'bob@example.com');
});
afterAll(() => h.close());

const adminGet = (url: string) => h.app.inject({ method: 'GET', url, headers: bearer(admin.key) });
const remove = (id: string, payload: unknown) => h.app.inject({ method: 'DELETE', url: `/api/v1/admin/transfers/${id}`, headers: bearer(admin.key), payload: payload as object });
const setExpiry = (id: string, payload: unknown) => h.app.inject({ method: 'POST', url: `/api/v1/admin/transfers/${id}/expiry`, headers: bearer(admin.key), payload: payload as object });
const inFuture = (ms: number) => new Date(h.clock.now().getTime() + ms).toISOString();

async function blobsOf(transferId: string) {
  return h.database.db.selectFrom('files').select(['store_id', 'storage_key']).where('transfer_id', '=', transferId).execute();
}

describe('instance totals', () => {
  it('count the accounts, transfers by state, stored bytes by store, completed downloads and jobs that the test made', async () => {
    const before = expectData(await adminGet('/api/v1/admin/stats'));
    expect(before.users).toEqual({ total: 3, admins: 1, disabled: 0 });

    const ready = await readyTransfer(h.app, alice.key, [{ name: 'a.txt', content: '12345' }, { name: 'b.txt', content: 'abc' }]);
    await createTransfer(h.app, alice.key, { title: 'declared', files: [{ name: 'c.bin', size: 100 }] });
    const deleted = await readyTransfer(h.app, bob.key, [{ name: 'd.txt', content: 'deleted soon' }]);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${deleted.transfer.id}`, headers: bearer(bob.key) })).statusCode).toBe(204);
    await readyTransfer(h.app, bob.key, [{ name: 'e.txt', content: 'ee' }], { expires_at: inFuture(60_000) });
    h.clock.advance(61_000);
    for (let i = 0; i < 2; i++) expect((await h.app.inject({ method: 'GET', url: `${ready.link}/files/${ready.files['a.txt'].id}` })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: `${ready.link}/download.zip` })).statusCode).toBe(200);
    // A page view and the owner's own download are no downloads.
    await h.app.inject({ method: 'GET', url: ready.link });
    await h.app.inject({ method: 'GET', url: `/api/v1/files/${ready.files['b.txt'].id}/download`, headers: bearer(alice.key) });
    await h.app.inject({ method: 'POST', url: `/api/v1/admin/users/${bob.userId}/disable`, headers: bearer(admin.key) });
    await h.app.services.receipts.idle();

    const stats = expectData(await adminGet('/api/v1/admin/stats'));
    const jobCounts = (await adminGet('/api/v1/admin/jobs')).json().counts;
    const defaultStore = h.stores.defaultStoreId;
    expect(stats).toEqual({
      users: { total: 3, admins: 1, disabled: 1 },
      transfers: { total: 4, uploading: 1, ready: 1, expired: 1, deleted: 1 },
      // The deleted transfer's file is stored until its purge.
      storage: { bytes: 5 + 3 + 12 + 2, files: 4, by_store: [{ store: defaultStore, bytes: 22, files: 4 }] },
      downloads: { completed: 3 },
      jobs: { pending: (jobCounts.queued ?? 0) + (jobCounts.running ?? 0), running: jobCounts.running ?? 0, failed: jobCounts.failed ?? 0 },
    });
    expect(stats.jobs.pending).toBeGreaterThan(0); // the events of all the above
    await h.app.inject({ method: 'POST', url: `/api/v1/admin/users/${bob.userId}/enable`, headers: bearer(admin.key) });
  });
});

describe('finding transfers', () => {
  it('by a part of the title in any case, by id, by slug in any case, by owner and by state, with paging', async () => {
    const mine = await readyTransfer(h.app, alice.key, [{ name: 'q.txt', content: 'q' }], { title: 'Quarterly REPORT 2025', slug: 'Quarterly-2025' });
    const other = await createTransfer(h.app, bob.key, { title: 'report draft', files: [{ name: 'r.txt', size: 1 }] });
    const ids = async (query: string) => expectData(await adminGet(`/api/v1/admin/transfers?${query}`)).map((t: any) => t.id);

    expect(await ids('q=report')).toEqual([other.id, mine.transfer.id]);
    expect(await ids(`q=${mine.transfer.id}`)).toEqual([mine.transfer.id]);
    expect(await ids('q=QUARTERLY-2025')).toEqual([mine.transfer.id]);
    expect(await ids(`q=report&user_id=${bob.userId}`)).toEqual([other.id]);
    expect(await ids('q=report&state=uploading')).toEqual([other.id]);
    expect(await ids('q=report&state=ready')).toEqual([mine.transfer.id]);
    expect(await ids('q=_')).toEqual([]); // LIKE's wildcard is a literal
    const page = (await adminGet('/api/v1/admin/transfers?q=report&limit=1&offset=1')).json();
    expect([page.data.map((t: any) => t.id), page.pagination]).toEqual([[mine.transfer.id], { limit: 1, offset: 1, total: 2 }]);

    const view = expectData(await adminGet(`/api/v1/admin/transfers/${mine.transfer.id}`));
    expect(view).toEqual({
      id: mine.transfer.id, title: 'Quarterly REPORT 2025', owner: { id: alice.userId, email: 'alice@example.com' }, state: 'ready',
      slug: 'Quarterly-2025', size: 1, file_count: 1, download_count: 0, created_at: expect.any(String), updated_at: expect.any(String),
      expires_at: expect.any(String), finalized_at: expect.any(String), deleted_at: null, purged_at: null, takedown: null,
    });
    expect(JSON.stringify(view)).not.toMatch(/password|token/);
  });

  it('bad input is a clear 4xx', async () => {
    expectError(await adminGet('/api/v1/admin/transfers?state=gone'), 400, 'validation_failed');
    expectError(await adminGet('/api/v1/admin/transfers?user_id=alice'), 400, 'validation_failed');
    expectError(await adminGet(`/api/v1/admin/transfers?q=${'x'.repeat(201)}`), 400, 'validation_failed');
    expectError(await adminGet('/api/v1/admin/transfers?offset=-1'), 400, 'validation_failed');
    expectError(await adminGet(`/api/v1/admin/transfers/tr_${'A'.repeat(22)}`), 404, 'not_found');
  });
});

describe('removing a transfer (abuse takedown)', () => {
  let x: ReadyTransfer;
  let recipientLink: string;

  beforeAll(async () => {
    x = await readyTransfer(h.app, alice.key, [{ name: 'bad.txt', content: 'abusive content' }], { recipients: ['victim@example.com'] });
    const recipients = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${x.transfer.id}/recipients`, headers: bearer(alice.key) }));
    recipientLink = pathOf(recipients[0].url);
  });

  it('refuses a missing or empty reason, and changes nothing', async () => {
    for (const body of [{}, { reason: '' }, { reason: '   ' }, { reason: 'x'.repeat(1001) }, { reason: 'ok', extra: 1 }]) {
      expectError(await remove(x.transfer.id, body), 400, 'validation_failed');
    }
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/admin/transfers/${x.transfer.id}`, headers: bearer(admin.key) }), 400, 'validation_failed');
    expectError(await remove(`tr_${'A'.repeat(22)}`, { reason: 'phishing' }), 404, 'not_found');
    expect((await h.app.inject({ method: 'GET', url: x.link })).statusCode).toBe(200);
  });

  it('deletes it for everyone; its links answer 410 transfer_removed (a page for browsers); admins see the reason and who', async () => {
    const removed = expectData(await remove(x.transfer.id, { reason: 'Phishing kit, report #4411' }));
    expect(removed).toMatchObject({ state: 'deleted', deleted_at: expect.any(String), takedown: { reason: 'Phishing kit, report #4411', by: admin.userId, at: expect.any(String) } });
    const file = x.files['bad.txt'];
    for (const url of [x.link, `/api/v1/public/transfers/${x.transfer.slug}`, `${x.link}/files/${file.id}`, `${x.link}/download.zip`, recipientLink, pathOf(file.download_url)]) {
      const res = await h.app.inject({ method: 'GET', url });
      expect(expectError(res, 410, 'transfer_removed').error.message).not.toContain('Phishing');
    }
    const page = await h.app.inject({ method: 'GET', url: x.link, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect([page.statusCode, page.headers['content-type']]).toEqual([410, 'text/html; charset=utf-8']);
    expect(page.body).toContain('This transfer has been removed');
    expect(page.body).not.toContain('Phishing');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(alice.key) }), 404, 'not_found');
    // The first reason stands; it shows in the admin list.
    expect(expectData(await remove(x.transfer.id, { reason: 'another' })).takedown.reason).toBe('Phishing kit, report #4411');
    const listed = expectData(await adminGet(`/api/v1/admin/transfers?q=${x.transfer.id}`))[0];
    expect(listed.takedown).toMatchObject({ reason: 'Phishing kit, report #4411', by: admin.userId });
    // The owner's webhooks hear of it, once.
    const events = await h.database.db.selectFrom('jobs').select('payload').where('kind', '=', 'event.dispatch').execute();
    expect(events.map((e) => JSON.parse(e.payload)).filter((e) => e.type === 'transfer.deleted' && e.data.transfer.id === x.transfer.id)).toHaveLength(1);
  });

  it('after the purge its files are gone and its links still say it was removed', async () => {
    const blobs = await blobsOf(x.transfer.id);
    h.clock.advance(h.config.purgeGraceSeconds * 1000 + 1000);
    await h.sweeper.sweep();
    for (const b of blobs) expect(await blobExists(h.stores.get(b.store_id), b.storage_key)).toBe(false);
    expect(expectData(await adminGet(`/api/v1/admin/transfers/${x.transfer.id}`)).purged_at).toEqual(expect.any(String));
    expectError(await h.app.inject({ method: 'GET', url: x.link }), 410, 'transfer_removed');
    expectError(await h.app.inject({ method: 'GET', url: recipientLink }), 410, 'transfer_removed');
  });
});

describe('changing a transfer\'s expiry', () => {
  it('revives an expired transfer that is not purged yet: its link downloads the same bytes again', async () => {
    const x = await readyTransfer(h.app, alice.key, [{ name: 'late.txt', content: 'came back' }], { expires_at: inFuture(60_000) });
    h.clock.advance(61_000);
    expectError(await h.app.inject({ method: 'GET', url: x.link }), 410, 'transfer_expired');
    expect(expectData(await adminGet(`/api/v1/admin/transfers/${x.transfer.id}`)).state).toBe('expired');

    const revived = expectData(await setExpiry(x.transfer.id, { extend_days: 2 }));
    expect(revived.state).toBe('ready');
    expect(Math.abs(Date.parse(revived.expires_at) - (h.clock.now().getTime() + 2 * DAY))).toBeLessThan(5000);
    const download = await h.app.inject({ method: 'GET', url: `${x.link}/files/${x.files['late.txt'].id}` });
    expect([download.statusCode, download.body]).toEqual([200, 'came back']);
    // A sweep leaves it alone now; extending again counts from the current expiry.
    await h.sweeper.sweep();
    const later = expectData(await setExpiry(x.transfer.id, { extend_days: 1 }));
    expect(Date.parse(later.expires_at) - Date.parse(revived.expires_at)).toBe(DAY);
    const exact = inFuture(10 * DAY);
    expect(expectData(await setExpiry(x.transfer.id, { expires_at: exact })).expires_at).toBe(exact);
    expect(expectData(await setExpiry(x.transfer.id, { expires_at: null })).expires_at).toBeNull();
    expectError(await setExpiry(x.transfer.id, { extend_days: 1 }), 400, 'validation_failed'); // it never expires
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${x.transfer.id}`, headers: bearer(alice.key) })).json().data.expires_at).toBeNull();
  });

  it('a purged transfer cannot be revived (409 transfer_purged), nor a deleted one (409 transfer_deleted)', async () => {
    const purged = await readyTransfer(h.app, bob.key, [{ name: 'p.txt', content: 'p' }], { expires_at: inFuture(60_000) });
    h.clock.advance(61_000);
    await h.sweeper.sweep();
    expectError(await setExpiry(purged.transfer.id, { extend_days: 1 }), 409, 'transfer_purged');
    const deleted = await readyTransfer(h.app, bob.key, [{ name: 'd.txt', content: 'd' }]);
    await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${deleted.transfer.id}`, headers: bearer(bob.key) });
    expectError(await setExpiry(deleted.transfer.id, { extend_days: 1 }), 409, 'transfer_deleted');
    expect(expectData(await adminGet(`/api/v1/admin/transfers/${deleted.transfer.id}`)).state).toBe('deleted');
  });

  it('bad input is a clear 400 and changes nothing', async () => {
    const x = await readyTransfer(h.app, alice.key, [{ name: 'b.txt', content: 'b' }]);
    for (const body of [
      {},
      { extend_days: 1, expires_at: inFuture(DAY) },
      { extend_days: 0 },
      { extend_days: 3651 },
      { extend_days: 1.5 },
      { extend_days: '2' },
      { expires_at: 'tomorrow' },
      { expires_at: inFuture(-DAY) },
      { expires_at: '9999-01-01T00:00:00.000Z' },
      { expires_days: 3 },
    ]) {
      expect({ body, code: (await setExpiry(x.transfer.id, body)).json().error?.code }).toEqual({ body, code: 'validation_failed' });
    }
    expectError(await setExpiry(`tr_${'A'.repeat(22)}`, { extend_days: 1 }), 404, 'not_found');
    expect(expectData(await adminGet(`/api/v1/admin/transfers/${x.transfer.id}`)).expires_at).toBe(x.transfer.expires_at);
  });
});
