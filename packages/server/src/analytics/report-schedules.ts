import { newId } from '../ids.ts';
import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { Db } from '../db/database.ts';
import type { ReportFormat, ReportInterval, ReportType } from '../db/schema.ts';
import { exponentialDelay, type JobKind } from '../jobs/job-kind.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { parseEmailAddress, scheduledReport } from '../mail/index.ts';
import { EMAIL_CONCURRENCY, EMAIL_RETRY, type MailDelivery } from '../notifications/mail-delivery.ts';
import type { ReportScheduleRow, ReportSchedulesRepository } from '../repositories/report-schedules-repository.ts';
import type { WriteLocksRepository } from '../repositories/write-locks-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import { streamReport, type ReportService } from './report-service.ts';
import { bucketStart, nextBucket, type Interval } from './time-range.ts';

/** Schedules one account may keep. */
export const MAX_SCHEDULES_PER_ACCOUNT = 10;
/** Rows one emailed report carries at most (the API streams any number). */
export const MAX_EMAILED_ROWS = 10_000;
/** Schedules moved on per scan; the next scan takes the rest. */
const SCAN_BATCH = 100;

const UNIT: Record<ReportInterval, Interval> = { daily: 'day', weekly: 'week', monthly: 'month' };

export interface ScheduleInput {
  type: ReportType;
  interval: ReportInterval;
  format?: ReportFormat;
  email?: string;
}

interface ReportJob {
  scheduleId: string;
  from: string;
  to: string;
}

/**
 * Reports emailed every day, week or month (UTC), always to the account's own address: a
 * schedule that could name any address would make Ferry a relay of unsolicited mail. A periodic
 * scan turns each due schedule into one email job per period (deduplicated per schedule and
 * period, written with the schedule's move to its next period), and the job builds the report
 * for the period just ended and sends it through MailDelivery, under the daily email cap.
 */
export class ReportSchedules {
  constructor(
    private readonly deps: {
      db: Db;
      schedules: ReportSchedulesRepository;
      writeLocks: WriteLocksRepository;
      users: UsersRepository;
      reports: ReportService;
      queue: JobQueue;
      delivery: MailDelivery;
      clock: Clock;
      publicUrl: string;
    },
  ) {}

  async create(userId: string, input: ScheduleInput): Promise<ReportScheduleRow & { email: string }> {
    const email = await this.accountEmail(userId);
    if (input.email !== undefined && parseEmailAddress(input.email) !== email) {
      throw fail.validation_failed("Scheduled reports go only to the account's own email address; leave `email` out or give that address.");
    }
    const now = this.deps.clock.now();
    const unit = UNIT[input.interval];
    const row: ReportScheduleRow = {
      id: newId('rsc'),
      user_id: userId,
      type: input.type,
      interval: input.interval,
      format: input.format ?? 'csv',
      created_at: iso(now),
      next_run_at: iso(nextBucket(bucketStart(now, unit), unit)),
      last_run_at: null,
    };
    // The count and the insert take turns per account (a named lock), so racing creations cannot
    // pass the cap together.
    await this.deps.db.transaction().execute(async (tx) => {
      await this.deps.writeLocks.hold(`report_schedules:${userId}`, iso(now), tx);
      if ((await this.deps.schedules.countForUser(userId, tx)) >= MAX_SCHEDULES_PER_ACCOUNT) {
        throw fail.validation_failed(`An account may keep at most ${MAX_SCHEDULES_PER_ACCOUNT} report schedules; delete one first.`);
      }
      await this.deps.schedules.insert(row, tx);
    });
    return { ...row, email };
  }

  async list(userId: string): Promise<(ReportScheduleRow & { email: string })[]> {
    const email = await this.accountEmail(userId);
    return (await this.deps.schedules.listForUser(userId)).map((r) => ({ ...r, email }));
  }

  async remove(userId: string, id: string): Promise<void> {
    if (!(await this.deps.schedules.delete(userId, id))) throw fail.not_found('Report schedule not found.');
  }

  /** Periodic: one email job per due schedule, for the latest period that ended (missed ones are not sent late). */
  readonly scanJob: JobKind<null> = {
    kind: 'reports.scan',
    concurrency: 1,
    maxAttempts: 3,
    retryDelayMs: exponentialDelay(10_000, 120_000),
    run: async () => {
      await this.scan();
    },
  };

  async scan(): Promise<number> {
    const now = this.deps.clock.now();
    let queued = 0;
    for (const schedule of await this.deps.schedules.due(iso(now), SCAN_BATCH)) {
      const unit = UNIT[schedule.interval];
      const periodEnd = bucketStart(now, unit);
      const periodStart = bucketStart(new Date(periodEnd.getTime() - 1), unit);
      const next = iso(nextBucket(periodEnd, unit));
      await this.deps.db.transaction().execute(async (tx) => {
        if (!(await this.deps.schedules.advance(schedule.id, schedule.next_run_at, next, iso(now), tx))) return;
        const payload: ReportJob = { scheduleId: schedule.id, from: iso(periodStart), to: iso(periodEnd) };
        const id = await this.deps.queue.enqueue(
          { kind: this.emailJob.kind, payload, dedupeKey: `report:${schedule.id}:${iso(periodEnd)}`, groupKey: `user:${schedule.user_id}`, maxAttempts: EMAIL_RETRY.maxAttempts },
          tx,
        );
        if (id) queued += 1;
      });
    }
    return queued;
  }

  readonly emailJob: JobKind<ReportJob> = {
    kind: 'email.report',
    concurrency: EMAIL_CONCURRENCY,
    maxAttempts: EMAIL_RETRY.maxAttempts,
    retryDelayMs: EMAIL_RETRY.retryDelayMs,
    run: async ({ scheduleId, from, to }) => {
      // A schedule deleted since the scan sends nothing.
      const schedule = await this.deps.schedules.findById(scheduleId);
      const user = schedule && (await this.deps.users.findById(schedule.user_id));
      if (!schedule || !user) return;
      const report = this.deps.reports.report(schedule.user_id, schedule.type, { from, to });
      let rows = 0;
      let truncated = false;
      const counted = (async function* () {
        for await (const row of report.rows) {
          if (rows === MAX_EMAILED_ROWS) {
            truncated = true;
            return;
          }
          rows += 1;
          yield row;
        }
      })();
      const chunks: Buffer[] = [];
      for await (const chunk of streamReport({ ...report, rows: counted }, schedule.format)) chunks.push(Buffer.from(chunk));
      const firstDay = from.slice(0, 10);
      const lastDay = new Date(Date.parse(to) - 1).toISOString().slice(0, 10);
      const filename = `ferry-${schedule.type}-${firstDay}-to-${lastDay}.${schedule.format}`;
      const rendered = scheduledReport({ type: schedule.type, interval: schedule.interval, firstDay, lastDay, rows, truncated, filename, link: `${this.deps.publicUrl}/docs` });
      await this.deps.delivery.send(schedule.user_id, {
        to: user.email,
        ...rendered,
        headers: { 'X-Ferry-Report-Schedule': schedule.id },
        attachments: [{ filename, content: Buffer.concat(chunks), contentType: schedule.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json' }],
      });
    },
  };

  private async accountEmail(userId: string): Promise<string> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw fail.not_found('Account not found.');
    return user.email.toLowerCase();
  }
}
