import { sql, type ExpressionBuilder, type Selectable } from 'kysely';
import { isPostgres, type Db } from '../db/database.ts';
import type { Database, JobsTable, JobState } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type JobRow = Selectable<JobsTable>;

export interface ClaimRequest {
  kind: string;
  limit: number;
  owner: string;
  nowIso: string;
  leaseUntilIso: string;
  /** At most this many jobs of one group_key run at once, across every instance. */
  perGroup: number | null;
}

export interface JobListQuery {
  kind?: string;
  state?: JobState;
  limit: number;
  offset: number;
}

/** The jobs table (migration 008): enqueue, claim with a lease, and settle. */
export class JobsRepository {
  private readonly skipLocked: boolean;

  constructor(private readonly db: Db) {
    this.skipLocked = isPostgres(db);
  }

  /** Answers false when a job with the same dedupe_key already exists (nothing is written). */
  async insert(row: JobRow, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) => oc.column('dedupe_key').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /**
   * Takes up to `limit` due jobs of `kind`: queued ones whose time has come and running ones
   * whose lease ran out (their worker died). The claim is one UPDATE, so a job is never claimed
   * twice: PostgreSQL skips rows another instance is claiming, SQLite runs one writer at a time.
   * With `perGroup`, the candidates are first ranked within their group, so one claim never
   * takes more of a group than its running jobs leave room for (racing instances may overshoot
   * by what they claim at the same moment).
   */
  async claim(request: ClaimRequest): Promise<JobRow[]> {
    const { kind, limit, owner, nowIso, leaseUntilIso, perGroup } = request;
    const isDue = (eb: ExpressionBuilder<Database, 'jobs'>) =>
      eb.and([
        eb('kind', '=', kind),
        eb.or([
          eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', nowIso)]),
          eb.and([eb('state', '=', 'running'), eb('lease_expires_at', '<=', nowIso)]),
        ]),
      ]);
    let due = this.db.selectFrom('jobs').select('id').where(isDue).orderBy('run_at').limit(limit);
    if (perGroup !== null) {
      const ids = await this.groupFairCandidates(kind, nowIso, limit, perGroup);
      if (ids.length === 0) return [];
      due = due.where('id', 'in', ids);
    }
    if (this.skipLocked) due = due.forUpdate().skipLocked();
    return this.db
      .updateTable('jobs')
      .set({
        state: 'running',
        lease_owner: owner,
        lease_expires_at: leaseUntilIso,
        attempts: sql`attempts + 1`,
        updated_at: nowIso,
      })
      .where('id', 'in', due)
      .returningAll()
      .execute();
  }

  /** Due jobs, oldest first, at most `perGroup` per group counting the group's running ones. */
  private async groupFairCandidates(kind: string, nowIso: string, limit: number, perGroup: number): Promise<string[]> {
    const running = await this.db
      .selectFrom('jobs')
      .select(['group_key', (eb) => eb.fn.countAll<number>().as('n')])
      .where('kind', '=', kind)
      .where('state', '=', 'running')
      .where('lease_expires_at', '>', nowIso)
      .where('group_key', 'is not', null)
      .groupBy('group_key')
      .execute();
    const busy = new Map(running.map((r) => [r.group_key!, Number(r.n)]));
    const ranked = await sql<{ id: string; group_key: string | null; rank: number }>`
      select id, group_key, row_number() over (partition by group_key order by run_at, id) as rank
      from jobs
      where kind = ${kind}
        and ((state = 'queued' and run_at <= ${nowIso}) or (state = 'running' and lease_expires_at <= ${nowIso}))
      order by run_at, id
      limit ${limit * perGroup + 100}`.execute(this.db);
    // The window ranks within the rows read; ranking again here keeps the cap exact for them.
    const taken = new Map<string, number>();
    const ids: string[] = [];
    for (const row of ranked.rows) {
      if (ids.length >= limit) break;
      if (row.group_key === null) {
        ids.push(row.id);
        continue;
      }
      const used = (busy.get(row.group_key) ?? 0) + (taken.get(row.group_key) ?? 0);
      if (used >= perGroup) continue;
      taken.set(row.group_key, (taken.get(row.group_key) ?? 0) + 1);
      ids.push(row.id);
    }
    return ids;
  }

  /** Keeps a running job's lease; false when it was lost (taken over or settled). */
  async extendLease(id: string, owner: string, untilIso: string): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_expires_at: untilIso })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Settles a job this worker holds; false when the lease was lost meanwhile. */
  async settle(
    id: string,
    owner: string,
    change: { state: JobState; runAt?: string; error?: string | null; nowIso: string },
    tx: DbOrTx = this.db,
  ): Promise<boolean> {
    const finished = change.state === 'done' || change.state === 'failed';
    const r = await tx
      .updateTable('jobs')
      .set({
        state: change.state,
        ...(change.runAt ? { run_at: change.runAt } : {}),
        ...(change.error !== undefined ? { last_error: change.error } : {}),
        // A settled job keeps the worker that settled it (which instance sent that email).
        lease_owner: finished ? owner : null,
        lease_expires_at: null,
        updated_at: change.nowIso,
        finished_at: finished ? change.nowIso : null,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  findById(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByDedupeKey(key: string, tx: DbOrTx = this.db): Promise<JobRow | undefined> {
    return tx.selectFrom('jobs').selectAll().where('dedupe_key', '=', key).executeTakeFirst();
  }

  /** Puts a settled job back in the queue at once (an operator's or owner's retry). */
  async requeue(id: string, nowIso: string, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('jobs')
      .set({ state: 'queued', run_at: nowIso, attempts: 0, updated_at: nowIso, finished_at: null })
      .where('id', '=', id)
      .where('state', 'in', ['done', 'failed'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async list(query: JobListQuery): Promise<{ rows: JobRow[]; total: number }> {
    let base = this.db.selectFrom('jobs');
    if (query.kind) base = base.where('kind', '=', query.kind);
    if (query.state) base = base.where('state', '=', query.state);
    const rows = await base.selectAll().orderBy('created_at', 'desc').orderBy('id').limit(query.limit).offset(query.offset).execute();
    const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows, total: Number(total) };
  }

  async countByState(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('jobs').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Forgets finished jobs: done ones after `doneBeforeIso`, failed ones after `failedBeforeIso`. */
  async deleteFinished(doneBeforeIso: string, failedBeforeIso: string): Promise<number> {
    const r = await this.db
      .deleteFrom('jobs')
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'done'), eb('finished_at', '<', doneBeforeIso)]),
          eb.and([eb('state', '=', 'failed'), eb('finished_at', '<', failedBeforeIso)]),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
