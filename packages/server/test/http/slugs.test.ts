import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Migrator, type Migration } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, openDatabase } from '../../src/db/database.ts';
import * as initial from '../../src/db/migrations/001-initial.ts';
import * as uploads from '../../src/db/migrations/002-uploads.ts';
import * as directMultipart from '../../src/db/migrations/003-direct-multipart.ts';
import { TransfersRepository } from '../../src/repositories/transfers-repository.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTestDatabase } from '../support/test-database.ts';
import { expectData, expectError, postTransfer } from '../support/http.ts';
import { readyTransfer } from '../support/transfers.ts';

const DAY_MS = 86_400_000;

let h: Harness;
let alice: string;
let bob: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_PURGE_GRACE: '0' });
  ({ key: alice } = await createAccount(h.app, 'alice@example.com'));
  ({ key: bob } = await createAccount(h.app, 'bob@example.com'));
});
afterAll(async () => h.close());

const patchSlug = (key: string, id: string, slug: string) =>
  h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${id}`, headers: bearer(key), payload: { slug } });

const deleteAndPurge = async (key: string, id: string) => {
  expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${id}`, headers: bearer(key) })).statusCode).toBe(204);
  h.clock.advance(1000);
  expect((await h.sweeper.sweep()).purged).toBeGreaterThanOrEqual(1);
};

describe('custom slugs ignore letter case', () => {
  it('a slug blocks every spelling of it, for other accounts and for its owner', async () => {
    const report = await readyTransfer(h.app, alice, [{ name: 'r.txt', content: 'r' }], { slug: 'Report-2024' });
    expect(report.transfer.url).toMatch(/\/t\/Report-2024$/);
    expectError(await postTransfer(h.app, bob, { title: 'x', slug: 'report-2024' }), 409, 'slug_taken');
    expectError(await postTransfer(h.app, bob, { title: 'x', slug: 'REPORT-2024' }), 409, 'slug_taken');
    expectError(await postTransfer(h.app, alice, { title: 'x', slug: 'rEpOrT-2024' }), 409, 'slug_taken');
    const other = expectData(await postTransfer(h.app, bob, { title: 'other' }), 201);
    expectError(await patchSlug(bob, other.id, 'report-2024'), 409, 'slug_taken');
    // Its owner may change the case of its own slug.
    expect(expectData(await patchSlug(alice, report.transfer.id, 'REPORT-2024')).slug).toBe('REPORT-2024');
  });

  it('a link opens the transfer whatever the case it is typed in; its URL keeps the owner\'s spelling', async () => {
    const shared = await readyTransfer(h.app, alice, [{ name: 'c.txt', content: 'case' }], { slug: 'Holiday-Photos' });
    for (const typed of ['Holiday-Photos', 'holiday-photos', 'HOLIDAY-PHOTOS']) {
      const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${typed}` }));
      expect(view.title).toBe('Transfer');
      expect((await h.app.inject({ method: 'GET', url: `/t/${typed}` })).statusCode, typed).toBe(200);
      const file = await h.app.inject({ method: 'GET', url: `/t/${typed}/files/${shared.transfer.files[0].id}` });
      expect(file.statusCode, typed).toBe(200);
      expect(file.body).toBe('case');
    }
    expect(expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${shared.transfer.id}`, headers: bearer(alice) })).url).toMatch(/\/t\/Holiday-Photos$/);
  });

  it('of racing claims of one slug, in any case and from any account, exactly one wins and none fails', async () => {
    const spellings = ['race-slug', 'Race-Slug', 'RACE-SLUG', 'race-SLUG', 'Race-slug'];
    const answers = await Promise.all(
      spellings.flatMap((slug, i) => [postTransfer(h.app, i % 2 ? alice : bob, { title: slug, slug }), postTransfer(h.app, i % 2 ? bob : alice, { title: slug, slug })]),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, ...Array(9).fill(409)]);
    for (const answer of answers.filter((a) => a.statusCode === 409)) expectError(answer, 409, 'slug_taken');
  });
});

