import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './index.ts';

export function healthRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const Status = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), Type.String())) });

  app.get('/healthz', {
    config: { auth: { public: true } },
    schema: { tags: ['health'], summary: 'Liveness: the process answers.', response: { 200: Status } },
  }, async () => ({ status: 'ok' }));

  app.get('/readyz', {
    config: { auth: { public: true } },
    schema: { tags: ['health'], summary: 'Readiness: database and storage reachable.', response: { 200: Status, 503: Status } },
  }, async (_request, reply) => {
    const { ok, checks } = await services.health.readiness();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
}
