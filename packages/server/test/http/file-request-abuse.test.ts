import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { bytes, expectData, expectError, putContent } from '../support/http.ts';
import { OCTET, UPLOADS, V } from '../support/tus-http.ts';
import { OPEN_LIMITS } from '../../src/services/file-request-service.ts';

/**
 * What a stranger holding a file request link must not be able to do to the requester: store
 * bytes past the request's caps or after it ended (tus parts), spend the requester's rate limit,
 * monthly quota or upload slots, flood them with transfers and notices, or use up the daily email
 * budget their recipients' emails need.
 */
const REQUESTER_SCOPES = [...ALL_USER_SCOPES, 'requests:read', 'requests:write'];
let h: Harness;
let key: string;

beforeAll(async () => {
  h = await startHarness({ FERRY_RATE_LIMIT_PER_MINUTE: '40', FERRY_STORAGE: 'local', FERRY_MAX_EMAILS_PER_DAY: '2' });
  ({ key } = await createAccount(h.app, 'requester@example.com', REQUESTER_SCOPES));
});
afterAll(() => h.close());

let ip = 0;
const nextIp = () => `198.51.100.${++ip}`;

async function makeRequest(body: Record<string, unknown>) {
  const view = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/file-requests', headers: bearer(key), payload: body }), 201);
  return { id: view.id as string, token: view.url.slice(view.url.lastIndexOf('/') + 1) as string };
}

async function openUpload(token: string, remoteAddress = nextIp()) {
  const opened = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${token}/transfers`, payload: {}, remoteAddress }), 201);
  return { transferId: opened.transfer_id as string, token: opened.upload_token as string };
}

const partial = (uploadToken: string, length: number | null, body: Buffer) =>
  h.app.inject({
    method: 'POST',
    url: UPLOADS,
    headers: { ...V, ...OCTET, 'upload-concat': 'partial', ...(length === null ? { 'upload-defer-length': '1' } : { 'upload-length': String(length) }), 'x-token': uploadToken },
    payload: body,
  });

describe('a file request link holder', () => {
  it('cannot store tus parts past the request caps, after it was deleted, or into a finalized transfer', async () => {
    const req = await makeRequest({ title: 'Caps', max_bytes: 100, max_file_size: 60, max_files: 2 });
    const u = await openUpload(req.token);
    expectError(await partial(u.token, 5000, bytes(5000)), 413, 'payload_too_large');
    expectError(await partial(u.token, null, bytes(10)), 400, 'validation_failed');
    expect((await partial(u.token, 50, bytes(50))).statusCode).toBe(201);

    const done = await openUpload(req.token);
    const file = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${done.transferId}/files`, headers: bearer(done.token), payload: { name: 'a.txt', size: 5 } }), 201);
    expectData(await putContent(h.app, done.token, done.transferId, file.id, bytes(5)));
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${done.transferId}/finalize`, headers: bearer(done.token) }));
    expectError(await partial(done.token, 5, bytes(5)), 409, 'transfer_finalized');

    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/file-requests/${req.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await partial(u.token, 5, bytes(5)), 410, 'file_request_deleted');
  });

  it('spends the rate limit of its own transfer, never the requester\'s', async () => {
    const req = await makeRequest({ title: 'Limits' });
    const u = await openUpload(req.token);
    for (let i = 0; i < 45; i += 1) await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/finalize`, headers: { 'x-token': u.token } });
    const flooded = await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/finalize`, headers: { 'x-token': u.token } });
    expectError(flooded, 429, 'rate_limited');
    const mine = await h.app.inject({ method: 'GET', url: '/api/v1/transfers', headers: bearer(key) });
    expect(mine.statusCode).toBe(200);
    expect(Number(mine.headers['x-ratelimit-remaining'])).toBeGreaterThan(30);
  });

  it('opens a bounded number of transfers per address, and its notices leave the recipients\' email budget alone', async () => {
    const req = await makeRequest({ title: 'Flood', notify: true });
    const address = nextIp();
    for (let i = 0; i < OPEN_LIMITS.perIpPerHour; i += 1) {
      const u = await openUpload(req.token, address);
      if (i < 3) {
        const file = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/files`, headers: bearer(u.token), payload: { name: `f${i}.txt`, size: 1 } }), 201);
        expectData(await putContent(h.app, u.token, u.transferId, file.id, bytes(1)));
        expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${u.transferId}/finalize`, headers: bearer(u.token) }));
      }
    }
    const refused = await h.app.inject({ method: 'POST', url: `/api/v1/file-requests/${req.token}/transfers`, payload: {}, remoteAddress: address });
    expectError(refused, 429, 'rate_limited');
    expect(refused.headers['retry-after']).toBeDefined();
    await h.jobs.drain();
    // Three uploaders finished within the hour: one notice.
    const notices = await h.database.db.selectFrom('jobs').select(['state', 'payload']).where('kind', '=', 'email.file_request_received').execute();
    expect(notices.filter((n) => JSON.parse(n.payload).fileRequestId === req.id).map((n) => n.state)).toEqual(['done']);

    // The owner's notices did not count: both emails of today's budget (2) still go to recipients.
    const t = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(key), payload: { title: 'For two', recipients: ['a@example.com', 'b@example.com'], files: [{ name: 'x.bin', size: 3 }] } }), 201);
    expectData(await putContent(h.app, key, t.id, t.files[0].id, bytes(3)));
    expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/finalize`, headers: bearer(key) }));
    await h.jobs.drain();
    const rows = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}/recipients`, headers: bearer(key) }));
    expect(rows.map((r: any) => r.status)).toEqual(['sent', 'sent']);
  });
});

describe('the shared link', () => {
  it('leaves no receipt for a page visit (anyone can repeat those); downloads through it do', async () => {
    const t = expectData(await h.app.inject({ method: 'POST', url: '/api/v1/transfers', headers: bearer(key), payload: { title: 'Shared', files: [{ name: 's.txt', size: 2 }] } }), 201);
    expectData(await putContent(h.app, key, t.id, t.files[0].id, 'hi'));
    const ready = expectData(await h.app.inject({ method: 'POST', url: `/api/v1/transfers/${t.id}/finalize`, headers: bearer(key) }));
    const link = new URL(ready.url).pathname;
    for (let i = 0; i < 5; i += 1) expect((await h.app.inject({ method: 'GET', url: link, headers: { accept: 'text/html' } })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: `${link}/files/${t.files[0].id}` })).body).toBe('hi');
    await h.app.services.receipts.idle();
    const receipts = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}/receipts`, headers: bearer(key) }));
    expect(receipts.map((r: any) => r.kind)).toEqual(['file']);
  });
});
