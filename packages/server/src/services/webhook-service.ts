import { newId } from '../ids.ts';
import { fail } from '../errors.ts';
import type { Db } from '../db/database.ts';
import type { WebhookDeliveryState } from '../db/schema.ts';
import { iso, type Clock } from '../domain/clock.ts';
import { isEventType } from '../events/event-types.ts';
import type { WebhookDeliveriesRepository, WebhookDeliveryRow } from '../repositories/webhook-deliveries-repository.ts';
import type { WebhookEndpointRow, WebhookEndpointsRepository } from '../repositories/webhook-endpoints-repository.ts';
import type { WriteLocksRepository } from '../repositories/write-locks-repository.ts';
import type { SecretBox } from '../webhooks/secret-box.ts';
import type { WebhookDispatch } from '../webhooks/webhook-dispatch.ts';
import { generateWebhookSecret } from '../webhooks/webhook-signing.ts';
import { checkWebhookUrl, systemResolver, type Resolver, type WebhookPolicy } from '../webhooks/webhook-url.ts';

/** How long the secret before a rotation keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;
export const TEST_EVENT_TYPE = 'webhook.test';
const MAX_DESCRIPTION = 500;

export interface WebhookServiceDeps {
  db: Db;
  endpoints: WebhookEndpointsRepository;
  deliveries: WebhookDeliveriesRepository;
  writeLocks: WriteLocksRepository;
  dispatch: WebhookDispatch;
  box: SecretBox;
  clock: Clock;
  policy: WebhookPolicy;
  maxPerAccount: number;
  resolve?: Resolver;
}

export interface WebhookInput {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

/**
 * An account's webhook endpoints: URLs checked against the SSRF policy at registration and on
 * every change, secrets shown once and stored sealed, a cap per account, test deliveries and
 * redeliveries. Endpoints and deliveries of another account are not found.
 */
export class WebhookService {
  constructor(private readonly deps: WebhookServiceDeps) {}

  async create(userId: string, input: Required<Pick<WebhookInput, 'url' | 'events'>> & WebhookInput): Promise<{ row: WebhookEndpointRow; secret: string }> {
    const { db, endpoints, writeLocks, box, clock, maxPerAccount } = this.deps;
    const url = await this.checkUrl(input.url);
    const now = iso(clock.now());
    const id = newId('wh');
    const secret = generateWebhookSecret();
    const row: WebhookEndpointRow = {
      id,
      user_id: userId,
      url,
      description: checkDescription(input.description),
      events: JSON.stringify(checkEvents(input.events)),
      secret: box.seal(secret, id),
      previous_secret: null,
      previous_secret_expires_at: null,
      enabled: 1,
      disabled_at: null,
      disabled_reason: null,
      failing_since: null,
      created_at: now,
      updated_at: now,
    };
    // The account's lock makes count-then-insert one step: racing creations take turns.
    await db.transaction().execute(async (tx) => {
      await writeLocks.hold(`webhook_endpoints:${userId}`, now, tx);
      if ((await endpoints.countForUser(userId, tx)) >= maxPerAccount) {
        throw fail.webhook_limit_reached(`An account may have at most ${maxPerAccount} webhook endpoints; delete one first.`, { context: { max_webhooks: maxPerAccount } });
      }
      await endpoints.insert(row, tx);
    });
    return { row, secret };
  }

  async list(userId: string, limit: number, offset: number) {
    const [rows, total] = await Promise.all([this.deps.endpoints.listForUser(userId, limit, offset), this.deps.endpoints.countForUser(userId)]);
    return { rows, total };
  }

  async get(userId: string, id: string): Promise<WebhookEndpointRow> {
    const row = await this.deps.endpoints.findForUser(userId, id);
    if (!row) throw fail.not_found('Webhook endpoint not found.');
    return row;
  }

