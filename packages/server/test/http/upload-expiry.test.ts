import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer } from '../support/transfers.ts';
import { bytes, expectData } from '../support/http.ts';
import { metadata, tusBytes, tusUploadsStored } from '../support/tus-http.ts';
import { partsLeft } from '../support/stored-blobs.ts';

/** Unfinished uploads expire after FERRY_UPLOAD_EXPIRY and the sweeper removes everything they left. */

let h: Harness;
let key: string;
beforeAll(async () => {
  h = await startHarness({ FERRY_UPLOAD_EXPIRY: '3600' });
  ({ key } = await createAccount(h.app, 'expiry@example.com'));
});
afterAll(() => h.close());

const files = async (transferId: string) => expectData(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${transferId}/files`, headers: bearer(key) }));

describe('expired unfinished uploads', () => {
  it('a tus upload by filename: its bytes, its record and the file it declared are swept; the name is free again', async () => {
    const t = await createTransfer(h.app, key, { title: 'stale' });
    const meta = metadata({ transfer_id: t.id, filename: 'half.bin' });
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { ...bearer(key), 'tus-resumable': '1.0.0', 'upload-length': '1000', 'upload-metadata': meta, 'content-type': 'application/offset+octet-stream' },
      payload: bytes(400),
    });
    expect(created.statusCode).toBe(201);
    const id = path.basename(new URL(created.headers.location as string).pathname);
    expect(await tusUploadsStored(h)).toContain(id);
    expect((await tusBytes(h, id)).length).toBe(400);
    expect(await files(t.id)).toHaveLength(1);

    h.clock.advance(3601 * 1000);
    await h.sweeper.sweep();
    expect(await tusUploadsStored(h)).not.toContain(id);
    expect(await files(t.id)).toHaveLength(0);
    const head = await h.app.inject({ method: 'HEAD', url: `/api/v1/uploads/${id}`, headers: { ...bearer(key), 'tus-resumable': '1.0.0' } });
    expect(head.statusCode).toBe(404);
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/uploads', headers: { ...bearer(key), 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': meta } });
    expect(again.statusCode).toBe(201);
  });

  it('signed parts of a file never completed are removed; the declared file stays pending', async () => {
    const t = await createTransfer(h.app, key, { title: 'parts', files: [{ name: 'p.bin', size: 100 }] });
    const fileId = t.files[0].id;
    const put = await h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${t.id}/files/${fileId}/parts/1`, headers: bearer(key), payload: bytes(100) });
    expect(put.statusCode).toBe(200);
    expect(await h.app.services.parts.list(fileId)).toHaveLength(1);
    expect(await partsLeft(h.stores)).not.toHaveLength(0);
    h.clock.advance(3601 * 1000);
    await h.sweeper.sweep();
    expect(await h.app.services.parts.list(fileId)).toHaveLength(0);
    expect(await partsLeft(h.stores)).toEqual([]);
    const complete = await h.app.inject({ method: 'PUT', url: `/api/v1/transfers/${t.id}/files/${fileId}/upload-complete`, headers: bearer(key) });
    expect(complete.statusCode).toBe(409);
  });
});
