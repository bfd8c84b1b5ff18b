import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_EXTEND_DAYS } from '../../services/admin-transfer-service.ts';
import { MAX_REASON_LENGTH } from '../../services/admin-user-service.ts';
import { adminTransferView } from '../admin-views.ts';
import { Data, DateTime, errorResponses, IdParam, Nullable, Page, PageQuery } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const AdminTransferRef = Type.Ref('AdminTransfer');
const Params = IdParam('id', 'tr');
const State = Type.Union(['uploading', 'ready', 'expired', 'deleted'].map((s) => Type.Literal(s)));

/** Any account's transfers, and the instance's totals, as its administrators see them. */
export function adminTransferRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admin'];
  const config = { auth: { scope: 'admin' as const } };
  const { adminTransfers, clock } = services;

  app.get('/api/v1/admin/stats', {
    config,
    schema: {
      tags,
      operationId: 'adminStats',
      summary: 'Instance totals: accounts, transfers by state, storage by store, downloads, jobs',
      response: { 200: Data(Type.Ref('InstanceStats')), ...errorResponses(401, 403) },
    },
  }, async () => ({ data: await services.instanceStats.totals() }));

  app.get('/api/v1/admin/transfers', {
    config,
    schema: {
      tags,
      operationId: 'adminListTransfers',
      summary: 'List and search the transfers of every account',
      description:
        'Newest first, deleted and purged ones included. `q` is a transfer id, a slug (any letter case) or a part of the title (any ' +
        'letter case); `user_id` keeps one account\'s; `state` filters as recipients see it (past expires_at is expired).',
      querystring: Type.Object({
        ...PageQuery,
        q: Type.Optional(Type.String({ maxLength: 200 })),
        user_id: Type.Optional(Type.String({ pattern: '^usr_[0-9a-zA-Z]{22}$' })),
        state: Type.Optional(State),
      }),
      response: { 200: Page(AdminTransferRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, q, user_id: userId, state } = request.query;
    const { rows, total } = await adminTransfers.list({ q, userId, state: state as 'ready' | undefined, limit, offset });
    const now = clock.now();
    return { data: rows.map((row) => adminTransferView(row, now)), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/admin/transfers/:id', {
    config,
    schema: { tags, operationId: 'adminGetTransfer', summary: 'Any account\'s transfer', params: Params, response: { 200: Data(AdminTransferRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: adminTransferView(await adminTransfers.get(request.params.id), clock.now()) }));

  app.delete('/api/v1/admin/transfers/:id', {
    config,
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      operationId: 'adminRemoveTransfer',
      summary: 'Remove a transfer (abuse takedown), with the reason',
      description:
        'The transfer is deleted for everyone: its owner no longer sees it, and its links (/t/, /d/, signed URLs) answer 410 ' +
        'transfer_removed, as a page saying it was removed for browsers; the reason is not shown there. The reason, the ' +
        'administrator and the time are kept and shown here. Its files are purged after FERRY_PURGE_GRACE like any deleted ' +
        'transfer\'s. Removing it again changes nothing (the first reason stands). The owner\'s webhooks hear transfer.deleted.',
      params: Params,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: MAX_REASON_LENGTH }) }, { additionalProperties: false }),
      response: { 200: Data(AdminTransferRef), ...errorResponses(400, 401, 403, 404, 413) },
    },
  }, async (request) => ({ data: adminTransferView(await adminTransfers.takedown(request.principal!.userId, request.params.id, request.body.reason), clock.now()) }));

  app.post('/api/v1/admin/transfers/:id/expiry', {
    config,
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      operationId: 'adminSetTransferExpiry',
      summary: 'Extend, shorten or revive a transfer\'s expiry',
      description:
        'Exactly one of `expires_at` (a future date-time within 100 years, or null: never expires) and `extend_days` (added to the ' +
        'current expiry, or to now once it is past). Plan caps do not apply. An expired transfer whose files are not purged yet ' +
        'comes back (ready, or uploading if it was never finalized) and its links work again; a purged one cannot (409 ' +
        'transfer_purged), nor can a deleted one (409 transfer_deleted). Expired transfers are purged at the next sweep ' +
        '(FERRY_SWEEP_INTERVAL), so a revival must come before it. The owner\'s webhooks hear transfer.updated.',
      params: Params,
      body: Type.Object(
        {
          expires_at: Type.Optional(Nullable(DateTime)),
          extend_days: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EXTEND_DAYS })),
        },
        { additionalProperties: false },
      ),
      response: { 200: Data(AdminTransferRef), ...errorResponses(400, 401, 403, 404, 409, 413) },
    },
  }, async (request) => ({ data: adminTransferView(await adminTransfers.setExpiry(request.params.id, request.body), clock.now()) }));
}
