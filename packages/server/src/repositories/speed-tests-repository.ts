import type { Db } from '../db/database.ts';
import type { SpeedTestsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type SpeedTestRow = SpeedTestsTable;

/** The speed_tests table (migration 014). Every read an owner makes is scoped to them. */
export class SpeedTestsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: SpeedTestRow, tx: DbOrTx = this.db): Promise<void> {
    await tx.insertInto('speed_tests').values(row).execute();
  }

  findForUser(userId: string, id: string): Promise<SpeedTestRow | undefined> {
    return this.db.selectFrom('speed_tests').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  /** Newest first; the id breaks ties of one millisecond so pages never overlap. */
  listForUser(userId: string, limit: number, offset: number): Promise<SpeedTestRow[]> {
    return this.db
      .selectFrom('speed_tests')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  async countForUser(userId: string): Promise<number> {
    const r = await this.db.selectFrom('speed_tests').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  listPublic(limit: number, offset: number): Promise<SpeedTestRow[]> {
    return this.db
      .selectFrom('speed_tests')
      .selectAll()
      .where('public', '=', 1)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  async countPublic(): Promise<number> {
    const r = await this.db.selectFrom('speed_tests').select((eb) => eb.fn.countAll<number>().as('n')).where('public', '=', 1).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('speed_tests').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
