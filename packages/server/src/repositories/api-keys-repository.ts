import type { Db } from '../db/database.ts';
import type { DbOrTx } from './transfers-repository.ts';
import type { ApiKeysTable } from '../db/schema.ts';

export type ApiKeyRow = ApiKeysTable;

export class ApiKeysRepository {
  constructor(private readonly db: Db) {}

  insert(row: ApiKeyRow): Promise<unknown> {
    return this.db.insertInto('api_keys').values(row).execute();
  }

  findByPrefix(prefix: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('prefix', '=', prefix).executeTakeFirst();
  }

  findForUser(userId: string, id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  listForUser(userId: string, limit: number, offset: number): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  countForUser(userId: string): Promise<number> {
    return this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  async update(userId: string, id: string, changes: Partial<ApiKeyRow>): Promise<ApiKeyRow | undefined> {
    await this.db.updateTable('api_keys').set(changes).where('user_id', '=', userId).where('id', '=', id).execute();
    return this.findForUser(userId, id);
  }

  /**
   * Records a use unless one was recorded after `staleBeforeIso`; answers whether this call did,
   * so of racing requests exactly one speaks for the minute.
   */
  async touch(id: string, nowIso: string, staleBeforeIso: string, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('api_keys')
      .set({ last_used_at: nowIso })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBeforeIso)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('api_keys').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
}
