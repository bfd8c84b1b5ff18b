import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { bytes, expectData, expectError, multipart, putContent, type Injected } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { b64, idOf, metadata, OCTET, UPLOADS, V } from '../support/tus-http.ts';

/**
 * File requests: people without an account upload into transfers owned by the requester, through
 * the ordinary upload routes with an upload token, within caps held across every uploader.
 */

const REQUESTER_SCOPES = [...ALL_USER_SCOPES, 'requests:read', 'requests:write'];
const PART = 64 * 1024;

let h: Harness;
let key: string;
let otherKey: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '100000', FERRY_PART_SIZE: String(PART), FERRY_STORAGE: 'local' });
  ({ key } = await createAccount(h.app, 'requester@example.com', REQUESTER_SCOPES));
  ({ key: otherKey } = await createAccount(h.app, 'someone-else@example.com', REQUESTER_SCOPES));
});
afterAll(() => h.close());

interface Made {
  id: string;
  token: string;
  view: any;
}

async function makeRequest(body: Record<string, unknown>, as = key): Promise<Made> {
  const view = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/file-requests', headers: bearer(as), payload: body }), 201);
  expect(view.url).toMatch(/\/r\/[0-9A-Za-z]{32}$/);
  return { id: view.id, token: view.url.slice(view.url.lastIndexOf('/') + 1), view };
}

/** POST /api/v1/file-requests/{token}/transfers without credentials, as it is. */
const openUpload = (token: string, body: Record<string, unknown> = {}) =>
  h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${token}/transfers`, payload: body });

async function uploader(token: string, body: Record<string, unknown> = {}): Promise<{ transferId: string; uploadToken: string }> {
  const data = expectData(await openUpload(token, body), 201);
  expect(data.upload_token).toMatch(/^fyu_[0-9A-Za-z]{40}$/);
  return { transferId: data.transfer_id, uploadToken: data.upload_token };
}

const declare = (u: { transferId: string; uploadToken: string }, file: Record<string, unknown>) =>
  h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/files`, headers: bearer(u.uploadToken), payload: file });

/** Declares and PUTs one file with the upload token; answers the complete file's view. */
async function sendFile(u: { transferId: string; uploadToken: string }, name: string, content: Buffer, contentType?: string) {
  const file = expectData(await declare(u, { name, size: content.length, ...(contentType ? { content_type: contentType } : {}) }), 201);
  const done = expectData(await putContent(h.app, u.uploadToken, u.transferId, file.id, content));
  expect(done).toMatchObject({ state: 'complete', sha256: sha256(content) });
  return done;
}

const finalize = (transferId: string, credential: string) => h.app.inject({ method: 'POST', url: `/api/v1/transfers/${transferId}/finalize`, headers: bearer(credential) });
const getRequest = (id: string, as = key) => h.app.inject({ method: 'GET', url: `/api/v1/file-requests/${id}`, headers: bearer(as) });
const ownerGet = (url: string, as = key) => h.app.inject({ method: 'GET', url, headers: bearer(as) });
const statusesOf = (answers: Injected[]) => answers.map((r) => r.statusCode).sort();

