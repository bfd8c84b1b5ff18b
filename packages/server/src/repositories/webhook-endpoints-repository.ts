import type { Db } from '../db/database.ts';
import type { WebhookEndpointsTable } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type WebhookEndpointRow = WebhookEndpointsTable;

/** The webhook_endpoints table (migration 010). Every read an owner makes is scoped to them. */
export class WebhookEndpointsRepository {
  constructor(private readonly db: Db) {}

  async insert(row: WebhookEndpointRow, tx: DbOrTx = this.db): Promise<void> {
    await tx.insertInto('webhook_endpoints').values(row).execute();
  }

  findById(id: string, tx: DbOrTx = this.db): Promise<WebhookEndpointRow | undefined> {
    return tx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findForUser(userId: string, id: string): Promise<WebhookEndpointRow | undefined> {
    return this.db.selectFrom('webhook_endpoints').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  listForUser(userId: string, limit: number, offset: number): Promise<WebhookEndpointRow[]> {
    return this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
  }

  /** The owner's enabled endpoints (few: the per-account cap bounds them), for a fan-out. */
  listEnabledForUser(userId: string, tx: DbOrTx = this.db): Promise<WebhookEndpointRow[]> {
    return tx.selectFrom('webhook_endpoints').selectAll().where('user_id', '=', userId).where('enabled', '=', 1).orderBy('created_at').execute();
  }

  async countForUser(userId: string, tx: DbOrTx = this.db): Promise<number> {
    const r = await tx
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async update(userId: string, id: string, changes: Partial<WebhookEndpointRow>, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx.updateTable('webhook_endpoints').set(changes).where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async delete(userId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('webhook_endpoints').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Starts a run of failures unless one is running; answers the row as it is now. */
  async markFailing(id: string, nowIso: string, tx: DbOrTx): Promise<WebhookEndpointRow | undefined> {
    await tx.updateTable('webhook_endpoints').set({ failing_since: nowIso }).where('id', '=', id).where('failing_since', 'is', null).execute();
    return this.findById(id, tx);
  }

  async clearFailing(id: string, tx: DbOrTx): Promise<void> {
    await tx.updateTable('webhook_endpoints').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
  }

  /** Disables an enabled endpoint; true only for the call that did it (racing callers get false). */
  async disable(id: string, reason: string, nowIso: string, tx: DbOrTx): Promise<boolean> {
    const r = await tx
      .updateTable('webhook_endpoints')
      .set({ enabled: 0, disabled_at: nowIso, disabled_reason: reason, updated_at: nowIso })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
