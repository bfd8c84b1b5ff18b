import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { ReportFormat, ReportType } from '../db/schema.ts';
import type { ReportsRepository } from '../repositories/reports-repository.ts';
import type { AnalyticsService } from './analytics-service.ts';
import type { RangeInput } from './time-range.ts';

export const REPORT_TYPES = ['transfers', 'downloads', 'usage'] as const satisfies readonly ReportType[];
export const REPORT_FORMATS = ['json', 'csv'] as const satisfies readonly ReportFormat[];

/** The columns of each report, in order: the CSV header and the keys of each JSON row. */
export const REPORT_COLUMNS: Record<ReportType, readonly string[]> = {
  transfers: ['id', 'title', 'state', 'created_at', 'expires_at', 'finalized_at', 'file_count', 'size', 'download_count', 'recipient_count'],
  downloads: ['at', 'started_at', 'transfer_id', 'transfer_title', 'kind', 'file_id', 'file_name', 'recipient_email', 'country', 'user_agent_family', 'bytes_sent', 'completed'],
  usage: ['date', 'downloads', 'downloads_started', 'bytes_downloaded', 'uploads', 'bytes_uploaded', 'api_requests'],
};

export type ReportRow = Record<string, string | number | boolean | null>;

export interface Report {
  type: ReportType;
  from: string;
  to: string;
  rows: AsyncIterable<ReportRow>;
}

/**
 * Reports of an account: its transfers (created in the range), its downloads (one row per
 * download event; raw events are kept FERRY_ANALYTICS_RAW_DAYS) and its usage (one row per day,
 * from the rollups too, so any range up to two years). Rows come as an async iterable read in
 * batches; `stream` turns them into JSON or CSV bytes without holding them.
 */
export class ReportService {
  constructor(
    private readonly reports: ReportsRepository,
    private readonly analytics: AnalyticsService,
  ) {}

  report(userId: string, type: ReportType, input: Pick<RangeInput, 'from' | 'to'>): Report {
    const range = this.analytics.range({ ...input, interval: 'day' });
    const from = range.from.toISOString();
    const to = range.to.toISOString();
    return { type, from, to, rows: this.rows(userId, type, from, to) };
  }

  private async *rows(userId: string, type: ReportType, from: string, to: string): AsyncGenerator<ReportRow> {
    if (type === 'transfers') {
      for await (const t of this.reports.transfers(userId, from, to)) yield pick(REPORT_COLUMNS.transfers, { ...t });
    } else if (type === 'downloads') {
      for await (const d of this.reports.downloads(userId, from, to)) {
        yield pick(REPORT_COLUMNS.downloads, { ...d, user_agent_family: d.ua_family, completed: d.completed === 1 });
      }
    } else {
      const usage = await this.analytics.user(userId, { from, to, interval: 'day', metrics: 'downloads,uploads,api_requests' });
      for (const day of usage.series) {
        yield {
          date: day.start.slice(0, 10),
          downloads: day.downloads ?? 0,
          downloads_started: day.started ?? 0,
          bytes_downloaded: day.bytes ?? 0,
          uploads: day.uploads ?? 0,
          bytes_uploaded: day.upload_bytes ?? 0,
          api_requests: day.api_requests ?? 0,
        };
      }
    }
  }
}

const pick = (columns: readonly string[], row: Record<string, unknown>): ReportRow =>
  Object.fromEntries(columns.map((c) => [c, (row[c] ?? null) as ReportRow[string]]));

/** `{"data":[...]}` or CSV with a header row, produced as the rows arrive. */
export function streamReport(report: Report, format: ReportFormat, limit = Infinity): Readable {
  return format === 'csv' ? csvStream(report, limit) : Readable.from(jsonChunks(report.rows, limit), { objectMode: false });
}

async function* limited(rows: AsyncIterable<ReportRow>, limit: number): AsyncGenerator<ReportRow> {
  let n = 0;
  for await (const row of rows) {
    if (n++ >= limit) return;
    yield row;
  }
}

async function* jsonChunks(rows: AsyncIterable<ReportRow>, limit: number): AsyncGenerator<string> {
  yield '{"data":[';
  let first = true;
  for await (const row of limited(rows, limit)) {
    yield (first ? '' : ',') + JSON.stringify(row);
    first = false;
  }
  yield ']}\n';
}

function csvStream(report: Report, limit: number): Readable {
  const columns = [...REPORT_COLUMNS[report.type]];
  const out = stringify({ header: true, columns, cast: { boolean: (v) => (v ? 'true' : 'false') } });
  const source = Readable.from(limited(report.rows, limit));
  source.on('error', (error) => out.destroy(error));
  return source.pipe(out);
}
