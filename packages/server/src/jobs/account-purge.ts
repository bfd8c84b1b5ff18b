import type { Clock } from '../domain/clock.ts';
import type { AccountPurgeRepository } from '../repositories/account-purge-repository.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { TransfersRepository } from '../repositories/transfers-repository.ts';
import type { TusUploadRow, TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { UploadPartsRepository } from '../repositories/upload-parts-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';
import { exponentialDelay, type JobKind } from './job-kind.ts';

const BATCH = 100;
/** File ids per abort call (one `in (...)` list each). */
const ABORT_BATCH = 500;

export const ACCOUNT_PURGE_KIND = 'account.purge';

export interface AccountPurgeJob {
  userId: string;
}

/**
 * Removes an account whose deletion was asked: first every blob it has in any store (transfers'
 * files, stored parts, tus uploads, multipart uploads sent straight to object storage), then its
 * rows in one transaction. Everything is found through the database and deleting a missing blob
 * is harmless, so a purge cut short by a crash or an unreachable store simply runs again (the job
 * retries); once the row is gone there is nothing left to do.
 */
export class AccountPurge {
  constructor(
    private readonly deps: {
      accounts: AccountPurgeRepository;
      transfers: TransfersRepository;
      files: FilesRepository;
      parts: UploadPartsRepository;
      tusUploads: TusUploadsRepository;
      stores: BlobStoreRegistry;
      clock: Clock;
      /** Drops a tus upload's bytes wherever the tus store keeps them. */
      expireTusUpload: (upload: TusUploadRow) => Promise<void>;
      /** Aborts multipart uploads sent straight to object storage for these files. */
      abortDirectUploads: (fileIds: string[]) => Promise<void>;
    },
  ) {}

  readonly jobKind: JobKind<AccountPurgeJob> = {
    kind: ACCOUNT_PURGE_KIND,
    concurrency: 1,
    maxAttempts: 10,
    retryDelayMs: exponentialDelay(5000, 10 * 60_000),
    run: async ({ userId }) => {
      await this.purge(userId);
    },
  };

  /** Answers false when there was nothing to do (no such account, or one not being deleted). */
  async purge(userId: string): Promise<boolean> {
    const { accounts, transfers, files, parts, tusUploads, stores } = this.deps;
    const account = await accounts.findAccount(userId);
    // Only an account whose deletion was asked is ever purged.
    if (!account || account.deleted_at === null) return false;

    const fileIds = await accounts.fileIds(userId);
    for (let i = 0; i < fileIds.length; i += ABORT_BATCH) await this.deps.abortDirectUploads(fileIds.slice(i, i + ABORT_BATCH));
    for (;;) {
      const batch = await accounts.parts(userId, BATCH);
      for (const part of batch) {
        await stores.get(part.store_id).delete(part.storage_key);
        await parts.delete(part.file_id, part.part_number, part.storage_key);
      }
      if (batch.length < BATCH) break;
    }
    for (;;) {
      const batch = await accounts.tusUploads(userId, BATCH);
      for (const upload of batch) {
        await this.deps.expireTusUpload(upload);
        await tusUploads.delete(upload.id);
      }
      if (batch.length < BATCH) break;
    }
    for (;;) {
      const batch = await accounts.unpurgedTransfers(userId, BATCH);
      for (const transfer of batch) {
        for (const file of await files.listForTransfer(transfer.id)) {
          if (file.storage_key) await stores.get(file.store_id).delete(file.storage_key);
        }
        await transfers.markPurged(transfer.id, this.deps.clock.now().toISOString());
      }
      if (batch.length < BATCH) break;
    }
    await accounts.deleteAccount(userId);
    return true;
  }
}
