import { fail } from '../errors.ts';
import type { Clock } from '../domain/clock.ts';
import type { AnalyticsEventsRepository } from '../repositories/analytics-events-repository.ts';
import { nextDay } from '../repositories/analytics-events-repository.ts';
import type { AnalyticsQueryRepository, EventScope, Grouping, Sums } from '../repositories/analytics-query-repository.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import { bucketStart, parseRange, type RangeInput, type TimeRange } from './time-range.ts';

/** What `GET /analytics/user?metrics=` may ask for; all of them when left out. */
export const USER_METRICS = ['downloads', 'uploads', 'api_requests', 'by_transfer', 'by_country', 'by_recipient', 'active_transfers', 'storage'] as const;
export type UserMetric = (typeof USER_METRICS)[number];

/** Account-wide lists are cut to their largest entries. */
const TOP = 100;

export interface DownloadFigures {
  /** Downloads whose last byte reached the client (the ones `*.downloaded` events report). */
  downloads: number;
  /** Every download response begun through a link, finished or not. */
  started: number;
  /** downloads / started (0 when nothing started). */
  completion_rate: number;
  bytes: number;
}

type Bucket = { start: string } & Partial<DownloadFigures & { uploads: number; upload_bytes: number; api_requests: number }>;

const figures = (s: Pick<Sums, 'events' | 'completed' | 'bytes'> | undefined): DownloadFigures => {
  const started = s?.events ?? 0;
  const downloads = s?.completed ?? 0;
  return { downloads, started, completion_rate: started === 0 ? 0 : Math.round((downloads / started) * 10_000) / 10_000, bytes: s?.bytes ?? 0 };
};
const byDownloads = (a: DownloadFigures, b: DownloadFigures) => b.downloads - a.downloads || b.bytes - a.bytes;

/**
 * Analytics of downloads through links (the shared link and recipients' own; the owner's own
 * downloads are not counted, as for receipts), uploads and API use: per transfer, per file and
 * across an account, over time and by file, country, recipient and client.
 */
export class AnalyticsService {
  constructor(
    private readonly query: AnalyticsQueryRepository,
    private readonly events: AnalyticsEventsRepository,
    private readonly transfers: TransfersRepository,
    private readonly files: FilesRepository,
    private readonly clock: Clock,
    private readonly rawDays: number,
  ) {}

  range(input: RangeInput): TimeRange {
    return parseRange(input, this.clock.now(), this.rawDays);
  }

  async transfer(userId: string, transferId: string, input: RangeInput) {
    if (!(await this.transfers.findForUser(userId, transferId))) throw fail.not_found('Transfer not found.');
    const range = this.range(input);
    const scope = { userId, transferId };
    const [base, byFile, byCountry, byRecipient, byUa] = await Promise.all([
      this.downloadSeries(scope, range),
      this.grouped(scope, range, 'file'),
      this.grouped(scope, range, 'country'),
      this.grouped(scope, range, 'recipient'),
      this.grouped(scope, range, 'ua'),
    ]);
    const names = await this.query.fileNames(byFile.flatMap((s) => (s.key ? [s.key] : [])));
    return {
      transfer_id: transferId,
      ...base,
      by_file: byFile.map((s) => ({ file_id: s.key, name: s.key ? (names.get(s.key) ?? null) : null, ...figures(s) })).sort(byDownloads),
      by_country: this.countries(byCountry),
      by_recipient: await this.recipients(byRecipient),
      by_user_agent: byUa.map((s) => ({ family: s.key, ...figures(s) })).sort(byDownloads),
    };
  }

  async file(userId: string, fileId: string, input: RangeInput) {
    const file = await this.files.findById(fileId);
    if (!file || !(await this.transfers.findForUser(userId, file.transfer_id))) throw fail.not_found('File not found.');
    const range = this.range(input);
    const scope = { userId, transferId: file.transfer_id, fileId };
    const [base, byCountry, byRecipient, byUa] = await Promise.all([
      this.downloadSeries(scope, range),
      this.grouped(scope, range, 'country'),
      this.grouped(scope, range, 'recipient'),
      this.grouped(scope, range, 'ua'),
    ]);
    return {
      file_id: fileId,
      transfer_id: file.transfer_id,
      name: file.name,
      ...base,
      by_country: this.countries(byCountry),
      by_recipient: await this.recipients(byRecipient),
      by_user_agent: byUa.map((s) => ({ family: s.key, ...figures(s) })).sort(byDownloads),
    };
  }

