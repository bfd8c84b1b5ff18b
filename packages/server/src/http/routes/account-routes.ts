import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Data, DateTime, errorResponses, Nullable } from '../schemas.ts';
import type { RouteContext } from './index.ts';

const Account = Type.Object({
  user: Type.Object({ id: Type.String(), name: Nullable(Type.String()), email: Type.String(), is_admin: Type.Boolean(), created_at: DateTime }),
  plan: Type.String(),
  limits: Type.Object({
    requests_per_minute: Type.Integer(),
    requests_per_month: Type.Integer(),
    max_transfer_expiry_days: Type.Integer(),
    permanent_transfers: Type.Boolean(),
    max_transfer_size_bytes: Type.Integer(),
    max_transfer_size_gb: Type.Number(),
    max_files_per_transfer: Type.Integer(),
  }),
  usage: Type.Object({ this_month: Type.Integer(), last_24_hours: Type.Integer() }),
  overage: Type.Object({ requests: Type.Integer(), usd: Type.Number(), price_per_req: Type.Number() }),
});

export function accountRoutes(server: FastifyInstance, { services }: RouteContext): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/api/v1/account', {
    config: { auth: { scope: 'account:read' } },
    schema: { tags: ['account'], summary: 'The caller: user, plan, limits and usage', response: { 200: Data(Account), ...errorResponses(401, 403) } },
  }, async (request) => ({ data: await services.account.account(request.principal!.userId) }));
}
