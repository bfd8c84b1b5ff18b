import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { createTransfer } from '../support/transfers.ts';
import { sha256 } from '../support/hashing.ts';
import { pythonUnzipHashes, unzipHashes } from '../support/zip.ts';
import { fetchToFile } from '../support/e2e.ts';
import { UPLOADS } from '../support/tus-http.ts';
import { runTusUpload } from '../support/tus-e2e.ts';

/**
 * A transfer whose names clash as paths (a file named like a folder another file lives in, names
 * that only clash once sanitised or on a case-insensitive disk) still downloads as a ZIP that
 * unzip and Python's zipfile extract completely, on the owner's and the recipient's path.
 */
describe('ZIP of clashing names, extracted by real tools', () => {
  let server: ListeningHarness;
  let base: string;
  let dir: string;
  let owner: Account;
  let transferId = '';
  let link = '';
  const sent: { name: string; relativePath?: string; content: string }[] = [
    { name: 'docs', content: 'a file called docs' },
    { name: 'x.txt', relativePath: 'docs/x.txt', content: 'inside docs' },
    { name: 'docs.', content: 'becomes docs once sanitised' },
    { name: 'y.txt', relativePath: 'DOCS/y.txt', content: 'inside DOCS' },
    { name: 'notes.txt', content: 'lower' },
    { name: 'Notes.TXT', content: 'upper' },
  ];
  /** What each file is called in the archive, in upload order. */
  const expected = ['docs (1)', 'docs/x.txt', 'docs (2)', 'docs/y.txt', 'notes.txt', 'Notes (1).TXT'];

  beforeAll(async () => {
    server = await startListening('zipper@example.com');
    ({ base, dir, owner } = server);
    const transfer = await createTransfer(base, owner.key, { title: 'clashing names' });
    transferId = transfer.id;
    for (const file of sent) {
      const metadata: Record<string, string> = { transfer_id: transferId, filename: file.name, ...(file.relativePath ? { relativePath: file.relativePath } : {}) };
      await runTusUpload(Buffer.from(file.content), { endpoint: `${base}${UPLOADS}`, headers: { authorization: `Bearer ${owner.key}` }, metadata });
    }
    const finalized = await call(base, 'POST', `/api/v1/transfers/${transferId}/finalize`, { key: owner.key });
    expect(finalized.status).toBe(200);
    link = rebase(base, finalized.body.data.url);
  });

  afterAll(() => server?.close());

  const tree = () => Object.fromEntries(expected.map((name, i) => [name, sha256(sent[i]!.content)]));

  it.each([
    ['owner', () => `${base}/api/v1/transfers/${transferId}/download.zip`, () => ({ authorization: `Bearer ${owner.key}` })],
    ['recipient', () => `${link}/download.zip`, () => ({})],
  ])('the %s ZIP extracts completely with unzip and with Python', async (who, url, headers) => {
    const zip = path.join(dir, `${who}.zip`);
    expect((await fetchToFile(url(), zip, headers())).status).toBe(200);
    expect(await unzipHashes(zip, path.join(dir, `${who}-unzip`))).toEqual(tree());
    expect(await pythonUnzipHashes(zip, path.join(dir, `${who}-python`))).toEqual(tree());
  });
});
