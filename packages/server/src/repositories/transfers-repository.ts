import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database, TransfersTable, TransferState } from '../db/schema.ts';
import { expiredAt, liveAt } from './expiry-predicates.ts';
import { isUniqueViolation } from '../db/unique-violation.ts';
import { slugKey } from '../domain/transfer-rules.ts';

/** A row as written: `slug_key` follows from `slug` and is the repository's to set. */
export type TransferRow = Omit<TransfersTable, 'download_count' | 'bytes_served' | 'slug_key' | 'public_link'> & {
  download_count: number;
  bytes_served?: number;
  slug_key?: string | null;
  /** 1 (the default) while /t/{slug} works, 0 when it is off. */
  public_link?: number;
};
export type TransferWithTotals = TransferRow & { size: number; file_count: number };
export type DbOrTx = Db | Transaction<Database>;

export interface TransferListQuery {
  userId: string;
  limit: number;
  offset: number;
  sort: 'created_at' | 'expires_at' | 'title' | 'size';
  order: 'asc' | 'desc';
  state?: TransferState;
  q?: string;
  /** Only the transfers opened through this file request. */
  fileRequestId?: string;
  /** States are filtered as callers see them: past expires_at counts as expired before any sweep. */
  nowIso: string;
}

const withTotals = (db: DbOrTx) =>
  db
    .selectFrom('transfers')
    .selectAll('transfers')
    .select([
      sql<number>`(select coalesce(sum(f.size), 0) from files f where f.transfer_id = transfers.id)`.as('size'),
      sql<number>`(select count(*) from files f where f.transfer_id = transfers.id)`.as('file_count'),
    ]);

const normalize = (row: TransferWithTotals): TransferWithTotals => ({
  ...row,
  size: Number(row.size),
  file_count: Number(row.file_count),
  download_count: Number(row.download_count),
  public_link: Number(row.public_link ?? 1),
});

/** Another transfer holds this slug (in any letter case), or it is reserved for another account. */
export class SlugTakenError extends Error {
  constructor() {
    super('slug taken');
    this.name = 'SlugTakenError';
  }
}

/** Turns the unique index's refusal of a slug into SlugTakenError. */
async function claimingSlug<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, 'slug')) throw new SlugTakenError();
    throw error;
  }
}

export class TransfersRepository {
  constructor(private readonly db: Db) {}

  /** Throws SlugTakenError when the slug is another transfer's, in any letter case. */
  insert(row: TransferRow, tx: DbOrTx = this.db): Promise<unknown> {
    return claimingSlug(() => tx.insertInto('transfers').values({ ...row, slug_key: row.slug === null ? null : slugKey(row.slug) }).execute());
  }

  /** Owner's view: deleted transfers are gone for the API (404). */
  async findForUser(userId: string, id: string, tx: DbOrTx = this.db): Promise<TransferWithTotals | undefined> {
    const row = await withTotals(tx)
      .where('transfers.id', '=', id)
      .where('transfers.user_id', '=', userId)
      .where('transfers.state', '!=', 'deleted')
      .executeTakeFirst();
    return row && normalize(row);
  }

