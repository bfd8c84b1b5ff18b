import { systemClock } from './domain/clock.ts';
import { adminTransferView, adminUserView } from './http/admin-views.ts';
import { normalizeEmail } from './mail/email-address.ts';
import type { Repositories } from './repositories/repositories.ts';
import type { Services } from './services/services.ts';
import type { TransferState } from './db/schema.ts';

/** The options the administration commands read (parsed by admin-cli.ts). */
export interface AdminOptions {
  id?: string;
  email?: string;
  q?: string;
  reason?: string;
  limit?: string;
  offset?: string;
  'user-id'?: string;
  state?: string;
  'expires-at'?: string;
  'extend-days'?: string;
  never?: boolean;
  yes?: boolean;
}

export const ADMIN_USAGE = `  npm run admin -- list-users [--q TEXT] [--limit N] [--offset N]
  npm run admin -- show-user (--id usr_... | --email E)
  npm run admin -- disable-user (--id | --email) [--reason TEXT]
  npm run admin -- enable-user (--id | --email)
  npm run admin -- delete-user (--id | --email) --yes        (deletes every file and row of the account now)
  npm run admin -- stats
  npm run admin -- list-transfers [--q TEXT] [--user-id usr_...] [--state S] [--limit N] [--offset N]
  npm run admin -- remove-transfer --id tr_... --reason TEXT
  npm run admin -- set-expiry --id tr_... (--expires-at ISO | --extend-days N | --never)`;

export const ADMIN_COMMANDS = ['list-users', 'show-user', 'disable-user', 'enable-user', 'delete-user', 'stats', 'list-transfers', 'remove-transfer', 'set-expiry'];

/**
 * The administration API's actions for the operator, on the same services (the operator acts as
 * nobody: the last-admin rule holds, the own-account rule has no one to apply to). Answers print
 * as the API's JSON.
 */
export async function runAdminCommand(command: string, o: AdminOptions, services: Services, repos: Repositories): Promise<unknown> {
  const now = () => systemClock.now();
  const userId = async (): Promise<string> => {
    if (o.id) return o.id;
    if (!o.email) throw new Error('--id or --email is required');
    const user = await repos.users.findByEmail(normalizeEmail(o.email));
    if (!user) throw new Error(`no account for ${o.email}`);
    return user.id;
  };
  const page = () => ({ limit: integer(o.limit, 'limit', 1, 100) ?? 20, offset: integer(o.offset, 'offset', 0, 1_000_000) ?? 0 });
  switch (command) {
    case 'list-users': {
      const { rows, total } = await services.adminUsers.list({ q: o.q, ...page() });
      return { data: rows.map(adminUserView), total };
    }
    case 'show-user':
      return adminUserView(await services.adminUsers.get(await userId()));
    case 'disable-user':
      return adminUserView(await services.adminUsers.disable(null, await userId(), o.reason ?? null));
    case 'enable-user':
      return adminUserView(await services.adminUsers.enable(await userId()));
    case 'delete-user': {
      if (!o.yes) throw new Error('delete-user removes every file and row of the account for good: add --yes');
      const id = await userId();
      await services.adminUsers.delete(null, id);
      // At once rather than by the server's worker; the queued job then finds nothing to do.
      await services.accountPurge.purge(id);
      return { id, deleted: true };
    }
    case 'stats':
      return services.instanceStats.totals();
    case 'list-transfers': {
      const state = o.state as TransferState | undefined;
      if (state !== undefined && !['uploading', 'ready', 'expired', 'deleted'].includes(state)) throw new Error('--state is uploading, ready, expired or deleted');
      const { rows, total } = await services.adminTransfers.list({ q: o.q, userId: o['user-id'], state, ...page() });
      return { data: rows.map((row) => adminTransferView(row, now())), total };
    }
    case 'remove-transfer':
      if (!o.id || !o.reason) throw new Error('--id and --reason are required');
      return adminTransferView(await services.adminTransfers.takedown(null, o.id, o.reason), now());
    case 'set-expiry': {
      if (!o.id) throw new Error('--id is required');
      const given = [o['expires-at'] !== undefined, o['extend-days'] !== undefined, o.never === true].filter(Boolean).length;
      if (given !== 1) throw new Error('give exactly one of --expires-at, --extend-days and --never');
      const change = o.never ? { expires_at: null } : o['expires-at'] !== undefined ? { expires_at: o['expires-at'] } : { extend_days: integer(o['extend-days'], 'extend-days', 1, 3650)! };
      return adminTransferView(await services.adminTransfers.setExpiry(o.id, change), now());
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
}

function integer(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}
