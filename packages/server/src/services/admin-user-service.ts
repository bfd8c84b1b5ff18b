import { fail } from '../errors.ts';
import { iso, type Clock } from '../domain/clock.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { ACCOUNT_PURGE_KIND, type AccountPurgeJob } from '../jobs/account-purge.ts';
import type { AccountListQuery, AccountSummary, AdminUsersRepository } from '../repositories/admin-users-repository.ts';

export const MAX_REASON_LENGTH = 1000;

/**
 * Accounts as the instance's administrators manage them: search, disable and re-enable, delete.
 * `actorId` is the administrator acting, or null for the operator CLI. Nobody disables or deletes
 * their own account, and the last active administrator is never disabled nor deleted: that rule
 * is decided with every administrator's row locked, so two admins disabling each other at once
 * cannot leave the instance without one.
 *
 * Nothing here needs to reach other instances: every credential and link reads its account's row
 * at each use, so a change is seen by every instance from the moment it commits.
 */
export class AdminUserService {
  constructor(
    private readonly accounts: AdminUsersRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
  ) {}

  list(query: AccountListQuery): Promise<{ rows: AccountSummary[]; total: number }> {
    return this.accounts.list({ ...query, q: query.q?.trim() || undefined });
  }

  async get(id: string): Promise<AccountSummary> {
    const account = await this.accounts.find(id);
    if (!account) throw userNotFound();
    return account;
  }

  /**
   * Keys, upload tokens and links stop at once; sessions end (signing in is refused while
   * disabled). Disabling a disabled account changes nothing (the first reason stands).
   */
  async disable(actorId: string | null, id: string, reason?: string | null): Promise<AccountSummary> {
    if (actorId === id) throw fail.cannot_target_self('An administrator cannot disable their own account.');
    const why = checkReason(reason ?? null, false);
    await this.accounts.transaction(async (accounts) => {
      await accounts.lockAdmins();
      const target = await accounts.find(id);
      if (!target || target.deleted_at) throw userNotFound();
      if (target.disabled_at) return;
      if (target.is_admin === 1 && (await accounts.otherActiveAdmins(id)) === 0) throw lastAdmin('disabled');
      await accounts.update(id, { disabled_at: iso(this.clock.now()), disabled_reason: why });
      await accounts.deleteSessions(id);
    });
    return this.get(id);
  }

  /** Keys, upload tokens and links work again; ended sessions stay ended. */
  async enable(id: string): Promise<AccountSummary> {
    if (!(await this.accounts.update(id, { disabled_at: null, disabled_reason: null }))) throw userNotFound();
    return this.get(id);
  }

  /**
   * Starts the deletion: at once the account is refused everywhere (as disabled), its sessions
   * end and its transfers turn deleted (their links answer 410); the account.purge job then
   * removes every blob and row. Asking again while it runs changes nothing.
   */
  async delete(actorId: string | null, id: string): Promise<AccountSummary> {
    if (actorId === id) throw fail.cannot_target_self('An administrator cannot delete their own account.');
    await this.accounts.transaction(async (accounts, tx) => {
      await accounts.lockAdmins();
      const target = await accounts.find(id);
      if (!target) throw userNotFound();
      if (target.deleted_at) return;
      if (target.is_admin === 1 && target.disabled_at === null && (await accounts.otherActiveAdmins(id)) === 0) throw lastAdmin('deleted');
      const now = iso(this.clock.now());
      // A deletion racing this one (PostgreSQL: it held the row) did the rest already.
      if (!(await accounts.update(id, { deleted_at: now, disabled_at: target.disabled_at ?? now }))) return;
      await accounts.deleteSessions(id);
      await accounts.deleteTransfers(id, now);
      const job: AccountPurgeJob = { userId: id };
      await this.queue.enqueue({ kind: ACCOUNT_PURGE_KIND, payload: job, dedupeKey: `${ACCOUNT_PURGE_KIND}:${id}`, maxAttempts: 10 }, tx);
    });
    return this.get(id);
  }
}

/** A reason an administrator gives: trimmed, at most MAX_REASON_LENGTH characters; null when optional and empty. */
export function checkReason(reason: string | null, required: boolean): string | null {
  const trimmed = reason?.trim() ?? '';
  if (trimmed.length === 0) {
    if (required) throw fail.validation_failed('reason is required.');
    return null;
  }
  if ([...trimmed].length > MAX_REASON_LENGTH) throw fail.validation_failed(`reason must have at most ${MAX_REASON_LENGTH} characters.`);
  return trimmed;
}

const userNotFound = () => fail.not_found('User not found.');
const lastAdmin = (what: string) =>
  fail.last_admin(`This is the last active administrator; it cannot be ${what}. Create another administrator first (npm run admin -- create-user --admin).`);
