import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListening, type Harness, type ListeningHarness } from '../support/harness.ts';
import { call, rebase } from '../support/client.ts';
import type { Account } from '../support/accounts.ts';
import { readyTransfer } from '../support/transfers.ts';
import { sha256 } from '../support/hashing.ts';
import { blobExists, blobKeys, type Stores } from '../support/stored-blobs.ts';

const DAY_MS = 86_400_000;

describe('download limits, expiry and purge against a listening server', () => {
  let server: ListeningHarness;
  let h: Harness;
  let base: string;
  let owner: Account;

  beforeAll(async () => {
    server = await startListening('limits@example.com');
    ({ h, base, owner } = server);
  });

  afterAll(() => server?.close());

  /** Creates, uploads and finalizes a one-file transfer; answers its links and where its blob lives (store and key). */
  async function share(options: Record<string, unknown>, content = randomBytes(256 * 1024)) {
    const { transfer } = await readyTransfer(base, owner.key, [{ name: 'report.pdf', content }], { title: 'Shared', ...options });
    const fileId = transfer.files[0].id as string;
    const row = await h.repositories.files.findById(fileId);
    const link = rebase(base, transfer.url);
    return {
      id: transfer.id as string,
      fileId,
      content,
      link,
      fileLink: `${link}/files/${fileId}`,
      signedUrl: rebase(base, transfer.files[0].download_url),
      blob: { store: h.stores.get(row!.store_id), key: row!.storage_key },
      slug: transfer.slug as string,
    };
  }

  /** Whether the blob is still stored, and whether its store still lists it among its files. */
  const stored = (blob: { store: Stores; key: string }) => blobExists(blob.store, blob.key);
  const inFiles = async (blob: { store: Stores; key: string }) => (await blobKeys(blob.store, 'files')).includes(blob.key);

  const codeOf = async (url: string, key?: string) => {
    const reply = await call(base, 'GET', url, { key });
    return `${reply.status} ${reply.body?.error?.code ?? ''}`.trim();
  };

  it('max_downloads: 2 lets exactly 2 of 10 concurrent downloads through, the rest get 410', async () => {
    const t = await share({ max_downloads: 2 });
    const replies = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await fetch(t.fileLink);
        const body = Buffer.from(await response.arrayBuffer());
        return { status: response.status, body };
      }),
    );
    const ok = replies.filter((r) => r.status === 200);
    const gone = replies.filter((r) => r.status === 410);
    expect(ok).toHaveLength(2);
    expect(gone).toHaveLength(8);
    for (const r of ok) expect(sha256(r.body)).toBe(sha256(t.content));
    for (const r of gone) expect(JSON.parse(r.body.toString()).error.code).toBe('download_limit_reached');

    // Spent for recipients on every path (ZIP, signed URL, resume); never for the owner.
    expect(await codeOf(`${t.link}/download.zip`)).toBe('410 download_limit_reached');
    expect(await codeOf(t.signedUrl)).toBe('410 download_limit_reached');
    const resume = await call(base, 'GET', t.fileLink, { headers: { range: 'bytes=100-' } });
    expect(resume.status).toBe(410);
    expect(await codeOf(`${base}/api/v1/files/${t.fileId}/download`, owner.key)).toBe('200');
    const detail = await call(base, 'GET', `/api/v1/transfers/${t.id}`, { key: owner.key });
    expect(detail.body.data).toMatchObject({ max_downloads: 2, download_count: 2 });
  });

  it('expiry: once past expires_at every path answers 410 and the sweeper expires and purges it', async () => {
    const expiresAt = new Date(h.clock.now().getTime() + 60_000).toISOString();
    const t = await share({ expires_at: expiresAt });
    expect(await codeOf(t.fileLink)).toBe('200');
    expect(await codeOf(t.signedUrl)).toBe('200');
    expect(await stored(t.blob)).toBe(true);
    expect(await inFiles(t.blob)).toBe(true);

    h.clock.advance(61_000);
    expect(await codeOf(`${base}/api/v1/public/transfers/${t.slug}`)).toBe('410 transfer_expired');
    expect(await codeOf(t.link)).toBe('410 transfer_expired');
    expect(await codeOf(t.fileLink)).toBe('410 transfer_expired');
    expect(await codeOf(`${t.link}/download.zip`)).toBe('410 transfer_expired');
    expect(await codeOf(t.signedUrl)).toBe('410 transfer_expired');
    expect(await codeOf(`${base}/api/v1/files/${t.fileId}/download`, owner.key)).toBe('410 transfer_expired');
    expect(await codeOf(`${base}/api/v1/transfers/${t.id}/download.zip`, owner.key)).toBe('410 transfer_expired');

    const result = await h.sweeper.sweep();
    expect(result.expired).toBeGreaterThanOrEqual(1);
    expect(result.purged).toBeGreaterThanOrEqual(1);
    const detail = await call(base, 'GET', `/api/v1/transfers/${t.id}`, { key: owner.key });
    expect(detail.status).toBe(200);
    expect(detail.body.data.state).toBe('expired');
    const listed = await call(base, 'GET', '/api/v1/transfers?state=expired', { key: owner.key });
    expect(listed.body.data.map((x: { id: string }) => x.id)).toContain(t.id);
    expect(await stored(t.blob)).toBe(false);
    expect(await inFiles(t.blob)).toBe(false);
    // Purged: the link no longer resolves, the signed URL and the owner still get 410.
    expect(await codeOf(t.fileLink)).toMatch(/^(404|410)/);
    expect(await codeOf(t.signedUrl)).toBe('410 transfer_expired');
    expect(await codeOf(`${base}/api/v1/files/${t.fileId}/download`, owner.key)).toBe('410 transfer_expired');
  });

  it('lists a transfer past expires_at as expired, not ready, even before the sweeper runs', async () => {
    const t = await share({ expires_at: new Date(h.clock.now().getTime() + 60_000).toISOString() });
    h.clock.advance(61_000);
    const ids = async (state: string) =>
      (await call(base, 'GET', `/api/v1/transfers?state=${state}`, { key: owner.key })).body.data.map((x: { id: string }) => x.id);
    const detail = await call(base, 'GET', `/api/v1/transfers/${t.id}`, { key: owner.key });
    expect(detail.body.data.state).toBe('expired');
    try {
      expect(await ids('ready')).not.toContain(t.id);
      expect(await ids('expired')).toContain(t.id);
    } finally {
      await h.sweeper.sweep();
    }
    expect(await ids('expired')).toContain(t.id);
  });

  it('deletion: links answer 410 at once, blobs stay for FERRY_PURGE_GRACE, then are purged', async () => {
    expect(h.config.purgeGraceSeconds).toBe(86_400);
    const t = await share({});
    const other = await share({});
    expect(await codeOf(t.fileLink)).toBe('200');

    const deleted = await call(base, 'DELETE', `/api/v1/transfers/${t.id}`, { key: owner.key });
    expect(deleted.status).toBe(204);
    expect(await codeOf(`${base}/api/v1/public/transfers/${t.slug}`)).toBe('410 transfer_deleted');
    expect(await codeOf(t.link)).toBe('410 transfer_deleted');
    expect(await codeOf(t.fileLink)).toBe('410 transfer_deleted');
    expect(await codeOf(`${t.link}/download.zip`)).toBe('410 transfer_deleted');
    expect(await codeOf(t.signedUrl)).toBe('410 transfer_deleted');
    // For its owner a deleted transfer is gone from the API.
    expect(await codeOf(`${base}/api/v1/transfers/${t.id}`, owner.key)).toBe('404 not_found');
    expect(await codeOf(`${base}/api/v1/files/${t.fileId}/download`, owner.key)).toBe('404 not_found');
    const listed = await call(base, 'GET', '/api/v1/transfers', { key: owner.key });
    expect(listed.body.data.map((x: { id: string }) => x.id)).not.toContain(t.id);

    await h.sweeper.sweep();
    expect(await stored(t.blob)).toBe(true);
    h.clock.advance(DAY_MS - 60_000);
    await h.sweeper.sweep();
    expect(await stored(t.blob)).toBe(true);

    h.clock.advance(60_000 + 1_000);
    const result = await h.sweeper.sweep();
    expect(result.purged).toBe(1);
    expect(await stored(t.blob)).toBe(false);
    expect(await inFiles(t.blob)).toBe(false);
    // Only the deleted transfer's blobs went; a live one a day later is untouched.
    expect(await stored(other.blob)).toBe(true);
    expect(await codeOf(`${base}/api/v1/files/${other.fileId}/download`, owner.key)).toBe('200');
  });
});
