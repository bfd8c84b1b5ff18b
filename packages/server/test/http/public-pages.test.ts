import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { expectData, expectError, ghostId, type Injected } from '../support/http.ts';

/**
 * What a recipient's browser sees on a link: the page, its password form, and every error on the
 * way as a page when the browser asks for HTML (the JSON envelope for every other client).
 */

/** What Firefox sends when following a link. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const PASSWORD = 'open sesame';
let h: Harness;
let key: string;
let ipCounter = 0;
const nextIp = () => `198.51.100.${++ipCounter}`;

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'pages@example.com'));
});
afterAll(() => h.close());

/** Every page answer keeps Ferry's CSP and forbids framing. */
function expectPageHeaders(res: Injected): void {
  expect(res.headers['content-type']).toMatch(/^text\/html/);
  const csp = String(res.headers['content-security-policy']).split(';').map((d) => d.trim());
  expect(csp).toEqual(expect.arrayContaining(["default-src 'none'", "style-src 'unsafe-inline'", "form-action 'self'", "frame-ancestors 'none'"]));
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['content-disposition']).toBeUndefined();
}

/** An HTML error page with `status` and `heading`. */
function expectErrorPage(res: Injected, status: number, heading: string): void {
  expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
  expectPageHeaders(res);
  expect(res.body).toContain(`<h1>${heading}</h1>`);
}

function formUnlock(link: string, password: string, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url: `${link}/unlock`,
    remoteAddress: nextIp(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: `password=${encodeURIComponent(password)}`,
  });
}

describe('a locked password link', () => {
  let t: ReadyTransfer;
  beforeAll(async () => {
    t = await readyTransfer(h.app, key, [{ name: 'secret-plan.txt', content: 'plan' }], { password: PASSWORD, message: 'Meet at dawn' });
  });

  it('shows in JSON and on its page only what the password form needs', async () => {
    const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${t.transfer.slug}` }));
    expect(view).toEqual({ title: 'Transfer', expires_at: t.transfer.expires_at, password_protected: true, locked: true });
    const page = await h.app.inject({ method: 'GET', url: t.link, headers: BROWSER });
    expect(page.statusCode).toBe(200);
    expectPageHeaders(page);
    expect(page.body).toContain('type="password"');
    for (const secret of ['Meet at dawn', 'secret-plan.txt', 'file(s)', '/files/']) expect(page.body).not.toContain(secret);
  });

  it('shows the message and the files once unlocked with the form, on a page that may not be framed', async () => {
    const unlocked = await formUnlock(t.link, PASSWORD, BROWSER);
    expect([unlocked.statusCode, unlocked.headers.location]).toEqual([303, t.link]);
    const cookie = unlocked.cookies.find((c) => c.name === `ferry_access_${t.transfer.id}`)!;
    const headers = { ...BROWSER, cookie: `${cookie.name}=${cookie.value}` };
    const page = await h.app.inject({ method: 'GET', url: t.link, headers });
    expectPageHeaders(page);
    expect(page.body).toContain('Meet at dawn');
    expect(page.body).toContain('secret-plan.txt');
    const view = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/transfers/${t.transfer.slug}`, headers: { cookie: headers.cookie } }));
    expect(view).toMatchObject({ locked: false, message: 'Meet at dawn', file_count: 1, files: [{ name: 'secret-plan.txt' }] });
  });

  it('answers a wrong password on the form with a page leading back to it, and JSON to other clients', async () => {
    const page = await formUnlock(t.link, 'nope', BROWSER);
    expectErrorPage(page, 401, 'Wrong password');
    expect(page.body).toContain(`<a href="${t.link}">Enter the password</a>`);
    expectError(await formUnlock(t.link, 'nope'), 401, 'invalid_password');
    expectError(await formUnlock(t.link, 'nope', { accept: 'application/json' }), 401, 'invalid_password');
    expectError(await formUnlock(t.link, 'nope', { accept: '*/*' }), 401, 'invalid_password');
  });

  it('answers a file or ZIP link opened before unlocking with a page leading to the form', async () => {
    for (const url of [`${t.link}/files/${t.transfer.files[0].id}`, `${t.link}/download.zip`]) {
      const page = await h.app.inject({ method: 'GET', url, headers: BROWSER });
      expectErrorPage(page, 401, 'Password required');
      expect(page.body).toContain(`<a href="${t.link}">Enter the password</a>`);
      expectError(await h.app.inject({ method: 'GET', url }), 401, 'password_required');
    }
  });
});

