import { hostname } from 'node:os';
import { randomBase62 } from '../ids.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { JobRow, JobsRepository } from '../repositories/jobs-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';
import { PermanentJobError, RetryableJobError, type JobKind } from './job-kind.ts';
import type { JobQueue } from './job-queue.ts';

export interface JobWorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WorkerSettings {
  pollMs: number;
  leaseSeconds: number;
  /** Multiplies every retry delay (tests shrink it). */
  backoffScale: number;
}

/** A job kind the worker enqueues itself once per interval (one job per slot across instances). */
export interface PeriodicJob {
  kind: string;
  everySeconds: number;
  maxAttempts: number;
}

const LAST_ERROR_MAX = 1000;

class LeaseLostError extends Error {}

/**
 * The job loop inside every server process: claims due jobs kind by kind, never more than a
 * kind's concurrency at once, renews their leases while they run, and settles each as done,
 * retried with backoff and jitter, or failed. A job whose process dies keeps its lease until it
 * runs out; then any worker takes it over. Delivery is therefore at least once: handlers whose
 * effect leaves the database (an email, a webhook) carry a stable id for the receiver.
 */
export class JobWorker {
  readonly owner = `${hostname()}:${process.pid}:${randomBase62(6)}`;
  private readonly kinds = new Map<string, JobKind<any>>();
  private readonly inflight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly periodic: PeriodicJob[] = [];
  private readonly lastSlot = new Map<string, number>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private started = false;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly settings: WorkerSettings,
    private readonly log: JobWorkerLog,
  ) {}

  register(kind: JobKind<any>): void {
    this.kinds.set(kind.kind, kind);
  }

  every(job: PeriodicJob): void {
    this.periodic.push(job);
  }

  start(): void {
    this.started = true;
    this.queue.listen(() => this.nudge());
    this.timer = setInterval(() => this.nudge(), this.settings.pollMs);
    this.timer.unref();
    this.nudge();
  }

  /** Stops claiming; waits up to `graceMs` for jobs in flight, then aborts them (they retry later). */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking?.catch(() => undefined);
    const settled = Promise.allSettled([...this.running]);
    const timeout = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([settled, timeout]);
    this.abort.abort();
    await settled;
  }

  /** Runs every due job, and those they cause, until none is left (tests; periodic jobs excluded). */
  async drain(maxRounds = 100): Promise<void> {
    for (let round = 0; round < maxRounds; round += 1) {
      const claimed = await this.claimAll();
      await Promise.allSettled([...this.running]);
      if (claimed === 0 && this.running.size === 0) return;
    }
    throw new Error('jobs kept coming after 100 rounds');
  }

  private nudge(): void {
    if (!this.started || this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        try {
          await this.schedulePeriodic();
          await this.claimAll();
        } catch (err) {
          this.log.error({ err }, 'job claim failed');
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.ticking = null;
    });
  }

  private async schedulePeriodic(): Promise<void> {
    const nowMs = this.clock.now().getTime();
    for (const job of this.periodic) {
      const slot = Math.floor(nowMs / (job.everySeconds * 1000)) * job.everySeconds * 1000;
      if (this.lastSlot.get(job.kind) === slot) continue;
      const runAt = new Date(slot);
      await this.queue.enqueue({ kind: job.kind, payload: null, runAt, dedupeKey: `${job.kind}@${iso(runAt)}`, maxAttempts: job.maxAttempts });
      this.lastSlot.set(job.kind, slot);
    }
  }

  private async claimAll(): Promise<number> {
    let claimed = 0;
    for (const kind of this.kinds.values()) {
      const free = kind.concurrency - (this.inflight.get(kind.kind) ?? 0);
      if (free <= 0) continue;
      const now = this.clock.now();
      const rows = await this.jobs.claim({
        kind: kind.kind,
        limit: free,
        owner: this.owner,
        nowIso: iso(now),
        leaseUntilIso: this.leaseEnd(),
        perGroup: kind.perGroup ?? null,
      });
      claimed += rows.length;
      for (const row of rows) this.track(kind, row);
    }
    return claimed;
  }

  private track(kind: JobKind<any>, row: JobRow): void {
    this.inflight.set(kind.kind, (this.inflight.get(kind.kind) ?? 0) + 1);
    const run = this.run(kind, row).finally(() => {
      this.inflight.set(kind.kind, (this.inflight.get(kind.kind) ?? 1) - 1);
      this.running.delete(run);
      this.nudge();
    });
    this.running.add(run);
  }

  private async run(kind: JobKind<any>, row: JobRow): Promise<void> {
    const heartbeat = setInterval(() => {
      void this.jobs.extendLease(row.id, this.owner, this.leaseEnd()).catch(() => undefined);
    }, Math.max(500, (this.settings.leaseSeconds * 1000) / 3));
    heartbeat.unref();
    let completed = false;
    const context = {
      signal: this.abort.signal,
      attempt: row.attempts,
      completeIn: async (tx: DbOrTx) => {
        if (!(await this.jobs.settle(row.id, this.owner, { state: 'done', error: null, nowIso: iso(this.clock.now()) }, tx))) throw new LeaseLostError('lease lost');
        completed = true;
      },
    };
    try {
      await kind.run(JSON.parse(row.payload), row, context);
      if (!completed) await this.jobs.settle(row.id, this.owner, { state: 'done', error: null, nowIso: iso(this.clock.now()) });
    } catch (error) {
      await this.settleFailure(kind, row, error).catch((err) => this.log.error({ err, job: row.id }, 'could not record a job failure'));
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async settleFailure(kind: JobKind<any>, row: JobRow, error: unknown): Promise<void> {
    if (error instanceof LeaseLostError) return;
    const message = (error instanceof Error ? error.message : String(error)).slice(0, LAST_ERROR_MAX);
    const now = this.clock.now();
    const permanent = error instanceof PermanentJobError;
    const shuttingDown = this.abort.signal.aborted;
    if (!permanent && (row.attempts < row.max_attempts || shuttingDown)) {
      const retryAfterMs = error instanceof RetryableJobError && error.retryAfterSeconds !== null ? error.retryAfterSeconds * 1000 : 0;
      const jitter = 0.8 + Math.random() * 0.4;
      const delay = Math.max(kind.retryDelayMs(row.attempts) * this.settings.backoffScale * jitter, retryAfterMs);
      const runAt = iso(new Date(now.getTime() + delay));
      await this.jobs.settle(row.id, this.owner, { state: 'queued', runAt, error: message, nowIso: iso(now) });
      if (!(error instanceof RetryableJobError)) this.log.warn({ job: row.id, kind: row.kind, attempt: row.attempts, err: error }, 'job failed; will retry');
      return;
    }
    if (await this.jobs.settle(row.id, this.owner, { state: 'failed', error: message, nowIso: iso(now) })) {
      this.log.error({ job: row.id, kind: row.kind, attempts: row.attempts, error: message }, 'job failed for good');
      await kind.onFailed?.(JSON.parse(row.payload), row, message);
    }
  }

  private leaseEnd(): string {
    return iso(new Date(this.clock.now().getTime() + this.settings.leaseSeconds * 1000));
  }
}
