import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { sha256File } from '../support/hashing.ts';
import { unzipHashes } from '../support/zip.ts';
import { curlStatus, fetchToFile, readSlice, writeRandomFile } from '../support/e2e.ts';

const LINK_PASSWORD = 'open sesame, please';
const PHOTO_SIZE = 3 * 1024 * 1024 + 4321;

describe('password-protected public link, from the HTML page to resumed downloads', () => {
  let server: ListeningHarness;
  let base: string;
  let dir: string;
  let owner: Account;
  let link = '';
  let slug = '';
  let transferId = '';
  const photo = { name: 'beach-sunset.jpg', path: '', sha: '', id: '' };
  const plan = { name: 'itinerary-private.txt', path: '', sha: '', id: '' };
  let token = '';

  beforeAll(async () => {
    server = await startListening('sharer@example.com');
    ({ base, dir, owner } = server);
    photo.path = path.join(dir, 'photo.bin');
    photo.sha = await writeRandomFile(photo.path, PHOTO_SIZE);
    plan.path = path.join(dir, 'plan.txt');
    plan.sha = await writeRandomFile(plan.path, 2048);

    const created = await createTransfer(base, owner.key, {
      title: 'Holiday <photos>',
      password: LINK_PASSWORD,
      files: [{ name: photo.name, size: PHOTO_SIZE }, { name: plan.name, size: 2048 }],
    });
    transferId = created.id;
    for (const file of created.files) {
      const local = file.name === photo.name ? photo : plan;
      local.id = file.id;
      const status = await curlStatus(['-T', local.path, '-H', `Authorization: Bearer ${owner.key}`, '-o', '/dev/null', rebase(base, file.upload.url)]);
      expect(status).toBe(200);
    }
    const finalized = await call(base, 'POST', `/api/v1/transfers/${transferId}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    expect(finalized.body.data.password_protected).toBe(true);
    slug = finalized.body.data.slug;
    link = rebase(base, finalized.body.data.url);
    expect(link).toBe(`${base}/t/${slug}`);
  });

  afterAll(() => server?.close());

  it('serves an HTML page with a password form and no file names while locked', async () => {
    const page = await call(base, 'GET', link);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain('Holiday &lt;photos&gt;');
    expect(page.body).toMatch(/<form method="post" action="\/t\/[^"]+\/unlock">/);
    expect(page.body).toContain('type="password"');
    for (const secret of [photo.name, plan.name, photo.id, plan.id, '/files/', 'download.zip']) expect(page.body).not.toContain(secret);

    const view = await call(base, 'GET', `/api/v1/public/transfers/${slug}`);
    expect(view.status).toBe(200);
    expect(view.body.data).toEqual({ title: 'Holiday <photos>', expires_at: expect.any(String), password_protected: true, locked: true });
  });

  it('refuses downloads without a valid token and a wrong password with 401', async () => {
    for (const url of [`${link}/files/${photo.id}`, `${link}/download.zip`]) {
      const bare = await call(base, 'GET', url);
      expect(bare.status).toBe(401);
      expect(bare.body.error.code).toBe('password_required');
      const forged = await call(base, 'GET', url, { headers: { 'x-ferry-access-token': `9999999999.${'A'.repeat(43)}` } });
      expect(forged.status).toBe(401);
    }
    const wrong = await call(base, 'POST', `/api/v1/public/transfers/${slug}/unlock`, { json: { password: 'not it' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_password');
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('unlocks, then downloads a file and the ZIP with the X-Ferry-Access-Token header', async () => {
    const unlocked = await call(base, 'POST', `/api/v1/public/transfers/${slug}/unlock`, { json: { password: LINK_PASSWORD } });
    expect(unlocked.status).toBe(200);
    token = unlocked.body.data.access_token;
    expect(token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const cookie = unlocked.headers.getSetCookie().find((c) => c.startsWith(`ferry_access_${transferId}=`));
    expect(cookie).toMatch(/HttpOnly/i);

    const headers = { 'x-ferry-access-token': token };
    const view = await call(base, 'GET', `/api/v1/public/transfers/${slug}`, { headers });
    expect(view.body.data.locked).toBe(false);
    expect(view.body.data.files.map((f: { name: string }) => f.name).sort()).toEqual([photo.name, plan.name].sort());
    const page = await call(base, 'GET', link, { headers });
    expect(page.body).toContain(photo.name);

    const out = path.join(dir, 'header-photo');
    const file = await fetchToFile(`${link}/files/${photo.id}`, out, headers);
    expect(file.status).toBe(200);
    expect(await sha256File(out)).toBe(photo.sha);

    const zip = path.join(dir, 'header.zip');
    expect((await fetchToFile(`${link}/download.zip`, zip, headers)).status).toBe(200);
    expect(await unzipHashes(zip, path.join(dir, 'header-unzipped'))).toEqual({ [photo.name]: photo.sha, [plan.name]: plan.sha });
  });

  it('unlocks through the page form with curl and downloads with the cookie jar', async () => {
    const jar = path.join(dir, 'cookies.txt');
    const page = path.join(dir, 'page.html');
    const form = await curlStatus(['-L', '-c', jar, '-b', jar, '--data-urlencode', `password=${LINK_PASSWORD}`, '-o', page, `${link}/unlock`]);
    expect(form).toBe(200);
    expect(await fsp.readFile(page, 'utf8')).toContain(plan.name);
    expect(await fsp.readFile(jar, 'utf8')).toContain(`ferry_access_${transferId}`);

    const out = path.join(dir, 'cookie-plan');
    expect(await curlStatus(['-b', jar, '-o', out, `${link}/files/${plan.id}`])).toBe(200);
    expect(await sha256File(out)).toBe(plan.sha);
    const zip = path.join(dir, 'cookie.zip');
    expect(await curlStatus(['-b', jar, '-o', zip, `${link}/download.zip`])).toBe(200);
    expect(await unzipHashes(zip, path.join(dir, 'cookie-unzipped'))).toEqual({ [photo.name]: photo.sha, [plan.name]: plan.sha });

    // The cookie the JSON unlock sets works for fetch too.
    const unlocked = await fetch(`${base}/api/v1/public/transfers/${slug}/unlock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: LINK_PASSWORD }),
    });
    const cookie = unlocked.headers.getSetCookie()[0]!.split(';')[0]!;
    const viaCookie = path.join(dir, 'cookie-photo');
    expect((await fetchToFile(`${link}/files/${photo.id}`, viaCookie, { cookie })).status).toBe(200);
    expect(await sha256File(viaCookie)).toBe(photo.sha);
  });

  it('resumes an interrupted public download with curl -C -', async () => {
    const out = path.join(dir, 'resumed-photo');
    const url = `${link}/files/${photo.id}`;
    // Bytes a browser got before the connection dropped, past the 1 MiB read buffer.
    await fsp.writeFile(out, await readSlice(photo.path, 0, 1024 * 1024 + 999));
    expect(await curlStatus(['-C', '-', '-H', `X-Ferry-Access-Token: ${token}`, '-o', out, url])).toBe(206);
    expect(await sha256File(out)).toBe(photo.sha);

    // A resume needs the token like any download.
    const refused = await call(base, 'GET', url, { headers: { range: 'bytes=100-' } });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('password_required');

    // And with curl's own -r for one explicit range, including the last byte.
    const tail = path.join(dir, 'tail');
    expect(await curlStatus(['-r', `${PHOTO_SIZE - 10}-${PHOTO_SIZE - 1}`, '-b', `ferry_access_${transferId}=${token}`, '-o', tail, url])).toBe(206);
    expect((await fsp.readFile(tail)).equals(await readSlice(photo.path, PHOTO_SIZE - 10, PHOTO_SIZE - 1))).toBe(true);
  });
});
