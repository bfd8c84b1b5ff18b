import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, multipart, postTransfer, putContent } from '../support/http.ts';

/** Transfers: create, list, get, update, delete, finalize; docs/security-checklist.md B20-B23, B26, B33, B34, D60, F75. */

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'transfers@example.com'));
});
afterAll(() => h.close());

const DAY = 86_400_000;
const get = (id: string) => h.app.inject({ method: 'GET', url: `/api/v1/transfers/${id}`, headers: bearer(key) });
const patch = (id: string, payload: unknown, method: 'PATCH' | 'PUT' = 'PATCH') =>
  h.app.inject({ method, url: `/api/v1/transfers/${id}`, headers: bearer(key), payload: payload as object });
const finalize = (id: string) => h.app.inject({ method: 'POST', url: `/api/v1/transfers/${id}/finalize`, headers: bearer(key) });
const list = (query: string) => h.app.inject({ method: 'GET', url: `/api/v1/transfers?${query}`, headers: bearer(key) });

describe('create, get, update, delete', () => {
  it('creates a transfer with declared files (201): 7-day default expiry, public link, upload instructions', async () => {
    const t = await createTransfer(h.app, key, { title: ' Holiday ', message: 'hi', recipients: ['Ann@Example.com'], files: [{ name: 'a.jpg', size: 5, content_type: 'image/jpeg' }] });
    expect(t).toMatchObject({ title: 'Holiday', message: 'hi', recipients: ['ann@example.com'], state: 'uploading', password_protected: false, max_downloads: null, size: 5, file_count: 1, finalized_at: null });
    expect(Date.parse(t.expires_at) - h.clock.now().getTime()).toBeGreaterThan(7 * DAY - 60_000);
    expect(t.url).toMatch(new RegExp(`/t/${t.slug}$`));
    expect(t.files[0]).toMatchObject({ name: 'a.jpg', size: 5, content_type: 'image/jpeg', state: 'pending', sha256: null });
    expect(t.files[0].upload).toEqual({ method: 'PUT', url: expect.stringMatching(new RegExp(`/api/v1/transfers/${t.id}/files/${t.files[0].id}/content$`)), content_type: 'application/octet-stream' });
    expect(expectData(await get(t.id))).toMatchObject({ id: t.id, title: 'Holiday', file_count: 1 });
  });

  it('PATCH and PUT change only the fields given; a custom slug moves the link and must be free', async () => {
    const t = await createTransfer(h.app, key, { title: 'before', message: 'keep me' });
    const patched = expectData(await patch(t.id, { title: 'after', max_downloads: 3, recipients: ['x@example.com'] }));
    expect(patched).toMatchObject({ title: 'after', message: 'keep me', max_downloads: 3, recipients: ['x@example.com'] });
    const put = expectData(await patch(t.id, { message: null, slug: 'my-link' }, 'PUT'));
    expect(put).toMatchObject({ title: 'after', message: null, slug: 'my-link', url: expect.stringMatching(/\/t\/my-link$/) });
    const other = await createTransfer(h.app, key, { title: 'other' });
    expectError(await patch(other.id, { slug: 'my-link' }), 409, 'slug_taken');
    expectError(await postTransfer(h.app, key, { title: 'x', slug: 'my-link' }), 409, 'slug_taken');
    for (const slug of ['a', '../x', 'has space', '-lead', 'x'.repeat(65)]) expect((await patch(other.id, { slug })).statusCode).toBe(400);
    expectError(await patch(t.id, { title: '   ' }), 400, 'validation_failed');
    expectError(await patch(t.id, { recipients: ['not an email'] }), 400, 'validation_failed');
    expectError(await patch(t.id, { recipients: Array.from({ length: 51 }, (_, i) => `r${i}@example.com`) }), 400, 'validation_failed');
    expectError(await patch(t.id, { files: [] }), 400, 'validation_failed');
  });

  it('DELETE answers 204; the transfer is then 404 and leaves the list', async () => {
    const t = await createTransfer(h.app, key, { title: 'doomed' });
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await get(t.id), 404, 'not_found');
    expectError(await patch(t.id, { title: 'x' }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${t.id}`, headers: bearer(key) }), 404, 'not_found');
    expect(expectData(await list('limit=100')).map((x: { id: string }) => x.id)).not.toContain(t.id);
  });
});

describe('list', () => {
  let other: Awaited<ReturnType<typeof createAccount>>;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    other = await createAccount(h.app, 'lister@example.com');
    const specs: [string, number][] = [['Beta 50%_off', 300], ['alpha', 100], ['Gamma', 200]];
    for (const [title, size] of specs) {
      ids[title] = (await createTransfer(h.app, other.key, { title, files: [{ name: 'f.bin', size }] })).id;
    }
    await readyTransfer(h.app, other.key, [{ name: 'done.txt', content: 'x' }], { title: 'Delta' });
  });

  const titles = async (query: string) => {
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/transfers?${query}`, headers: bearer(other.key) });
    return { titles: expectData(res).map((t: { title: string }) => t.title), pagination: res.json().pagination };
  };

  it('paginates with limit (default 20, 1..100) and offset, and reports the total', async () => {
    expect(await titles('')).toMatchObject({ pagination: { limit: 20, offset: 0, total: 4 } });
    const first = await titles('limit=1&sort=title');
    const second = await titles('limit=1&offset=1&sort=title');
    expect(first).toEqual({ titles: ['Beta 50%_off'], pagination: { limit: 1, offset: 0, total: 4 } });
    expect(second.titles).toEqual(['Delta']);
    expect((await titles('offset=10')).titles).toEqual([]);
    for (const q of ['limit=0', 'limit=101', 'limit=1.5', 'limit=x', 'offset=-1', 'sort=password_hash', 'sort=-id', 'state=deleted', 'order=up', 'owner=me']) {
      expectError(await list(q), 400, 'validation_failed');
    }
  });

  it('sorts by title, size and -size', async () => {
    expect((await titles('sort=title')).titles).toEqual(['Beta 50%_off', 'Delta', 'Gamma', 'alpha']);
    expect((await titles('sort=size')).titles).toEqual(['Delta', 'alpha', 'Gamma', 'Beta 50%_off']);
    expect((await titles('sort=-size')).titles).toEqual(['Beta 50%_off', 'Gamma', 'alpha', 'Delta']);
    expect((await titles('sort=size&order=desc')).titles).toEqual(['Beta 50%_off', 'Gamma', 'alpha', 'Delta']);
  });

  it('filters by state and finds text in the title (q), with % and _ taken literally', async () => {
    expect((await titles('state=ready')).titles).toEqual(['Delta']);
    expect((await titles('state=uploading&sort=title')).titles).toEqual(['Beta 50%_off', 'Gamma', 'alpha']);
    expect((await titles('q=ALPH')).titles).toEqual(['alpha']);
    expect((await titles(`q=${encodeURIComponent('50%_')}`)).titles).toEqual(['Beta 50%_off']);
    expect((await titles('q=%25')).titles).toEqual(['Beta 50%_off']);
    expect((await titles('q=_')).titles).toEqual(['Beta 50%_off']);
    expect((await titles('q=zzz')).pagination.total).toBe(0);
  });
});