describe('a file request end to end', () => {
  it('two uploaders without accounts send files within caps held across both; the requester downloads them byte for byte', async () => {
    const req = await makeRequest({
      title: 'Tax documents 2025',
      message: 'Your payslips, please.',
      max_files: 3,
      max_bytes: 1000,
      max_file_size: 600,
      allowed_types: ['.TXT', 'image/*'],
      require_name: true,
    });
    expect(req.view).toMatchObject({ state: 'open', max_files: 3, max_bytes: 1000, max_file_size: 600, allowed_types: ['.txt', 'image/*'], require_name: true, require_email: false, notify: true, received: { transfers: 0, files: 0, bytes: 0 } });
    // The link is shown once: only its hash is stored.
    expect(expectData(await getRequest(req.id)).url).toBeNull();

    const a = await uploader(req.token, { name: 'Alice', email: 'Alice@Example.com', message: 'Here you go' });
    const aContent = bytes(300);
    await sendFile(a, 'payslip.txt', aContent);
    const aFinal = expectData(await finalize(a.transferId, a.uploadToken));
    // The uploader's answer names no link or download URL of the requester's transfer.
    expect(aFinal).toMatchObject({ id: a.transferId, state: 'ready', url: null, slug: null });
    expect(aFinal.files[0].download_url).toBeUndefined();

    const b = await uploader(req.token, { name: 'Bob' });
    const bContent = bytes(400);
    const form = multipart([{ name: 'file', filename: 'scan.png', content: bContent, contentType: 'image/png' }]);
    const bFile = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${b.transferId}/files`, headers: { ...bearer(b.uploadToken), ...form.headers }, payload: form.payload }), 201);
    expect(bFile).toMatchObject({ state: 'complete', sha256: sha256(bContent) });
    expect(bFile.download_url).toBeUndefined();

    // Caps count both uploaders: 700 of 1000 bytes are taken.
    expectError(await declare(b, { name: 'more.txt', size: 301 }), 409, 'file_request_full');
    expectError(await declare(b, { name: 'huge.txt', size: 601 }), 413, 'payload_too_large');
    expectError(await declare(b, { name: 'tool.exe', size: 10 }), 422, 'file_type_not_allowed');
    expectError(await declare(b, { name: 'notes.pdf', size: 10, content_type: 'application/pdf' }), 422, 'file_type_not_allowed');
    const cContent = bytes(300);
    await sendFile(b, 'photo', cContent, 'image/jpeg');
    // Three files: the request is full, for both uploaders and for new ones.
    expectError(await declare(b, { name: 'late.txt', size: 0 }), 409, 'file_request_full');
    expectError(await declare(a, { name: 'x.txt', size: 1 }), 409, 'transfer_finalized');
    expectError(await openUpload(req.token, { name: 'Carol' }), 409, 'file_request_full');
    expect(expectData(await finalize(b.transferId, b.uploadToken)).state).toBe('ready');

    // Nothing refused left a trace: the request holds exactly what it took.
    expect(expectData(await getRequest(req.id))).toMatchObject({ state: 'full', received: { transfers: 2, files: 3, bytes: 1000 } });

    // The requester sees ordinary transfers of their own, naming the request and the uploader.
    const listed = await ownerGet('/api/v1/transfers?limit=100');
    const mine = (listed.json().data as any[]).filter((t) => t.file_request_id === req.id);
    expect(mine.map((t) => t.id).sort()).toEqual([a.transferId, b.transferId].sort());
    const received = await ownerGet(`/api/v1/file-requests/${req.id}/transfers`);
    expect(received.json().pagination).toMatchObject({ total: 2 });
    const aView = expectData(await ownerGet(`/api/v1/transfers/${a.transferId}`));
    expect(aView).toMatchObject({ title: 'Tax documents 2025', file_request_id: req.id, uploader: { name: 'Alice', email: 'alice@example.com', message: 'Here you go' } });
    expect(aView.url).toMatch(/\/t\//);

    const downloads: [string, Buffer][] = [
      [aView.files[0].id, aContent],
      [bFile.id, bContent],
    ];
    const bView = expectData(await ownerGet(`/api/v1/transfers/${b.transferId}`));
    downloads.push([bView.files.find((f: any) => f.name === 'photo').id, cContent]);
    for (const [fileId, content] of downloads) {
      const res = await ownerGet(`/api/v1/files/${fileId}/download`);
      expect(res.statusCode).toBe(200);
      expect(sha256(res.rawPayload)).toBe(sha256(content));
    }

    // Raising a cap reopens the request.
    expect(expectData(await h.app.inject({ method: 'PATCH', url: `/api/v1/file-requests/${req.id}`, headers: bearer(key), payload: { max_files: 4, max_bytes: null } })).state).toBe('open');
    await uploader(req.token, { name: 'Carol' });
  });

  it('tus, and signed parts, upload into a request with the upload token, under the same caps', async () => {
    const req = await makeRequest({ title: 'Footage', max_file_size: 200_000 });
    const u = await uploader(req.token);
    const auth = bearer(u.uploadToken);

    // tus: transfer_id and filename in the metadata; a file past max_file_size is refused at creation.
    const tooBig = await h.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...auth, 'upload-length': '200001', 'upload-metadata': metadata({ transfer_id: u.transferId, filename: 'big.mov' }) } });
    expectError(tooBig, 413, 'payload_too_large');
    const tusContent = bytes(150_000);
    const created = await h.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...auth, 'upload-length': String(tusContent.length), 'upload-metadata': `transfer_id ${b64(u.transferId)},filename ${b64('clip.mov')}` } });
    const uploadId = idOf(created);
    const patched = await h.app.inject({ method: 'PATCH', url: `${UPLOADS}/${uploadId}`, headers: { ...V, ...auth, ...OCTET, 'upload-offset': '0' }, payload: tusContent });
    expect(patched.statusCode, patched.body).toBe(204);

    // A length declared late is held to the caps when it is declared, not after the bytes arrive.
    const deferred = idOf(await h.app.inject({ method: 'POST', url: UPLOADS, headers: { ...V, ...auth, 'upload-defer-length': '1', 'upload-metadata': metadata({ transfer_id: u.transferId, filename: 'later.mov' }) } }));
    const late = await h.app.inject({ method: 'PATCH', url: `${UPLOADS}/${deferred}`, headers: { ...V, ...auth, ...OCTET, 'upload-offset': '0', 'upload-length': '200001' }, payload: bytes(10) });
    expect(expectError(late, 413, 'payload_too_large').max_file_size).toBe(200_000);

    // Signed parts: declare, a URL per part, PUT the parts, complete.
    const partsContent = bytes(PART + 1000);
    const declared = expectData(await declare(u, { name: 'raw.mov', size: partsContent.length }), 201);
    expect(declared.multipart).toEqual({ part_numbers: 2, chunk_size: PART });
    for (const n of [1, 2]) {
      const grant = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${u.transferId}/files/${declared.id}/upload-url/${n}`, headers: auth }));
      const part = partsContent.subarray((n - 1) * PART, n * PART);
      const put = await h.app.inject({ method: 'PUT', url: pathOf(grant.url), headers: { 'content-type': 'application/octet-stream' }, payload: part });
      expect(put.statusCode, put.body).toBe(200);
    }
    const completed = await h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${u.transferId}/files/${declared.id}/upload-complete`, headers: auth });
    expect(expectData(completed)).toMatchObject({ state: 'complete', sha256: sha256(partsContent) });

    const final = expectData(await finalize(u.transferId, u.uploadToken));
    expect(final.files.map((f: any) => [f.name, f.sha256])).toEqual([
      ['clip.mov', sha256(tusContent)],
      ['raw.mov', sha256(partsContent)],
    ]);
  });
});

describe('caps hold under races', () => {
  it('two uploaders racing for the last file: exactly one gets it', async () => {
    const req = await makeRequest({ title: 'One file', max_files: 1 });
    const [a, b] = [await uploader(req.token), await uploader(req.token)];
    const answers = await Promise.all([declare(a, { name: 'a.txt', size: 10 }), declare(b, { name: 'b.txt', size: 10 })]);
    expect(statusesOf(answers)).toEqual([201, 409]);
    expectError(answers.find((r) => r.statusCode === 409)!, 409, 'file_request_full');
    expect(expectData(await getRequest(req.id)).received).toMatchObject({ files: 1, bytes: 10 });
  });

  it('many declarations racing for the last bytes, through several protocols: the total never passes max_bytes', async () => {
    const req = await makeRequest({ title: 'Bytes', max_bytes: 1000 });
    const uploaders = await Promise.all([1, 2, 3, 4].map(() => uploader(req.token)));
    const forms = uploaders.map((_, i) => multipart([{ name: 'file', filename: `m${i}.bin`, content: bytes(300) }]));
    const answers = await Promise.all(
      uploaders.flatMap((u, i) => [
        declare(u, { name: `d${i}.bin`, size: 300 }),
        h.app.inject({ method: 'POST', url: '/api/v1/upload-chunk', headers: { ...bearer(u.uploadToken), 'x-file-id': `c${i}`, 'x-file-name': `c${i}.bin`, 'x-file-size': '300', 'x-chunk-index': '0', 'x-total-chunks': '1', 'content-type': 'application/octet-stream' }, payload: bytes(300) }),
        // Without a size field the bytes come first and the file is recorded after them.
        h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/files`, headers: { ...bearer(u.uploadToken), ...forms[i]!.headers }, payload: forms[i]!.payload }),
      ]),
    );
    const accepted = answers.filter((r) => r.statusCode === 200 || r.statusCode === 201);
    expect(accepted).toHaveLength(3);
    // A declared size is refused up front (409); bytes without one are cut off where the room ends (413).
    for (const refused of answers.filter((r) => r.statusCode >= 400)) {
      expect([[409, 'file_request_full'], [413, 'payload_too_large']]).toContainEqual([refused.statusCode, refused.json().error.code]);
    }
    expect(expectData(await getRequest(req.id)).received).toMatchObject({ files: 3, bytes: 900 });
  });
});

