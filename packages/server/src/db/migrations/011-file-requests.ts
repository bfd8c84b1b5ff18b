import type { Kysely } from 'kysely';

/**
 * File requests: a link (`/r/{token}`, only its SHA-256 stored) through which people without an
 * account upload into new transfers owned by the requester, within caps that hold across every
 * such transfer. What a request has received is derived from those transfers' files, so nothing
 * can drift; the request row is also the lock that makes concurrent declarations take turns.
 * Transfers opened through a request name it and keep what the uploader said about themselves.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('file_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('max_files', 'integer')
    .addColumn('max_bytes', 'bigint')
    .addColumn('max_file_size', 'bigint')
    .addColumn('allowed_types', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('require_name', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('require_email', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('notify', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'text')
    .execute();
  await db.schema.createIndex('file_requests_user').on('file_requests').columns(['user_id', 'created_at']).execute();

  await db.schema.alterTable('transfers').addColumn('file_request_id', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('uploader_name', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('uploader_email', 'text').execute();
  await db.schema.alterTable('transfers').addColumn('uploader_message', 'text').execute();
  await db.schema.createIndex('transfers_file_request').on('transfers').column('file_request_id').execute();
}