describe('finalize', () => {
  it('B26: finalize with an incomplete file is 409 files_incomplete naming it; without files 409 no_files', async () => {
    expectError(await finalize((await createTransfer(h.app, key, { title: 'empty' })).id), 409, 'no_files');
    const t = await createTransfer(h.app, key, { title: 'half', files: [{ name: 'a', size: 2 }, { name: 'b', size: 2 }] });
    expectData(await putContent(h.app, key, t.id, t.files[0].id, 'ab'));
    const body = expectError(await finalize(t.id), 409, 'files_incomplete');
    expect(body.error.details).toEqual({ incomplete_file_ids: [t.files[1].id] });
    expect(expectData(await get(t.id)).state).toBe('uploading');
  });

  it('B33: finalize is idempotent, also when called concurrently; POST and PUT both work', async () => {
    const { transfer } = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'a' }], {}, { finalize: false });
    const results = await Promise.all([finalize(transfer.id), finalize(transfer.id), h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${transfer.id}/finalize`, headers: bearer(key) })]);
    const views = results.map((r) => expectData(r));
    expect(new Set(views.map((v) => v.state))).toEqual(new Set(['ready']));
    expect(new Set(views.map((v) => v.finalized_at)).size).toBe(1);
    const again = expectData(await finalize(transfer.id));
    expect(again.finalized_at).toBe(views[0].finalized_at);
    expect(again.files[0].download_url).toEqual(expect.any(String));
  });

  it('B34: a finalized transfer refuses new files (JSON, multipart), uploads and file deletion with 409', async () => {
    const { transfer, files } = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'a' }]);
    const declare = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transfer.id}/files`, headers: bearer(key), payload: { name: 'late.txt', size: 1 } });
    expectError(declare, 409, 'transfer_finalized');
    const form = multipart([{ name: 'file', filename: 'late.txt', content: 'x' }]);
    const viaForm = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transfer.id}/files`, headers: { ...bearer(key), ...form.headers }, payload: form.payload });
    expectError(viaForm, 409, 'transfer_finalized');
    expectError(await putContent(h.app, key, transfer.id, files['a.txt'].id, 'b'), 409, 'transfer_finalized');
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/files/${files['a.txt'].id}`, headers: bearer(key) }), 409, 'transfer_finalized');
    expect(expectData(await get(transfer.id))).toMatchObject({ file_count: 1, size: 1 });
  });

  it('a file of an open transfer can be removed (204) and its name used again', async () => {
    const t = await createTransfer(h.app, key, { title: 'edit', files: [{ name: 'a.txt', size: 1 }, { name: 'b.txt', size: 1 }] });
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/files/${t.files[0].id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${t.files[0].id}`, headers: bearer(key) }), 404, 'not_found');
    const again = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/files`, headers: bearer(key), payload: { name: 'a.txt', size: 1 } });
    expect(expectData(again, 201).name).toBe('a.txt');
    expect(expectData(await get(t.id)).file_count).toBe(2);
  });
});

