import type { Db } from '../db/database.ts';
import type { WebhookDeliveriesTable, WebhookDeliveryState } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type WebhookDeliveryRow = WebhookDeliveriesTable;

/** What one attempt leaves on its delivery. */
export interface DeliveryAttempt {
  state: WebhookDeliveryState;
  response_status: number | null;
  response_excerpt: string | null;
  duration_ms: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at?: string | null;
}

export interface DeliveryListQuery {
  endpointId: string;
  state?: WebhookDeliveryState;
  limit: number;
  offset: number;
}

/** The webhook_deliveries table (migration 010). */
export class WebhookDeliveriesRepository {
  constructor(private readonly db: Db) {}

  /** False when this event already has a delivery to this endpoint (nothing is written). */
  async insert(row: WebhookDeliveryRow, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .insertInto('webhook_deliveries')
      .values(row)
      .onConflict((oc) => oc.columns(['event_id', 'endpoint_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /** Forgets settled deliveries made before `beforeIso` (the deliveries log keeps 30 days). */
  async deleteSettledBefore(beforeIso: string): Promise<number> {
    const r = await this.db.deleteFrom('webhook_deliveries').where('state', 'in', ['succeeded', 'failed']).where('created_at', '<', beforeIso).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  findById(id: string, tx: DbOrTx = this.db): Promise<WebhookDeliveryRow | undefined> {
    return tx.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findForUser(userId: string, id: string): Promise<WebhookDeliveryRow | undefined> {
    return this.db.selectFrom('webhook_deliveries').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  }

  /** Newest first. */
  async list(query: DeliveryListQuery): Promise<{ rows: WebhookDeliveryRow[]; total: number }> {
    let base = this.db.selectFrom('webhook_deliveries').where('endpoint_id', '=', query.endpointId);
    if (query.state) base = base.where('state', '=', query.state);
    const rows = await base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).offset(query.offset).execute();
    const { total } = await base.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow();
    return { rows, total: Number(total) };
  }

  /** Records an attempt on a pending delivery, counting it; false when it was settled meanwhile. */
  async recordAttempt(id: string, attempt: DeliveryAttempt, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('webhook_deliveries')
      .set((eb) => ({ ...attempt, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Ends a pending delivery as failed without an attempt (its job gave up, or it cannot be sent). */
  async fail(id: string, error: string, tx: DbOrTx = this.db): Promise<void> {
    await tx
      .updateTable('webhook_deliveries')
      .set({ state: 'failed', last_error: error, next_attempt_at: null })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  }

  /** Puts a settled delivery back to pending for a redelivery; false when it is still pending. */
  async reopen(id: string, nowIso: string, tx: DbOrTx): Promise<boolean> {
    const r = await tx
      .updateTable('webhook_deliveries')
      .set({ state: 'pending', next_attempt_at: nowIso })
      .where('id', '=', id)
      .where('state', '!=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
