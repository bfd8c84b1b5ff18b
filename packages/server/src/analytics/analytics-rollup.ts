import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { exponentialDelay, type JobKind } from '../jobs/job-kind.ts';
import { nextDay, type AnalyticsEventsRepository } from '../repositories/analytics-events-repository.ts';
import type { WriteLocksRepository } from '../repositories/write-locks-repository.ts';

const DAY_MS = 86_400_000;
/** A day is rolled up once it ended this long ago, so downloads settling at midnight are in it. */
const SETTLE_MS = 5 * 60_000;

export interface RollupResult {
  rolled: string[];
  deleted: number;
}

/**
 * The periodic rollup: sums every finished day's raw events into analytics_daily (rewriting the
 * day whole, so a rerun changes nothing, and the last day rolled is rolled again to take in late
 * arrivals), then forgets raw events older than FERRY_ANALYTICS_RAW_DAYS, but never of a day not
 * yet rolled up.
 */
export class AnalyticsRollup {
  constructor(
    private readonly deps: { db: Db; events: AnalyticsEventsRepository; writeLocks: WriteLocksRepository; clock: Clock; rawDays: number },
  ) {}

  readonly jobKind: JobKind<null> = {
    kind: 'analytics.rollup',
    concurrency: 1,
    maxAttempts: 3,
    retryDelayMs: exponentialDelay(30_000, 600_000),
    run: async () => {
      await this.run();
    },
  };

  async run(): Promise<RollupResult> {
    const { db, events, writeLocks, clock, rawDays } = this.deps;
    const now = clock.now();
    const lastComplete = new Date(Math.floor((now.getTime() - SETTLE_MS) / DAY_MS) * DAY_MS - DAY_MS).toISOString().slice(0, 10);
    const rolled: string[] = [];
    let day = (await events.lastRolledDay()) ?? (await events.oldestRawDay());
    for (; day !== null && day <= lastComplete; day = nextDay(day)) {
      const current = day;
      await db.transaction().execute(async (tx) => {
        await writeLocks.hold('analytics_rollup', now.toISOString(), tx);
        await events.rollUpDay(current, now.toISOString(), tx);
      });
      rolled.push(current);
    }
    const last = await events.lastRolledDay();
    if (last === null) return { rolled, deleted: 0 };
    const retentionEdge = new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS - rawDays * DAY_MS).toISOString();
    const rolledEdge = `${nextDay(last)}T00:00:00.000Z`;
    const deleted = await events.deleteRawBefore(retentionEdge < rolledEdge ? retentionEdge : rolledEdge);
    return { rolled, deleted };
  }
}
