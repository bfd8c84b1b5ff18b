import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createKey } from '../support/accounts.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, ghostId, multipart, putContent, type Injected } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';

/** docs/security-checklist.md D55-D57, D59 and D62: what one account may see and do with another's objects. */

let h: Harness;
let alice: Awaited<ReturnType<typeof createAccount>>;
let bob: Awaited<ReturnType<typeof createAccount>>;
/** Alice's finalized transfer, her open (uploading) transfer with one pending file, and one of her keys. */
let aReady: Awaited<ReturnType<typeof readyTransfer>>;
let aOpen: { id: string; fileId: string };
let aKeyId: string;
let bOpen: { id: string; fileId: string };

const CONTENT = 'alice private bytes';

beforeAll(async () => {
  h = await startHarness();
  alice = await createAccount(h.app, 'alice@example.com');
  bob = await createAccount(h.app, 'bob@example.com');
  aReady = await readyTransfer(h.app, alice.key, [{ name: 'secret.txt', content: CONTENT }], { title: 'Alice only', password: 'alice pw' });
  const open = await createTransfer(h.app, alice.key, { title: 'open', files: [{ name: 'p.bin', size: 4 }] });
  aOpen = { id: open.id, fileId: open.files[0].id };
  const b = await createTransfer(h.app, bob.key, { title: 'bob', files: [{ name: 'b.bin', size: 4 }] });
  bOpen = { id: b.id, fileId: b.files[0].id };
  aKeyId = expectData(await h.app.inject({ method: 'GET', url: '/api/v1/keys', headers: bearer(alice.key) }))[0].id;
});
afterAll(() => h.close());

const as = (who: { key: string }) => bearer(who.key);

/** A 404 for another account's object must be indistinguishable from one for an id that never existed. */
function expectInvisible(res: Injected, ghost: Injected) {
  expectError(res, 404, 'not_found');
  expect(res.body).toBe(ghost.body);
}

