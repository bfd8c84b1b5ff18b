import type { Kysely } from 'kysely';

/**
 * Named locks that serialize one kind of write across every instance: a transaction takes the
 * row (an upsert, which PostgreSQL keeps locked until commit) before it checks and writes. SQLite
 * runs one write transaction at a time anyway. 'storage_reservations' serializes declarations
 * that check the disk's free space, which belongs to every account at once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('write_locks')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('taken_at', 'text', (c) => c.notNull())
    .execute();
}