describe('expiry and mass assignment', () => {
  it('D60: expiry above the plan is 422 expiry_too_long with plan and max_expiry_days beside error', async () => {
    for (const body of [{ expires_days: 31 }, { expires_days: 1_000_000_000 }, { expires_at: '2099-01-01T00:00:00Z' }, { expires_days: -1 }]) {
      const res = await postTransfer(h.app, key, { title: 'long', ...body });
      const envelope = expectError(res, 422, 'expiry_too_long');
      expect(envelope).toMatchObject({ plan: 'default', max_expiry_days: 30, allows_permanent: false });
    }
    const t = await createTransfer(h.app, key, { title: 'max', expires_days: 30 });
    expect(Date.parse(t.expires_at) - h.clock.now().getTime()).toBeGreaterThan(30 * DAY - 60_000);
    expectError(await patch(t.id, { expires_days: 31 }), 422, 'expiry_too_long');
    expectError(await patch(t.id, { expires_days: -1 }), 422, 'expiry_too_long');
    expect(expectData(await patch(t.id, { expires_days: 2 })).expires_at).not.toBe(t.expires_at);
  });

  it('F75: an expiry in the past, of 0 days, or given twice is refused with 400', async () => {
    const past = new Date(h.clock.now().getTime() - 1000).toISOString();
    for (const body of [{ expires_at: past }, { expires_days: 0 }, { expires_days: -2 }, { expires_days: 3, expires_at: '2030-01-01T00:00:00Z' }, { expires_at: 'tomorrow' }]) {
      expectError(await postTransfer(h.app, key, { title: 'bad', ...body }), 400, 'validation_failed');
    }
  });

  it('D60: unknown or server-owned fields (owner_id, state, downloads...) are refused with 400', async () => {
    const t = await createTransfer(h.app, key, { title: 'mass' });
    for (const extra of [{ owner_id: 'usr_x' }, { user_id: 'usr_x' }, { state: 'ready' }, { download_count: 0 }, { downloads: 0 }, { password_hash: 'x' }, { finalized_at: '2020-01-01T00:00:00Z' }, { id: 'tr_x' }]) {
      expectError(await postTransfer(h.app, key, { title: 'mass', ...extra }), 400, 'validation_failed');
      expectError(await patch(t.id, extra), 400, 'validation_failed');
    }
    expectError(await postTransfer(h.app, key, { title: 'm', files: [{ name: 'a', size: 1, state: 'complete' }] }), 400, 'validation_failed');
    expectError(await postTransfer(h.app, key, { title: 'm', max_downloads: -1 }), 400, 'validation_failed');
    expectError(await postTransfer(h.app, key, { title: 'm', max_downloads: 0 }), 400, 'validation_failed');
    expect(expectData(await get(t.id))).toMatchObject({ state: 'uploading', download_count: 0, title: 'mass' });
  });

  it('B20: strings, fractions and booleans for numbers are refused with 400', async () => {
    for (const size of ['100', 1.5, '1e3', '0x10', ' 12 ', true, null, -1]) {
      expectError(await postTransfer(h.app, key, { title: 'n', files: [{ name: 'a', size }] }), 400, 'validation_failed');
    }
    for (const bad of [{ max_downloads: '5' }, { max_downloads: 2.5 }, { expires_days: '7' }, { expires_days: 1.5 }, { title: 7 }, { recipients: 'a@example.com' }]) {
      expectError(await postTransfer(h.app, key, { title: 't', ...bad }), 400, 'validation_failed');
    }
  });

  it('B21: sizes beyond safe integers are refused with 400', async () => {
    for (const size of ['9007199254740993', '1e30', '1' + '0'.repeat(40)]) {
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: { ...bearer(key), 'content-type': 'application/json' }, payload: `{"title":"big","files":[{"name":"a","size":${size}}]}` });
      expectError(res, 400, 'validation_failed');
    }
  });

  it('B22/B23: a file or a transfer above the plan size is refused at declaration with 413', async () => {
    const GiB = 1024 ** 3;
    expectError(await postTransfer(h.app, key, { title: 'huge', files: [{ name: 'a', size: 11 * GiB }] }), 413, 'payload_too_large');
    const sum = await postTransfer(h.app, key, { title: 'sum', files: [{ name: 'a', size: 6 * GiB }, { name: 'b', size: 5 * GiB }] });
    expect(expectError(sum, 413, 'payload_too_large').max_transfer_size).toBe(10 * GiB);
    const t = await createTransfer(h.app, key, { title: 'fill', files: [{ name: 'a', size: 6 * GiB }] });
    const more = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/files`, headers: bearer(key), payload: { name: 'b', size: 5 * GiB } });
    expectError(more, 413, 'payload_too_large');
    expect(expectData(await get(t.id)).file_count).toBe(1);
  });
});

describe('a plan that allows permanent transfers', () => {
  let p: Harness;
  afterAll(() => p?.close());

  it('D60: expires_days -1 makes a permanent transfer only when the plan allows it', async () => {
    p = await startHarness({ FERRY_ALLOW_PERMANENT: 'true', FERRY_MAX_EXPIRY_DAYS: '365', FERRY_PLAN_NAME: 'pro' });
    const { key: proKey } = await createAccount(p.app, 'pro@example.com');
    const t = await createTransfer(p.app, proKey, { title: 'forever', expires_days: -1 });
    expect(t.expires_at).toBeNull();
    const tooLong = expectError(await postTransfer(p.app, proKey, { title: 'x', expires_days: 366 }), 422, 'expiry_too_long');
    expect(tooLong).toMatchObject({ plan: 'pro', max_expiry_days: 365, allows_permanent: true });
  });
});
