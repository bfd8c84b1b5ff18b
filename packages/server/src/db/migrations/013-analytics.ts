import type { Kysely } from 'kysely';

/**
 * Analytics: raw events (one row per download through a link, settled, and one per completed
 * upload), kept FERRY_ANALYTICS_RAW_DAYS; their daily rollups, kept for good; the days already
 * rolled up (so queries know where rollups end and raw rows begin); and scheduled reports.
 * No foreign keys: rollups outlive the transfers, files and recipients they count, and every row
 * carries its `user_id` so an account's analytics can be removed with it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('download_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('file_id', 'text')
    .addColumn('recipient_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('country', 'text')
    .addColumn('ua_family', 'text')
    .execute();
  await db.schema.createIndex('download_events_user_at').on('download_events').columns(['user_id', 'at']).execute();
  await db.schema.createIndex('download_events_transfer_at').on('download_events').columns(['transfer_id', 'at']).execute();
  await db.schema.createIndex('download_events_at').on('download_events').column('at').execute();

  await db.schema
    .createTable('upload_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('upload_events_user_at').on('upload_events').columns(['user_id', 'at']).execute();
  await db.schema.createIndex('upload_events_at').on('upload_events').column('at').execute();

  await db.schema
    .createTable('analytics_daily')
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('transfer_id', 'text', (c) => c.notNull())
    .addColumn('file_id', 'text')
    .addColumn('recipient_id', 'text')
    .addColumn('country', 'text')
    .addColumn('ua_family', 'text')
    .addColumn('events', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('analytics_daily_user_day').on('analytics_daily').columns(['user_id', 'day']).execute();
  await db.schema.createIndex('analytics_daily_transfer_day').on('analytics_daily').columns(['transfer_id', 'day']).execute();
  await db.schema.createIndex('analytics_daily_day').on('analytics_daily').column('day').execute();

  await db.schema
    .createTable('analytics_rollup_days')
    .addColumn('day', 'text', (c) => c.primaryKey())
    .addColumn('rolled_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('report_schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('interval', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('next_run_at', 'text', (c) => c.notNull())
    .addColumn('last_run_at', 'text')
    .execute();
  await db.schema.createIndex('report_schedules_user').on('report_schedules').column('user_id').execute();
  await db.schema.createIndex('report_schedules_due').on('report_schedules').column('next_run_at').execute();
}