describe('an ended request refuses uploads and keeps what it received', () => {
  it('expired: the link is 410, uploads into its transfers are 410, received files stay the requester\'s', async () => {
    const req = await makeRequest({ title: 'Soon over', expires_at: new Date(h.clock.now().getTime() + 3600_000).toISOString() });
    const u = await uploader(req.token);
    const kept = await sendFile(u, 'kept.txt', bytes(50));
    const pending = expectData(await declare(u, { name: 'pending.txt', size: 5 }), 201);
    h.clock.advance(3601_000);
    try {
      expectError(await openUpload(req.token), 410, 'file_request_expired');
      expectError(await declare(u, { name: 'late.txt', size: 5 }), 410, 'file_request_expired');
      expectError(await putContent(h.app, u.uploadToken, u.transferId, pending.id, bytes(5)), 410, 'file_request_expired');
      expectError(await h.app.inject({ method: 'GET', url: `/api/v1/public/file-requests/${req.token}` }), 410, 'file_request_expired');
      const page = await h.app.inject({ method: 'GET', url: `/r/${req.token}`, headers: { accept: 'text/html' } });
      expect(page.statusCode).toBe(410);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.body).toContain('This file request has expired');
      expect(expectData(await getRequest(req.id))).toMatchObject({ state: 'expired', received: { files: 2 } });
      const res = await ownerGet(`/api/v1/files/${kept.id}/download`);
      expect(sha256(res.rawPayload)).toBe(kept.sha256);
    } finally {
      h.clock.advance(-3601_000);
    }
  });

  it('deleted: the link is 410, its transfers take nothing more, and the requester keeps them', async () => {
    const req = await makeRequest({ title: 'To delete' });
    const u = await uploader(req.token);
    const kept = await sendFile(u, 'kept.txt', bytes(70));
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/file-requests/${req.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await openUpload(req.token), 410, 'file_request_deleted');
    expectError(await declare(u, { name: 'late.txt', size: 5 }), 410, 'file_request_deleted');
    expectError(await getRequest(req.id), 404, 'not_found');
    const page = await h.app.inject({ method: 'GET', url: `/r/${req.token}`, headers: { accept: 'text/html,*/*;q=0.8' } });
    expect([page.statusCode, page.body.includes('This file request has been deleted')]).toEqual([410, true]);
    // What came in is still the requester's: finalizing it still works, and it downloads.
    expect(expectData(await finalize(u.transferId, key)).state).toBe('ready');
    expect(sha256((await ownerGet(`/api/v1/files/${kept.id}/download`)).rawPayload)).toBe(kept.sha256);
  });
});

