import { sql, type Kysely } from 'kysely';
import { newId, randomBase62 } from '../../ids.ts';
import { RECIPIENT_TOKEN_LENGTH } from '../../domain/recipients.ts';

/**
 * Recipients become rows with a link of their own (`/d/{token}`), and every visit or download
 * through a link leaves a receipt. A removed recipient keeps its row (revoked_at set) so its
 * receipts still name it; only live recipients are unique per transfer and email, so the same
 * address may be added again later with a new link. `transfers.public_link` lets the owner turn
 * the shared `/t/{slug}` link off. The old `transfers.recipients` JSON lists are copied into rows
 * and the column stays for older readers only.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('recipients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transfer_id', 'text', (c) => c.notNull().references('transfers.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull().unique())
    .addColumn('email_status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('email_sent_at', 'text')
    .addColumn('email_error', 'text')
    .addColumn('opened_at', 'text')
    .addColumn('last_opened_at', 'text')
    .addColumn('first_download_at', 'text')
    .addColumn('last_download_at', 'text')
    .addColumn('download_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  // A partial unique index: both dialects have them, and only live recipients must be unique.
  await sql`create unique index recipients_live_email on recipients (transfer_id, email) where revoked_at is null`.execute(db);

  await db.schema
    .createTable('receipts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('transfer_id', 'text', (c) => c.notNull().references('transfers.id').onDelete('cascade'))
    .addColumn('recipient_id', 'text', (c) => c.references('recipients.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('file_id', 'text')
    .addColumn('range', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addColumn('bytes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('completed', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('receipts_transfer_started').on('receipts').columns(['transfer_id', 'started_at']).execute();
  await db.schema.createIndex('receipts_recipient').on('receipts').column('recipient_id').execute();

  await db.schema.alterTable('transfers').addColumn('public_link', 'integer', (c) => c.notNull().defaultTo(1)).execute();

  const lists = await db.selectFrom('transfers').select(['id', 'recipients', 'created_at']).where('recipients', '!=', '[]').execute();
  for (const transfer of lists as { id: string; recipients: string; created_at: string }[]) {
    const emails = [...new Set(parseList(transfer.recipients))];
    for (const [position, email] of emails.entries()) {
      await db
        .insertInto('recipients')
        .values({ id: newId('rcp'), transfer_id: transfer.id, email, position, token: randomBase62(RECIPIENT_TOKEN_LENGTH), created_at: transfer.created_at })
        .execute();
    }
  }
}

/** The stored lists were written normalised; anything unreadable is skipped rather than failing the upgrade. */
function parseList(json: string): string[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((e): e is string => typeof e === 'string' && e.length > 0) : [];
  } catch {
    return [];
  }
}
