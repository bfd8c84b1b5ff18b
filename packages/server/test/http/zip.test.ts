import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { createTransfer, readyTransfer, type FileSpec, type ReadyTransfer } from '../support/transfers.ts';
import { bytes, expectData, expectError, putContent } from '../support/http.ts';
import { sha256 } from '../support/hashing.ts';
import { readZip } from '../support/zip.ts';

/** Whole-transfer ZIP downloads (docs/security-checklist.md A10, A11, G77, G81): safe entry names, exact bytes, resumable. */

let h: Harness;
let key: string;
let t: ReadyTransfer;

/** Names the API accepts but that would be unsafe or collide as files on a recipient's disk. */
const SPECS: FileSpec[] = [
  { name: 'CON', content: 'device' },
  { name: 'nul.txt', content: bytes(3000) },
  { name: 'COM1', content: 'serial' },
  { name: 'name.', content: 'trailing dot' },
  { name: 'A.txt', content: 'upper' },
  { name: 'a.txt', content: 'lower' },
  { name: 'Report.PDF', content: bytes(70_000) },
  { name: 'report.pdf', content: bytes(1) },
  { name: '..bashrc', content: 'dots' },
  { name: 'Re: a|b?.txt', content: 'windows-forbidden' },
  { name: '<img src=x onerror=alert(1)>.png', content: 'markup' },
  { name: '😀 résumé.txt', content: 'unicode' },
];

const EXPECTED_ENTRIES = [
  '_CON',
  '_nul.txt',
  '_COM1',
  'name',
  'A.txt',
  'a (1).txt',
  'Report.PDF',
  'report (1).pdf',
  'bashrc',
  'Re_ a_b_.txt',
  '_img src=x onerror=alert(1)_.png',
  '😀 résumé.txt',
];

beforeAll(async () => {
  h = await startHarness();
  ({ key } = await createAccount(h.app, 'zip@example.com'));
  t = await readyTransfer(h.app, key, SPECS, { title: 'Holiday photos' });
});
afterAll(() => h.close());

const ownerZip = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') =>
  h.app.inject({ method, url: `/api/v1/transfers/${t.transfer.id}/download.zip`, headers: { ...bearer(key), ...headers } });

describe('ZIP downloads', () => {
  it('A10/A11/G77: entry names are sanitized, Windows-reserved names renamed, case-insensitive duplicates numbered', async () => {
    const res = await ownerZip();
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe('attachment; filename="Holiday photos.zip"');
    expect(res.headers['content-length']).toBe(String(res.rawPayload.length));
    const entries = await readZip(res.rawPayload);
    expect(entries.map((e) => e.name)).toEqual(EXPECTED_ENTRIES);
    for (const entry of entries) {
      expect(entry.name).not.toMatch(/[\\/:*?"<>|]|^\.|^\s|[. ]$/);
    }
    expect(new Set(entries.map((e) => e.name.toLowerCase())).size).toBe(entries.length);
  });

  it('every entry holds exactly the uploaded bytes (SHA-256), in upload order', async () => {
    const entries = await readZip((await ownerZip()).rawPayload);
    expect(entries.map((e) => sha256(e.content))).toEqual(SPECS.map((s) => sha256(s.content)));
    // The file names themselves are untouched in the API; only the ZIP renames.
    expect(t.transfer.files.map((f: { name: string }) => f.name)).toEqual(SPECS.map((s) => s.name));
  });

  it('G81: a ZIP download resumes with Range (and If-Range) into a byte-identical archive', async () => {
    const whole = await ownerZip();
    const zip = whole.rawPayload;
    const etag = String(whole.headers.etag);
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    expect((await ownerZip()).headers.etag).toBe(etag);
    for (const cut of [1, 100, Math.floor(zip.length / 2), zip.length - 1]) {
      const head = await ownerZip({ range: `bytes=0-${cut - 1}` });
      const tail = await ownerZip({ range: `bytes=${cut}-`, 'if-range': etag });
      expect([head.statusCode, tail.statusCode]).toEqual([206, 206]);
      expect(tail.headers['content-range']).toBe(`bytes ${cut}-${zip.length - 1}/${zip.length}`);
      expect(sha256(Buffer.concat([head.rawPayload, tail.rawPayload]))).toBe(sha256(zip));
    }
    const middle = await ownerZip({ range: 'bytes=5000-9999' });
    expect(middle.rawPayload.equals(zip.subarray(5000, 10_000))).toBe(true);
    const stale = await ownerZip({ range: 'bytes=10-', 'if-range': `"${'0'.repeat(64)}"` });
    expect(stale.statusCode).toBe(200);
    expect(sha256(stale.rawPayload)).toBe(sha256(zip));
    const past = await ownerZip({ range: `bytes=${zip.length}-` });
    expectError(past, 416, 'range_not_satisfiable');
    expect(past.headers['content-range']).toBe(`bytes */${zip.length}`);
  });

  it('HEAD of a ZIP announces its exact length without a body', async () => {
    const zip = (await ownerZip()).rawPayload;
    const head = await ownerZip({}, 'HEAD');
    expect([head.statusCode, head.headers['content-length'], head.rawPayload.length]).toEqual([200, String(zip.length), 0]);
  });

  it('the public ZIP is byte-identical to the owner\'s', async () => {
    const owner = (await ownerZip()).rawPayload;
    const pub = await h.app.inject({ method: 'GET', url: `${t.link}/download.zip` });
    expect(pub.statusCode).toBe(200);
    expect(sha256(pub.rawPayload)).toBe(sha256(owner));
  });

  it('the ZIP of an unfinished transfer holds only complete files; with none it is 404', async () => {
    const open = await createTransfer(h.app, key, { title: 'open', files: [{ name: 'done.txt', size: 4 }, { name: 'todo.txt', size: 4 }] });
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${open.id}/download.zip`, headers: bearer(key) }), 404, 'not_found');
    expectData(await putContent(h.app, key, open.id, open.files[0].id, 'done'));
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${open.id}/download.zip`, headers: bearer(key) });
    expect((await readZip(res.rawPayload)).map((e) => [e.name, e.content.toString()])).toEqual([['done.txt', 'done']]);
    // Recipients get nothing of a transfer that is not finalized, only that it is not ready.
    expectError(await h.app.inject({ method: 'GET', url: `/t/${open.slug}/download.zip` }), 409, 'transfer_not_ready');
  });
});
