import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import pg from 'pg';
import * as initial from './migrations/001-initial.ts';
import * as uploads from './migrations/002-uploads.ts';
import * as directMultipart from './migrations/003-direct-multipart.ts';
import * as accountAbuseGuards from './migrations/004-account-abuse-guards.ts';
import * as receivedPartials from './migrations/005-received-partials.ts';
import * as slugKeys from './migrations/006-slug-keys.ts';
import * as writeLocks from './migrations/007-write-locks.ts';
import * as jobs from './migrations/008-jobs.ts';
import * as recipients from './migrations/009-recipients.ts';
import * as webhooks from './migrations/010-webhooks.ts';
import * as fileRequests from './migrations/011-file-requests.ts';
import * as senderNotifications from './migrations/012-sender-notifications.ts';
import * as analytics from './migrations/013-analytics.ts';
import * as speedTests from './migrations/014-speed-tests.ts';
import * as admin from './migrations/016-admin.ts';
import type { Database } from './schema.ts';
import { createPrivateFileSync, makePrivateDirSync } from '../storage/private-paths.ts';

export type Db = Kysely<Database>;
export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-uploads': uploads,
  '003-direct-multipart': directMultipart,
  '004-account-abuse-guards': accountAbuseGuards,
  '005-received-partials': receivedPartials,
  '006-slug-keys': slugKeys,
  '007-write-locks': writeLocks,
  '008-jobs': jobs,
  '009-recipients': recipients,
  '010-webhooks': webhooks,
  '011-file-requests': fileRequests,
  '012-sender-notifications': senderNotifications,
  '013-analytics': analytics,
  '014-speed-tests': speedTests,
  '016-admin': admin,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Opens SQLite (`sqlite://path` or `:memory:`) or PostgreSQL (`postgres://...`) and migrates it. */
export async function openDatabase(url: string): Promise<OpenedDatabase> {
  const opened = connectDatabase(url);
  const { error, results } = await new Migrator({ db: opened.db, provider }).migrateToLatest();
  if (error) {
    await opened.close();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${String(error)}`);
  }
  return opened;
}

/** Opens the database without migrating it (the upgrade tests start from an older schema). */
export function connectDatabase(url: string): OpenedDatabase {
  return url.startsWith('postgres://') || url.startsWith('postgresql://') ? openPostgres(url) : openSqlite(url);
}

function openSqlite(url: string): OpenedDatabase {
  const file = url.replace(/^sqlite:\/\//, '');
  if (file !== ':memory:') {
    makePrivateDirSync(path.dirname(file));
    // SQLite creates its -wal and -shm files with the database file's mode, so one private
    // file makes all three private.
    createPrivateFileSync(file);
  }
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

function openPostgres(url: string): OpenedDatabase {
  // int8 (bigint) columns hold file sizes far below 2^53: read them as numbers, not strings.
  pg.types.setTypeParser(20, (value: string) => Number(value));
  const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
  // An idle client whose connection dies (a PostgreSQL restart, a failover) emits 'error' on the
  // pool; unhandled, that would kill the process. The pool drops that client and connects anew;
  // requests in flight fail and answer 503 database_unavailable.
  pool.on('error', (error) => process.emitWarning(`PostgreSQL connection lost: ${error.message}`));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', close: () => db.destroy() };
}

/** Whether `db` talks to PostgreSQL (for the few statements whose SQL differs, like SKIP LOCKED). */
export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
