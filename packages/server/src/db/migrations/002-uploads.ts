import type { Kysely } from 'kysely';

/**
 * Resumable uploads: the per-transfer upload token, multipart and chunk bookkeeping on files,
 * stored parts awaiting assembly, tus upload records and leases (upload locks that survive
 * neither a crash nor their expiry, so a dead holder never blocks an upload for long).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('transfers').addColumn('upload_token_hash', 'text').execute();
  await db.schema.createIndex('transfers_upload_token').unique().on('transfers').column('upload_token_hash').execute();

  await db.schema.alterTable('files').addColumn('part_size', 'bigint').execute();
  await db.schema.alterTable('files').addColumn('part_count', 'integer').execute();
  await db.schema.alterTable('files').addColumn('client_file_id', 'text').execute();
  await db.schema.createIndex('files_client_id').unique().on('files').columns(['transfer_id', 'client_file_id']).execute();

  await db.schema
    .createTable('upload_parts')
    .addColumn('file_id', 'text', (c) => c.notNull().references('files.id').onDelete('cascade'))
    .addColumn('part_number', 'integer', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('store_id', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('upload_parts_pk', ['file_id', 'part_number'])
    .execute();

  await db.schema
    .createTable('tus_uploads')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('transfer_id', 'text')
    .addColumn('file_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint')
    .addColumn('info', 'text')
    .addColumn('concat', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('tus_uploads_expires').on('tus_uploads').column('expires_at').execute();

  await db.schema
    .createTable('upload_locks')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['upload_locks', 'tus_uploads', 'upload_parts']) await db.schema.dropTable(table).ifExists().execute();
  await db.schema.dropIndex('files_client_id').ifExists().execute();
  await db.schema.dropIndex('transfers_upload_token').ifExists().execute();
  for (const column of ['client_file_id', 'part_count', 'part_size']) await db.schema.alterTable('files').dropColumn(column).execute();
  await db.schema.alterTable('transfers').dropColumn('upload_token_hash').execute();
}
