import type { Kysely } from 'kysely';

/**
 * The durable job queue (outbox). A job is written in the same transaction as the change that
 * causes it; workers in any instance claim due jobs with a lease. `dedupe_key` is unique, so a
 * job that must exist once (a periodic sweep's slot, a webhook delivery of one event to one
 * endpoint) is enqueued with ON CONFLICT DO NOTHING. `group_key` bounds how many jobs of one
 * group (one webhook endpoint) run at once. Timestamps are ISO text, compared as text.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('group_key', 'text')
    .addColumn('dedupe_key', 'text', (c) => c.unique())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_expires_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('jobs_due').on('jobs').columns(['kind', 'state', 'run_at']).execute();
  await db.schema.createIndex('jobs_group').on('jobs').columns(['group_key', 'state']).execute();
  await db.schema.createIndex('jobs_finished').on('jobs').columns(['state', 'finished_at']).execute();
}
