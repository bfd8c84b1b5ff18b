import type { JobRow } from '../repositories/jobs-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';

/** What a handler may use while it runs one job. */
export interface JobContext {
  /** Aborted when the process shuts down; a handler stops and its job is retried later. */
  signal: AbortSignal;
  /** 1 for the first try. */
  attempt: number;
  /**
   * Marks the job done inside the handler's own transaction, so its writes and its completion
   * commit together (a fan-out retried after a crash never writes twice). Throws when the lease
   * was lost, which rolls that transaction back.
   */
  completeIn(tx: DbOrTx): Promise<void>;
}

/** A handler may ask for its next try no sooner than this (a receiver's Retry-After). */
export interface RetryRequest {
  retryAfterSeconds: number;
  error: string;
}

/** A failure retrying cannot fix: the job ends `failed` at once. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/** A failure worth retrying that needs no stack in the job's record or the log. */
export class RetryableJobError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'RetryableJobError';
  }
}

/** One kind of job: how many run at once, how it retries, and what it does. */
export interface JobKind<P = unknown> {
  kind: string;
  /** Jobs of this kind one process runs at once, so one kind cannot starve the others. */
  concurrency: number;
  /** Jobs of one group_key running at once across every instance (a slow endpoint waits alone). */
  perGroup?: number;
  maxAttempts: number;
  /** Delay in ms before the try after `attempt` failed ones (before scaling and jitter). */
  retryDelayMs(attempt: number): number;
  run(payload: P, job: JobRow, context: JobContext): Promise<void>;
  /** Called once when the job ends failed, to record the failure where its owner sees it. */
  onFailed?(payload: P, job: JobRow, error: string): Promise<void>;
}

/** Exponential: base, 2x base, 4x base... capped. */
export const exponentialDelay =
  (baseMs: number, capMs: number) =>
  (attempt: number): number =>
    Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));

/** A fixed schedule of delays (the last repeats). */
export const scheduledDelay =
  (delaysMs: readonly number[]) =>
  (attempt: number): number =>
    delaysMs[Math.min(attempt - 1, delaysMs.length - 1)] ?? 0;
