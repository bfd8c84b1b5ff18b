import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlobNotFoundError, InvalidBlobKeyError, StorageFullError } from '../../src/storage/blob-store.ts';
import { LocalBlobStore, resolveUnder } from '../../src/storage/local-blob-store.ts';
import { filesUnder } from '../support/e2e.ts';
import { runBlobStoreContract } from './blob-store.contract.ts';

runBlobStoreContract('LocalBlobStore', async () => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-blobs-'));
  const store = await new LocalBlobStore({ root: dir }).init();
  return { store, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
});

describe('LocalBlobStore (local-only)', () => {
  let parent: string;
  let root: string;
  let store: LocalBlobStore;

  beforeEach(async () => {
    parent = await fsp.mkdtemp(path.join(os.tmpdir(), 'ferry-local-'));
    root = path.join(parent, 'root');
    store = await new LocalBlobStore({ root }).init();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await fsp.rm(parent, { recursive: true, force: true });
  });

  it('defaults its id to "local" and creates root and .tmp idempotently', async () => {
    expect(store.id).toBe('local');
    expect(new LocalBlobStore({ root, id: 'disk-2' }).id).toBe('disk-2');
    await store.init();
    expect((await fsp.stat(path.join(root, '.tmp'))).isDirectory()).toBe(true);
  });

  // 'at once' fails before the file is even opened: the race that cleanup must wait out.
  it.each([
    ['at once', 0],
    ['after 3 MiB', 3 * 1024 * 1024],
  ])('leaves no temp file behind when the body fails %s', async (_label, bytes) => {
    async function* failing() {
      if (bytes > 0) yield Buffer.alloc(bytes, 1);
      throw new Error('client went away');
    }
    await expect(store.writeTemp(Readable.from(failing()))).rejects.toThrow('client went away');
    expect(await fsp.readdir(store.tempDir)).toEqual([]);
  });

  it('maps ENOSPC during the final fsync to StorageFullError and removes the temp file', async () => {
    const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    // Write streams call fs.fsync through the fs module object (the `flush` option).
    vi.spyOn(fs, 'fsync').mockImplementation(((_fd: number, cb: (err: Error | null) => void) => {
      cb(enospc);
    }) as typeof fs.fsync);
    const failed = store.writeTemp(Readable.from([Buffer.from('x'.repeat(1000))]));
    await expect(failed).rejects.toBeInstanceOf(StorageFullError);
    await expect(failed).rejects.toMatchObject({ cause: enospc });
    expect(fs.fsync).toHaveBeenCalled();
    expect(await fsp.readdir(store.tempDir)).toEqual([]);
  });

  it('rejects a commit of an unknown temp key with BlobNotFoundError', async () => {
    await expect(store.commit('0'.repeat(32), 'k')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.commit('a/b', 'k')).rejects.toBeInstanceOf(InvalidBlobKeyError);
  });

  it('sweeps only temp files older than the threshold', async () => {
    const stale = await store.writeTemp(Readable.from([Buffer.from('stale')]));
    const fresh = await store.writeTemp(Readable.from([Buffer.from('fresh')]));
    const leftover = path.join(store.tempDir, 'probe-crashed');
    await fsp.writeFile(leftover, '');
    const hourAgo = new Date(Date.now() - 3600_000);
    await fsp.utimes(path.join(store.tempDir, stale.tempKey), hourAgo, hourAgo);
    await fsp.utimes(leftover, hourAgo, hourAgo);
    await fsp.mkdir(path.join(store.tempDir, 'some-dir'));

    expect(await store.sweepStaleTemps(60_000)).toBe(2);
    expect((await fsp.readdir(store.tempDir)).sort()).toEqual([fresh.tempKey, 'some-dir'].sort());
    await expect(store.commit(stale.tempKey, 'stale')).rejects.toBeInstanceOf(BlobNotFoundError);
    await store.commit(fresh.tempKey, 'fresh');
    expect(await store.sweepStaleTemps(60_000)).toBe(0);
    await expect(store.sweepStaleTemps(-1)).rejects.toBeInstanceOf(RangeError);
  });

  it('refuses paths that escape the base (defence in depth behind KEY_PATTERN)', () => {
    const base = path.join(parent, 'r');
    for (const bad of ['../x', '/abs', 'a/../../b', '../r2/x', '', '.', 'a/..']) {
      expect(() => resolveUnder(base, bad), bad).toThrow(InvalidBlobKeyError);
    }
    expect(resolveUnder(base, 'a/b')).toBe(path.join(base, 'a', 'b'));
    expect(resolveUnder(base, 'a/../b')).toBe(path.join(base, 'b'));
  });

  it('lands committed files under root only, at <root>/<key>', async () => {
    const keys = ['one', 'nested/two', 'deep/er/still/three'];
    for (const key of keys) {
      const temp = await store.writeTemp(Readable.from([Buffer.from(key)]));
      await store.commit(temp.tempKey, key);
    }
    await store.check();
    expect(await filesUnder(parent)).toEqual(keys.map((k) => `root/${k}`).sort());
    for (const key of keys) {
      expect(await fsp.readFile(path.join(root, ...key.split('/')), 'utf8')).toBe(key);
    }
    await store.delete('nested/two');
    expect(await filesUnder(root)).toEqual(['deep/er/still/three', 'one']);
  });

  it('keeps serving the old bytes to a reader opened before an overwrite', async () => {
    const put = async (text: string) => {
      const temp = await store.writeTemp(Readable.from([Buffer.from(text)]));
      await store.commit(temp.tempKey, 'k');
    };
    await put('old');
    const stream = await store.read('k');
    await put('new');
    await store.delete('k');
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('old');
  });

  it('rejects a malformed range before opening the file', async () => {
    await expect(store.read('missing', { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
    await expect(store.read('missing', { start: -1, end: 4 })).rejects.toBeInstanceOf(RangeError);
  });

  it('cannot hold both `a` and `a/b` (a filesystem limit; keys are server-generated)', async () => {
    const temp = await store.writeTemp(Readable.from([Buffer.from('a')]));
    await store.commit(temp.tempKey, 'a');
    const child = await store.writeTemp(Readable.from([Buffer.from('b')]));
    await expect(store.commit(child.tempKey, 'a/b')).rejects.toThrow();
    expect(await store.stat('a/b')).toBeNull();
    await store.delete('a/b');
    await store.discardTemp(child.tempKey);
  });
});
