import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, startListening, type ListeningHarness } from '../support/harness.ts';
import { createKey } from '../support/accounts.ts';
import { call, expectStatus } from '../support/client.ts';
import { sha256File } from '../support/hashing.ts';
import { MiB, run, writeRandomFile } from '../support/e2e.ts';

/**
 * A file request on a real listening server, used the way its page tells someone without an
 * account to: curl opens a transfer with the link's token, declares a file and PUTs it with
 * `curl -T`, a second uploader sends a multipart form with `curl -F`, each finalizes; the
 * requester downloads both byte for byte.
 */

let s: ListeningHarness;
let key: string;

beforeAll(async () => {
  s = await startListening('requester-e2e@example.com');
  ({ key } = await createKey(s.base, s.owner, { scopes: [...ALL_USER_SCOPES, 'requests:read', 'requests:write'] }));
});
afterAll(() => s.close());

const curlJson = async (args: string[]) => JSON.parse(await run('curl', ['-sS', '--fail-with-body', ...args]));

describe('a file request with real curl', () => {
  it('two uploaders without accounts follow the page; the requester gets their files byte for byte', async () => {
    const created = expectStatus('request', await call(s.base, 'POST', '/api/v1/file-requests', { key, json: { title: 'Raw footage', max_files: 2, max_file_size: 8 * MiB } }), 201);
    const link: string = created.body.data.url;
    const token = link.slice(link.lastIndexOf('/') + 1);
    const page = await run('curl', ['-sS', link]);
    const openUrl = `${s.base}/api/v1/file-requests/${token}/transfers`;
    expect(page).toContain(openUrl.replace(s.base, ''));

    const first = path.join(s.dir, 'clip one.mov');
    const second = path.join(s.dir, 'clip-two.mov');
    await writeRandomFile(first, 3 * MiB + 17);
    await writeRandomFile(second, 2 * MiB + 5);

    // Uploader 1: open, declare, curl -T, finalize.
    const one = (await curlJson(['-X', 'POST', openUrl, '-H', 'Content-Type: application/json', '-d', '{"name":"Ana"}'])).data;
    const auth = ['-H', `Authorization: Bearer ${one.upload_token}`];
    const { size } = await fs.stat(first);
    const declared = (await curlJson(['-X', 'POST', one.upload.files_url, ...auth, '-H', 'Content-Type: application/json', '-d', JSON.stringify({ name: 'clip one.mov', size })])).data;
    const put = (await curlJson(['-T', first, declared.upload.url, ...auth])).data;
    expect(put.sha256).toBe(await sha256File(first));
    expect((await curlJson(['-X', 'POST', one.upload.finalize_url, ...auth])).data.state).toBe('ready');

    // Uploader 2: open, multipart in one request, finalize.
    const two = (await curlJson(['-X', 'POST', openUrl, '-H', 'Content-Type: application/json', '-d', '{}'])).data;
    const auth2 = ['-H', `Authorization: Bearer ${two.upload_token}`];
    const sent = (await curlJson(['-F', `file=@${second}`, two.upload.files_url, ...auth2])).data;
    expect(sent).toMatchObject({ name: 'clip-two.mov', state: 'complete', sha256: await sha256File(second) });
    expect((await curlJson(['-X', 'POST', two.upload.finalize_url, ...auth2])).data.state).toBe('ready');

    // Full now: a third uploader is refused with the request's code.
    const third = await call(s.base, 'POST', `/api/v1/file-requests/${token}/transfers`, { json: {} });
    expect([third.status, third.body.error.code]).toEqual([409, 'file_request_full']);

    // The requester's own downloads, streamed and hashed.
    const received = expectStatus('received', await call(s.base, 'GET', `/api/v1/file-requests/${created.body.data.id}/transfers`, { key }), 200).body;
    expect(received.pagination.total).toBe(2);
    for (const [transferId, file] of [[one.transfer_id, first], [two.transfer_id, second]] as const) {
      const transfer = expectStatus('transfer', await call(s.base, 'GET', `/api/v1/transfers/${transferId}`, { key }), 200).body.data;
      const got = await s.download(transfer.files[0].id);
      expect([got.status, got.sha256]).toEqual([200, await sha256File(file)]);
    }
  });
});
