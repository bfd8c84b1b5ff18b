import { sql, type Kysely } from 'kysely';

/**
 * Guards against account abuse that must hold across instances and races:
 * - `instance_claims`: one row per one-time event, taken by a conditional insert in the same
 *   transaction as its effect. 'first_account' is taken by whichever account is created first,
 *   so exactly one sign-up can become the first administrator. An instance that already has
 *   accounts is claimed here.
 * - `login_throttles`: failed sign-ins per email (hashed; known or not, so the throttle tells
 *   nothing about which emails have accounts) and when the next attempt may start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('instance_claims')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('claimed_at', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into instance_claims (name, claimed_at)
    select 'first_account', created_at from users order by created_at limit 1`.execute(db);

  await db.schema
    .createTable('login_throttles')
    .addColumn('subject', 'text', (c) => c.primaryKey())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .addColumn('window_ends_at', 'text', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_throttles_window').on('login_throttles').column('window_ends_at').execute();
}
