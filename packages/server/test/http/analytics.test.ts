import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { recipientReads } from '../support/recipients.ts';
import { bytes, expectError } from '../support/http.ts';
import { analyticsOf, countryInDatabase, viaProxy } from '../support/analytics.ts';

/**
 * Analytics equal the downloads made: by file, recipient, country (from X-Forwarded-For of the
 * trusted proxy only) and client; over time; and refusals of bad ranges, intervals and metrics.
 */

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const US = '8.8.8.8';
const AU = '1.1.1.1';
const GB = '81.2.69.160';

let h: Harness;
let key: string;
let otherKey: string;
let t: ReadyTransfer;
let ann: any;
let bob: any;
const a = bytes(1000);
const b = 'bee';

beforeAll(async () => {
  // inject() comes from 127.0.0.1: that peer is the trusted proxy.
  h = await startHarness({ FERRY_TRUST_PROXY: '127.0.0.1' });
  ({ key } = await createAccount(h.app, 'owner@example.com', [...ALL_USER_SCOPES, 'analytics:read']));
  ({ key: otherKey } = await createAccount(h.app, 'other@example.com', [...ALL_USER_SCOPES, 'analytics:read']));
  t = await readyTransfer(h.app, key, [{ name: 'a.bin', content: a }, { name: 'b.txt', content: b }], { title: 'Stats', recipients: ['ann@example.com', 'bob@example.com'] });
  [ann, bob] = await recipientReads(h, key).recipients(t.transfer.id);
});
afterAll(() => h.close());

const fileA = () => t.transfer.files[0].id as string;
const fileB = () => t.transfer.files[1].id as string;

