import type { Kysely } from 'kysely';

/**
 * Administration. An account may be disabled (`disabled_at`, with the admin's reason): its keys,
 * sessions, upload tokens and links stop at once and work again when it is re-enabled. An account
 * being deleted has `deleted_at` until the purge job has removed its blobs and rows. A transfer
 * removed by an administrator (an abuse takedown) keeps who removed it, when and why.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('users').addColumn('disabled_at', 'text').execute();
  await db.schema.alterTable('users').addColumn('disabled_reason', 'text').execute();
  await db.schema.alterTable('users').addColumn('deleted_at', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('takedown_at', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('takedown_by', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('takedown_reason', 'text').execute();
}
