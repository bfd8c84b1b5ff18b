import { newId } from '../ids.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { DomainEvent, EventSubscriber } from '../events/domain-events.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { JobsRepository } from '../repositories/jobs-repository.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';
import type { WebhookDeliveriesRepository, WebhookDeliveryRow } from '../repositories/webhook-deliveries-repository.ts';
import type { WebhookEndpointRow, WebhookEndpointsRepository } from '../repositories/webhook-endpoints-repository.ts';

export const DELIVER_KIND = 'webhook.deliver';
/** The first try and seven retries over about a day (the Svix schedule). */
export const DELIVERY_MAX_ATTEMPTS = 8;

/** What a delivery says: an event of Ferry's, or the test event an owner asks for. */
export interface WebhookEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** The exact body of a delivery; every attempt and redelivery sends these bytes. */
export const deliveryBody = (event: WebhookEvent): string =>
  JSON.stringify({ type: event.type, event: event.type, timestamp: event.occurredAt, data: event.data });

export const subscribes = (endpoint: WebhookEndpointRow, type: string): boolean => {
  const events = JSON.parse(endpoint.events) as string[];
  return events.includes('*') || events.includes(type);
};

const dedupeKey = (delivery: Pick<WebhookDeliveryRow, 'event_id' | 'endpoint_id'>) => `webhook:${delivery.event_id}:${delivery.endpoint_id}`;

/**
 * Turns events into deliveries: one row and one `webhook.deliver` job per subscribed, enabled
 * endpoint, written in the caller's transaction (the event dispatch job's), so a fan-out commits
 * whole or not at all. Jobs are grouped by endpoint, so a slow receiver only holds up its own.
 */
export class WebhookDispatch {
  constructor(
    private readonly endpoints: WebhookEndpointsRepository,
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly jobs: JobsRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  readonly subscriber: EventSubscriber = {
    name: 'webhooks',
    handle: async (event: DomainEvent, tx: DbOrTx) => {
      for (const endpoint of await this.endpoints.listEnabledForUser(event.userId, tx)) {
        if (subscribes(endpoint, event.type)) await this.enqueue(endpoint, event, tx);
      }
    },
  };

  /** Queues one delivery of `event` to `endpoint`; null when it was queued before. */
  async enqueue(endpoint: WebhookEndpointRow, event: WebhookEvent, tx: DbOrTx): Promise<WebhookDeliveryRow | null> {
    const now = iso(this.clock.now());
    const row: WebhookDeliveryRow = {
      id: newId('whd'),
      endpoint_id: endpoint.id,
      user_id: endpoint.user_id,
      event_id: event.id,
      event_type: event.type,
      body: deliveryBody(event),
      state: 'pending',
      attempts: 0,
      response_status: null,
      response_excerpt: null,
      duration_ms: null,
      last_error: null,
      next_attempt_at: now,
      created_at: now,
      delivered_at: null,
    };
    if (!(await this.deliveries.insert(row, tx))) return null;
    await this.queue.enqueue({ kind: DELIVER_KIND, payload: { deliveryId: row.id }, groupKey: ownerGroup(endpoint.user_id), dedupeKey: dedupeKey(row), maxAttempts: DELIVERY_MAX_ATTEMPTS }, tx);
    return row;
  }

  /**
   * Sends a settled delivery again, with its id and body: its job is put back in the queue with a
   * fresh schedule (or written anew when finished jobs were already purged). False when the
   * delivery is still pending (its job will try anyway).
   */
  async redeliver(delivery: WebhookDeliveryRow, tx: DbOrTx): Promise<boolean> {
    const now = iso(this.clock.now());
    if (!(await this.deliveries.reopen(delivery.id, now, tx))) return false;
    const key = dedupeKey(delivery);
    const job = await this.jobs.findByDedupeKey(key, tx);
    if (job) {
      await this.jobs.requeue(job.id, now, tx);
      return true;
    }
    await this.queue.enqueue({ kind: DELIVER_KIND, payload: { deliveryId: delivery.id }, groupKey: ownerGroup(delivery.user_id), dedupeKey: key, maxAttempts: DELIVERY_MAX_ATTEMPTS }, tx);
    return true;
  }
}

/**
 * Deliveries are capped per owner, not per endpoint: one account's slow receivers, however many
 * endpoints it registers, hold at most `perGroup` delivery slots, and every other owner's
 * deliveries keep theirs.
 */
const ownerGroup = (userId: string): string => `webhooks:${userId}`;
