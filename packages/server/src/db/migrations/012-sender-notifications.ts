import type { Kysely } from 'kysely';

/**
 * What a transfer's sender asked to be told, as the Filemail initialize call has it:
 * `confirmation` (an email when the transfer is ready), `notify` (an email at the first download,
 * then a summary after the second, and no more: `notices_sent` counts them, so racing downloads
 * send each once), and `reminders` (recipients who have not downloaded hear one day before
 * expiry, once: `reminded_at`).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transfers').addColumn('confirmation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('transfers').addColumn('notify', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('transfers').addColumn('reminders', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await db.schema.alterTable('transfers').addColumn('notices_sent', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('transfers').addColumn('reminded_at', 'text').execute();
}
