import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { isExpired } from '../domain/expiry.ts';
import { expiredAt } from './expiry-predicates.ts';

/**
 * Fixed-window counters kept in the database, so every instance sees the same numbers
 * (a later issue moves the hot ones to Redis behind the same methods).
 */
export class CountersRepository {
  constructor(private readonly db: Db) {}

  /** Adds one to `bucket` in its current window and answers the new count and when it resets. */
  async hit(bucket: string, now: Date, windowSeconds: number): Promise<{ count: number; resetsAt: Date }> {
    const nowIso = now.toISOString();
    const endsIso = new Date(now.getTime() + windowSeconds * 1000).toISOString();
    const windowOver = expiredAt('rate_counters.window_ends_at', nowIso);
    const row = await this.db
      .insertInto('rate_counters')
      .values({ bucket, count: 1, window_ends_at: endsIso })
      .onConflict((oc) =>
        oc.column('bucket').doUpdateSet({
          count: sql`case when ${windowOver} then 1 else rate_counters.count + 1 end`,
          window_ends_at: sql`case when ${windowOver} then ${endsIso} else rate_counters.window_ends_at end`,
        }),
      )
      .returning(['count', 'window_ends_at'])
      .executeTakeFirstOrThrow();
    return { count: Number(row.count), resetsAt: new Date(row.window_ends_at) };
  }

  /** Current count of a bucket without adding to it (0 once its window has passed). */
  async peek(bucket: string, now: Date): Promise<{ count: number; resetsAt: Date | null }> {
    const row = await this.db.selectFrom('rate_counters').selectAll().where('bucket', '=', bucket).executeTakeFirst();
    if (!row || isExpired(row.window_ends_at, now)) return { count: 0, resetsAt: null };
    return { count: Number(row.count), resetsAt: new Date(row.window_ends_at) };
  }

  deleteExpired(now: Date): Promise<unknown> {
    return this.db.deleteFrom('rate_counters').where(expiredAt('window_ends_at', now.toISOString())).execute();
  }

  /** Adds one to a user's usage counter for each period given (e.g. a month and an hour). */
  async addUsage(userId: string, periods: string[]): Promise<void> {
    for (const period of periods) {
      await this.db
        .insertInto('usage_counters')
        .values({ user_id: userId, period, count: 1 })
        .onConflict((oc) => oc.columns(['user_id', 'period']).doUpdateSet({ count: sql`usage_counters.count + 1` }))
        .execute();
    }
  }

  async sumUsage(userId: string, periods: string[]): Promise<number> {
    if (periods.length === 0) return 0;
    const row = await this.db
      .selectFrom('usage_counters')
      .select((eb) => eb.fn.sum<number>('count').as('n'))
      .where('user_id', '=', userId)
      .where('period', 'in', periods)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
