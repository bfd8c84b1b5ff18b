import type { Kysely } from 'kysely';

/**
 * Multipart uploads that clients send straight to object storage (signed part URLs on S3): which
 * object and which S3 upload id belong to a pending file, until the file is completed or the
 * upload is aborted (expiry, deletion of the transfer).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('direct_multipart_uploads')
    .addColumn('file_id', 'text', (c) => c.primaryKey().references('files.id').onDelete('cascade'))
    .addColumn('store_id', 'text', (c) => c.notNull())
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('upload_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('direct_multipart_uploads_created').on('direct_multipart_uploads').column('created_at').execute();
}
