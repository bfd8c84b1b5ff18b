import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Data, errorResponses, IdParam, Page, PageQuery } from '../schemas.ts';
import { publicSpeedTestView, SpeedTestBody, speedTestView } from '../speed-test-schemas.ts';
import type { RouteContext } from './index.ts';

const SpeedTestRef = Type.Ref('SpeedTest');
const Params = IdParam('id', 'spd');

/** Stored speed test results (the Trinsfer resource): an account's history and the public list. */
export function speedTestRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['speed-tests'];
  const read = { auth: { scope: 'speed:read' as const } };
  const write = { auth: { scope: 'speed:write' as const } };

  app.post('/api/v1/speed-tests', {
    config: write,
    schema: {
      tags,
      operationId: 'createSpeedTest',
      summary: 'Store a speed test result',
      description:
        'The Trinsfer fields. ping_ms, download_mbps and upload_mbps are required; numbers must be finite and within the bounds shown; ' +
        'labels are trimmed and refuse control characters. public: true lists the result in GET /api/v1/speed-tests/public without its owner. ' +
        'Emits speed_test.submitted. Measure with GET .../ping, GET .../download and POST .../upload.',
      body: SpeedTestBody,
      response: { 201: Data(SpeedTestRef), ...errorResponses(400, 401, 403, 415) },
    },
  }, async (request, reply) => {
    const row = await services.speedTests.create(request.principal!.userId, request.body);
    return reply.code(201).send({ data: speedTestView(row) });
  });

  app.get('/api/v1/speed-tests', {
    config: read,
    schema: {
      tags,
      operationId: 'listSpeedTests',
      summary: 'List your speed test history',
      description: 'Newest first; ?limit=1..100 (default 20) and ?offset, as for transfers.',
      querystring: Type.Object(PageQuery),
      response: { 200: Page(SpeedTestRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0 } = request.query;
    const { rows, total } = await services.speedTests.list(request.principal!.userId, limit, offset);
    return { data: rows.map(speedTestView), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/speed-tests/public', {
    config: { auth: { public: true } },
    schema: {
      tags,
      operationId: 'listPublicSpeedTests',
      summary: 'List results marked public (no credentials)',
      description:
        'Every account\'s results stored with public: true, newest first, paginated like the other lists. Each shows the numbers and the labels ' +
        'its submitter chose (display_name, isp, country, location), never who submitted it. Rate-limited per address.',
      security: [],
      querystring: Type.Object(PageQuery),
      response: { 200: Page(Type.Ref('PublicSpeedTest')), ...errorResponses(400) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0 } = request.query;
    const { rows, total } = await services.speedTests.listPublic(limit, offset);
    return { data: rows.map(publicSpeedTestView), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/speed-tests/:id', {
    config: read,
    schema: { tags, operationId: 'getSpeedTest', summary: 'Get one of your speed test results', params: Params, response: { 200: Data(SpeedTestRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: speedTestView(await services.speedTests.get(request.principal!.userId, request.params.id)) }));

  app.delete('/api/v1/speed-tests/:id', {
    config: write,
    schema: { tags, operationId: 'deleteSpeedTest', summary: 'Delete one of your speed test results', params: Params, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } },
  }, async (request, reply) => {
    await services.speedTests.delete(request.principal!.userId, request.params.id);
    return reply.code(204).send(null);
  });
}