describe('D55/D56. another account\'s objects are 404', () => {
  it('D55: GET/PATCH/PUT/DELETE/finalize of another account\'s transfer are 404 like a missing id', async () => {
    const id = aReady.transfer.id;
    const ghost = ghostId('tr');
    const calls: [string, string, unknown?][] = [
      ['GET', ''],
      ['PATCH', '', { title: 'mine now' }],
      ['PUT', '', { title: 'mine now' }],
      ['DELETE', ''],
      ['POST', '/finalize'],
      ['PUT', '/finalize'],
      ['GET', '/files'],
      ['POST', '/files', { name: 'x.txt', size: 1 }],
      ['GET', '/download.zip'],
      ['HEAD', '/download.zip'],
    ];
    for (const [method, suffix, payload] of calls) {
      const theirs = await h.app.inject({ method: method as 'GET', url: `/api/v1/transfers/${id}${suffix}`, headers: as(bob), payload: payload as object });
      const missing = await h.app.inject({ method: method as 'GET', url: `/api/v1/transfers/${ghost}${suffix}`, headers: as(bob), payload: payload as object });
      if (method === 'HEAD') {
        expect([theirs.statusCode, missing.statusCode]).toEqual([404, 404]);
        continue;
      }
      expectInvisible(theirs, missing);
    }
  });

  it('D55: multipart upload into another account\'s transfer is 404 and stores nothing', async () => {
    const form = multipart([{ name: 'file', filename: 'plant.txt', content: 'planted' }]);
    const res = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${aOpen.id}/files`, headers: { ...as(bob), ...form.headers }, payload: form.payload });
    expectError(res, 404, 'not_found');
    const files = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${aOpen.id}/files`, headers: as(alice) }));
    expect(files.map((f: { name: string }) => f.name)).toEqual(['p.bin']);
  });

  it('D55: another account\'s file is 404 for get, delete, download and content upload', async () => {
    const fileId = aReady.files['secret.txt'].id;
    const ghost = ghostId('fl');
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['GET', '/download']] as const) {
      const theirs = await h.app.inject({ method, url: `/api/v1/files/${fileId}${suffix}`, headers: as(bob) });
      const missing = await h.app.inject({ method, url: `/api/v1/files/${ghost}${suffix}`, headers: as(bob) });
      expectInvisible(theirs, missing);
    }
    expect((await h.app.inject({ method: 'HEAD', url: `/api/v1/files/${fileId}/download`, headers: as(bob) })).statusCode).toBe(404);
    expectError(await putContent(h.app, bob.key, aOpen.id, aOpen.fileId, 'evil'), 404, 'not_found');
  });

  it('D56: a file of one transfer addressed under another transfer\'s path is 404', async () => {
    // Bob's transfer path with Alice's file: Bob owns the path, not the file.
    expectError(await putContent(h.app, bob.key, bOpen.id, aOpen.fileId, 'evil'), 404, 'not_found');
    // Alice's transfer path with Bob's file: Alice owns the path, not the file.
    expectError(await putContent(h.app, alice.key, aOpen.id, bOpen.fileId, 'evil'), 404, 'not_found');
    // Alice's own file under Alice's other transfer: still not that transfer's file.
    const other = await createTransfer(h.app, alice.key, { title: 'other' });
    expectError(await putContent(h.app, alice.key, other.id, aOpen.fileId, 'abcd'), 404, 'not_found');
    const pending = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${aOpen.id}/files`, headers: as(alice) }));
    expect(pending[0]).toMatchObject({ id: aOpen.fileId, state: 'pending', sha256: null });
  });

  it('D55: another account\'s API key is 404 for get, patch, regenerate, revoke and delete', async () => {
    const session = { cookie: bob.cookie, 'x-csrf-token': bob.csrf };
    const calls: [string, string, unknown?][] = [['GET', ''], ['PATCH', '', { name: 'stolen' }], ['POST', '/regenerate'], ['POST', '/revoke'], ['DELETE', '']];
    for (const [method, suffix, payload] of calls) {
      const theirs = await h.app.inject({ method: method as 'GET', url: `/api/v1/keys/${aKeyId}${suffix}`, headers: session, payload: payload as object });
      const missing = await h.app.inject({ method: method as 'GET', url: `/api/v1/keys/${ghostId('key')}${suffix}`, headers: session, payload: payload as object });
      expectInvisible(theirs, missing);
    }
  });

  it('D55: lists show only the caller\'s own transfers and keys', async () => {
    const transfers = expectData(await h.app.inject({ method: 'GET', url: '/api/v1/transfers?limit=100', headers: as(bob) }));
    expect(transfers.map((t: { id: string }) => t.id)).toEqual([bOpen.id]);
    const keys = await h.app.inject({ method: 'GET', url: '/api/v1/keys?limit=100', headers: as(bob) });
    expect(keys.json().pagination.total).toBe(1);
    expect(keys.body).not.toContain(aKeyId);
  });

  it('D55: after every attempt, Alice\'s objects are unchanged', async () => {
    const t = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${aReady.transfer.id}`, headers: as(alice) }));
    expect(t).toMatchObject({ title: 'Alice only', state: 'ready', file_count: 1 });
    const dl = await h.app.inject({ method: 'GET', url: `/api/v1/files/${aReady.files['secret.txt'].id}/download`, headers: as(alice) });
    expect(dl.statusCode).toBe(200);
    expect(sha256(dl.rawPayload)).toBe(sha256(CONTENT));
    const key = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/keys/${aKeyId}`, headers: as(alice) }));
    expect(key).toMatchObject({ name: 'test', revoked_at: null });
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: as(alice) })).statusCode).toBe(200);
  });
});

describe('D57/D59/D62. ids, narrow keys and what responses never contain', () => {
  it('D57: ids carry a type prefix and at least 128 random bits; malformed ids are 404, not 400 or 500', async () => {
    expect(aReady.transfer.id).toMatch(/^tr_[0-9A-Za-z]{22}$/); // 22 base62 characters = 131 bits
    expect(aReady.files['secret.txt'].id).toMatch(/^fl_[0-9A-Za-z]{22}$/);
    expect(aKeyId).toMatch(/^key_[0-9A-Za-z]{22}$/);
    expect(aReady.transfer.slug).toMatch(/^[0-9A-Za-z]{22}$/);
    for (const id of ['1', 'tr_1', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', '%252e%252e', 'tr_%C3%A9', `tr_${'A'.repeat(150)}`, 'fl_AAAAAAAAAAAAAAAAAAAAAA']) {
      const res = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${id}`, headers: as(bob) });
      expectError(res, 404, 'not_found');
    }
    // The router answers these two before any hook runs; frameworkErrors gives them the envelope and request id.
    const long = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/tr_${'A'.repeat(5000)}`, headers: as(bob) });
    expectError(long, 404, 'not_found');
    expect(long.headers['x-request-id']).toBeTruthy();
    const badEncoding = await h.app.inject({ method: 'GET', url: '/api/v1/transfers/%E0%A4%A', headers: as(bob) });
    expectError(badEncoding, 400, 'bad_url');
  });

  it('D59: an upload-only key (files:write) cannot manage keys, read transfers or see the account (403)', async () => {
    const upload = await createKey(h.app, alice, { name: 'ci', scopes: ['files:write'] });
    const key = bearer(upload.key);
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/keys', headers: key }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: key, payload: { name: 'x', scopes: ['files:write'] } }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: key }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: key }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/admin/invites', headers: key }), 403, 'insufficient_scope');
    expect((await putContent(h.app, upload.key, aOpen.id, aOpen.fileId, 'abcd')).statusCode).toBe(200);
  });

  it('D62: transfer, file and account responses never carry password hashes, storage paths or secrets', async () => {
    const responses = [
      await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${aReady.transfer.id}`, headers: as(alice) }),
      await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: as(alice) }),
      await h.app.inject({ method: 'GET', url: `/api/v1/files/${aReady.files['secret.txt'].id}`, headers: as(alice) }),
      await h.app.inject({ method: 'GET', url: '/api/v1/account', headers: as(alice) }),
      await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${aReady.transfer.slug}` }),
    ];
    const row = await h.database.db.selectFrom('files').select('storage_key').where('id', '=', aReady.files['secret.txt'].id).executeTakeFirstOrThrow();
    for (const res of responses) {
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toMatch(/argon2|password_hash|storage_key|secret_hash|csrf/);
      expect(res.body).not.toContain(row.storage_key);
      expect(res.body).not.toContain(h.dataDir);
      expect(res.body).not.toContain('bob@example.com');
    }
    expect(responses[0]!.json().data.password_protected).toBe(true);
  });
});
