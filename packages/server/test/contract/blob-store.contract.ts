import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  InvalidBlobKeyError,
  type BlobStore,
  type ByteRange,
} from '../../src/storage/blob-store.ts';
import { runningSha256, sha256 } from '../support/hashing.ts';

export type MakeBlobStore = () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>;

const MiB = 1024 * 1024;

export const INVALID_KEYS: readonly string[] = [
  '../x', '/abs', 'a/../b', 'A', '.hidden', 'a//b', 'a\\b', '', 'a'.repeat(300), '%2e%2e',
  'a/', 'a/b/c/d/e', 'a\u0000b', 'caf\u00e9',
];

/** Unique per call, so the suite can share a bucket or folder with other runs. */
const uniqueKey = (prefix = 'blob') => `${prefix}-${randomBytes(6).toString('hex')}`;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * The BlobStore contract (see src/storage/blob-store.ts). Store-agnostic: it only uses the
 * interface, so it runs unchanged against every implementation.
 */
export function runBlobStoreContract(name: string, makeStore: MakeBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function put(key: string, data: Buffer): Promise<void> {
      const temp = await store.writeTemp(Readable.from([data]));
      expect(temp.size).toBe(data.length);
      await store.commit(temp.tempKey, key);
    }

    it.each([
      ['0 bytes', 0],
      ['1 byte', 1],
      ['a few MiB', 3 * MiB + 17],
    ])('round-trips %s through writeTemp, commit and read', async (_label, size) => {
      const data = randomBytes(size);
      const key = uniqueKey();
      await put(key, data);
      expect(await store.stat(key)).toEqual({ size });
      expect(sha256(await readAll(await store.read(key)))).toBe(sha256(data));
    });

    it('streams a slow async generator body to the end', async () => {
      const hash = runningSha256();
      let produced = 0;
      let finished = false;
      async function* body() {
        try {
          for (let i = 0; i < 48; i++) {
            const chunk = randomBytes(64 * 1024 + i * 997);
            hash.update(chunk);
            produced += chunk.length;
            yield chunk;
            if (i % 4 === 0) await tick(); // momentarily empty source must not look like EOF
          }
        } finally {
          finished = true;
        }
      }
      const temp = await store.writeTemp(Readable.from(body()));
      expect(finished).toBe(true);
      expect(temp.size).toBe(produced);
      const key = uniqueKey();
      await store.commit(temp.tempKey, key);
      expect(sha256(await readAll(await store.read(key)))).toBe(hash.digest('hex'));
    });

    it('writes concurrent bodies to distinct temp keys', async () => {
      const bodies = [randomBytes(MiB), randomBytes(2 * MiB + 3), randomBytes(5)];
      const temps = await Promise.all(bodies.map((b) => store.writeTemp(Readable.from([b]))));
      expect(new Set(temps.map((t) => t.tempKey)).size).toBe(bodies.length);
      const keys = temps.map(() => uniqueKey());
      await Promise.all(temps.map((t, i) => store.commit(t.tempKey, keys[i]!)));
      for (const [i, key] of keys.entries()) {
        expect(sha256(await readAll(await store.read(key)))).toBe(sha256(bodies[i]!));
      }
    });

    it('serves exactly start..end of a range', async () => {
      const data = randomBytes(MiB + 4096 + 7); // larger than a typical 1 MiB stream chunk
      const key = uniqueKey();
      await put(key, data);
      const n = data.length;
      const ranges: ByteRange[] = [
        { start: 0, end: 0 },
        { start: n - 1, end: n - 1 },
        { start: 1000, end: 1999 },
        { start: MiB - 10, end: MiB + 10 }, // straddles a chunk boundary
        { start: 0, end: n - 1 },
      ];
      for (const range of ranges) {
        const got = await readAll(await store.read(key, range));
        expect(got.length, `${range.start}-${range.end}`).toBe(range.end - range.start + 1);
        expect(got.equals(data.subarray(range.start, range.end + 1))).toBe(true);
      }
    });

    it('rejects read of a missing key with BlobNotFoundError, and stat returns null', async () => {
      const key = uniqueKey();
      await expect(store.read(key)).rejects.toBeInstanceOf(BlobNotFoundError);
      await expect(store.read(key, { start: 0, end: 0 })).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.stat(key)).toBeNull();
    });

    it('treats a key that is only a prefix of other keys as missing', async () => {
      const parent = uniqueKey('dir');
      await put(`${parent}/child`, Buffer.from('child'));
      await expect(store.read(parent)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.stat(parent)).toBeNull();
      await store.delete(parent);
      expect((await readAll(await store.read(`${parent}/child`))).toString()).toBe('child');
    });

    it('deletes idempotently', async () => {
      const key = uniqueKey();
      await put(key, Buffer.from('bye'));
      await store.delete(key);
      await store.delete(key);
      await expect(store.read(key)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.stat(key)).toBeNull();
    });

    it('discards a temp blob idempotently, after which it cannot be committed', async () => {
      const temp = await store.writeTemp(Readable.from([Buffer.from('draft')]));
      await store.discardTemp(temp.tempKey);
      await store.discardTemp(temp.tempKey);
      const key = uniqueKey();
      await expect(store.commit(temp.tempKey, key)).rejects.toThrow();
      expect(await store.stat(key)).toBeNull();
    });

    it('commits a temp key only once', async () => {
      const temp = await store.writeTemp(Readable.from([Buffer.from('once')]));
      const key = uniqueKey();
      await store.commit(temp.tempKey, key);
      await expect(store.commit(temp.tempKey, uniqueKey())).rejects.toThrow();
      expect((await readAll(await store.read(key))).toString()).toBe('once');
    });

    it('keeps a blob invisible until it is committed', async () => {
      const key = uniqueKey();
      const temp = await store.writeTemp(Readable.from([Buffer.from('hidden')]));
      await expect(store.read(key)).rejects.toBeInstanceOf(BlobNotFoundError);
      expect(await store.stat(key)).toBeNull();
      await store.commit(temp.tempKey, key);
      expect((await readAll(await store.read(key))).toString()).toBe('hidden');
    });

    it('replaces an existing blob when committing onto its key', async () => {
      const key = uniqueKey('a/nested');
      await put(key, randomBytes(2 * MiB));
      const second = randomBytes(1234);
      await put(key, second);
      expect(await store.stat(key)).toEqual({ size: second.length });
      expect(sha256(await readAll(await store.read(key)))).toBe(sha256(second));
    });

    it('rejects writeTemp with the body error when the body fails midway, and keeps working', async () => {
      async function* failing() {
        yield randomBytes(2 * MiB);
        await tick();
        yield randomBytes(MiB);
        throw new Error('body failed midway');
      }
      await expect(store.writeTemp(Readable.from(failing()))).rejects.toThrow('body failed midway');
      const data = randomBytes(4096);
      const key = uniqueKey();
      await put(key, data);
      expect(sha256(await readAll(await store.read(key)))).toBe(sha256(data));
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('accepts keys at the limits of KEY_PATTERN', async () => {
      const tag = randomBytes(4).toString('hex');
      for (const key of [`${tag}${'a'.repeat(120)}`, `${tag}/b/c/d`, `${tag}-x/0_-9`]) {
        await put(key, Buffer.from(key));
        expect((await readAll(await store.read(key))).toString()).toBe(key);
      }
    });

    it.each(INVALID_KEYS.map((k) => [JSON.stringify(k.length > 40 ? `${k.slice(0, 20)}…(${k.length})` : k), k]))(
      'rejects invalid key %s with InvalidBlobKeyError',
      async (_label, bad) => {
        const temp = await store.writeTemp(Readable.from([Buffer.from('payload')]));
        await expect(store.read(bad)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.read(bad, { start: 0, end: 0 })).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.stat(bad)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.delete(bad)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.commit(temp.tempKey, bad)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.commit(bad, uniqueKey())).rejects.toBeInstanceOf(InvalidBlobKeyError);
        await expect(store.discardTemp(bad)).rejects.toBeInstanceOf(InvalidBlobKeyError);
        // The rejected commits must not have consumed the temp blob.
        const key = uniqueKey();
        await store.commit(temp.tempKey, key);
        expect((await readAll(await store.read(key))).toString()).toBe('payload');
      },
    );

    it('passes check()', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