describe('a purged transfer\'s slug stays reserved for its owner', () => {
  it('another account cannot take it during the reservation; the old link names nothing; the owner can', async () => {
    const old = await readyTransfer(h.app, alice, [{ name: 'q.txt', content: 'q' }], { slug: 'quarterly' });
    await deleteAndPurge(alice, old.transfer.id);
    expectError(await h.app.inject({ method: 'GET', url: '/t/quarterly' }), 404, 'not_found');
    expectError(await postTransfer(h.app, bob, { title: 'squat', slug: 'Quarterly' }), 409, 'slug_taken');
    const bobs = expectData(await postTransfer(h.app, bob, { title: 'squat later' }), 201);
    expectError(await patchSlug(bob, bobs.id, 'quarterly'), 409, 'slug_taken');
    h.clock.advance(29 * DAY_MS);
    expectError(await postTransfer(h.app, bob, { title: 'squat', slug: 'quarterly' }), 409, 'slug_taken');
    const again = await readyTransfer(h.app, alice, [{ name: 'q2.txt', content: 'q2' }], { slug: 'Quarterly' });
    expect(again.link).toBe('/t/Quarterly');
    expect((await h.app.inject({ method: 'GET', url: '/t/quarterly' })).statusCode).toBe(200);
  });

  it('after 30 days anyone may take it', async () => {
    const old = await readyTransfer(h.app, alice, [{ name: 'a.txt', content: 'a' }], { slug: 'annual-report' });
    await deleteAndPurge(alice, old.transfer.id);
    h.clock.advance(29 * DAY_MS);
    expectError(await postTransfer(h.app, bob, { title: 'early', slug: 'annual-report' }), 409, 'slug_taken');
    h.clock.advance(2 * DAY_MS);
    const bobs = expectData(await postTransfer(h.app, bob, { title: 'late', slug: 'Annual-Report' }), 201);
    expect(bobs.slug).toBe('Annual-Report');
  });
});

describe('upgrading a database whose slugs differ only in case', () => {
  it('keeps every old link working and gives the key to the oldest', async () => {
    const database = await createTestDatabase();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-slug-upgrade-'));
    const url = database.url || `sqlite://${path.join(dir, 'ferry.db')}`;
    try {
      const before: Record<string, Migration> = { '001-initial': initial, '002-uploads': uploads, '003-direct-multipart': directMultipart };
      const old = connectDatabase(url);
      await new Migrator({ db: old.db, provider: { getMigrations: async () => before } }).migrateToLatest();
      const now = Date.now();
      await old.db.insertInto('users').values({ id: 'us_1', email: 'old@example.com', name: null, password_hash: 'x', is_admin: 1, created_at: new Date(now).toISOString() }).execute();
      const row = (id: string, slug: string, ageMs: number) => ({
        id, user_id: 'us_1', title: slug, message: null, recipients: '[]', slug, password_hash: null, max_downloads: null, state: 'ready' as const,
        expires_at: null, created_at: new Date(now - ageMs).toISOString(), updated_at: new Date(now).toISOString(), finalized_at: null, deleted_at: null, purged_at: null, upload_token_hash: null,
      });
      await old.db.insertInto('transfers').values([row('tr_new', 'dup', 1000), row('tr_old', 'Dup', 5000), row('tr_solo', 'Solo', 1000)] as never).execute();
      await old.close();

      const upgraded = await openDatabase(url);
      try {
        const keys = await upgraded.db.selectFrom('transfers').select(['id', 'slug_key']).orderBy('id').execute();
        expect(keys).toEqual([{ id: 'tr_new', slug_key: null }, { id: 'tr_old', slug_key: 'dup' }, { id: 'tr_solo', slug_key: 'solo' }]);
        const transfers = new TransfersRepository(upgraded.db);
        expect((await transfers.findBySlug('dup'))?.id).toBe('tr_new');
        expect((await transfers.findBySlug('Dup'))?.id).toBe('tr_old');
        expect((await transfers.findBySlug('DUP'))?.id).toBe('tr_old');
        expect((await transfers.findBySlug('SOLO'))?.id).toBe('tr_solo');
      } finally {
        await upgraded.close();
      }
    } finally {
      await database.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
