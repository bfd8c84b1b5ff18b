import { newId } from '../ids.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { JobsRepository } from '../repositories/jobs-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';

export interface JobInput {
  kind: string;
  payload: unknown;
  /** Not before this time (default: now). */
  runAt?: Date;
  /** A second job with the same key is not written (the first stands, whatever its state). */
  dedupeKey?: string;
  /** Jobs sharing a group are bounded together (see JobKind.perGroup). */
  groupKey?: string;
  maxAttempts: number;
}

/**
 * Writes jobs. Pass the transaction of the change that causes the job, so both commit or
 * neither does; the worker of this process is nudged so the job need not wait for a poll.
 */
export class JobQueue {
  private onEnqueue: () => void = () => undefined;

  constructor(
    private readonly jobs: JobsRepository,
    private readonly clock: Clock,
  ) {}

  /** The worker that should hear of new jobs at once (the poll finds them anyway). */
  listen(onEnqueue: () => void): void {
    this.onEnqueue = onEnqueue;
  }

  /** Answers the new job's id, or null when its dedupe key already existed. */
  async enqueue(input: JobInput, tx?: DbOrTx): Promise<string | null> {
    const now = iso(this.clock.now());
    const id = newId('job');
    const written = await this.jobs.insert(
      {
        id,
        kind: input.kind,
        payload: JSON.stringify(input.payload ?? null),
        state: 'queued',
        group_key: input.groupKey ?? null,
        dedupe_key: input.dedupeKey ?? null,
        attempts: 0,
        max_attempts: input.maxAttempts,
        run_at: input.runAt ? iso(input.runAt) : now,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        finished_at: null,
      },
      tx,
    );
    if (written) this.onEnqueue();
    return written ? id : null;
  }
}
