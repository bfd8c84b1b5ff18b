import type { Clock } from '../domain/clock.ts';
import type { PlanLimits } from '../config.ts';
import { fail } from '../errors.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import type { CountersRepository } from '../repositories/counters-repository.ts';

export const monthPeriod = (now: Date): string => `m:${now.toISOString().slice(0, 7)}`;
export const hourPeriod = (now: Date): string => `h:${now.toISOString().slice(0, 13)}`;

/** The account document as the Trinsfer API shapes it: user, plan, limits, usage, overage. */
export class AccountService {
  constructor(
    private readonly users: UsersRepository,
    private readonly counters: CountersRepository,
    private readonly clock: Clock,
    readonly plan: PlanLimits,
  ) {}

  /** Counts one API request against the user's month and hour. */
  recordRequest(userId: string): Promise<void> {
    const now = this.clock.now();
    return this.counters.addUsage(userId, [monthPeriod(now), hourPeriod(now)]);
  }

  usedThisMonth(userId: string): Promise<number> {
    return this.counters.sumUsage(userId, [monthPeriod(this.clock.now())]);
  }

  async account(userId: string) {
    const user = await this.users.findById(userId);
    if (!user) throw fail.not_found('Account not found.');
    const now = this.clock.now();
    const hours = Array.from({ length: 24 }, (_, i) => hourPeriod(new Date(now.getTime() - i * 3_600_000)));
    const [thisMonth, last24] = await Promise.all([
      this.counters.sumUsage(userId, [monthPeriod(now)]),
      this.counters.sumUsage(userId, hours),
    ]);
    return {
      user: { id: user.id, name: user.name, email: user.email, is_admin: user.is_admin === 1, created_at: user.created_at },
      plan: this.plan.name,
      limits: {
        requests_per_minute: this.plan.requestsPerMinute,
        requests_per_month: this.plan.requestsPerMonth,
        max_transfer_expiry_days: this.plan.maxExpiryDays,
        permanent_transfers: this.plan.allowPermanent,
        max_transfer_size_bytes: this.plan.maxTransferSizeBytes,
        max_transfer_size_gb: Math.round((this.plan.maxTransferSizeBytes / 1024 ** 3) * 100) / 100,
        max_files_per_transfer: this.plan.maxFilesPerTransfer,
      },
      usage: { this_month: thisMonth, last_24_hours: last24 },
      overage: { requests: Math.max(0, thisMonth - this.plan.requestsPerMonth), usd: 0, price_per_req: 0 },
    };
  }
}
