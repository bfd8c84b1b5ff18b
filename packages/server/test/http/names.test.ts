import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';
import { expectData, expectError, multipart, postTransfer, putContent, type Part } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { metadata, UPLOADS, V } from '../support/tus-http.ts';

/** docs/security-checklist.md section A: file names and metadata, through every native way a name arrives. */

let h: Harness;
let key: string;
let cookie: string;
let csrf: string;

beforeAll(async () => {
  h = await startHarness();
  ({ key, cookie, csrf } = await createAccount(h.app, 'names@example.com'));
});
afterAll(() => h.close());

const openTransfer = async () => (await createTransfer(h.app, key, { title: 'names' })).id as string;

/** Offers `name` at JSON create, JSON declare and multipart upload; answers the three responses. */
async function offerEverywhere(name: string, multipartFile?: Part) {
  const created = await postTransfer(h.app, key, { title: 'n', files: [{ name, size: 1 }] });
  const transferId = await openTransfer();
  const declared = await h.app.inject({
    method: 'POST',
    url: `/api/v1/transfers/${transferId}/files`,
    headers: bearer(key),
    payload: { name, size: 1 },
  });
  const form = multipart([multipartFile ?? { name: 'file', filename: name, content: 'x' }]);
  const uploaded = await h.app.inject({
    method: 'POST',
    url: `/api/v1/transfers/${transferId}/files`,
    headers: { ...bearer(key), ...form.headers },
    payload: form.payload,
  });
  return { created, declared, uploaded, transferId };
}

async function expectRefusedEverywhere(name: string, multipartFile?: Part, multipartCode = 'invalid_file_name') {
  const { created, declared, uploaded, transferId } = await offerEverywhere(name, multipartFile);
  for (const res of [created, declared]) {
    const body = expectError(res, 400, 'invalid_file_name');
    expect(body.error.message).toMatch(/name/);
  }
  expectError(uploaded, 400, multipartCode);
  const files = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }));
  expect(files).toEqual([]);
}

/** RFC 5987 `filename*` carries characters a raw header line cannot (CR, LF, NUL). */
const encodedFilename = (name: string): Part => ({
  name: 'file',
  filename: '',
  content: 'x',
  disposition: `form-data; name="file"; filename*=UTF-8''${encodeURIComponent(name)}`,
});