describe('what the link and its upload token grant', () => {
  it('the upload token reaches its own transfer\'s uploads and nothing else', async () => {
    const req = await makeRequest({ title: 'Scoped' });
    const u = await uploader(req.token);
    const other = await uploader(req.token);
    const auth = bearer(u.uploadToken);
    for (const url of ['/api/v1/transfers', `/api/v1/transfers/${u.transferId}`, `/api/v1/file-requests/${req.id}`, '/api/v1/file-requests', '/api/v1/account', '/api/v1/keys']) {
      expectError(await h.app.inject({ method: 'GET', url, headers: auth }), 401, 'invalid_token');
    }
    expectError(await h.app.inject({ method: 'PATCH', url: `/api/v1/transfers/${u.transferId}`, headers: auth, payload: { title: 'mine now' } }), 401, 'invalid_token');
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/file-requests/${req.id}`, headers: auth }), 401, 'invalid_token');
    // Another transfer of the same request (same owner) does not exist for this token.
    expectError(await declare({ transferId: other.transferId, uploadToken: u.uploadToken }, { name: 'x.txt', size: 1 }), 404, 'not_found');
    const theirs = expectData(await declare(other, { name: 'theirs.txt', size: 3 }), 201);
    expectError(await putContent(h.app, u.uploadToken, other.transferId, theirs.id, 'abc'), 404, 'not_found');
    expectError(await finalize(other.transferId, u.uploadToken), 404, 'not_found');
    const done = await sendFile(u, 'mine.txt', Buffer.from('mine'));
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${done.id}/download`, headers: auth }), 401, 'invalid_token');
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/files/${done.id}`, headers: auth }), 401, 'invalid_token');
    // The link's token is no credential for the API either.
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(req.token) }), 401, 'invalid_token');
  });

  it('another account gets 404 on every route of a request and on what it received', async () => {
    const req = await makeRequest({ title: 'Private' });
    const u = await uploader(req.token);
    const as = bearer(otherKey);
    for (const [method, url, payload] of [
      ['GET', `/api/v1/file-requests/${req.id}`],
      ['PATCH', `/api/v1/file-requests/${req.id}`, { title: 'taken' }],
      ['DELETE', `/api/v1/file-requests/${req.id}`],
      ['POST', `/api/v1/file-requests/${req.id}/link`],
      ['GET', `/api/v1/file-requests/${req.id}/transfers`],
      ['GET', `/api/v1/transfers/${u.transferId}`],
    ] as const) {
      expectError(await h.app.inject({ method, url, headers: as, ...(payload ? { payload } : {}) }), 404, 'not_found');
    }
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/file-requests', headers: as })).json().data.map((r: any) => r.id)).not.toContain(req.id);
    expect(expectData(await getRequest(req.id)).title).toBe('Private');
  });

  it('a replaced link works and the old one is gone; a key without requests scopes is refused', async () => {
    const req = await makeRequest({ title: 'Rotate me' });
    const replaced = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${req.id}/link`, headers: bearer(key) }));
    const token = replaced.url.slice(replaced.url.lastIndexOf('/') + 1);
    expect(token).not.toBe(req.token);
    expectError(await openUpload(req.token), 404, 'not_found');
    await uploader(token);

    const { key: plain } = await createAccount(h.app, 'no-requests@example.com');
    expectError(await h.app.inject({ method: 'POST', url: '/api/v1/file-requests', headers: bearer(plain), payload: { title: 'x' } }), 403, 'insufficient_scope');
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/file-requests', headers: bearer(plain) }), 403, 'insufficient_scope');
  });

  it('a password and required fields are asked before a transfer opens', async () => {
    const req = await makeRequest({ title: 'Guarded', password: 'open sesame', require_name: true, require_email: true });
    expect(req.view.password_protected).toBe(true);
    const who = { name: 'Dana', email: 'dana@example.com' };
    expectError(await openUpload(req.token, who), 401, 'password_required');
    expectError(await openUpload(req.token, { ...who, password: 'wrong' }), 401, 'invalid_password');
    expectError(await openUpload(req.token, { email: who.email, password: 'open sesame' }), 400, 'validation_failed');
    expectError(await openUpload(req.token, { name: who.name, password: 'open sesame' }), 400, 'validation_failed');
    expectError(await openUpload(req.token, { ...who, email: 'dana@example.com\r\nBcc: all@example.com', password: 'open sesame' }), 400, 'validation_failed');
    expectError(await openUpload(req.token, { ...who, name: 'Dana\nX-Injected: 1', password: 'open sesame' }), 400, 'validation_failed');
    await uploader(req.token, { ...who, password: 'open sesame' });
    expect(expectData(await getRequest(req.id)).received.transfers).toBe(1);
  });
});

