import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../domain/clock.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import type { CountersRepository } from '../repositories/counters-repository.ts';
import type { LoginThrottlesRepository } from '../repositories/login-throttles-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import type { Db } from '../db/database.ts';
import type { DomainEvents } from '../events/domain-events.ts';
import type { UploadCleanup } from './upload-cleanup.ts';
import { exponentialDelay, type JobKind } from './job-kind.ts';

const STALE_TEMP_MS = 24 * 3600 * 1000;

export type SweepLog = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

export interface SweepResult {
  expired: number;
  purged: number;
}

/**
 * Expires transfers on time and deletes the blobs of expired ones at once and of deleted ones
 * after the purge grace; removes what unfinished uploads and old jobs leave behind. It runs as a
 * periodic job (one per interval across every instance). All state is in the database, so a
 * sweep interrupted by a crash simply runs again; deleting a missing blob is harmless.
 */
export class Sweeper {
  private running: Promise<SweepResult> | null = null;

  constructor(
    private readonly deps: {
      transfers: TransfersRepository;
      files: FilesRepository;
      users: UsersRepository;
      counters: CountersRepository;
      loginThrottles: LoginThrottlesRepository;
      db: Db;
      /** Forgetting what is kept only for a while (finished jobs, old webhook deliveries). */
      retention: Array<(now: Date) => Promise<unknown>>;
      events: DomainEvents;
      stores: BlobStoreRegistry;
      clock: Clock;
      purgeGraceSeconds: number;
      log: SweepLog;
      uploads?: UploadCleanup;
    },
  ) {}

  readonly jobKind: JobKind<null> = {
    kind: 'sweep',
    concurrency: 1,
    maxAttempts: 3,
    retryDelayMs: exponentialDelay(5000, 60_000),
    run: async () => {
      await this.sweep();
    },
  };

  /** One pass; concurrent calls share the pass under way. */
  sweep(): Promise<SweepResult> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(): Promise<SweepResult> {
    const { transfers, files, stores, clock, purgeGraceSeconds } = this.deps;
    const now = clock.now();
    // Each transfer turns expired once, and its event is written with the change.
    const expired = await this.deps.db.transaction().execute(async (tx) => {
      const turned = await transfers.expireDue(now.toISOString(), tx);
      for (const t of turned) await this.deps.events.emit('transfer.expired', t.user_id, { transfer: { id: t.id, title: t.title } }, tx);
      return turned.length;
    });
    const graceEdge = new Date(now.getTime() - purgeGraceSeconds * 1000).toISOString();
    let purged = 0;
    for (;;) {
      const due = await transfers.dueForPurge(now.toISOString(), graceEdge, 100);
      if (due.length === 0) break;
      for (const transfer of due) {
        for (const file of await files.listForTransfer(transfer.id)) {
          if (file.storage_key) await stores.get(file.store_id).delete(file.storage_key);
        }
        // The link dies with the blobs; its slug stays reserved for the owner for a while, and old
        // access tokens stay dead because they bind the transfer id.
        await transfers.markPurged(transfer.id, now.toISOString());
        purged += 1;
      }
    }
    for (const store of stores.all()) {
      // Temporary blobs older than a day are leftovers of crashed or abandoned uploads.
      await store.capabilities.sweepStaleTemps?.(STALE_TEMP_MS);
    }
    const abandoned = (await this.deps.uploads?.sweep()) ?? 0;
    if (abandoned) this.deps.log.info({ abandoned }, 'removed unfinished uploads');
    await this.deps.users.deleteExpiredSessions(now.toISOString());
    await this.deps.counters.deleteExpired(now);
    await this.deps.loginThrottles.deleteExpired(now.toISOString());
    for (const forget of this.deps.retention) await forget(now);
    if (expired || purged) this.deps.log.info({ expired, purged }, 'sweep');
    return { expired, purged };
  }
}
