import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, postTransfer } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';
import { MAX_RECIPIENTS } from '../../src/domain/transfer-rules.ts';

/** Recipients as rows with links of their own, and the receipts of every link. */

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

async function recipients(transferId: string): Promise<any[]> {
  return expectData(await api('GET', `/api/v1/transfers/${transferId}/recipients?limit=100`));
}

async function receipts(transferId: string, query = ''): Promise<any[]> {
  await h.app.services.receipts.idle();
  return expectData(await api('GET', `/api/v1/transfers/${transferId}/receipts?limit=100${query}`));
}

/** Jobs of `kind` written so far, payloads parsed. */
async function jobs(kind: string): Promise<any[]> {
  const rows = await h.database.db.selectFrom('jobs').select(['payload']).where('kind', '=', kind).orderBy('created_at').execute();
  return rows.map((r) => JSON.parse(r.payload));
}

/** Domain events of one transfer (dispatch jobs), oldest first. */
async function eventsOf(transferId: string): Promise<{ type: string; data: any }[]> {
  await h.app.services.receipts.idle();
  return (await jobs('event.dispatch')).filter((e) => e.data?.transfer?.id === transferId).map((e) => ({ type: e.type, data: e.data }));
}

const recipientEmailJobs = async (recipientId: string) => (await jobs('email.recipient_ready')).filter((p) => p.recipientId === recipientId);

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

