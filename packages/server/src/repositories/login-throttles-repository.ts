import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** From the `minFailures`-th failure on, the next attempt may start at `nextAttemptAt`. */
export interface ThrottleStep {
  minFailures: number;
  nextAttemptAt: string;
}

/** Sign-in attempts per subject, shared by every instance through the database. */
export class LoginThrottlesRepository {
  constructor(private readonly db: Db) {}

  /**
   * Counts one attempt as a failure in advance (a success clears the subject afterwards), unless
   * the subject must still wait. One statement does both, so of racing attempts only as many
   * pass as the schedule lets through. Failures are forgotten once `window_ends_at` passes; each
   * attempt moves it to `windowEndsAt`. `steps` (any order) set the next attempt's earliest start
   * from the new failure count; below every step the next attempt may start at once.
   * Answers the new failure count, or null when the attempt must wait.
   */
  async reserveAttempt(subject: string, nowIso: string, windowEndsAt: string, steps: ThrottleStep[]): Promise<number | null> {
    const ordered = [...steps].sort((a, b) => b.minFailures - a.minFailures);
    const nextAfter = (failures: number) => ordered.find((s) => failures >= s.minFailures)?.nextAttemptAt ?? nowIso;
    const failures = sql<number>`case when login_throttles.window_ends_at <= ${nowIso} then 1 else login_throttles.failures + 1 end`;
    const nextAttemptAt =
      ordered.length === 0
        ? sql<string>`${nowIso}`
        : sql<string>`case ${sql.join(ordered.map((s) => sql`when ${failures} >= ${s.minFailures} then ${s.nextAttemptAt}`), sql` `)} else ${nowIso} end`;
    const row = await this.db
      .insertInto('login_throttles')
      .values({ subject, failures: 1, window_ends_at: windowEndsAt, next_attempt_at: nextAfter(1) })
      .onConflict((oc) =>
        oc
          .column('subject')
          .doUpdateSet({ failures, next_attempt_at: nextAttemptAt, window_ends_at: windowEndsAt })
          .where('login_throttles.next_attempt_at', '<=', nowIso),
      )
      .returning('failures')
      .executeTakeFirst();
    return row ? Number(row.failures) : null;
  }

  /** The subject's failures and the earliest start of its next attempt; null when it has none. */
  async find(subject: string): Promise<{ failures: number; nextAttemptAt: string } | null> {
    const row = await this.db.selectFrom('login_throttles').select(['failures', 'next_attempt_at']).where('subject', '=', subject).executeTakeFirst();
    return row ? { failures: Number(row.failures), nextAttemptAt: row.next_attempt_at } : null;
  }

  clear(subject: string): Promise<unknown> {
    return this.db.deleteFrom('login_throttles').where('subject', '=', subject).execute();
  }

  deleteExpired(nowIso: string): Promise<unknown> {
    return this.db.deleteFrom('login_throttles').where('window_ends_at', '<=', nowIso).where('next_attempt_at', '<=', nowIso).execute();
  }
}