describe('download analytics', () => {
  it('the test addresses are where the database says they are', () => {
    expect([countryInDatabase(US), countryInDatabase(AU), countryInDatabase(GB)]).toEqual(['US', 'AU', 'GB']);
  });

  it('count every download made, by file, recipient, country and client; the owner\'s own are not counted', async () => {
    const annLink = pathOf(ann.url);
    const bobLink = pathOf(bob.url);
    expect((await viaProxy(h, `${annLink}/files/${fileA()}`, US)).statusCode).toBe(200);
    expect((await viaProxy(h, `${annLink}/download.zip`, AU, FIREFOX)).statusCode).toBe(200);
    expect((await viaProxy(h, `${bobLink}/files/${fileA()}`, GB, CHROME)).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expect((await viaProxy(h, `${t.link}/files/${fileB()}`, US, 'python-requests/2.31.0')).statusCode).toBe(200);
    // A spoofed X-Forwarded-For from a peer that is no trusted proxy: the peer's own country counts.
    const spoofed = await h.app.inject({ method: 'GET', url: `${t.link}/files/${fileB()}`, remoteAddress: GB, headers: { 'x-forwarded-for': US } });
    expect(spoofed.statusCode).toBe(200);
    // A range that stops short of the end: begun, not a download; from loopback, no country
    // (inject's own user agent, lightMyRequest, is its first product token).
    expect((await h.app.inject({ method: 'GET', url: `${t.link}/files/${fileA()}`, headers: { range: 'bytes=0-9' } })).statusCode).toBe(206);
    // The owner's own download is no recipient's.
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileA()}/download`, headers: bearer(key) })).statusCode).toBe(200);

    const data = await analyticsOf(h, key, `/api/v1/transfers/${t.transfer.id}/analytics`);
    const zipBytes = (await h.app.inject({ method: 'HEAD', url: `${annLink}/download.zip` })).headers['content-length'];
    const total = a.length * 2 + 3 * b.length + Number(zipBytes) + 10;
    expect(data.totals).toEqual({ downloads: 6, started: 7, completion_rate: Math.round((6 / 7) * 10000) / 10000, bytes: total });
    const pick = (rows: any[], field: string) => Object.fromEntries(rows.map((r) => [String(r[field]), [r.downloads, r.started]]));
    expect(pick(data.by_file, 'name')).toEqual({ 'a.bin': [2, 3], 'b.txt': [3, 3], null: [1, 1] });
    expect(data.by_file.find((f: any) => f.name === 'a.bin')).toMatchObject({ file_id: fileA(), bytes: 2 * a.length + 10 });
    expect(pick(data.by_recipient, 'email')).toEqual({ 'ann@example.com': [2, 2], 'bob@example.com': [1, 1], null: [3, 4] });
    expect(pick(data.by_country, 'country')).toEqual({ US: [3, 3], AU: [1, 1], GB: [2, 2], null: [0, 1] });
    expect(pick(data.by_user_agent, 'family')).toEqual({ curl: [1, 1], Firefox: [1, 1], Chrome: [1, 1], 'python-requests': [2, 2], lightMyRequest: [1, 2] });
    // Today's bucket holds them all.
    expect(data.interval).toBe('day');
    expect(data.series).toHaveLength(31);
    expect(data.series.at(-1)).toMatchObject({ downloads: 6, started: 7 });
    expect(data.series.slice(0, -1).every((s: any) => s.started === 0)).toBe(true);

    const one = await analyticsOf(h, key, `/api/v1/files/${fileA()}/analytics`, 'interval=hour&from=' + new Date(Date.now() - 3600_000).toISOString());
    expect(one).toMatchObject({ file_id: fileA(), name: 'a.bin', totals: { downloads: 2, started: 3 } });
    expect(pick(one.by_country, 'country')).toEqual({ US: [1, 1], GB: [1, 1], null: [0, 1] });
    expect(one.series.at(-1)).toMatchObject({ downloads: 2, started: 3 });
  });

  it('the download events carry the country and the recipient', async () => {
    const events = await recipientReads(h, key).eventsOf(t.transfer.id);
    const files = events.filter((e) => e.type === 'file.downloaded').map((e) => [e.data.recipient?.email ?? null, e.data.file.name, e.data.country]);
    expect(files).toEqual([
      ['ann@example.com', 'a.bin', 'US'],
      ['bob@example.com', 'a.bin', 'GB'],
      [null, 'b.txt', 'US'],
      [null, 'b.txt', 'US'],
      [null, 'b.txt', 'GB'],
    ]);
    expect(events.filter((e) => e.type === 'transfer.downloaded').map((e) => [e.data.recipient.email, e.data.country])).toEqual([['ann@example.com', 'AU']]);
  });

  it('the account view adds uploads, API requests, active transfers and storage; `metrics` picks sections', async () => {
    const data = await analyticsOf(h, key, '/api/v1/analytics/user');
    expect(data.totals).toMatchObject({ downloads: 6, started: 7, uploads: 2, upload_bytes: a.length + b.length });
    expect(data.totals.api_requests).toBeGreaterThan(5);
    expect(data.series.at(-1)).toMatchObject({ downloads: 6, uploads: 2, api_requests: data.totals.api_requests });
    expect(data).toMatchObject({ active_transfers: 1, storage_bytes: a.length + b.length });
    expect(data.by_transfer).toEqual([expect.objectContaining({ transfer_id: t.transfer.id, title: 'Stats', downloads: 6, started: 7 })]);
    expect(Object.fromEntries(data.by_recipient.map((r: any) => [String(r.email), r.downloads]))).toEqual({ 'ann@example.com': 2, 'bob@example.com': 1, null: 3 });
    expect(data.by_country.map((c: any) => c.country)).toEqual(['US', 'GB', 'AU', null]);
    const some = await analyticsOf(h, key, '/api/v1/analytics/user', 'metrics=storage,api_requests');
    expect(Object.keys(some).sort()).toEqual(['from', 'interval', 'metrics', 'series', 'storage_bytes', 'to', 'totals']);
    expect(Object.keys(some.totals)).toEqual(['api_requests']);
  });

  it('another account\'s transfer or file is 404; so is one that does not exist', async () => {
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/transfers/${t.transfer.id}/analytics`, headers: bearer(otherKey) }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/${fileA()}/analytics`, headers: bearer(otherKey) }), 404, 'not_found');
    expectError(await h.app.inject({ method: 'GET', url: `/api/v1/files/fl_${'A'.repeat(22)}/analytics`, headers: bearer(key) }), 404, 'not_found');
    const mine = await analyticsOf(h, otherKey, '/api/v1/analytics/user');
    expect(mine.totals).toMatchObject({ downloads: 0, started: 0, uploads: 0 });
  });
});