  async findById(id: string, tx: DbOrTx = this.db): Promise<TransferWithTotals | undefined> {
    const row = await withTotals(tx).where('transfers.id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  /**
   * The transfer a link names, in any letter case; purged ones are gone unless an administrator
   * removed them (the link says so while the slug is reserved). Of two old slugs differing only
   * in case (made before keys existed), the exact one wins.
   */
  async findBySlug(slug: string): Promise<TransferWithTotals | undefined> {
    const rows = await withTotals(this.db)
      .where((eb) => eb.or([eb('transfers.slug', '=', slug), eb('transfers.slug_key', '=', slugKey(slug))]))
      .where((eb) => eb.or([eb('transfers.purged_at', 'is', null), eb('transfers.takedown_at', 'is not', null)]))
      .limit(2)
      .execute();
    const row = rows.find((r) => r.slug === slug) ?? rows[0];
    return row && normalize(row);
  }

  /**
   * Frees `slug` where it is only reserved, for `userId` to take: held by a purged transfer of
   * that same account, or by any purged before `reservedSinceIso`. A live transfer's slug, or one
   * still reserved for another account, stays where it is (the write that follows then fails).
   */
  async releaseReservedSlug(slug: string, userId: string, reservedSinceIso: string, tx: DbOrTx = this.db): Promise<void> {
    await tx
      .updateTable('transfers')
      .set({ slug_key: null })
      .where('slug_key', '=', slugKey(slug))
      .where('purged_at', 'is not', null)
      .where((eb) => eb.or([eb('user_id', '=', userId), eb('purged_at', '<=', reservedSinceIso)]))
      .execute();
  }

  async list(query: TransferListQuery): Promise<{ rows: TransferWithTotals[]; total: number }> {
    let base = this.db.selectFrom('transfers').where('user_id', '=', query.userId).where('state', '!=', 'deleted');
    const now = query.nowIso;
    if (query.state === 'expired') {
      base = base.where((eb) => eb.or([eb('state', '=', 'expired'), expiredAt('expires_at', now)]));
    } else if (query.state) {
      base = base.where('state', '=', query.state).where(liveAt('expires_at', now));
    }
    if (query.fileRequestId !== undefined) base = base.where('file_request_id', '=', query.fileRequestId);
    if (query.q) {
      const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where(sql<boolean>`lower(title) like ${pattern} escape '\\'`);
    }
    const total = await base
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
    const ids = base.select('id');
    const sortExpr =
      query.sort === 'size'
        ? sql`(select coalesce(sum(f.size), 0) from files f where f.transfer_id = transfers.id)`
        : sql.ref(`transfers.${query.sort}`);
    const rows = await withTotals(this.db)
      .where('transfers.id', 'in', ids)
      .orderBy(sortExpr, query.order)
      .orderBy('transfers.id', query.order)
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return { rows: rows.map(normalize), total };
  }

  /** Throws SlugTakenError when a new slug is another transfer's, in any letter case. */
  update(id: string, changes: Partial<Omit<TransferRow, 'slug_key'>>, tx: DbOrTx = this.db): Promise<unknown> {
    const withKey = typeof changes.slug === 'string' ? { ...changes, slug_key: slugKey(changes.slug) } : changes;
    return claimingSlug(() => tx.updateTable('transfers').set(withKey).where('id', '=', id).execute());
  }

  /**
   * Blobs are gone: the link stops naming the transfer, but its slug key stays as a reservation.
   * Purged is expired or deleted, even if an administrator revived it while its blobs went.
   */
  markPurged(id: string, nowIso: string): Promise<unknown> {
    const state = sql<TransferState>`case when state = 'deleted' then 'deleted' else 'expired' end`;
    return this.db.updateTable('transfers').set({ purged_at: nowIso, slug: null, state }).where('id', '=', id).execute();
  }

  /** uploading -> ready exactly once, whatever the number of concurrent callers. */
  async markReady(id: string, nowIso: string, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('transfers')
      .set({ state: 'ready', finalized_at: nowIso, updated_at: nowIso })
      .where('id', '=', id)
      .where('state', '=', 'uploading')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** The owner of the live (not deleted) transfer whose upload token has this hash. */
  findByUploadTokenHash(hash: string): Promise<{ id: string; user_id: string } | undefined> {
    return this.db.selectFrom('transfers').select(['id', 'user_id']).where('upload_token_hash', '=', hash).where('state', '!=', 'deleted').executeTakeFirst();
  }

  /**
   * Writes to the live transfer of `userId` (its updated_at), so concurrent changes to its
   * recipients take turns: on PostgreSQL the row stays locked until the transaction ends, and
   * SQLite runs one writing transaction at a time. Answers false when there is no such transfer.
   */
  async lockForUser(userId: string, id: string, nowIso: string, tx: DbOrTx): Promise<boolean> {
    const r = await tx.updateTable('transfers').set({ updated_at: nowIso }).where('id', '=', id).where('user_id', '=', userId).where('state', '!=', 'deleted').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  setUploadTokenHash(id: string, hash: string): Promise<unknown> {
    return this.db.updateTable('transfers').set({ upload_token_hash: hash }).where('id', '=', id).execute();
  }

  /**
   * Takes `bytes` (and, for a counted download, one download) from a recipient's allowance in one
   * conditional update, so racing requests can never overdraw it. The allowance is
   * max_downloads x the transfer's size in bytes, which closes the probe-then-resume loophole
   * (every served byte is paid for) while a resumed download only pays for what it fetches.
   */
  async reserveDownload(id: string, bytes: number, counted: boolean, slackBytes: number): Promise<boolean> {
    const r = await this.db
      .updateTable('transfers')
      .set({
        bytes_served: sql`bytes_served + ${bytes}`,
        download_count: sql`download_count + ${counted ? 1 : 0}`,
      })
      .where('id', '=', id)
      .where('state', '=', 'ready')
      .where((eb) =>
        eb.or([
          eb('max_downloads', 'is', null),
          eb.and([
            eb(sql`bytes_served + ${bytes}`, '<=', sql`max_downloads * (select coalesce(sum(f.size), 0) from files f where f.transfer_id = transfers.id) + ${slackBytes}`),
            counted ? eb('download_count', '<', eb.ref('max_downloads')) : sql<boolean>`1 = 1`,
          ]),
        ]),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Gives back bytes reserved for a download that ended before they were sent. */
  refundBytes(id: string, bytes: number): Promise<unknown> {
    return this.db
      .updateTable('transfers')
      .set({ bytes_served: sql`case when bytes_served > ${bytes} then bytes_served - ${bytes} else 0 end` })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Counts one more download notice for a transfer whose owner asked for them, up to two; answers
   * which notice this call claimed (1 or 2) or null when none is due. One statement, so racing
   * downloads claim each notice once.
   */
  async claimDownloadNotice(id: string, tx: DbOrTx = this.db): Promise<number | null> {
    const row = await tx
      .updateTable('transfers')
      .set({ notices_sent: sql`notices_sent + 1` })
      .where('id', '=', id)
      .where('notify', '=', 1)
      .where('notices_sent', '<', 2)
      .returning('notices_sent')
      .executeTakeFirst();
    return row ? Number(row.notices_sent) : null;
  }

  /** Ready transfers that remind their recipients, expiring in (now, edge], not yet reminded. */
  dueForReminder(nowIso: string, edgeIso: string, limit: number): Promise<{ id: string }[]> {
    return this.db
      .selectFrom('transfers')
      .select('id')
      .where('state', '=', 'ready')
      .where('reminders', '=', 1)
      .where('reminded_at', 'is', null)
      .where('expires_at', '>', nowIso)
      .where('expires_at', '<=', edgeIso)
      .orderBy('expires_at')
      .limit(limit)
      .execute();
  }

  /** Marks the reminder as sent; true for the one caller that did (reminders go out once). */
  async claimReminder(id: string, nowIso: string, tx: DbOrTx): Promise<boolean> {
    const r = await tx.updateTable('transfers').set({ reminded_at: nowIso }).where('id', '=', id).where('reminded_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Turns due transfers expired and answers which ones this call turned (each exactly once). */
  expireDue(nowIso: string, tx: DbOrTx = this.db): Promise<{ id: string; user_id: string; title: string }[]> {
    return tx
      .updateTable('transfers')
      .set({ state: 'expired', updated_at: nowIso })
      .where('state', 'in', ['uploading', 'ready'])
      .where(expiredAt('expires_at', nowIso))
      .returning(['id', 'user_id', 'title'])
      .execute();
  }

  /** Expired or deleted transfers past their grace period whose blobs are still stored. */
  dueForPurge(expiredBeforeIso: string, deletedBeforeIso: string, limit: number): Promise<TransferRow[]> {
    return this.db
      .selectFrom('transfers')
      .selectAll()
      .where('purged_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb.and([eb('state', '=', 'expired'), expiredAt('expires_at', expiredBeforeIso)]),
          eb.and([eb('state', '=', 'deleted'), eb('deleted_at', '<=', deletedBeforeIso)]),
        ]),
      )
      .limit(limit)
      .execute() as Promise<TransferRow[]>;
  }
}
