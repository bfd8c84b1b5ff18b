import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Migrator, type Migration } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, openDatabase } from '../../src/db/database.ts';
import * as m001 from '../../src/db/migrations/001-initial.ts';
import * as m002 from '../../src/db/migrations/002-uploads.ts';
import * as m003 from '../../src/db/migrations/003-direct-multipart.ts';
import * as m004 from '../../src/db/migrations/004-account-abuse-guards.ts';
import * as m005 from '../../src/db/migrations/005-received-partials.ts';
import * as m006 from '../../src/db/migrations/006-slug-keys.ts';
import * as m007 from '../../src/db/migrations/007-write-locks.ts';
import * as m008 from '../../src/db/migrations/008-jobs.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, postTransfer } from '../support/http.ts';
import { recipientReads } from '../support/recipients.ts';
import { MAX_RECIPIENTS } from '../../src/domain/transfer-rules.ts';

/** Recipients as rows with links of their own: the owner's API, the links' life, isolation and bad input. */

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
let h: Harness;
let key: string;
let otherKey: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'sender@example.com'));
  ({ key: otherKey } = await createAccount(h.app, 'stranger@example.com'));
});
afterAll(() => h.close());

const get = (url: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url, headers });
const api = (method: 'GET' | 'POST' | 'DELETE' | 'PATCH', url: string, payload?: unknown, as = key) =>
  h.app.inject({ method, url, headers: bearer(as), ...(payload === undefined ? {} : { payload: payload as object }) });


const reads = () => recipientReads(h, key);
const recipients = (transferId: string) => reads().recipients(transferId);
const jobs = (kind: string) => reads().jobs(kind);
const recipientEmailJobs = (recipientId: string) => reads().recipientEmailJobs(recipientId);

