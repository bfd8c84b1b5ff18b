import type { Config } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { Clock } from '../domain/clock.ts';
import { UrlSigner } from '../domain/url-signer.ts';
import { UsersRepository } from '../repositories/users-repository.ts';
import { ApiKeysRepository } from '../repositories/api-keys-repository.ts';
import { TransfersRepository } from '../repositories/transfers-repository.ts';
import { FilesRepository } from '../repositories/files-repository.ts';
import { CountersRepository } from '../repositories/counters-repository.ts';
import { AuthService } from './auth-service.ts';
import { KeyService } from './key-service.ts';
import { AccountService } from './account-service.ts';
import { TransferService } from './transfer-service.ts';
import { FileService } from './file-service.ts';
import { DownloadService } from './download-service.ts';
import { UnlockService } from './unlock-service.ts';
import { RateLimiter } from './rate-limiter.ts';
import type { BlobStoreRegistry } from './blob-store-registry.ts';

export interface ServiceDeps {
  config: Config;
  db: Db;
  stores: BlobStoreRegistry;
  clock: Clock;
  secret: string;
}

/** Wires repositories into services; the only place that knows how they fit together. */
export function createServices({ config, db, stores, clock, secret }: ServiceDeps) {
  const users = new UsersRepository(db);
  const apiKeys = new ApiKeysRepository(db);
  const transfersRepo = new TransfersRepository(db);
  const filesRepo = new FilesRepository(db);
  const counters = new CountersRepository(db);
  const signer = new UrlSigner(secret);
  const rateLimiter = new RateLimiter(counters, clock);
  const transfers = new TransferService(db, transfersRepo, filesRepo, stores, clock, config.plan);
  const downloads = new DownloadService(transfersRepo, filesRepo, transfers, stores, signer, clock);
  return {
    db,
    stores,
    clock,
    repositories: { users, apiKeys, transfers: transfersRepo, files: filesRepo, counters },
    signer,
    rateLimiter,
    auth: new AuthService(users, clock, { signup: config.signup, sessionTtlSeconds: config.sessionTtlSeconds }),
    keys: new KeyService(apiKeys, users, clock),
    account: new AccountService(users, counters, clock, config.plan),
    transfers,
    files: new FileService(db, filesRepo, transfers, stores, clock, config.plan),
    downloads,
    unlock: new UnlockService(downloads, rateLimiter, signer, clock, config.accessTokenTtlSeconds),
  };
}

export type Services = ReturnType<typeof createServices>;