  /** Re-enabling checks the URL again and forgets the failures that disabled it. */
  async update(userId: string, id: string, input: WebhookInput): Promise<WebhookEndpointRow> {
    const existing = await this.get(userId, id);
    const now = iso(this.deps.clock.now());
    const changes: Partial<WebhookEndpointRow> = { updated_at: now };
    if (input.url !== undefined) changes.url = await this.checkUrl(input.url);
    else if (input.enabled === true && existing.enabled !== 1) await this.checkUrl(existing.url);
    if (input.events !== undefined) changes.events = JSON.stringify(checkEvents(input.events));
    if (input.description !== undefined) changes.description = checkDescription(input.description);
    if (input.enabled === true && existing.enabled !== 1) Object.assign(changes, { enabled: 1, disabled_at: null, disabled_reason: null, failing_since: null });
    if (input.enabled === false && existing.enabled === 1) Object.assign(changes, { enabled: 0, disabled_at: now, disabled_reason: 'Disabled by its owner.' });
    if (!(await this.deps.endpoints.update(userId, id, changes))) throw fail.not_found('Webhook endpoint not found.');
    return this.get(userId, id);
  }

  async delete(userId: string, id: string): Promise<void> {
    if (!(await this.deps.endpoints.delete(userId, id))) throw fail.not_found('Webhook endpoint not found.');
  }

  /**
   * A new secret, shown once. The one it replaces keeps signing beside it for 24 hours, so
   * receivers can switch without losing a delivery; a secret older than that stops at once.
   */
  async rotateSecret(userId: string, id: string): Promise<{ row: WebhookEndpointRow; secret: string }> {
    const existing = await this.get(userId, id);
    const now = this.deps.clock.now();
    const secret = generateWebhookSecret();
    const changed = await this.deps.endpoints.update(userId, id, {
      secret: this.deps.box.seal(secret, id),
      previous_secret: existing.secret,
      previous_secret_expires_at: iso(new Date(now.getTime() + ROTATION_OVERLAP_MS)),
      updated_at: iso(now),
    });
    if (!changed) throw fail.not_found('Webhook endpoint not found.');
    return { row: await this.get(userId, id), secret };
  }

  /** Queues a `webhook.test` delivery to this endpoint only. */
  async test(userId: string, id: string): Promise<WebhookDeliveryRow> {
    const endpoint = await this.get(userId, id);
    const event = {
      id: newId('evt'),
      type: TEST_EVENT_TYPE,
      occurredAt: iso(this.deps.clock.now()),
      data: { webhook_id: endpoint.id, message: 'A test delivery from Ferry.' },
    };
    const delivery = await this.deps.db.transaction().execute((tx) => this.deps.dispatch.enqueue(endpoint, event, tx));
    return delivery!;
  }

  async listDeliveries(userId: string, endpointId: string, query: { state?: WebhookDeliveryState; limit: number; offset: number }) {
    await this.get(userId, endpointId);
    return this.deps.deliveries.list({ endpointId, ...query });
  }

  /** Sends a finished delivery again with the same id and body; a pending one is left to its job. */
  async redeliver(userId: string, deliveryId: string): Promise<WebhookDeliveryRow> {
    const delivery = await this.deps.deliveries.findForUser(userId, deliveryId);
    if (!delivery) throw fail.not_found('Webhook delivery not found.');
    await this.deps.db.transaction().execute((tx) => this.deps.dispatch.redeliver(delivery, tx));
    return (await this.deps.deliveries.findById(deliveryId))!;
  }

  private checkUrl(raw: string): Promise<string> {
    return checkWebhookUrl(raw, this.deps.policy, this.deps.resolve ?? systemResolver);
  }
}

/** Known event types, without repeats; `*` subscribes to all and stands alone. */
export function checkEvents(events: readonly string[]): string[] {
  const unknown = events.filter((e) => e !== '*' && !isEventType(e));
  if (unknown.length > 0) {
    throw fail.validation_failed(`Unknown event type${unknown.length > 1 ? 's' : ''}: ${unknown.slice(0, 10).join(', ')}.`, { details: { unknown_events: unknown.slice(0, 10) } });
  }
  if (events.length === 0) throw fail.validation_failed('Subscribe to at least one event type (or "*").');
  return events.includes('*') ? ['*'] : [...new Set(events)];
}

function checkDescription(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  const trimmed = value.trim();
  if (trimmed.length > MAX_DESCRIPTION) throw fail.validation_failed(`The description may have at most ${MAX_DESCRIPTION} characters.`);
  // Tabs and line breaks are text; other control characters (NUL above all) are not.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(trimmed)) throw fail.validation_failed('The description may not contain control characters.');
  return trimmed === '' ? null : trimmed;
}
