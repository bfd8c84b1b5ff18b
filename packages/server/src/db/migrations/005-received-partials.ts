import type { Kysely } from 'kysely';

/**
 * When a tus partial upload received its last byte. Until then its declared length is a promise
 * that counts against the pending-upload limits; after, its bytes are on disk (and in the store's
 * free space) while it waits for the final upload that joins it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tus_uploads').addColumn('received_at', 'text').execute();
}
