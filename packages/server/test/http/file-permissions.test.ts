import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSecret } from '../../src/runtime.ts';
import { loadConfig } from '../../src/config.ts';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { metadata, UPLOADS, V } from '../support/tus-http.ts';
import { createTransfer, readyTransfer } from '../support/transfers.ts';

/** Everything under `dir` with its permission bits. */
async function modes(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const relative = path.relative(dir, full);
    found[relative] = ((await fs.stat(full)).mode & 0o777).toString(8);
  }
  return found;
}

describe('files Ferry creates on disk', () => {
  let root: string;
  let dataDir: string;
  let h: Harness;
  let previousUmask: number;
  beforeAll(async () => {
    // A umask that takes nothing away: the modes must come from Ferry, not from the umask.
    previousUmask = process.umask(0);
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-modes-'));
    dataDir = path.join(root, 'srv', 'data');
    h = await startHarness({ FERRY_DATA_DIR: dataDir, FERRY_DATABASE_URL: '', FERRY_STORAGE: 'local' });
    const { key } = await createAccount(h.app, 'modes@example.com');
    await readyTransfer(h.app, key, [{ name: 'a.txt', content: 'private bytes' }]);
    // An unfinished tus upload: its bytes sit in the tus library's working folder.
    const open = await createTransfer(h.app, key, { title: 'open' });
    const tus = await h.app.inject({
      method: 'POST',
      url: UPLOADS,
      headers: { ...bearer(key), ...V, 'upload-length': '100', 'upload-metadata': metadata({ transfer_id: open.id, filename: 'b.bin' }) },
    });
    expect(tus.statusCode, tus.body).toBe(201);
    expect((await h.app.inject({ method: 'PATCH', url: new URL(tus.headers.location as string).pathname, headers: { ...bearer(key), ...V, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, payload: Buffer.alloc(10) })).statusCode).toBe(204);
  });
  afterAll(async () => {
    await h?.close();
    process.umask(previousUmask);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('are readable by the account Ferry runs as only: folders 0700, database (with -wal and -shm) and blobs 0600', async () => {
    const found = await modes(dataDir);
    expect(found).toMatchObject({ 'ferry.db': '600', 'ferry.db-wal': '600', 'ferry.db-shm': '600', blobs: '700', 'blobs/.tmp': '700', 'blobs/.tus': '700' });
    expect(Object.keys(found).filter((name) => name.startsWith('blobs/.tus/'))).not.toHaveLength(0);
    const blobs = Object.entries(found).filter(([name]) => name.startsWith('blobs/') && name !== 'blobs/.tmp');
    expect(blobs.length).toBeGreaterThan(0);
    for (const [name, mode] of Object.entries(found)) {
      const isDir = (await fs.stat(path.join(dataDir, name))).isDirectory();
      expect(mode, name).toBe(isDir ? '700' : '600');
    }
    expect(((await fs.stat(dataDir)).mode & 0o777).toString(8)).toBe('700');
    expect(((await fs.stat(path.dirname(dataDir))).mode & 0o777).toString(8)).toBe('700');
  });

  it('the generated secret is 0600 in a folder of its own account', async () => {
    const fresh = path.join(root, 'secret-only', 'data');
    loadOrCreateSecret(loadConfig({ FERRY_DATA_DIR: fresh }));
    expect(((await fs.stat(path.join(fresh, 'secret'))).mode & 0o777).toString(8)).toBe('600');
    expect(((await fs.stat(fresh)).mode & 0o777).toString(8)).toBe('700');
  });
});
