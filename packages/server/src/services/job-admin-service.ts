import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { JobRow, JobsRepository } from '../repositories/jobs-repository.ts';
import type { JobState } from '../db/schema.ts';

export interface JobView {
  id: string;
  kind: string;
  state: JobState;
  attempts: number;
  max_attempts: number;
  run_at: string;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/**
 * What an operator sees of the job queue: counts, the jobs themselves (failed ones stay for 30
 * days) and a retry. Payloads are not shown: they may name recipients of other accounts.
 */
export class JobAdminService {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly clock: Clock,
  ) {}

  async list(query: { state?: JobState; kind?: string; limit: number; offset: number }): Promise<{ rows: JobView[]; total: number; counts: Record<string, number> }> {
    const { rows, total } = await this.jobs.list(query);
    return { rows: rows.map(view), total, counts: await this.jobs.countByState() };
  }

  /** Jobs in each state (queued, running, done, failed); a state with none is 0. */
  async counts(): Promise<Record<JobState, number>> {
    const counts = await this.jobs.countByState();
    return { queued: counts.queued ?? 0, running: counts.running ?? 0, done: counts.done ?? 0, failed: counts.failed ?? 0 };
  }

  /** Runs a finished job again from its first attempt (a failed email after the mail server is fixed). */
  async retry(id: string): Promise<JobView> {
    if (!(await this.jobs.requeue(id, iso(this.clock.now())))) {
      const job = await this.jobs.findById(id);
      if (!job) throw fail.not_found('Job not found.');
      throw fail.job_not_finished(`The job is ${job.state}; only done or failed jobs can be run again.`);
    }
    return view((await this.jobs.findById(id))!);
  }
}

function view(row: JobRow): JobView {
  const { id, kind, state, attempts, max_attempts, run_at, last_error, created_at, updated_at, finished_at } = row;
  return { id, kind, state, attempts, max_attempts, run_at, last_error, created_at, updated_at, finished_at };
}
