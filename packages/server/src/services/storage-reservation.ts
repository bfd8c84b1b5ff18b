import { fail } from '../errors.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { lifetimeEdge } from '../domain/expiry.ts';
import type { DbOrTx } from '../repositories/transfers-repository.ts';
import type { FilesRepository } from '../repositories/files-repository.ts';
import type { TusUploadsRepository } from '../repositories/tus-uploads-repository.ts';
import type { UsersRepository } from '../repositories/users-repository.ts';
import type { WriteLocksRepository } from '../repositories/write-locks-repository.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';

/**
 * Bytes one account may have pending. Today one setting for every account; once plans exist,
 * the account's plan (its storage quota) answers here.
 */
export type PendingLimit = (userId: string) => Promise<number>;

/**
 * Declared sizes are reserved at creation, against two limits:
 * - the account's own cap on pending bytes (413 pending_uploads_limit), so one account cannot
 *   reserve the disk away from every other with declarations it never sends;
 * - the store's free space minus what every unfinished upload has declared (507 storage_full),
 *   so parallel uploads that together exceed the disk are caught before they start. Stores that
 *   cannot tell their free space (object storage) skip this one.
 * Pending means: pending files of open transfers, and tus partial uploads, for as long as their
 * upload lives (FERRY_UPLOAD_EXPIRY after the declaration); an abandoned declaration stops counting.
 *
 * Every route that reserves space (declared files, tus creation, chunks, curl -T, multipart)
 * goes through `reserve` or `assertRoom`. The check and the write that records the reservation
 * are one transaction holding the account's lock (and, where free space is checked, the one
 * storage lock), so two concurrent declarations cannot both pass a limit only one of them fits.
 */
export class StorageReservation {
  constructor(
    private readonly db: Db,
    private readonly repos: { users: UsersRepository; files: FilesRepository; tusUploads: TusUploadsRepository; writeLocks: WriteLocksRepository },
    private readonly stores: BlobStoreRegistry,
    private readonly clock: Clock,
    private readonly options: { pendingLimit: PendingLimit; uploadLifetimeSeconds: number },
  ) {}

  /**
   * Checks that `bytes` more fit both limits and runs `write`, which records what holds them (file
   * rows, a tus upload), in the same transaction. Throws before `write` runs when they do not fit.
   */
  async reserve<T>(userId: string, bytes: number, write: (tx: DbOrTx) => Promise<T>): Promise<T> {
    if (!(bytes > 0)) return this.db.transaction().execute(write);
    // Measured before the transaction: a filesystem call should not hold SQLite's one connection.
    const free = await this.stores.defaultStore.freeSpace();
    const limit = await this.options.pendingLimit(userId);
    return this.db.transaction().execute(async (tx) => {
      // Free space is shared by every account: while it is checked, declarations of all accounts
      // take turns (always this lock first, then the account's). Without it only the account's.
      if (free !== null) await this.repos.writeLocks.hold('storage_reservations', this.clock.now().toISOString(), tx);
      await this.repos.users.lockAccount(userId, tx);
      const mine = await this.pendingBytes(tx, userId);
      if (mine + bytes > limit) throw pendingUploadsLimit(limit, mine);
      if (free !== null && bytes > free - (await this.pendingBytes(tx))) throw fail.storage_full();
      return write(tx);
    });
  }

  /**
   * The same check for bytes that arrive in the very request that asks (curl -T, a multipart
   * form): nothing is recorded, as the bytes themselves soon take the room.
   */
  async assertRoom(userId: string, bytes: number): Promise<void> {
    if (bytes > 0) await this.reserve(userId, bytes, async () => undefined);
  }

  /** Bytes promised to unfinished uploads: of one account, or without `userId` of everyone. */
  async pendingBytes(tx: DbOrTx = this.db, userId?: string): Promise<number> {
    const now = this.clock.now();
    const filter = { userId, nowIso: now.toISOString() };
    const files = await this.repos.files.pendingBytes({ ...filter, declaredAfterIso: lifetimeEdge(now, this.options.uploadLifetimeSeconds) }, tx);
    const partials = await this.repos.tusUploads.pendingPartialBytes(filter, tx);
    return files + partials;
  }
}

/** The account's own cap on bytes declared but not yet uploaded; the server may still have room. */
const pendingUploadsLimit = (limitBytes: number, pendingBytes: number) =>
  fail.pending_uploads_limit(
    `This account already has ${pendingBytes} bytes declared in unfinished uploads and may have at most ${limitBytes}. Finish or delete some of them, or wait until abandoned ones expire.`,
    { context: { max_pending_bytes: limitBytes, pending_bytes: pendingBytes } },
  );