describe('A. file names and metadata', () => {
  it.each(['../../etc/passwd', 'dir/file.txt', '../'])('A1: path name %j is refused with 400 (JSON create, declare, multipart)', async (name) => {
    await expectRefusedEverywhere(name);
  });

  it.each(['..\\..\\windows\\win.ini', 'a\\..\\b'])('A2: backslash name %j is refused with 400', async (name) => {
    await expectRefusedEverywhere(name);
  });

  it.each(['/etc/passwd', 'C:\\x', '\\\\server\\share', 'C:x.txt'])('A3: absolute name %j is refused with 400', async (name) => {
    await expectRefusedEverywhere(name);
  });

  it('A4: NUL byte in a file name is refused with 400', async () => {
    await expectRefusedEverywhere('a.txt\u0000.exe', encodedFilename('a.txt\u0000.exe'));
  });

  it('A5: CR/LF in a file name is refused with 400', async () => {
    // busboy drops a part whose name holds a line break, so multipart answers "no file part".
    await expectRefusedEverywhere('a\r\nSet-Cookie: x=1', encodedFilename('a\r\nSet-Cookie: x=1'), 'missing_file');
  });

  it.each(['invoice\u202Egpj.exe', 'a\u2066b.txt', 'a\u2069b.txt', 'a\u200Bb.txt', 'a\u200Db.txt', '\uFEFFa.txt'])(
    'A6: bidi or zero-width character in %j is refused with 400',
    async (name) => {
      await expectRefusedEverywhere(name, encodedFilename(name));
    },
  );

  it('A7: emoji and non-Latin-1 names are accepted (201) and downloaded with filename*', async () => {
    const { files } = await readyTransfer(h.app, key, [
      { name: '😀.txt', content: 'smile' },
      { name: 'résumé.pdf', content: 'cv' },
    ]);
    expect(Object.values(files).map((f) => f.name)).toEqual(['😀.txt', 'résumé.pdf']);
    const smile = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['😀.txt'].id}/download`, headers: bearer(key) });
    expect(smile.statusCode).toBe(200);
    expect(sha256(smile.rawPayload)).toBe(sha256('smile'));
    expect(smile.headers['content-disposition']).toContain("filename*=UTF-8''%F0%9F%98%80.txt");
    expect(smile.headers['content-disposition']).toMatch(/^attachment; filename="[ -~]*"/);
    const cv = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files['résumé.pdf'].id}/download`, headers: bearer(key) });
    expect(cv.headers['content-disposition']).toContain("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");

    // The same names arrive intact through multipart (raw UTF-8 and RFC 5987).
    const transferId = await openTransfer();
    for (const part of [
      { name: 'file', filename: '日本語.txt', content: 'jp' },
      { ...encodedFilename('👩\u200D💻 notes.txt'), content: 'dev' },
    ]) {
      const form = multipart([part]);
      const res = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), ...form.headers }, payload: form.payload });
      expect(expectData(res, 201).sha256).toBe(sha256(part.content));
    }
    const listed = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }));
    expect(listed.map((f: { name: string }) => f.name)).toEqual(['日本語.txt', '👩\u200D💻 notes.txt']);
  });

  it.each(['', ' ', '.', '..', '   \u00A0 '])('A8: empty or dot name %j is refused with 400', async (name) => {
    const created = await postTransfer(h.app, key, { title: 'n', files: [{ name, size: 1 }] });
    // The schema refuses "" itself (minLength), the service everything else: both are 400.
    expect(created.statusCode).toBe(400);
    expect(['validation_failed', 'invalid_file_name']).toContain(created.json().error.code);
    const declared = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${await openTransfer()}/files`, headers: bearer(key), payload: { name, size: 1 } });
    expect(declared.statusCode).toBe(400);
  });

  it.each(['\uFF0E\uFF0E', '%2e%2e', '%252e%252e', '\u2025', '\u3164', '\u2800', '%2e%2e%2fetc%2fpasswd'])(
    'A8: a name of fullwidth or encoded dots, or of invisible characters (%j), is refused as the plain one is',
    async (name) => {
      await expectRefusedEverywhere(name, encodedFilename(name));
    },
  );

  it('A8: a folder of fullwidth or encoded dots in a tus relativePath is refused', async () => {
    const transferId = await openTransfer();
    for (const relativePath of ['\uFF0E\uFF0E/x.txt', '%2e%2e/x.txt', 'a/\u3164/x.txt']) {
      const res = await h.app.inject({
        method: 'POST',
        url: UPLOADS,
        headers: { ...bearer(key), ...V, 'upload-length': '1', 'upload-metadata': metadata({ transfer_id: transferId, filename: 'x.txt', relativePath }) },
      });
      expect(res.statusCode, relativePath).toBe(400);
    }
    expect(expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }))).toEqual([]);
  });

  it('A9: a name over 255 UTF-8 bytes (100 emoji) is refused with 400; 255 bytes is accepted', async () => {
    await expectRefusedEverywhere('😀'.repeat(100), encodedFilename('😀'.repeat(100)));
    const fits = `${'😀'.repeat(63)}abc`;
    expect((await createTransfer(h.app, key, { title: 'n', files: [{ name: fits, size: 1 }] })).files[0].name).toBe(fits);
  });

  it('A10: Windows-reserved names and trailing dots are stored as given (201)', async () => {
    const names = ['CON', 'nul.txt', 'COM1', 'name.'];
    const created = await createTransfer(h.app, key, { title: 'win', files: names.map((name) => ({ name, size: 1 })) });
    expect(created.files.map((f: { name: string }) => f.name)).toEqual(names);
  });

  it('A11: duplicate names (also NFC vs NFD) are refused with 400; case differences are allowed', async () => {
    const dup = await postTransfer(h.app, key, { title: 'd', files: [{ name: 'a.txt', size: 1 }, { name: 'a.txt', size: 1 }] });
    expectError(dup, 400, 'duplicate_file_name');
    const nfd = await postTransfer(h.app, key, { title: 'd', files: [{ name: 'caf\u00E9.txt', size: 1 }, { name: 'cafe\u0301.txt', size: 1 }] });
    expectError(nfd, 400, 'duplicate_file_name');

    const transferId = (await createTransfer(h.app, key, { title: 'd', files: [{ name: 'caf\u00E9.txt', size: 1 }] })).id;
    const later = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key), payload: { name: 'cafe\u0301.txt', size: 1 } });
    expectError(later, 400, 'duplicate_file_name');
    const form = multipart([{ name: 'file', filename: 'caf\u00E9.txt', content: 'x' }]);
    const viaForm = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: { ...bearer(key), ...form.headers }, payload: form.payload });
    expectError(viaForm, 400, 'duplicate_file_name');

    const cased = await postTransfer(h.app, key, { title: 'c', files: [{ name: 'A.txt', size: 1 }, { name: 'a.txt', size: 1 }] });
    expect(cased.statusCode).toBe(201);
  });

  it('A12: markup in a name, message and key label is stored as data and escaped in HTML', async () => {
    const xss = '<img src=x onerror=alert(1)>.png';
    const { transfer, link } = await readyTransfer(h.app, key, [{ name: xss, content: 'png' }], { title: xss, message: `hi ${xss}` });
    expect(transfer.files[0].name).toBe(xss);
    expect(transfer.message).toBe(`hi ${xss}`);
    const page = await h.app.inject({ method: 'GET', url: link });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).not.toContain('<img');
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;.png');

    const label = await h.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { cookie, 'x-csrf-token': csrf }, payload: { name: xss, scopes: ['files:read'] } });
    expect(expectData(label, 201).name).toBe(xss);
  });

  it('A13: template syntax in a name and message is kept literally (201)', async () => {
    const { transfer, link } = await readyTransfer(h.app, key, [{ name: '{{7*7}}', content: 'a' }, { name: '${7*7}', content: 'b' }], { message: '<%= 7*7 %> {{7*7}}' });
    expect(transfer.files.map((f: { name: string }) => f.name)).toEqual(['{{7*7}}', '${7*7}']);
    expect(transfer.message).toBe('<%= 7*7 %> {{7*7}}');
    const page = await h.app.inject({ method: 'GET', url: link });
    expect(page.body).toContain('<p>&lt;%= 7*7 %&gt; {{7*7}}</p>');
    expect(page.body).toContain('>{{7*7}}</a>');
    expect(page.body).toContain('>${7*7}</a>');
  });

  it('A15: a client-declared text/html or SVG type is stored (201) but never served as such', async () => {
    const { files } = await readyTransfer(h.app, key, [
      { name: 'page.png', content: '<html><script>alert(1)</script></html>', content_type: 'text/html' },
      { name: 'logo.svg', content: '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', content_type: 'image/svg+xml' },
    ]);
    expect(files['page.png'].content_type).toBe('text/html');
    for (const file of Object.values(files)) {
      const res = await h.app.inject({ method: 'GET', url: `/api/v1/files/${file.id}/download`, headers: bearer(key) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/octet-stream');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('A17: a 1 MB transfer message is refused with 400', async () => {
    const res = await postTransfer(h.app, key, { title: 'big', message: 'm'.repeat(1_000_000) });
    expectError(res, 400, 'validation_failed');
    const transferId = await openTransfer();
    const patched = await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${transferId}`, headers: bearer(key), payload: { message: 'm'.repeat(10_001) } });
    expectError(patched, 400, 'validation_failed');
  });

  it('A1: the name never reaches storage: the blob lives under a server-generated key', async () => {
    const transferId = await openTransfer();
    const declared = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key), payload: { name: 'evil..name', size: 3 } }), 201);
    expectData(await putContent(h.app, key, transferId, declared.id, 'abc'));
    const row = await h.database.db.selectFrom('files').select(['storage_key']).where('id', '=', declared.id).executeTakeFirstOrThrow();
    expect(row.storage_key).toMatch(/^files\/[a-z0-9]+$/);
    expect(JSON.stringify(declared)).not.toContain(row.storage_key);
  });
});
