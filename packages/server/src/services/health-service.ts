import type { DatabaseProbe } from '../repositories/database-probe.ts';
import type { BlobStoreRegistry } from '../storage/blob-store-registry.ts';

export interface Readiness {
  ok: boolean;
  /** `database` and `storage:<store id>`, each `ok` or `unavailable`. */
  checks: Record<string, 'ok' | 'unavailable'>;
}

/** Readiness: whether the database and every blob store answer now. */
export class HealthService {
  constructor(
    private readonly database: DatabaseProbe,
    private readonly stores: BlobStoreRegistry,
  ) {}

  async readiness(): Promise<Readiness> {
    const checks: Readiness['checks'] = { database: (await this.database.ping()) ? 'ok' : 'unavailable' };
    for (const store of this.stores.all()) {
      checks[`storage:${store.id}`] = await store.check().then(() => 'ok' as const, () => 'unavailable' as const);
    }
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  }
}
