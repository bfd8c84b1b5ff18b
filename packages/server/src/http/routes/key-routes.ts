import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { SCOPES } from '../../domain/scopes.ts';
import { ApiKeyWithSecret, Data, DateTime, errorResponses, IdParam, Nullable, Page, PageQuery } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const ScopeList = Type.Array(Type.String({ enum: [...SCOPES] }), { minItems: 1, maxItems: SCOPES.length });
const KeyRef = Type.Ref('ApiKey');
const Params = IdParam('id', 'key');
/** Said of every route that changes an existing key. */
const NO_WIDER = ' A key may only change keys that have no scope it lacks (else 403 insufficient_scope, nothing changed).';

export function keyRoutes(server: FastifyInstance, { services, presenter }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['keys'];

  app.post('/api/v1/keys', {
    config: { auth: { scope: 'keys:write' } },
    schema: {
      tags,
      summary: 'Create an API key',
      description: 'Returns the whole key once; only its SHA-256 is stored. A key can only grant scopes its creator has.',
      body: Type.Object({
        name: Type.String({ minLength: 1, maxLength: 100 }),
        scopes: ScopeList,
        expires_at: Type.Optional(Nullable(DateTime)),
      }, { additionalProperties: false }),
      response: { 201: Data(ApiKeyWithSecret), ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const { row, key } = await services.keys.create(request.principal!, request.body);
    return reply.code(201).send({ data: { ...presenter.key(row), key } });
  });

  app.get('/api/v1/keys', {
    config: { auth: { scope: 'keys:read' } },
    schema: { tags, summary: 'List API keys', querystring: Type.Object(PageQuery), response: { 200: Page(KeyRef), ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { limit = 20, offset = 0 } = request.query;
    const { rows, total } = await services.keys.list(request.principal!.userId, limit, offset);
    return { data: rows.map((r) => presenter.key(r)), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/keys/:id', {
    config: { auth: { scope: 'keys:read' } },
    schema: { tags, summary: 'Get an API key (never its secret)', params: Params, response: { 200: Data(KeyRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: presenter.key(await services.keys.get(request.principal!.userId, request.params.id)) }));

  app.patch('/api/v1/keys/:id', {
    config: { auth: { scope: 'keys:write' } },
    schema: {
      tags,
      summary: 'Rename, re-scope or change the expiry of an API key',
      description: `New scopes must be scopes the caller has.${NO_WIDER}`,
      params: Params,
      body: Type.Object({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
        scopes: Type.Optional(ScopeList),
        expires_at: Type.Optional(Nullable(DateTime)),
      }, { additionalProperties: false }),
      response: { 200: Data(KeyRef), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({ data: presenter.key(await services.keys.update(request.principal!, request.params.id, request.body)) }));

  app.post('/api/v1/keys/:id/regenerate', {
    config: { auth: { scope: 'keys:write' } },
    schema: {
      tags,
      summary: 'Replace the secret of an API key',
      description: `The old secret stops working at once; the new key is shown this once.${NO_WIDER}`,
      params: Params,
      response: { 200: Data(ApiKeyWithSecret), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => {
    const { row, key } = await services.keys.regenerate(request.principal!, request.params.id);
    return { data: { ...presenter.key(row), key } };
  });

  app.post('/api/v1/keys/:id/revoke', {
    config: { auth: { scope: 'keys:write' } },
    schema: { tags, summary: 'Revoke an API key', description: NO_WIDER.trim(), params: Params, response: { 200: Data(KeyRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: presenter.key(await services.keys.revoke(request.principal!, request.params.id)) }));

  app.delete('/api/v1/keys/:id', {
    config: { auth: { scope: 'keys:write' } },
    schema: { tags, summary: 'Delete an API key', description: NO_WIDER.trim(), params: Params, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } },
  }, async (request, reply) => {
    await services.keys.delete(request.principal!, request.params.id);
    return reply.code(204).send(null);
  });
}
