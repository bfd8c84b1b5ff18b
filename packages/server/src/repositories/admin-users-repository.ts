import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { DbOrTx } from './transfers-repository.ts';

/** An account as administrators see it: never its password hash. */
export interface AccountSummary {
  id: string;
  email: string;
  name: string | null;
  is_admin: number;
  created_at: string;
  disabled_at: string | null;
  disabled_reason: string | null;
  deleted_at: string | null;
  /** Transfers not deleted. */
  transfer_count: number;
  /** Bytes of complete files whose transfer is not purged yet (what the stores hold for the account). */
  storage_bytes: number;
}

export interface AccountListQuery {
  /** Substring of the email or the name, any letter case. */
  q?: string;
  limit: number;
  offset: number;
}

export type AccountChanges = Partial<Pick<AccountSummary, 'disabled_at' | 'disabled_reason' | 'deleted_at'>>;

/** `%q%` for LIKE, with LIKE's own wildcards in `q` taken literally (use with `escape '\'`). */
/** `T` with the columns `K` (added by a later migration, hence optional in the schema) possibly absent. */
export type Optional<T, K extends keyof T> = Omit<T, K> & { [P in K]?: T[P] };

export const containsPattern = (q: string): string => `%${q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const summaries = (db: DbOrTx) =>
  db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.name', 'users.is_admin', 'users.created_at', 'users.disabled_at', 'users.disabled_reason', 'users.deleted_at'])
    .select([
      sql<number>`(select count(*) from transfers t where t.user_id = users.id and t.state != 'deleted')`.as('transfer_count'),
      sql<number>`(select coalesce(sum(f.size), 0) from files f join transfers t on t.id = f.transfer_id
        where t.user_id = users.id and t.purged_at is null and f.state = 'complete')`.as('storage_bytes'),
    ]);

const normalize = (row: Optional<AccountSummary, 'disabled_at' | 'disabled_reason' | 'deleted_at'>): AccountSummary => ({
  ...row,
  is_admin: Number(row.is_admin),
  disabled_at: row.disabled_at ?? null,
  disabled_reason: row.disabled_reason ?? null,
  deleted_at: row.deleted_at ?? null,
  transfer_count: Number(row.transfer_count),
  storage_bytes: Number(row.storage_bytes),
});

/** Accounts for administration: search, counts, disabling and the start of a deletion. */
export class AdminUsersRepository {
  constructor(private readonly db: DbOrTx) {}

  /** Runs `work` in one transaction with a repository bound to it (use only that one inside), and the transaction for other writers. */
  transaction<T>(work: (users: AdminUsersRepository, tx: DbOrTx) => Promise<T>): Promise<T> {
    return (this.db as Db).transaction().execute((tx) => work(new AdminUsersRepository(tx), tx));
  }

  async list(query: AccountListQuery): Promise<{ rows: AccountSummary[]; total: number }> {
    const filter = <O>(qb: SelectQueryBuilder<Database, 'users', O>) => {
      if (!query.q) return qb;
      const pattern = containsPattern(query.q);
      return qb.where(sql<boolean>`(lower(users.email) like ${pattern} escape '\\' or lower(coalesce(users.name, '')) like ${pattern} escape '\\')`);
    };
    const total = await filter(this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'))).executeTakeFirstOrThrow();
    const rows = await filter(summaries(this.db)).orderBy('users.created_at', 'desc').orderBy('users.id').limit(query.limit).offset(query.offset).execute();
    return { rows: rows.map(normalize), total: Number(total.n) };
  }

  async find(id: string): Promise<AccountSummary | undefined> {
    const row = await summaries(this.db).where('users.id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  /**
   * Takes the row lock of every administrator (a no-op write), so decisions about "the last
   * admin" are made one at a time: on PostgreSQL a second transaction waits here and then reads
   * what the first committed; SQLite runs one writing transaction at a time anyway.
   */
  async lockAdmins(): Promise<void> {
    await this.db.updateTable('users').set((eb) => ({ is_admin: eb.ref('is_admin') })).where('is_admin', '=', 1).execute();
  }

  /** Administrators other than `exceptId` that are neither disabled nor being deleted. */
  async otherActiveAdmins(exceptId: string): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('is_admin', '=', 1)
      .where('id', '!=', exceptId)
      .where('disabled_at', 'is', null)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Changes an account that is not being deleted; false when there is none. */
  async update(id: string, changes: AccountChanges): Promise<boolean> {
    const r = await this.db.updateTable('users').set(changes).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Ends every session of the account. */
  async deleteSessions(userId: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).execute();
  }

  /** Every transfer of the account turns deleted (those already deleted keep their time). */
  async deleteTransfers(userId: string, nowIso: string): Promise<void> {
    await this.db
      .updateTable('transfers')
      .set({ state: 'deleted', deleted_at: sql`coalesce(deleted_at, ${nowIso})`, updated_at: nowIso })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('state', '!=', 'deleted'), eb('deleted_at', 'is', null)]))
      .execute();
  }

  /** Accounts in all, administrators, and those disabled or being deleted. */
  async counts(): Promise<{ total: number; admins: number; disabled: number }> {
    const row = await this.db
      .selectFrom('users')
      .select([
        (eb) => eb.fn.countAll<number>().as('total'),
        sql<number>`coalesce(sum(case when is_admin = 1 then 1 else 0 end), 0)`.as('admins'),
        sql<number>`coalesce(sum(case when disabled_at is not null or deleted_at is not null then 1 else 0 end), 0)`.as('disabled'),
      ])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), admins: Number(row.admins), disabled: Number(row.disabled) };
  }
}
