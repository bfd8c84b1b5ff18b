import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { UrlSigner } from '../domain/url-signer.ts';
import { createRepositories } from '../repositories/repositories.ts';
import { LoginThrottle } from './login-throttle.ts';
import { AuthService } from './auth-service.ts';
import { KeyService } from './key-service.ts';
import { AccountService } from './account-service.ts';
import { TransferService } from './transfer-service.ts';
import { FileService } from './file-service.ts';
import { DownloadService } from './download-service.ts';
import { ReceiptService } from './receipt-service.ts';
import { ClientClassifier } from '../analytics/client-traits.ts';
import { AnalyticsService } from '../analytics/analytics-service.ts';
import { AnalyticsRollup } from '../analytics/analytics-rollup.ts';
import { ReportService } from '../analytics/report-service.ts';
import { ReportSchedules } from '../analytics/report-schedules.ts';
import { UnlockService } from './unlock-service.ts';
import { RateLimiter } from './rate-limiter.ts';
import { StorageReservation } from './storage-reservation.ts';
import { UploadLeases } from './upload-leases.ts';
import { UploadTokens } from './upload-tokens.ts';
import { PartAssembly } from './part-assembly.ts';
import type { UploadServiceDeps } from './upload-service-deps.ts';
import { createTusService } from '../tus/tus-service.ts';
import { UploadCleanup } from '../jobs/upload-cleanup.ts';
import { UploadConcurrency } from './upload-concurrency.ts';
import { SignedPartService } from './signed-part-service.ts';
import { DirectMultipart } from './direct-multipart.ts';
import { ChunkUploadService } from './chunk-upload-service.ts';
import { SingleRequestUploadService } from './single-request-upload-service.ts';
import { HealthService } from './health-service.ts';
import { FileRequestCaps } from './file-request-caps.ts';
import { FileRequestService } from './file-request-service.ts';
import { SpeedTestService } from './speed-test-service.ts';
import { Sweeper, type SweepLog } from '../jobs/sweeper.ts';
import { createDeliveryServices } from './delivery-services.ts';
import { AccountPurge } from '../jobs/account-purge.ts';
import { AdminUserService } from './admin-user-service.ts';
import { AdminTransferService } from './admin-transfer-service.ts';
import { InstanceStatsService } from './instance-stats-service.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { Redis } from 'ioredis';
import type { RateCounters } from './rate-counters.ts';
import type { LeaseStore } from './upload-leases.ts';
import type { UploadSlots } from './upload-concurrency.ts';
import { RedisRateCounters } from '../shared-state/redis-rate-counters.ts';
import { RedisLeaseStore } from '../shared-state/redis-lease-store.ts';
import { RedisUploadSlots } from '../shared-state/redis-upload-slots.ts';

export interface ServiceDeps {
  config: Config;
  db: Db;
  stores: BlobStoreRegistry;
  clock: Clock;
  secret: string;
  redis: Redis | null;
  /** Where the sweeper reports; the app's logger (quiet when omitted, as in the operator CLI). */
  log?: SweepLog;
}

