import type { Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ReportSchedulesTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type ReportScheduleRow = Selectable<ReportSchedulesTable>;

/** Scheduled reports (migration 013). */
export class ReportSchedulesRepository {
  constructor(private readonly db: Db) {}

  async insert(row: ReportScheduleRow, tx: DbOrTx = this.db): Promise<void> {
    await tx.insertInto('report_schedules').values(row).execute();
  }

  listForUser(userId: string): Promise<ReportScheduleRow[]> {
    return this.db.selectFrom('report_schedules').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
  }

  async countForUser(userId: string, tx: DbOrTx = this.db): Promise<number> {
    const row = await tx.selectFrom('report_schedules').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  findById(id: string): Promise<ReportScheduleRow | undefined> {
    return this.db.selectFrom('report_schedules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('report_schedules').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  due(nowIso: string, limit: number): Promise<ReportScheduleRow[]> {
    return this.db.selectFrom('report_schedules').selectAll().where('next_run_at', '<=', nowIso).orderBy('next_run_at').limit(limit).execute();
  }

  /** Moves a schedule on from the run it was due for; false when another worker already did. */
  async advance(id: string, dueAt: string, nextRunAt: string, nowIso: string, tx: DbOrTx): Promise<boolean> {
    const r = await tx
      .updateTable('report_schedules')
      .set({ next_run_at: nextRunAt, last_run_at: nowIso })
      .where('id', '=', id)
      .where('next_run_at', '=', dueAt)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