describe('recipients as rows', () => {
  it('a transfer created with recipients gives each one a distinct link of at least 128 bits', async () => {
    const t = await createTransfer(h.app, key, { title: 'To three', recipients: ['Ann@Example.com', 'bob@example.com', 'ann@example.com', ' cy@example.org '] });
    expect(t.recipients).toEqual(['ann@example.com', 'bob@example.com', 'cy@example.org']);
    const list = await recipients(t.id);
    expect(list.map((r) => r.email)).toEqual(['ann@example.com', 'bob@example.com', 'cy@example.org']);
    for (const r of list) {
      expect(r).toMatchObject({ transfer_id: t.id, status: 'pending', email_status: 'pending', opened_at: null, first_download_at: null, download_count: 0 });
      expect(r.id).toMatch(/^rcp_[0-9A-Za-z]{22}$/);
      // 32 base62 characters: 190 bits.
      expect(pathOf(r.url)).toMatch(/^\/d\/[0-9A-Za-z]{32}$/);
    }
    expect(new Set(list.map((r) => r.url)).size).toBe(3);
    expect(expectData(await api('GET', `/api/v1/transfers/${t.id}`)).recipients).toEqual(t.recipients);
    const listed = expectData(await api('GET', '/api/v1/transfers?limit=100')) as any[];
    expect(listed.find((x) => x.id === t.id).recipients).toEqual(t.recipients);
  });

  it('POST adds one or several (an address already there is answered as it is); DELETE kills the link at once', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'hello' }], { recipients: ['first@example.com'] });
    const [first] = await recipients(t.transfer.id);
    const added = await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { email: 'Second@Example.com' });
    const [second] = expectData(added, 201);
    expect(second).toMatchObject({ email: 'second@example.com', status: 'pending' });
    const again = expectData(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { emails: ['second@example.com', 'first@example.com'] }), 200);
    expect(again.map((r: any) => r.id)).toEqual([second.id, first.id]);
    const many = expectData(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { emails: ['third@example.com', 'fourth@example.com'] }), 201);
    expect(many.map((r: any) => r.email)).toEqual(['third@example.com', 'fourth@example.com']);
    expect((await recipients(t.transfer.id)).map((r) => r.email)).toEqual(['first@example.com', 'second@example.com', 'third@example.com', 'fourth@example.com']);

    expect((await get(pathOf(second.url))).statusCode).toBe(200);
    const removed = await api('DELETE', `/api/v1/transfers/${t.transfer.id}/recipients/${second.id}`);
    expect(removed.statusCode).toBe(204);
    expectError(await get(pathOf(second.url)), 404, 'not_found');
    expectError(await get(`${pathOf(second.url)}/files/${t.transfer.files[0].id}`), 404, 'not_found');
    expectError(await get(`${pathOf(second.url)}/download.zip`), 404, 'not_found');
    const page = await get(pathOf(second.url), BROWSER);
    expect(page.statusCode).toBe(404);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<h1>Not found</h1>');
    expect((await recipients(t.transfer.id)).map((r) => r.email)).not.toContain('second@example.com');
    expectError(await api('DELETE', `/api/v1/transfers/${t.transfer.id}/recipients/${second.id}`), 404, 'not_found');
    // The same address may come back, with a new link.
    const [back] = expectData(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { email: 'second@example.com' }), 201);
    expect(back.id).not.toBe(second.id);
    expect(back.url).not.toBe(second.url);
    expectError(await get(pathOf(second.url)), 404, 'not_found');
  });

  it('PATCH recipients replaces the set: kept ones keep their links, removed ones lose theirs', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'x' }], { recipients: ['keep@example.com', 'drop@example.com'] });
    const before = await recipients(t.transfer.id);
    const patched = expectData(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { recipients: ['keep@example.com', 'new@example.com'] }));
    expect(patched.recipients).toEqual(['keep@example.com', 'new@example.com']);
    const after = await recipients(t.transfer.id);
    expect(after[0]).toMatchObject({ id: before[0].id, url: before[0].url });
    expect(after[1].email).toBe('new@example.com');
    expectError(await get(pathOf(before[1].url)), 404, 'not_found');
    expect((await get(pathOf(before[0].url))).statusCode).toBe(200);
    expect(expectData(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { recipients: [] })).recipients).toEqual([]);
    expectError(await get(pathOf(before[0].url)), 404, 'not_found');
  });

  it(`holds the cap of ${MAX_RECIPIENTS} per transfer for POST, even when requests race`, async () => {
    const emails = Array.from({ length: MAX_RECIPIENTS - 2 }, (_, i) => `r${i}@example.com`);
    const t = await createTransfer(h.app, key, { title: 'cap', recipients: emails });
    expectError(await api('POST', `/api/v1/transfers/${t.id}/recipients`, { emails: ['x1@example.com', 'x2@example.com', 'x3@example.com'] }), 400, 'validation_failed');
    expect(await recipients(t.id)).toHaveLength(MAX_RECIPIENTS - 2);
    const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => api('POST', `/api/v1/transfers/${t.id}/recipients`, { email: `race${i}@example.com` })));
    expect(racing.map((r) => r.statusCode).sort()).toEqual([201, 201, 400, 400, 400, 400]);
    expect(await recipients(t.id)).toHaveLength(MAX_RECIPIENTS);
    const page = await api('GET', `/api/v1/transfers/${t.id}/recipients?limit=10&offset=45`);
    expect(page.json().pagination).toEqual({ limit: 10, offset: 45, total: MAX_RECIPIENTS });
    expect(page.json().data).toHaveLength(5);
  });

  it('queues the recipient email (email.recipient_ready) for new recipients of ready transfers and on resend; resend waits for ready', async () => {
    const open = await createTransfer(h.app, key, { title: 'open', recipients: ['early@example.com'], files: [{ name: 'a', size: 1 }] });
    const [early] = await recipients(open.id);
    expect(await recipientEmailJobs(early.id)).toEqual([]);
    expectError(await api('POST', `/api/v1/transfers/${open.id}/recipients/${early.id}/resend`), 409, 'transfer_not_ready');

    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'x' }]);
    const [late] = expectData(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { email: 'late@example.com' }), 201);
    expect(await recipientEmailJobs(late.id)).toEqual([{ recipientId: late.id }]);
    const resent = await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients/${late.id}/resend`);
    expect(expectData(resent, 202)).toMatchObject({ id: late.id, email_status: 'pending' });
    expect(await recipientEmailJobs(late.id)).toHaveLength(2);
    // PATCH adding a recipient to a ready transfer emails them the same way.
    expectData(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { recipients: ['late@example.com', 'patched@example.com'] }));
    const patched = (await recipients(t.transfer.id)).find((r) => r.email === 'patched@example.com');
    expect(await recipientEmailJobs(patched.id)).toEqual([{ recipientId: patched.id }]);
    expect(await recipientEmailJobs(late.id)).toHaveLength(2);
  });
});

describe('isolation and bad input', () => {
  it("another account's transfer and recipients are 404 on every route", async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'x' }], { recipients: ['mine@example.com'] });
    const [r] = await recipients(t.transfer.id);
    const base = `/api/v1/transfers/${t.transfer.id}`;
    expectError(await api('GET', `${base}/recipients`, undefined, otherKey), 404, 'not_found');
    expectError(await api('POST', `${base}/recipients`, { email: 'x@example.com' }, otherKey), 404, 'not_found');
    expectError(await api('DELETE', `${base}/recipients/${r.id}`, undefined, otherKey), 404, 'not_found');
    expectError(await api('POST', `${base}/recipients/${r.id}/resend`, undefined, otherKey), 404, 'not_found');
    expectError(await api('GET', `${base}/receipts`, undefined, otherKey), 404, 'not_found');
    // A recipient of another transfer of the same owner is not found under this one.
    const other = await readyTransfer(h.app, key, [{ name: 'b.txt', content: 'y' }]);
    expectError(await api('DELETE', `/api/v1/transfers/${other.transfer.id}/recipients/${r.id}`), 404, 'not_found');
    expectError(await api('POST', `/api/v1/transfers/${other.transfer.id}/recipients/${r.id}/resend`), 404, 'not_found');
    expect(await recipients(t.transfer.id)).toHaveLength(1);
    expectError(await get('/d/' + 'A'.repeat(32)), 404, 'not_found');
    expectError(await get('/d/short'), 404, 'not_found');
  });

  it('refuses addresses with CR/LF, display names or junk, and changes nothing', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'x' }], { recipients: ['ok@example.com'] });
    const before = await recipients(t.transfer.id);
    const jobsBefore = (await jobs('email.recipient_ready')).length;
    const bad = [
      'victim@example.com\r\nBcc: everyone@example.com',
      'victim@example.com\n',
      'Ann <ann@example.com>',
      '"ann"@example.com',
      'ann@example.com, bob@example.com',
      'ann@@example.com',
      'ann@localhost',
      'ann@example..com',
      'ann@-example.com',
      'ann.@example.com',
      'ann@127.0.0.1',
      'ann@[127.0.0.1]',
      'a b@example.com',
      'not an email',
      '',
      'x'.repeat(65) + '@example.com',
    ];
    for (const email of bad) {
      const one = await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { email });
      expect({ email, status: one.statusCode }).toEqual({ email, status: 400 });
      expectError(one, 400, 'validation_failed');
      expectError(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, { emails: ['fine@example.com', email] }), 400, 'validation_failed');
      expectError(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { recipients: ['fine@example.com', email] }), 400, 'validation_failed');
      expectError(await postTransfer(h.app, key, { title: 'bad', recipients: [email] }), 400, 'validation_failed');
    }
    for (const body of [{}, { email: 'a@example.com', emails: ['b@example.com'] }, { emails: [] }, { email: 5 }, { emails: 'a@example.com' }, { email: 'a@example.com', cc: 'b@example.com' }]) {
      expectError(await api('POST', `/api/v1/transfers/${t.transfer.id}/recipients`, body), 400, 'validation_failed');
    }
    expect(await recipients(t.transfer.id)).toEqual(before);
    expect((await jobs('email.recipient_ready')).length).toBe(jobsBefore);
    expectError(await api('GET', `/api/v1/transfers/${t.transfer.id}/receipts?kind=other`), 400, 'validation_failed');
    expectError(await api('GET', `/api/v1/transfers/${t.transfer.id}/recipients?limit=0`), 400, 'validation_failed');
    expectError(await api('DELETE', `/api/v1/transfers/${t.transfer.id}/recipients/rcp_nope`), 404, 'not_found');
  });
});


describe('OpenAPI', () => {
  it('documents the recipient and receipt routes, the /d/ links and public_link', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ops: [string, string, string][] = [
      ['/api/v1/transfers/{id}/recipients', 'get', 'listRecipients'],
      ['/api/v1/transfers/{id}/recipients', 'post', 'addRecipients'],
      ['/api/v1/transfers/{id}/recipients/{rid}', 'delete', 'removeRecipient'],
      ['/api/v1/transfers/{id}/recipients/{rid}/resend', 'post', 'resendRecipientEmail'],
      ['/api/v1/transfers/{id}/receipts', 'get', 'listReceipts'],
      ['/d/{token}', 'get', 'getRecipientLinkPage'],
      ['/d/{token}/unlock', 'post', 'unlockRecipientLinkForm'],
      ['/d/{token}/files/{fileId}', 'get', 'downloadRecipientLinkFile'],
      ['/d/{token}/download.zip', 'get', 'downloadRecipientLinkZip'],
    ];
    for (const [path, method, operationId] of ops) expect(doc.paths[path]?.[method]?.operationId, `${method} ${path}`).toBe(operationId);
    expect(doc.paths['/api/v1/transfers/{id}/recipients'].post.requestBody).toBeDefined();
    expect(Object.keys(doc.paths['/api/v1/transfers/{id}/recipients/{rid}'].delete.responses)).toContain('204');
    expect(doc.components.schemas.Recipient.properties.status).toBeDefined();
    expect(doc.components.schemas.Receipt.properties.completed).toBeDefined();
    expect(doc.components.schemas.Transfer.properties.public_link).toBeDefined();
  });
});

describe('upgrading a database whose transfers hold recipient lists', () => {
  it('copies every list into rows with links of their own, and the transfer shows the same addresses', async () => {
    const database = await createTestDatabase();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-recipients-upgrade-'));
    const url = database.url || `sqlite://${path.join(dir, 'ferry.db')}`;
    try {
      const before: Record<string, Migration> = {
        '001-initial': m001, '002-uploads': m002, '003-direct-multipart': m003, '004-account-abuse-guards': m004,
        '005-received-partials': m005, '006-slug-keys': m006, '007-write-locks': m007, '008-jobs': m008,
      };
      const old = connectDatabase(url);
      await new Migrator({ db: old.db, provider: { getMigrations: async () => before } }).migrateToLatest();
      const now = new Date().toISOString();
      await old.db.insertInto('users').values({ id: 'us_1', email: 'old@example.com', name: null, password_hash: 'x', is_admin: 1, created_at: now }).execute();
      const row = (id: string, recipients: string) => ({
        id, user_id: 'us_1', title: id, message: null, recipients, slug: id.replace('_', '-'), password_hash: null, max_downloads: null, state: 'ready' as const,
        expires_at: null, created_at: now, updated_at: now, finalized_at: now, deleted_at: null, purged_at: null, upload_token_hash: null,
      });
      await old.db.insertInto('transfers').values([row('tr_two', '["ann@example.com","bob@example.com"]'), row('tr_none', '[]'), row('tr_junk', 'not json')] as never).execute();
      await old.close();

      const upgraded = await openDatabase(url);
      try {
        const rows = await upgraded.db.selectFrom('recipients').selectAll().orderBy('position').execute();
        expect(rows.map((r) => [r.transfer_id, r.email, r.position, r.email_status, r.revoked_at])).toEqual([
          ['tr_two', 'ann@example.com', 0, 'pending', null],
          ['tr_two', 'bob@example.com', 1, 'pending', null],
        ]);
        for (const r of rows) expect(r.token).toMatch(/^[0-9A-Za-z]{32}$/);
        expect(rows[0]!.token).not.toBe(rows[1]!.token);
        const flags = await upgraded.db.selectFrom('transfers').select(['id', 'public_link']).orderBy('id').execute();
        expect(flags.map((f) => Number(f.public_link))).toEqual([1, 1, 1]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await database.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
