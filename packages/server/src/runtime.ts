import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { openDatabase, type OpenedDatabase } from './db/database.ts';
import { randomBase62 } from './ids.ts';
import type { BlobStoreRegistry } from './services/blob-store-registry.ts';
import { openBlobStores } from './storage/blob-store-factory.ts';

export interface Runtime {
  database: OpenedDatabase;
  stores: BlobStoreRegistry;
  secret: string;
}

/**
 * The server's signing secret: FERRY_SECRET when set, else one generated on first start and kept
 * in the data folder (mode 0600), so links and sessions survive restarts.
 */
export function loadOrCreateSecret(config: Config): string {
  if (config.secret) return config.secret;
  const file = path.join(config.dataDir, 'secret');
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBase62(64);
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}

/** Opens what the server and the admin CLI share: database, blob stores, secret. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const secret = loadOrCreateSecret(config);
  const database = await openDatabase(config.databaseUrl);
  try {
    return { database, stores: await openBlobStores(config), secret };
  } catch (error) {
    await database.close();
    throw error;
  }
}
