import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata } from '@tus/utils';
import { MAX_METADATA_BYTES, MAX_METADATA_KEYS } from '../../src/http/tus-request-checks.ts';
import { expectError } from '../support/http.ts';
import { idOf, metadata, startTusHttp, tusHelpers, UPLOADS, type TusHttp } from '../support/tus-http.ts';

/** Upload-Metadata is capped and reduced to the keys Ferry reads; Locations follow FERRY_PUBLIC_URL. */

let ctx: TusHttp;
beforeAll(async () => {
  ctx = await startTusHttp();
});
afterAll(() => ctx.h.close());
const t = tusHelpers(() => ctx);

describe('Upload-Metadata', () => {
  it('refuses metadata over the size cap with 400 metadata_too_large and creates nothing', async () => {
    const tr = await t.transfer();
    const res = await t.create({ transfer_id: tr.id, filename: 'a.bin', note: 'x'.repeat(MAX_METADATA_BYTES) }, 10);
    expectError(res, 400, 'metadata_too_large');
    expect(await t.transferFiles(tr.id)).toEqual([]);
  });

  it('refuses more keys than the cap', async () => {
    const tr = await t.transfer();
    const extra = Object.fromEntries(Array.from({ length: MAX_METADATA_KEYS }, (_, i) => [`k${i}`, 'v']));
    expectError(await t.create({ transfer_id: tr.id, filename: 'a.bin', ...extra }, 10), 400, 'metadata_too_large');
  });

  it('keeps only the keys Ferry reads: others are neither stored nor echoed on HEAD', async () => {
    const tr = await t.transfer();
    const created = await t.create({ transfer_id: tr.id, filename: 'kept.bin', filetype: 'text/plain', colour: 'blue', secret: 'x'.repeat(500) }, 10);
    expect(created.statusCode, created.body).toBe(201);
    const head = await t.head(idOf(created));
    expect(head.statusCode).toBe(200);
    const echoed = Metadata.parse(String(head.headers['upload-metadata'] ?? '')) ?? {};
    expect(Object.keys(echoed).sort()).toEqual(['filename', 'filetype', 'transfer_id']);
    expect(echoed.filename).toBe('kept.bin');
  });
});

describe('tus Location', () => {
  it('is built on FERRY_PUBLIC_URL whatever Host or X-Forwarded-Host the request names', async () => {
    const tr = await t.transfer();
    const res = await t.create({ transfer_id: tr.id, filename: 'loc.bin' }, 10, { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers.location).toMatch(new RegExp(`^${ctx.h.config.publicUrl}${UPLOADS}/`));
    expect(String(res.headers.location)).not.toContain('evil');
  });

  it('of a final concatenation too', async () => {
    const tr = await t.transfer();
    const part = await t.tus('POST', UPLOADS, { authorization: `Bearer ${ctx.key}`, 'upload-length': '3', 'upload-concat': 'partial' });
    expect(part.statusCode, part.body).toBe(201);
    const partId = idOf(part);
    expect((await t.patch(partId, 0, Buffer.from('abc'))).statusCode).toBe(204);
    const final = await t.tus('POST', UPLOADS, {
      authorization: `Bearer ${ctx.key}`,
      host: 'evil.example',
      'upload-concat': `final;${UPLOADS}/${partId}`,
      'upload-metadata': metadata({ transfer_id: tr.id, filename: 'joined.bin' }),
    });
    expect(final.statusCode, final.body).toBe(201);
    expect(final.headers.location).toMatch(new RegExp(`^${ctx.h.config.publicUrl}${UPLOADS}/`));
  });
});
