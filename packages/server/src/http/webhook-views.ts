import type { WebhookDeliveryRow } from '../repositories/webhook-deliveries-repository.ts';
import type { WebhookEndpointRow } from '../repositories/webhook-endpoints-repository.ts';

/** The API's JSON for webhook endpoints (never their secrets) and deliveries (never their bodies' signatures). */
export function webhookView(row: WebhookEndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled === 1,
    disabled_at: row.disabled_at,
    disabled_reason: row.disabled_reason,
    failing_since: row.failing_since,
    previous_secret_expires_at: row.previous_secret_expires_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function deliveryView(row: WebhookDeliveryRow) {
  return {
    id: row.id,
    webhook_id: row.endpoint_id,
    event_id: row.event_id,
    event: row.event_type,
    state: row.state,
    attempts: row.attempts,
    response_status: row.response_status,
    response_excerpt: row.response_excerpt,
    duration_ms: row.duration_ms,
    last_error: row.last_error,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    delivered_at: row.delivered_at,
  };
}