  /** Unknown metric names are refused (400) by name. */
  parseMetrics(raw: string | undefined): Set<UserMetric> {
    if (raw === undefined || raw.trim() === '') return new Set(USER_METRICS);
    const asked = raw.split(',').map((m) => m.trim()).filter(Boolean);
    const unknown = asked.filter((m) => !(USER_METRICS as readonly string[]).includes(m));
    if (unknown.length > 0) {
      throw fail.validation_failed(`Unknown metrics: ${unknown.map((m) => JSON.stringify(m.slice(0, 40))).join(', ')}. Known: ${USER_METRICS.join(', ')}.`, {
        details: { unknown: unknown.slice(0, 20), known: USER_METRICS },
      });
    }
    return new Set(asked as UserMetric[]);
  }

  async user(userId: string, input: RangeInput & { metrics?: string }) {
    const metrics = this.parseMetrics(input.metrics);
    const range = this.range(input);
    const scope = { userId };
    const unit = range.interval === 'hour' ? 'hour' : 'day';
    const rolledBefore = await this.rolledBefore(range);
    const span = (grouping: Grouping) => ({ scope, from: range.from.toISOString(), to: range.to.toISOString(), rolledBefore, grouping });
    const [downloads, uploads, api, byTransfer, byCountry, byRecipient, active, storage] = await Promise.all([
      metrics.has('downloads') ? this.query.downloads(span(unit)) : null,
      metrics.has('uploads') ? this.query.uploads(span(unit)) : null,
      metrics.has('api_requests') ? this.query.apiRequests(userId, range.from.toISOString(), range.to.toISOString(), unit) : null,
      metrics.has('by_transfer') ? this.query.downloads(span('transfer')) : null,
      metrics.has('by_country') ? this.query.downloads(span('country')) : null,
      metrics.has('by_recipient') ? this.query.downloads(span('recipient')) : null,
      metrics.has('active_transfers') ? this.query.activeTransfers(userId, this.clock.now().toISOString()) : null,
      metrics.has('storage') ? this.query.storedBytes(userId) : null,
    ]);
    const series: Bucket[] = range.buckets.map((b) => ({ start: b.toISOString() }));
    const totals: Record<string, number> = {};
    const fold = (rows: Sums[] | null, write: (bucket: Bucket, s: Sums | undefined) => void) => {
      if (!rows) return;
      const at = this.indexer(range);
      const sums = new Map<number, Sums>();
      for (const r of rows) {
        const i = at(r.key);
        if (i === null) continue;
        const seen = sums.get(i) ?? { key: null, events: 0, completed: 0, bytes: 0 };
        sums.set(i, { key: null, events: seen.events + r.events, completed: seen.completed + r.completed, bytes: seen.bytes + r.bytes });
      }
      series.forEach((bucket, i) => write(bucket, sums.get(i)));
    };
    fold(downloads, (bucket, s) => Object.assign(bucket, figures(s)));
    fold(uploads, (bucket, s) => Object.assign(bucket, { uploads: s?.events ?? 0, upload_bytes: s?.bytes ?? 0 }));
    fold(api, (bucket, s) => Object.assign(bucket, { api_requests: s?.events ?? 0 }));
    if (downloads) Object.assign(totals, figures(sum(downloads)));
    if (uploads) Object.assign(totals, { uploads: sum(uploads).events, upload_bytes: sum(uploads).bytes });
    if (api) totals.api_requests = sum(api).events;
    let transfersOut: unknown;
    if (byTransfer) {
      const top = byTransfer.map((s) => ({ s, f: figures(s) })).sort((a, b) => byDownloads(a.f, b.f)).slice(0, TOP);
      const titles = await this.query.transferTitles(top.flatMap(({ s }) => (s.key ? [s.key] : [])));
      transfersOut = top.map(({ s, f }) => ({ transfer_id: s.key, title: s.key ? (titles.get(s.key) ?? null) : null, ...f }));
    }
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      interval: range.interval,
      metrics: USER_METRICS.filter((m) => metrics.has(m)),
      totals,
      series,
      ...(transfersOut ? { by_transfer: transfersOut } : {}),
      ...(byCountry ? { by_country: this.countries(byCountry).slice(0, TOP) } : {}),
      ...(byRecipient ? { by_recipient: (await this.recipients(byRecipient, true)).slice(0, TOP) } : {}),
      ...(active !== null ? { active_transfers: active } : {}),
      ...(storage !== null ? { storage_bytes: storage } : {}),
    };
  }

  private async downloadSeries(scope: EventScope, range: TimeRange) {
    const rows = await this.query.downloads({ ...(await this.span(scope, range)), grouping: range.interval === 'hour' ? 'hour' : 'day' });
    const at = this.indexer(range);
    const perBucket = range.buckets.map(() => ({ events: 0, completed: 0, bytes: 0 }));
    for (const r of rows) {
      const i = at(r.key);
      if (i === null) continue;
      perBucket[i]!.events += r.events;
      perBucket[i]!.completed += r.completed;
      perBucket[i]!.bytes += r.bytes;
    }
    return {
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      interval: range.interval,
      totals: figures(sum(rows)),
      series: range.buckets.map((b, i) => ({ start: b.toISOString(), ...figures(perBucket[i]) })),
    };
  }

  private async grouped(scope: EventScope, range: TimeRange, grouping: Grouping): Promise<Sums[]> {
    return this.query.downloads({ ...(await this.span(scope, range)), grouping });
  }

  private async span(scope: EventScope, range: TimeRange) {
    return { scope, from: range.from.toISOString(), to: range.to.toISOString(), rolledBefore: await this.rolledBefore(range) };
  }

  /** Hour buckets read raw events only; coarser ones read rollups up to the last day rolled. */
  private async rolledBefore(range: TimeRange): Promise<string | null> {
    if (range.interval === 'hour') return null;
    const last = await this.events.lastRolledDay();
    return last === null ? null : `${nextDay(last)}T00:00:00.000Z`;
  }

  /** Maps a row's time key (`YYYY-MM-DD` or `YYYY-MM-DDTHH`) to the index of its bucket. */
  private indexer(range: TimeRange): (key: string | null) => number | null {
    const index = new Map(range.buckets.map((b, i) => [b.getTime(), i]));
    return (key) => {
      if (!key) return null;
      const t = new Date(key.length === 10 ? `${key}T00:00:00.000Z` : `${key}:00:00.000Z`);
      return index.get(bucketStart(t, range.interval).getTime()) ?? null;
    };
  }

  private countries(rows: Sums[]) {
    return rows.map((s) => ({ country: s.key, ...figures(s) })).sort(byDownloads);
  }

  /** Per recipient (null: the shared link); across an account, one entry per address. */
  private async recipients(rows: Sums[], byEmail = false) {
    const emails = await this.query.recipientEmails(rows.flatMap((s) => (s.key ? [s.key] : [])));
    if (!byEmail) {
      return rows.map((s) => ({ recipient_id: s.key, email: s.key ? (emails.get(s.key) ?? null) : null, ...figures(s) })).sort(byDownloads);
    }
    const merged = new Map<string | null, Sums>();
    for (const s of rows) {
      const email = s.key ? (emails.get(s.key) ?? null) : null;
      const seen = merged.get(email) ?? { key: email, events: 0, completed: 0, bytes: 0 };
      merged.set(email, { key: email, events: seen.events + s.events, completed: seen.completed + s.completed, bytes: seen.bytes + s.bytes });
    }
    return [...merged.values()].map((s) => ({ email: s.key, ...figures(s) })).sort(byDownloads);
  }
}

function sum(rows: Sums[]): Sums {
  return rows.reduce((acc, r) => ({ key: null, events: acc.events + r.events, completed: acc.completed + r.completed, bytes: acc.bytes + r.bytes }), { key: null, events: 0, completed: 0, bytes: 0 });
}
