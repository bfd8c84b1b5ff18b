import { iso, type Clock } from '../domain/clock.ts';
import type { AdminUsersRepository } from '../repositories/admin-users-repository.ts';
import type { InstanceStatsRepository } from '../repositories/instance-stats-repository.ts';
import type { JobAdminService } from './job-admin-service.ts';

export interface InstanceStats {
  users: { total: number; admins: number; disabled: number };
  transfers: { total: number; uploading: number; ready: number; expired: number; deleted: number };
  storage: { bytes: number; files: number; by_store: { store: string; bytes: number; files: number }[] };
  downloads: { completed: number };
  jobs: { pending: number; running: number; failed: number };
}

/** The instance's totals, counted from the database when asked (nothing is kept in memory). */
export class InstanceStatsService {
  constructor(
    private readonly stats: InstanceStatsRepository,
    private readonly accounts: AdminUsersRepository,
    private readonly jobs: JobAdminService,
    private readonly clock: Clock,
  ) {}

  async totals(): Promise<InstanceStats> {
    const [users, byState, byStore, completed, jobs] = await Promise.all([
      this.accounts.counts(),
      this.stats.transfersByState(iso(this.clock.now())),
      this.stats.storageByStore(),
      this.stats.completedDownloads(),
      this.jobs.counts(),
    ]);
    const states = { uploading: byState.uploading ?? 0, ready: byState.ready ?? 0, expired: byState.expired ?? 0, deleted: byState.deleted ?? 0 };
    return {
      users,
      transfers: { total: Object.values(states).reduce((a, b) => a + b, 0), ...states },
      storage: { bytes: byStore.reduce((a, s) => a + s.bytes, 0), files: byStore.reduce((a, s) => a + s.files, 0), by_store: byStore },
      downloads: { completed },
      jobs: { pending: jobs.queued + jobs.running, running: jobs.running, failed: jobs.failed },
    };
  }
}
