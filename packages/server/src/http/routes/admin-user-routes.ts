import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { MAX_REASON_LENGTH } from '../../services/admin-user-service.ts';
import { adminUserView } from '../admin-views.ts';
import { Data, errorResponses, IdParam, Nullable, Page, PageQuery } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const AdminUserRef = Type.Ref('AdminUser');
const Params = IdParam('id', 'usr');
const Reason = Type.String({ maxLength: MAX_REASON_LENGTH, description: `At most ${MAX_REASON_LENGTH} characters, kept for administrators.` });

/** Accounts as the instance's administrators manage them (the operator CLI does the same). */
export function adminUserRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['admin'];
  const config = { auth: { scope: 'admin' as const } };
  const { adminUsers } = services;

  app.get('/api/v1/admin/users', {
    config,
    schema: {
      tags,
      operationId: 'adminListUsers',
      summary: 'List and search accounts',
      description: 'Newest first. `q` matches a part of the email or the name, in any letter case.',
      querystring: Type.Object({ ...PageQuery, q: Type.Optional(Type.String({ maxLength: 320 })) }),
      response: { 200: Page(AdminUserRef), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { limit = 20, offset = 0, q } = request.query;
    const { rows, total } = await adminUsers.list({ q, limit, offset });
    return { data: rows.map(adminUserView), pagination: { limit, offset, total } };
  });

  app.get('/api/v1/admin/users/:id', {
    config,
    schema: { tags, operationId: 'adminGetUser', summary: 'One account', params: Params, response: { 200: Data(AdminUserRef), ...errorResponses(401, 403, 404) } },
  }, async (request) => ({ data: adminUserView(await adminUsers.get(request.params.id)) }));

  app.post('/api/v1/admin/users/:id/disable', {
    config,
    bodyLimit: 16 * 1024,
    schema: {
      tags,
      operationId: 'adminDisableUser',
      summary: 'Disable an account',
      description:
        'At once, on every instance: its API keys and upload tokens answer 401 account_disabled, its sessions end (and signing in ' +
        'answers 401 account_disabled), and its links (/t/, /d/, /r/ and signed URLs) answer 404 as if they did not exist. Nothing ' +
        'is deleted. Disabling a disabled account changes nothing. An administrator cannot disable their own account ' +
        '(409 cannot_target_self), and the last active administrator cannot be disabled (409 last_admin). The body is optional.',
      params: Params,
      // No body at all is fine (it is validated as null).
      body: Nullable(Type.Object({ reason: Type.Optional(Nullable(Reason)) }, { additionalProperties: false })),
      response: { 200: Data(AdminUserRef), ...errorResponses(400, 401, 403, 404, 409, 413) },
    },
  }, async (request) => ({ data: adminUserView(await adminUsers.disable(request.principal!.userId, request.params.id, request.body?.reason)) }));

  app.post('/api/v1/admin/users/:id/enable', {
    config,
    schema: {
      tags,
      operationId: 'adminEnableUser',
      summary: 'Re-enable a disabled account',
      description: 'Its keys, upload tokens and links work again at once; sessions ended by the disabling stay ended (sign in again).',
      params: Params,
      response: { 200: Data(AdminUserRef), ...errorResponses(401, 403, 404) },
    },
  }, async (request) => ({ data: adminUserView(await adminUsers.enable(request.params.id)) }));

  app.delete('/api/v1/admin/users/:id', {
    config,
    schema: {
      tags,
      operationId: 'adminDeleteUser',
      summary: 'Delete an account with all its data and files',
      description:
        'At once the account is refused everywhere (as disabled) and its transfers turn deleted; the account.purge job then deletes ' +
        'every blob it has in any store and every row (keys, sessions, transfers, files, recipients, receipts, file requests, ' +
        'webhooks, and queued jobs that name it), after which the account answers 404. Answers 202 with status deleting; asking ' +
        'again meanwhile changes nothing. A failed purge shows in GET /api/v1/admin/jobs and can be retried there. An ' +
        'administrator cannot delete their own account (409 cannot_target_self), nor the last active administrator (409 last_admin).',
      params: Params,
      response: { 202: Data(AdminUserRef), ...errorResponses(401, 403, 404, 409) },
    },
  }, async (request, reply) => reply.code(202).send({ data: adminUserView(await adminUsers.delete(request.principal!.userId, request.params.id)) }));
}
