import http from 'node:http';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { createTransfer, readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { recipientReads } from '../support/recipients.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';

/**
 * Recipient links (/d/{token}) as recipients use them, under the same rules as the shared link,
 * and the receipts and events every visit and download through a link leaves.
 */

let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'sender@example.com'));
});
afterAll(() => h.close());

const get = (url: string, headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url, headers });
const api = (method: 'GET' | 'POST' | 'DELETE' | 'PATCH', url: string, payload?: unknown, as = key) =>
  h.app.inject({ method, url, headers: bearer(as), ...(payload === undefined ? {} : { payload: payload as object }) });


const reads = () => recipientReads(h, key);
const recipients = (transferId: string) => reads().recipients(transferId);
const receipts = (transferId: string, query?: string) => reads().receipts(transferId, query);
const eventsOf = (transferId: string) => reads().eventsOf(transferId);

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
    expect((await h.app.inject({ method: 'HEAD', url: link })).statusCode).toBe(200);
    expect((await recipients(t.transfer.id))[0].opened_at).toBeNull();
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
      // inject() comes from loopback: no country.
      { transfer: transferRef, file: fileRef, recipient: recipientRef, bytes: content.length, country: null, receipt_id: fileReceipt.id },
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
    const events = (await eventsOf(x.transfer.id)).filter((e) => e.type.endsWith('downloaded'));
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
    const asPage = await get(`${link}/files/${t.transfer.files[0].id}`, { accept: 'text/html,*/*;q=0.8' });
    expect(asPage.statusCode).toBe(401);
    expect(asPage.body).toContain(`<a href="${link}">Enter the password</a>`);
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

describe('logs', () => {
  it("never hold a recipient link's token", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = await buildApp({ config: h.config, db: h.database.db, stores: h.stores, secret: 'test-secret-'.padEnd(48, 'x'), logger: { level: 'info', stream } });
    try {
      const t = await readyTransfer(h.app, key, [{ name: 'l.txt', content: 'logged' }], { recipients: ['log@example.com'] });
      const [r] = await recipients(t.transfer.id);
      const token = r.url.split('/d/')[1];
      expect((await app.inject({ method: 'GET', url: `/d/${token}/files/${t.transfer.files[0].id}` })).body).toBe('logged');
      expect((await app.inject({ method: 'GET', url: `/d/${token}` })).statusCode).toBe(200);
      await app.services.receipts.idle();
      const logged = lines.join('');
      expect(logged).toContain('/d/[redacted]/files/');
      expect(logged).not.toContain(token);
    } finally {
      await app.close();
    }
  });
});

describe('over real HTTP', () => {
  /** GET over a fresh connection of its own; `stopAfter` bytes, the client hangs up mid-body. */
  function download(url: string, stopAfter = Infinity): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          got += chunk.length;
          if (got >= stopAfter) {
            req.destroy();
            resolve({ status: res.statusCode!, body: Buffer.concat(chunks) });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
        res.on('error', () => undefined);
      });
      req.on('error', (error) => (Number.isFinite(stopAfter) ? undefined : reject(error)));
    });
  }

  /** The newest file receipt, once the server has settled it. */
  async function settledFileReceipt(transferId: string): Promise<any> {
    for (let i = 0; i < 100; i++) {
      const [receipt] = await receipts(transferId, '&kind=file');
      if (receipt?.finished_at) return receipt;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the receipt was never settled');
  }

  it('a download the client abandons mid-stream is a receipt with completed=false, and no download', async () => {
    const base = await h.listen();
    const content = bytes(24 * 1024 * 1024);
    const t = await readyTransfer(h.app, key, [{ name: 'huge.bin', content }], { recipients: ['quitter@example.com'] });
    const [r] = await recipients(t.transfer.id);
    const url = `${base}${pathOf(r.url)}/files/${t.transfer.files[0].id}`;
    const partial = await download(url, 1024 * 1024);
    expect(partial.status).toBe(200);

    const aborted = await settledFileReceipt(t.transfer.id);
    expect(aborted).toMatchObject({ kind: 'file', recipient: { id: r.id }, completed: false });
    expect(aborted.bytes_sent).toBeGreaterThanOrEqual(partial.body.length);
    expect(aborted.bytes_sent).toBeLessThan(content.length);
    expect((await recipients(t.transfer.id))[0]).toMatchObject({ download_count: 0, first_download_at: null });
    expect((await eventsOf(t.transfer.id)).filter((e) => e.type.endsWith('downloaded'))).toEqual([]);

    // The same link, fetched to the end over real HTTP, is a completed download.
    const whole = await download(url);
    expect(sha256(whole.body)).toBe(sha256(content));
    const done = await settledFileReceipt(t.transfer.id);
    expect(done.id).not.toBe(aborted.id);
    expect(done).toMatchObject({ completed: true, bytes_sent: content.length });
    expect((await recipients(t.transfer.id))[0]).toMatchObject({ download_count: 1, status: 'downloaded' });
    // Every event is dispatched by its job (no subscriber yet; nothing fails).
    await h.app.services.receipts.idle();
    await h.jobs.drain();
    const states = await h.database.db.selectFrom('jobs').select(['kind', 'state', 'last_error', 'run_at', 'attempts', 'payload']).where('kind', '=', 'event.dispatch').execute();
    // (A test above moved the clock two hours ahead and back: what it wrote then is not due yet.)
    expect(states.filter((s) => s.state !== 'done' && s.run_at <= h.clock.now().toISOString())).toEqual([]);
  });
});
