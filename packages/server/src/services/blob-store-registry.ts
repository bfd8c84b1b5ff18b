import type { BlobStore } from '../storage/blob-store.ts';

/**
 * Every store this instance can reach, by id. New files go to the default store; old files are
 * always read and deleted through the store recorded on their row.
 */
export class BlobStoreRegistry {
  private readonly byId = new Map<string, BlobStore>();

  constructor(
    readonly defaultStore: BlobStore,
    others: BlobStore[] = [],
  ) {
    for (const store of [defaultStore, ...others]) this.byId.set(store.id, store);
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