const quiet: SweepLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Wires repositories into services; the only place that knows how they fit together. */
export function createServices({ config, db, stores, clock, secret, redis, log = quiet }: ServiceDeps) {
  const repos = createRepositories(db);
  const { users, apiKeys, transfers: transfersRepo, files: filesRepo, counters, locks, uploadParts, directUploads, tusUploads, probe, loginThrottles, writeLocks, fileRequests: fileRequestsRepo, recipients: recipientsRepo, receipts: receiptsRepo } = repos;
  const signer = new UrlSigner(secret);
  // With Redis, the state every instance must agree on lives there; else in the database
  // (shared too) and, for upload slots, in this process.
  const prefix = config.redisPrefix;
  const rateCounters: RateCounters = redis ? new RedisRateCounters(redis, { prefix }) : counters;
  const rateLimiter = new RateLimiter(rateCounters, clock);
  const delivery = createDeliveryServices({ config, db, clock, secret, repos, rateLimiter, log });
  const { events, worker, recipients } = delivery;
  const reservation = new StorageReservation(db, { users, files: filesRepo, tusUploads, writeLocks }, stores, clock, {
    // One setting for every account until plans exist; then the account's plan quota answers here.
    pendingLimit: async () => config.uploads.maxPendingBytesPerAccount,
    uploadLifetimeSeconds: config.uploads.expirySeconds,
  });
  const leaseStore: LeaseStore = redis ? new RedisLeaseStore(redis, { prefix }) : locks;
  const leases = new UploadLeases(leaseStore);
  const uploadSlots: UploadSlots = redis
    ? new RedisUploadSlots(redis, config.uploads.maxConcurrentPerUser, { prefix })
    : new UploadConcurrency(config.uploads.maxConcurrentPerUser);
  const direct = new DirectMultipart(directUploads, filesRepo, stores, leases, clock);
  const caps = new FileRequestCaps(fileRequestsRepo, clock);
  const transfers = new TransferService(db, transfersRepo, filesRepo, stores, clock, config.plan, reservation, caps, config.uploads.partSizeBytes, events, recipients, (ids) => direct.abortForFiles(ids));
  const parts = new PartAssembly(uploadParts, filesRepo, stores, leases, clock);
  const files = new FileService(db, filesRepo, transfers, stores, clock, config.plan, reservation, caps, config.uploads.partSizeBytes, (ids) => direct.abortForFiles(ids));
  // Aborted at SIGTERM: uploads in flight stop reading, keep their bytes and answer 503.
  const shutdown = new AbortController();
  const tus = createTusService({ config, uploads: tusUploads, clock, stores, filesRepo, files, transfers, reservation, leases, shutdown: shutdown.signal });
  const uploadDeps: UploadServiceDeps = { config, clock, signer, stores, transfers, files, filesRepo, transfersRepo, parts, reservation, leases, direct, owners: users };
  const downloads = new DownloadService(transfersRepo, filesRepo, recipientsRepo, transfers, stores, signer, clock, users, config.storage.redirectDownloads);
  const uploadCleanup = new UploadCleanup({
    parts: uploadParts,
    tusUploads,
    expireTusUpload: (upload) => tus.expire(upload),
    locks,
    stores,
    clock,
    expirySeconds: config.uploads.expirySeconds,
    abortStaleDirectUploads: (beforeIso) => direct.abortStale(beforeIso),
    // An hour is far longer than a creation takes; younger uploads may still be getting their record.
    sweepTusOrphans: () => tus.sweepOrphans(3600_000),
  });
  const sweeper = new Sweeper({ transfers: transfersRepo, files: filesRepo, users, counters, loginThrottles, db, events, stores, retention: delivery.retention, clock, purgeGraceSeconds: config.purgeGraceSeconds, log, uploads: uploadCleanup });
  worker.register(sweeper.jobKind);
  worker.every({ kind: sweeper.jobKind.kind, everySeconds: config.sweepIntervalSeconds, maxAttempts: 3 });
  const rawDays = config.analytics.rawRetentionDays;
  const classifier = new ClientClassifier(config.analytics.geoipPath, log);
  const analyticsRollup = new AnalyticsRollup({ db, events: repos.analyticsEvents, writeLocks, clock, rawDays });
  worker.register(analyticsRollup.jobKind);
  worker.every({ kind: analyticsRollup.jobKind.kind, everySeconds: 3600, maxAttempts: analyticsRollup.jobKind.maxAttempts });
  const analytics = new AnalyticsService(repos.analyticsQuery, repos.analyticsEvents, transfersRepo, filesRepo, clock, rawDays);
  const reports = new ReportService(repos.reports, analytics);
  const reportSchedules = new ReportSchedules({ db, schedules: repos.reportSchedules, writeLocks, users, reports, queue: delivery.jobQueue, delivery: delivery.mailDelivery, clock, publicUrl: config.publicUrl });
  worker.register(reportSchedules.scanJob);
  worker.register(reportSchedules.emailJob);
  worker.every({ kind: reportSchedules.scanJob.kind, everySeconds: config.sweepIntervalSeconds, maxAttempts: reportSchedules.scanJob.maxAttempts });
  const accountPurge = new AccountPurge({
    accounts: repos.accountPurge,
    transfers: transfersRepo,
    files: filesRepo,
    parts: uploadParts,
    tusUploads,
    stores,
    clock,
    expireTusUpload: (upload) => tus.expire(upload),
    abortDirectUploads: (ids) => direct.abortForFiles(ids),
  });
  worker.register(accountPurge.jobKind);
  return {
    stores,
    clock,
    signer,
    rateLimiter,
    auth: new AuthService(users, clock, { signup: config.signup, sessionTtlSeconds: config.sessionTtlSeconds }, new LoginThrottle(loginThrottles, clock, signer, config.login)),
    keys: new KeyService(apiKeys, users, clock, db, events),
    account: new AccountService(users, counters, clock, config.plan),
    ...delivery,
    transfers,
    receipts: new ReceiptService(db, receiptsRepo, recipientsRepo, transfersRepo, events, clock, log, { classifier, events: repos.analyticsEvents }),
    analytics,
    reports,
    // Periodic jobs of the worker (rollup hourly, report scan every sweep interval); tests run them by hand.
    analyticsRollup,
    reportSchedules,
    files,
    fileRequests: new FileRequestService(fileRequestsRepo, transfers, caps, rateLimiter, clock, users),
    uploadTokens: new UploadTokens(transfersRepo, users),
    reservation,
    leases,
    parts,
    tus,
    shutdown,
    uploadSlots,
    uploadCleanup,
    // Started by the composition root; tests run its passes by hand (sweep, and the worker's drain).
    sweeper,
    health: new HealthService(probe, stores),
    signedParts: new SignedPartService(uploadDeps),
    chunks: new ChunkUploadService(uploadDeps),
    singleRequest: new SingleRequestUploadService(uploadDeps),
    downloads,
    speedTests: new SpeedTestService(db, repos.speedTests, events, clock),
    unlock: new UnlockService(downloads, rateLimiter, signer, clock, config.accessTokenTtlSeconds, events),
    adminUsers: new AdminUserService(repos.adminUsers, delivery.jobQueue, clock),
    adminTransfers: new AdminTransferService(db, repos.adminTransfers, transfersRepo, events, clock),
    instanceStats: new InstanceStatsService(repos.instanceStats, repos.adminUsers, delivery.jobAdmin, clock),
    /** Run by its job; the operator CLI runs it at once. */
    accountPurge,
  };
}

export type Services = ReturnType<typeof createServices>;