describe('bad input', () => {
  const create = (payload: unknown) => h.app.inject({ method: 'POST', url: '/api/v1/file-requests', headers: bearer(key), payload: payload as object });

  it('creation and updates are validated strictly; nothing is made', async () => {
    const before = (await ownerGet('/api/v1/file-requests?limit=1')).json().pagination.total;
    for (const body of [
      {},
      { title: '' },
      { title: '   ' },
      { title: 'x', unknown: 1 },
      { title: 'x', max_files: 0 },
      { title: 'x', max_bytes: '100' },
      { title: 'x', max_file_size: 1.5 },
      { title: 'x', allowed_types: ['pdf'] },
      { title: 'x', allowed_types: ['*/*'] },
      { title: 'x', allowed_types: ['application/pdf; charset=x'] },
      { title: 'x', expires_at: '2001-01-01T00:00:00Z' },
      { title: 'x', expires_at: 'tomorrow' },
      { title: 'x', password: '' },
      { title: 'x', notify: 'yes' },
    ]) {
      expectError(await create(body), 400, 'validation_failed');
    }
    expectError(await create({ title: 'x', password: 'é'.repeat(513) }), 413, 'payload_too_large');
    expect((await ownerGet('/api/v1/file-requests?limit=1')).json().pagination.total).toBe(before);

    const req = await makeRequest({ title: 'Edit me' });
    expectError(await h.app.inject({ method: 'PATCH', url: `/api/v1/file-requests/${req.id}`, headers: bearer(key), payload: { max_files: -1 } }), 400, 'validation_failed');
    expectError(await h.app.inject({ method: 'PATCH', url: `/api/v1/file-requests/${req.id}`, headers: bearer(key), payload: { token_hash: 'x' } }), 400, 'validation_failed');
    expectError(await ownerGet('/api/v1/file-requests/frq_nope'), 404, 'not_found');
    expectError(await ownerGet(`/api/v1/file-requests/frq_${'A'.repeat(22)}`), 404, 'not_found');
    expectError(await ownerGet('/api/v1/file-requests?limit=1000'), 400, 'validation_failed');
    expect(expectData(await getRequest(req.id)).title).toBe('Edit me');
  });

  it('the public routes refuse unknown links and malformed bodies', async () => {
    const req = await makeRequest({ title: 'Public' });
    expectError(await openUpload('short'), 404, 'not_found');
    expectError(await openUpload('A'.repeat(32)), 404, 'not_found');
    expectError(await openUpload(req.token, { name: 'x', admin: true }), 400, 'validation_failed');
    expectError(await openUpload(req.token, { email: 'not-an-email' }), 400, 'validation_failed');
    expectError(await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${req.token}/transfers`, headers: { 'content-type': 'text/plain' }, payload: 'name=x' }), 415, 'unsupported_media_type');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/public/file-requests/${'B'.repeat(32)}` }), 404, 'not_found');
    const page = await h.app.inject({ method: 'GET', url: `/r/${'C'.repeat(32)}`, headers: { accept: 'text/html' } });
    expect([page.statusCode, page.headers['content-type']]).toEqual([404, expect.stringMatching(/^text\/html/)]);
    expect(expectData(await getRequest(req.id)).received.transfers).toBe(0);
  });
});

