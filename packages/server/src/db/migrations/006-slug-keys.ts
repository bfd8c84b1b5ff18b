import { sql, type Kysely } from 'kysely';

/**
 * Custom slugs are unique regardless of letter case, and a purged transfer's slug stays reserved
 * for its owner for a while: `slug_key` is the slug in lower case, under a unique index, and a
 * purge clears `slug` but keeps `slug_key` until the reservation ends or the owner takes it back.
 *
 * Existing slugs that differ only in case keep working: the oldest of them gets the key, the
 * others keep their exact slug (still unique on its own) without one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transfers').addColumn('slug_key', 'text').execute();
  await sql`
    update transfers set slug_key = lower(slug)
    where slug is not null and not exists (
      select 1 from transfers older
      where older.slug is not null and lower(older.slug) = lower(transfers.slug)
        and (older.created_at < transfers.created_at or (older.created_at = transfers.created_at and older.id < transfers.id))
    )`.execute(db);
  await db.schema.createIndex('transfers_slug_key_unique').on('transfers').column('slug_key').unique().execute();
}
