import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import { openDatabase, type OpenedDatabase } from './db/database.ts';
import { randomBase62 } from './ids.ts';
import type { BlobStoreRegistry } from './storage/blob-store-registry.ts';
import { openBlobStores } from './storage/blob-store-factory.ts';
import type { Redis } from 'ioredis';
import { closeRedis, openRedis } from './shared-state/redis-connection.ts';
import { makePrivateDirSync, PRIVATE_FILE_MODE } from './storage/private-paths.ts';

export interface Runtime {
  database: OpenedDatabase;
  stores: BlobStoreRegistry;
  secret: string;
  /** Null without FERRY_REDIS_URL. */
  redis: Redis | null;
  /** Closes what was opened here (database, Redis). */
  close(): Promise<void>;
}

/**
 * The server's signing secret: FERRY_SECRET when set, else one generated on first start and kept
 * in the data folder (mode 0600), so links and sessions survive restarts.
 */
export function loadOrCreateSecret(config: Config): string {
  if (config.secret) return config.secret;
  const file = path.join(config.dataDir, 'secret');
  makePrivateDirSync(config.dataDir);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBase62(64);
  fs.writeFileSync(file, `${secret}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  return secret;
}

/**
 * Opens what the server, the admin CLI and the test harness share: database, blob stores (the
 * bucket is created when missing), Redis, secret. Fails, closing what it opened, when any of them
 * cannot be reached, so a misconfigured instance never starts half-connected.
 */
export async function openRuntime(config: Config, onRedisError?: (err: Error) => void): Promise<Runtime> {
  const secret = loadOrCreateSecret(config);
  const database = await openDatabase(config.databaseUrl);
  let redis: Redis | null = null;
  try {
    const stores = await openBlobStores(config);
    redis = config.redisUrl ? await openRedis(config.redisUrl, { onError: onRedisError }) : null;
    const opened = redis;
    return {
      database,
      stores,
      secret,
      redis,
      async close() {
        if (opened) await closeRedis(opened);
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
