import type { BlobStore } from './blob-store.ts';
import type { LocalBlobStore } from './local-blob-store.ts';
import type { S3BlobStore } from './s3-blob-store.ts';
import type { S3Settings } from './s3-client.ts';

/**
 * What the default store is made of, for the parts that must write beside it rather than through
 * the BlobStore interface (the tus data stores put their bytes where the finished blob will be).
 * Chosen once in the factory, so nothing else has to test a store's class.
 */
export type DefaultMedium =
  | { kind: 'local'; store: LocalBlobStore }
  | { kind: 's3'; store: S3BlobStore; settings: S3Settings }
  | { kind: 'other'; store: BlobStore };

/**
 * Every store this instance can reach, by id. New files go to the default store; old files are
 * always read and deleted through the store recorded on their row.
 */
export class BlobStoreRegistry {
  private readonly byId = new Map<string, BlobStore>();

  readonly defaultStore: BlobStore;

  constructor(
    readonly defaultMedium: DefaultMedium,
    others: BlobStore[] = [],
  ) {
    this.defaultStore = defaultMedium.store;
    for (const store of [this.defaultStore, ...others]) this.byId.set(store.id, store);
  }

  get defaultStoreId(): string {
    return this.defaultStore.id;
  }

  get(id: string): BlobStore {
    const store = this.byId.get(id);
    if (!store) throw new Error(`blob store "${id}" is not configured on this instance`);
    return store;
  }

  all(): BlobStore[] {
    return [...this.byId.values()];
  }
}