describe('the /r/{token} page', () => {
  it('says what is asked and how to upload with curl, everything escaped', async () => {
    const req = await makeRequest({
      title: '<script>alert(1)</script> Contracts',
      message: 'Sign & send <b>both</b>',
      max_files: 2,
      max_file_size: 5_000_000,
      allowed_types: ['.pdf'],
      require_email: true,
    });
    const page = await h.app.inject({ method: 'GET', url: `/r/${req.token}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.body).not.toContain('<script>');
    expect(page.body).not.toContain('<b>both</b>');
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; Contracts');
    expect(page.body).toContain('Sign &amp; send &lt;b&gt;both&lt;/b&gt;');
    expect(page.body).toContain('2 more file(s) of 2');
    expect(page.body).toContain('only .pdf');
    expect(page.body).toContain('your email address');
    expect(page.body).toContain(`/api/v1/file-requests/${req.token}/transfers`);
    expect(page.body).toContain('curl -s -T report.pdf');

    const json = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/public/file-requests/${req.token}` }));
    expect(json).toMatchObject({ title: '<script>alert(1)</script> Contracts', state: 'open', files_left: 2, bytes_left: null, require_email: true, allowed_types: ['.pdf'] });
  });

  it('the OpenAPI document describes the file request routes and schemas', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.components.schemas.FileRequest).toBeDefined();
    for (const path of ['/api/v1/file-requests', '/api/v1/file-requests/{id}', '/api/v1/file-requests/{id}/transfers', '/api/v1/file-requests/{token}/transfers', '/api/v1/file-requests/{id}/link', '/r/{token}']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(doc.paths['/api/v1/file-requests/{token}/transfers'].post.tags).toEqual(['file-requests']);
  });
});