describe('a link handed out before finalize', () => {
  it('says the transfer is still being uploaded (page or transfer_not_ready), then serves it once finalized', async () => {
    const t = await readyTransfer(h.app, key, [{ name: 'early.txt', content: 'early bird' }], {}, { finalize: false });
    expect(t.transfer.state).toBe('uploading');
    const fileLink = `${t.link}/files/${t.transfer.files[0].id}`;
    const page = await h.app.inject({ method: 'GET', url: t.link, headers: BROWSER });
    expectErrorPage(page, 409, 'Still being uploaded');
    expect(page.body).toContain('still being uploaded');
    expect(page.body).not.toContain('early.txt');
    expectErrorPage(await h.app.inject({ method: 'GET', url: fileLink, headers: BROWSER }), 409, 'Still being uploaded');
    for (const url of [t.link, fileLink, `${t.link}/download.zip`, `/api/v1/public/transfers/${t.transfer.slug}`]) {
      expectError(await h.app.inject({ method: 'GET', url }), 409, 'transfer_not_ready');
    }
    // A signed URL of the unfinalized transfer says the same, not that a download limit was hit.
    expectError(await h.app.inject({ method: 'GET', url: pathOf(t.transfer.files[0].download_url) }), 409, 'transfer_not_ready');

    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.transfer.id}/finalize`, headers: bearer(key) }));
    expect((await h.app.inject({ method: 'GET', url: t.link, headers: BROWSER })).body).toContain('early.txt');
    expect((await h.app.inject({ method: 'GET', url: pathOf(t.transfer.files[0].download_url) })).body).toBe('early bird');
  });
});

describe('errors a recipient can reach', () => {
  it('are pages for a browser and the JSON envelope for everyone else, with the same status', async () => {
    const limited = await readyTransfer(h.app, key, [{ name: 'once.txt', content: 'once' }], { max_downloads: 1 });
    expect((await h.app.inject({ method: 'GET', url: `${limited.link}/download.zip` })).statusCode).toBe(200);
    const expired = await readyTransfer(h.app, key, [{ name: 'old.txt', content: 'old' }]);
    await h.database.db.updateTable('transfers').set({ expires_at: new Date(Date.now() - 60_000).toISOString() }).where('id', '=', expired.transfer.id).execute();
    const deleted = await readyTransfer(h.app, key, [{ name: 'gone.txt', content: 'gone' }]);
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/transfers/${deleted.transfer.id}`, headers: bearer(key) })).statusCode).toBe(204);
    const signed = new URL(limited.files['once.txt'].download_url);
    signed.searchParams.set('signature', 'A'.repeat(43));

    const cases = [
      { url: limited.link.replace(/.$/, (c) => (c.toLowerCase() === 'x' ? 'y' : 'x')), status: 404, code: 'not_found', heading: 'Not found' },
      { url: `${limited.link}/files/${ghostId('fl')}`, status: 404, code: 'not_found', heading: 'Not found' },
      { url: '/t/no', status: 404, code: 'not_found', heading: 'Not found' },
      { url: `${limited.link}/files/${limited.transfer.files[0].id}`, status: 410, code: 'download_limit_reached', heading: 'Download limit reached' },
      { url: pathOf(limited.files['once.txt'].download_url), status: 410, code: 'download_limit_reached', heading: 'Download limit reached' },
      { url: expired.link, status: 410, code: 'transfer_expired', heading: 'This transfer has expired' },
      { url: `${expired.link}/download.zip`, status: 410, code: 'transfer_expired', heading: 'This transfer has expired' },
      { url: deleted.link, status: 410, code: 'transfer_deleted', heading: 'This transfer has been deleted' },
      { url: `${deleted.link}/files/${deleted.transfer.files[0].id}`, status: 410, code: 'transfer_deleted', heading: 'This transfer has been deleted' },
      { url: signed.pathname + signed.search, status: 403, code: 'invalid_signature', heading: 'This link is invalid or has expired' },
    ];
    for (const c of cases) {
      const page = await h.app.inject({ method: 'GET', url: c.url, headers: BROWSER });
      expect({ url: c.url, status: page.statusCode }).toEqual({ url: c.url, status: c.status });
      expectErrorPage(page, c.status, c.heading);
      for (const accept of [undefined, '*/*', 'application/json', 'text/html;q=0.5, application/json']) {
        const res = await h.app.inject({ method: 'GET', url: c.url, headers: accept ? { accept } : {} });
        expectError(res, c.status, c.code);
        // Page or envelope depends on Accept: no shared cache may keep either for another client.
        expect(res.headers).toMatchObject({ vary: 'Accept', 'cache-control': 'no-store' });
      }
      expect(page.headers).toMatchObject({ vary: 'Accept', 'cache-control': 'no-store' });
    }
  });

  it('escape what they echo', async () => {
    const page = await h.app.inject({ method: 'GET', url: `/t/${encodeURIComponent('<b>x')}`, headers: BROWSER });
    expect(page.statusCode).toBe(404);
    expect(page.body).not.toContain('<b>');
  });
});