describe('downloads through a recipient link', () => {
  const content = bytes(300_000);
  let t: ReadyTransfer;
  let ann: any;

  beforeAll(async () => {
    t = await readyTransfer(h.app, key, [{ name: 'big.bin', content }, { name: 'b.txt', content: 'bee' }], { title: 'For Ann', recipients: ['ann@example.com'] });
    [ann] = await recipients(t.transfer.id);
  });

  it('the page lists the files under /d/ and a visit marks the recipient opened, emitting recipient.opened once', async () => {
    const link = pathOf(ann.url);
    const pages = await Promise.all([get(link), get(link)]);
    for (const page of pages) {
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain(`href="${ann.url}/files/${t.transfer.files[0].id}"`);
      expect(page.body).toContain(`href="${ann.url}/download.zip"`);
    }
    const [seen] = await recipients(t.transfer.id);
    expect(seen.status).toBe('opened');
    expect(seen.opened_at).not.toBeNull();
    expect(seen.last_opened_at >= seen.opened_at).toBe(true);
    const opened = (await eventsOf(t.transfer.id)).filter((e) => e.type === 'recipient.opened');
    expect(opened).toEqual([{ type: 'recipient.opened', data: { transfer: { id: t.transfer.id, title: 'For Ann' }, recipient: { id: ann.id, email: 'ann@example.com' } } }]);
    const views = await receipts(t.transfer.id, '&kind=page_view');
    expect(views).toHaveLength(2);
    expect(views[0]).toMatchObject({ kind: 'page_view', recipient: { id: ann.id, email: 'ann@example.com' }, file: null, completed: true });
  });

  it('a file and the ZIP come back byte-identical and show on the recipient, in the receipts and as events', async () => {
    const link = pathOf(ann.url);
    const file = await get(`${link}/files/${t.transfer.files[0].id}`);
    expect(file.statusCode).toBe(200);
    expect(sha256(file.rawPayload)).toBe(sha256(content));
    const zip = await get(`${link}/download.zip`);
    expect((await readZip(zip.rawPayload)).map((e) => sha256(e.content))).toEqual([sha256(content), sha256('bee')]);

    await h.app.services.receipts.idle();
    const [r] = await recipients(t.transfer.id);
    expect(r).toMatchObject({ status: 'downloaded', download_count: 2 });
    expect(r.first_download_at).not.toBeNull();
    expect(r.last_download_at >= r.first_download_at).toBe(true);

    const downloads = await receipts(t.transfer.id, `&recipient_id=${ann.id}`);
    const fileReceipt = downloads.find((x) => x.kind === 'file');
    expect(fileReceipt).toMatchObject({
      recipient: { id: ann.id, email: 'ann@example.com' },
      file: { id: t.transfer.files[0].id, name: 'big.bin' },
      bytes_sent: content.length,
      completed: true,
      range: null,
    });
    expect(fileReceipt.finished_at).not.toBeNull();
    expect(downloads.find((x) => x.kind === 'zip')).toMatchObject({ bytes_sent: zip.rawPayload.length, completed: true, file: null });

    const events = await eventsOf(t.transfer.id);
    const transferRef = { id: t.transfer.id, title: 'For Ann' };
    const recipientRef = { id: ann.id, email: 'ann@example.com' };
    const fileRef = { id: t.transfer.files[0].id, name: 'big.bin', size: content.length };
    expect(events.filter((e) => e.type === 'file.downloaded').map((e) => e.data)).toEqual([
      { transfer: transferRef, file: fileRef, recipient: recipientRef, bytes: content.length, receipt_id: fileReceipt.id },
    ]);
    expect(events.filter((e) => e.type === 'transfer.downloaded').map((e) => e.data)).toEqual([
      expect.objectContaining({ transfer: transferRef, recipient: recipientRef, bytes: zip.rawPayload.length }),
    ]);
    expect(events.filter((e) => e.type === 'recipient.downloaded').map((e) => [e.data.kind, e.data.file])).toEqual([['file', fileRef], ['zip', null]]);
    // No event carries a link, a token or a signed URL.
    const token = ann.url.split('/d/')[1];
    expect(JSON.stringify(events)).not.toContain(token);
    expect(JSON.stringify(events)).not.toMatch(/signature|\/t\/|\/d\//);
  });

  it('a range that stops short of the end is a receipt but not a download; the tail that finishes it is', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 'c.bin', content }], { recipients: ['res@example.com'] });
    const [res] = await recipients(x.transfer.id);
    const url = `${pathOf(res.url)}/files/${x.transfer.files[0].id}`;
    const head = await get(url, { range: 'bytes=0-999' });
    expect(head.statusCode).toBe(206);
    await h.app.services.receipts.idle();
    expect((await recipients(x.transfer.id))[0]).toMatchObject({ download_count: 0, status: 'pending' });
    const tail = await get(url, { range: 'bytes=1000-' });
    expect(sha256(Buffer.concat([head.rawPayload, tail.rawPayload]))).toBe(sha256(content));
    expect((await recipients(x.transfer.id))[0]).toMatchObject({ download_count: 1, status: 'downloaded' });
    const list = await receipts(x.transfer.id);
    expect(list.map((r) => [r.range, r.bytes_sent, r.completed])).toEqual([
      [`1000-${content.length - 1}`, content.length - 1000, true],
      ['0-999', 1000, true],
    ]);
    expect((await eventsOf(x.transfer.id)).filter((e) => e.type === 'file.downloaded')).toHaveLength(1);
  });

  it('downloads through the shared link are receipts without a recipient; the owner\'s own are not receipts', async () => {
    const x = await readyTransfer(h.app, key, [{ name: 'p.txt', content: 'public bytes' }], { title: 'Shared' });
    expect((await get(`${x.link}/files/${x.transfer.files[0].id}`)).body).toBe('public bytes');
    const owner = await h.app.inject({ method: 'GET', url: `/api/v1/files/${x.transfer.files[0].id}/download`, headers: bearer(key) });
    expect(owner.body).toBe('public bytes');
    expect((await h.app.inject({ method: 'HEAD', url: `${x.link}/files/${x.transfer.files[0].id}` })).statusCode).toBe(200);
    const list = await receipts(x.transfer.id);
    expect(list).toEqual([expect.objectContaining({ kind: 'file', recipient: null, bytes_sent: 12, completed: true })]);
    const events = await eventsOf(x.transfer.id);
    expect(events).toEqual([
      { type: 'file.downloaded', data: expect.objectContaining({ recipient: null, bytes: 12, file: { id: x.transfer.files[0].id, name: 'p.txt', size: 12 } }) },
    ]);
  });
});

