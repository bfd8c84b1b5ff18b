import { Type } from '@sinclair/typebox';
import { EVENT_TYPES } from '../events/event-types.ts';
import { DateTime, Nullable } from './schemas.ts';

/** Webhook views and inputs for routes and /openapi.json (registered with the shared schemas). */

const EVENT_NAMES = ['*', ...EVENT_TYPES];

export const WebhookEvents = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: EVENT_NAMES.length,
  description: `Event types to receive, or ["*"] for all: ${EVENT_NAMES.join(', ')}. An unknown name answers 400 validation_failed.`,
});

export const WebhookView = Type.Object(
  {
    id: Type.String({ description: 'wh_ id' }),
    url: Type.String(),
    description: Nullable(Type.String()),
    events: Type.Array(Type.String()),
    enabled: Type.Boolean(),
    disabled_at: Nullable(DateTime),
    disabled_reason: Nullable(Type.String({ description: 'Why the endpoint was disabled: by its owner, a 410 from the receiver, or a day of failures.' })),
    failing_since: Nullable(DateTime),
    previous_secret_expires_at: Nullable(DateTime),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'Webhook', description: 'A webhook endpoint. Its signing secret is never shown here; only creation and rotation answer it, once.' },
);

export const WebhookWithSecret = Type.Intersect([
  Type.Ref('Webhook'),
  Type.Object({ secret: Type.String({ description: 'The signing secret whsec_<base64>, shown this once only.' }) }),
]);

export const WebhookDeliveryView = Type.Object(
  {
    id: Type.String({ description: 'whd_ id: the webhook-id and X-Ferry-Delivery header, the same on every retry and redelivery.' }),
    webhook_id: Type.String(),
    event_id: Type.String(),
    event: Type.String({ description: 'The event type (webhook.test for test deliveries).' }),
    state: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
    attempts: Type.Integer(),
    response_status: Nullable(Type.Integer()),
    response_excerpt: Nullable(Type.String({ description: 'The first KiB of the last answer.' })),
    duration_ms: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    next_attempt_at: Nullable(DateTime),
    created_at: DateTime,
    delivered_at: Nullable(DateTime),
  },
  { $id: 'WebhookDelivery' },
);

export const webhookSchemas = [WebhookView, WebhookDeliveryView];
