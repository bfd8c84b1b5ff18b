import type { Db } from '../db/database.ts';
import { AnalyticsEventsRepository } from './analytics-events-repository.ts';
import { AnalyticsQueryRepository } from './analytics-query-repository.ts';
import { ApiKeysRepository } from './api-keys-repository.ts';
import { ReportsRepository } from './reports-repository.ts';
import { ReportSchedulesRepository } from './report-schedules-repository.ts';
import { CountersRepository } from './counters-repository.ts';
import { DatabaseProbe } from './database-probe.ts';
import { DirectMultipartUploadsRepository } from './direct-multipart-uploads-repository.ts';
import { FileRequestsRepository } from './file-requests-repository.ts';
import { FilesRepository } from './files-repository.ts';
import { JobsRepository } from './jobs-repository.ts';
import { LocksRepository } from './locks-repository.ts';
import { LoginThrottlesRepository } from './login-throttles-repository.ts';
import { ReceiptsRepository } from './receipts-repository.ts';
import { RecipientsRepository } from './recipients-repository.ts';
import { TransfersRepository } from './transfers-repository.ts';
import { TusUploadsRepository } from './tus-uploads-repository.ts';
import { UploadPartsRepository } from './upload-parts-repository.ts';
import { UsersRepository } from './users-repository.ts';
import { WriteLocksRepository } from './write-locks-repository.ts';
import { WebhookEndpointsRepository } from './webhook-endpoints-repository.ts';
import { WebhookDeliveriesRepository } from './webhook-deliveries-repository.ts';
import { SpeedTestsRepository } from './speed-tests-repository.ts';
import { AdminUsersRepository } from './admin-users-repository.ts';
import { AdminTransfersRepository } from './admin-transfers-repository.ts';
import { InstanceStatsRepository } from './instance-stats-repository.ts';
import { AccountPurgeRepository } from './account-purge-repository.ts';

/** One repository per table (users also keeps sessions and invites), over one database. */
export function createRepositories(db: Db) {
  return {
    users: new UsersRepository(db),
    apiKeys: new ApiKeysRepository(db),
    transfers: new TransfersRepository(db),
    files: new FilesRepository(db),
    fileRequests: new FileRequestsRepository(db),
    uploadParts: new UploadPartsRepository(db),
    directUploads: new DirectMultipartUploadsRepository(db),
    tusUploads: new TusUploadsRepository(db),
    locks: new LocksRepository(db),
    counters: new CountersRepository(db),
    loginThrottles: new LoginThrottlesRepository(db),
    writeLocks: new WriteLocksRepository(db),
    jobs: new JobsRepository(db),
    webhookEndpoints: new WebhookEndpointsRepository(db),
    webhookDeliveries: new WebhookDeliveriesRepository(db),
    recipients: new RecipientsRepository(db),
    receipts: new ReceiptsRepository(db),
    analyticsEvents: new AnalyticsEventsRepository(db),
    analyticsQuery: new AnalyticsQueryRepository(db),
    reports: new ReportsRepository(db),
    reportSchedules: new ReportSchedulesRepository(db),
    speedTests: new SpeedTestsRepository(db),
    probe: new DatabaseProbe(db),
    // Administration reads across accounts and tables.
    adminUsers: new AdminUsersRepository(db),
    adminTransfers: new AdminTransfersRepository(db),
    instanceStats: new InstanceStatsRepository(db),
    accountPurge: new AccountPurgeRepository(db),
  };
}

export type Repositories = ReturnType<typeof createRepositories>;
