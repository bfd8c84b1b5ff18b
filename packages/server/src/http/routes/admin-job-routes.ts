import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Data, DateTime, errorResponses, IdParam, Nullable, Pagination, PageQuery } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const JobState = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]);

const JobView = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'event.dispatch, webhook.deliver, email.*, sweep, ...' }),
  state: JobState,
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  run_at: DateTime,
  last_error: Nullable(Type.String()),
  created_at: DateTime,
  updated_at: DateTime,
  finished_at: Nullable(DateTime),
});

/** The job queue as the instance's administrators see it. */
export function adminJobRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/admin/jobs', {
    config: { auth: { scope: 'admin' } },
    schema: {
      tags: ['admin'],
      operationId: 'listJobs',
      summary: 'Jobs of the durable queue (emails, webhook deliveries, sweeps), newest first',
      description: 'Done jobs are kept 7 days, failed ones 30 days. `counts` gives the number of jobs in each state.',
      querystring: Type.Object({ ...PageQuery, state: Type.Optional(JobState), kind: Type.Optional(Type.String({ maxLength: 64 })) }),
      response: {
        200: Type.Object({ data: Type.Array(JobView), pagination: Pagination, counts: Type.Record(Type.String(), Type.Integer()) }),
        ...errorResponses(400, 401, 403),
      },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, state, kind } = request.query;
    const { rows, total, counts } = await services.jobAdmin.list({ limit, offset, state, kind });
    return { data: rows, pagination: { limit, offset, total }, counts };
  });

  app.post('/api/v1/admin/jobs/:id/retry', {
    config: { auth: { scope: 'admin' } },
    schema: {
      tags: ['admin'],
      operationId: 'retryJob',
      summary: 'Run a done or failed job again from its first attempt',
      params: IdParam('id', 'job'),
      response: { 202: Data(JobView), ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => reply.code(202).send({ data: await services.jobAdmin.retry(request.params.id) }));
}
