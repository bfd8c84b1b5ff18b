import type { Db } from '../db/database.ts';
import type { UsersTable, SessionsTable, InvitesTable } from '../db/schema.ts';
import { expiredAt, liveAt } from './expiry-predicates.ts';
import type { DbOrTx } from './transfers-repository.ts';

export type UserRow = UsersTable;
export type SessionRow = SessionsTable;

/** Users, their sessions, sign-up invites and the instance's first-account claim. */
export class UsersRepository {
  constructor(private readonly db: Db) {}

  /** Runs `work` in one transaction with a repository bound to it (use only that one inside). */
  transaction<T>(work: (users: UsersRepository) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => work(new UsersRepository(tx)));
  }

  /**
   * Takes the instance's one 'first_account' claim; true for exactly one caller ever. In a
   * transaction a concurrent claimer waits for this one to commit or roll back (the primary
   * key settles it, on PostgreSQL at any isolation level), so a rolled-back claim is free again.
   */
  async claimFirstAccount(nowIso: string): Promise<boolean> {
    const result = await this.db
      .insertInto('instance_claims')
      .values({ name: 'first_account', claimed_at: nowIso })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async firstAccountClaimed(): Promise<boolean> {
    const row = await this.db.selectFrom('instance_claims').select('name').where('name', '=', 'first_account').executeTakeFirst();
    return row !== undefined;
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Whether the account exists and is neither disabled nor being deleted (read at every use: nothing caches it). */
  async isActive(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('users').select('id').where('id', '=', id).where('disabled_at', 'is', null).where('deleted_at', 'is', null).executeTakeFirst();
    return row !== undefined;
  }

  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  /** Inserts unless the email is taken; answers whether the row was created. */
  async insertIfNew(row: UserRow): Promise<boolean> {
    const result = await this.db
      .insertInto('users')
      .values(row)
      .onConflict((oc) => oc.column('email').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  /**
   * Serializes what must be decided one at a time per account (its storage reservations): a
   * no-op write to the account's row, which PostgreSQL keeps locked until `tx` ends, so a second
   * transaction of the same account waits here and then reads what the first one wrote. SQLite
   * runs one write transaction at a time anyway.
   */
  async lockAccount(userId: string, tx: DbOrTx): Promise<void> {
    await tx.updateTable('users').set((eb) => ({ is_admin: eb.ref('is_admin') })).where('id', '=', userId).execute();
  }

  insertSession(row: SessionRow): Promise<unknown> {
    return this.db.insertInto('sessions').values(row).execute();
  }

  findSessionByTokenHash(tokenHash: string, nowIso: string): Promise<SessionRow | undefined> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where(liveAt('expires_at', nowIso))
      .executeTakeFirst();
  }

  deleteSessionByTokenHash(tokenHash: string): Promise<unknown> {
    return this.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  deleteExpiredSessions(nowIso: string): Promise<unknown> {
    return this.db.deleteFrom('sessions').where(expiredAt('expires_at', nowIso)).execute();
  }

  insertInvite(row: InvitesTable): Promise<unknown> {
    return this.db.insertInto('invites').values(row).execute();
  }

  /** Marks an unused, unexpired invite used; answers whether it was (one use only, race-free). */
  async consumeInvite(tokenHash: string, nowIso: string): Promise<boolean> {
    const result = await this.db
      .updateTable('invites')
      .set({ used_at: nowIso })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where(liveAt('expires_at', nowIso))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
