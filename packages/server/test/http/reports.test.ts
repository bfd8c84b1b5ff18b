import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_USER_SCOPES, bearer, createAccount, startHarness, type Harness } from '../support/harness.ts';
import { pathOf } from '../support/client.ts';
import { readyTransfer, type ReadyTransfer } from '../support/transfers.ts';
import { recipientReads } from '../support/recipients.ts';
import { expectData, expectError } from '../support/http.ts';
import { viaProxy } from '../support/analytics.ts';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

/** Reports as JSON and CSV (the same rows), streamed across database batches; scheduled reports by real SMTP. */

let h: Harness;
let smtp: TestSmtpServer;
let key: string;
let otherKey: string;
let t: ReadyTransfer;

beforeAll(async () => {
  smtp = await startSmtpServer();
  h = await startHarness({ FERRY_TRUST_PROXY: '127.0.0.1', FERRY_SMTP_URL: smtp.url, FERRY_MAIL_FROM: 'Ferry <ferry@example.com>' });
  ({ key } = await createAccount(h.app, 'Reporter@Example.com', [...ALL_USER_SCOPES, 'analytics:read']));
  ({ key: otherKey } = await createAccount(h.app, 'other@example.com', [...ALL_USER_SCOPES, 'analytics:read']));
  t = await readyTransfer(h.app, key, [{ name: 'a,"quoted".txt', content: 'alpha' }, { name: 'b.txt', content: 'beta' }], { title: 'Q3, "final"', recipients: ['ann@example.com'] });
  const [ann] = await recipientReads(h, key).recipients(t.transfer.id);
  expect((await viaProxy(h, `${pathOf(ann.url)}/files/${t.transfer.files[0].id}`, '8.8.8.8')).statusCode).toBe(200);
  expect((await viaProxy(h, `${t.link}/files/${t.transfer.files[1].id}`, '81.2.69.160', 'Wget/1.21')).statusCode).toBe(200);
  expect((await viaProxy(h, `${t.link}/download.zip`, '1.1.1.1')).statusCode).toBe(200);
  await h.app.services.receipts.idle();
});
afterAll(async () => {
  await h.close();
  await smtp.close();
});

const get = (url: string, as = key) => h.app.inject({ method: 'GET', url, headers: bearer(as) });

/** What a CSV cell holds for a JSON value. */
const cell = (v: unknown) => (v === null ? '' : String(v));
const asCsv = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cell(v)])));

