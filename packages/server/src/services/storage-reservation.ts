import { sql } from 'kysely';
import { storageFull } from '../errors.ts';
import type { Db } from '../db/database.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';

/**
 * Declared sizes are reserved against free space at creation (SECURITY I106): a new upload is
 * refused with 507 unless the store's free space, minus what every other unfinished upload has
 * declared, still holds it. Many parallel uploads that together exceed the disk are caught here
 * instead of failing half-way. Stores that cannot tell their free space (object storage) pass.
 */
export class StorageReservation {
  constructor(
    private readonly db: Db,
    private readonly stores: BlobStoreRegistry,
  ) {}

  async assertRoom(bytes: number): Promise<void> {
    if (bytes <= 0) return;
    const free = await this.stores.defaultStore.freeSpace();
    if (free === null) return;
    if (bytes > free - (await this.reservedBytes())) throw storageFull();
  }

  /** Bytes promised to unfinished uploads: pending files of open transfers, and tus partial uploads. */
  async reservedBytes(): Promise<number> {
    const files = await this.db
      .selectFrom('files')
      .innerJoin('transfers', 'transfers.id', 'files.transfer_id')
      .select(sql<number>`coalesce(sum(files.size), 0)`.as('bytes'))
      .where('files.state', '=', 'pending')
      .where('transfers.state', '=', 'uploading')
      .executeTakeFirstOrThrow();
    const partials = await this.db
      .selectFrom('tus_uploads')
      .select(sql<number>`coalesce(sum(size), 0)`.as('bytes'))
      .where('kind', '=', 'partial')
      .where('completed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(files.bytes) + Number(partials.bytes);
  }
}
