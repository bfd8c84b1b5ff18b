import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database, TransferState } from '../db/schema.ts';
import { slugKey } from '../domain/transfer-rules.ts';
import { containsPattern, type Optional } from './admin-users-repository.ts';
import { expiredAt, liveAt } from './expiry-predicates.ts';
import type { DbOrTx } from './transfers-repository.ts';

/** Any account's transfer as administrators see it: never its password hash or upload token. */
export interface AdminTransferRow {
  id: string;
  user_id: string;
  owner_email: string;
  title: string;
  slug: string | null;
  state: TransferState;
  expires_at: string | null;
  created_at: string;
  updated_at: string;
  finalized_at: string | null;
  deleted_at: string | null;
  purged_at: string | null;
  download_count: number;
  size: number;
  file_count: number;
  takedown_at: string | null;
  takedown_by: string | null;
  takedown_reason: string | null;
}

export interface AdminTransferQuery {
  /** A substring of the title (any case), a transfer id, or a slug (any case). */
  q?: string;
  userId?: string;
  /** As callers see it: past expires_at counts as expired before any sweep. */
  state?: TransferState;
  nowIso: string;
  limit: number;
  offset: number;
}

const views = (db: DbOrTx) =>
  db
    .selectFrom('transfers')
    .innerJoin('users', 'users.id', 'transfers.user_id')
    .select([
      'transfers.id', 'transfers.user_id', 'users.email as owner_email', 'transfers.title', 'transfers.slug', 'transfers.state', 'transfers.expires_at',
      'transfers.created_at', 'transfers.updated_at', 'transfers.finalized_at', 'transfers.deleted_at', 'transfers.purged_at', 'transfers.download_count',
      'transfers.takedown_at', 'transfers.takedown_by', 'transfers.takedown_reason',
      sql<number>`(select coalesce(sum(f.size), 0) from files f where f.transfer_id = transfers.id)`.as('size'),
      sql<number>`(select count(*) from files f where f.transfer_id = transfers.id)`.as('file_count'),
    ]);

const normalize = (row: Optional<AdminTransferRow, 'takedown_at' | 'takedown_by' | 'takedown_reason'>): AdminTransferRow => ({
  ...row,
  download_count: Number(row.download_count),
  size: Number(row.size),
  file_count: Number(row.file_count),
  takedown_at: row.takedown_at ?? null,
  takedown_by: row.takedown_by ?? null,
  takedown_reason: row.takedown_reason ?? null,
});

/** Every account's transfers, for administration: search, takedown and expiry changes. */
export class AdminTransfersRepository {
  constructor(private readonly db: Db) {}

  async list(query: AdminTransferQuery): Promise<{ rows: AdminTransferRow[]; total: number }> {
    const filter = <O>(qb: SelectQueryBuilder<Database, 'transfers', O>) => {
      let out = qb;
      if (query.userId) out = out.where('transfers.user_id', '=', query.userId);
      if (query.q) {
        const q = query.q;
        out = out.where((eb) =>
          eb.or([
            eb('transfers.id', '=', q),
            eb('transfers.slug_key', '=', slugKey(q)),
            sql<boolean>`lower(transfers.title) like ${containsPattern(q)} escape '\\'`,
          ]),
        );
      }
      const now = query.nowIso;
      if (query.state === 'expired') {
        out = out.where((eb) => eb.or([eb('transfers.state', '=', 'expired'), eb.and([eb('transfers.state', '!=', 'deleted'), expiredAt('transfers.expires_at', now)])]));
      } else if (query.state === 'deleted') {
        out = out.where('transfers.state', '=', 'deleted');
      } else if (query.state) {
        out = out.where('transfers.state', '=', query.state).where(liveAt('transfers.expires_at', now));
      }
      return out;
    };
    const total = await filter(this.db.selectFrom('transfers').select((eb) => eb.fn.countAll<number>().as('n'))).executeTakeFirstOrThrow();
    const ids = filter(this.db.selectFrom('transfers').select('transfers.id'));
    const rows = await views(this.db)
      .where('transfers.id', 'in', ids)
      .orderBy('transfers.created_at', 'desc')
      .orderBy('transfers.id', 'desc')
      .limit(query.limit)
      .offset(query.offset)
      .execute();
    return { rows: rows.map(normalize), total: Number(total.n) };
  }

  async find(id: string, tx: DbOrTx = this.db): Promise<AdminTransferRow | undefined> {
    const row = await views(tx).where('transfers.id', '=', id).executeTakeFirst();
    return row && normalize(row);
  }

  /**
   * Records a takedown once (the first reason stands) and deletes the transfer if it was not
   * already; answers whether this call recorded it.
   */
  async takedown(id: string, takedown: { at: string; by: string | null; reason: string }, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('transfers')
      .set({
        state: 'deleted',
        deleted_at: sql`coalesce(deleted_at, ${takedown.at})`,
        updated_at: takedown.at,
        takedown_at: takedown.at,
        takedown_by: takedown.by,
        takedown_reason: takedown.reason,
      })
      .where('id', '=', id)
      .where('takedown_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Sets the expiry of a transfer that is neither deleted nor purged; an expired one comes back
   * to what it was (ready once finalized, else uploading) and may be reminded again. One
   * conditional statement, so it never revives a transfer the sweep has purged.
   */
  async setExpiry(id: string, expiresAt: string | null, nowIso: string, tx: DbOrTx = this.db): Promise<boolean> {
    const r = await tx
      .updateTable('transfers')
      .set({
        expires_at: expiresAt,
        state: sql`case when state = 'expired' then (case when finalized_at is null then 'uploading' else 'ready' end) else state end`,
        reminded_at: null,
        updated_at: nowIso,
      })
      .where('id', '=', id)
      .where('state', '!=', 'deleted')
      .where('purged_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