describe('reports', () => {
  it.each(['downloads', 'transfers', 'usage'])('the %s report as CSV parses and holds exactly the rows of the JSON', async (type) => {
    const json = await get(`/api/v1/reports?type=${type}`);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    const rows = json.json().data as Record<string, unknown>[];
    const csv = await get(`/api/v1/reports?type=${type}&format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(new RegExp(`^attachment; filename="?ferry-${type}-\\d{4}-\\d{2}-\\d{2}-to-\\d{4}-\\d{2}-\\d{2}\\.csv"?$`));
    const parsed = parse(csv.body, { columns: true }) as Record<string, string>[];
    // The CSV request is itself one more API request of today.
    if (type === 'usage') parsed.at(-1)!.api_requests = String(Number(parsed.at(-1)!.api_requests) - 1);
    expect(parsed).toEqual(asCsv(rows));
    expect(rows.length).toBeGreaterThan(0);
  });

  it('the rows are what happened: each download with its file, recipient, country and client; the transfer; today\'s usage', async () => {
    const downloads = (await get('/api/v1/reports?type=downloads')).json().data;
    expect(downloads.map((d: any) => [d.kind, d.file_name, d.recipient_email, d.country, d.user_agent_family, d.completed])).toEqual([
      ['file', 'a,"quoted".txt', 'ann@example.com', 'US', 'curl', true],
      ['file', 'b.txt', null, 'GB', 'Wget', true],
      ['zip', null, null, 'AU', 'curl', true],
    ]);
    expect(downloads[0]).toMatchObject({ transfer_id: t.transfer.id, transfer_title: 'Q3, "final"', bytes_sent: 5 });
    const [transfer] = (await get('/api/v1/reports?type=transfers')).json().data;
    expect(transfer).toMatchObject({ id: t.transfer.id, title: 'Q3, "final"', state: 'ready', file_count: 2, size: 9, recipient_count: 1 });
    const usage = (await get('/api/v1/reports?type=usage&from=' + new Date().toISOString().slice(0, 10))).json().data;
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ date: new Date().toISOString().slice(0, 10), downloads: 3, downloads_started: 3, uploads: 2, bytes_uploaded: 9 });
    expect(usage[0].api_requests).toBeGreaterThan(3);
    // Another account sees none of it.
    expect((await get('/api/v1/reports?type=downloads', otherKey)).json().data).toEqual([]);
  });

  it('a report longer than one database batch streams every row once, in order', async () => {
    const base = { user_id: (await h.repositories.users.findByEmail('reporter@example.com'))!.id, transfer_id: t.transfer.id, file_id: null, recipient_id: null, kind: 'zip' as const, bytes_sent: 1, completed: 1, country: 'NL', ua_family: 'curl' };
    const at = new Date(Date.now() - 3600_000).toISOString();
    const ids = Array.from({ length: 1234 }, (_, i) => `rct_bulk${String(i).padStart(18, '0')}`);
    // Many rows share one instant, so the batches must break ties by id.
    for (const id of ids) await h.repositories.analyticsEvents.insertDownload({ ...base, id, started_at: at, at });
    const csv = await get('/api/v1/reports?type=downloads&format=csv');
    const parsed = parse(csv.body, { columns: true }) as Record<string, string>[];
    expect(parsed).toHaveLength(1234 + 3);
    expect(parsed.filter((r) => r.country === 'NL')).toHaveLength(1234);
    const json = (await get('/api/v1/reports?type=downloads')).json().data;
    expect(asCsv(json)).toEqual(parsed);
    await h.database.db.deleteFrom('download_events').where('country', '=', 'NL').execute();
  });
});

describe('scheduled reports', () => {
  const post = (payload: object, as = key) => h.app.inject({ method: 'POST', url: '/api/v1/reports/schedules', headers: bearer(as), payload });

  it('go only to the account\'s own address; list and delete; another account\'s is 404', async () => {
    const refused = expectError(await post({ type: 'usage', interval: 'daily', email: 'someone@else.example' }), 400, 'validation_failed');
    expect(refused.error.message).toMatch(/own email address/);
    expectError(await post({ type: 'usage', interval: 'daily', email: 'not an address' }), 400, 'validation_failed');
    expectError(await post({ type: 'usage', interval: 'hourly' }), 400, 'validation_failed');
    const own = expectData(await post({ type: 'usage', interval: 'weekly', format: 'json', email: 'REPORTER@example.com' }), 201);
    expect(own).toMatchObject({ type: 'usage', interval: 'weekly', format: 'json', email: 'reporter@example.com', last_run_at: null });
    expect(new Date(own.next_run_at).getUTCDay()).toBe(1);
    const listed = (await get('/api/v1/reports/schedules')).json();
    expect(listed.data.map((s: any) => s.id)).toEqual([own.id]);
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/reports/schedules/${own.id}`, headers: bearer(otherKey) }), 404, 'not_found');
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/reports/schedules/${own.id}`, headers: bearer(key) })).statusCode).toBe(204);
    expectError(await h.app.inject({ method: 'DELETE', url: `/api/v1/reports/schedules/${own.id}`, headers: bearer(key) }), 404, 'not_found');
    expect((await get('/api/v1/reports/schedules')).json().data).toEqual([]);
  });

  it('a daily report arrives by SMTP the next day with the day\'s report attached, once', async () => {
    const schedule = expectData(await post({ type: 'downloads', interval: 'daily' }), 201);
    expect(schedule.format).toBe('csv');
    const today = new Date().toISOString().slice(0, 10);
    const expected = (await get(`/api/v1/reports?type=downloads&format=csv&from=${today}&to=${today}`)).body;
    h.clock.advance(86_400_000);
    expect(await h.app.services.reportSchedules.scan()).toBe(1);
    await h.jobs.drain();
    const email = await smtp.waitFor((m) => m.subject.includes('downloads report'));
    expect(email.to).toBe('reporter@example.com');
    expect(email.subject).toContain(today);
    const [attachment] = email.parsed.attachments;
    expect(attachment!.filename).toBe(`ferry-downloads-${today}-to-${today}.csv`);
    expect(attachment!.contentType).toBe('text/csv');
    expect(attachment!.content.toString('utf8')).toBe(expected);
    expect(parse(attachment!.content, { columns: true })).toHaveLength(3);
    // The period was sent: scanning again queues nothing until the next day ends.
    expect(await h.app.services.reportSchedules.scan()).toBe(0);
    await h.jobs.drain();
    expect(smtp.messages.filter((m) => m.subject.includes('downloads report'))).toHaveLength(1);
    const [listed] = (await get('/api/v1/reports/schedules')).json().data;
    expect(listed.last_run_at).not.toBeNull();
  });
});

describe('the OpenAPI document', () => {
  it('describes the analytics routes with their operations and the GeoIP attribution', async () => {
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ops = ['/api/v1/transfers/{id}/analytics', '/api/v1/files/{id}/analytics', '/api/v1/analytics/user', '/api/v1/reports', '/api/v1/reports/schedules', '/api/v1/reports/schedules/{id}']
      .flatMap((p) => Object.values(doc.paths[p] ?? {}))
      .map((op: any) => [op.operationId, op.tags]);
    expect(ops).toEqual([
      ['getTransferAnalytics', ['analytics']],
      ['getFileAnalytics', ['analytics']],
      ['getUserAnalytics', ['analytics']],
      ['getReport', ['analytics']],
      ['createReportSchedule', ['analytics']],
      ['listReportSchedules', ['analytics']],
      ['deleteReportSchedule', ['analytics']],
    ]);
    expect(doc.tags.find((t: any) => t.name === 'analytics').description).toContain('IP Geolocation by DB-IP');
    expect(Object.keys(doc.paths['/api/v1/reports'].get.responses['200'].content)).toEqual(['application/json', 'text/csv']);
  });
});
