import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';
import { metadata } from '../support/tus-http.ts';

/** tus relativePath keeps a folder tree: files list their path, downloads use the name, the ZIP keeps the folders. */

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'folders@example.com'));
});
afterAll(() => h.close());

async function tusUpload(transferId: string, name: string, relativePath: string | undefined, content: Buffer) {
  const meta = metadata({ transfer_id: transferId, filename: name, ...(relativePath === undefined ? {} : { relativePath }) });
  return h.app.inject({
    method: 'POST',
    url: '/api/v1/uploads',
    headers: { ...bearer(key), 'tus-resumable': '1.0.0', 'upload-length': String(content.length), 'upload-metadata': meta, 'content-type': 'application/offset+octet-stream' },
    payload: content,
  });
}

describe('relativePath', () => {
  it('keeps the folder tree in the file list and the ZIP, and names single downloads by the file name', async () => {
    const t = await createTransfer(h.app, key, { title: 'tree' });
    const a = bytes(1000);
    const b = bytes(2000);
    const c = bytes(3000);
    expect((await tusUpload(t.id, 'a.jpg', 'photos/2024/a.jpg', a)).statusCode).toBe(201);
    expect((await tusUpload(t.id, 'a.jpg', 'photos/2025', b)).statusCode).toBe(201);
    expect((await tusUpload(t.id, 'a.jpg', undefined, c)).statusCode).toBe(201);
    const files = expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}/files`, headers: bearer(key) }));
    expect(files.map((f: { name: string; path: string }) => [f.name, f.path])).toEqual([
      ['a.jpg', 'photos/2024/a.jpg'],
      ['a.jpg', 'photos/2025/a.jpg'],
      ['a.jpg', 'a.jpg'],
    ]);
    const one = await h.app.inject({ method: 'GET', url: `/api/v1/files/${files[0].id}/download`, headers: bearer(key) });
    expect(one.headers['content-disposition']).toBe('attachment; filename=a.jpg');
    const zip = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}/download.zip`, headers: bearer(key) });
    const entries = await readZip(zip.rawPayload);
    expect(entries.map((e) => [e.name, sha256(e.content)])).toEqual([
      ['photos/2024/a.jpg', sha256(a)],
      ['photos/2025/a.jpg', sha256(b)],
      ['a.jpg', sha256(c)],
    ]);
  });

  it('refuses traversal in relativePath with 400 and creates nothing (docs/security-checklist.md A1)', async () => {
    const t = await createTransfer(h.app, key, { title: 'evil' });
    for (const relativePath of ['../../etc', '/etc', 'C:\\windows']) {
      expectError(await tusUpload(t.id, 'passwd', relativePath, bytes(10)), 400, 'invalid_file_name');
    }
    expect(expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.id}/files`, headers: bearer(key) }))).toEqual([]);
  });
});
