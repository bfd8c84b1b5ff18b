import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Whether the database answers at all (the readiness probe); reads no table. */
export class DatabaseProbe {
  constructor(private readonly db: Db) {}

  async ping(): Promise<boolean> {
    return sql`select 1`.execute(this.db).then(() => true, () => false);
  }
}
