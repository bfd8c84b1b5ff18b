import type { Kysely } from 'kysely';

/**
 * Speed test results (the Trinsfer resource). The measured numbers are floats (double precision on
 * both dialects); `public` (0/1) puts a result in the listing anyone may read, which shows the
 * numbers and what the submitter chose to name (display_name, isp, country, location), never who
 * owns it. Results go with their account.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('speed_tests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('ping_ms', 'double precision', (c) => c.notNull())
    .addColumn('jitter_ms', 'double precision')
    .addColumn('download_mbps', 'double precision', (c) => c.notNull())
    .addColumn('upload_mbps', 'double precision', (c) => c.notNull())
    .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('display_name', 'text')
    .addColumn('isp', 'text')
    .addColumn('country', 'text')
    .addColumn('location', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('speed_tests_user').on('speed_tests').columns(['user_id', 'created_at']).execute();
  await db.schema.createIndex('speed_tests_public').on('speed_tests').columns(['public', 'created_at']).execute();
}
