import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Data, errorResponses, IdParam, Nullable, Page, PageQuery } from '../schemas.ts';
import { WebhookEvents, WebhookWithSecret } from '../webhook-schemas.ts';
import { deliveryView, webhookView } from '../webhook-views.ts';
import type { RouteContext } from './index.ts';

const WebhookRef = Type.Ref('Webhook');
const DeliveryRef = Type.Ref('WebhookDelivery');
const Params = IdParam('id', 'wh');
/** Long enough that an over-long URL gets the clear webhook_url_forbidden (reason "length"). */
const Url = Type.String({ minLength: 1, maxLength: 8192, description: 'https URL of the receiver (http only where the server allows it); checked against the SSRF rules, else 400 webhook_url_forbidden.' });
const Description = Type.String({ maxLength: 500 });
const URL_RULES = 'The URL must be https (unless FERRY_WEBHOOK_ALLOW_HTTP), on an allowed port, without credentials, and every address it resolves to must be public: loopback, private, link-local, CGNAT, multicast and metadata addresses answer 400 webhook_url_forbidden.';

export function webhookRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['webhooks'];
  const read = { auth: { scope: 'webhooks:read' as const } };
  const write = { auth: { scope: 'webhooks:write' as const } };

  app.post('/api/v1/webhooks', {
    config: write,
    schema: {
      tags,
      operationId: 'createWebhook',
      summary: 'Register a webhook endpoint',
      description: `Answers the signing secret once; it is stored encrypted and never shown again (rotate it to get a new one). ${URL_RULES} An account may have FERRY_MAX_WEBHOOKS_PER_ACCOUNT endpoints (403 webhook_limit_reached beyond).`,
      body: Type.Object({ url: Url, events: WebhookEvents, description: Type.Optional(Nullable(Description)) }, { additionalProperties: false }),
      response: { 201: Data(WebhookWithSecret), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const { row, secret } = await services.webhooks.create(request.principal!.userId, request.body);
    return reply.code(201).send({ data: { ...webhookView(row), secret } });
  });

  app.get('/api/v1/webhooks', {
    config: read,
    schema: { tags, operationId: 'listWebhooks', summary: 'List webhook endpoints', description: 'Newest first; never the secrets.', querystring: Type.Object(PageQuery), response: { 200: Page(WebhookRef), ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { limit = 20, offset = 0 } = request.query;
    const { rows, total } = await services.webhooks.list(request.principal!.userId, limit, offset);
    return { data: rows.map(webhookView), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/webhooks/:id', {
    config: read,
    schema: { tags, operationId: 'getWebhook', summary: 'Get a webhook endpoint (never its secret)', params: Params, response: { 200: Data(WebhookRef), ...errorResponses(400, 401, 403, 404) } },
  }, async (request) => ({ data: webhookView(await services.webhooks.get(request.principal!.userId, request.params.id)) }));

  app.patch('/api/v1/webhooks/:id', {
    config: write,
    schema: {
      tags,
      operationId: 'updateWebhook',
      summary: 'Change a webhook endpoint',
      description: `Change its URL, events or description, or disable and re-enable it. A new URL, and the URL of an endpoint being re-enabled, is checked again. Re-enabling forgets the failures that disabled it. ${URL_RULES}`,
      params: Params,
      body: Type.Object({
        url: Type.Optional(Url),
        events: Type.Optional(WebhookEvents),
        description: Type.Optional(Nullable(Description)),
        enabled: Type.Optional(Type.Boolean()),
      }, { additionalProperties: false }),
      response: { 200: Data(WebhookRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({ data: webhookView(await services.webhooks.update(request.principal!.userId, request.params.id, request.body)) }));

  app.delete('/api/v1/webhooks/:id', {
    config: write,
    schema: { tags, operationId: 'deleteWebhook', summary: 'Delete a webhook endpoint and its deliveries', description: 'Pending deliveries are dropped.', params: Params, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) } },
  }, async (request, reply) => {
    await services.webhooks.delete(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });

  app.post('/api/v1/webhooks/:id/rotate-secret', {
    config: write,
    schema: {
      tags,
      operationId: 'rotateWebhookSecret',
      summary: 'Replace the signing secret',
      description: 'Answers the new secret once. For 24 hours deliveries carry a webhook-signature from both the new and the replaced secret (X-Ferry-Signature uses the new one); a secret replaced earlier stops signing at once.',
      params: Params,
      response: { 200: Data(WebhookWithSecret), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { row, secret } = await services.webhooks.rotateSecret(request.principal!.userId, request.params.id);
    return { data: { ...webhookView(row), secret } };
  });

  app.post('/api/v1/webhooks/:id/test', {
    config: write,
    schema: {
      tags,
      operationId: 'testWebhook',
      summary: 'Send a test delivery',
      description: 'Queues a webhook.test event to this endpoint only; follow it in the deliveries list.',
      params: Params,
      response: { 202: Data(DeliveryRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(202).send({ data: deliveryView(await services.webhooks.test(request.principal!.userId, request.params.id)) }));

  app.get('/api/v1/webhooks/:id/deliveries', {
    config: read,
    schema: {
      tags,
      operationId: 'listWebhookDeliveries',
      summary: "List an endpoint's deliveries",
      description: 'Newest first, with the attempts made, the last answer and when the next attempt is due.',
      params: Params,
      querystring: Type.Object({ ...PageQuery, state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])) }),
      response: { 200: Page(DeliveryRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, state } = request.query;
    const { rows, total } = await services.webhooks.listDeliveries(request.principal!.userId, request.params.id, { limit, offset, state });
    return { data: rows.map(deliveryView), pagination: { limit, offset, total } };
  });

  app.post('/api/v1/webhooks/deliveries/:id/redeliver', {
    config: write,
    schema: {
      tags,
      operationId: 'redeliverWebhook',
      summary: 'Send a delivery again',
      description: 'Same delivery id (webhook-id) and the same body, with a fresh retry schedule. A delivery still pending is left to its own retries.',
      params: IdParam('id', 'whd'),
      response: { 202: Data(DeliveryRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request, reply) => reply.code(202).send({ data: deliveryView(await services.webhooks.redeliver(request.principal!.userId, request.params.id)) }));
}