describe('link rules apply to recipient links as to the shared link', () => {
  it('the download limit is shared: one download through /d/ uses up the shared link too', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'once' }], { max_downloads: 1, recipients: ['lim@example.com'] });
    const [r] = await recipients(t.transfer.id);
    expect((await get(`${pathOf(r.url)}/files/${t.transfer.files[0].id}`)).body).toBe('once');
    expectError(await get(`${pathOf(r.url)}/files/${t.transfer.files[0].id}`), 410, 'download_limit_reached');
    expectError(await get(`${t.link}/files/${t.transfer.files[0].id}`), 410, 'download_limit_reached');
  });

  it('a password protects /d/ the same way, and its page form unlocks it', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 's.txt', content: 'secret' }], { password: 'open sesame', recipients: ['pw@example.com'] });
    const [r] = await recipients(t.transfer.id);
    const link = pathOf(r.url);
    const locked = await get(link);
    expect(locked.body).toContain(`action="${link}/unlock"`);
    expect(locked.body).not.toContain('/files/');
    expectError(await get(`${link}/files/${t.transfer.files[0].id}`), 401, 'password_required');
    expectError(await get(`${link}/download.zip`), 401, 'password_required');
    const wrong = await h.app.inject({ method: 'POST', url: `${link}/unlock`, remoteAddress: '192.0.2.7', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=nope' });
    expectError(wrong, 401, 'invalid_password');
    const unlocked = await h.app.inject({ method: 'POST', url: `${link}/unlock`, remoteAddress: '192.0.2.8', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'password=open%20sesame' });
    expect(unlocked.statusCode).toBe(303);
    expect(unlocked.headers.location).toBe(link);
    const cookie = unlocked.cookies.find((c) => c.name === `ferry_access_${t.transfer.id}`)!;
    const file = await get(`${link}/files/${t.transfer.files[0].id}`, { cookie: `${cookie.name}=${cookie.value}` });
    expect(file.body).toBe('secret');
    expect((await get(link, { cookie: `${cookie.name}=${cookie.value}` })).body).toContain('/files/');
  });

  it('expiry and deletion end /d/ links as they end the shared link', async () => {
    const expiring = await readyTransfer(h.app, key, [{ name: 'e.txt', content: 'e' }], { expires_at: new Date(h.clock.now().getTime() + 3600_000).toISOString(), recipients: ['exp@example.com'] });
    const deleted = await readyTransfer(h.app, key, [{ name: 'd.txt', content: 'd' }], { recipients: ['del@example.com'] });
    const [e] = await recipients(expiring.transfer.id);
    const [d] = await recipients(deleted.transfer.id);
    expect((await api('DELETE', `/api/v1/transfers/${deleted.transfer.id}`)).statusCode).toBe(204);
    for (const suffix of ['', `/files/${deleted.transfer.files[0].id}`, '/download.zip']) expectError(await get(`${pathOf(d.url)}${suffix}`), 410, 'transfer_deleted');
    h.clock.advance(2 * 3600_000);
    try {
      for (const suffix of ['', `/files/${expiring.transfer.files[0].id}`, '/download.zip']) expectError(await get(`${pathOf(e.url)}${suffix}`), 410, 'transfer_expired');
      expectError(await api('POST', `/api/v1/transfers/${expiring.transfer.id}/recipients`, { email: 'late@example.com' }), 409, 'transfer_expired');
    } finally {
      h.clock.advance(-2 * 3600_000);
    }
  });

  it('a transfer still uploading is not served through /d/ either', async () => {
    const t = await createTransfer(h.app, key, { title: 'wip', recipients: ['wip@example.com'], files: [{ name: 'a', size: 1 }] });
    const [r] = await recipients(t.id);
    expectError(await get(pathOf(r.url)), 409, 'transfer_not_ready');
  });

  it('public_link false turns /t/ off (404) while /d/ links keep working; PATCH turns it back on', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'p.txt', content: 'private' }], { public_link: false, recipients: ['only@example.com'] });
    expect(t.transfer).toMatchObject({ public_link: false, url: null });
    const slug = t.transfer.slug;
    const shared = `/t/${slug}`;
    for (const url of [shared, `${shared}/files/${t.transfer.files[0].id}`, `${shared}/download.zip`, `/api/v1/public/transfers/${slug}`]) expectError(await get(url), 404, 'not_found');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/public/transfers/${slug}/unlock`, payload: { password: 'x' } }), 404, 'not_found');
    const [r] = await recipients(t.transfer.id);
    expect((await get(`${pathOf(r.url)}/files/${t.transfer.files[0].id}`)).body).toBe('private');
    const on = expectData(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { public_link: true }));
    expect(on).toMatchObject({ public_link: true, url: expect.stringContaining(`/t/${slug}`) });
    expect((await get(`${shared}/files/${t.transfer.files[0].id}`)).body).toBe('private');
    expect(expectData(await api('PATCH', `/api/v1/transfers/${t.transfer.id}`, { public_link: false })).public_link).toBe(false);
    expectError(await get(shared), 404, 'not_found');
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
