import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { liveAt } from './expiry-predicates.ts';

/** Which events to count: an account's, optionally narrowed to one transfer or one file. */
export interface EventScope {
  userId: string;
  transferId?: string;
  fileId?: string;
}

/** What to group by: a time unit (hour or day) or one dimension. */
export type Grouping = 'hour' | 'day' | 'file' | 'recipient' | 'country' | 'ua' | 'transfer';

export interface Sums {
  /** The group's key (an ISO hour `YYYY-MM-DDTHH` or day `YYYY-MM-DD`, or an id or code; null for none). */
  key: string | null;
  events: number;
  completed: number;
  bytes: number;
}

export interface SpanQuery {
  scope: EventScope;
  /** ISO instants, [from, to). */
  from: string;
  to: string;
  /** Days before this instant (a UTC midnight) are read from the rollups, the rest from raw events; null: raw only. */
  rolledBefore: string | null;
  grouping: Grouping;
}

const RAW_KEYS: Record<Grouping, string> = {
  hour: 'substr(at, 1, 13)',
  day: 'substr(at, 1, 10)',
  file: 'file_id',
  recipient: 'recipient_id',
  country: 'country',
  ua: 'ua_family',
  transfer: 'transfer_id',
};
const ROLLUP_KEYS: Record<Grouping, string> = { ...RAW_KEYS, hour: 'day', day: 'day' };

/**
 * Reads analytics: sums of download and upload events over a span, grouped by time or by one
 * dimension, from the daily rollups where they exist and raw events for the rest; and the
 * account's current figures (storage, active transfers, API requests from the usage counters).
 */
export class AnalyticsQueryRepository {
  constructor(private readonly db: Db) {}

  downloads(query: SpanQuery): Promise<Sums[]> {
    return this.sums('download', query);
  }

  uploads(query: SpanQuery): Promise<Sums[]> {
    return this.sums('upload', query);
  }

  private async sums(metric: 'download' | 'upload', { scope, from, to, rolledBefore, grouping }: SpanQuery): Promise<Sums[]> {
    const parts: Promise<Sums[]>[] = [];
    const rawFrom = rolledBefore !== null && rolledBefore > from ? rolledBefore : from;
    if (rolledBefore !== null && from < rolledBefore) {
      const end = to < rolledBefore ? to : rolledBefore;
      const key = sql.raw(ROLLUP_KEYS[grouping]);
      parts.push(this.run(sql`select ${key} as k, sum(events) as events, sum(completed) as completed, sum(bytes) as bytes
        from analytics_daily where metric = ${metric} and ${scopeWhere(scope, 'file_id')} and day >= ${from.slice(0, 10)} and day < ${end.slice(0, 10)}
        group by ${key}`));
    }
    if (rawFrom < to) {
      const key = sql.raw(metric === 'upload' && grouping === 'file' ? 'id' : RAW_KEYS[grouping]);
      parts.push(
        metric === 'download'
          ? this.run(sql`select ${key} as k, count(*) as events, sum(completed) as completed, sum(bytes_sent) as bytes
              from download_events where ${scopeWhere(scope, 'file_id')} and at >= ${rawFrom} and at < ${to} group by ${key}`)
          : this.run(sql`select ${key} as k, count(*) as events, count(*) as completed, sum(bytes) as bytes
              from upload_events where ${scopeWhere(scope, 'id')} and at >= ${rawFrom} and at < ${to} group by ${key}`),
      );
    }
    return merge((await Promise.all(parts)).flat());
  }

  private async run(query: RawBuilder<unknown>): Promise<Sums[]> {
    const { rows } = await (query as RawBuilder<{ k: string | null; events: unknown; completed: unknown; bytes: unknown }>).execute(this.db);
    return rows.map((r) => ({ key: r.k, events: Number(r.events ?? 0), completed: Number(r.completed ?? 0), bytes: Number(r.bytes ?? 0) }));
  }

  /** API requests per hour or day, from the hourly usage counters the metering keeps (`h:YYYY-MM-DDTHH`). */
  async apiRequests(userId: string, from: string, to: string, unit: 'hour' | 'day'): Promise<Sums[]> {
    const key = sql.raw(unit === 'hour' ? 'substr(period, 3, 13)' : 'substr(period, 3, 10)');
    return this.run(sql`select ${key} as k, sum(usage_counters.count) as events, sum(usage_counters.count) as completed, 0 as bytes from usage_counters
      where user_id = ${userId} and period >= ${`h:${from.slice(0, 13)}`} and period < ${`h:${to.slice(0, 13)}`} group by ${key}`);
  }

  /** Bytes of complete files in the account's transfers not yet purged. */
  async storedBytes(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('files')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .select((eb) => eb.fn.sum<number>('files.size').as('n'))
      .where('transfers.user_id', '=', userId)
      .where('transfers.purged_at', 'is', null)
      .where('files.state', '=', 'complete')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Transfers that can be downloaded now (ready, not deleted, not past their expiry). */
  async activeTransfers(userId: string, nowIso: string): Promise<number> {
    const row = await this.db
      .selectFrom('transfers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .where('state', '=', 'ready')
      .where('deleted_at', 'is', null)
      .where(liveAt('expires_at', nowIso))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async fileNames(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const batch of chunks(ids)) {
      for (const r of await this.db.selectFrom('files').select(['id', 'name']).where('id', 'in', batch).execute()) out.set(r.id, r.name);
    }
    return out;
  }

  async recipientEmails(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const batch of chunks(ids)) {
      for (const r of await this.db.selectFrom('recipients').select(['id', 'email']).where('id', 'in', batch).execute()) out.set(r.id, r.email);
    }
    return out;
  }

  async transferTitles(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const batch of chunks(ids)) {
      for (const r of await this.db.selectFrom('transfers').select(['id', 'title']).where('id', 'in', batch).execute()) out.set(r.id, r.title);
    }
    return out;
  }
}

function scopeWhere(scope: EventScope, fileColumn: 'file_id' | 'id'): RawBuilder<unknown> {
  const parts = [sql`user_id = ${scope.userId}`];
  if (scope.transferId !== undefined) parts.push(sql`transfer_id = ${scope.transferId}`);
  if (scope.fileId !== undefined) parts.push(sql`${sql.ref(fileColumn)} = ${scope.fileId}`);
  return sql.join(parts, sql` and `);
}

function merge(rows: Sums[]): Sums[] {
  const byKey = new Map<string | null, Sums>();
  for (const r of rows) {
    const seen = byKey.get(r.key);
    if (seen) {
      seen.events += r.events;
      seen.completed += r.completed;
      seen.bytes += r.bytes;
    } else byKey.set(r.key, { ...r });
  }
  return [...byKey.values()];
}

function* chunks<T>(items: T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
