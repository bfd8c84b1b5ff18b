import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { MAX_BUCKETS, MAX_RANGE_DAYS } from '../../analytics/time-range.ts';
import { AnalyticsQuery, GEOIP_ATTRIBUTION, UserAnalyticsQuery } from '../analytics-schemas.ts';
import { Data, errorResponses, IdParam } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const RULES =
  `\`from\`/\`to\` are widened to whole UTC days (whole hours for interval=hour); at most ${MAX_RANGE_DAYS} days and ${MAX_BUCKETS} buckets ` +
  '(more answers 400 validation_failed: choose a coarser interval). Hourly buckets reach back FERRY_ANALYTICS_RAW_DAYS days only (older: 400). ' +
  `Counts downloads through links (shared and recipients' own), not the owner's own. ${GEOIP_ATTRIBUTION}`;

/** Analytics of one transfer, one file and a whole account (scope analytics:read). */
export function analyticsRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['analytics'];
  const auth = { scope: 'analytics:read' as const };

  app.get('/api/v1/transfers/:id/analytics', {
    config: { auth },
    schema: {
      tags,
      operationId: 'getTransferAnalytics',
      summary: 'Downloads of a transfer over time, by file, country, recipient and client',
      description: RULES,
      params: IdParam('id', 'tr'),
      querystring: AnalyticsQuery,
      response: { 200: Data(Type.Ref('TransferAnalytics')), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({ data: await services.analytics.transfer(request.principal!.userId, request.params.id, request.query) }));

  app.get('/api/v1/files/:id/analytics', {
    config: { auth },
    schema: {
      tags,
      operationId: 'getFileAnalytics',
      summary: 'Downloads of one file over time, by country, recipient and client',
      description: `${RULES} ZIP downloads of the whole transfer are counted under the transfer, not the file.`,
      params: IdParam('id', 'fl'),
      querystring: AnalyticsQuery,
      response: { 200: Data(Type.Ref('FileAnalytics')), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => ({ data: await services.analytics.file(request.principal!.userId, request.params.id, request.query) }));

  app.get('/api/v1/analytics/user', {
    config: { auth },
    schema: {
      tags,
      operationId: 'getUserAnalytics',
      summary: "The account's downloads, uploads, API requests, active transfers and storage",
      description: RULES,
      querystring: UserAnalyticsQuery,
      response: { 200: Data(Type.Ref('UserAnalytics')), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => ({ data: await services.analytics.user(request.principal!.userId, request.query) }));
}
