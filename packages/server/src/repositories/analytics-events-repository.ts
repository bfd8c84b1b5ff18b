import { sql, type Insertable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { DownloadEventsTable, UploadEventsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type DownloadEventRow = Insertable<DownloadEventsTable>;
export type UploadEventRow = Insertable<UploadEventsTable>;

/** `YYYY-MM-DD` + one day. */
export const nextDay = (day: string): string => new Date(Date.parse(`${day}T00:00:00.000Z`) + 86_400_000).toISOString().slice(0, 10);

/**
 * The raw analytics events (migration 013) and their daily rollup: writing, rolling up, forgetting.
 * Timestamps are ISO text on both dialects, so a day is the range [`<day>T`, next day).
 */
export class AnalyticsEventsRepository {
  constructor(private readonly db: Db) {}

  async insertDownload(row: DownloadEventRow, tx: DbOrTx = this.db): Promise<void> {
    await tx.insertInto('download_events').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
  }

  async insertUpload(row: UploadEventRow, tx: DbOrTx = this.db): Promise<void> {
    await tx.insertInto('upload_events').values(row).onConflict((oc) => oc.column('id').doNothing()).execute();
  }

  /** The last day rolled up, or null before the first rollup. */
  async lastRolledDay(tx: DbOrTx = this.db): Promise<string | null> {
    const row = await tx.selectFrom('analytics_rollup_days').select((eb) => eb.fn.max('day').as('day')).executeTakeFirst();
    return (row?.day as string | null | undefined) ?? null;
  }

  /** The day of the oldest raw event, or null when there is none. */
  async oldestRawDay(): Promise<string | null> {
    const [d, u] = await Promise.all([
      this.db.selectFrom('download_events').select((eb) => eb.fn.min('at').as('at')).executeTakeFirst(),
      this.db.selectFrom('upload_events').select((eb) => eb.fn.min('at').as('at')).executeTakeFirst(),
    ]);
    const times = [d?.at, u?.at].filter((t): t is string => typeof t === 'string');
    return times.length === 0 ? null : times.sort()[0]!.slice(0, 10);
  }

  /**
   * Replaces the rollup rows of `day` with the sums of its raw events and marks the day rolled,
   * in the caller's transaction (which holds the rollup lock, so two runs never interleave).
   */
  async rollUpDay(day: string, nowIso: string, tx: DbOrTx): Promise<void> {
    const start = `${day}T00:00:00.000Z`;
    const end = `${nextDay(day)}T00:00:00.000Z`;
    await tx.deleteFrom('analytics_daily').where('day', '=', day).execute();
    await tx
      .insertInto('analytics_daily')
      .columns(['day', 'metric', 'user_id', 'transfer_id', 'file_id', 'recipient_id', 'country', 'ua_family', 'events', 'completed', 'bytes'])
      .expression(
        tx
          .selectFrom('download_events')
          .select([
            sql<string>`cast(${day} as text)`.as('day'),
            sql<string>`'download'`.as('metric'),
            'user_id',
            'transfer_id',
            'file_id',
            'recipient_id',
            'country',
            'ua_family',
            (eb) => eb.fn.countAll().as('events'),
            (eb) => eb.fn.sum('completed').as('completed'),
            (eb) => eb.fn.sum('bytes_sent').as('bytes'),
          ])
          .where('at', '>=', start)
          .where('at', '<', end)
          .groupBy(['user_id', 'transfer_id', 'file_id', 'recipient_id', 'country', 'ua_family']),
      )
      .execute();
    await tx
      .insertInto('analytics_daily')
      .columns(['day', 'metric', 'user_id', 'transfer_id', 'file_id', 'events', 'completed', 'bytes'])
      .expression(
        tx
          .selectFrom('upload_events')
          .select([
            sql<string>`cast(${day} as text)`.as('day'),
            sql<string>`'upload'`.as('metric'),
            'user_id',
            'transfer_id',
            'id',
            (eb) => eb.fn.countAll().as('events'),
            (eb) => eb.fn.countAll().as('completed'),
            (eb) => eb.fn.sum('bytes').as('bytes'),
          ])
          .where('at', '>=', start)
          .where('at', '<', end)
          .groupBy(['user_id', 'transfer_id', 'id']),
      )
      .execute();
    await tx
      .insertInto('analytics_rollup_days')
      .values({ day, rolled_at: nowIso })
      .onConflict((oc) => oc.column('day').doUpdateSet({ rolled_at: nowIso }))
      .execute();
  }

  /** Forgets raw events before `beforeIso`; answers how many went. */
  async deleteRawBefore(beforeIso: string): Promise<number> {
    const d = await this.db.deleteFrom('download_events').where('at', '<', beforeIso).executeTakeFirst();
    const u = await this.db.deleteFrom('upload_events').where('at', '<', beforeIso).executeTakeFirst();
    return Number(d.numDeletedRows) + Number(u.numDeletedRows);
  }
}
