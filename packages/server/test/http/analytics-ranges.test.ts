import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { expectError } from '../support/http.ts';
import { analyticsOf } from '../support/analytics.ts';

/**
 * Analytics over time: buckets of every interval, refusals of bad ranges, intervals and metrics,
 * and the daily rollup with raw retention (raw events go, the numbers stay).
 */

let h: Harness;
let key: string;
const DAY = 86_400_000;

beforeAll(async () => {
  h = await startHarness({ FERRY_MAX_EXPIRY_DAYS: '400', FERRY_ANALYTICS_RAW_DAYS: '90' });
  ({ key } = await createAccount(h.app, 'ranges@example.com', [...ALL_USER_SCOPES, 'analytics:read']));
});
afterAll(() => h.close());

const get = (url: string) => h.app.inject({ method: 'GET', url, headers: bearer(key) });
const setClock = (iso: string) => {
  h.clock.offsetMs = Date.parse(iso) - Date.now();
};

describe('bad input answers 400 and names the problem', () => {
  const user = '/api/v1/analytics/user';
  const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

  it.each([
    ['from after to', 'from=2025-03-02&to=2025-03-01', /from.*after/],
    ['a day that does not exist', 'from=2024-02-30', /from/],
    ['a date-time without a zone', 'from=2025-03-01T10:00:00', /from/],
    ['words', 'to=yesterday', /to/],
    ['a range over two years', 'from=2020-01-01&to=2023-01-01', /732 days/],
    ['hourly buckets over two months', `interval=hour&from=${ago(60)}`, /1000 buckets/],
    ['hourly buckets older than the raw retention', `interval=hour&from=${ago(200)}&to=${ago(199)}`, /last 90 days.*FERRY_ANALYTICS_RAW_DAYS/],
    ['unknown metrics, named', 'metrics=downloads,bogus,nope', /"bogus", "nope"/],
  ])('%s', async (_what, query, message) => {
    const body = expectError(await get(`${user}?${query}`), 400, 'validation_failed');
    expect(body.error.message).toMatch(message);
  });

  it('an unknown interval, report type, format or parameter is 400 too', async () => {
    expectError(await get(`${user}?interval=minute`), 400, 'validation_failed');
    expectError(await get(`${user}?colour=blue`), 400, 'validation_failed');
    expectError(await get('/api/v1/reports?type=everything'), 400, 'validation_failed');
    expectError(await get('/api/v1/reports?type=usage&format=xml'), 400, 'validation_failed');
    expectError(await get('/api/v1/reports?type=usage&from=2025-13-01'), 400, 'validation_failed');
  });
});

describe('buckets, rollup and retention', () => {
  let t: ReadyTransfer;
  const download = async (at: string) => {
    setClock(at);
    expect((await h.app.inject({ method: 'GET', url: `${t.link}/files/${t.transfer.files[0].id}` })).statusCode).toBe(200);
    await h.app.services.receipts.idle();
  };
  const of = (query: string) => analyticsOf(h, key, `/api/v1/transfers/${t.transfer.id}/analytics`, query);
  const counts = (data: any) => data.series.map((s: any) => [s.start.slice(0, 13), s.downloads]).filter(([, n]: [string, number]) => n > 0);

  beforeAll(async () => {
    setClock('2025-01-27T09:00:00.000Z'); // a Monday
    t = await readyTransfer(h.app, key, [{ name: 'f.txt', content: 'ferry' }], { expires_at: '2026-01-01T00:00:00.000Z' });
    await download('2025-01-27T10:15:00.000Z');
    await download('2025-01-27T11:45:00.000Z');
    await download('2025-02-02T23:30:00.000Z'); // Sunday: same ISO week, next month
    await download('2025-02-03T00:30:00.000Z'); // Monday: next ISO week
    setClock('2025-02-03T12:00:00.000Z');
  });

  const expectBuckets = async () => {
    const day = await of('from=2025-01-27&to=2025-02-03');
    expect(day.series).toHaveLength(8);
    expect(counts(day)).toEqual([['2025-01-27T00', 2], ['2025-02-02T00', 1], ['2025-02-03T00', 1]]);
    const week = await of('from=2025-01-27&to=2025-02-03&interval=week');
    expect(week.series.map((s: any) => [s.start, s.downloads])).toEqual([['2025-01-27T00:00:00.000Z', 3], ['2025-02-03T00:00:00.000Z', 1]]);
    const month = await of('from=2025-01-15&to=2025-02-10&interval=month');
    expect(month.series.map((s: any) => [s.start, s.downloads])).toEqual([['2025-01-01T00:00:00.000Z', 2], ['2025-02-01T00:00:00.000Z', 2]]);
    // The range is widened to whole days; a bucket only counts what falls inside the range.
    expect(month).toMatchObject({ from: '2025-01-15T00:00:00.000Z', to: '2025-02-11T00:00:00.000Z', totals: { downloads: 4, started: 4, bytes: 20 } });
    const user = await analyticsOf(h, key, '/api/v1/analytics/user', 'from=2025-01-27&to=2025-02-03&metrics=downloads,uploads');
    expect(user.totals).toEqual({ downloads: 4, started: 4, completion_rate: 1, bytes: 20, uploads: 1, upload_bytes: 5 });
    expect(user.metrics).toEqual(['downloads', 'uploads']);
    expect(user.by_country).toBeUndefined();
  };

  it('hour, day, week (from Monday) and month buckets hold the downloads of their time', async () => {
    const hour = await of('from=2025-01-27T00:00:00Z&to=2025-01-27T23:59:59Z&interval=hour');
    expect(hour.series).toHaveLength(24);
    expect(counts(hour)).toEqual([['2025-01-27T10', 1], ['2025-01-27T11', 1]]);
    await expectBuckets();
  });

  it('the rollup sums finished days; running it again changes nothing, and queries answer the same', async () => {
    const first = await h.app.services.analyticsRollup.run();
    expect(first.rolled).toEqual(['2025-01-27', '2025-01-28', '2025-01-29', '2025-01-30', '2025-01-31', '2025-02-01', '2025-02-02']);
    const rows = async () => (await h.database.db.selectFrom('analytics_daily').selectAll().orderBy('day').orderBy('metric').execute()).map((r) => [r.day, r.metric, Number(r.events), Number(r.bytes)]);
    const before = await rows();
    expect(before).toEqual([['2025-01-27', 'download', 2, 10], ['2025-01-27', 'upload', 1, 5], ['2025-02-02', 'download', 1, 5]]);
    await expectBuckets();
    const again = await h.app.services.analyticsRollup.run();
    expect(again.rolled).toEqual(['2025-02-02']);
    expect(await rows()).toEqual(before);
    await expectBuckets();
  });

  it('past the raw retention raw events are deleted, totals stay, and hourly buckets of that time are refused', async () => {
    setClock('2025-05-20T12:00:00.000Z');
    const result = await h.app.services.analyticsRollup.run();
    expect(result.deleted).toBe(5); // four downloads and one upload
    expect(await h.database.db.selectFrom('download_events').selectAll().execute()).toEqual([]);
    await expectBuckets();
    const old = expectError(await get(`/api/v1/transfers/${t.transfer.id}/analytics?interval=hour&from=2025-01-27&to=2025-01-27`), 400, 'validation_failed');
    expect(old.error.message).toMatch(/last 90 days/);
  });
});
