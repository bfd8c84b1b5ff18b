import pg from 'pg';
import { randomBase36 } from '../../src/ids.ts';

/**
 * The database a test server uses. By default a fresh SQLite file in the test's data folder; with
 * FERRY_TEST_DATABASE_URL (a PostgreSQL server, the scale-out run) a fresh database created on that
 * server for this one test file and dropped afterwards, so test files running in parallel never
 * see each other's rows (the first account of each is its admin, as on a new install).
 */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const server = process.env.FERRY_TEST_DATABASE_URL;
  if (!server) return { url: '', drop: async () => undefined };
  const name = `ferry_test_${randomBase36(16)}`;
  await admin(server, `CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function admin(server: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
